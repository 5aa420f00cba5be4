use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "integrations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: IntegrationKind,
    pub target_url: String,
    /// Signing key or credential, sealed (`store::secret_box`); opened only
    /// for a delivery, and never shown by `Debug` or the API.
    pub secret: String,
    /// JSON array of the event types it receives.
    pub events: String,
    pub active: bool,
    pub created_by_user_id: Option<i64>,
    pub created_at: i64,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("integration::Model")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("target_url", &self.target_url)
            .field("secret", &"[redacted]")
            .field("events", &self.events)
            .field("active", &self.active)
            .field("created_by_user_id", &self.created_by_user_id)
            .field("created_at", &self.created_at)
            .finish()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let model = Model {
            id: 1,
            kind: IntegrationKind::Webhook,
            target_url: "https://example.com/hook".into(),
            secret: "whsec_0123456789".into(),
            events: "[]".into(),
            active: true,
            created_by_user_id: None,
            created_at: 0,
        };
        let shown = format!("{model:?}");
        assert!(!shown.contains("whsec_0123456789"), "{shown}");
        assert!(shown.contains("redacted"));
    }
}
