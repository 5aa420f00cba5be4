//! Outbox deliveries per second to a local webhook receiver, on SQLite and
//! on PostgreSQL. Run: `cargo bench -p contacts-server --bench outbox_delivery`.
//! Knobs: BENCH_EVENTS (default 5000), CONTACTS_TEST_POSTGRES_URL.
//!
//! The events are written first (one contact created per event, through the
//! same use-case as `createContact`), then one dispatcher drains them.

use std::time::{Duration, Instant};

mod support;

use axum::http::StatusCode;
use axum::routing::post;
use contacts_server::domain::contact::{Raw, RawContactInput};
use contacts_server::domain::outbound_target::{TargetPolicy, TargetUrl};
use contacts_server::domain::{ContactPatch, PhoneRegion, Role, Source};
use contacts_server::propagation::outbox::{self, OutboxConfig};
use contacts_server::store::save::{self, NewContact};
use contacts_server::store::{Store, integrations, users};
use rand::Rng;
use sea_orm::{ConnectionTrait, Database, Statement};
use support::{ALLOCATOR_NAME, env_or, serve};

const LOCAL: TargetPolicy = TargetPolicy {
    allow_private: true,
};

async fn pending(store: &Store) -> i64 {
    let backend = store.backend();
    let row = store
        .db()
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM deliveries WHERE status <> 'DELIVERED'",
        ))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

async fn measure(name: &str, url: &str, events: usize, receiver: &str) {
    let store = Store::connect(url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let (admin, _) = users::create_user(&store, "bench-admin", Role::Admin, None)
        .await
        .expect("admin");
    let principal =
        contacts_server::domain::Principal::with_defaults(admin.id, Role::Admin, vec![]);
    // The receiver is local: the bench runs as under --allow-private-targets.
    let target = TargetUrl::parse("targetUrl", receiver, LOCAL)
        .and_then(|url| url.accept("targetUrl", &[], LOCAL))
        .expect("target");
    integrations::connect_webhook(&store, &principal, &target, &["contact.created"])
        .await
        .expect("webhook");
    for i in 0..events {
        let raw = RawContactInput {
            email: Raw::Value(format!("o{i}@bench.example")),
            ..Default::default()
        };
        let new = NewContact {
            patch: ContactPatch::parse(&raw, PhoneRegion::default()).expect("patch"),
            assignment: Default::default(),
            source: Source::Api,
            merge: Default::default(),
        };
        save::create(&store, &principal, new).await.expect("create");
    }
    let started = Instant::now();
    let dispatcher = outbox::spawn(
        store.clone(),
        OutboxConfig {
            idle_interval: Duration::from_millis(10),
            lease: Duration::from_secs(60),
            targets: LOCAL,
        },
        tokio_util::sync::CancellationToken::new(),
    )
    .expect("dispatcher");
    while pending(&store).await > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    dispatcher.abort();
    println!(
        "| webhook deliveries, {name} ({events} events) | {:.0} events/s |",
        events as f64 / elapsed
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        println!("allocator: {ALLOCATOR_NAME}");
        let events: usize = env_or("BENCH_EVENTS", 5000);
        let receiver =
            serve(axum::Router::new().route("/hook", post(|| async { StatusCode::OK }))).await;
        let receiver = format!("http://{receiver}/hook");

        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("outbox.db").display()
        );
        measure("SQLite", &sqlite, events, &receiver).await;

        let admin_url = std::env::var("CONTACTS_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("contacts_bench_{:x}", rand::rng().random::<u64>());
        let admin = Database::connect(&admin_url)
            .await
            .expect("PostgreSQL reachable");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        let mut url = reqwest::Url::parse(&admin_url).expect("URL");
        url.set_path(&format!("/{name}"));
        measure("PostgreSQL", url.as_str(), events, &receiver).await;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .ok();
    });
}
