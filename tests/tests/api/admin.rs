//! Administration over the API (issue 19, DESIGN.md section 11): teams,
//! users and tokens, their refusals by role, and changes that apply on the
//! very next request, also in another process on the same database.

use std::time::Duration;

use reqwest::StatusCode;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::*;

const CREATE_USER: &str = "mutation($input: CreateUserInput!) {
  createUser(input: $input) { user { id name role active teams { name } } token } }";
const UPDATE_USER: &str = "mutation($id: ID!, $input: UpdateUserInput!) {
  updateUser(id: $id, input: $input) { id name role active teams { name } } }";
const ISSUE: &str = "mutation($user: ID!, $label: String, $expires: DateTime) {
  issueToken(userId: $user, label: $label, expiresAt: $expires) {
    apiToken { id label expiresAt revokedAt } token } }";
const REVOKE: &str = "mutation($id: ID!) { revokeToken(id: $id) { id revokedAt } }";
const ME: &str = "{ me { name role teams { name } } }";

async fn me(server: &TestServer, token: &str) -> (StatusCode, Value) {
    server.post(token, ME, json!({})).await
}

async fn refused(server: &TestServer, token: &str) -> bool {
    let (status, body) = me(server, token).await;
    status == StatusCode::UNAUTHORIZED && error_codes(&body) == ["UNAUTHENTICATED"]
}

#[rstest]
#[tokio::test]
async fn admins_manage_users_teams_and_tokens(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ops = server
        .data(
            &admin,
            r#"mutation { createTeam(name: "Ops") { id name } }"#,
            json!({}),
        )
        .await["createTeam"]["id"]
        .clone();
    let created = server
        .data(
            &admin,
            CREATE_USER,
            json!({ "input": { "name": "mo", "role": "MEMBER", "teamIds": [ops] } }),
        )
        .await["createUser"]
        .clone();
    assert_eq!(created["user"]["teams"], json!([{ "name": "Ops" }]));
    assert_eq!(created["user"]["active"], true);
    let mo_id = created["user"]["id"].clone();
    let mo = created["token"].as_str().unwrap().to_owned();
    assert_eq!(me(&server, &mo).await.1["data"]["me"]["role"], "MEMBER");

    let listed = server
        .data(
            &admin,
            r#"{ users(filter: { search: "M", role: MEMBER }) { totalCount edges { node { name } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(listed["users"]["totalCount"], 1);
    assert_eq!(listed["users"]["edges"][0]["node"]["name"], "mo");

    // A role change applies on the very next request, though mo's token
    // is in the server's cache from the request above.
    server
        .data(
            &admin,
            UPDATE_USER,
            json!({ "id": mo_id, "input": { "role": "VIEWER", "teamIds": [] } }),
        )
        .await;
    let after = me(&server, &mo).await.1;
    assert_eq!(after["data"]["me"]["role"], "VIEWER");
    assert_eq!(after["data"]["me"]["teams"], json!([]));

    // A second token, labelled; the list shows both, newest first, with
    // when they were last used and never their secrets.
    let issued = server
        .data(&admin, ISSUE, json!({ "user": mo_id, "label": "ci" }))
        .await["issueToken"]
        .clone();
    let ci = issued["token"].as_str().unwrap().to_owned();
    assert_eq!(me(&server, &ci).await.0, StatusCode::OK);
    let tokens = server
        .data(
            &admin,
            "query($id: ID!) { node(id: $id) { ... on User { tokens { totalCount edges { node { label lastUsedAt revokedAt } } } } } }",
            json!({ "id": mo_id }),
        )
        .await;
    let tokens = &tokens["node"]["tokens"];
    assert_eq!(tokens["totalCount"], 2);
    assert_eq!(tokens["edges"][0]["node"]["label"], "ci");
    assert_eq!(tokens["edges"][1]["node"]["label"], "first token");
    // lastUsedAt is written beside the request, not in it.
    let mut used = Value::Null;
    for _ in 0..50 {
        let again = server
            .data(
                &admin,
                "query($id: ID!) { node(id: $id) { ... on User { tokens { edges { node { lastUsedAt } } } } } }",
                json!({ "id": mo_id }),
            )
            .await;
        used = again["node"]["tokens"]["edges"][0]["node"]["lastUsedAt"].clone();
        if used.is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(used.is_string(), "lastUsedAt of a used token: {used}");
    assert!(!tokens.to_string().contains("ctk_"), "{tokens}");

    // Revoked: refused on the next request; revoking again changes nothing.
    let revoked = server
        .data(&admin, REVOKE, json!({ "id": issued["apiToken"]["id"] }))
        .await;
    assert!(revoked["revokeToken"]["revokedAt"].is_string());
    assert!(refused(&server, &ci).await);
    let again = server
        .data(&admin, REVOKE, json!({ "id": issued["apiToken"]["id"] }))
        .await;
    assert_eq!(
        again["revokeToken"]["revokedAt"],
        revoked["revokeToken"]["revokedAt"]
    );
    assert_eq!(me(&server, &mo).await.0, StatusCode::OK);

    // Deactivated: every token of the user refused; active again: back.
    server
        .data(
            &admin,
            UPDATE_USER,
            json!({ "id": mo_id, "input": { "active": false } }),
        )
        .await;
    assert!(refused(&server, &mo).await);
    server
        .data(
            &admin,
            UPDATE_USER,
            json!({ "id": mo_id, "input": { "active": true, "name": "moe" } }),
        )
        .await;
    assert_eq!(me(&server, &mo).await.1["data"]["me"]["name"], "moe");

    // Teams: every team for an admin, one's own for others.
    let teams = |token: String| {
        let server = &server;
        async move {
            server
                .data(
                    &token,
                    "{ teams { totalCount edges { node { name } } } }",
                    json!({}),
                )
                .await["teams"]["totalCount"]
                .clone()
        }
    };
    assert_eq!(teams(admin.clone()).await, 1);
    assert_eq!(teams(mo.clone()).await, 0);
}

#[rstest]
#[tokio::test]
async fn administration_is_refused_to_other_roles(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let mia = server.create_user("mia", "MEMBER", None);
    let zap = server.create_user("zap", "INTEGRATION", None);
    let ids = server
        .data(
            &admin,
            "{ users { edges { node { id name } } } }",
            json!({}),
        )
        .await;
    let id_of = |name: &str| {
        ids["users"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["name"] == name)
            .map(|e| e["node"]["id"].clone())
            .unwrap()
    };
    let (ann_id, mia_id) = (id_of("ann"), id_of("mia"));
    for token in [&mia, &zap] {
        for (query, variables) in [
            ("{ users { totalCount } }", json!({})),
            (r#"mutation { createTeam(name: "X") { id } }"#, json!({})),
            (
                CREATE_USER,
                json!({ "input": { "name": "x", "role": "ADMIN" } }),
            ),
            (
                UPDATE_USER,
                json!({ "id": mia_id, "input": { "role": "ADMIN" } }),
            ),
            (ISSUE, json!({ "user": ann_id })),
        ] {
            let (_, body) = server.post(token, query, variables).await;
            assert_eq!(error_codes(&body), ["FORBIDDEN"], "{query}");
        }
    }
    // A user may issue and revoke their own tokens, and see them...
    let own = server
        .data(&mia, ISSUE, json!({ "user": mia_id, "label": "laptop" }))
        .await;
    let own_id = own["issueToken"]["apiToken"]["id"].clone();
    let mine = server
        .data(&mia, "{ me { tokens { totalCount } } }", json!({}))
        .await;
    assert_eq!(mine["me"]["tokens"]["totalCount"], 2);
    // ...but another's token is as if it did not exist.
    let ann_tokens = server
        .data(
            &admin,
            "{ me { tokens { edges { node { id } } } } }",
            json!({}),
        )
        .await;
    let ann_token_id = ann_tokens["me"]["tokens"]["edges"][0]["node"]["id"].clone();
    let (_, body) = server
        .post(&mia, REVOKE, json!({ "id": ann_token_id }))
        .await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"]);
    let (_, body) = server
        .post(
            &mia,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": ann_token_id }),
        )
        .await;
    assert_eq!(body["data"]["node"], Value::Null);
    server.data(&mia, REVOKE, json!({ "id": own_id })).await;

    // The last active admin cannot demote or deactivate themself.
    for input in [json!({ "role": "MEMBER" }), json!({ "active": false })] {
        let (_, body) = server
            .post(&admin, UPDATE_USER, json!({ "id": ann_id, "input": input }))
            .await;
        assert_eq!(error_codes(&body), ["VALIDATION"], "{input}");
    }
    assert_eq!(me(&server, &admin).await.1["data"]["me"]["role"], "ADMIN");
}

#[rstest]
#[tokio::test]
async fn an_expired_token_is_refused(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ann_id = server.data(&admin, "{ me { id } }", json!({})).await["me"]["id"].clone();
    let (_, past) = server
        .post(
            &admin,
            ISSUE,
            json!({ "user": ann_id, "expires": "2020-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(error_codes(&past), ["VALIDATION"]);
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let issued = server
        .data(&admin, ISSUE, json!({ "user": ann_id, "expires": soon }))
        .await;
    let token = issued["issueToken"]["token"].as_str().unwrap().to_owned();
    assert_eq!(me(&server, &token).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(refused(&server, &token).await);
}

#[rstest]
#[tokio::test]
async fn a_revocation_applies_at_once_in_another_process(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let first = TestServer::start(backend).await;
    let second = TestServer::start_on(TestDb::borrowed(&first.db.url), &[]).await;
    let admin = first.create_user("ann", "ADMIN", None);
    let mo = first.create_user("mo", "MEMBER", None);
    // The second process caches mo's token...
    assert_eq!(me(&second, &mo).await.0, StatusCode::OK);
    let mo_tokens = first
        .data(&admin, r#"{ users(filter: { search: "mo" }) { edges { node { id tokens { edges { node { id } } } } } } }"#, json!({}))
        .await;
    let mo_node = &mo_tokens["users"]["edges"][0]["node"];
    // ...and refuses it on the next request after the first revokes it.
    first
        .data(
            &admin,
            REVOKE,
            json!({ "id": mo_node["tokens"]["edges"][0]["node"]["id"] }),
        )
        .await;
    assert!(refused(&second, &mo).await);
    // Likewise a role changed through the first.
    let bo = first.create_user("bo", "MEMBER", None);
    assert_eq!(me(&second, &bo).await.1["data"]["me"]["role"], "MEMBER");
    let bo_id = first
        .data(
            &admin,
            r#"{ users(filter: { search: "bo" }) { edges { node { id } } } }"#,
            json!({}),
        )
        .await["users"]["edges"][0]["node"]["id"]
        .clone();
    first
        .data(
            &admin,
            UPDATE_USER,
            json!({ "id": bo_id, "input": { "role": "VIEWER" } }),
        )
        .await;
    assert_eq!(me(&second, &bo).await.1["data"]["me"]["role"], "VIEWER");
}

#[rstest]
#[tokio::test]
async fn the_command_line_mirrors_the_api(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    server.create_team("Ops");
    let mo = server.create_user("mo", "MEMBER", None);
    let url = &server.db.url;
    assert_eq!(
        cli(
            url,
            &["user", "update", "mo", "--role", "VIEWER", "--team", "Ops"]
        )
        .trim(),
        "mo"
    );
    let after = me(&server, &mo).await.1;
    assert_eq!(after["data"]["me"]["role"], "VIEWER");
    assert_eq!(after["data"]["me"]["teams"], json!([{ "name": "Ops" }]));
    let issued = cli(
        url,
        &[
            "token",
            "issue",
            "--user",
            "mo",
            "--label",
            "cron",
            "--expires-in-days",
            "30",
        ],
    );
    let token = issued.trim().to_owned();
    assert!(token.starts_with("ctk_"), "{issued}");
    assert_eq!(me(&server, &token).await.0, StatusCode::OK);
    let listed = server
        .data(&admin, r#"{ users(filter: { search: "mo" }) { edges { node { tokens { edges { node { id label expiresAt } } } } } } }"#, json!({}))
        .await;
    let newest = &listed["users"]["edges"][0]["node"]["tokens"]["edges"][0]["node"];
    assert_eq!(newest["label"], "cron");
    assert!(newest["expiresAt"].is_string());
    cli(url, &["token", "revoke", newest["id"].as_str().unwrap()]);
    assert!(refused(&server, &token).await);
    cli(url, &["user", "update", "mo", "--active", "false"]);
    assert!(refused(&server, &mo).await);
}

/// A leaked token must not mint tokens without end: past
/// `--max-tokens-per-user` active tokens, issuing is refused until one is
/// revoked.
#[rstest]
#[tokio::test]
async fn a_user_holds_at_most_the_allowed_active_tokens(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server =
        TestServer::start_on(TestDb::new(backend).await, &["--max-tokens-per-user", "3"]).await;
    let admin = server.create_user("ann", "ADMIN", None);
    server.create_user("mo", "MEMBER", None);
    let mo_id = server
        .data(
            &admin,
            r#"{ users(filter: { search: "mo" }) { edges { node { id } } } }"#,
            json!({}),
        )
        .await["users"]["edges"][0]["node"]["id"]
        .clone();
    let mut issued = Vec::new();
    for label in ["two", "three"] {
        let data = server
            .data(&admin, ISSUE, json!({ "user": mo_id, "label": label }))
            .await;
        issued.push(data["issueToken"]["apiToken"]["id"].clone());
    }
    let (_, body) = server
        .post(&admin, ISSUE, json!({ "user": mo_id, "label": "four" }))
        .await;
    assert_eq!(error_codes(&body), ["VALIDATION"], "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "userId");
    let listed = server
        .data(
            &admin,
            "query($id: ID!) { node(id: $id) { ... on User { tokens { totalCount } } } }",
            json!({ "id": mo_id }),
        )
        .await;
    assert_eq!(
        listed["node"]["tokens"]["totalCount"], 3,
        "nothing was issued"
    );

    // A revoked token no longer counts.
    server
        .data(&admin, REVOKE, json!({ "id": issued[0] }))
        .await;
    server
        .data(&admin, ISSUE, json!({ "user": mo_id, "label": "four" }))
        .await;
}

/// Two admins demoting each other at once cannot leave the server without
/// one: one change goes through, the other is refused (on PostgreSQL the
/// admins are locked while counted; SQLite writes one at a time). Teams
/// named twice, from the command line too, count once.
#[rstest]
#[tokio::test]
async fn two_admins_demoting_each_other_leave_one(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let ann = server.create_user("ann", "ADMIN", None);
    let bea = server.create_user("bea", "ADMIN", None);
    let ann_id = server.data(&ann, "{ me { id } }", json!({})).await["me"]["id"].clone();
    let bea_id = server.data(&bea, "{ me { id } }", json!({})).await["me"]["id"].clone();
    let ((_, one), (_, other)) = tokio::join!(
        server.post(
            &ann,
            UPDATE_USER,
            json!({ "id": bea_id, "input": { "role": "MEMBER" } })
        ),
        server.post(
            &bea,
            UPDATE_USER,
            json!({ "id": ann_id, "input": { "role": "MEMBER" } })
        ),
    );
    let refused = [&one, &other]
        .iter()
        // The last admin (VALIDATION), or no admin any more (FORBIDDEN).
        .filter(|body| matches!(error_codes(body).as_slice(), [code] if code == "VALIDATION" || code == "FORBIDDEN"))
        .count();
    assert_eq!(refused, 1, "{one} {other}");
    let mut roles = Vec::new();
    for token in [&ann, &bea] {
        roles.push(me(&server, token).await.1["data"]["me"]["role"].clone());
    }
    assert!(roles.contains(&json!("ADMIN")), "{roles:?}");

    server.create_team("Ops");
    cli(
        &server.db.url,
        &["user", "update", "ann", "--team", "Ops", "--team", "Ops"],
    );
    let teams = server
        .data(&ann, "{ me { teams { name } } }", json!({}))
        .await;
    assert_eq!(teams["me"]["teams"], json!([{ "name": "Ops" }]));
}
