use sea_orm::entity::prelude::*;

/// A merge, with what it changed (`details`, JSON read whole by an undo).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "merges")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub survivor_id: i64,
    /// The absorbed contact's id; null when the incoming values came from
    /// an input (a confirmed `createContact`), not a record.
    pub merged_id: Option<i64>,
    pub source: String,
    pub merged_by_user_id: Option<i64>,
    pub merged_at: i64,
    pub undone_at: Option<i64>,
    pub undone_by_user_id: Option<i64>,
    pub details: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
