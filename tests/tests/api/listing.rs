//! Listing: keyset pages, orders, search and filters.

use std::collections::HashSet;

use rstest::rstest;
use serde_json::{Value, json};

use crate::support::*;

const PAGE: &str =
    "query($first: Int, $after: String, $filter: ContactFilter, $order: ContactOrder) {
  contacts(first: $first, after: $after, filter: $filter, orderBy: $order) {
    totalCount
    edges { cursor node { id firstName email } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}";

/// Walks every page of `first` rows; returns the first names in order.
async fn walk(
    server: &TestServer,
    token: &str,
    first: i64,
    filter: Value,
    order: Value,
) -> Vec<String> {
    let mut names = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = server
            .data(
                token,
                PAGE,
                json!({ "first": first, "after": after, "filter": filter, "order": order }),
            )
            .await;
        let connection = &data["contacts"];
        let edges = connection["edges"].as_array().unwrap();
        assert!(edges.len() as i64 <= first);
        names.extend(
            edges
                .iter()
                .map(|e| e["node"]["firstName"].as_str().unwrap().to_owned()),
        );
        if !connection["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return names;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
}

#[rstest]
#[tokio::test]
async fn pages_cover_every_contact_once_in_order(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    // Names share prefixes and repeat, so ties on the order key are walked by id.
    for i in 0..25 {
        let name = format!("Name{:02}", i % 20);
        create(
            &server,
            &admin,
            json!({ "firstName": name, "email": format!("p{i}@example.com") }),
        )
        .await;
    }
    let asc = walk(
        &server,
        &admin,
        10,
        json!({}),
        json!({ "field": "NAME", "direction": "ASC" }),
    )
    .await;
    assert_eq!(asc.len(), 25);
    let mut sorted = asc.clone();
    sorted.sort();
    assert_eq!(asc, sorted);

    let desc = walk(
        &server,
        &admin,
        7,
        json!({}),
        json!({ "field": "NAME", "direction": "DESC" }),
    )
    .await;
    let mut reversed = sorted.clone();
    reversed.reverse();
    assert_eq!(desc, reversed);

    let by_created = walk(
        &server,
        &admin,
        4,
        json!({}),
        json!({ "field": "CREATED_AT", "direction": "ASC" }),
    )
    .await;
    let expected: Vec<String> = (0..25).map(|i| format!("Name{:02}", i % 20)).collect();
    assert_eq!(by_created, expected);

    let first_page = server.data(&admin, PAGE, json!({ "first": 10 })).await;
    assert_eq!(first_page["contacts"]["totalCount"], 25);
    assert_eq!(first_page["contacts"]["pageInfo"]["hasPreviousPage"], false);

    // Ids are unique across the pages.
    let ids: HashSet<String> = {
        let mut ids = HashSet::new();
        let mut after = Value::Null;
        loop {
            let data = server
                .data(&admin, PAGE, json!({ "first": 10, "after": after }))
                .await;
            for edge in data["contacts"]["edges"].as_array().unwrap() {
                ids.insert(edge["node"]["id"].as_str().unwrap().to_owned());
            }
            if data["contacts"]["pageInfo"]["hasNextPage"] == false {
                break ids;
            }
            after = data["contacts"]["pageInfo"]["endCursor"].clone();
        }
    };
    assert_eq!(ids.len(), 25);
}

#[rstest]
#[tokio::test]
async fn a_cursor_of_another_order_is_refused(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    for i in 0..3 {
        create(
            &server,
            &admin,
            json!({ "firstName": format!("N{i}"), "email": format!("c{i}@example.com") }),
        )
        .await;
    }
    let data = server.data(&admin, PAGE, json!({ "first": 1 })).await;
    let cursor = data["contacts"]["pageInfo"]["endCursor"].clone();
    let (_, body) = server
        .post(&admin, PAGE, json!({ "first": 1, "after": cursor, "order": { "field": "UPDATED_AT", "direction": "DESC" } }))
        .await;
    assert_eq!(error_codes(&body), ["VALIDATION"]);
    assert_eq!(body["errors"][0]["extensions"]["field"], "after");
}

#[rstest]
#[tokio::test]
async fn search_matches_name_company_and_email_and_phone_beginnings(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    create(&server, &admin, json!({ "firstName": "Hanna", "lastName": "Berg", "email": "hb@alpha.io", "company": "Initech" })).await;
    create(
        &server,
        &admin,
        json!({ "firstName": "Ivan", "email": "ivan@beta.io", "mobilePhone": "+14155550199" }),
    )
    .await;
    create(
        &server,
        &admin,
        json!({ "firstName": "Jo", "email": "jo_100%@gamma.io", "company": "Globex" }),
    )
    .await;

    let names = |search: &str| {
        let server = &server;
        let admin = admin.clone();
        let search = search.to_owned();
        async move {
            let mut names =
                walk(server, &admin, 10, json!({ "search": search }), json!(null)).await;
            names.sort();
            names
        }
    };
    assert_eq!(names("hanna berg").await, ["Hanna"]);
    assert_eq!(names("IVAN@BETA").await, ["Ivan"]);
    assert_eq!(names("(415) 555-01").await, ["Ivan"]);
    assert_eq!(names("initech").await, ["Hanna"]);
    assert_eq!(names("jo_100%@").await, ["Jo"]);
    // LIKE wildcards in the term are matched literally.
    assert!(names("jo%").await.is_empty());
    assert!(names("j_").await.is_empty());
    assert!(names("nobody").await.is_empty());
}

#[rstest]
#[tokio::test]
async fn filters_by_owner_team_and_source(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    server.create_team("Sales");
    let admin = server.create_user("ann", "ADMIN", Some("Sales"));
    let integration = server.create_user("zap", "INTEGRATION", None);
    let me = server
        .data(&admin, "{ me { id teams { id } } }", json!({}))
        .await;
    let my_id = me["me"]["id"].clone();
    let team_id = me["me"]["teams"][0]["id"].clone();

    create(
        &server,
        &admin,
        json!({ "firstName": "Mine", "email": "m@example.com" }),
    )
    .await;
    create(
        &server,
        &admin,
        json!({ "firstName": "Shared", "email": "s@example.com", "teamId": team_id }),
    )
    .await;
    create(
        &server,
        &integration,
        json!({ "firstName": "Synced", "email": "y@example.com" }),
    )
    .await;

    let mut owned = walk(
        &server,
        &admin,
        10,
        json!({ "ownerId": my_id }),
        json!(null),
    )
    .await;
    owned.sort();
    assert_eq!(owned, ["Mine", "Shared"]);
    assert_eq!(
        walk(
            &server,
            &admin,
            10,
            json!({ "teamId": team_id }),
            json!(null)
        )
        .await,
        ["Shared"]
    );
    assert_eq!(
        walk(&server, &admin, 10, json!({ "source": "API" }), json!(null)).await,
        ["Synced"]
    );
}
