use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "integrations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: IntegrationKind,
    pub target_url: String,
    /// Signing key or credential; never leaves the server.
    pub secret: String,
    /// JSON array of the event types it receives.
    pub events: String,
    pub active: bool,
    pub created_by_user_id: Option<i64>,
    pub created_at: i64,
}

/// Who hears of a contact change: a webhook, a calendar, or a CRM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum IntegrationKind {
    #[sea_orm(string_value = "WEBHOOK")]
    Webhook,
    #[sea_orm(string_value = "GOOGLE_CALENDAR")]
    GoogleCalendar,
    #[sea_orm(string_value = "MICROSOFT_GRAPH")]
    MicrosoftGraph,
    #[sea_orm(string_value = "HUBSPOT")]
    Hubspot,
    #[sea_orm(string_value = "SALESFORCE")]
    Salesforce,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
