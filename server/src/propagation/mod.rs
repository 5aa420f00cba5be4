//! Side effects delivered after the fact, from rows the store wrote in the
//! same transaction as the change that caused them. Deliveries are at least
//! once: a row is claimed, sent, then marked; a crash between send and mark
//! sends again, so every message carries an id receivers can dedupe on.

pub mod calendars;
pub mod crms;
pub mod email;
pub mod notifications;
pub mod outbox;
mod refusal;
pub mod sms;
pub mod target_guard;
pub mod webhooks;

/// How long deliveries in flight may go on once the server shuts down;
/// those still going are given back for another process to make.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Completes [`SHUTDOWN_GRACE`] after `stop` is cancelled.
async fn grace_after(stop: &tokio_util::sync::CancellationToken) {
    stop.cancelled().await;
    tokio::time::sleep(SHUTDOWN_GRACE).await;
}
