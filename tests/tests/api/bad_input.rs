//! Bad input gets a clear error naming the field and changes nothing.

use reqwest::StatusCode;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::*;

#[rstest]
#[tokio::test]
async fn invalid_fields_are_named_and_nothing_is_written(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let cases = [
        (json!({ "email": "not-an-email" }), "email"),
        (json!({ "email": "ann@localhost" }), "email"),
        (
            json!({ "email": format!("{}@example.com", "a".repeat(260)) }),
            "email",
        ),
        (json!({ "mobilePhone": "12" }), "mobilePhone"),
        (json!({ "mobilePhone": "call me maybe" }), "mobilePhone"),
        (
            json!({ "email": "ok@example.com", "firstName": "x".repeat(201) }),
            "firstName",
        ),
        (
            json!({ "email": "ok@example.com", "company": "y".repeat(201) }),
            "company",
        ),
        (
            json!({ "email": "ok@example.com", "lastName": "bell\u{7}" }),
            "lastName",
        ),
        (
            json!({ "email": "ok@example.com", "timezone": "Not a zone!" }),
            "timezone",
        ),
        (
            json!({ "email": "ok@example.com", "ownerId": "garbage" }),
            "ownerId",
        ),
    ];
    for (input, field) in cases {
        let (status, body) = server.post(&admin, CREATE, json!({ "input": input })).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(error_codes(&body), ["VALIDATION"], "{input}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{input}: {body}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with(field)
        );
    }
    assert_eq!(visible_count(&server, &admin).await, 0);

    let id = create(
        &server,
        &admin,
        json!({ "email": "ok@example.com", "company": "Acme" }),
    )
    .await["id"]
        .clone();
    let (_, body) = server
        .post(
            &admin,
            UPDATE,
            json!({ "id": id, "input": { "company": "New", "mobilePhone": "nope" } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "mobilePhone");
    let read = server.data(&admin, GET, json!({ "id": id })).await;
    assert_eq!(read["contact"]["company"], "Acme");
    assert_eq!(read["contact"]["version"], 1);
}

#[rstest]
#[tokio::test]
async fn every_bad_field_of_a_save_is_named_at_once(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let input = json!({
        "firstName": "x".repeat(201),
        "email": "not an email",
        "mobilePhone": "12",
        "company": "Acme",
    });
    let (_, body) = server.post(&admin, CREATE, json!({ "input": input })).await;
    assert_eq!(error_codes(&body), ["VALIDATION"]);
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["field"], "firstName");
    let fields: Vec<&str> = error["extensions"]["fieldErrors"]
        .as_array()
        .expect("fieldErrors")
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["firstName", "email", "mobilePhone"]);
    assert_eq!(visible_count(&server, &admin).await, 0);

    // One bad field: no list, as before.
    let (_, body) = server
        .post(&admin, CREATE, json!({ "input": { "email": "nope" } }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "email");
    assert!(body["errors"][0]["extensions"].get("fieldErrors").is_none());
}

#[rstest]
#[tokio::test]
async fn unknown_and_malformed_ids(#[values(Backend::Sqlite, Backend::Postgres)] backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let id = create(&server, &admin, json!({ "email": "x@example.com" })).await["id"].clone();
    server.data(&admin, DELETE, json!({ "id": id })).await;

    // A well-formed id of nothing: null for reads, NOT_FOUND for writes.
    assert_eq!(
        server.data(&admin, GET, json!({ "id": id })).await["contact"],
        Value::Null
    );
    let (_, body) = server
        .post(
            &admin,
            UPDATE,
            json!({ "id": id, "input": { "company": "X" } }),
        )
        .await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"]);
    let (_, body) = server.post(&admin, DELETE, json!({ "id": id })).await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"]);

    for garbage in ["garbage", "", "VXNlcjpub3RhbnVtYmVy"] {
        let (_, body) = server.post(&admin, GET, json!({ "id": garbage })).await;
        assert_eq!(error_codes(&body), ["VALIDATION"], "{garbage}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "id");
    }
}

#[rstest]
#[tokio::test]
async fn page_size_and_cursor_are_checked(#[values(Backend::Sqlite)] backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    for first in [-1, 101] {
        let (_, body) = server
            .post(
                &admin,
                "query($f: Int) { contacts(first: $f) { totalCount } }",
                json!({ "f": first }),
            )
            .await;
        assert_eq!(error_codes(&body), ["VALIDATION"]);
        assert_eq!(body["errors"][0]["extensions"]["field"], "first");
    }
    let (_, body) = server
        .post(
            &admin,
            r#"{ contacts(after: "bm90IGEgY3Vyc29y") { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "after");
    let (_, body) = server
        .post(
            &admin,
            "query($s: String) { contacts(filter: { search: $s }) { totalCount } }",
            json!({ "s": "s".repeat(201) }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "search");
}

/// `--search-max-chars` sets the longest search text.
#[rstest]
#[tokio::test]
async fn the_longest_search_is_a_flag(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server =
        TestServer::start_on(TestDb::new(backend).await, &["--search-max-chars", "5"]).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let search = "query($s: String) { contacts(filter: { search: $s }) { totalCount } }";
    let found = server.data(&admin, search, json!({ "s": "ann.l" })).await;
    assert_eq!(found["contacts"]["totalCount"], 0);
    let (_, body) = server.post(&admin, search, json!({ "s": "ann.le" })).await;
    assert_eq!(error_codes(&body), ["VALIDATION"], "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "search");
    assert_eq!(
        body["errors"][0]["message"],
        "search: must be at most 5 characters"
    );
}

#[rstest]
#[tokio::test]
async fn malformed_and_oversized_requests_are_refused(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let send = |body: Vec<u8>| {
        server
            .http()
            .post(server.graphql_url())
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let response = send(br#"{"query": "{ me { name } }""#.to_vec())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_codes(&body), ["BAD_REQUEST"]);

    let huge = json!({ "query": "mutation($i: ContactInput!) { createContact(input: $i) { contact { id } } }",
                       "variables": { "i": { "email": "big@example.com", "company": "z".repeat(2 * 1024 * 1024) } } });
    let response = send(serde_json::to_vec(&huge).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // Introspection nests deep by design and is exempt; data is not.
    let deep = "{ contact(id: \"Q29udGFjdDox\") { activities { edges { node { contact { activities { \
                edges { node { contact { activities { edges { node { id } } } } } } } } } } } } }";
    let (status, body) = server.post(&admin, deep, json!({})).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "application/json answers 200 for a well-formed request"
    );
    assert_eq!(error_codes(&body), ["BAD_REQUEST"], "{body}");
    assert!(body.get("data").is_none());

    let (_, body) = server
        .post(&admin, "{ me { nosuchfield } }", json!({}))
        .await;
    assert_eq!(error_codes(&body), ["BAD_REQUEST"]);

    assert_eq!(visible_count(&server, &admin).await, 0);
}
