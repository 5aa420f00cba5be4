// Each bench binary compiles this module and uses part of it.
#![allow(dead_code)]

//! What the HTTP benchmarks share: serving a router in process and loading
//! it with keep-alive clients.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;

/// The allocator of the `contacts-server` binary (`server/src/main.rs`):
/// mimalloc, or the system's with `--features system-allocator`, so what
/// runs in process here allocates as the server does.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Printed by the benches, so every pasted output says which one ran.
pub const ALLOCATOR_NAME: &str = if cfg!(feature = "system-allocator") {
    "system (glibc malloc; --features system-allocator)"
} else {
    "mimalloc (the default)"
};

pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        axum::serve(listener, router).await.ok();
    });
    address
}

/// Serves the contacts API as `contacts-server serve` does: its own accept
/// loop and limits around the router.
pub async fn serve_api(state: contacts_server::AppState) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(contacts_server::http::serve(
        state,
        listener,
        std::future::pending(),
    ));
    address
}

/// Settings whose rate limiter runs on every request but never refuses
/// one at the rates a benchmark reaches (or is off, with `limited: false`).
pub fn bench_settings(limited: bool) -> contacts_server::Settings {
    let mut settings = contacts_server::Settings::default();
    settings.http.rate_limit_per_minute = if limited { u32::MAX } else { 0 };
    settings
}

/// Requests per second that `connections` clients get through in `seconds`.
pub async fn load(
    url: String,
    token: Option<String>,
    body: Arc<dyn Fn() -> serde_json::Value + Send + Sync>,
    connections: usize,
    seconds: u64,
) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("client");
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, url, token, body, done, stop) = (
            client.clone(),
            url.clone(),
            token.clone(),
            body.clone(),
            done.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let mut request = client.post(&url).json(&body());
                if let Some(token) = &token {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.expect("request");
                assert!(response.status().is_success());
                let text = response.text().await.expect("body");
                assert!(!text.contains("\"errors\""), "{text}");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Warm up connections and caches before counting.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let start_count = done.load(Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let counted = done.load(Ordering::Relaxed) - start_count;
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.ok();
    }
    counted as f64 / elapsed
}

/// Runs the release `contacts-server` (the bench's own build) against
/// `database_url`; returns its stdout.
pub fn cli(database_url: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_contacts-server"))
        .args(args)
        .env("CONTACTS_DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run contacts-server");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// One SQL command through psql.
pub fn psql(url: &str, sql: &str) {
    let output = std::process::Command::new("psql")
        .args([url, "-q", "-c", sql])
        .output()
        .expect("run psql");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
