//! Connected integrations (webhook subscribers, Zapier-style REST hooks)
//! and their delivery log. A delivery is claimed by one dispatcher at a
//! time (`FOR UPDATE SKIP LOCKED` on PostgreSQL), waits for earlier pending
//! deliveries of the same integration and contact (order per contact), and
//! is retried with backoff until delivered or dead.

use std::time::Duration;

use rand::RngCore;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::entities::{delivery, integration, outbox_event};
use super::secret_box::{INTEGRATION_SECRET, SecretKey, is_sealed};
use super::{Store, StoreError, now_micros};
use crate::domain::outbound_target::CheckedTarget;
use crate::domain::{Principal, ValidationError};

pub use super::entities::delivery::DeliveryStatus;
pub use super::entities::integration::IntegrationKind;

pub const MAX_ATTEMPTS: i32 = 10;

pub type IntegrationRecord = integration::Model;

/// Deliveries still to make, and given up on, across all integrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub pending: u64,
    pub dead: u64,
}

pub async fn delivery_counts(db: &impl ConnectionTrait) -> Result<DeliveryCounts, StoreError> {
    let with_status = |status: DeliveryStatus| {
        delivery::Entity::find()
            .filter(delivery::Column::Status.eq(status))
            .count(db)
    };
    Ok(DeliveryCounts {
        pending: with_status(DeliveryStatus::Pending).await?,
        dead: with_status(DeliveryStatus::Dead).await?,
    })
}
pub type DeliveryRecord = delivery::Model;

/// Whether the caller may manage integrations; asked before a target's
/// name is resolved, so only admins make the server look names up.
pub fn require_admin(principal: &Principal) -> Result<(), StoreError> {
    if principal.may_manage_integrations() {
        Ok(())
    } else {
        Err(StoreError::forbidden("only admins manage integrations"))
    }
}

/// Subscribes `target_url` to `events`; returns the integration and its
/// signing secret, which is shown this once and never again.
pub async fn connect_webhook(
    store: &Store,
    principal: &Principal,
    target_url: &CheckedTarget,
    events: &[&str],
) -> Result<(IntegrationRecord, String), StoreError> {
    require_admin(principal)?;
    if events.is_empty() {
        return Err(ValidationError::new("events", "name at least one event").into());
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("whsec_{}", hex::encode(bytes));
    let sealed = store.secret_key()?.seal(&secret, INTEGRATION_SECRET)?;
    let txn = store.begin_write().await?;
    let record = integration::ActiveModel {
        kind: Set(IntegrationKind::Webhook),
        target_url: Set(target_url.as_str().to_owned()),
        secret: Set(sealed),
        events: Set(serde_json::to_string(events).unwrap_or_else(|_| "[]".to_owned())),
        active: Set(true),
        created_by_user_id: Set(Some(principal.user_id)),
        created_at: Set(now_micros()),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok((record, secret))
}

/// Connects an API integration (a calendar or a CRM) at `base_url` with an OAuth access token, kept
/// server-side; it receives the events named.
pub async fn connect_api(
    store: &Store,
    principal: &Principal,
    kind: IntegrationKind,
    base_url: &CheckedTarget,
    access_token: &str,
    events: &[&str],
) -> Result<IntegrationRecord, StoreError> {
    require_admin(principal)?;
    let token = access_token.trim();
    if token.is_empty() || token.len() > 8192 {
        return Err(ValidationError::new("accessToken", "must be 1 to 8192 characters").into());
    }
    let sealed = store.secret_key()?.seal(token, INTEGRATION_SECRET)?;
    let txn = store.begin_write().await?;
    let record = integration::ActiveModel {
        kind: Set(kind),
        target_url: Set(base_url.as_str().trim_end_matches('/').to_owned()),
        secret: Set(sealed),
        events: Set(serde_json::to_string(events).unwrap_or_default()),
        active: Set(true),
        created_by_user_id: Set(Some(principal.user_id)),
        created_at: Set(now_micros()),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(record)
}

/// Seals the secrets stored before secrets were sealed (a database from
/// an earlier version), on the server's first start with a key; returns
/// how many. The table is then rewritten (SQLite: the whole file, once),
/// so the values in clear do not linger in freed pages.
pub async fn seal_plain_secrets(store: &Store) -> Result<u64, StoreError> {
    let key = store.secret_key()?;
    let txn = store.begin_write().await?;
    let rows = integration::Entity::find().all(&*txn).await?;
    let mut sealed = 0;
    for row in rows.into_iter().filter(|row| !is_sealed(&row.secret)) {
        integration::Entity::update_many()
            .col_expr(
                integration::Column::Secret,
                Expr::value(key.seal(&row.secret, INTEGRATION_SECRET)?),
            )
            .filter(integration::Column::Id.eq(row.id))
            .exec(&*txn)
            .await?;
        sealed += 1;
    }
    txn.commit().await?;
    if sealed > 0 {
        let db = store.db();
        match db.get_database_backend() {
            DatabaseBackend::Sqlite => {
                db.execute_unprepared("VACUUM").await?;
                db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                    .await?;
            }
            _ => {
                db.execute_unprepared("VACUUM FULL integrations").await?;
            }
        }
    }
    Ok(sealed)
}

/// Seals every secret again under `new_key`, in one transaction: all or
/// none. A secret that does not open with the store's key stops it.
pub async fn reseal_all(store: &Store, new_key: &SecretKey) -> Result<u64, StoreError> {
    let key = store.secret_key()?;
    let txn = store.begin_write().await?;
    let rows = integration::Entity::find().all(&*txn).await?;
    let count = rows.len() as u64;
    for row in rows {
        let plain = if is_sealed(&row.secret) {
            key.open(&row.secret, INTEGRATION_SECRET)?
        } else {
            row.secret.clone()
        };
        integration::Entity::update_many()
            .col_expr(
                integration::Column::Secret,
                Expr::value(new_key.seal(&plain, INTEGRATION_SECRET)?),
            )
            .filter(integration::Column::Id.eq(row.id))
            .exec(&*txn)
            .await?;
    }
    txn.commit().await?;
    Ok(count)
}

pub async fn disconnect(store: &Store, principal: &Principal, id: i64) -> Result<(), StoreError> {
    require_admin(principal)?;
    let txn = store.begin_write().await?;
    let result = integration::Entity::delete_by_id(id).exec(&*txn).await?;
    if result.rows_affected == 0 {
        return Err(StoreError::NotFound);
    }
    txn.commit().await?;
    Ok(())
}

pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
) -> Result<Vec<IntegrationRecord>, StoreError> {
    require_admin(principal)?;
    Ok(integration::Entity::find()
        .order_by_asc(integration::Column::Id)
        .all(db)
        .await?)
}

/// One integration, for a caller who may manage integrations; `None` for
/// anyone else, as for one that does not exist.
pub async fn find(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: i64,
) -> Result<Option<IntegrationRecord>, StoreError> {
    if !principal.may_manage_integrations() {
        return Ok(None);
    }
    Ok(integration::Entity::find_by_id(id).one(db).await?)
}

/// One delivery with the type of its event, under the rule of [`find`].
pub async fn find_delivery(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: i64,
) -> Result<Option<(DeliveryRecord, String)>, StoreError> {
    if !principal.may_manage_integrations() {
        return Ok(None);
    }
    let Some(found) = delivery::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let event_type = outbox_event::Entity::find_by_id(found.event_id)
        .one(db)
        .await?
        .map(|e| e.event_type)
        .unwrap_or_default();
    Ok(Some((found, event_type)))
}

/// Queues a failed or dead delivery again (ADMIN): pending, due now, with
/// a fresh budget of attempts; its last error stays until the next
/// attempt. A delivered one, or one to an integration that unsubscribed
/// (410 Gone), is refused with VALIDATION on `deliveryId`; an unknown one
/// is NOT_FOUND.
pub async fn redeliver(
    store: &Store,
    principal: &Principal,
    id: i64,
) -> Result<(DeliveryRecord, String), StoreError> {
    require_admin(principal)?;
    let txn = store.begin_write().await?;
    let found = delivery::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let failed = match found.status {
        DeliveryStatus::Dead => true,
        DeliveryStatus::Pending => found.attempts > 0,
        DeliveryStatus::Delivered => false,
    };
    if !failed {
        return Err(ValidationError::new(
            "deliveryId",
            "only a failed or dead delivery is sent again",
        )
        .into());
    }
    let active = integration::Entity::find_by_id(found.integration_id)
        .one(&*txn)
        .await?
        .is_some_and(|i| i.active);
    if !active {
        return Err(ValidationError::new(
            "deliveryId",
            "its integration unsubscribed (410 Gone); connect it again first",
        )
        .into());
    }
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Status,
            Expr::value(DeliveryStatus::Pending),
        )
        .col_expr(delivery::Column::Attempts, Expr::value(0))
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(now_micros()))
        .col_expr(
            delivery::Column::ClaimedUntil,
            Expr::value(Option::<i64>::None),
        )
        .filter(delivery::Column::Id.eq(id))
        .exec(&*txn)
        .await?;
    let event_type = outbox_event::Entity::find_by_id(found.event_id)
        .one(&*txn)
        .await?
        .map(|e| e.event_type)
        .unwrap_or_default();
    let queued = delivery::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or(StoreError::NotFound)?;
    txn.commit().await?;
    Ok((queued, event_type))
}

/// The newest deliveries of an integration, with the type of their event.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    integration_id: i64,
    limit: u64,
) -> Result<Vec<(DeliveryRecord, String)>, StoreError> {
    let rows = delivery::Entity::find()
        .filter(delivery::Column::IntegrationId.eq(integration_id))
        .order_by_desc(delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let events = outbox_event::Entity::find()
        .filter(outbox_event::Column::Id.is_in(rows.iter().map(|d| d.event_id)))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|d| {
            let event_type = events
                .iter()
                .find(|e| e.id == d.event_id)
                .map(|e| e.event_type.clone())
                .unwrap_or_default();
            (d, event_type)
        })
        .collect())
}

/// One claimed delivery with what it needs to go out.
pub struct Claimed {
    pub delivery: DeliveryRecord,
    pub event: outbox_event::Model,
    pub integration: IntegrationRecord,
}

pub async fn claim_due(
    store: &Store,
    lease: Duration,
    limit: u64,
) -> Result<Vec<Claimed>, StoreError> {
    let now = now_micros();
    let earlier = Alias::new("earlier");
    let earlier_pending = Query::select()
        .expr(Expr::val(1))
        .from_as(delivery::Entity, earlier.clone())
        .and_where(
            Expr::col((earlier.clone(), delivery::Column::IntegrationId))
                .equals((delivery::Entity, delivery::Column::IntegrationId)),
        )
        .and_where(
            Expr::col((earlier.clone(), delivery::Column::ContactId))
                .equals((delivery::Entity, delivery::Column::ContactId)),
        )
        .and_where(
            Expr::col((earlier.clone(), delivery::Column::Id))
                .lt(Expr::col((delivery::Entity, delivery::Column::Id))),
        )
        .and_where(Expr::col((earlier, delivery::Column::Status)).eq(DeliveryStatus::Pending))
        .to_owned();
    let active = Query::select()
        .column(integration::Column::Id)
        .from(integration::Entity)
        .and_where(integration::Column::Active.eq(true))
        .to_owned();
    let txn = store.begin_write().await?;
    let due = delivery::Entity::find()
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .filter(
            Condition::any()
                .add(delivery::Column::ClaimedUntil.is_null())
                .add(delivery::Column::ClaimedUntil.lt(now)),
        )
        .filter(delivery::Column::IntegrationId.in_subquery(active))
        .filter(Expr::exists(earlier_pending).not())
        .order_by_asc(delivery::Column::Id)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(&*txn)
        .await?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let claimed_until = now + i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 2);
    delivery::Entity::update_many()
        .col_expr(delivery::Column::ClaimedUntil, Expr::value(claimed_until))
        .filter(delivery::Column::Id.is_in(due.iter().map(|d| d.id)))
        .exec(&*txn)
        .await?;
    let events = outbox_event::Entity::find()
        .filter(outbox_event::Column::Id.is_in(due.iter().map(|d| d.event_id)))
        .all(&*txn)
        .await?;
    let integrations = integration::Entity::find()
        .filter(integration::Column::Id.is_in(due.iter().map(|d| d.integration_id)))
        .all(&*txn)
        .await?;
    txn.commit().await?;
    let key = store.secret_key()?;
    Ok(due
        .into_iter()
        .filter_map(|d| {
            let event = events.iter().find(|e| e.id == d.event_id)?.clone();
            let mut integration = integrations
                .iter()
                .find(|i| i.id == d.integration_id)?
                .clone();
            // Opened only here, for the delivery in hand. One that does not
            // open (a process started with another key) is left to its
            // lease, for a process with the right key.
            match key.open(&integration.secret, INTEGRATION_SECRET) {
                Ok(plain) => integration.secret = plain,
                Err(err) => {
                    tracing::error!(integration = integration.id, error = %err,
                        "an integration's secret does not open; its deliveries wait");
                    return None;
                }
            }
            Some(Claimed {
                delivery: DeliveryRecord {
                    claimed_until: Some(claimed_until),
                    ..d
                },
                event,
                integration,
            })
        })
        .collect())
}

/// Gives back claimed deliveries whose outcome this process will not
/// record (it is shutting down): another process takes them at once. A
/// delivery that was sent and not recorded goes again, as after a crash:
/// at least once, and the event id lets the subscriber see the repeat.
pub async fn release(store: &Store, claimed: &[&DeliveryRecord]) -> Result<(), StoreError> {
    if claimed.is_empty() {
        return Ok(());
    }
    let txn = store.begin_write().await?;
    for delivery in claimed {
        delivery::Entity::update_many()
            .col_expr(
                delivery::Column::ClaimedUntil,
                Expr::value(Option::<i64>::None),
            )
            .filter(delivery::Column::Id.eq(delivery.id))
            .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
            .filter(delivery::Column::ClaimedUntil.eq(delivery.claimed_until))
            .exec(&*txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// How a delivery attempt ended.
pub enum Outcome {
    Delivered {
        status_code: u16,
    },
    /// Try again: after `retry_after` when the subscriber said so (429),
    /// else after the backoff.
    Retry {
        error: String,
        status_code: Option<u16>,
        retry_after: Option<Duration>,
    },
    /// 410 Gone: the subscriber unsubscribed; the integration is switched off.
    Gone,
    /// Not sent: the target is, or now resolves to, an address the
    /// outbound rule refuses. Final; no status code, since nothing answered.
    Refused {
        error: String,
    },
    /// Refused for good (400, 401, 403, 404, 409, 422): retrying cannot
    /// help and would hold up the contact's later deliveries.
    Rejected {
        error: String,
        status_code: u16,
    },
}

impl Outcome {
    /// The outcome of an HTTP answer that is not a success.
    pub fn from_refusal(status: u16, error: String, retry_after: Option<Duration>) -> Self {
        match status {
            410 => Outcome::Gone,
            400 | 401 | 403 | 404 | 409 | 422 => Outcome::Rejected {
                error,
                status_code: status,
            },
            _ => Outcome::Retry {
                error,
                status_code: Some(status),
                retry_after,
            },
        }
    }
}

/// Exponential backoff: 1 s after the first failure, doubling, at most 10 min.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = u32::try_from((attempts - 1).clamp(0, 9)).unwrap_or(9);
    Duration::from_secs(Ord::min(1u64 << exponent, 600))
}

/// Records an attempt's outcome, if our claim on the delivery still holds.
pub async fn record_outcome(
    store: &Store,
    claimed: &DeliveryRecord,
    outcome: Outcome,
) -> Result<(), StoreError> {
    let now = now_micros();
    // Being throttled (429 with Retry-After) is the subscriber pacing us,
    // not a failed attempt.
    let throttled = matches!(
        &outcome,
        Outcome::Retry {
            retry_after: Some(_),
            ..
        }
    );
    let attempts = if throttled {
        claimed.attempts
    } else {
        claimed.attempts + 1
    };
    let txn = store.begin_write().await?;
    let update = delivery::Entity::update_many()
        .col_expr(delivery::Column::Attempts, Expr::value(attempts))
        .col_expr(
            delivery::Column::ClaimedUntil,
            Expr::value(Option::<i64>::None),
        )
        .filter(delivery::Column::Id.eq(claimed.id))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
        .filter(delivery::Column::ClaimedUntil.eq(claimed.claimed_until));
    let update = match &outcome {
        Outcome::Delivered { status_code } => update
            .col_expr(
                delivery::Column::Status,
                Expr::value(DeliveryStatus::Delivered),
            )
            .col_expr(delivery::Column::DeliveredAt, Expr::value(now))
            .col_expr(
                delivery::Column::LastStatusCode,
                Expr::value(i32::from(*status_code)),
            ),
        Outcome::Retry {
            error,
            status_code,
            retry_after,
        } => {
            let wait = retry_after.unwrap_or_else(|| backoff(attempts));
            let status = if attempts >= MAX_ATTEMPTS {
                DeliveryStatus::Dead
            } else {
                DeliveryStatus::Pending
            };
            update
                .col_expr(delivery::Column::Status, Expr::value(status))
                .col_expr(
                    delivery::Column::NextAttemptAt,
                    Expr::value(now + i64::try_from(wait.as_micros()).unwrap_or(0)),
                )
                .col_expr(
                    delivery::Column::LastError,
                    Expr::value(error.chars().take(1000).collect::<String>()),
                )
                .col_expr(
                    delivery::Column::LastStatusCode,
                    Expr::value(status_code.map(i32::from)),
                )
        }
        Outcome::Rejected { error, status_code } => update
            .col_expr(delivery::Column::Status, Expr::value(DeliveryStatus::Dead))
            .col_expr(
                delivery::Column::LastError,
                Expr::value(error.chars().take(1000).collect::<String>()),
            )
            .col_expr(
                delivery::Column::LastStatusCode,
                Expr::value(i32::from(*status_code)),
            ),
        Outcome::Refused { error } => update
            .col_expr(delivery::Column::Status, Expr::value(DeliveryStatus::Dead))
            .col_expr(
                delivery::Column::LastError,
                Expr::value(error.chars().take(1000).collect::<String>()),
            )
            .col_expr(
                delivery::Column::LastStatusCode,
                Expr::value(Option::<i32>::None),
            ),
        Outcome::Gone => update
            .col_expr(delivery::Column::Status, Expr::value(DeliveryStatus::Dead))
            .col_expr(
                delivery::Column::LastError,
                Expr::value("410 Gone: unsubscribed"),
            )
            .col_expr(delivery::Column::LastStatusCode, Expr::value(410)),
    };
    update.exec(&*txn).await?;
    if matches!(outcome, Outcome::Gone) {
        integration::Entity::update_many()
            .col_expr(integration::Column::Active, Expr::value(false))
            .filter(integration::Column::Id.eq(claimed.integration_id))
            .exec(&*txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Moves pending deliveries of one contact into another's queue.
pub async fn move_pending(db: &impl ConnectionTrait, from: i64, to: i64) -> Result<(), StoreError> {
    delivery::Entity::update_many()
        .col_expr(delivery::Column::ContactId, Expr::value(to))
        .filter(delivery::Column::ContactId.eq(from))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
        .exec(db)
        .await?;
    Ok(())
}
