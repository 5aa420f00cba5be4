//! The outbox dispatcher inside `serve`: claims due deliveries, sends each
//! to its integration, and records the outcome. Any number of server
//! processes may run it against one PostgreSQL; a claim is held for a lease,
//! and a delivery left by a dead process is taken again once it lapses.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::calendars::{CalendarSender, GuestChange};
use super::crms::{CrmChange, CrmSender};
use super::target_guard::RefusedTarget;
use super::webhooks::WebhookSender;
use crate::domain::Role;
use crate::domain::outbound_target::{TargetPolicy, refused_literal};
use crate::store::Store;
use crate::store::field_policies;
use crate::store::integrations::{self, Claimed, IntegrationKind, Outcome};
use crate::store::outbox::narrow_payload;

/// The connectors a dispatcher delivers through.
struct Connectors {
    webhooks: WebhookSender,
    calendars: CalendarSender,
    crms: CrmSender,
    targets: TargetPolicy,
}

pub struct OutboxConfig {
    pub idle_interval: Duration,
    pub lease: Duration,
    /// Where deliveries may connect (`--allow-private-targets`).
    pub targets: TargetPolicy,
}

const BATCH: u64 = 20;

/// Delivers until `stop` is cancelled; deliveries in flight then get
/// [`super::SHUTDOWN_GRACE`] to end, and those that do not are given back.
pub fn spawn(
    store: Store,
    config: OutboxConfig,
    stop: CancellationToken,
) -> Result<JoinHandle<()>, String> {
    let connectors = Connectors {
        webhooks: WebhookSender::new(config.targets)?,
        calendars: CalendarSender::new(config.targets)?,
        crms: CrmSender::new(config.targets)?,
        targets: config.targets,
    };
    Ok(tokio::spawn(async move {
        while !stop.is_cancelled() {
            let batch = match integrations::claim_due(&store, config.lease, BATCH).await {
                Ok(batch) => batch,
                Err(err) => {
                    tracing::error!(error = %err, "claiming deliveries failed");
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
            // Deliveries of different contacts go out together (the claim
            // never holds two of one contact and integration). Each must end
            // well inside the lease, or another process could take it over
            // while it is still in flight; its outcome is recorded as soon
            // as it ends.
            let budget = config.lease.mul_f64(0.75);
            let work = batch.iter().map(|claimed| {
                let store = &store;
                let connectors = &connectors;
                async move {
                    let outcome = tokio::time::timeout(budget, deliver(store, connectors, claimed))
                        .await
                        .unwrap_or_else(|_| Outcome::Retry {
                            error: "no answer within the claim's lease".to_owned(),
                            status_code: None,
                            retry_after: None,
                        });
                    if let Err(err) =
                        integrations::record_outcome(store, &claimed.delivery, outcome).await
                    {
                        tracing::error!(id = claimed.delivery.id, error = %err, "recording a delivery failed");
                    }
                }
            });
            tokio::select! {
                _ = futures_util::future::join_all(work) => {}
                () = super::grace_after(&stop) => {
                    let claims: Vec<_> = batch.iter().map(|claimed| &claimed.delivery).collect();
                    if let Err(err) = integrations::release(&store, &claims).await {
                        tracing::error!(error = %err, "giving back deliveries at shutdown failed");
                    }
                }
            }
        }
    }))
}

async fn deliver(store: &Store, connectors: &Connectors, claimed: &Claimed) -> Outcome {
    let mut data: serde_json::Value = match serde_json::from_str(&claimed.event.payload) {
        Ok(data) => data,
        Err(err) => {
            return Outcome::Retry {
                error: format!("stored payload unreadable: {err}"),
                status_code: None,
                retry_after: None,
            };
        }
    };
    let integration = &claimed.integration;
    // Every request of a connector goes to the integration's host (paths
    // are appended to its URL); an address literal never reaches the
    // resolver, so it is judged here.
    if let Some(ip) = refused_literal(&integration.target_url, connectors.targets) {
        return Outcome::Refused {
            error: RefusedTarget::literal(ip).to_string(),
        };
    }
    let guest_change = || {
        GuestChange::from_payload(&data).ok_or_else(|| Outcome::Retry {
            error: "stored guest change unreadable".to_owned(),
            status_code: None,
            retry_after: None,
        })
    };
    let crm_change = || {
        CrmChange::from_payload(&data).ok_or_else(|| Outcome::Retry {
            error: "stored CRM change unreadable".to_owned(),
            status_code: None,
            retry_after: None,
        })
    };
    match integration.kind {
        IntegrationKind::Hubspot => match crm_change() {
            Ok(change) => {
                connectors
                    .crms
                    .hubspot(&integration.target_url, &integration.secret, &change)
                    .await
            }
            Err(outcome) => outcome,
        },
        IntegrationKind::Salesforce => match crm_change() {
            Ok(change) => {
                connectors
                    .crms
                    .salesforce(&integration.target_url, &integration.secret, &change)
                    .await
            }
            Err(outcome) => outcome,
        },
        IntegrationKind::GoogleCalendar => match guest_change() {
            Ok(change) => {
                connectors
                    .calendars
                    .google(&integration.target_url, &integration.secret, &change)
                    .await
            }
            Err(outcome) => outcome,
        },
        IntegrationKind::MicrosoftGraph => match guest_change() {
            Ok(change) => {
                connectors
                    .calendars
                    .microsoft(&integration.target_url, &integration.secret, &change)
                    .await
            }
            Err(outcome) => outcome,
        },
        IntegrationKind::Webhook => {
            // Under the policies in force now, not when it was queued.
            match field_policies::rights_of(store.db(), Role::Integration).await {
                Ok(rights) => narrow_payload(&mut data, &rights),
                Err(err) => {
                    return Outcome::Retry {
                        error: format!("reading the field policies failed: {err}"),
                        status_code: None,
                        retry_after: None,
                    };
                }
            }
            connectors
                .webhooks
                .send(
                    &claimed.integration.target_url,
                    &claimed.integration.secret,
                    claimed.event.id,
                    &claimed.event.event_type,
                    claimed.event.created_at,
                    data,
                )
                .await
        }
    }
}
