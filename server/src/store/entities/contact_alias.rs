use sea_orm::entity::prelude::*;

/// A contact id absorbed by a merge, and the contact it now stands for.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contact_aliases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub merged_id: i64,
    pub survivor_id: i64,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
