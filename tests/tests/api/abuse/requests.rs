//! A caller who asks too often, uploads what it may not or oversized
//! parts, or forges ids: refused with a clear error before the work.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use rstest::rstest;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

#[rstest]
#[tokio::test]
async fn a_caller_over_its_rate_gets_429_and_others_do_not(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start_on(TestDb::new(backend).await, &["--rate-limit", "5"]).await;
    let ann = server.create_user("ann", "ADMIN", None);
    let bob = server.create_user("bob", "ADMIN", None);
    let ask = |token: Option<&str>| {
        let mut request = server
            .http()
            .post(server.graphql_url())
            .json(&json!({ "query": "{ me { name } }" }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    // Ann's first request is counted by address (her token is not known
    // yet), the next five by token.
    assert_eq!(ask(Some(&ann)).await.unwrap().status(), StatusCode::OK);
    let mut remaining = Vec::new();
    for _ in 0..5 {
        let response = ask(Some(&ann)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["ratelimit-limit"], "5");
        remaining.push(
            response.headers()["ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(remaining, ["4", "3", "2", "1", "0"]);
    let refused = ask(Some(&ann)).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&retry), "retry after {retry} s");
    assert_eq!(refused.headers()["ratelimit-remaining"], "0");
    let reset: u64 = refused.headers()["ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&reset), "reset in {reset} s");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(error_codes(&body), ["RATE_LIMITED"], "{body}");

    // Bob is counted apart from Ann.
    assert_eq!(ask(Some(&bob)).await.unwrap().status(), StatusCode::OK);

    // Without a token, by client address: ann's and bob's first requests
    // spent two of its five.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(ask(None).await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
    // /healthz is never limited.
    for _ in 0..10 {
        let health = reqwest::get(format!("{}/healthz", server.base_url))
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
    }
}

/// A raw multipart upload whose file part never ends: the answer must
/// come before the file is read.
#[rstest]
#[tokio::test]
async fn a_role_that_cannot_import_is_refused_before_its_file_is_read(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let viewer = server.create_user("vic", "VIEWER", None);
    let address = server.base_url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {viewer}\r\n\
         Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: 500000000\r\n\r\n\
         --XX\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n\
         {{\"query\":\"mutation($f: Upload!) {{ importContacts(file: $f) {{ id }} }}\",\"variables\":{{\"f\":null}}}}\r\n\
         --XX\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{\"0\":[\"variables.f\"]}}\r\n\
         --XX\r\nContent-Disposition: form-data; name=\"0\"; filename=\"a.csv\"\r\n\r\nemail\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered without the file")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("FORBIDDEN"), "{answer}");
}

#[rstest]
#[tokio::test]
async fn multipart_text_parts_share_the_body_limit(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let member = server.create_user("mo", "MEMBER", None);
    let baseline = server.peak_rss_kib();
    let probe = server.probe_health();
    // Twelve concurrent uploads whose `operations` part is 40 MB: each is
    // refused at the 1 MiB body limit, none is buffered whole.
    let operations = format!(
        "{{\"query\":\"mutation($f: Upload!) {{ importContacts(file: $f) {{ id }} }}\",\"variables\":{{\"f\":null}},\"pad\":\"{}\"}}",
        "x".repeat(40 * 1024 * 1024)
    );
    let mut uploads = Vec::new();
    for _ in 0..12 {
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.clone())
            .text("map", r#"{"0":["variables.f"]}"#)
            .part(
                "0",
                reqwest::multipart::Part::bytes(b"email\na@example.com\n".to_vec())
                    .file_name("a.csv"),
            );
        uploads.push(
            server
                .http()
                .post(server.graphql_url())
                .bearer_auth(&member)
                .multipart(form)
                .send(),
        );
    }
    // The server answers before reading the rest; the client may see the
    // 413 or a connection it closed.
    for response in futures_util::future::join_all(uploads)
        .await
        .into_iter()
        .flatten()
    {
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    probe.finish(Duration::from_secs(2)).await;
    let grown = server.peak_rss_kib().saturating_sub(baseline);
    assert!(grown < 64 * 1024, "the server grew by {grown} KiB");
    let data = server
        .data(&member, "{ importJobs { totalCount } }", json!({}))
        .await;
    assert_eq!(data["importJobs"]["totalCount"], 0, "nothing was queued");
}

fn raw_id(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

#[rstest]
#[tokio::test]
async fn ids_are_canonical_and_the_bearer_scheme_any_case(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    create(&server, &admin, json!({ "email": "one@example.com" })).await;
    let two = create(&server, &admin, json!({ "email": "two@example.com" })).await;
    assert_eq!(two["id"], raw_id("Contact:2"));
    for forged in ["Contact:+2", "Contact:0002", "Contact:2 ", "Contact: 2"] {
        let (status, body) = server
            .post(&admin, GET, json!({ "id": raw_id(forged) }))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(error_codes(&body), ["VALIDATION"], "{forged}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "id");
    }
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response = server
            .http()
            .post(server.graphql_url())
            .header("authorization", format!("{scheme} {admin}"))
            .json(&json!({ "query": "{ me { name } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
    }
}
