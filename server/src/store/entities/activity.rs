use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: String,
    pub recorded_by_user_id: Option<i64>,
    pub external_id: Option<String>,
    pub occurred_at: i64,
    pub contact_id: Option<i64>,
    /// The contact the typed phone belongs to when it is not the email's.
    pub conflicting_contact_id: Option<i64>,
    pub meeting_id: Option<i64>,
    /// JSON of the identifying data the customer typed, kept for reporting.
    pub submitted: String,
    pub payload: Option<String>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
