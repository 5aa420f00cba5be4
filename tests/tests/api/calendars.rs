//! An email edit updates the guest lists of the contact's future meetings
//! on Google Calendar and Microsoft Exchange, through local stand-ins that
//! speak those APIs' request shapes; other platforms and past meetings are
//! left alone.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::routing::get;
use chrono::{SecondsFormat, Utc};
use rstest::rstest;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::peers::wait_until;
use crate::support::*;

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    auth: String,
    body: Value,
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn remember(log: &Log, method: Method, uri: Uri, headers: &HeaderMap, body: Value) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    log.lock().unwrap().push(Seen {
        method: method.to_string(),
        uri: uri.to_string(),
        auth,
        body,
    });
}

async fn google_event(
    State(log): State<Log>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Json<Value> {
    remember(
        &log,
        method,
        uri,
        &headers,
        body.map(|b| b.0).unwrap_or(Value::Null),
    );
    Json(json!({
        "kind": "calendar#event", "id": id, "etag": "\"3181161784712000\"",
        "attendees": [
            { "email": "host@corp.example", "organizer": true, "responseStatus": "accepted" },
            { "email": "old@example.com", "responseStatus": "accepted" }
        ]
    }))
}

async fn graph_event(
    State(log): State<Log>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Json<Value> {
    remember(
        &log,
        method,
        uri,
        &headers,
        body.map(|b| b.0).unwrap_or(Value::Null),
    );
    Json(json!({
        "id": id,
        "attendees": [
            { "type": "required", "emailAddress": { "name": "Old", "address": "old@example.com" },
              "status": { "response": "accepted" } }
        ]
    }))
}

async fn stand_in() -> (String, Log) {
    let log: Log = Arc::default();
    let app = axum::Router::new()
        .route(
            "/calendar/v3/calendars/primary/events/{id}",
            get(google_event).patch(google_event),
        )
        .route("/v1.0/me/events/{id}", get(graph_event).patch(graph_event))
        .with_state(log.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, log)
}

fn at(offset_secs: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(offset_secs)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

const RECORD: &str =
    "mutation($input: ActivityInput!) { recordActivity(input: $input) { contact { id } } }";
const CONNECT: &str = "mutation($p: CalendarProvider!, $url: String!, $token: String!) {
  connectCalendar(provider: $p, baseUrl: $url, accessToken: $token) { id kind } }";

#[rstest]
#[tokio::test]
async fn an_email_edit_updates_future_google_and_exchange_events_only(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start_on(
        TestDb::new(backend).await,
        &["--dispatch-interval-ms", "100", "--allow-private-targets"],
    )
    .await;
    let admin = server.create_user("ann", "ADMIN", None);
    let zap = server.create_user("zap", "INTEGRATION", None);
    let (calendar_url, log) = stand_in().await;
    server
        .data(
            &admin,
            CONNECT,
            json!({ "p": "GOOGLE", "url": calendar_url, "token": "google-token" }),
        )
        .await;
    server
        .data(
            &admin,
            CONNECT,
            json!({ "p": "EXCHANGE", "url": calendar_url, "token": "graph-token" }),
        )
        .await;
    let (_, body) = server
        .post(
            &admin,
            CONNECT,
            json!({ "p": "ZOHO", "url": calendar_url, "token": "t" }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "provider");

    let mut contact_id = Value::Null;
    for (provider, event, starts) in [
        ("GOOGLE", "evt-google", 86_400),
        ("EXCHANGE", "AAMkAD=exchange/1", 86_400),
        ("ZOHO", "evt-zoho", 86_400),
        ("GOOGLE", "evt-past", -86_400),
    ] {
        let input = json!({ "kind": "MEETING", "contact": { "email": "old@example.com" },
            "meeting": { "startsAt": at(starts), "endsAt": at(starts + 1800), "calendarProvider": provider,
                         "externalEventId": event } });
        contact_id =
            server.data(&zap, RECORD, json!({ "input": input })).await["recordActivity"]["contact"]
                ["id"]
                .clone();
    }
    server
        .data(
            &admin,
            UPDATE,
            json!({ "id": contact_id, "input": { "email": "new@example.com" } }),
        )
        .await;

    let seen = wait_until(
        Duration::from_secs(15),
        || log.lock().unwrap().clone(),
        |s| s.len() >= 4,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen_all = log.lock().unwrap().clone();
    assert_eq!(seen_all.len(), 4, "{seen_all:#?}");
    let google: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.auth == "Bearer google-token")
        .collect();
    let graph: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.auth == "Bearer graph-token")
        .collect();

    assert_eq!(google[0].method, "GET");
    assert_eq!(
        google[0].uri,
        "/calendar/v3/calendars/primary/events/evt-google"
    );
    assert_eq!(google[1].method, "PATCH");
    assert_eq!(
        google[1].uri,
        "/calendar/v3/calendars/primary/events/evt-google?sendUpdates=all"
    );
    assert_eq!(
        google[1].body,
        json!({ "attendees": [
            { "email": "host@corp.example", "organizer": true, "responseStatus": "accepted" },
            { "email": "new@example.com" }
        ] })
    );

    assert_eq!(graph[0].method, "GET");
    assert_eq!(
        graph[0].uri,
        "/v1.0/me/events/AAMkAD%3Dexchange%2F1?$select=attendees"
    );
    assert_eq!(graph[1].method, "PATCH");
    assert_eq!(graph[1].uri, "/v1.0/me/events/AAMkAD%3Dexchange%2F1");
    assert_eq!(
        graph[1].body,
        json!({ "attendees": [ { "emailAddress": { "address": "new@example.com" }, "type": "required" } ] })
    );
    assert!(
        seen_all
            .iter()
            .all(|s| !s.uri.contains("evt-zoho") && !s.uri.contains("evt-past"))
    );
}
