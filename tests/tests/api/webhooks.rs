//! Webhook subscribers (REST hooks) hear of contact changes through the
//! outbox: signed, in order per contact, exactly once in their view even
//! when they fail, throttle or go away.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, Mac};
use rstest::rstest;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpListener;

use crate::peers::wait_until;
use crate::support::*;

/// How the receiver answers its next calls, in order; then 200.
#[derive(Clone, Copy)]
pub(crate) enum Answer {
    Fail,
    Throttle,
    Gone,
    /// 422: a refusal that is not retried.
    Reject,
}

#[derive(Default)]
struct Inbox {
    script: Mutex<Vec<Answer>>,
    accepted: Mutex<Vec<(HeaderMap, String)>>,
    calls: Mutex<u32>,
}

pub(crate) struct Receiver {
    pub(crate) url: String,
    inbox: Arc<Inbox>,
}

impl Receiver {
    pub(crate) async fn start(script: Vec<Answer>) -> Self {
        let inbox = Arc::new(Inbox {
            script: Mutex::new(script),
            ..Default::default()
        });
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(inbox.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, inbox }
    }

    pub(crate) fn accepted(&self) -> Vec<(HeaderMap, Value, String)> {
        self.inbox
            .accepted
            .lock()
            .unwrap()
            .iter()
            .map(|(h, body)| (h.clone(), serde_json::from_str(body).unwrap(), body.clone()))
            .collect()
    }
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes) -> Response {
    *inbox.calls.lock().unwrap() += 1;
    let next = {
        let mut script = inbox.script.lock().unwrap();
        (!script.is_empty()).then(|| script.remove(0))
    };
    match next {
        Some(Answer::Fail) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Some(Answer::Throttle) => {
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")]).into_response()
        }
        Some(Answer::Gone) => StatusCode::GONE.into_response(),
        Some(Answer::Reject) => StatusCode::UNPROCESSABLE_ENTITY.into_response(),
        None => {
            let text = String::from_utf8(body.to_vec()).unwrap();
            inbox.accepted.lock().unwrap().push((headers, text));
            StatusCode::OK.into_response()
        }
    }
}

/// What a receiver does with `X-Contacts-Signature: t=..,v1=..`.
pub(crate) fn verify(secret: &str, headers: &HeaderMap, body: &str) -> bool {
    let header = headers["x-contacts-signature"].to_str().unwrap();
    let (t, v1) = header
        .split_once(',')
        .map(|(t, v)| (t.trim_start_matches("t="), v.trim_start_matches("v1=")))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap()).is_ok()
}

const CONNECT: &str = "mutation($url: String!, $events: [WebhookEvent!]!) {
  connectWebhook(targetUrl: $url, events: $events) { signingSecret integration { id active events } }
}";

const LOG: &str = "{ integrations { id active deliveries(first: 100) { eventId eventType status attempts lastStatusCode lastError } } }";

async fn connected(server: &TestServer, admin: &str, receiver: &Receiver) -> String {
    let data = server
        .data(
            admin,
            CONNECT,
            json!({ "url": receiver.url, "events": ["CONTACT_CREATED", "CONTACT_UPDATED", "CONTACT_DELETED", "CONTACT_MERGED"] }),
        )
        .await;
    data["connectWebhook"]["signingSecret"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn fast_server(backend: Backend) -> TestServer {
    TestServer::start_on(
        TestDb::new(backend).await,
        &["--dispatch-interval-ms", "100", "--allow-private-targets"],
    )
    .await
}

#[rstest]
#[tokio::test]
async fn subscribers_get_signed_events_in_order(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = fast_server(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let receiver = Receiver::start(vec![]).await;
    let secret = connected(&server, &admin, &receiver).await;

    let a = create(&server, &admin, json!({ "email": "wa@example.com" })).await;
    server
        .data(
            &admin,
            UPDATE,
            json!({ "id": a["id"], "input": { "email": "wa2@example.com" } }),
        )
        .await;
    let b = create(
        &server,
        &admin,
        json!({ "email": "wb@example.com", "firstName": "Bea" }),
    )
    .await;
    server
        .data(
            &admin,
            "mutation($s: ID!, $m: ID!) { mergeContacts(survivorId: $s, mergedId: $m, confirm: true) { contact { id } } }",
            json!({ "s": b["id"], "m": a["id"] }),
        )
        .await;
    server.data(&admin, DELETE, json!({ "id": b["id"] })).await;

    let accepted = wait_until(
        Duration::from_secs(15),
        || receiver.accepted(),
        |a| a.len() >= 5,
    )
    .await;
    assert_eq!(accepted.len(), 5);
    for (headers, body, raw) in &accepted {
        assert!(verify(&secret, headers, raw), "signature of {body}");
        assert_eq!(headers["x-contacts-event-id"], body["id"].as_str().unwrap());
    }
    let of = |contact: &Value| -> Vec<String> {
        accepted
            .iter()
            .filter(|(_, body, _)| body["data"]["contact"]["id"] == *contact)
            .map(|(_, body, _)| body["type"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(of(&a["id"]), ["contact.created", "contact.updated"]);
    assert_eq!(
        of(&b["id"]),
        ["contact.created", "contact.merged", "contact.deleted"]
    );
    let updated = accepted
        .iter()
        .find(|(_, b, _)| b["type"] == "contact.updated")
        .unwrap();
    assert_eq!(
        updated.1["data"]["changes"],
        json!([{ "field": "email", "before": "wa@example.com", "after": "wa2@example.com" }])
    );
    let merged = accepted
        .iter()
        .find(|(_, b, _)| b["type"] == "contact.merged")
        .unwrap();
    assert_eq!(merged.1["data"]["mergedContactId"], a["id"]);
}

#[rstest]
#[tokio::test]
async fn failures_and_throttling_still_deliver_each_event_once(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = fast_server(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let receiver = Receiver::start(vec![Answer::Fail, Answer::Fail, Answer::Throttle]).await;
    connected(&server, &admin, &receiver).await;
    for i in 0..3 {
        create(
            &server,
            &admin,
            json!({ "email": format!("r{i}@example.com") }),
        )
        .await;
    }
    let accepted = wait_until(
        Duration::from_secs(20),
        || receiver.accepted(),
        |a| a.len() >= 3,
    )
    .await;
    let mut ids: Vec<String> = accepted
        .iter()
        .map(|(_, b, _)| b["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each event once in the receiver's view");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.accepted().len(), 3, "nothing delivered twice");

    let log = server.data(&admin, LOG, json!({})).await;
    let deliveries = log["integrations"][0]["deliveries"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        deliveries.iter().all(|d| d["status"] == "DELIVERED"),
        "{deliveries:?}"
    );
    // Two failures count as attempts; being throttled (429 with
    // Retry-After) is pacing, not a failure.
    let failed: i64 = deliveries
        .iter()
        .map(|d| d["attempts"].as_i64().unwrap() - 1)
        .sum();
    assert_eq!(failed, 2, "{deliveries:?}");
    assert!(
        deliveries
            .iter()
            .any(|d| d["lastError"].as_str().is_some_and(|e| e.contains("429")))
    );
}

#[rstest]
#[tokio::test]
async fn gone_unsubscribes_and_only_admins_manage_hooks(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = fast_server(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let mia = server.create_user("mia", "MEMBER", None);
    let receiver = Receiver::start(vec![Answer::Gone]).await;

    let (_, body) = server
        .post(
            &mia,
            CONNECT,
            json!({ "url": receiver.url, "events": ["CONTACT_CREATED"] }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    let (_, body) = server
        .post(
            &admin,
            CONNECT,
            json!({ "url": "ftp://nope", "events": ["CONTACT_CREATED"] }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "targetUrl");
    let (_, body) = server
        .post(&admin, "{ integrations { secret } }", json!({}))
        .await;
    assert_eq!(
        error_codes(&body),
        ["BAD_REQUEST"],
        "the secret is never readable back"
    );

    connected(&server, &admin, &receiver).await;
    create(&server, &admin, json!({ "email": "g1@example.com" })).await;
    let mut active = json!(true);
    for _ in 0..100 {
        let data = server.data(&admin, LOG, json!({})).await;
        active = data["integrations"][0]["active"].clone();
        if active == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(active, false);
    create(&server, &admin, json!({ "email": "g2@example.com" })).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.accepted().is_empty());
    assert_eq!(*receiver.inbox.calls.lock().unwrap(), 1);
}

const REDELIVER: &str =
    "mutation($id: ID!) { redeliver(deliveryId: $id) { id status attempts lastStatusCode } }";

/// The first delivery's status in the log, once it is `status`.
async fn wait_for_status(server: &TestServer, admin: &str, status: &str) -> Value {
    for _ in 0..100 {
        let log = server.data(admin, LOG, json!({})).await;
        let first = log["integrations"][0]["deliveries"][0].clone();
        if first["status"] == status {
            return first;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no delivery became {status}");
}

#[rstest]
#[tokio::test]
async fn an_admin_sends_a_dead_delivery_again(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = fast_server(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let mo = server.create_user("mo", "MEMBER", None);
    let receiver = Receiver::start(vec![Answer::Reject]).await;
    connected(&server, &admin, &receiver).await;
    create(&server, &admin, json!({ "email": "dee@example.com" })).await;
    let dead = wait_for_status(&server, &admin, "DEAD").await;
    assert_eq!(dead["lastStatusCode"], 422);
    let log = server
        .data(&admin, "{ integrations { deliveries { id } } }", json!({}))
        .await;
    let id = log["integrations"][0]["deliveries"][0]["id"].clone();

    let (_, body) = server.post(&mo, REDELIVER, json!({ "id": id })).await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);

    // Integrations lose the email meanwhile: the event queued with it is
    // sent under the policy in force now.
    server
        .data(
            &admin,
            "mutation { setFieldPolicy(role: INTEGRATION, field: EMAIL, access: NONE) { access } }",
            json!({}),
        )
        .await;
    let queued = server.data(&admin, REDELIVER, json!({ "id": id })).await;
    assert_eq!(queued["redeliver"]["status"], "PENDING");
    assert_eq!(queued["redeliver"]["attempts"], 0);
    wait_for_status(&server, &admin, "DELIVERED").await;
    let heard = receiver.accepted();
    assert_eq!(heard.len(), 1);
    let (_, body, raw) = &heard[0];
    assert!(body["data"]["contact"].get("email").is_none(), "{body}");
    assert!(body["data"]["contact"]["id"].is_string(), "{body}");
    assert!(!raw.contains("dee@example.com"), "{raw}");

    // Delivered: nothing to send again.
    let (_, body) = server.post(&admin, REDELIVER, json!({ "id": id })).await;
    assert_eq!(error_codes(&body), ["VALIDATION"]);
    assert_eq!(body["errors"][0]["extensions"]["field"], "deliveryId");
}
