//! `contact(id)` over HTTP beside a bare async-graphql hello-world, and
//! lookup by email and by phone in process, on a 1,000,000-contact SQLite
//! database. Run: `cargo bench -p contacts-server --bench contact_lookup`.
//! Options through the environment: BENCH_CONTACTS (default 1000000),
//! BENCH_SECONDS per HTTP load (default 10, split into BENCH_ROUNDS rounds,
//! default 5), BENCH_CONNECTIONS (default 32).
//!
//! Both servers run in this process on the same tokio runtime and are loaded
//! by the same client tasks in turn, so they share the machine alike.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod support;

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
use async_graphql_axum::GraphQL;
use axum::Router;
use contacts_server::AppState;
use contacts_server::domain::{Email, Phone, PhoneRegion, Role};
use contacts_server::store::contacts::Lock;
use contacts_server::store::point_reads::PointRead;
use contacts_server::store::{Store, contacts, users};
use rand::Rng;
use sea_orm::ConnectionTrait;
use serde_json::json;
use support::{ALLOCATOR_NAME, bench_settings, env_or, load, serve, serve_api};

fn email_of(i: u64) -> String {
    format!("person{i}@example{}.com", i % 97)
}

fn phone_of(i: u64) -> String {
    // Valid US numbers: area codes 201-989 avoided of N11; exchange 2xx-9xx.
    format!("+1{}{:03}{:04}", 415, 200 + (i / 10_000) % 800, i % 10_000)
}

async fn fill(store: &Store, count: u64) {
    let db = store.db();
    let started = Instant::now();
    const BATCH: u64 = 2_000;
    let mut next = 0;
    while next < count {
        let end = (next + BATCH).min(count);
        let mut sql = String::from(
            "INSERT INTO contacts (first_name, last_name, email, mobile_phone, company, job_title, \
             timezone, source, owner_id, team_id, sort_name, version, created_at, updated_at) VALUES ",
        );
        for i in next..end {
            if i > next {
                sql.push(',');
            }
            // Only every other contact has a phone, so the 8M phone numbers
            // of one area code are enough for 1M contacts.
            let phone = if i % 2 == 0 {
                format!("'{}'", phone_of(i / 2))
            } else {
                "NULL".to_owned()
            };
            sql.push_str(&format!(
                "('First{i}','Last{i}','{}',{phone},'Company {}','Title','Europe/Paris','IMPORT',1,NULL,'first{i} last{i}',1,{i},{i})",
                email_of(i),
                i % 1000
            ));
        }
        let txn = store.begin_write().await.expect("begin");
        txn.execute_unprepared(&sql).await.expect("insert batch");
        txn.commit().await.expect("commit");
        next = end;
    }
    db.execute_unprepared("ANALYZE").await.ok();
    eprintln!("filled {count} contacts in {:.1?}", started.elapsed());
}

async fn prepared_store(count: u64) -> (Store, String) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench data dir");
    let path = dir.join(format!("contacts-{count}.db"));
    let fresh = !path.exists();
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .expect("open bench database");
    store.migrate().await.expect("migrate");
    if fresh {
        users::create_user(&store, "bench-owner", Role::Admin, None)
            .await
            .expect("owner");
        fill(&store, count).await;
    }
    // A new token per run: tokens are shown once and not kept.
    let name = format!("bench-{}", rand::rng().random::<u64>());
    let (_, token) = users::create_user(&store, &name, Role::Admin, None)
        .await
        .expect("user");
    (store, token)
}

struct Hello;

#[Object]
impl Hello {
    async fn hello(&self) -> &'static str {
        "world"
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn lookups(store: &Store, count: u64) {
    let mut rng = rand::rng();
    for (what, samples) in [("email", 20_000), ("phone", 20_000)] {
        let mut times = Vec::with_capacity(samples);
        for _ in 0..samples {
            let i = rng.random_range(0..count);
            let started = Instant::now();
            let found = if what == "email" {
                let email = Email::parse("email", &email_of(i)).expect("email");
                contacts::find_by_email(store.db(), &email, Lock::None)
                    .await
                    .expect("lookup")
            } else {
                let phone = Phone::parse("mobilePhone", &phone_of(i / 2), PhoneRegion::default())
                    .expect("phone");
                contacts::find_by_phone(store.db(), &phone, Lock::None)
                    .await
                    .expect("lookup")
            };
            times.push(started.elapsed());
            assert!(found.is_some());
        }
        times.sort();
        println!(
            "| lookup by {what} among {count} (in process) | p50 {:.0} µs | p99 {:.0} µs | max {:.0} µs |",
            percentile(&times, 0.5).as_secs_f64() * 1e6,
            percentile(&times, 0.99).as_secs_f64() * 1e6,
            times.last().map_or(0.0, |t| t.as_secs_f64() * 1e6),
        );
    }
}

/// What `contact(id)` reads through on SQLite, alone.
async fn point_reads(store: &Store, count: u64) {
    let Some(reads) = store.point_reads() else {
        return;
    };
    // The first read finds no idle connection and opens one in the
    // background; the timed reads below each find it idle again.
    while matches!(reads.contact(1).expect("point read"), PointRead::Busy) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut rng = rand::rng();
    let mut times = Vec::with_capacity(20_000);
    for _ in 0..20_000 {
        let id = rng.random_range(1..=count) as i64;
        let started = Instant::now();
        let found = reads.contact(id).expect("point read");
        times.push(started.elapsed());
        assert!(matches!(found, PointRead::Done(Some(_))), "{found:?}");
    }
    times.sort();
    println!(
        "| point read by id among {count} (in process, SQLite) | p50 {:.0} µs | p99 {:.0} µs | max {:.0} µs |",
        percentile(&times, 0.5).as_secs_f64() * 1e6,
        percentile(&times, 0.99).as_secs_f64() * 1e6,
        times.last().map_or(0.0, |t| t.as_secs_f64() * 1e6),
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let count: u64 = env_or("BENCH_CONTACTS", 1_000_000);
        let seconds: u64 = env_or("BENCH_SECONDS", 10);
        let connections: usize = env_or("BENCH_CONNECTIONS", 32);
        println!("allocator: {ALLOCATOR_NAME}");
        let (store, token) = prepared_store(count).await;

        lookups(&store, count).await;
        point_reads(&store, count).await;

        // The same store behind two servers: the rate limiter on (never
        // refusing at these rates) and off, to show what it costs.
        let contacts_addr = serve_api(AppState::new(store.clone(), bench_settings(true))).await;
        let unlimited_addr = serve_api(AppState::new(store, bench_settings(false))).await;
        let hello_schema = Schema::new(Hello, EmptyMutation, EmptySubscription);
        let hello_addr = serve(Router::new().route_service("/graphql", GraphQL::new(hello_schema))).await;

        // The VM's speed drifts over a run, so the three loads take turns
        // in short rounds and each sums its rounds: drift hits all alike.
        let rounds: u64 = env_or("BENCH_ROUNDS", 5);
        let slice = (seconds / rounds).max(1);
        let (mut hello, mut typename, mut contact, mut unlimited) = (0.0, 0.0, 0.0, 0.0);
        let contact_body = move || {
            let id = rand::rng().random_range(1..=count);
            let global = contacts_server::graphql::ids::encode(
                contacts_server::graphql::ids::Kind::Contact,
                id as i64,
            );
            json!({
                "query": "query($id: ID!) { contact(id: $id) { id firstName lastName email mobilePhone company } }",
                "variables": { "id": global.to_string() }
            })
        };
        for _ in 0..rounds {
            hello += load(
                format!("http://{hello_addr}/graphql"),
                None,
                Arc::new(|| json!({ "query": "{ hello }" })),
                connections,
                slice,
            )
            .await;
            typename += load(
                format!("http://{contacts_addr}/graphql"),
                Some(token.clone()),
                Arc::new(|| json!({ "query": "{ __typename }" })),
                connections,
                slice,
            )
            .await;
            contact += load(
                format!("http://{contacts_addr}/graphql"),
                Some(token.clone()),
                Arc::new(contact_body),
                connections,
                slice,
            )
            .await;
            unlimited += load(
                format!("http://{unlimited_addr}/graphql"),
                Some(token.clone()),
                Arc::new(contact_body),
                connections,
                slice,
            )
            .await;
        }
        let n = rounds as f64;
        let (hello, typename, contact, unlimited) =
            (hello / n, typename / n, contact / n, unlimited / n);
        let label = format!("{connections} connections, {rounds} rounds of {slice} s");
        println!("| hello-world over HTTP ({label}) | {hello:.0} req/s |");
        println!("| {{ __typename }} on the contacts router, no database ({label}) | {typename:.0} req/s | {:.0}% of hello-world |", 100.0 * typename / hello);
        println!("| contact(id) over HTTP, rate limiter on ({label}) | {contact:.0} req/s | {:.0}% of hello-world |", 100.0 * contact / hello);
        println!("| contact(id) over HTTP, rate limiter off ({label}) | {unlimited:.0} req/s | {:.0}% of hello-world; the limiter costs {:.1}% |", 100.0 * unlimited / hello, 100.0 * (unlimited - contact) / unlimited);
    });
}
