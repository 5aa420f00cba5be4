//! Attack 8 of issue 15, server-side request forgery: an admin points a
//! webhook, calendar or CRM at the server's own network (cloud metadata,
//! a database port, a router) and reads `lastStatusCode` back. Without
//! `--allow-private-targets` every such target is refused when it is
//! connected, naming the field, and nothing is stored; a target that
//! points inward by the time a delivery goes out is refused then.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::post;
use rstest::rstest;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::support::*;

const WEBHOOK: &str = "mutation($url: String!) {
  connectWebhook(targetUrl: $url, events: [CONTACT_CREATED]) { integration { id } } }";
const CALENDAR: &str = "mutation($url: String!) {
  connectCalendar(provider: GOOGLE, baseUrl: $url, accessToken: \"t\") { id } }";
const CRM: &str = "mutation($url: String!) {
  connectCrm(crm: HUBSPOT, baseUrl: $url, accessToken: \"t\") { id } }";
const LOG: &str = "{ integrations { targetUrl deliveries { status lastError lastStatusCode } } }";

/// A local stand-in that counts the requests it gets.
struct StandIn {
    address: String,
    calls: Arc<AtomicU32>,
}

impl StandIn {
    async fn start() -> Self {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let app = axum::Router::new().route(
            "/hook",
            post(move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    StatusCode::OK
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { address, calls }
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

async fn integrations(server: &TestServer, admin: &str) -> Vec<Value> {
    let data = server.data(admin, LOG, json!({})).await;
    data["integrations"].as_array().unwrap().clone()
}

/// Each mutation with `url` is refused with VALIDATION on its URL field.
async fn refused_everywhere(server: &TestServer, admin: &str, url: &str) {
    for (mutation, field) in [
        (WEBHOOK, "targetUrl"),
        (CALENDAR, "baseUrl"),
        (CRM, "baseUrl"),
    ] {
        let (_, body) = server.post(admin, mutation, json!({ "url": url })).await;
        assert_eq!(error_codes(&body), ["VALIDATION"], "{url}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{url}: {body}"
        );
    }
}

#[rstest]
#[tokio::test]
async fn internal_targets_are_refused_and_nothing_is_stored(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let stand_in = StandIn::start().await;
    let health = server.probe_health();
    let loopback_http = format!("http://{}/hook", stand_in.address);
    for url in [
        "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://10.0.0.1",
        "https://[fd00::1]",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://127.0.0.1:5432",
        loopback_http.as_str(),
        "http://localhost/hook",
        "https://localhost/hook",
        "https://192.168.1.1/admin",
        "https://100.64.0.1",
        "https://[::1]:8080",
        "https://[::ffff:169.254.169.254]/",
        "https://[64:ff9b::a9fe:a9fe]/",
        "https://2130706433/",
        "https://printer.local/",
        "ftp://example.com/hook",
        // Credentials in the URL, even to a public name.
        "https://user:secret@hooks.example.com/hook",
        "https://token@hooks.example.com/hook",
    ] {
        refused_everywhere(&server, &admin, url).await;
    }
    assert_eq!(integrations(&server, &admin).await, Vec::<Value>::new());
    assert_eq!(stand_in.calls(), 0);
    health.finish(Duration::from_secs(2)).await;

    // Only an admin makes the server look at a target at all.
    let mia = server.create_user("mia", "MEMBER", None);
    let (_, body) = server
        .post(&mia, WEBHOOK, json!({ "url": "https://10.0.0.1" }))
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
}

#[rstest]
#[tokio::test]
async fn with_the_flag_a_local_stand_in_gets_its_delivery(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start_on(
        TestDb::new(backend).await,
        &["--dispatch-interval-ms", "100", "--allow-private-targets"],
    )
    .await;
    let admin = server.create_user("ann", "ADMIN", None);
    let stand_in = StandIn::start().await;
    // The flag allows private addresses, never credentials nor plain http
    // to a public address.
    refused_everywhere(&server, &admin, "http://user:pw@127.0.0.1:9/hook").await;
    refused_everywhere(&server, &admin, "http://8.8.8.8/hook").await;
    assert_eq!(integrations(&server, &admin).await, Vec::<Value>::new());

    let url = format!("http://{}/hook", stand_in.address);
    server.data(&admin, WEBHOOK, json!({ "url": url })).await;
    create(&server, &admin, json!({ "email": "flag@example.com" })).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while stand_in.calls() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stand_in.calls(), 1);
    let log = integrations(&server, &admin).await;
    assert_eq!(log[0]["deliveries"][0]["status"], "DELIVERED", "{log:?}");
}

/// The connect-time check, end to end. Targets are connected under the
/// flag (so they pass creation): one by a name that resolves to loopback,
/// one by a loopback literal. The server is then restarted without the
/// flag, which stands for a name that points inward after it was checked
/// (DNS rebinding): the name is resolved at connect time by the delivery
/// client's resolver and refused, the literal is refused before the
/// request. Nothing reaches the stand-in, and the deliveries end DEAD with
/// a clear error and no status code.
#[rstest]
#[tokio::test]
async fn a_target_pointing_inward_at_delivery_time_is_refused(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let mut lenient = TestServer::start_on(
        TestDb::new(backend).await,
        &["--dispatch-interval-ms", "100", "--allow-private-targets"],
    )
    .await;
    let admin = lenient.create_user("ann", "ADMIN", None);
    let stand_in = StandIn::start().await;
    let port = stand_in.address.rsplit(':').next().unwrap().to_owned();
    for url in [
        format!("http://localhost:{port}/hook"),
        format!("http://127.0.0.1:{port}/hook"),
    ] {
        lenient.data(&admin, WEBHOOK, json!({ "url": url })).await;
    }
    lenient.kill();

    let strict = TestServer::start_on(
        TestDb::borrowed(&lenient.db.url),
        &["--dispatch-interval-ms", "100"],
    )
    .await;
    create(&strict, &admin, json!({ "email": "rebind@example.com" })).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut log = integrations(&strict, &admin).await;
    while Instant::now() < deadline && !log.iter().all(|i| i["deliveries"][0]["status"] == "DEAD") {
        tokio::time::sleep(Duration::from_millis(100)).await;
        log = integrations(&strict, &admin).await;
    }
    assert_eq!(log.len(), 2);
    for (integration, host) in log.iter().zip(["localhost", "127.0.0.1"]) {
        let delivery = &integration["deliveries"][0];
        assert_eq!(delivery["status"], "DEAD", "{integration}");
        assert_eq!(delivery["lastStatusCode"], Value::Null, "{integration}");
        let error = delivery["lastError"].as_str().unwrap_or_default();
        assert!(
            error.starts_with(&format!("refused: {host} ")),
            "{integration}"
        );
    }
    assert_eq!(stand_in.calls(), 0, "nothing reached the stand-in");
}
