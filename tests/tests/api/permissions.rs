//! Authentication, roles, the access rule and field guards.

use reqwest::StatusCode;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::*;

#[rstest]
#[tokio::test]
async fn no_or_unknown_token_is_unauthenticated(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let anonymous = server
        .http()
        .post(server.graphql_url())
        .json(&json!({ "query": "{ me { name } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);

    let (status, body) = server
        .post("ctk_not-a-token", "{ me { name } }", json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
}

#[rstest]
#[tokio::test]
async fn viewer_gets_forbidden_on_personal_fields_only(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    server.create_team("Sales");
    let member = server.create_user("mia", "MEMBER", Some("Sales"));
    let viewer = server.create_user("vic", "VIEWER", Some("Sales"));
    let team_id = server
        .data(&member, "{ me { teams { id } } }", json!({}))
        .await["me"]["teams"][0]["id"]
        .clone();
    let id = create(
        &server,
        &member,
        json!({ "firstName": "Kim", "email": "kim@example.com", "teamId": team_id }),
    )
    .await["id"]
        .clone();

    let (status, body) = server
        .post(
            &viewer,
            "query($id: ID!) { contact(id: $id) { firstName email mobilePhone owner { name } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["contact"]["firstName"], "Kim");
    assert_eq!(body["data"]["contact"]["email"], Value::Null);
    assert_eq!(body["data"]["contact"]["owner"], Value::Null);
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3, "{body}");
    for error in errors {
        assert_eq!(error["extensions"]["code"], "FORBIDDEN");
    }
    assert_eq!(errors[0]["path"], json!(["contact", "email"]));

    // A viewer reads but never writes.
    let (_, body) = server
        .post(
            &viewer,
            CREATE,
            json!({ "input": { "email": "new@example.com" } }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    let (_, body) = server.post(&viewer, DELETE, json!({ "id": id })).await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
}

#[rstest]
#[tokio::test]
async fn members_cannot_reach_contacts_outside_their_teams(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    server.create_team("Sales");
    server.create_team("Support");
    let mia = server.create_user("mia", "MEMBER", Some("Sales"));
    let sam = server.create_user("sam", "MEMBER", Some("Support"));
    let sue = server.create_user("sue", "MEMBER", Some("Support"));

    let hidden = create(
        &server,
        &mia,
        json!({ "firstName": "Private", "email": "private@example.com" }),
    )
    .await;
    let id = hidden["id"].clone();
    let sams_own = create(
        &server,
        &sam,
        json!({ "firstName": "Own", "email": "own@example.com" }),
    )
    .await;

    assert_eq!(
        server.data(&sam, GET, json!({ "id": id })).await["contact"],
        Value::Null
    );
    let node = server
        .data(
            &sam,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(node["node"], Value::Null);
    let list = server
        .data(
            &sam,
            "{ contacts(first: 100) { totalCount edges { node { firstName } } } }",
            json!({}),
        )
        .await;
    assert_eq!(list["contacts"]["totalCount"], 1);
    assert_eq!(
        list["contacts"]["edges"],
        json!([{ "node": { "firstName": "Own" } }])
    );

    let (_, body) = server
        .post(
            &sam,
            UPDATE,
            json!({ "id": id, "input": { "company": "X" } }),
        )
        .await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"]);
    let (_, body) = server.post(&sam, DELETE, json!({ "id": id })).await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"]);
    let still = server.data(&mia, GET, json!({ "id": id })).await;
    assert_eq!(still["contact"]["company"], Value::Null);

    // Sharing with a team opens the contact to that team only.
    let support_id = server
        .data(&sam, "{ me { teams { id } } }", json!({}))
        .await["me"]["teams"][0]["id"]
        .clone();
    server
        .data(
            &sam,
            UPDATE,
            json!({ "id": sams_own["id"], "input": { "teamId": support_id } }),
        )
        .await;
    assert_eq!(visible_count(&server, &sue).await, 1);
    assert_eq!(visible_count(&server, &mia).await, 1);
}

#[rstest]
#[tokio::test]
async fn cannot_save_contact_reveals_nothing_of_the_hidden_record(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let mia = server.create_user("mia", "MEMBER", None);
    let sam = server.create_user("sam", "MEMBER", None);
    let hidden = create(
        &server,
        &mia,
        json!({ "firstName": "Secretname", "lastName": "Hiddenlast", "email": "taken@example.com",
                "mobilePhone": "+14155550177", "company": "Covertcorp" }),
    )
    .await;
    let mine = create(&server, &sam, json!({ "email": "sam-contact@example.com" })).await;

    let (_, on_create) = server
        .post(
            &sam,
            CREATE,
            json!({ "input": { "email": "taken@example.com" } }),
        )
        .await;
    let (_, on_update) = server
        .post(
            &sam,
            UPDATE,
            json!({ "id": mine["id"], "input": { "mobilePhone": "415-555-0177" } }),
        )
        .await;
    for body in [&on_create, &on_update] {
        assert_eq!(error_codes(body), ["CANNOT_SAVE_CONTACT"], "{body}");
        let text = body.to_string();
        for secret in [
            "Secretname",
            "Hiddenlast",
            "Covertcorp",
            "mia",
            hidden["id"].as_str().unwrap(),
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("administrator"), "{text}");
    }
    let after = server.data(&sam, GET, json!({ "id": mine["id"] })).await;
    assert_eq!(after["contact"]["mobilePhone"], Value::Null);
    assert_eq!(after["contact"]["version"], 1);
}

#[rstest]
#[tokio::test]
async fn members_assign_contacts_only_to_themselves_and_their_teams(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    server.create_team("Sales");
    server.create_team("Support");
    let admin = server.create_user("ann", "ADMIN", Some("Support"));
    let mia = server.create_user("mia", "MEMBER", Some("Sales"));
    let admin_me = server
        .data(&admin, "{ me { id teams { id } } }", json!({}))
        .await;

    let (_, body) = server
        .post(
            &mia,
            CREATE,
            json!({ "input": { "email": "a@example.com", "ownerId": admin_me["me"]["id"] } }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    assert_eq!(body["errors"][0]["extensions"]["field"], "ownerId");
    let (_, body) = server
        .post(&mia, CREATE, json!({ "input": { "email": "a@example.com", "teamId": admin_me["me"]["teams"][0]["id"] } }))
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    assert_eq!(body["errors"][0]["extensions"]["field"], "teamId");
    assert_eq!(visible_count(&server, &admin).await, 0);
}

#[rstest]
#[tokio::test]
async fn integrations_create_but_never_delete_or_read_ownership(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let zap = server.create_user("zap", "INTEGRATION", None);
    let contact = create(&server, &zap, json!({ "email": "lead@example.com" })).await;
    assert_eq!(contact["source"], "API");
    assert_eq!(contact["email"], "lead@example.com");
    let (_, body) = server
        .post(
            &zap,
            "query($id: ID!) { contact(id: $id) { email owner { name } } }",
            json!({ "id": contact["id"] }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    assert_eq!(body["data"]["contact"]["email"], "lead@example.com");
    let (_, body) = server
        .post(&zap, DELETE, json!({ "id": contact["id"] }))
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
}

#[rstest]
#[tokio::test]
async fn viewers_cannot_search_personal_data(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    server.create_team("Sales");
    let mia = server.create_user("mia", "MEMBER", Some("Sales"));
    let vic = server.create_user("vic", "VIEWER", Some("Sales"));
    let team_id = server
        .data(&mia, "{ me { teams { id } } }", json!({}))
        .await["me"]["teams"][0]["id"]
        .clone();
    create(&server, &mia, json!({ "email": "secret.person@example.com", "mobilePhone": "+14155550188", "teamId": team_id })).await;
    let search =
        "query($s: String) { contacts(filter: { search: $s }) { totalCount edges { cursor } } }";
    for term in ["secret.person", "(415) 555-0188"] {
        assert_eq!(
            server.data(&mia, search, json!({ "s": term })).await["contacts"]["totalCount"],
            1
        );
        assert_eq!(
            server.data(&vic, search, json!({ "s": term })).await["contacts"]["totalCount"],
            0,
            "{term}"
        );
    }
    // A nameless contact's cursor does not carry its email either.
    let all = server.data(&vic, search, json!({ "s": null })).await;
    let cursor = all["contacts"]["edges"][0]["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    use base64::Engine;
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .unwrap();
    assert!(!String::from_utf8_lossy(&decoded).contains("secret"));
}

#[rstest]
#[tokio::test]
async fn members_reshare_team_contacts_but_never_out_of_reach(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    server.create_team("Sales");
    let mia = server.create_user("mia", "MEMBER", Some("Sales"));
    let sam = server.create_user("sam", "MEMBER", Some("Sales"));
    let team_id = server
        .data(&mia, "{ me { teams { id } } }", json!({}))
        .await["me"]["teams"][0]["id"]
        .clone();
    let shared = create(
        &server,
        &mia,
        json!({ "email": "t@example.com", "teamId": team_id }),
    )
    .await;

    // Sam reaches it through the team; unsharing it would lock Sam out.
    let (_, body) = server
        .post(
            &sam,
            UPDATE,
            json!({ "id": shared["id"], "input": { "teamId": null } }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    assert_eq!(body["errors"][0]["extensions"]["field"], "teamId");
    // Mia owns it: she may unshare it.
    server
        .data(
            &mia,
            UPDATE,
            json!({ "id": shared["id"], "input": { "teamId": null } }),
        )
        .await;
    // And may not drop herself as owner without sharing it.
    let (_, body) = server
        .post(
            &mia,
            UPDATE,
            json!({ "id": shared["id"], "input": { "ownerId": null } }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
}

#[rstest]
#[tokio::test]
async fn long_non_ascii_names_are_stored_on_both_backends(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let contact = create(
        &server,
        &admin,
        json!({ "firstName": "İ".repeat(200), "lastName": "Ω".repeat(200), "email": "long@example.com" }),
    )
    .await;
    assert_eq!(contact["firstName"].as_str().unwrap().chars().count(), 200);
}

#[rstest]
#[tokio::test]
async fn ownership_is_not_read_around_its_guard(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    server.create_team("Sales");
    let admin = server.create_user("ann", "ADMIN", None);
    let mia = server.create_user("mia", "MEMBER", Some("Sales"));
    let zap = server.create_user("zap", "INTEGRATION", None);
    let ann_id = server.data(&admin, "{ me { id } }", json!({})).await["me"]["id"].clone();
    let sales = server
        .data(&mia, "{ me { teams { id } } }", json!({}))
        .await["me"]["teams"][0]["id"]
        .clone();
    let shared = create(
        &server,
        &admin,
        json!({ "email": "shared@example.com", "teamId": sales }),
    )
    .await;

    // An integration may not read owners, so it may not filter by them:
    // a filter would list another user's contacts by owner.
    for filter in [json!({ "ownerId": ann_id }), json!({ "teamId": sales })] {
        let (_, body) = server
            .post(
                &zap,
                "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }",
                json!({ "f": filter }),
            )
            .await;
        assert_eq!(error_codes(&body), ["FORBIDDEN"], "{filter}");
        let field = &body["errors"][0]["extensions"]["field"];
        assert!(field == "ownerId" || field == "teamId", "{body}");
    }

    // A member sees who changed a shared contact, by name, but not that
    // user's role or teams (which `node(User)` refuses too).
    let (_, body) = server
        .post(
            &mia,
            "query($id: ID!) { contact(id: $id) { history { edges { node { actor { name role teams { name } } } } } } }",
            json!({ "id": shared["id"] }),
        )
        .await;
    let actor = &body["data"]["contact"]["history"]["edges"][0]["node"]["actor"];
    assert_eq!(actor["name"], "ann", "{body}");
    assert_eq!(actor["role"], Value::Null, "{body}");
    assert_eq!(error_codes(&body), ["FORBIDDEN", "FORBIDDEN"], "{body}");
    // Their own role, they read.
    let me = server
        .data(&mia, "{ me { role teams { name } } }", json!({}))
        .await;
    assert_eq!(me["me"]["role"], "MEMBER");
}

#[rstest]
#[tokio::test]
async fn a_role_that_cannot_read_owners_cannot_assign_them(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let zap = server.create_user("zap", "INTEGRATION", None);
    let ann_id = server.data(&admin, "{ me { id } }", json!({})).await["me"]["id"].clone();
    // A real user and an unknown one are refused alike: no enumeration.
    for owner in [ann_id, json!("VXNlcjo5OTk5OQ")] {
        let (_, body) = server
            .post(
                &zap,
                CREATE,
                json!({ "input": { "email": "lead@example.com", "ownerId": owner } }),
            )
            .await;
        assert_eq!(error_codes(&body), ["FORBIDDEN"], "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "ownerId");
    }
    assert_eq!(visible_count(&server, &admin).await, 0);
    let contact = create(&server, &zap, json!({ "email": "lead@example.com" })).await;
    let (_, body) = server
        .post(
            &zap,
            UPDATE,
            json!({ "id": contact["id"], "input": { "teamId": null } }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"], "{body}");
}
