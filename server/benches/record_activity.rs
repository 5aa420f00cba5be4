//! `recordActivity` over HTTP on SQLite and on PostgreSQL: activities of new
//! identities (each creates its contact) and of known ones (each updates
//! one). Run: `cargo bench -p contacts-server --bench record_activity`.
//! Knobs: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 32),
//! CONTACTS_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

mod support;

use contacts_server::AppState;
use contacts_server::domain::Role;
use contacts_server::store::{Store, users};
use rand::Rng;
use sea_orm::{ConnectionTrait, Database};
use serde_json::json;
use support::{ALLOCATOR_NAME, bench_settings, env_or, load, serve_api};

const QUERY: &str =
    "mutation($input: ActivityInput!) { recordActivity(input: $input) { created contact { id } } }";

async fn measure(name: &str, url: &str, seconds: u64, connections: usize) {
    let store = Store::connect(url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let (_, token) = users::create_user(&store, "bench-integration", Role::Integration, None)
        .await
        .expect("integration user");
    let state = AppState::new(store, bench_settings(true));
    let address = serve_api(state).await;
    let endpoint = format!("http://{address}/graphql");

    let next = Arc::new(AtomicU64::new(0));
    let counter = next.clone();
    let new_rate = load(
        endpoint.clone(),
        Some(token.clone()),
        Arc::new(move || {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            json!({ "query": QUERY, "variables": { "input": {
                "kind": "CHATBOT", "contact": { "email": format!("new{n}@bench.example"), "firstName": "New" } } } })
        }),
        connections,
        seconds,
    )
    .await;
    let known = next.load(Ordering::Relaxed).max(1);
    let known_rate = load(
        endpoint,
        Some(token),
        Arc::new(move || {
            let n = rand::rng().random_range(0..known);
            json!({ "query": QUERY, "variables": { "input": {
                "kind": "CHATBOT", "contact": { "email": format!("new{n}@bench.example"), "company": "Known" } } } })
        }),
        connections,
        seconds,
    )
    .await;
    println!("| recordActivity, new identities, {name} | {new_rate:.0} req/s |");
    println!(
        "| recordActivity, known identities ({known} contacts), {name} | {known_rate:.0} req/s |"
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        println!("allocator: {ALLOCATOR_NAME}");
        let seconds: u64 = env_or("BENCH_SECONDS", 10);
        let connections: usize = env_or("BENCH_CONNECTIONS", 32);
        let suffix: u64 = rand::rng().random();

        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        );
        measure("SQLite", &sqlite, seconds, connections).await;

        let admin_url = std::env::var("CONTACTS_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("contacts_bench_{suffix:x}");
        let admin = Database::connect(&admin_url)
            .await
            .expect("PostgreSQL reachable");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create bench database");
        let mut url = reqwest::Url::parse(&admin_url).expect("PostgreSQL URL");
        url.set_path(&format!("/{name}"));
        measure("PostgreSQL", url.as_str(), seconds, connections).await;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .ok();
    });
}
