//! No N+1: a page costs a few statements whatever its length. Each case
//! reads `contacts_db_statements_total` on `/metrics`, runs one page, and
//! reads it again; what the page asked of each row (owner, team, merged
//! ids, contact, meeting, host, notifications, actor) must be loaded in one
//! batch per kind, not one query per row.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use rstest::rstest;
use serde_json::{Value, json};

use crate::operations::{scrape, value};
use crate::support::*;

const CONTACTS: &str = "query($n: Int!) {
  contacts(first: $n, orderBy: { field: CREATED_AT, direction: ASC }) {
    edges { node { id owner { name } team { name } mergedIds } }
  }
}";

const ACTIVITIES: &str = "query($n: Int!) {
  activities(first: $n) {
    edges { node { contact { firstName } meeting { host { name } notifications { status } } } }
  }
}";

const HISTORY: &str = "query($id: ID!, $n: Int!) {
  contact(id: $id) { history(first: $n) { edges { node { actor { name } } } } }
}";

async fn statements_so_far(server: &TestServer, admin: &str) -> u64 {
    let scrape = scrape(server, admin).await;
    value(&scrape, "contacts_db_statements_total", &[]).unwrap_or(0.0) as u64
}

/// What a scrape itself adds to the counter (`/metrics` reads the
/// deliveries' states from the database): two scrapes back to back.
async fn scrape_cost(server: &TestServer, admin: &str) -> u64 {
    let mut least = u64::MAX;
    for _ in 0..3 {
        let before = statements_so_far(server, admin).await;
        let after = statements_so_far(server, admin).await;
        least = least.min(after - before);
    }
    least
}

/// Every authenticated request reads the token generation once (a changed
/// role or a revoked token applies on the next request), whatever it asks.
const AUTHENTICATION: u64 = 1;

/// The statements `query` costs as the admin beyond authenticating, and
/// its data. The least of a
/// few runs, so a statement of some background work that happened to fall
/// in between is not counted against the page.
async fn cost(server: &TestServer, admin: &str, query: &str, variables: Value) -> (u64, Value) {
    let overhead = scrape_cost(server, admin).await;
    let mut least = u64::MAX;
    let mut data = Value::Null;
    for _ in 0..3 {
        let before = statements_so_far(server, admin).await;
        data = server.data(admin, query, variables.clone()).await;
        let after = statements_so_far(server, admin).await;
        least = least.min((after - before).saturating_sub(overhead + AUTHENTICATION));
    }
    (least, data)
}

/// The same page with 10 rows and with 50: both within `most` statements
/// (its own list and one batch per kind of row it reaches), and the longer
/// no dearer than the shorter.
async fn assert_constant(
    server: &TestServer,
    admin: &str,
    what: &str,
    most: u64,
    query: &str,
    variables: impl Fn(u64) -> Value,
    rows: impl Fn(&Value) -> usize,
) -> Value {
    let (ten, data) = cost(server, admin, query, variables(10)).await;
    assert_eq!(rows(&data), 10, "{what}: {data}");
    let (fifty, data) = cost(server, admin, query, variables(50)).await;
    assert_eq!(rows(&data), 50, "{what}: {data}");
    assert!(
        fifty <= most,
        "{what}: 50 rows cost {fifty} statements (10 rows: {ten}); at most {most} allowed"
    );
    assert!(
        fifty <= ten,
        "{what}: 50 rows cost {fifty} statements, 10 rows {ten}: the cost grows with the page"
    );
    data
}

fn edges(data: &Value, path: &[&str]) -> Vec<Value> {
    let mut at = data;
    for key in path {
        at = &at[*key];
    }
    at["edges"].as_array().cloned().unwrap_or_default()
}

fn at(from_now: Duration) -> String {
    (Utc::now() + from_now).to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[rstest]
#[tokio::test]
async fn a_page_costs_a_few_statements_however_long(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    // Background workers poll once at start, then keep still.
    let server = TestServer::start_on(
        TestDb::new(backend).await,
        &["--dispatch-interval-ms", "600000"],
    )
    .await;
    let admin = server.create_user("ann", "ADMIN", None);
    let zap = server.create_user("zap", "INTEGRATION", None);
    let teams = ["North", "South", "West"];
    for team in teams {
        server.create_team(team);
    }
    // Five members over three teams.
    let mut members = Vec::new();
    for i in 0..5 {
        let token = server.create_user(&format!("member{i}"), "MEMBER", Some(teams[i % 3]));
        let me = server
            .data(&token, "{ me { id teams { id } } }", json!({}))
            .await;
        members.push((
            token,
            me["me"]["id"].clone(),
            me["me"]["teams"][0]["id"].clone(),
        ));
    }

    // 50 contacts owned by five users, shared with three teams; the first
    // five each absorbed another one.
    let mut first_ids = Vec::new();
    for i in 0..50 {
        let (_, owner, team) = &members[i % 5];
        let contact = create(
            &server,
            &admin,
            json!({ "firstName": format!("C{i:02}"), "email": format!("c{i}@example.com"),
                    "ownerId": owner, "teamId": team }),
        )
        .await;
        if i < 5 {
            first_ids.push(contact["id"].clone());
        }
    }
    for (i, survivor) in first_ids.iter().enumerate() {
        let merged = create(
            &server,
            &admin,
            json!({ "email": format!("dup{i}@example.com") }),
        )
        .await;
        server
            .data(
                &admin,
                "mutation($s: ID!, $m: ID!) { mergeContacts(survivorId: $s, mergedId: $m, confirm: true) { contact { id } } }",
                json!({ "s": survivor, "m": merged["id"] }),
            )
            .await;
    }

    // 50 meetings hosted by the five, each with its notifications.
    let day = Duration::from_secs(86_400);
    for i in 0..50 {
        let (_, host, _) = &members[i % 5];
        server
            .data(
                &zap,
                "mutation($input: ActivityInput!) { recordActivity(input: $input) { created } }",
                json!({ "input": {
                    "kind": "MEETING",
                    "contact": { "firstName": format!("G{i:02}"), "email": format!("g{i}@example.com") },
                    "meeting": { "startsAt": at(2 * day), "endsAt": at(2 * day + Duration::from_secs(1800)),
                                 "hostUserId": host }
                } }),
            )
            .await;
    }

    // 50 edits of one contact of the North team, by the admin and North's
    // two members.
    let north = &members[0].2;
    let edited = create(
        &server,
        &admin,
        json!({ "email": "h@example.com", "teamId": north }),
    )
    .await["id"]
        .clone();
    let editors = [&admin, &members[0].0, &members[3].0];
    for i in 0..50 {
        server
            .data(
                editors[i % 3],
                UPDATE,
                json!({ "id": edited, "input": { "company": format!("v{i}") } }),
            )
            .await;
    }

    // Warm the token cache, and let whatever the writes woke settle.
    for token in [&admin, &zap] {
        server.data(token, "{ me { id } }", json!({})).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let data = assert_constant(
        &server,
        &admin,
        "contacts with owner, team and merged ids",
        // The page, owners, teams, merged ids.
        4,
        CONTACTS,
        |n| json!({ "n": n }),
        |data| edges(data, &["contacts"]).len(),
    )
    .await;
    let rows = edges(&data, &["contacts"]);
    let owners: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter_map(|e| e["node"]["owner"]["name"].as_str())
        .collect();
    assert_eq!(owners.len(), 5, "{owners:?}");
    assert!(rows.iter().all(|e| e["node"]["team"]["name"].is_string()));
    let merged = rows
        .iter()
        .filter(|e| {
            e["node"]["mergedIds"]
                .as_array()
                .is_some_and(|m| !m.is_empty())
        })
        .count();
    assert_eq!(merged, 5);

    let data = assert_constant(
        &server,
        &admin,
        "activities with contact, meeting, host and notifications",
        // The page, contacts, meetings, then hosts and notifications.
        5,
        ACTIVITIES,
        |n| json!({ "n": n }),
        |data| edges(data, &["activities"]).len(),
    )
    .await;
    for edge in edges(&data, &["activities"]) {
        let node = &edge["node"];
        assert!(node["contact"]["firstName"].is_string(), "{node}");
        assert!(node["meeting"]["host"]["name"].is_string(), "{node}");
        assert!(
            !node["meeting"]["notifications"]
                .as_array()
                .unwrap()
                .is_empty(),
            "{node}"
        );
    }

    let data = assert_constant(
        &server,
        &admin,
        "history with actors",
        // The contact (on SQLite a point read outside SeaORM), the page,
        // the actors.
        3,
        HISTORY,
        |n| json!({ "id": edited, "n": n }),
        |data| edges(data, &["contact", "history"]).len(),
    )
    .await;
    let history = edges(&data, &["contact", "history"]);
    let actors: std::collections::BTreeSet<&str> = history
        .iter()
        .filter_map(|e| e["node"]["actor"]["name"].as_str())
        .collect();
    assert_eq!(actors.len(), 3, "{actors:?}");
}

#[rstest]
#[tokio::test]
async fn a_page_of_users_costs_a_few_statements_however_long(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let mut teams = Vec::new();
    for name in ["Ops", "Sales", "Support"] {
        let team = server
            .data(
                &admin,
                "mutation($n: String!) { createTeam(name: $n) { id } }",
                json!({ "n": name }),
            )
            .await;
        teams.push(team["createTeam"]["id"].clone());
    }
    for i in 0..55 {
        server
            .data(
                &admin,
                "mutation($i: CreateUserInput!) { createUser(input: $i) { token } }",
                json!({ "i": { "name": format!("user{i:02}"), "role": "MEMBER",
                               "teamIds": [teams[i % 3].clone(), teams[(i + 1) % 3].clone()] } }),
            )
            .await;
    }
    let data = assert_constant(
        &server,
        &admin,
        "users with their teams",
        // The page, the memberships, the teams.
        3,
        "query($n: Int!) { users(first: $n) { edges { node { name teams { name } } } } }",
        |n| json!({ "n": n }),
        |data| edges(data, &["users"]).len(),
    )
    .await;
    let first = &edges(&data, &["users"])[0]["node"];
    assert_eq!(first["name"], "ann");
    let second = &edges(&data, &["users"])[1]["node"];
    assert_eq!(
        second["teams"],
        json!([{ "name": "Ops" }, { "name": "Sales" }])
    );
}

#[rstest]
#[tokio::test]
async fn a_page_of_merges_costs_a_few_statements_however_long(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ada = create(&server, &admin, json!({ "email": "ada@example.com" })).await;
    // Each confirmed create that changes Ada is a merge into her.
    for i in 0..55 {
        server
            .data(
                &admin,
                "mutation($t: String!) { createContact(input: { email: \"ada@example.com\", jobTitle: $t },
                   confirmMerge: true) { contact { id } } }",
                json!({ "t": format!("title {i}") }),
            )
            .await;
    }
    let data = assert_constant(
        &server,
        &admin,
        "merges with whether each can be undone and what it would keep",
        // The contact, the page, the newest standing merge, the survivor,
        // the users who merged.
        5,
        "query($id: ID!, $n: Int!) { contact(id: $id) { merges(first: $n) {
           edges { node { undoable editedSince mergedBy { name } survivor { id } } } } } }",
        |n| json!({ "id": ada["id"], "n": n }),
        |data| edges(data, &["contact", "merges"]).len(),
    )
    .await;
    let merges = edges(&data, &["contact", "merges"]);
    assert_eq!(merges[0]["node"]["undoable"], true, "the newest");
    assert!(merges[1..].iter().all(|m| m["node"]["undoable"] == false));
}
