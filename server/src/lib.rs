//! contacts-server: the contact database of a scheduling platform, served
//! over GraphQL. `main.rs` only calls [`cli::run`]; tests and benchmarks use
//! [`http::app`] and [`AppState`] the same way.

pub mod cli;
pub mod csv_report;
pub mod documents;
pub mod domain;
pub mod graphql;
pub mod http;
pub mod import;
pub mod propagation;
pub mod secret_key;
pub mod store;
pub mod telemetry;
mod token_cache;

use std::sync::Arc;
use std::time::Duration;

use domain::PhoneRegion;
use domain::outbound_target::TargetPolicy;
use store::Store;

/// Everything a request needs, cloned into each handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    /// Wakes this process's import worker when a job is queued.
    pub jobs: import::jobs::JobQueue,
}

impl AppState {
    pub fn new(store: Store, settings: Settings) -> Self {
        Self {
            store,
            settings: Arc::new(settings),
            jobs: import::jobs::JobQueue::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// The region of phone numbers written without a country code.
    pub default_region: PhoneRegion,
    pub max_body_bytes: usize,
    /// The largest CSV file `importContacts` takes.
    pub max_upload_bytes: usize,
    /// What an uploaded file's header and rows may hold.
    pub import_limits: import::reader::ReadLimits,
    /// Import jobs one user may have queued or running at once.
    pub max_queued_imports: u64,
    /// A contact search counts its matches up to this many.
    pub search_count_cap: u64,
    /// The longest contact search text, in characters.
    pub search_max_chars: u64,
    /// Tokens one user may hold that are neither revoked nor expired.
    pub max_tokens_per_user: u64,
    pub max_batch_size: usize,
    /// How long a resolved bearer token is trusted without a lookup.
    pub token_cache_ttl: Duration,
    /// Meeting reminders go out this long before the start.
    pub reminder_offsets: Vec<Duration>,
    /// What one GraphQL document may ask for.
    pub query_limits: graphql::cost::Limits,
    /// Timeouts, connection caps and the rate limit.
    pub http: http::Limits,
    /// Where integrations may point (`--allow-private-targets`).
    pub outbound_targets: TargetPolicy,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            default_region: PhoneRegion::default(),
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: 512 * 1024 * 1024,
            import_limits: import::reader::ReadLimits::default(),
            max_queued_imports: 5,
            search_count_cap: 1_000,
            search_max_chars: 200,
            max_tokens_per_user: 25,
            max_batch_size: 10,
            token_cache_ttl: Duration::from_secs(30),
            reminder_offsets: vec![Duration::from_secs(24 * 3600), Duration::from_secs(3600)],
            query_limits: graphql::cost::Limits::default(),
            http: http::Limits::default(),
            outbound_targets: TargetPolicy::default(),
        }
    }
}
