//! What an operator scrapes: metrics in the Prometheus text format, all
//! named `contacts_*`, recorded through the `metrics` facade and rendered by
//! `metrics-exporter-prometheus` at `GET /metrics`.
//!
//! Counters and histograms are kept as they happen; what is a state of the
//! database (pool use, deliveries waiting or dead) is read when scraped.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::store::Store;

const REQUEST_DURATION: &str = "contacts_http_request_duration_seconds";

/// Request durations, in seconds: a point read takes well under a
/// millisecond, an import upload seconds.
const DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Distinct operation names kept as labels; a client inventing names
/// cannot grow the metrics past this (later names count as `other`).
const MAX_OPERATION_NAMES: usize = 200;

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
static OPERATIONS: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();

/// The process's recorder, installed on first use. `None` when another
/// recorder was installed first (a program embedding the server).
pub fn recorder() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(REQUEST_DURATION.to_owned()),
                    &DURATION_BUCKETS,
                )
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(err) => {
                    tracing::warn!(error = %err, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    metrics::describe_counter!(
        "contacts_http_requests_total",
        "GraphQL requests answered, by operation name and outcome (ok or the first error code)"
    );
    metrics::describe_histogram!(
        REQUEST_DURATION,
        metrics::Unit::Seconds,
        "Time to answer a GraphQL request, by operation name and outcome"
    );
    metrics::describe_counter!(
        "contacts_db_statements_total",
        "Statements sent to the database through SeaORM"
    );
    metrics::describe_counter!(
        "contacts_import_rows_total",
        "Rows of CSV imports applied (dry runs aside), by outcome"
    );
    metrics::describe_gauge!(
        "contacts_db_pool_connections",
        "Connections of the database pool, by state (idle, in_use)"
    );
    metrics::describe_gauge!(
        "contacts_outbox_deliveries",
        "Deliveries to integrations by status: pending (waiting or retrying) and dead"
    );
}

/// Keeps the recorder's histograms drained between scrapes, so samples do
/// not pile up in memory when nobody scrapes.
pub fn spawn_upkeep() {
    if recorder().is_none() {
        return;
    }
    tokio::spawn(async {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            if let Some(handle) = recorder() {
                handle.run_upkeep();
            }
        }
    });
}

/// The label an operation is counted under: its name if it looks like one
/// and there is room, `anonymous` without one, `other` otherwise.
pub fn operation_label(name: Option<&str>) -> String {
    let Some(name) = name else {
        return "anonymous".to_owned();
    };
    let well_formed = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !well_formed {
        return "other".to_owned();
    }
    let known = OPERATIONS.get_or_init(Default::default);
    let Ok(mut known) = known.lock() else {
        return "other".to_owned();
    };
    if known.contains(name) || known.len() < MAX_OPERATION_NAMES {
        known.insert(name.to_owned());
        name.to_owned()
    } else {
        "other".to_owned()
    }
}

pub fn record_request(operation: String, outcome: &'static str, elapsed: Duration) {
    let labels = [("operation", operation), ("outcome", outcome.to_owned())];
    metrics::counter!("contacts_http_requests_total", &labels).increment(1);
    metrics::histogram!(REQUEST_DURATION, &labels).record(elapsed.as_secs_f64());
}

/// A request refused before any operation of it ran (rate, token, body,
/// deadline): counted under the operation `none`, without a duration.
pub fn record_refusal(outcome: &'static str) {
    metrics::counter!(
        "contacts_http_requests_total",
        "operation" => "none",
        "outcome" => outcome
    )
    .increment(1);
}

pub fn record_statement() {
    metrics::counter!("contacts_db_statements_total").increment(1);
}

pub fn record_import_rows(created: u64, updated: u64, unchanged: u64, failed: u64) {
    for (outcome, rows) in [
        ("created", created),
        ("updated", updated),
        ("unchanged", unchanged),
        ("failed", failed),
    ] {
        if rows > 0 {
            metrics::counter!("contacts_import_rows_total", "outcome" => outcome).increment(rows);
        }
    }
}

/// The text of `GET /metrics`: the states read now, then everything.
pub async fn render(store: &Store) -> Option<String> {
    let handle = recorder()?;
    let (idle, size) = store.pool_use();
    metrics::gauge!("contacts_db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("contacts_db_pool_connections", "state" => "in_use")
        .set(f64::from(size.saturating_sub(idle)));
    match crate::store::integrations::delivery_counts(store.db()).await {
        Ok(counts) => {
            metrics::gauge!("contacts_outbox_deliveries", "status" => "pending")
                .set(counts.pending as f64);
            metrics::gauge!("contacts_outbox_deliveries", "status" => "dead")
                .set(counts.dead as f64);
        }
        Err(err) => tracing::error!(error = %err, "counting deliveries for /metrics failed"),
    }
    handle.run_upkeep();
    Some(handle.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_labels_only_when_they_look_like_names() {
        assert_eq!(operation_label(None), "anonymous");
        assert_eq!(operation_label(Some("ContactPage")), "ContactPage");
        assert_eq!(operation_label(Some("bad name\n")), "other");
        assert_eq!(operation_label(Some(&"x".repeat(65))), "other");
    }
}
