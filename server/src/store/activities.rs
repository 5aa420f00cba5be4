//! Recording what customers do. An activity finds its contact by identity
//! or creates it, brings the latest non-empty values to it (empty never
//! clears), and for a meeting plans or cancels its notifications, all in
//! one transaction. An email and a phone that point at two different
//! contacts are never merged: the activity goes to the email's contact and
//! notes the conflict.

use std::collections::HashMap;
use std::time::Duration;

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};

use super::contacts::{self, ContactRecord, Lock, access_condition};
use super::entities::{activity, contact, meeting};
use super::error::is_retryable;
use super::{Store, StoreError, contact_writes, notifications, now_micros};
use crate::domain::activity::{
    ActivityKind, CalendarProvider, MeetingStatus, MeetingTimes, plan_notifications,
};
use crate::domain::identity::{self, Holder};
use crate::domain::{Access, ContactFields, Email, Principal, merge_plan};

pub struct NewMeeting {
    pub times: MeetingTimes,
    pub status: MeetingStatus,
    pub provider: CalendarProvider,
    pub external_event_id: Option<String>,
    pub host_user_id: Option<i64>,
    pub guests: Vec<Email>,
}

pub struct NewActivity {
    pub kind: ActivityKind,
    pub external_id: Option<String>,
    pub occurred_at: Option<i64>,
    /// What the customer typed, normalised; it holds an identity.
    pub contact: ContactFields,
    pub meeting: Option<NewMeeting>,
    pub payload: Option<serde_json::Value>,
}

/// The identifying data the customer typed, kept on the activity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub mobile_phone: Option<String>,
    pub company: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRecord {
    pub id: i64,
    pub kind: ActivityKind,
    pub external_id: Option<String>,
    pub occurred_at: i64,
    pub contact_id: Option<i64>,
    pub conflicting_contact_id: Option<i64>,
    pub meeting_id: Option<i64>,
    pub submitted: Submitted,
    pub payload: Option<serde_json::Value>,
    pub recorded_by_user_id: Option<i64>,
    pub created_at: i64,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Db(sea_orm::DbErr::Custom(format!(
        "stored {what} is unreadable"
    )))
}

impl TryFrom<activity::Model> for ActivityRecord {
    type Error = StoreError;

    fn try_from(model: activity::Model) -> Result<Self, StoreError> {
        Ok(Self {
            id: model.id,
            kind: ActivityKind::parse(&model.kind).ok_or_else(|| corrupt("activity kind"))?,
            external_id: model.external_id,
            occurred_at: model.occurred_at,
            contact_id: model.contact_id,
            conflicting_contact_id: model.conflicting_contact_id,
            meeting_id: model.meeting_id,
            submitted: serde_json::from_str(&model.submitted).map_err(|_| corrupt("submission"))?,
            payload: model
                .payload
                .map(|p| serde_json::from_str(&p))
                .transpose()
                .map_err(|_| corrupt("payload"))?,
            recorded_by_user_id: model.recorded_by_user_id,
            created_at: model.created_at,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingRecord {
    pub id: i64,
    pub contact_id: Option<i64>,
    pub host_user_id: Option<i64>,
    pub times: MeetingTimes,
    pub status: MeetingStatus,
    pub provider: CalendarProvider,
    pub external_event_id: Option<String>,
    pub guests: Vec<String>,
}

impl TryFrom<meeting::Model> for MeetingRecord {
    type Error = StoreError;

    fn try_from(model: meeting::Model) -> Result<Self, StoreError> {
        Ok(Self {
            id: model.id,
            contact_id: model.contact_id,
            host_user_id: model.host_user_id,
            times: MeetingTimes {
                starts_at: model.starts_at,
                ends_at: model.ends_at,
            },
            status: MeetingStatus::parse(&model.status).ok_or_else(|| corrupt("meeting status"))?,
            provider: CalendarProvider::parse(&model.calendar_provider)
                .ok_or_else(|| corrupt("calendar provider"))?,
            external_event_id: model.external_event_id,
            guests: serde_json::from_str(&model.guests).map_err(|_| corrupt("guests"))?,
        })
    }
}

pub struct Recorded {
    pub activity: ActivityRecord,
    pub contact: Option<ContactRecord>,
    /// Whether the contact was created by this activity.
    pub created: bool,
}

/// A unique index may refuse a row that looked free (a concurrent activity
/// created the contact, or replayed the same external id); one retry sees it.
const ATTEMPTS: usize = 3;

pub async fn record(
    store: &Store,
    principal: &Principal,
    new: NewActivity,
    reminder_offsets: &[Duration],
) -> Result<Recorded, StoreError> {
    if !principal.may_record_activities() {
        return Err(StoreError::forbidden(
            "only integrations and admins record activities",
        ));
    }
    if let Some(host) = new.meeting.as_ref().and_then(|m| m.host_user_id)
        && super::users::user_by_id(store.db(), host).await?.is_none()
    {
        return Err(
            crate::domain::ValidationError::new("meeting.hostUserId", "no such user").into(),
        );
    }
    for _ in 0..ATTEMPTS {
        match attempt(store, principal, &new, reminder_offsets).await {
            Err(StoreError::Db(err)) if is_retryable(&err) => continue,
            other => return other,
        }
    }
    Err(StoreError::IdentityTaken { field: "contact" })
}

async fn attempt(
    store: &Store,
    principal: &Principal,
    new: &NewActivity,
    reminder_offsets: &[Duration],
) -> Result<Recorded, StoreError> {
    let txn = store.begin_write().await?;
    if let Some(external_id) = &new.external_id {
        let existing = activity::Entity::find()
            .filter(activity::Column::RecordedByUserId.eq(principal.user_id))
            .filter(activity::Column::ExternalId.eq(external_id.as_str()))
            .one(&*txn)
            .await?;
        if let Some(existing) = existing {
            let activity = ActivityRecord::try_from(existing)?;
            let contact = match activity.contact_id {
                Some(id) => contacts::find_accessible(&*txn, &Access::All, id, Lock::None).await?,
                None => None,
            };
            return Ok(Recorded {
                activity,
                contact,
                created: false,
            });
        }
    }

    let source = new.kind.source();
    let by_email = match &new.contact.email {
        Some(email) => contacts::find_by_email(&*txn, email, Lock::ForUpdate).await?,
        None => None,
    };
    let by_phone = match &new.contact.mobile_phone {
        Some(phone) => contacts::find_by_phone(&*txn, phone, Lock::ForUpdate).await?,
        None => None,
    };
    let (target, conflicting) = match identity::holder(by_email, by_phone, |e, p| e.id == p.id) {
        Holder::Two { email, phone } => (Some(email), Some(phone.id)),
        Holder::One(contact) => (Some(contact), None),
        Holder::Nobody => (None, None),
    };
    let host = new.meeting.as_ref().and_then(|m| m.host_user_id);
    let (contact, created) = match target {
        Some(current) => {
            let mut incoming = new.contact.clone();
            if conflicting.is_some() {
                // The phone is another contact's: it is noted, not moved.
                incoming.mobile_phone = None;
            }
            let plan = merge_plan::plan(&current.fields, &incoming);
            let updated =
                contact_writes::merge_input(&*txn, principal, &current, &plan, source).await?;
            (updated, false)
        }
        None => (
            contact_writes::insert_contact(&*txn, principal, &new.contact, source, (host, None))
                .await?,
            true,
        ),
    };

    let meeting_id = match &new.meeting {
        Some(meeting) if new.kind == ActivityKind::Meeting => {
            Some(upsert_meeting(&*txn, meeting, &contact, reminder_offsets).await?)
        }
        _ => None,
    };
    let now = now_micros();
    let submitted = Submitted {
        first_name: new.contact.first_name.clone(),
        last_name: new.contact.last_name.clone(),
        email: new.contact.email.as_ref().map(|e| e.as_str().to_owned()),
        mobile_phone: new
            .contact
            .mobile_phone
            .as_ref()
            .map(|p| p.as_str().to_owned()),
        company: new.contact.company.clone(),
    };
    let model = activity::ActiveModel {
        kind: Set(new.kind.as_str().to_owned()),
        recorded_by_user_id: Set(Some(principal.user_id)),
        external_id: Set(new.external_id.clone()),
        occurred_at: Set(new.occurred_at.unwrap_or(now)),
        contact_id: Set(Some(contact.id)),
        conflicting_contact_id: Set(conflicting),
        meeting_id: Set(meeting_id),
        submitted: Set(serde_json::to_string(&submitted).map_err(|_| corrupt("submission"))?),
        payload: Set(new
            .payload
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|_| corrupt("payload"))?),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(Recorded {
        activity: ActivityRecord::try_from(model)?,
        contact: Some(contact),
        created,
    })
}

/// Creates or updates the meeting of the event, and plans or cancels its
/// notifications to match its new state.
async fn upsert_meeting(
    db: &impl ConnectionTrait,
    new: &NewMeeting,
    contact: &ContactRecord,
    reminder_offsets: &[Duration],
) -> Result<i64, StoreError> {
    let now = now_micros();
    let existing = match &new.external_event_id {
        Some(event_id) => meeting::Entity::find()
            .filter(meeting::Column::CalendarProvider.eq(new.provider.as_str()))
            .filter(meeting::Column::ExternalEventId.eq(event_id.as_str()))
            .lock_exclusive()
            .one(db)
            .await?
            .map(MeetingRecord::try_from)
            .transpose()?,
        None => None,
    };
    let guests: Vec<&str> = new.guests.iter().map(Email::as_str).collect();
    let guests = serde_json::to_string(&guests).map_err(|_| corrupt("guests"))?;
    let meeting_id = match &existing {
        Some(existing) => {
            meeting::Entity::update_many()
                .col_expr(meeting::Column::ContactId, Expr::value(contact.id))
                .col_expr(meeting::Column::StartsAt, Expr::value(new.times.starts_at))
                .col_expr(meeting::Column::EndsAt, Expr::value(new.times.ends_at))
                .col_expr(meeting::Column::Status, Expr::value(new.status.as_str()))
                .col_expr(
                    meeting::Column::HostUserId,
                    Expr::value(new.host_user_id.or(existing.host_user_id)),
                )
                .col_expr(meeting::Column::Guests, Expr::value(guests))
                .col_expr(meeting::Column::UpdatedAt, Expr::value(now))
                .filter(meeting::Column::Id.eq(existing.id))
                .exec(db)
                .await?;
            existing.id
        }
        None => {
            meeting::ActiveModel {
                contact_id: Set(Some(contact.id)),
                host_user_id: Set(new.host_user_id),
                starts_at: Set(new.times.starts_at),
                ends_at: Set(new.times.ends_at),
                status: Set(new.status.as_str().to_owned()),
                calendar_provider: Set(new.provider.as_str().to_owned()),
                external_event_id: Set(new.external_event_id.clone()),
                guests: Set(guests),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await?
            .id
        }
    };

    // A meeting whose time, state or contact changed gets a fresh plan:
    // everything still pending (its wording and recipients are of the old
    // meeting) is canceled first. The same event reported again keeps its.
    let replan = match &existing {
        None => true,
        Some(old) => {
            old.status == MeetingStatus::Canceled
                || old.times != new.times
                || old.contact_id != Some(contact.id)
        }
    };
    let plan = plan_notifications(
        new.times,
        now,
        reminder_offsets,
        contact.fields.email.as_ref(),
        contact.fields.mobile_phone.as_ref(),
        true,
    );
    if new.status == MeetingStatus::Canceled {
        notifications::cancel_pending(db, meeting_id).await?;
    } else if replan {
        if existing.is_some() {
            notifications::cancel_pending(db, meeting_id).await?;
        }
        notifications::schedule(db, meeting_id, Some(contact.id), new.times, &plan).await?;
    }
    Ok(meeting_id)
}

#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub kind: Option<ActivityKind>,
    pub contact_id: Option<i64>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// Where a page of activities continues: newest first, by (occurred, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityPosition {
    pub occurred_at: i64,
    pub id: i64,
}

/// Which activities a caller sees: those of contacts they can access, and,
/// once a contact is deleted, those of meetings they host. Admins and
/// integrations see all.
fn visible(access: &Access, principal: &Principal) -> Condition {
    match access {
        Access::All => Condition::all(),
        Access::OwnedOrShared { .. } => Condition::any()
            .add(
                activity::Column::ContactId.in_subquery(
                    Query::select()
                        .column(contact::Column::Id)
                        .from(contact::Entity)
                        .cond_where(access_condition(access))
                        .to_owned(),
                ),
            )
            .add(
                Condition::all()
                    .add(activity::Column::ContactId.is_null())
                    .add(
                        activity::Column::MeetingId.in_subquery(
                            Query::select()
                                .column(meeting::Column::Id)
                                .from(meeting::Entity)
                                .and_where(meeting::Column::HostUserId.eq(principal.user_id))
                                .to_owned(),
                        ),
                    ),
            ),
    }
}

fn filtered(principal: &Principal, filter: &ActivityFilter) -> Condition {
    let mut condition = Condition::all().add(visible(&principal.access(), principal));
    if let Some(kind) = filter.kind {
        condition = condition.add(activity::Column::Kind.eq(kind.as_str()));
    }
    if let Some(contact_id) = filter.contact_id {
        condition = condition.add(activity::Column::ContactId.eq(contact_id));
    }
    if let Some(from) = filter.from {
        condition = condition.add(activity::Column::OccurredAt.gte(from));
    }
    if let Some(to) = filter.to {
        condition = condition.add(activity::Column::OccurredAt.lt(to));
    }
    condition
}

pub async fn page(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &ActivityFilter,
    after: Option<ActivityPosition>,
    limit: u64,
) -> Result<Vec<ActivityRecord>, StoreError> {
    let mut query = activity::Entity::find()
        .filter(filtered(principal, filter))
        .order_by_desc(activity::Column::OccurredAt)
        .order_by_desc(activity::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(
            Condition::any()
                .add(activity::Column::OccurredAt.lt(after.occurred_at))
                .add(
                    Condition::all()
                        .add(activity::Column::OccurredAt.eq(after.occurred_at))
                        .add(activity::Column::Id.lt(after.id)),
                ),
        );
    }
    query
        .all(db)
        .await?
        .into_iter()
        .map(ActivityRecord::try_from)
        .collect()
}

/// One activity, when it is on the caller's list ([`page`]); `None`
/// otherwise, as for one that does not exist.
pub async fn find_visible(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: i64,
) -> Result<Option<ActivityRecord>, StoreError> {
    activity::Entity::find()
        .filter(activity::Column::Id.eq(id))
        .filter(visible(&principal.access(), principal))
        .one(db)
        .await?
        .map(ActivityRecord::try_from)
        .transpose()
}

/// The meetings of the activities the caller sees: a meeting is shown
/// through `Activity.meeting`, so it is visible exactly when one of its
/// activities is.
fn visible_meeting_ids(principal: &Principal) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(activity::Column::MeetingId)
        .from(activity::Entity)
        .and_where(activity::Column::MeetingId.is_not_null())
        .cond_where(visible(&principal.access(), principal))
        .to_owned()
}

/// One meeting, when one of the caller's activities is of it.
pub async fn find_visible_meeting(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: i64,
) -> Result<Option<MeetingRecord>, StoreError> {
    meeting::Entity::find()
        .filter(meeting::Column::Id.eq(id))
        .filter(meeting::Column::Id.in_subquery(visible_meeting_ids(principal)))
        .one(db)
        .await?
        .map(MeetingRecord::try_from)
        .transpose()
}

/// One notification, when its meeting is visible to the caller
/// (`Meeting.notifications` is where it is listed).
pub async fn find_visible_notification(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: i64,
) -> Result<Option<notifications::NotificationRecord>, StoreError> {
    use super::entities::notification;
    Ok(notification::Entity::find()
        .filter(notification::Column::Id.eq(id))
        .filter(notification::Column::MeetingId.in_subquery(visible_meeting_ids(principal)))
        .one(db)
        .await?)
}

/// The meetings with these ids, whoever may see them: the caller reached
/// them through an activity it sees. One query for many ids.
pub async fn meetings_by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, MeetingRecord>, StoreError> {
    meeting::Entity::find()
        .filter(meeting::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|model| MeetingRecord::try_from(model).map(|record| (record.id, record)))
        .collect()
}

pub async fn count(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &ActivityFilter,
) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    Ok(activity::Entity::find()
        .filter(filtered(principal, filter))
        .count(db)
        .await?)
}
