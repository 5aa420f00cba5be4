//! Documents that cost the server far more than they cost to send: refused
//! before any of them runs, while `/healthz` keeps answering.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rstest::rstest;
use serde_json::json;

use contacts_server::graphql::cost::doubling_fragments;

use crate::support::*;

fn refused_before_running(status: StatusCode, body: &serde_json::Value, words: &str) {
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(error_codes(body), ["BAD_REQUEST"], "{body}");
    assert!(body.get("data").is_none(), "nothing ran: {body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(words), "{message}");
}

#[rstest]
#[tokio::test]
async fn doubling_fragments_are_refused_at_once(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let viewer = server.create_user("vic", "VIEWER", None);
    let probe = server.probe_health();
    for levels in [25, 30] {
        let document = doubling_fragments(levels);
        assert!(document.len() < 1200, "about 1 KB: {}", document.len());
        let started = Instant::now();
        let (status, body) = server.post(&viewer, &document, json!({})).await;
        refused_before_running(status, &body, "expands to more than 5000 fields");
        // Minutes of CPU before; a refusal now. Generous for a loaded CI.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
    probe.finish(Duration::from_secs(2)).await;
}

#[rstest]
#[tokio::test]
async fn a_thousand_counted_searches_are_refused_before_any_runs(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    create(&server, &admin, json!({ "email": "zz1@example.com" })).await;
    let aliases: String = (0..1000)
        .map(|i| {
            format!("a{i}: contacts(first: 0, filter: {{search: \"zz{i}\"}}) {{ totalCount }} ")
        })
        .collect();
    let document = format!("{{ {aliases} }}");
    assert!(document.len() > 50_000, "the 58 KB document of the report");
    let probe = server.probe_health();
    let (status, body) = server.post(&admin, &document, json!({})).await;
    refused_before_running(status, &body, "costs more than 5000");
    // Five counted searches fit; what a client needs still runs.
    let five: String = (0..4)
        .map(|i| {
            format!("a{i}: contacts(first: 1, filter: {{search: \"zz{i}\"}}) {{ totalCount }} ")
        })
        .collect();
    let data = server
        .data(&admin, &format!("{{ {five} }}"), json!({}))
        .await;
    assert_eq!(data["a1"]["totalCount"], 1);
    probe.finish(Duration::from_secs(2)).await;
}

#[rstest]
#[tokio::test]
async fn one_error_report_a_request(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let member = server.create_user("mo", "MEMBER", None);
    let id = "SW1wb3J0Sm9iOjE"; // ImportJob:1
    // Twenty cost more than a request may; two are one too many.
    let aliases: String = (0..20)
        .map(|i| format!("r{i}: importJob(id: \"{id}\") {{ errorReport }} "))
        .collect();
    let (status, body) = server
        .post(&member, &format!("{{ {aliases} }}"), json!({}))
        .await;
    refused_before_running(status, &body, "costs more than 5000");
    let (status, body) = server
        .post(
            &member,
            &format!("{{ a: importJob(id: \"{id}\") {{ errorReport }} b: importJob(id: \"{id}\") {{ errorReport }} }}"),
            json!({}),
        )
        .await;
    refused_before_running(status, &body, "one errorReport");
    // Through a fragment spread twice, too.
    let (status, body) = server
        .post(
            &member,
            &format!(
                "{{ a: importJob(id: \"{id}\") {{ ...R }} b: importJob(id: \"{id}\") {{ ...R }} }} \
                 fragment R on ImportJob {{ errorReport }}"
            ),
            json!({}),
        )
        .await;
    refused_before_running(status, &body, "one errorReport");
}

#[rstest]
#[tokio::test]
async fn a_deep_query_is_refused_and_the_limits_are_flags(
    #[values(Backend::Sqlite)] backend: Backend,
) {
    let server = TestServer::start_on(
        TestDb::new(backend).await,
        &["--max-query-depth", "3", "--max-query-cost", "40"],
    )
    .await;
    let admin = server.create_user("ann", "ADMIN", None);
    let (status, body) = server
        .post(&admin, "{ me { teams { id name } } }", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    let (status, body) = server
        .post(
            &admin,
            "{ contacts(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    refused_before_running(status, &body, "nested 4 fields deep; the limit is 3");
    let (status, body) = server
        .post(
            &admin,
            "{ contacts(first: 50) { edges { cursor } } }",
            json!({}),
        )
        .await;
    refused_before_running(status, &body, "costs more than 40");
}
