//! `node(id:)` for every type with an id: the object for a caller who may
//! see it where it is listed, null for anyone else and for an id forged
//! from another type's, never an error that tells the two apart.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{SecondsFormat, Utc};
use rstest::rstest;
use serde_json::{Value, json};

use crate::import_jobs::start_job;
use crate::support::*;

const KINDS: [&str; 10] = [
    "Contact",
    "User",
    "Team",
    "ImportJob",
    "Activity",
    "Meeting",
    "Notification",
    "ContactChange",
    "Integration",
    "Delivery",
];

const RECORD: &str = "mutation($input: ActivityInput!) {
  recordActivity(input: $input) {
    contact { id }
    activity { id meeting { id notifications { id } } }
  }
}";

fn at(from_now: Duration) -> String {
    (Utc::now() + from_now).to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn meeting(email: &str, host: &Value) -> Value {
    let day = Duration::from_secs(86_400);
    json!({
        "kind": "MEETING",
        "contact": { "firstName": "Guest", "email": email },
        "meeting": { "startsAt": at(2 * day), "endsAt": at(2 * day + Duration::from_secs(1800)),
                     "hostUserId": host }
    })
}

/// The type and number a global id names.
fn decode(id: &str) -> (String, i64) {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(id).expect("base64url id")).unwrap();
    let (kind, number) = text.split_once(':').expect("Type:number");
    (kind.to_owned(), number.parse().expect("number"))
}

fn encode(kind: &str, number: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{number}"))
}

/// `node(id:)` of each id in one request (aliases), as `token`; returns
/// each answer, in order. Any error fails the test: a refusal is null.
async fn nodes(server: &TestServer, token: &str, ids: &[String]) -> Vec<Value> {
    let fields: String = ids
        .iter()
        .enumerate()
        .map(|(i, id)| format!("n{i}: node(id: \"{id}\") {{ __typename id }} "))
        .collect();
    let data = server
        .data(token, &format!("{{ {fields} }}"), json!({}))
        .await;
    (0..ids.len())
        .map(|i| data[format!("n{i}")].clone())
        .collect()
}

/// Asserts that `token` gets each of `ids` back as the object it names.
async fn sees(server: &TestServer, token: &str, who: &str, ids: &[String]) {
    for (id, answer) in ids.iter().zip(nodes(server, token, ids).await) {
        let (kind, _) = decode(id);
        assert_eq!(
            answer,
            json!({ "__typename": kind, "id": id }),
            "{who} should see {kind} {id}"
        );
    }
}

/// Asserts that `token` gets null for each of `ids`.
async fn sees_none(server: &TestServer, token: &str, who: &str, ids: &[String]) {
    for (id, answer) in ids.iter().zip(nodes(server, token, ids).await) {
        assert_eq!(answer, Value::Null, "{who} must not see {:?}", decode(id));
    }
}

#[rstest]
#[tokio::test]
async fn every_node_type_resolves_under_its_own_access_rule(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start_on(
        TestDb::new(backend).await,
        &["--allow-private-targets", "--dispatch-interval-ms", "60000"],
    )
    .await;
    server.create_team("Sales");
    server.create_team("Ops");
    let admin = server.create_user("ann", "ADMIN", None);
    let mia = server.create_user("mia", "MEMBER", Some("Sales"));
    let vic = server.create_user("vic", "VIEWER", Some("Sales"));
    let oz = server.create_user("oz", "MEMBER", Some("Ops"));
    let zap = server.create_user("zap", "INTEGRATION", None);

    // An integration whose deliveries are logged (nothing listens there,
    // and the dispatcher is idle for a minute).
    let connected = server
        .data(
            &admin,
            "mutation { connectWebhook(targetUrl: \"http://127.0.0.1:9/hook\", events: [CONTACT_CREATED]) { integration { id } } }",
            json!({}),
        )
        .await;
    let integration = connected["connectWebhook"]["integration"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mia_me = server
        .data(&mia, "{ me { id teams { id } } }", json!({}))
        .await;
    let mia_id = mia_me["me"]["id"].clone();
    let sales = mia_me["me"]["teams"][0]["id"].as_str().unwrap().to_owned();
    let oz_id = server.data(&oz, "{ me { id } }", json!({})).await["me"]["id"].clone();

    // Kim: mia's, shared with Sales, edited once, met by mia.
    let kim = create(
        &server,
        &mia,
        json!({ "firstName": "Kim", "email": "kim@example.com", "teamId": sales }),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .data(
            &mia,
            UPDATE,
            json!({ "id": kim, "input": { "company": "Acme" } }),
        )
        .await;
    let recorded = server
        .data(
            &zap,
            RECORD,
            json!({ "input": meeting("kim@example.com", &mia_id) }),
        )
        .await["recordActivity"]
        .clone();
    let activity = recorded["activity"]["id"].as_str().unwrap().to_owned();
    let meeting_id = recorded["activity"]["meeting"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let notifications: Vec<String> = recorded["activity"]["meeting"]["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!notifications.is_empty());
    let history: Vec<String> = server
        .data(
            &mia,
            "query($id: ID!) { contact(id: $id) { history(first: 100) { edges { node { id } } } } }",
            json!({ "id": kim }),
        )
        .await["contact"]["history"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(history.len() >= 2, "created and updated: {history:?}");
    let deliveries: Vec<String> = server
        .data(&admin, "{ integrations { deliveries { id } } }", json!({}))
        .await["integrations"][0]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!deliveries.is_empty(), "kim's creation was logged");
    let job = start_job(&server, &mia, b"Email\nnew@example.com\n", true, json!([])).await;

    // Lee: a meeting hosted by oz, whose contact oz then deletes. The
    // activity stays on the host's list, and so on node(id:).
    let lee = server
        .data(
            &zap,
            RECORD,
            json!({ "input": meeting("lee@example.com", &oz_id) }),
        )
        .await["recordActivity"]
        .clone();
    server
        .data(&oz, DELETE, json!({ "id": lee["contact"]["id"] }))
        .await;
    let hosted = vec![
        lee["activity"]["id"].as_str().unwrap().to_owned(),
        lee["activity"]["meeting"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        lee["activity"]["meeting"]["notifications"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    ];

    let mut of_kim = vec![kim.clone(), activity.clone(), meeting_id.clone()];
    of_kim.extend(notifications.iter().cloned());
    let mut mias = of_kim.clone();
    mias.extend(history.iter().cloned());
    mias.extend([
        mia_id.as_str().unwrap().to_owned(),
        sales.clone(),
        job.clone(),
    ]);
    let mut admins = vec![integration.clone()];
    admins.extend(deliveries.iter().cloned());

    // Those who may see them, each through its own rule.
    sees(&server, &mia, "mia", &mias).await;
    sees(&server, &oz, "the host", &hosted).await;
    sees(&server, &admin, "the admin", &admins).await;
    sees(&server, &admin, "the admin", &of_kim).await;
    sees(&server, &admin, "the admin", &history).await;
    sees(&server, &admin, "the admin", &hosted).await;
    sees(&server, &vic, "a viewer of Sales", &of_kim).await;

    // A member of another team sees nothing of mia's, not even that it exists.
    sees_none(&server, &oz, "oz", &mias).await;
    sees_none(&server, &oz, "oz", &admins).await;
    // Mia neither sees oz's hosted meeting nor the admin's integrations.
    sees_none(&server, &mia, "mia", &hosted).await;
    sees_none(&server, &mia, "mia", &admins).await;
    // History is behind its guard: a viewer of the team, and an
    // integration that reaches every contact, get null.
    sees_none(&server, &vic, "a viewer", &history).await;
    sees_none(&server, &zap, "an integration", &history).await;
    sees_none(&server, &zap, "an integration", &admins).await;
    // Users and teams: only oneself and one's teams.
    sees_none(&server, &vic, "vic", &[mia_id.as_str().unwrap().to_owned()]).await;
    sees_none(&server, &oz, "oz", std::slice::from_ref(&sales)).await;

    // Every id mia sees, forged into each other type: null unless that
    // names something mia sees too.
    let visible: BTreeSet<(String, i64)> = mias.iter().map(|id| decode(id)).collect();
    let forged: Vec<String> = visible
        .iter()
        .flat_map(|(_, number)| KINDS.iter().map(move |kind| (kind.to_string(), *number)))
        .filter(|pair| !visible.contains(pair))
        .map(|(kind, number)| encode(&kind, number))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(forged.len() >= 10, "{forged:?}");
    sees_none(&server, &mia, "mia, forged", &forged).await;

    // Root fields that name their type find nothing under another type's id.
    let data = server
        .data(
            &mia,
            "query($a: ID!, $c: ID!) { contact(id: $a) { id } importJob(id: $c) { id } }",
            json!({ "a": activity, "c": kim }),
        )
        .await;
    assert_eq!(data, json!({ "contact": null, "importJob": null }));
}
