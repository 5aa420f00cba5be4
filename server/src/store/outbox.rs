//! Events others must hear of, written in the transaction of the change
//! that causes them, and fanned out to a delivery row per connected
//! integration that wants the event. If the change rolls back, so do they.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use super::contacts::ContactRecord;
use super::entities::{delivery, integration, meeting, outbox_event};
use super::field_policies;
use super::integrations::{DeliveryStatus, IntegrationKind};
use super::{StoreError, now_micros};
use crate::domain::activity::{CalendarProvider, MeetingStatus};
use crate::domain::field_policy::{ContactField, FieldRights};
use crate::domain::global_id::{self, Kind};
use crate::domain::{FieldChange, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Created,
    Updated,
    Deleted,
    Merged,
    /// A merge was undone and the contact it absorbed is back.
    Restored,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::Created,
        EventType::Updated,
        EventType::Deleted,
        EventType::Merged,
        EventType::Restored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "contact.created",
            EventType::Updated => "contact.updated",
            EventType::Deleted => "contact.deleted",
            EventType::Merged => "contact.merged",
            EventType::Restored => "contact.restored",
        }
    }
}

/// The contact as subscribers see it: the API's field names and ids (all
/// of its fields; `narrow_payload` takes out what may not be sent).
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
    let subscribers = active_integrations(db)
        .await?
        .into_iter()
        .filter(|i| i.kind == IntegrationKind::Webhook && wants(i, event.as_str()))
        .collect::<Vec<_>>();
    if subscribers.is_empty() {
        return Ok(());
    }
    // Narrowed when the change commits, so the stored event holds no more
    // than it may send, and again when it is sent (see `narrow_payload`).
    let rights = field_policies::rights_of(db, Role::Integration).await?;
    let changes: Vec<Value> = changes
        .iter()
        .map(|c| json!({ "field": c.field, "before": c.before, "after": c.after }))
        .collect();
    let mut payload = json!({ "contact": contact_json(contact), "changes": changes });
    if let Some(merged) = merged_contact_id {
        payload["mergedContactId"] = json!(global_id::encode(Kind::Contact, merged));
    }
    narrow_payload(&mut payload, &rights);
    insert_event(db, event.as_str(), contact.id, &payload, &subscribers).await
}

/// A webhook is an integration: it hears of a contact's fields, and of
/// their changes, what the INTEGRATION role may read under `rights`. Done
/// when the event is written and again when each delivery is sent (a
/// retry, a redelivery), so a policy taken away since holds on events
/// already queued.
pub fn narrow_payload(payload: &mut Value, rights: &FieldRights) {
    if let Some(contact) = payload.get_mut("contact").and_then(Value::as_object_mut) {
        // `id`, `source`, `version` and `updatedAt` are not fields a policy
        // governs: always sent.
        contact.retain(|key, _| {
            ContactField::from_input_name(key).is_none() || rights.may_read_named(key)
        });
    }
    if let Some(changes) = payload.get_mut("changes").and_then(Value::as_array_mut) {
        changes.retain(|change| {
            change
                .get("field")
                .and_then(Value::as_str)
                .is_some_and(|field| rights.may_read_named(field))
        });
    }
}

/// Whether any integration is connected; with none, no event is written,
/// so bulk writers may skip asking per row.
pub async fn any_integration(db: &impl ConnectionTrait) -> Result<bool, StoreError> {
    Ok(integration::Entity::find()
        .filter(integration::Column::Active.eq(true))
        .one(db)
        .await?
        .is_some())
}

async fn active_integrations(
    db: &impl ConnectionTrait,
) -> Result<Vec<integration::Model>, StoreError> {
    Ok(integration::Entity::find()
        .filter(integration::Column::Active.eq(true))
        .all(db)
        .await?)
}

/// Writes the event and a pending delivery to each subscriber.
async fn insert_event(
    db: &impl ConnectionTrait,
    event_type: &str,
    contact_id: i64,
    payload: &Value,
    subscribers: &[integration::Model],
) -> Result<(), StoreError> {
    if subscribers.is_empty() {
        return Ok(());
    }
    let now = now_micros();
    let stored = outbox_event::ActiveModel {
        event_type: Set(event_type.to_owned()),
        contact_id: Set(contact_id),
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
            contact_id: Set(contact_id),
            status: Set(DeliveryStatus::Pending),
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

pub const GUEST_CHANGED: &str = "calendar.guest_changed";
pub const CRM_IDENTITY_CHANGED: &str = "crm.identity_changed";

/// When a contact's email or mobile phone changes, connected CRMs are told
/// which record to look for (`old_emails`, `old_phones`) and what it holds
/// now.
pub async fn enqueue_crm_change(
    db: &impl ConnectionTrait,
    contact: &ContactRecord,
    old_emails: &[&str],
    old_phones: &[&str],
) -> Result<(), StoreError> {
    enqueue_crm_change_behind(db, contact, old_emails, old_phones, contact.id).await
}

/// [`enqueue_crm_change`], delivered in the queue of contact `queue` (in
/// order after its pending changes): an undone merge's restored contact
/// claims its identity in a CRM only once the survivor has let it go.
pub async fn enqueue_crm_change_behind(
    db: &impl ConnectionTrait,
    contact: &ContactRecord,
    old_emails: &[&str],
    old_phones: &[&str],
    queue: i64,
) -> Result<(), StoreError> {
    let subscribers: Vec<integration::Model> = active_integrations(db)
        .await?
        .into_iter()
        .filter(|i| {
            matches!(
                i.kind,
                IntegrationKind::Hubspot | IntegrationKind::Salesforce
            )
        })
        .collect();
    if subscribers.is_empty() {
        return Ok(());
    }
    let payload = json!({
        "oldEmails": old_emails,
        "oldPhones": old_phones,
        // A CRM keeps the record whole: it is where the identity syncs to.
        "contact": contact_json(contact),
    });
    insert_event(db, CRM_IDENTITY_CHANGED, queue, &payload, &subscribers).await
}

/// The calendar integration that keeps events of `provider` in sync; other
/// platforms are left alone on purpose (no notification spam).
fn calendar_kind(provider: CalendarProvider) -> Option<IntegrationKind> {
    match provider {
        CalendarProvider::Google => Some(IntegrationKind::GoogleCalendar),
        CalendarProvider::Exchange => Some(IntegrationKind::MicrosoftGraph),
        _ => None,
    }
}

/// When a contact's email changes, each future meeting whose event lives on
/// Google Calendar or Exchange gets its guest list updated: any of
/// `old_emails` out, `new_email` in.
pub async fn enqueue_guest_changes(
    db: &impl ConnectionTrait,
    contact_id: i64,
    old_emails: &[&str],
    new_email: &str,
) -> Result<(), StoreError> {
    let integrations = active_integrations(db).await?;
    if integrations
        .iter()
        .all(|i| i.kind == IntegrationKind::Webhook)
    {
        return Ok(());
    }
    let meetings = meeting::Entity::find()
        .filter(meeting::Column::ContactId.eq(contact_id))
        .filter(meeting::Column::StartsAt.gt(now_micros()))
        .filter(meeting::Column::Status.ne(MeetingStatus::Canceled.as_str()))
        .filter(meeting::Column::ExternalEventId.is_not_null())
        .all(db)
        .await?;
    for meeting in meetings {
        let Some(kind) =
            CalendarProvider::parse(&meeting.calendar_provider).and_then(calendar_kind)
        else {
            continue;
        };
        let subscribers: Vec<integration::Model> = integrations
            .iter()
            .filter(|i| i.kind == kind)
            .cloned()
            .collect();
        let payload = json!({
            "provider": meeting.calendar_provider,
            "eventId": meeting.external_event_id,
            "oldEmails": old_emails,
            "newEmail": new_email,
        });
        insert_event(db, GUEST_CHANGED, contact_id, &payload, &subscribers).await?;
    }
    Ok(())
}

fn wants(integration: &integration::Model, event: &str) -> bool {
    serde_json::from_str::<Vec<String>>(&integration.events)
        .map(|events| events.iter().any(|e| e == event))
        .unwrap_or(false)
}
