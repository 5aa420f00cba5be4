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
