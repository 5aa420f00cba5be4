//! GraphQL over HTTP: methods, media types, status codes, GraphiQL, health.

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::*;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

#[rstest]
#[tokio::test]
async fn get_runs_queries_but_not_mutations(#[values(Backend::Sqlite)] backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let response = server
        .http()
        .get(server.graphql_url())
        .bearer_auth(&admin)
        .query(&[("query", "{ me { name role } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["data"]["me"],
        json!({ "name": "ann", "role": "ADMIN" })
    );

    let response = server
        .http()
        .get(server.graphql_url())
        .bearer_auth(&admin)
        .query(&[(
            "query",
            "mutation { deleteContact(id: \"Q29udGFjdDox\") { deletedContactId } }",
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
}

#[rstest]
#[tokio::test]
async fn graphql_response_json_is_honoured(#[values(Backend::Sqlite)] backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let post = |query: &'static str| {
        server
            .http()
            .post(server.graphql_url())
            .bearer_auth(&admin)
            .header("accept", GRAPHQL_RESPONSE)
            .json(&json!({ "query": query }))
            .send()
    };
    let ok = post("{ me { name } }").await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()[CONTENT_TYPE], GRAPHQL_RESPONSE);

    let invalid = post("{ me { nosuchfield } }").await.unwrap();
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    assert_eq!(invalid.headers()[CONTENT_TYPE], GRAPHQL_RESPONSE);

    let unparsable = post("{ me { ").await.unwrap();
    assert_eq!(unparsable.status(), StatusCode::BAD_REQUEST);

    // A field error is still a 200: the request ran.
    let field_error = post("{ contact(id: \"garbage\") { id } }").await.unwrap();
    assert_eq!(field_error.status(), StatusCode::OK);

    let not_acceptable = server
        .http()
        .post(server.graphql_url())
        .bearer_auth(&admin)
        .header("accept", "text/csv")
        .json(&json!({ "query": "{ me { name } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(not_acceptable.status(), StatusCode::NOT_ACCEPTABLE);
}

#[rstest]
#[tokio::test]
async fn batches_are_bounded(#[values(Backend::Sqlite)] backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let batch = |n: usize| {
        let ops: Vec<Value> = (0..n)
            .map(|_| json!({ "query": "{ me { name } }" }))
            .collect();
        server
            .http()
            .post(server.graphql_url())
            .bearer_auth(&admin)
            .json(&ops)
            .send()
    };
    let two: Value = batch(2).await.unwrap().json().await.unwrap();
    assert_eq!(two.as_array().unwrap().len(), 2);
    assert_eq!(batch(11).await.unwrap().status(), StatusCode::BAD_REQUEST);
}

#[rstest]
#[tokio::test]
async fn graphiql_healthz_and_content_types(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let page = server
        .http()
        .get(server.graphql_url())
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );

    let health = server
        .http()
        .get(format!("{}/healthz", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    let plain_graphql = server
        .http()
        .post(server.graphql_url())
        .bearer_auth(&admin)
        .header("content-type", "application/graphql")
        .body("{ me { name } }")
        .send()
        .await
        .unwrap();
    let body: Value = plain_graphql.json().await.unwrap();
    assert_eq!(body["data"]["me"]["name"], "ann");

    let form = server
        .http()
        .post(server.graphql_url())
        .bearer_auth(&admin)
        .header("content-type", "text/plain")
        .body("{ me { name } }")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

/// The exact versions the GraphiQL page loads; a bump is a change of this
/// list, the page and its hashes together (server/benches/scripts/graphiql_pins.sh).
const GRAPHIQL_PINS: [&str; 3] = ["graphiql@4.1.2", "react@18.3.1", "react-dom@18.3.1"];
const CDN: &str = "https://cdn.jsdelivr.net/npm/";

/// The value of `name="..."` in one tag's text.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

/// Every tag of the page (comments left out), as the text between `<` and `>`.
fn tags(page: &str) -> Vec<&str> {
    let mut tags = Vec::new();
    let mut rest = page;
    while let Some(open) = rest.find('<') {
        rest = &rest[open..];
        let end = if rest.starts_with("<!--") {
            rest.find("-->").map(|i| i + 3)
        } else {
            let end = rest.find('>').map(|i| i + 1);
            tags.extend(end.map(|end| &rest[..end]));
            end
        };
        rest = &rest[end.unwrap_or(rest.len())..];
    }
    tags
}

#[rstest]
#[tokio::test]
async fn graphiql_loads_pinned_assets_with_integrity(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    use base64::Engine;

    let server = TestServer::start(backend).await;
    let response = server
        .http()
        .get(server.graphql_url())
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();

    let mut loaded = Vec::new();
    for tag in tags(&page) {
        let Some(url) = attribute(tag, "src").or_else(|| attribute(tag, "href")) else {
            continue;
        };
        // Nothing is loaded from anywhere but the one pinned CDN.
        let path = url
            .strip_prefix(CDN)
            .unwrap_or_else(|| panic!("{url} is not on {CDN}: {tag}"));
        let spec = path.split('/').next().unwrap();
        let (package, version) = spec.rsplit_once('@').unwrap();
        assert!(
            version.split('.').count() == 3 && version.split('.').all(|n| n.parse::<u32>().is_ok()),
            "{url} names no exact version of {package}"
        );
        let integrity =
            attribute(tag, "integrity").unwrap_or_else(|| panic!("no integrity: {tag}"));
        let hash = integrity
            .strip_prefix("sha384-")
            .unwrap_or_else(|| panic!("not a sha384 hash: {tag}"));
        let digest = base64::engine::general_purpose::STANDARD
            .decode(hash)
            .unwrap_or_else(|err| panic!("{hash} is not base64 ({err}): {tag}"));
        assert_eq!(digest.len(), 48, "{tag}");
        assert_eq!(attribute(tag, "crossorigin"), Some("anonymous"), "{tag}");
        loaded.push(spec.to_owned());
    }
    loaded.sort();
    loaded.dedup();
    let mut pins = GRAPHIQL_PINS.map(str::to_owned).to_vec();
    pins.sort();
    assert_eq!(loaded, pins, "the page loads other versions than the pins");

    // The headers tab takes the bearer token, and keeps it out of storage.
    assert!(page.contains("isHeadersEditorEnabled: true"));
    assert!(page.contains("shouldPersistHeaders: false"));
}
