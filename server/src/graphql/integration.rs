//! Integrations as admins manage them: webhook subscriptions and their
//! delivery log. Secrets are shown once, when created, and never again.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::contact::timestamp;
use super::error::ApiResult;
use super::ids::{self, Kind};
use super::state;
use crate::store::integrations::{self, DeliveryRecord, IntegrationRecord};
use crate::store::outbox::EventType;

/// The names mirror the wire types (`contact.created`, ...), where more
/// subjects than contacts may come.
#[allow(clippy::enum_variant_names)]
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum WebhookEvent {
    ContactCreated,
    ContactUpdated,
    ContactDeleted,
    ContactMerged,
    /// A merge was undone: the contact it absorbed is back.
    ContactRestored,
}

impl From<WebhookEvent> for EventType {
    fn from(event: WebhookEvent) -> Self {
        match event {
            WebhookEvent::ContactCreated => EventType::Created,
            WebhookEvent::ContactUpdated => EventType::Updated,
            WebhookEvent::ContactDeleted => EventType::Deleted,
            WebhookEvent::ContactMerged => EventType::Merged,
            WebhookEvent::ContactRestored => EventType::Restored,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Crm {
    Hubspot,
    Salesforce,
}

/// Who hears of contact changes.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum IntegrationKind {
    Webhook,
    GoogleCalendar,
    MicrosoftGraph,
    Hubspot,
    Salesforce,
}
mirror_enum!(IntegrationKind <=> integrations::IntegrationKind {
    Webhook, GoogleCalendar, MicrosoftGraph, Hubspot, Salesforce
});

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not yet delivered; tried again at `nextAttemptAt`.
    Pending,
    Delivered,
    /// Given up on: too many failed attempts, or the subscriber said 410 Gone.
    Dead,
}
mirror_enum!(DeliveryStatus <=> integrations::DeliveryStatus { Pending, Delivered, Dead });

pub struct Integration(pub IntegrationRecord);

#[Object]
impl Integration {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Integration, self.0.id)
    }

    async fn kind(&self) -> IntegrationKind {
        self.0.kind.into()
    }

    /// The webhook's URL, or the API's base URL.
    async fn target_url(&self) -> &str {
        &self.0.target_url
    }

    /// Event types it receives, as sent in `type` (`contact.updated`, ...).
    async fn events(&self) -> Vec<String> {
        serde_json::from_str(&self.0.events).unwrap_or_default()
    }

    /// False once the subscriber answered 410 Gone.
    async fn active(&self) -> bool {
        self.0.active
    }

    async fn created_at(&self) -> DateTime<Utc> {
        timestamp(self.0.created_at)
    }

    /// The newest deliveries, newest first.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> ApiResult<Vec<Delivery>> {
        let limit = u64::try_from(first.clamp(0, 100)).unwrap_or(20);
        let rows = integrations::deliveries(state(ctx)?.store.db(), self.0.id, limit).await?;
        Ok(rows.into_iter().map(Delivery::from).collect())
    }
}

pub struct Delivery {
    delivery: DeliveryRecord,
    event_type: String,
}

/// A delivery and the type of its event, as the store reads them.
impl From<(DeliveryRecord, String)> for Delivery {
    fn from((delivery, event_type): (DeliveryRecord, String)) -> Self {
        Self {
            delivery,
            event_type,
        }
    }
}

#[Object]
impl Delivery {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Delivery, self.delivery.id)
    }

    /// The event id subscribers receive (`evt_…`).
    async fn event_id(&self) -> String {
        format!("evt_{}", self.delivery.event_id)
    }

    async fn event_type(&self) -> &str {
        &self.event_type
    }

    async fn status(&self) -> DeliveryStatus {
        self.delivery.status.into()
    }

    async fn attempts(&self) -> i32 {
        self.delivery.attempts
    }

    async fn last_error(&self) -> Option<&str> {
        self.delivery.last_error.as_deref()
    }

    async fn last_status_code(&self) -> Option<i32> {
        self.delivery.last_status_code
    }

    async fn next_attempt_at(&self) -> DateTime<Utc> {
        timestamp(self.delivery.next_attempt_at)
    }

    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.delivery.delivered_at.map(timestamp)
    }
}

#[derive(SimpleObject)]
pub struct ConnectWebhookPayload {
    pub integration: Integration,
    /// Verifies `X-Contacts-Signature`; shown only now.
    pub signing_secret: String,
}

#[derive(SimpleObject)]
pub struct DisconnectIntegrationPayload {
    pub disconnected_integration_id: ID,
}
