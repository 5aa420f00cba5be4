//! CRMs are told of email and phone changes by their own identification
//! logic: local stand-ins that keep records the way HubSpot and Salesforce
//! do check that the matched record is updated and nothing is duplicated.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use rstest::rstest;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

use crate::peers::wait_until;
use crate::support::*;

#[derive(Default)]
struct Crm {
    records: Mutex<Vec<(String, Map<String, Value>)>>,
    requests: Mutex<Vec<(String, String, String, Value)>>,
    throttle_next: Mutex<bool>,
}

type Shared = Arc<Crm>;

impl Crm {
    fn log(&self, method: &str, path: &str, headers: &HeaderMap, body: Value) {
        let auth = headers["authorization"]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        self.requests
            .lock()
            .unwrap()
            .push((method.into(), path.into(), auth, body));
    }

    fn find(&self, field: &str, value: &str) -> Option<String> {
        self.records
            .lock()
            .unwrap()
            .iter()
            .find(|(_, props)| props.get(field).and_then(Value::as_str) == Some(value))
            .map(|(id, _)| id.clone())
    }

    fn upsert(&self, id: &str, props: &Map<String, Value>) {
        let mut records = self.records.lock().unwrap();
        match records.iter_mut().find(|(rid, _)| rid == id) {
            Some((_, existing)) => existing.extend(props.clone()),
            None => records.push((id.to_owned(), props.clone())),
        }
    }

    fn throttled(&self) -> bool {
        std::mem::take(&mut *self.throttle_next.lock().unwrap())
    }
}

async fn hs_search(
    State(crm): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    crm.log(
        "POST",
        "/crm/v3/objects/contacts/search",
        &headers,
        body.clone(),
    );
    if crm.throttled() {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")]).into_response();
    }
    let filter = &body["filterGroups"][0]["filters"][0];
    let found = crm.find(
        filter["propertyName"].as_str().unwrap(),
        filter["value"].as_str().unwrap(),
    );
    let results: Vec<Value> = found.into_iter().map(|id| json!({ "id": id })).collect();
    Json(json!({ "total": results.len(), "results": results })).into_response()
}

async fn hs_get(
    State(crm): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    crm.log(
        "GET",
        &format!("/crm/v3/objects/contacts/{id}?idProperty=email"),
        &headers,
        Value::Null,
    );
    if id == "old@example.com" && crm.throttled() {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")]).into_response();
    }
    assert_eq!(q.get("idProperty").map(String::as_str), Some("email"));
    match crm.find("email", &id) {
        Some(found) => Json(json!({ "id": found, "properties": { "email": id } })).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn hs_update(
    State(crm): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    crm.log(
        "PATCH",
        &format!("/crm/v3/objects/contacts/{id}"),
        &headers,
        body.clone(),
    );
    crm.upsert(&id, body["properties"].as_object().unwrap());
    Json(json!({ "id": id })).into_response()
}

async fn hs_create(
    State(crm): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    crm.log("POST", "/crm/v3/objects/contacts", &headers, body.clone());
    let id = format!("{}", 900 + crm.records.lock().unwrap().len());
    crm.upsert(&id, body["properties"].as_object().unwrap());
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

async fn sf_query(
    State(crm): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let soql = q.get("q").cloned().unwrap_or_default();
    crm.log("GET", "/services/data/v60.0/query", &headers, json!(soql));
    // SELECT Id FROM Contact WHERE <Field> = '<value>' LIMIT 1
    let after_where = soql.split(" WHERE ").nth(1).unwrap_or_default();
    let (field, rest) = after_where.split_once(" = '").unwrap_or_default();
    let value = rest
        .rsplit_once("' LIMIT")
        .map(|(v, _)| v)
        .unwrap_or_default();
    let records: Vec<Value> = crm
        .find(field, value)
        .into_iter()
        .map(|id| json!({ "attributes": { "type": "Contact" }, "Id": id }))
        .collect();
    Json(json!({ "totalSize": records.len(), "done": true, "records": records })).into_response()
}

async fn sf_update(
    State(crm): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    crm.log(
        "PATCH",
        &format!("/services/data/v60.0/sobjects/Contact/{id}"),
        &headers,
        body.clone(),
    );
    crm.upsert(&id, body.as_object().unwrap());
    StatusCode::NO_CONTENT.into_response()
}

async fn sf_create(
    State(crm): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    crm.log(
        "POST",
        "/services/data/v60.0/sobjects/Contact",
        &headers,
        body.clone(),
    );
    let id = format!("003NEW{}", crm.records.lock().unwrap().len());
    crm.upsert(&id, body.as_object().unwrap());
    (
        StatusCode::CREATED,
        Json(json!({ "id": id, "success": true, "errors": [] })),
    )
        .into_response()
}

async fn start(crm: Shared) -> String {
    let app = axum::Router::new()
        .route("/crm/v3/objects/contacts/search", post(hs_search))
        .route(
            "/crm/v3/objects/contacts/{id}",
            axum::routing::get(hs_get).patch(hs_update),
        )
        .route("/crm/v3/objects/contacts", post(hs_create))
        .route("/services/data/v60.0/query", axum::routing::get(sf_query))
        .route(
            "/services/data/v60.0/sobjects/Contact/{id}",
            patch(sf_update),
        )
        .route("/services/data/v60.0/sobjects/Contact", post(sf_create))
        .with_state(crm);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

const CONNECT: &str = "mutation($crm: Crm!, $url: String!, $token: String!) {
  connectCrm(crm: $crm, baseUrl: $url, accessToken: $token) { id kind } }";

fn props(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

#[rstest]
#[tokio::test]
async fn crms_update_the_matched_record_and_never_duplicate(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start_on(
        TestDb::new(backend).await,
        &["--dispatch-interval-ms", "100", "--allow-private-targets"],
    )
    .await;
    let admin = server.create_user("ann", "ADMIN", None);
    let hubspot: Shared = Arc::default();
    let salesforce: Shared = Arc::default();
    hubspot.upsert(
        "101",
        &props(&[("email", "old@example.com"), ("firstname", "Olga")]),
    );
    salesforce.upsert(
        "003A",
        &props(&[("Email", "old@example.com"), ("LastName", "Old")]),
    );
    *hubspot.throttle_next.lock().unwrap() = true;
    let hubspot_url = start(hubspot.clone()).await;
    let salesforce_url = start(salesforce.clone()).await;
    server
        .data(
            &admin,
            CONNECT,
            json!({ "crm": "HUBSPOT", "url": hubspot_url, "token": "hs-token" }),
        )
        .await;
    server
        .data(
            &admin,
            CONNECT,
            json!({ "crm": "SALESFORCE", "url": salesforce_url, "token": "sf-token" }),
        )
        .await;

    let known = create(
        &server,
        &admin,
        json!({ "firstName": "Olga", "lastName": "Berg", "email": "old@example.com" }),
    )
    .await;
    let unknown = create(&server, &admin, json!({ "email": "fresh@example.com" })).await;
    assert!(
        hubspot.requests.lock().unwrap().is_empty(),
        "creations are not pushed to CRMs"
    );

    server
        .data(&admin, UPDATE, json!({ "id": known["id"], "input": { "email": "new@example.com", "mobilePhone": "+14155550123" } }))
        .await;
    server
        .data(
            &admin,
            UPDATE,
            json!({ "id": unknown["id"], "input": { "mobilePhone": "+14155550124" } }),
        )
        .await;

    let done = |crm: &Shared| {
        crm.records.lock().unwrap().len() >= 2
            && crm.requests.lock().unwrap().iter().any(|r| r.0 == "PATCH")
    };
    wait_until(
        Duration::from_secs(20),
        || done(&hubspot) && done(&salesforce),
        |ready| *ready,
    )
    .await;

    let records = hubspot.records.lock().unwrap().clone();
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0].0, "101");
    assert_eq!(records[0].1["email"], "new@example.com");
    assert_eq!(records[0].1["mobilephone"], "+14155550123");
    assert_eq!(records[1].1["email"], "fresh@example.com");
    let requests = hubspot.requests.lock().unwrap().clone();
    assert!(requests.iter().all(|r| r.2 == "Bearer hs-token"));
    let patch = requests.iter().find(|r| r.0 == "PATCH").unwrap();
    assert_eq!(patch.1, "/crm/v3/objects/contacts/101");
    assert_eq!(
        patch.3,
        json!({ "properties": { "email": "new@example.com", "mobilephone": "+14155550123", "firstname": "Olga", "lastname": "Berg" } })
    );
    // The old email is read by id property (no search-index lag), twice:
    // once throttled with Retry-After, once answered.
    let by_email: Vec<_> = requests
        .iter()
        .filter(|r| {
            r.0 == "GET" && r.1 == "/crm/v3/objects/contacts/old@example.com?idProperty=email"
        })
        .collect();
    assert_eq!(by_email.len(), 2, "{requests:#?}");
    // Phones are found through search.
    assert!(requests.iter().any(|r| r.1 == "/crm/v3/objects/contacts/search"
        && r.3["filterGroups"][0]["filters"][0]
            == json!({ "propertyName": "mobilephone", "operator": "EQ", "value": "+14155550124" })));
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.1 == "/crm/v3/objects/contacts")
            .count(),
        1,
        "one creation, for the unknown contact"
    );

    let records = salesforce.records.lock().unwrap().clone();
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0].1["Email"], "new@example.com");
    assert_eq!(records[0].1["MobilePhone"], "+14155550123");
    assert_eq!(records[1].1["LastName"], "[not provided]");
    let requests = salesforce.requests.lock().unwrap().clone();
    assert!(
        requests
            .iter()
            .any(|r| r.3 == json!("SELECT Id FROM Contact WHERE Email = 'old@example.com' LIMIT 1"))
    );
    assert!(
        requests
            .iter()
            .any(|r| r.0 == "PATCH" && r.1 == "/services/data/v60.0/sobjects/Contact/003A")
    );
    assert!(requests.iter().all(|r| r.2 == "Bearer sf-token"));

    // A removed phone is cleared in the CRMs too.
    server
        .data(
            &admin,
            UPDATE,
            json!({ "id": known["id"], "input": { "mobilePhone": null } }),
        )
        .await;
    let cleared = |crm: &Shared, field: &str, value: Value| {
        crm.records
            .lock()
            .unwrap()
            .iter()
            .any(|(_, props)| props.get(field) == Some(&value))
    };
    wait_until(
        Duration::from_secs(20),
        || {
            cleared(&hubspot, "mobilephone", json!(""))
                && cleared(&salesforce, "MobilePhone", Value::Null)
        },
        |ready| *ready,
    )
    .await;
    assert!(cleared(&hubspot, "mobilephone", json!("")));
    assert!(cleared(&salesforce, "MobilePhone", Value::Null));

    // Deleting a contact is an independent action: CRMs hear nothing.
    let before = (
        hubspot.requests.lock().unwrap().len(),
        salesforce.requests.lock().unwrap().len(),
    );
    server
        .data(&admin, DELETE, json!({ "id": known["id"] }))
        .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let after = (
        hubspot.requests.lock().unwrap().len(),
        salesforce.requests.lock().unwrap().len(),
    );
    assert_eq!(before, after);
}

/// Issue 20: an undone merge gives the survivor's email back in the CRM
/// too, the restored contact claims its own there only after, and
/// webhooks hear `contact.restored`.
#[rstest]
#[tokio::test]
async fn an_undone_merge_gives_the_crm_record_its_email_back(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start_on(
        TestDb::new(backend).await,
        &["--dispatch-interval-ms", "100", "--allow-private-targets"],
    )
    .await;
    let admin = server.create_user("ann", "ADMIN", None);
    let hubspot: Shared = Arc::default();
    hubspot.upsert(
        "201",
        &props(&[("email", "bo@example.com"), ("firstname", "Bo")]),
    );
    let hubspot_url = start(hubspot.clone()).await;
    server
        .data(
            &admin,
            CONNECT,
            json!({ "crm": "HUBSPOT", "url": hubspot_url, "token": "hs-token" }),
        )
        .await;
    let receiver = crate::webhooks::Receiver::start(Vec::new()).await;
    server
        .data(
            &admin,
            "mutation($url: String!) { connectWebhook(targetUrl: $url,
               events: [CONTACT_MERGED, CONTACT_UPDATED, CONTACT_RESTORED]) { signingSecret } }",
            json!({ "url": receiver.url }),
        )
        .await;
    let ada = create(
        &server,
        &admin,
        json!({ "firstName": "Ada", "email": "ada@example.com" }),
    )
    .await;
    let bo = create(
        &server,
        &admin,
        json!({ "firstName": "Bo", "email": "bo@example.com" }),
    )
    .await;

    // Bo takes Ada's email in the merge: the CRM record follows.
    server
        .data(
            &admin,
            "mutation($s: ID!, $m: ID!) { mergeContacts(survivorId: $s, mergedId: $m, confirm: true) { contact { email } } }",
            json!({ "s": bo["id"], "m": ada["id"] }),
        )
        .await;
    let email_of_201 = || {
        hubspot
            .records
            .lock()
            .unwrap()
            .iter()
            .find(|(id, _)| id == "201")
            .and_then(|(_, props)| props.get("email").cloned())
    };
    let merged = wait_until(Duration::from_secs(20), email_of_201, |email| {
        *email == Some(json!("ada@example.com"))
    })
    .await;
    assert_eq!(merged, Some(json!("ada@example.com")));

    let merge = server
        .data(
            &admin,
            "query($id: ID!) { contact(id: $id) { merges { edges { node { id } } } } }",
            json!({ "id": bo["id"] }),
        )
        .await["contact"]["merges"]["edges"][0]["node"]["id"]
        .clone();
    server
        .data(
            &admin,
            "mutation($id: ID!) { undoMerge(id: $id) { restored { id } } }",
            json!({ "id": merge }),
        )
        .await;

    // The record goes back to Bo's email; Ada's comes back as her own.
    let ada_record = || hubspot.find("email", "ada@example.com");
    let found = wait_until(
        Duration::from_secs(20),
        || (email_of_201(), ada_record()),
        |(email, ada)| *email == Some(json!("bo@example.com")) && ada.is_some(),
    )
    .await;
    assert_eq!(
        found.0,
        Some(json!("bo@example.com")),
        "{:?}",
        hubspot.records.lock().unwrap()
    );
    assert_ne!(found.1.as_deref(), Some("201"));
    assert_eq!(hubspot.records.lock().unwrap().len(), 2);

    let restored = wait_until(
        Duration::from_secs(20),
        || {
            receiver
                .accepted()
                .into_iter()
                .find(|(_, body, _)| body["type"] == "contact.restored")
        },
        Option::is_some,
    )
    .await
    .expect("a contact.restored event");
    assert_eq!(restored.1["data"]["contact"]["id"], ada["id"]);
    assert_eq!(restored.1["data"]["contact"]["email"], "ada@example.com");
}
