//! What standard GraphQL clients and tools send first: the introspection
//! query of graphql-js (GraphiQL, graphql-codegen, IDEs) and automatic
//! persisted queries (Apollo Client, urql, Relay setups).

use reqwest::StatusCode;
use rstest::rstest;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::*;

const INTROSPECTION: &str = include_str!("../../fixtures/introspection-graphql-js-16.graphql");

#[rstest]
#[tokio::test]
async fn the_introspection_query_graphiql_sends_is_answered_whole(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let viewer = server.create_user("vic", "VIEWER", None);
    let response = server
        .http()
        .post(server.graphql_url())
        .bearer_auth(&viewer)
        .header(
            "accept",
            "application/graphql-response+json, application/json",
        )
        .json(&json!({ "query": INTROSPECTION, "operationName": "IntrospectionQuery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    let schema = &body["data"]["__schema"];
    assert_eq!(schema["queryType"]["name"], "Query");
    assert_eq!(schema["mutationType"]["name"], "Mutation");
    let types = schema["types"].as_array().unwrap();
    let contact = types
        .iter()
        .find(|t| t["name"] == "Contact")
        .expect("the Contact type");
    assert!(
        contact["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "email"),
        "{contact}"
    );
    assert!(types.iter().any(|t| t["name"] == "__Schema"));
    assert!(
        !schema["directives"].as_array().unwrap().is_empty(),
        "the directives too"
    );
    // The nine ofType levels of TypeRef were answered, not cut.
    let deepest = INTROSPECTION.matches("ofType").count();
    assert!(deepest >= 9, "the fixture nests {deepest} levels");
}

fn hash_of(query: &str) -> String {
    hex::encode(Sha256::digest(query.as_bytes()))
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

#[rstest]
#[tokio::test]
async fn persisted_queries_run_by_hash_once_known(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let query = "query Who { me { name } }";
    let hash = hash_of(query);
    let post = |body: Value| {
        server
            .http()
            .post(server.graphql_url())
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };

    let unknown: Value = post(json!({ "extensions": persisted(&hash) }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        error_codes(&unknown),
        ["PERSISTED_QUERY_NOT_FOUND"],
        "{unknown}"
    );
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");

    let both: Value = post(json!({ "query": query, "extensions": persisted(&hash) }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(both["data"]["me"]["name"], "ann", "{both}");

    let by_hash: Value = post(json!({ "extensions": persisted(&hash) }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_hash["data"]["me"]["name"], "ann", "{by_hash}");

    // Over GET too, as Apollo Client sends hashed queries.
    let got: Value = server
        .http()
        .get(server.graphql_url())
        .bearer_auth(&admin)
        .query(&[("extensions", persisted(&hash).to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["data"]["me"]["name"], "ann", "{got}");

    let lying: Value = post(json!({ "query": "{ me { id } }", "extensions": persisted(&hash) }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_codes(&lying), ["BAD_REQUEST"], "{lying}");

    // A persisted mutation is still refused over GET.
    let mutation = "mutation Bye { deleteContact(id: \"Q29udGFjdDox\") { deletedContactId } }";
    let persist: Value =
        post(json!({ "query": mutation, "extensions": persisted(&hash_of(mutation)) }))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert!(
        persist.get("errors").is_some(),
        "no such contact: {persist}"
    );
    let over_get = server
        .http()
        .get(server.graphql_url())
        .bearer_auth(&admin)
        .query(&[("extensions", persisted(&hash_of(mutation)).to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(over_get.status(), StatusCode::METHOD_NOT_ALLOWED);
}
