use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub mobile_phone: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub timezone: Option<String>,
    pub source: String,
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    /// Lower-cased display name: the key of ORDER BY NAME.
    pub sort_name: String,
    pub version: i32,
    /// Microseconds since the Unix epoch, UTC.
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
