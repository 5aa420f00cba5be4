//! Events others must hear of, written in the transaction of the change
//! that causes them, and fanned out to a delivery row per connected
//! integration that wants the event. If the change rolls back, so do they.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use super::contacts::ContactRecord;
use super::entities::{delivery, integration, outbox_event};
use super::integrations::PENDING;
use super::{StoreError, now_micros};
use crate::domain::FieldChange;
use crate::domain::global_id::{self, Kind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Created,
    Updated,
    Deleted,
    Merged,
}

impl EventType {
    pub const ALL: [EventType; 4] = [
        EventType::Created,
        EventType::Updated,
        EventType::Deleted,
        EventType::Merged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "contact.created",
            EventType::Updated => "contact.updated",
            EventType::Deleted => "contact.deleted",
            EventType::Merged => "contact.merged",
        }
    }
}

/// The contact as subscribers see it: the API's field names and ids.
fn contact_json(contact: &ContactRecord) -> Value {
    let mut fields = serde_json::Map::new();
    fields.insert(
        "id".into(),
        json!(global_id::encode(Kind::Contact, contact.id)),
    );
    for (name, value) in contact.fields.named_values() {
        fields.insert(name.into(), json!(value));
    }
    fields.insert("source".into(), json!(contact.source.as_str()));
    fields.insert("version".into(), json!(contact.version));
    fields.insert(
        "updatedAt".into(),
        json!(chrono::DateTime::from_timestamp_micros(contact.updated_at).map(|t| t.to_rfc3339())),
    );
    Value::Object(fields)
}

pub async fn enqueue(
    db: &impl ConnectionTrait,
    event: EventType,
    contact: &ContactRecord,
    changes: &[FieldChange],
    merged_contact_id: Option<i64>,
) -> Result<(), StoreError> {
    let changes: Vec<Value> = changes
        .iter()
        .map(|c| json!({ "field": c.field, "before": c.before, "after": c.after }))
        .collect();
    let mut payload = json!({ "contact": contact_json(contact), "changes": changes });
    if let Some(merged) = merged_contact_id {
        payload["mergedContactId"] = json!(global_id::encode(Kind::Contact, merged));
    }
    let now = now_micros();
    let subscribers = integration::Entity::find()
        .filter(integration::Column::Active.eq(true))
        .all(db)
        .await?
        .into_iter()
        .filter(|i| wants(i, event))
        .collect::<Vec<_>>();
    if subscribers.is_empty() {
        return Ok(());
    }
    let stored = outbox_event::ActiveModel {
        event_type: Set(event.as_str().to_owned()),
        contact_id: Set(contact.id),
        payload: Set(payload.to_string()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    for subscriber in subscribers {
        delivery::ActiveModel {
            event_id: Set(stored.id),
            integration_id: Set(subscriber.id),
            contact_id: Set(contact.id),
            status: Set(PENDING.to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

fn wants(integration: &integration::Model, event: EventType) -> bool {
    serde_json::from_str::<Vec<String>>(&integration.events)
        .map(|events| events.iter().any(|e| e == event.as_str()))
        .unwrap_or(false)
}
