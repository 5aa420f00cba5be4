//! Create, read, update and delete, with identity normalisation and the
//! one-contact-per-identity rule.

use futures_util::future::join_all;
use rstest::rstest;
use serde_json::json;

use crate::support::*;

#[rstest]
#[tokio::test]
async fn create_read_update_delete(#[values(Backend::Sqlite, Backend::Postgres)] backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);

    let created = create(
        &server,
        &admin,
        json!({ "firstName": "Bea", "lastName": "Lind", "email": " Bea@Example.COM ",
                "mobilePhone": "(415) 555-0100", "company": "Acme", "timezone": "Europe/Stockholm" }),
    )
    .await;
    assert_eq!(created["email"], "bea@example.com");
    assert_eq!(created["mobilePhone"], "+14155550100");
    assert_eq!(created["source"], "MANUAL");
    assert_eq!(created["version"], 1);
    let id = created["id"].as_str().unwrap().to_owned();

    let read = server.data(&admin, GET, json!({ "id": id })).await;
    assert_eq!(read["contact"]["firstName"], "Bea");
    assert_eq!(read["contact"]["company"], "Acme");

    let updated = server
        .data(
            &admin,
            UPDATE,
            json!({ "id": id, "input": { "company": "Globex", "lastName": null } }),
        )
        .await;
    let contact = &updated["updateContact"]["contact"];
    assert_eq!(contact["company"], "Globex");
    assert_eq!(contact["lastName"], serde_json::Value::Null);
    assert_eq!(contact["firstName"], "Bea", "a field left out is unchanged");
    assert_eq!(contact["version"], 2);

    let deleted = server.data(&admin, DELETE, json!({ "id": id })).await;
    assert_eq!(deleted["deleteContact"]["deletedContactId"], id);
    let gone = server.data(&admin, GET, json!({ "id": id })).await;
    assert_eq!(gone["contact"], serde_json::Value::Null);

    // The identity is free again at once.
    let again = create(&server, &admin, json!({ "email": "bea@example.com" })).await;
    assert_ne!(again["id"], id);
}

#[rstest]
#[tokio::test]
async fn history_records_who_changed_what(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let id = create(&server, &admin, json!({ "email": "bo@example.com" })).await["id"].clone();
    server
        .data(
            &admin,
            UPDATE,
            json!({ "id": id, "input": { "company": "Acme" } }),
        )
        .await;
    let data = server
        .data(
            &admin,
            "query($id: ID!) { contact(id: $id) { history { totalCount edges { node {
                action source actor { name } changes { field before after } } } } } }",
            json!({ "id": id }),
        )
        .await;
    let history = &data["contact"]["history"];
    assert_eq!(history["totalCount"], 2);
    let newest = &history["edges"][0]["node"];
    assert_eq!(newest["action"], "UPDATED");
    assert_eq!(newest["actor"]["name"], "ann");
    assert_eq!(
        newest["changes"],
        json!([{ "field": "company", "before": null, "after": "Acme" }])
    );
    assert_eq!(history["edges"][1]["node"]["action"], "CREATED");
}

#[rstest]
#[tokio::test]
async fn history_names_owners_and_teams(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    server.create_team("Sales");
    let admin = server.create_user("ann", "ADMIN", None);
    let bo = server.create_user("bo", "MEMBER", Some("Sales"));
    let me = server
        .data(&bo, "{ me { id teams { id } } }", json!({}))
        .await;
    let (bo_id, sales) = (me["me"]["id"].clone(), me["me"]["teams"][0]["id"].clone());
    let id = create(&server, &admin, json!({ "email": "cy@example.com" })).await["id"].clone();
    server
        .data(
            &admin,
            UPDATE,
            json!({ "id": id, "input": { "ownerId": bo_id, "teamId": sales } }),
        )
        .await;
    let data = server
        .data(
            &admin,
            "query($id: ID!) { contact(id: $id) { history(first: 1) { edges { node {
                changes { field before after beforeName afterName } } } } } }",
            json!({ "id": id }),
        )
        .await;
    let changes = &data["contact"]["history"]["edges"][0]["node"]["changes"];
    let ann_id = server.data(&admin, "{ me { id } }", json!({})).await["me"]["id"].clone();
    assert_eq!(
        changes,
        &json!([
            { "field": "ownerId", "before": ann_id, "after": bo_id,
              "beforeName": "ann", "afterName": "bo" },
            { "field": "teamId", "before": null, "after": sales,
              "beforeName": null, "afterName": "Sales" },
        ])
    );
}

#[rstest]
#[tokio::test]
async fn concurrent_creates_of_one_email_leave_one_contact(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let attempts = (0..64).map(|i| {
        server.post(
            &admin,
            CREATE,
            json!({ "input": { "email": "race@example.com", "firstName": format!("Racer {i}") } }),
        )
    });
    let answers = join_all(attempts).await;
    let created = answers
        .iter()
        .filter(|(_, body)| body["data"]["createContact"]["contact"].is_object())
        .count();
    assert_eq!(created, 1);
    // Every other caller is shown the merge into the one that won.
    for (_, body) in &answers {
        assert!(body.get("errors").is_none(), "{body}");
    }
    let previews = answers
        .iter()
        .filter(|(_, body)| body["data"]["createContact"]["mergePreview"].is_object())
        .count();
    assert_eq!(previews, 63);
    let data = server
        .data(
            &admin,
            r#"{ contacts(filter: { search: "race@example.com" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["contacts"]["totalCount"], 1);
}

#[rstest]
#[tokio::test]
async fn stale_expected_version_is_a_conflict(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let id = create(&server, &admin, json!({ "email": "eve@example.com" })).await["id"].clone();
    server
        .data(
            &admin,
            UPDATE,
            json!({ "id": id, "input": { "company": "A" }, "v": 1 }),
        )
        .await;
    let (_, body) = server
        .post(
            &admin,
            UPDATE,
            json!({ "id": id, "input": { "company": "B" }, "v": 1 }),
        )
        .await;
    assert_eq!(error_codes(&body), ["CONFLICT"]);
    let read = server.data(&admin, GET, json!({ "id": id })).await;
    assert_eq!(read["contact"]["company"], "A");
    assert_eq!(read["contact"]["version"], 2);
}

#[rstest]
#[tokio::test]
async fn a_contact_keeps_at_least_one_identity(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let (_, body) = server
        .post(
            &admin,
            CREATE,
            json!({ "input": { "firstName": "Nobody" } }),
        )
        .await;
    assert_eq!(error_codes(&body), ["VALIDATION"]);
    let id = create(
        &server,
        &admin,
        json!({ "email": "flo@example.com", "mobilePhone": "+14155550122" }),
    )
    .await["id"]
        .clone();
    // Clearing one identity is fine while the other remains.
    server
        .data(
            &admin,
            UPDATE,
            json!({ "id": id, "input": { "mobilePhone": null } }),
        )
        .await;
    let (_, body) = server
        .post(
            &admin,
            UPDATE,
            json!({ "id": id, "input": { "email": null } }),
        )
        .await;
    assert_eq!(error_codes(&body), ["VALIDATION"]);
    assert_eq!(body["errors"][0]["extensions"]["field"], "email");
}

#[rstest]
#[tokio::test]
async fn default_region_is_configurable(#[values(Backend::Sqlite)] backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start_on(db, &["--default-region", "GB"]).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let contact = create(&server, &admin, json!({ "mobilePhone": "07400 123456" })).await;
    assert_eq!(contact["mobilePhone"], "+447400123456");
}

#[rstest]
#[tokio::test]
async fn cli_prints_only_the_token(#[values(Backend::Sqlite, Backend::Postgres)] backend: Backend) {
    let db = TestDb::new(backend).await;
    assert_eq!(cli(&db.url, &["team", "create", "Sales"]).trim(), "Sales");
    let out = cli(
        &db.url,
        &[
            "user", "create", "--name", "gus", "--role", "member", "--team", "Sales",
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].starts_with("ctk_"), "{out}");
}

/// Numbers typed with their country code keep every national digit under
/// the server's US default region (a German mobile's leading 1 is not a
/// US national prefix), and a "(0)" written after the code is dropped.
#[rstest]
#[tokio::test]
async fn international_numbers_are_stored_whole(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    for (typed, stored) in [
        ("+49 1511 2345678", "+4915112345678"),
        ("+44 (0)20 7946 0958", "+442079460958"),
    ] {
        let created = create(&server, &admin, json!({ "mobilePhone": typed })).await;
        assert_eq!(created["mobilePhone"], stored, "{typed}");
    }
}
