//! Notifications as rows: planned with their meeting, claimed by a
//! dispatcher, marked sent or retried with backoff. Rows, not memory, hold
//! the state, so any server process can deliver them and a delivery left by
//! a dead process is taken up by another once its claim expires.

use std::collections::HashMap;
use std::time::Duration;

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::entities::{meeting, notification};
use super::{Store, StoreError, now_micros};
use crate::domain::activity::{self, Channel, MeetingStatus, MeetingTimes, PlannedNotification};
use crate::domain::{Email, Phone};

pub use super::entities::notification::NotificationStatus;

/// After this many failed attempts a notification is FAILED for good.
pub const MAX_ATTEMPTS: i32 = 8;

pub type NotificationRecord = notification::Model;

pub async fn schedule(
    db: &impl ConnectionTrait,
    meeting_id: i64,
    contact_id: Option<i64>,
    times: MeetingTimes,
    planned: &[PlannedNotification],
) -> Result<(), StoreError> {
    let now = now_micros();
    for plan in planned {
        let (subject, body) = activity::message(plan.kind, times);
        notification::ActiveModel {
            meeting_id: Set(Some(meeting_id)),
            contact_id: Set(contact_id),
            kind: Set(plan.kind.as_str().to_owned()),
            channel: Set(plan.channel.as_str().to_owned()),
            recipient: Set(plan.recipient.clone()),
            subject: Set(subject),
            body: Set(body),
            due_at: Set(plan.due_at),
            status: Set(NotificationStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(plan.due_at),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Cancels the meeting's pending notifications.
pub async fn cancel_pending(db: &impl ConnectionTrait, meeting_id: i64) -> Result<(), StoreError> {
    notification::Entity::update_many()
        .col_expr(
            notification::Column::Status,
            Expr::value(NotificationStatus::Canceled),
        )
        .filter(notification::Column::MeetingId.eq(meeting_id))
        .filter(notification::Column::Status.eq(NotificationStatus::Pending))
        .exec(db)
        .await?;
    Ok(())
}

/// Meetings still to come and not canceled: their reminders are worth
/// sending.
fn upcoming_meetings() -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(meeting::Column::Id)
        .from(meeting::Entity)
        .and_where(meeting::Column::StartsAt.gt(now_micros()))
        .and_where(meeting::Column::Status.ne(MeetingStatus::Canceled.as_str()))
        .to_owned()
}

/// Makes these canceled notifications of `contact_id` pending again, those
/// of meetings still to come and not changed `since` (a rescheduled or
/// canceled meeting has planned its reminders anew): an undone merge gives
/// back reminders the merge canceled (one that fell due meanwhile goes out
/// late, still before its meeting). Their recipient is set by the
/// [`readdress_pending`] that follows.
pub async fn revive(
    db: &impl ConnectionTrait,
    contact_id: i64,
    ids: &[i64],
    since: i64,
) -> Result<(), StoreError> {
    let unchanged = upcoming_meetings()
        .and_where(meeting::Column::UpdatedAt.lte(since))
        .to_owned();
    notification::Entity::update_many()
        .col_expr(
            notification::Column::Status,
            Expr::value(NotificationStatus::Pending),
        )
        .filter(notification::Column::Id.is_in(ids.iter().copied()))
        .filter(notification::Column::ContactId.eq(contact_id))
        .filter(notification::Column::Status.eq(NotificationStatus::Canceled))
        .filter(notification::Column::MeetingId.in_subquery(unchanged))
        .exec(db)
        .await?;
    Ok(())
}

/// Pending notifications of the contact's future meetings follow its
/// identity, in the transaction that changes it: email ones go to `email`,
/// SMS ones to `phone`, and a channel whose identity was removed is
/// canceled rather than sent to an address the customer took back. Sent
/// notifications are history and stay as they were.
pub async fn readdress_pending(
    db: &impl ConnectionTrait,
    contact_id: i64,
    email: Option<&Email>,
    phone: Option<&Phone>,
) -> Result<(), StoreError> {
    let future_meetings = upcoming_meetings();
    for (channel, address) in [
        (Channel::Email, email.map(Email::as_str)),
        (Channel::Sms, phone.map(Phone::as_str)),
    ] {
        let update = notification::Entity::update_many()
            .filter(notification::Column::ContactId.eq(contact_id))
            .filter(notification::Column::Status.eq(NotificationStatus::Pending))
            .filter(notification::Column::Channel.eq(channel.as_str()))
            .filter(notification::Column::MeetingId.in_subquery(future_meetings.clone()));
        let update = match address {
            Some(address) => update.col_expr(notification::Column::Recipient, Expr::value(address)),
            None => update.col_expr(
                notification::Column::Status,
                Expr::value(NotificationStatus::Canceled),
            ),
        };
        update.exec(db).await?;
    }
    Ok(())
}

/// The notifications of each of these meetings, by due time; a meeting
/// without any is left out. One query for many meetings.
pub async fn for_meetings(
    db: &impl ConnectionTrait,
    meeting_ids: &[i64],
) -> Result<HashMap<i64, Vec<NotificationRecord>>, StoreError> {
    let rows = notification::Entity::find()
        .filter(notification::Column::MeetingId.is_in(meeting_ids.iter().copied()))
        .order_by_asc(notification::Column::DueAt)
        .order_by_asc(notification::Column::Id)
        .all(db)
        .await?;
    let mut by_meeting: HashMap<i64, Vec<NotificationRecord>> = HashMap::new();
    for row in rows {
        if let Some(meeting_id) = row.meeting_id {
            by_meeting.entry(meeting_id).or_default().push(row);
        }
    }
    Ok(by_meeting)
}

/// Takes up to `limit` due notifications on `channels` for `lease`. On
/// PostgreSQL, `FOR UPDATE SKIP LOCKED` lets several processes claim at
/// once without taking the same row.
pub async fn claim_due(
    store: &Store,
    channels: &[Channel],
    lease: Duration,
    limit: u64,
) -> Result<Vec<NotificationRecord>, StoreError> {
    if channels.is_empty() {
        return Ok(Vec::new());
    }
    let now = now_micros();
    let txn = store.begin_write().await?;
    let due = notification::Entity::find()
        .filter(notification::Column::Status.eq(NotificationStatus::Pending))
        .filter(notification::Column::NextAttemptAt.lte(now))
        .filter(notification::Column::Channel.is_in(channels.iter().map(|c| c.as_str())))
        .filter(
            Condition::any()
                .add(notification::Column::ClaimedUntil.is_null())
                .add(notification::Column::ClaimedUntil.lt(now)),
        )
        .order_by_asc(notification::Column::NextAttemptAt)
        .order_by_asc(notification::Column::Id)
        .limit(limit)
        .lock_with_behavior(
            sea_orm::sea_query::LockType::Update,
            sea_orm::sea_query::LockBehavior::SkipLocked,
        )
        .all(&*txn)
        .await?;
    if due.is_empty() {
        return Ok(due);
    }
    let claimed_until = now + i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 2);
    notification::Entity::update_many()
        .col_expr(
            notification::Column::ClaimedUntil,
            Expr::value(claimed_until),
        )
        .filter(notification::Column::Id.is_in(due.iter().map(|n| n.id)))
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    // The claim's expiry doubles as its token: whoever set it owns the row.
    Ok(due
        .into_iter()
        .map(|n| NotificationRecord {
            claimed_until: Some(claimed_until),
            ..n
        })
        .collect())
}

/// The row as it is now, if our claim on it still holds and it is still
/// pending: a cancel or a re-address since the claim is honoured.
pub async fn still_claimed(
    db: &impl ConnectionTrait,
    claimed: &NotificationRecord,
) -> Result<Option<NotificationRecord>, StoreError> {
    Ok(notification::Entity::find_by_id(claimed.id)
        .filter(notification::Column::Status.eq(NotificationStatus::Pending))
        .filter(notification::Column::ClaimedUntil.eq(claimed.claimed_until))
        .one(db)
        .await?)
}

/// Marks a claimed notification sent; a row whose claim was lost (canceled,
/// or taken over after the lease) is left alone.
pub async fn mark_sent(store: &Store, claimed: &NotificationRecord) -> Result<(), StoreError> {
    let txn = store.begin_write().await?;
    notification::Entity::update_many()
        .col_expr(
            notification::Column::Status,
            Expr::value(NotificationStatus::Sent),
        )
        .col_expr(notification::Column::SentAt, Expr::value(now_micros()))
        .col_expr(
            notification::Column::Attempts,
            Expr::col(notification::Column::Attempts).add(1),
        )
        .col_expr(
            notification::Column::ClaimedUntil,
            Expr::value(Option::<i64>::None),
        )
        .filter(notification::Column::Id.eq(claimed.id))
        .filter(notification::Column::Status.eq(NotificationStatus::Pending))
        .filter(notification::Column::ClaimedUntil.eq(claimed.claimed_until))
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Gives back claimed notifications this process will not send (it is
/// shutting down), so another process sends them without waiting for the
/// lease; a row whose claim was lost meanwhile is left alone.
pub async fn release(store: &Store, claimed: &[NotificationRecord]) -> Result<(), StoreError> {
    if claimed.is_empty() {
        return Ok(());
    }
    let txn = store.begin_write().await?;
    for row in claimed {
        notification::Entity::update_many()
            .col_expr(
                notification::Column::ClaimedUntil,
                Expr::value(Option::<i64>::None),
            )
            .filter(notification::Column::Id.eq(row.id))
            .filter(notification::Column::Status.eq(NotificationStatus::Pending))
            .filter(notification::Column::ClaimedUntil.eq(row.claimed_until))
            .exec(&*txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Exponential backoff: 2 s after the first failure, doubling, at most 10 min.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.clamp(0, 9)).unwrap_or(9);
    Duration::from_secs(Ord::min(1u64 << exponent, 600))
}

pub async fn mark_failed(
    store: &Store,
    current: &NotificationRecord,
    error: &str,
) -> Result<(), StoreError> {
    let attempts = current.attempts + 1;
    let status = if attempts >= MAX_ATTEMPTS {
        NotificationStatus::Failed
    } else {
        NotificationStatus::Pending
    };
    let next = now_micros() + i64::try_from(backoff(attempts).as_micros()).unwrap_or(0);
    let txn = store.begin_write().await?;
    notification::Entity::update_many()
        .col_expr(notification::Column::Status, Expr::value(status))
        .col_expr(notification::Column::Attempts, Expr::value(attempts))
        .col_expr(notification::Column::NextAttemptAt, Expr::value(next))
        .col_expr(
            notification::Column::LastError,
            Expr::value(error.chars().take(1000).collect::<String>()),
        )
        .col_expr(
            notification::Column::ClaimedUntil,
            Expr::value(Option::<i64>::None),
        )
        .filter(notification::Column::Id.eq(current.id))
        .filter(notification::Column::Status.eq(NotificationStatus::Pending))
        .filter(notification::Column::ClaimedUntil.eq(current.claimed_until))
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    Ok(())
}
