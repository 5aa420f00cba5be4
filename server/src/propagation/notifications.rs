//! The notification dispatcher inside `serve`: claims due notifications,
//! sends them by email or SMS, marks them sent, or schedules a retry with
//! backoff (FAILED after `MAX_ATTEMPTS`). A channel with no transport
//! configured is left pending until one is.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::email::EmailSender;
use super::sms::SmsSender;
use crate::domain::activity::Channel;
use crate::store::Store;
use crate::store::notifications::{self, NotificationRecord};

pub struct DispatcherConfig {
    pub email: Option<EmailSender>,
    pub sms: Option<SmsSender>,
    /// How long to sleep when nothing is due.
    pub idle_interval: Duration,
    /// How long a claimed notification is ours before another process may
    /// take it over.
    pub lease: Duration,
}

/// Sends run one after another, each bounded by its transport's timeout,
/// so a batch finishes well inside its lease.
const BATCH: u64 = 10;

/// Sends until `stop` is cancelled; the notifications of a claimed batch
/// not sent by then are given back.
pub fn spawn(store: Store, config: DispatcherConfig, stop: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut channels = Vec::new();
        if config.email.is_some() {
            channels.push(Channel::Email);
        }
        if config.sms.is_some() {
            channels.push(Channel::Sms);
        }
        if channels.is_empty() {
            tracing::warn!("no SMTP server or SMS gateway configured: notifications stay pending");
            return;
        }
        while !stop.is_cancelled() {
            let batch = match notifications::claim_due(&store, &channels, config.lease, BATCH).await
            {
                Ok(batch) => batch,
                Err(err) => {
                    tracing::error!(error = %err, "claiming notifications failed");
                    Vec::new()
                }
            };
            if batch.is_empty() {
                tokio::select! {
                    () = tokio::time::sleep(config.idle_interval) => {}
                    () = stop.cancelled() => {}
                }
                continue;
            }
            for (sent, notification) in batch.iter().enumerate() {
                if stop.is_cancelled() {
                    if let Err(err) = notifications::release(&store, &batch[sent..]).await {
                        tracing::error!(error = %err, "giving back notifications at shutdown failed");
                    }
                    break;
                }
                deliver(&store, &config, notification).await;
            }
        }
    })
}

async fn deliver(store: &Store, config: &DispatcherConfig, claimed: &NotificationRecord) {
    let notification = match notifications::still_claimed(store.db(), claimed).await {
        Ok(Some(current)) => current,
        Ok(None) => return,
        Err(err) => {
            tracing::error!(id = claimed.id, error = %err, "re-reading a claimed notification failed");
            return;
        }
    };
    let notification = &notification;
    let key = format!("notification-{}", notification.id);
    let sent = match Channel::parse(&notification.channel) {
        Some(Channel::Email) => match &config.email {
            Some(email) => {
                let message_id = format!("<{key}@contacts>");
                email
                    .send(
                        &notification.recipient,
                        &notification.subject,
                        &notification.body,
                        &message_id,
                    )
                    .await
            }
            None => Err("no SMTP server configured".to_owned()),
        },
        Some(Channel::Sms) => match &config.sms {
            Some(sms) => {
                sms.send(&notification.recipient, &notification.body, &key)
                    .await
            }
            None => Err("no SMS gateway configured".to_owned()),
        },
        None => Err(format!("unknown channel {:?}", notification.channel)),
    };
    let marked = match &sent {
        Ok(()) => notifications::mark_sent(store, notification).await,
        Err(error) => {
            tracing::warn!(id = notification.id, %error, "notification not delivered; will retry");
            notifications::mark_failed(store, notification, error).await
        }
    };
    if let Err(err) = marked {
        tracing::error!(id = notification.id, error = %err, "recording a delivery failed");
    }
}
