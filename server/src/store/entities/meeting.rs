use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "meetings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub contact_id: Option<i64>,
    pub host_user_id: Option<i64>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub status: String,
    pub calendar_provider: String,
    pub external_event_id: Option<String>,
    /// JSON array of guest email addresses.
    pub guests: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
