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
