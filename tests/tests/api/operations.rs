//! What operators run the server with: `/metrics` for Prometheus, request
//! ids in answers and logs, and a SIGTERM that hands work over.

use reqwest::StatusCode;
use rstest::rstest;
use serde_json::json;

use crate::support::*;

/// `GET /metrics` with `token`, parsed as Prometheus parses it.
pub async fn scrape(server: &TestServer, token: &str) -> prometheus_parse::Scrape {
    let response = server
        .http()
        .get(format!("{}/metrics", server.base_url))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.expect("metrics text");
    let lines = text.lines().map(|line| Ok(line.to_owned()));
    prometheus_parse::Scrape::parse(lines).expect("the Prometheus text format")
}

/// The value of `name` with every label of `labels`, if the scrape has it.
pub fn value(
    scrape: &prometheus_parse::Scrape,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|sample| {
            sample.metric == name
                && labels
                    .iter()
                    .all(|(key, want)| sample.labels.get(key) == Some(*want))
        })
        .and_then(|sample| match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => Some(v),
            _ => None,
        })
}

#[rstest]
#[tokio::test]
async fn metrics_are_for_admins_in_the_prometheus_format(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let member = server.create_user("mo", "MEMBER", None);

    let anonymous = server
        .http()
        .get(format!("{}/metrics", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let forbidden = server
        .http()
        .get(format!("{}/metrics", server.base_url))
        .bearer_auth(&member)
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);

    for _ in 0..3 {
        server
            .data(&member, "query Me { me { name } }", json!({}))
            .await;
    }
    let (_, body) = server
        .post(&member, "query Bad { nosuch }", json!({}))
        .await;
    assert_eq!(error_codes(&body), ["BAD_REQUEST"]);
    create(&server, &admin, json!({ "email": "a@example.com" })).await;
    let csv = "Email,First Name\nb@example.com,B\nc@example.com,C\nnot an email,D\n";
    let job =
        crate::import_jobs::start_job(&server, &admin, csv.as_bytes(), false, json!([])).await;
    crate::import_jobs::finished(&server, &admin, &job).await;

    let scrape = scrape(&server, &admin).await;
    assert_eq!(
        value(
            &scrape,
            "contacts_http_requests_total",
            &[("operation", "Me"), ("outcome", "ok")]
        ),
        Some(3.0)
    );
    assert_eq!(
        value(
            &scrape,
            "contacts_http_requests_total",
            &[("operation", "Bad"), ("outcome", "BAD_REQUEST")]
        ),
        Some(1.0)
    );
    let histogram = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "contacts_http_request_duration_seconds"
                && s.labels.get("operation") == Some("Me")
        })
        .expect("a latency histogram for Me");
    match &histogram.value {
        prometheus_parse::Value::Histogram(buckets) => {
            let all = buckets.last().expect("buckets");
            assert_eq!(all.count, 3.0, "{buckets:?}");
        }
        other => panic!("not a histogram: {other:?}"),
    }
    assert!(value(&scrape, "contacts_db_statements_total", &[]).unwrap_or(0.0) > 0.0);
    assert!(
        value(
            &scrape,
            "contacts_db_pool_connections",
            &[("state", "idle")]
        )
        .is_some(),
        "pool use"
    );
    assert_eq!(
        value(
            &scrape,
            "contacts_import_rows_total",
            &[("outcome", "created")]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &scrape,
            "contacts_import_rows_total",
            &[("outcome", "failed")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &scrape,
            "contacts_outbox_deliveries",
            &[("status", "pending")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(&scrape, "contacts_outbox_deliveries", &[("status", "dead")]),
        Some(0.0)
    );
}

#[rstest]
#[tokio::test]
async fn every_request_has_an_id_in_its_answer_and_its_log_lines(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let (server, logs) =
        TestServer::start_logged(TestDb::new(backend).await, &[], "info,tower_http=debug").await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ask = |id: Option<&str>| {
        let mut request = server
            .http()
            .post(server.graphql_url())
            .bearer_auth(&admin)
            .json(&json!({ "query": "{ me { name } }" }));
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        request.send()
    };
    let kept = ask(Some("trace-4f2a.9:b_c")).await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "trace-4f2a.9:b_c");
    let made = ask(None).await.unwrap();
    let made = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made.len(), 36, "a UUID: {made}");
    let long = "x".repeat(200);
    let replaced = ask(Some(&long)).await.unwrap();
    let replaced = replaced.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(replaced.len(), 36, "an unfit id is replaced: {replaced}");

    for id in ["trace-4f2a.9:b_c", made.as_str()] {
        let line = logs
            .wait_for(
                &[id, "finished processing request"],
                std::time::Duration::from_secs(5),
            )
            .await;
        assert!(line.is_some(), "no log line with {id}: {:?}", logs.lines());
    }
    assert!(
        logs.lines().iter().all(|line| !line.contains(&long)),
        "an unfit id never reaches the log"
    );
}

/// A CSV of `rows` new contacts.
fn many_rows(rows: usize) -> Vec<u8> {
    let mut csv = String::from("Email,First Name\n");
    for i in 0..rows {
        csv.push_str(&format!("handover{i}@example.com,H{i}\n"));
    }
    csv.into_bytes()
}

/// Waits until the job has committed some batches but not all.
async fn running(server: &TestServer, token: &str, job: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let data = server
            .data(
                token,
                "query($id: ID!) { importJob(id: $id) { status rowsRead } }",
                json!({ "id": job }),
            )
            .await;
        let status = &data["importJob"]["status"];
        assert_ne!(
            status, "SUCCEEDED",
            "the job ended before the signal: {data}"
        );
        if status == "RUNNING" && data["importJob"]["rowsRead"].as_u64().unwrap_or(0) > 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the job never ran: {data}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[rstest]
#[tokio::test]
async fn sigterm_hands_a_running_import_to_another_process_at_once(
    #[values(Backend::Postgres)] backend: Backend,
) {
    // A lease far longer than the test: only a job given back is taken
    // over in time.
    let lease = ["--import-lease-secs", "300", "--delivery-lease-secs", "300"];
    let (mut first, logs) =
        TestServer::start_logged(TestDb::new(backend).await, &lease, "info").await;
    let admin = first.create_user("ann", "ADMIN", None);
    let rows = 60_000;
    let job =
        crate::import_jobs::start_job(&first, &admin, &many_rows(rows), false, json!([])).await;
    running(&first, &admin, &job).await;

    let second = TestServer::start_on(TestDb::borrowed(&first.db.url), &lease).await;
    let signalled = std::time::Instant::now();
    let status = first
        .signal_and_wait("TERM", std::time::Duration::from_secs(40))
        .expect("the server exits after SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    assert!(
        logs.lines()
            .iter()
            .any(|l| l.contains("import job given back at shutdown")),
        "{:?}",
        logs.lines()
    );
    assert!(
        logs.lines().iter().all(|l| !l.contains("panicked")),
        "{:?}",
        logs.lines()
    );

    let done = crate::import_jobs::finished(&second, &admin, &job).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert!(
        signalled.elapsed() < std::time::Duration::from_secs(100),
        "taken over after {:?}, as if the lease had to lapse",
        signalled.elapsed()
    );
    assert_eq!(done["failed"], 0, "{done}");
    assert_eq!(
        done["created"].as_u64().unwrap() + done["unchanged"].as_u64().unwrap(),
        rows as u64,
        "{done}"
    );
    assert_eq!(
        visible_count(&second, &admin).await,
        rows as u64,
        "nothing doubled"
    );
}

#[rstest]
#[tokio::test]
async fn ctrl_c_during_an_import_exits_cleanly_and_the_next_start_resumes_at_once(
    #[values(Backend::Sqlite)] backend: Backend,
) {
    let lease = ["--import-lease-secs", "300"];
    let (mut first, logs) =
        TestServer::start_logged(TestDb::new(backend).await, &lease, "info").await;
    let admin = first.create_user("ann", "ADMIN", None);
    let rows = 60_000;
    let job =
        crate::import_jobs::start_job(&first, &admin, &many_rows(rows), false, json!([])).await;
    running(&first, &admin, &job).await;
    let status = first
        .signal_and_wait("INT", std::time::Duration::from_secs(40))
        .expect("the server exits after Ctrl-C");
    assert!(status.success(), "exit status {status:?}");
    assert!(
        logs.lines().iter().all(|l| !l.contains("panicked")),
        "{:?}",
        logs.lines()
    );
    let url = first.db.url.clone();
    let second = TestServer::start_on(TestDb::borrowed(&url), &lease).await;
    let started = std::time::Instant::now();
    let done = crate::import_jobs::finished(&second, &admin, &job).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert!(started.elapsed() < std::time::Duration::from_secs(100));
    assert_eq!(visible_count(&second, &admin).await, rows as u64);
    drop(first);
}
