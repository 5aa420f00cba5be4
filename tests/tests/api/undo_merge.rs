//! Reversible merges (issue 20, DESIGN.md sections 4 and 13): a merge by
//! each door is a `Merge` that `undoMerge` gives back, with what moved,
//! the old id resolving to the restored contact again, and fields edited
//! since kept and named; the refusals leave everything as it was.

use chrono::{SecondsFormat, Utc};
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::*;

const MERGE: &str = "mutation($s: ID!, $m: ID!) {
  mergeContacts(survivorId: $s, mergedId: $m, confirm: true) { contact { id version } } }";
const MERGES: &str = "query($id: ID!) { contact(id: $id) { id version
  merges { totalCount edges { node { id mergedId undoneAt undoable editedSince source mergedBy { name }
    fields { field outcome }
    absorbed { fields { field value } owner { name } }
    survivorBefore { field value } survivorAfter { field value }
    movedCounts { activities meetings notifications aliases }
    movedActivityIds movedMeetingIds movedNotificationIds movedAliasIds } } } } }";
const UNDO: &str = "mutation($id: ID!, $v: Int) { undoMerge(id: $id, expectedSurvivorVersion: $v) {
  survivor { id firstName email mobilePhone company jobTitle version }
  restored { id firstName email mobilePhone company owner { name } }
  keptFields } }";
const READ: &str =
    "query($id: ID!) { contact(id: $id) { id firstName email mobilePhone company jobTitle
  history { edges { node { action mergedContactId } } } } }";
const MEETINGS: &str = "query($id: ID!) { activities(filter: { contactId: $id }) { totalCount
  edges { node { meeting { notifications { recipient status } } } } } }";

fn in_two_days() -> (String, String) {
    let start = Utc::now() + chrono::Duration::days(2);
    let end = start + chrono::Duration::minutes(30);
    (
        start.to_rfc3339_opts(SecondsFormat::Millis, true),
        end.to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}

async fn merges_of(server: &TestServer, token: &str, id: &Value) -> Value {
    server.data(token, MERGES, json!({ "id": id })).await["contact"]["merges"].clone()
}

fn recipients(activities: &Value) -> Vec<String> {
    activities["activities"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|edge| {
            edge["node"]["meeting"]["notifications"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|n| n["recipient"].as_str().unwrap().to_owned())
        .collect()
}

#[rstest]
#[tokio::test]
async fn a_merge_of_two_records_is_undone_with_what_moved(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ada = create(
        &server,
        &admin,
        json!({ "firstName": "Ada", "email": "ada@example.com", "company": "Acme" }),
    )
    .await;
    let bo = create(
        &server,
        &admin,
        json!({ "firstName": "Bo", "mobilePhone": "+14155550101", "jobTitle": "CTO" }),
    )
    .await;
    // A meeting of Ada's with reminders planned to her email.
    let (starts, ends) = in_two_days();
    server
        .data(
            &admin,
            "mutation($input: ActivityInput!) { recordActivity(input: $input) { created } }",
            json!({ "input": { "kind": "MEETING", "contact": { "email": "ada@example.com" },
                    "meeting": { "startsAt": starts, "endsAt": ends } } }),
        )
        .await;
    let before = server
        .data(&admin, MEETINGS, json!({ "id": ada["id"] }))
        .await;
    assert!(recipients(&before).iter().all(|r| r == "ada@example.com"));
    assert!(!recipients(&before).is_empty());

    server
        .data(&admin, MERGE, json!({ "s": bo["id"], "m": ada["id"] }))
        .await;
    let merges = merges_of(&server, &admin, &bo["id"]).await;
    assert_eq!(merges["totalCount"], 1);
    let merge = merges["edges"][0]["node"].clone();
    assert_eq!(merge["mergedId"], ada["id"]);
    assert_eq!(merge["undoneAt"], Value::Null);
    assert_eq!(merge["mergedBy"]["name"], "ann");
    // What it changed: the absorbed record as it was, the survivor before
    // and after, and what moved.
    let value = |list: &Value, field: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == field)
            .map(|f| f["value"].clone())
            .unwrap()
    };
    assert_eq!(
        value(&merge["absorbed"]["fields"], "email"),
        "ada@example.com"
    );
    assert_eq!(merge["absorbed"]["owner"]["name"], "ann");
    assert_eq!(value(&merge["survivorBefore"], "firstName"), "Bo");
    assert_eq!(value(&merge["survivorAfter"], "firstName"), "Ada");
    assert_eq!(merge["movedActivityIds"].as_array().unwrap().len(), 1);
    assert_eq!(merge["movedMeetingIds"].as_array().unwrap().len(), 1);
    assert_eq!(
        merge["movedNotificationIds"].as_array().unwrap().len(),
        recipients(&before).len()
    );
    // The old id resolves to the survivor while the merge stands.
    let via_old = server.data(&admin, READ, json!({ "id": ada["id"] })).await;
    assert_eq!(via_old["contact"]["id"], bo["id"]);

    // Bo's company is edited after the merge: it stays, and is named.
    let current = server.data(&admin, GET, json!({ "id": bo["id"] })).await;
    server
        .data(
            &admin,
            UPDATE,
            json!({ "id": bo["id"], "input": { "company": "Beta" }, "v": current["contact"]["version"] }),
        )
        .await;
    let version =
        server.data(&admin, GET, json!({ "id": bo["id"] })).await["contact"]["version"].clone();
    // Before the undo, the merge says which fields it would keep.
    assert_eq!(merge["editedSince"], json!([]), "nothing edited yet");
    let standing = merges_of(&server, &admin, &bo["id"]).await;
    assert_eq!(
        standing["edges"][0]["node"]["editedSince"],
        json!(["COMPANY"])
    );

    let undone = server
        .data(&admin, UNDO, json!({ "id": merge["id"], "v": version }))
        .await["undoMerge"]
        .clone();
    assert_eq!(undone["restored"]["id"], ada["id"]);
    assert_eq!(undone["restored"]["firstName"], "Ada");
    assert_eq!(undone["restored"]["email"], "ada@example.com");
    assert_eq!(undone["restored"]["company"], "Acme");
    assert_eq!(undone["restored"]["owner"]["name"], "ann");
    assert_eq!(undone["survivor"]["firstName"], "Bo", "overwritten: back");
    assert_eq!(
        undone["survivor"]["email"],
        Value::Null,
        "filled: back to blank"
    );
    assert_eq!(undone["survivor"]["mobilePhone"], "+14155550101");
    assert_eq!(undone["survivor"]["jobTitle"], "CTO");
    assert_eq!(undone["survivor"]["company"], "Beta", "edited since: kept");
    assert_eq!(undone["keptFields"], json!(["COMPANY"]));

    // The old id is Ada's again, with her history, her meeting and her
    // reminders, addressed to her again.
    let ada_again = server.data(&admin, READ, json!({ "id": ada["id"] })).await;
    assert_eq!(ada_again["contact"]["id"], ada["id"]);
    let actions: Vec<&str> = ada_again["contact"]["history"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["UNMERGED", "CREATED"]);
    let after = server
        .data(&admin, MEETINGS, json!({ "id": ada["id"] }))
        .await;
    assert_eq!(after["activities"]["totalCount"], 1);
    assert_eq!(recipients(&after), recipients(&before));
    let bo_history = server.data(&admin, READ, json!({ "id": bo["id"] })).await;
    let newest = &bo_history["contact"]["history"]["edges"][0]["node"];
    assert_eq!(newest["action"], "UNMERGED");
    assert_eq!(newest["mergedContactId"], ada["id"]);
    assert_eq!(
        server
            .data(&admin, MEETINGS, json!({ "id": bo["id"] }))
            .await["activities"]["totalCount"],
        0
    );
    assert_eq!(visible_count(&server, &admin).await, 2);

    // Once: a second undo changes nothing.
    let (_, body) = server
        .post(&admin, UNDO, json!({ "id": merge["id"] }))
        .await;
    assert_eq!(error_codes(&body), ["CONFLICT"], "{body}");
    let merges = merges_of(&server, &admin, &bo["id"]).await;
    assert!(merges["edges"][0]["node"]["undoneAt"].is_string());
    assert_eq!(merges["edges"][0]["node"]["undoable"], false);
    assert_eq!(merges["edges"][0]["node"]["editedSince"], json!([]));
}

#[rstest]
#[tokio::test]
async fn merges_by_edit_and_by_create_are_undone_too(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let mo = server.create_user("mo", "MEMBER", None);
    let cy = create(
        &server,
        &mo,
        json!({ "firstName": "Cy", "email": "cy@example.com" }),
    )
    .await;
    let di = create(
        &server,
        &mo,
        json!({ "firstName": "Di", "email": "di@example.com" }),
    )
    .await;

    // An edit into another contact's email, confirmed: Cy is absorbed.
    server
        .data(
            &mo,
            "mutation($id: ID!) { updateContact(id: $id, input: { email: \"di@example.com\" },
               confirmMerge: true) { contact { id } } }",
            json!({ "id": cy["id"] }),
        )
        .await;
    assert_eq!(visible_count(&server, &mo).await, 1);
    let merge = merges_of(&server, &mo, &di["id"]).await["edges"][0]["node"].clone();
    let undone = server.data(&mo, UNDO, json!({ "id": merge["id"] })).await["undoMerge"].clone();
    assert_eq!(undone["restored"]["id"], cy["id"]);
    assert_eq!(undone["restored"]["email"], "cy@example.com");
    assert_eq!(undone["survivor"]["email"], "di@example.com");
    assert_eq!(visible_count(&server, &mo).await, 2);

    // A create whose email another contact holds, confirmed: its values
    // merge into Di; undone, Di is as before and nothing is restored.
    server
        .data(
            &mo,
            "mutation { createContact(input: { email: \"di@example.com\", jobTitle: \"VP\" },
               confirmMerge: true) { contact { id jobTitle } } }",
            json!({}),
        )
        .await;
    let merges = merges_of(&server, &mo, &di["id"]).await;
    assert_eq!(merges["totalCount"], 2);
    let newest = merges["edges"][0]["node"].clone();
    assert_eq!(newest["mergedId"], Value::Null);
    let undone = server.data(&mo, UNDO, json!({ "id": newest["id"] })).await["undoMerge"].clone();
    assert_eq!(undone["restored"], Value::Null);
    assert_eq!(undone["survivor"]["jobTitle"], Value::Null);
    assert_eq!(visible_count(&server, &mo).await, 2);
}

#[rstest]
#[tokio::test]
async fn refusals_change_nothing(#[values(Backend::Sqlite, Backend::Postgres)] backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let viewer = server.create_user("vi", "VIEWER", None);
    let zap = server.create_user("zap", "INTEGRATION", None);
    let ada = create(
        &server,
        &admin,
        json!({ "firstName": "Ada", "email": "ada@example.com" }),
    )
    .await;
    let bo = create(
        &server,
        &admin,
        json!({ "firstName": "Bo", "email": "bo@example.com" }),
    )
    .await;
    let cy = create(
        &server,
        &admin,
        json!({ "firstName": "Cy", "email": "cy@example.com" }),
    )
    .await;
    server
        .data(&admin, MERGE, json!({ "s": bo["id"], "m": ada["id"] }))
        .await;
    server
        .data(&admin, MERGE, json!({ "s": bo["id"], "m": cy["id"] }))
        .await;
    let merges = merges_of(&server, &admin, &bo["id"]).await;
    let (second, first) = (
        merges["edges"][0]["node"]["id"].clone(),
        merges["edges"][1]["node"]["id"].clone(),
    );
    assert_eq!(merges["edges"][0]["node"]["undoable"], true);
    assert_eq!(
        merges["edges"][1]["node"]["undoable"], false,
        "the newer one first"
    );

    for token in [&viewer, &zap] {
        let (_, body) = server.post(token, UNDO, json!({ "id": first })).await;
        assert_eq!(error_codes(&body), ["FORBIDDEN"], "{body}");
    }
    // In order: the later merge first.
    let (_, body) = server.post(&admin, UNDO, json!({ "id": first })).await;
    assert_eq!(error_codes(&body), ["CONFLICT"]);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(second.as_str().unwrap()),
        "{body}"
    );
    server.data(&admin, UNDO, json!({ "id": second })).await;

    // Ada's email went to Bo; Bo changes it, and a new contact takes it.
    let bo_now = server.data(&admin, GET, json!({ "id": bo["id"] })).await;
    assert_eq!(bo_now["contact"]["email"], "ada@example.com");
    server
        .data(
            &admin,
            UPDATE,
            json!({ "id": bo["id"], "input": { "email": "bo2@example.com" } }),
        )
        .await;
    let eve = create(
        &server,
        &admin,
        json!({ "firstName": "Eve", "email": "ada@example.com" }),
    )
    .await;
    let before = server.data(&admin, GET, json!({ "id": bo["id"] })).await;
    let (_, body) = server.post(&admin, UNDO, json!({ "id": first })).await;
    assert_eq!(error_codes(&body), ["CONFLICT"], "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "email");
    let after = server.data(&admin, GET, json!({ "id": bo["id"] })).await;
    assert_eq!(after, before, "nothing changed");
    let still = server.data(&admin, GET, json!({ "id": ada["id"] })).await;
    assert_eq!(still["contact"]["id"], bo["id"], "Ada is not back");
    let eve_now = server.data(&admin, GET, json!({ "id": eve["id"] })).await;
    assert_eq!(eve_now["contact"]["email"], "ada@example.com");

    // A stale survivor version is a CONFLICT too.
    server
        .data(
            &admin,
            UPDATE,
            json!({ "id": eve["id"], "input": { "email": "eve@example.com" } }),
        )
        .await;
    let (_, body) = server
        .post(&admin, UNDO, json!({ "id": first, "v": 1 }))
        .await;
    assert_eq!(error_codes(&body), ["CONFLICT"]);
    server.data(&admin, UNDO, json!({ "id": first })).await;
    assert_eq!(visible_count(&server, &admin).await, 4);
}

#[rstest]
#[tokio::test]
async fn sixteen_undos_of_one_merge_give_it_back_once(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ada = create(
        &server,
        &admin,
        json!({ "firstName": "Ada", "email": "ada@example.com" }),
    )
    .await;
    let bo = create(
        &server,
        &admin,
        json!({ "firstName": "Bo", "email": "bo@example.com" }),
    )
    .await;
    server
        .data(&admin, MERGE, json!({ "s": bo["id"], "m": ada["id"] }))
        .await;
    let merge = merges_of(&server, &admin, &bo["id"]).await["edges"][0]["node"]["id"].clone();
    let calls = (0..16).map(|_| server.post(&admin, UNDO, json!({ "id": merge })));
    let answers = futures_util::future::join_all(calls).await;
    let mut done = 0;
    for (_, body) in &answers {
        match error_codes(body).as_slice() {
            [] => done += 1,
            [code] => assert_eq!(code, "CONFLICT", "{body}"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(done, 1);
    assert_eq!(visible_count(&server, &admin).await, 2);
    let history = server.data(&admin, READ, json!({ "id": ada["id"] })).await;
    let unmerged = history["contact"]["history"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["action"] == "UNMERGED")
        .count();
    assert_eq!(unmerged, 1, "nothing doubled");
}

#[rstest]
#[tokio::test]
async fn chosen_sides_are_previewed_applied_and_undone(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ada = create(
        &server,
        &admin,
        json!({ "firstName": "Ada", "email": "ada@example.com", "company": "Acme" }),
    )
    .await;
    let bo = create(
        &server,
        &admin,
        json!({ "firstName": "Bo", "mobilePhone": "+14155550101", "company": "Beta" }),
    )
    .await;
    let merge = "mutation($s: ID!, $m: ID!, $confirm: Boolean, $choices: [FieldChoice!]) {
      mergeContacts(survivorId: $s, mergedId: $m, confirm: $confirm, choices: $choices) {
        contact { id firstName email company }
        mergePreview { fields { field current incoming outcome } } } }";
    let choices = json!([
        { "field": "FIRST_NAME", "keep": "SURVIVOR" },
        { "field": "COMPANY", "keep": "SURVIVOR" },
        { "field": "EMAIL", "keep": "INCOMING" }
    ]);
    let preview = server
        .data(
            &admin,
            merge,
            json!({ "s": bo["id"], "m": ada["id"], "choices": choices }),
        )
        .await["mergeContacts"]["mergePreview"]["fields"]
        .clone();
    let outcome = |field: &str| {
        preview
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == field)
            .map(|f| f["outcome"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(outcome("firstName"), "RETAINED");
    assert_eq!(outcome("company"), "RETAINED");
    assert_eq!(outcome("email"), "FILLED");
    let merged = server
        .data(
            &admin,
            merge,
            json!({ "s": bo["id"], "m": ada["id"], "confirm": true, "choices": choices }),
        )
        .await["mergeContacts"]["contact"]
        .clone();
    assert_eq!(merged["firstName"], "Bo");
    assert_eq!(merged["company"], "Beta");
    assert_eq!(merged["email"], "ada@example.com");
    let kept = merges_of(&server, &admin, &bo["id"]).await["edges"][0]["node"].clone();
    assert!(
        kept["fields"]
            .as_array()
            .unwrap()
            .contains(&json!({ "field": "firstName", "outcome": "RETAINED" }))
    );
    let undone = server.data(&admin, UNDO, json!({ "id": kept["id"] })).await["undoMerge"].clone();
    assert_eq!(undone["survivor"]["email"], Value::Null);
    assert_eq!(undone["survivor"]["company"], "Beta");
    assert_eq!(undone["restored"]["company"], "Acme");

    // Only a contact's own fields are chosen, each once.
    for bad in [
        json!([{ "field": "OWNER", "keep": "SURVIVOR" }]),
        json!([{ "field": "EMAIL", "keep": "SURVIVOR" }, { "field": "EMAIL", "keep": "INCOMING" }]),
    ] {
        let (_, body) = server
            .post(
                &admin,
                merge,
                json!({ "s": bo["id"], "m": ada["id"], "choices": bad }),
            )
            .await;
        assert_eq!(error_codes(&body), ["VALIDATION"], "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "choices");
    }
}

/// An activity and an imported row merge their values into the contact
/// holding their identity: each is a Merge, undone like any other.
#[rstest]
#[tokio::test]
async fn merges_by_an_activity_and_an_import_are_undone(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ada = create(
        &server,
        &admin,
        json!({ "firstName": "Ada", "email": "ada@example.com", "company": "Acme" }),
    )
    .await;
    server
        .data(
            &admin,
            "mutation($input: ActivityInput!) { recordActivity(input: $input) { created } }",
            json!({ "input": { "kind": "CHATBOT",
                    "contact": { "email": "ada@example.com", "company": "Globex" } } }),
        )
        .await;
    let job = crate::import_jobs::start_job(
        &server,
        &admin,
        b"Email,Job Title\nada@example.com,CFO\n",
        false,
        json!([]),
    )
    .await;
    let done = crate::import_jobs::finished(&server, &admin, &job).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");

    let merges = merges_of(&server, &admin, &ada["id"]).await;
    assert_eq!(merges["totalCount"], 2);
    let sources: Vec<&str> = merges["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["IMPORT", "CHATBOT"]);
    let (import, activity) = (
        merges["edges"][0]["node"]["id"].clone(),
        merges["edges"][1]["node"]["id"].clone(),
    );
    let undone = server.data(&admin, UNDO, json!({ "id": import })).await["undoMerge"].clone();
    assert_eq!(undone["restored"], Value::Null);
    assert_eq!(undone["survivor"]["jobTitle"], Value::Null);
    assert_eq!(undone["survivor"]["company"], "Globex");
    let undone = server.data(&admin, UNDO, json!({ "id": activity })).await["undoMerge"].clone();
    assert_eq!(undone["survivor"]["company"], "Acme");
}

/// Pending reminders follow the survivor's email in a merge, and go back
/// to the restored contact's when it is undone.
#[rstest]
#[tokio::test]
async fn reminders_are_readdressed_by_the_merge_and_back_by_the_undo(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ada = create(
        &server,
        &admin,
        json!({ "firstName": "Ada", "email": "ada@example.com" }),
    )
    .await;
    let bo = create(
        &server,
        &admin,
        json!({ "firstName": "Bo", "email": "bo@example.com" }),
    )
    .await;
    let (starts, ends) = in_two_days();
    server
        .data(
            &admin,
            "mutation($input: ActivityInput!) { recordActivity(input: $input) { created } }",
            json!({ "input": { "kind": "MEETING", "contact": { "email": "ada@example.com" },
                    "meeting": { "startsAt": starts, "endsAt": ends } } }),
        )
        .await;
    // Bo keeps his email by choice: Ada's reminders now go to him.
    server
        .data(
            &admin,
            "mutation($s: ID!, $m: ID!) { mergeContacts(survivorId: $s, mergedId: $m, confirm: true,
               choices: [{ field: EMAIL, keep: SURVIVOR }]) { contact { email } } }",
            json!({ "s": bo["id"], "m": ada["id"] }),
        )
        .await;
    let merged = server
        .data(&admin, MEETINGS, json!({ "id": bo["id"] }))
        .await;
    let during = recipients(&merged);
    assert!(!during.is_empty());
    assert!(during.iter().all(|r| r == "bo@example.com"), "{during:?}");

    let merge = merges_of(&server, &admin, &bo["id"]).await["edges"][0]["node"]["id"].clone();
    server.data(&admin, UNDO, json!({ "id": merge })).await;
    let back = server
        .data(&admin, MEETINGS, json!({ "id": ada["id"] }))
        .await;
    let after = recipients(&back);
    assert_eq!(after.len(), during.len());
    assert!(after.iter().all(|r| r == "ada@example.com"), "{after:?}");
}

/// A survivor merged away since stands for another contact: its merges
/// wait until that merge is undone, then come back in turn.
#[rstest]
#[tokio::test]
async fn a_chain_of_merges_is_undone_from_the_last(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ada = create(
        &server,
        &admin,
        json!({ "firstName": "Ada", "email": "ada@example.com" }),
    )
    .await;
    let bo = create(
        &server,
        &admin,
        json!({ "firstName": "Bo", "email": "bo@example.com" }),
    )
    .await;
    let cy = create(
        &server,
        &admin,
        json!({ "firstName": "Cy", "email": "cy@example.com" }),
    )
    .await;
    // Ada into Bo, then Bo into Cy.
    server
        .data(&admin, MERGE, json!({ "s": bo["id"], "m": ada["id"] }))
        .await;
    let first = merges_of(&server, &admin, &bo["id"]).await["edges"][0]["node"]["id"].clone();
    server
        .data(&admin, MERGE, json!({ "s": cy["id"], "m": bo["id"] }))
        .await;
    let second = merges_of(&server, &admin, &cy["id"]).await["edges"][0]["node"]["id"].clone();
    assert_eq!(visible_count(&server, &admin).await, 1);

    let (_, body) = server.post(&admin, UNDO, json!({ "id": first })).await;
    assert_eq!(error_codes(&body), ["CONFLICT"], "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(cy["id"].as_str().unwrap()),
        "{body}"
    );
    let restored =
        server.data(&admin, UNDO, json!({ "id": second })).await["undoMerge"]["restored"].clone();
    assert_eq!(restored["id"], bo["id"]);
    let restored =
        server.data(&admin, UNDO, json!({ "id": first })).await["undoMerge"]["restored"].clone();
    assert_eq!(restored["id"], ada["id"]);
    assert_eq!(restored["email"], "ada@example.com");
    assert_eq!(visible_count(&server, &admin).await, 3);
    for (contact, email) in [
        (&ada, "ada@example.com"),
        (&bo, "bo@example.com"),
        (&cy, "cy@example.com"),
    ] {
        let read = server
            .data(&admin, GET, json!({ "id": contact["id"] }))
            .await;
        assert_eq!(read["contact"]["id"], contact["id"]);
        assert_eq!(read["contact"]["email"], email);
    }
}

/// The property, over HTTP: whatever two contacts hold, merging one into
/// the other and undoing it with nothing edited between gives both back
/// field for field (cases drawn by proptest, deterministically).
#[rstest]
#[tokio::test]
async fn merge_then_undo_gives_both_records_back_field_for_field(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;

    const FULL: &str = "query($id: ID!) { contact(id: $id) { id firstName lastName email
      mobilePhone company jobTitle timezone owner { name } team { name } } }";
    let server = TestServer::start(backend).await;
    server.create_team("Ops");
    let admin = server.create_user("ann", "ADMIN", Some("Ops"));
    let ops = server
        .data(&admin, "{ me { teams { id } } }", json!({}))
        .await["me"]["teams"][0]["id"]
        .clone();
    let text = || proptest::option::of("[A-Z][a-z]{0,5}");
    let timezone = proptest::option::of(proptest::sample::select(vec![
        "Europe/Paris",
        "America/New_York",
        "Asia/Tokyo",
    ]));
    let side = (
        text(),
        text(),
        proptest::bool::ANY,
        text(),
        text(),
        timezone,
        proptest::bool::ANY,
    );
    let mut runner = TestRunner::deterministic();
    for case in 0..12 {
        let mut ids = Vec::new();
        for (who, digits) in [("a", 1), ("b", 2)] {
            let (first, last, phone, company, job, tz, shared) =
                side.new_tree(&mut runner).expect("a case").current();
            let mut input = json!({
                "firstName": first, "lastName": last,
                "email": format!("{who}{case}@example.com"),
                "company": company, "jobTitle": job, "timezone": tz,
            });
            if phone {
                input["mobilePhone"] = json!(format!("+1415555{digits}{case:03}"));
            }
            if shared {
                input["teamId"] = ops.clone();
            }
            ids.push(create(&server, &admin, input).await["id"].clone());
        }
        let read = |id: Value| {
            let server = &server;
            let admin = &admin;
            async move { server.data(admin, FULL, json!({ "id": id })).await["contact"].clone() }
        };
        let before = (read(ids[0].clone()).await, read(ids[1].clone()).await);
        server
            .data(&admin, MERGE, json!({ "s": ids[1], "m": ids[0] }))
            .await;
        let merge = merges_of(&server, &admin, &ids[1]).await["edges"][0]["node"]["id"].clone();
        let undone = server.data(&admin, UNDO, json!({ "id": merge })).await;
        assert_eq!(undone["undoMerge"]["keptFields"], json!([]));
        let after = (read(ids[0].clone()).await, read(ids[1].clone()).await);
        assert_eq!(after, before, "case {case}");
    }
}

/// A contact with more activities than a statement may name (SQLite takes
/// 32,766 bound values, PostgreSQL 65,535) is merged and given back whole.
#[rstest]
#[tokio::test]
async fn a_contact_with_seventy_thousand_activities_comes_back_whole(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    const MANY: i64 = 70_000;
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ada = create(
        &server,
        &admin,
        json!({ "firstName": "Ada", "email": "ada@example.com" }),
    )
    .await;
    let bo = create(
        &server,
        &admin,
        json!({ "firstName": "Bo", "email": "bo@example.com" }),
    )
    .await;
    let ada_number: i64 = {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(ada["id"].as_str().unwrap())
            .unwrap();
        String::from_utf8(decoded).unwrap()["Contact:".len()..]
            .parse()
            .unwrap()
    };
    {
        use sea_orm::{ConnectionTrait, Database};
        let db = Database::connect(&server.db.url).await.expect("connect");
        db.execute_unprepared(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {MANY})
             INSERT INTO activities (kind, occurred_at, contact_id, submitted, created_at)
             SELECT 'CHATBOT', i, {ada_number}, '{{}}', i FROM n"
        ))
        .await
        .expect("many activities");
        db.close().await.ok();
    }
    let count = |id: Value| {
        let server = &server;
        let admin = &admin;
        async move {
            server
                .data(
                    admin,
                    "query($id: ID!) { activities(filter: { contactId: $id }, first: 1) { totalCount } }",
                    json!({ "id": id }),
                )
                .await["activities"]["totalCount"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(count(ada["id"].clone()).await, MANY);
    server
        .data(&admin, MERGE, json!({ "s": bo["id"], "m": ada["id"] }))
        .await;
    assert_eq!(count(bo["id"].clone()).await, MANY);
    let node = merges_of(&server, &admin, &bo["id"]).await["edges"][0]["node"].clone();
    // Counted whole, listed a page at a time.
    assert_eq!(node["movedCounts"]["activities"], MANY);
    assert_eq!(node["movedActivityIds"].as_array().unwrap().len(), 20);
    let merge = node["id"].clone();
    server.data(&admin, UNDO, json!({ "id": merge })).await;
    assert_eq!(count(ada["id"].clone()).await, MANY);
    assert_eq!(count(bo["id"].clone()).await, 0);
}

/// An undo is refused, changing nothing, when the survivor's own earlier
/// email is held by a third contact now (CONFLICT naming it, was an
/// INTERNAL unique violation), when the contact it brings back is out of
/// the caller's reach (merging needs access to both; so does undoing),
/// when the caller may not write a field it gives back, and when the
/// survivor was absorbed since (the message names that merge).
#[rstest]
#[tokio::test]
async fn undo_takes_identities_access_and_policies_as_a_merge_does(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let mo = server.create_user("mo", "MEMBER", None);

    // Ada's own email goes when Bo's overwrites it; Cy takes it since.
    let ada = create(
        &server,
        &mo,
        json!({ "firstName": "Ada", "email": "ada@example.com", "company": "Acme" }),
    )
    .await;
    let bo = create(
        &server,
        &mo,
        json!({ "firstName": "Bo", "email": "bo@example.com", "company": "Beta" }),
    )
    .await;
    server
        .data(&mo, MERGE, json!({ "s": ada["id"], "m": bo["id"] }))
        .await;
    let merge = merges_of(&server, &mo, &ada["id"]).await["edges"][0]["node"]["id"].clone();
    let cy = create(
        &server,
        &admin,
        json!({ "firstName": "Cy", "email": "ada@example.com" }),
    )
    .await;
    let before = server.data(&admin, GET, json!({ "id": ada["id"] })).await;
    let (_, body) = server.post(&mo, UNDO, json!({ "id": merge })).await;
    assert_eq!(error_codes(&body), ["CONFLICT"], "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "email");
    assert_eq!(
        server.data(&admin, GET, json!({ "id": ada["id"] })).await,
        before
    );

    // A member who may not write the company the undo gives back.
    server
        .data(
            &admin,
            UPDATE,
            json!({ "id": cy["id"], "input": { "email": "cy@example.com" } }),
        )
        .await;
    server
        .data(
            &admin,
            "mutation { setFieldPolicy(role: MEMBER, field: COMPANY, access: READ) { access } }",
            json!({}),
        )
        .await;
    let (_, body) = server.post(&mo, UNDO, json!({ "id": merge })).await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"], "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "company");
    assert_eq!(
        server.data(&admin, GET, json!({ "id": ada["id"] })).await,
        before
    );
    server
        .data(
            &admin,
            "mutation { setFieldPolicy(role: MEMBER, field: COMPANY, access: WRITE) { access } }",
            json!({}),
        )
        .await;
    let undone = server.data(&mo, UNDO, json!({ "id": merge })).await;
    assert_eq!(undone["undoMerge"]["survivor"]["email"], "ada@example.com");
    assert_eq!(undone["undoMerge"]["restored"]["id"], bo["id"]);

    // The admin merges the admin's own contact into the member's: the
    // member cannot bring back a contact out of reach.
    let nick = create(
        &server,
        &admin,
        json!({ "firstName": "Nick", "email": "nick@example.com" }),
    )
    .await;
    server
        .data(&admin, MERGE, json!({ "s": ada["id"], "m": nick["id"] }))
        .await;
    let of_nick = merges_of(&server, &mo, &ada["id"]).await["edges"][0]["node"].clone();
    assert_eq!(of_nick["mergedId"], nick["id"]);
    assert_eq!(
        of_nick["absorbed"],
        Value::Null,
        "out of the member's reach"
    );
    let seen_by_admin = merges_of(&server, &admin, &ada["id"]).await["edges"][0]["node"].clone();
    assert_eq!(seen_by_admin["absorbed"]["owner"]["name"], "ann");
    let before = server.data(&admin, GET, json!({ "id": ada["id"] })).await;
    let (_, body) = server.post(&mo, UNDO, json!({ "id": of_nick["id"] })).await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"], "{body}");
    assert_eq!(
        server.data(&admin, GET, json!({ "id": ada["id"] })).await,
        before
    );

    // Ada is absorbed into Dee since: the refusal names that merge.
    let dee = create(
        &server,
        &admin,
        json!({ "firstName": "Dee", "email": "dee@example.com" }),
    )
    .await;
    server
        .data(&admin, MERGE, json!({ "s": dee["id"], "m": ada["id"] }))
        .await;
    let later = merges_of(&server, &admin, &dee["id"]).await["edges"][0]["node"]["id"].clone();
    let (_, body) = server
        .post(&admin, UNDO, json!({ "id": of_nick["id"] }))
        .await;
    assert_eq!(error_codes(&body), ["CONFLICT"], "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(later.as_str().unwrap()), "{message}");
    server.data(&admin, UNDO, json!({ "id": later })).await;
    let back = server
        .data(&admin, UNDO, json!({ "id": of_nick["id"] }))
        .await;
    assert_eq!(back["undoMerge"]["restored"]["id"], nick["id"]);
}

/// A merge that leaves the survivor without a phone cancels the absorbed
/// contact's text reminders (there is no one to text); its undo gives the
/// phone back, and the reminders are sent again, to it.
#[rstest]
#[tokio::test]
async fn reminders_a_merge_canceled_are_pending_again_after_the_undo(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ada = create(
        &server,
        &admin,
        json!({ "firstName": "Ada", "email": "ada@example.com", "mobilePhone": "+14155550111" }),
    )
    .await;
    let bo = create(
        &server,
        &admin,
        json!({ "firstName": "Bo", "email": "bo@example.com" }),
    )
    .await;
    let (starts, ends) = in_two_days();
    server
        .data(
            &admin,
            "mutation($input: ActivityInput!) { recordActivity(input: $input) { created } }",
            json!({ "input": { "kind": "MEETING", "contact": { "email": "ada@example.com" },
                    "meeting": { "startsAt": starts, "endsAt": ends } } }),
        )
        .await;
    let statuses = |data: &Value| -> Vec<(String, String)> {
        data["activities"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|edge| {
                edge["node"]["meeting"]["notifications"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|n| {
                (
                    n["recipient"].as_str().unwrap().to_owned(),
                    n["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let before = statuses(
        &server
            .data(&admin, MEETINGS, json!({ "id": ada["id"] }))
            .await,
    );
    let texts = before.iter().filter(|(to, _)| to == "+14155550111").count();
    assert!(texts > 0, "{before:?}");

    // Bo keeps his (empty) phone by choice: Ada's texts have no one to go to.
    server
        .data(
            &admin,
            "mutation($s: ID!, $m: ID!) { mergeContacts(survivorId: $s, mergedId: $m, confirm: true,
               choices: [{ field: MOBILE_PHONE, keep: SURVIVOR }]) { contact { mobilePhone } } }",
            json!({ "s": bo["id"], "m": ada["id"] }),
        )
        .await;
    let during = statuses(
        &server
            .data(&admin, MEETINGS, json!({ "id": bo["id"] }))
            .await,
    );
    let canceled = during
        .iter()
        .filter(|(to, status)| to == "+14155550111" && status == "CANCELED")
        .count();
    assert_eq!(canceled, texts, "{during:?}");

    let merge = merges_of(&server, &admin, &bo["id"]).await["edges"][0]["node"]["id"].clone();
    server.data(&admin, UNDO, json!({ "id": merge })).await;
    let after = statuses(
        &server
            .data(&admin, MEETINGS, json!({ "id": ada["id"] }))
            .await,
    );
    assert_eq!(after, before, "every reminder pending again, to Ada");
}

/// Delete is permanent (section 6): a deleted contact's merges go with it,
/// the undone ones that absorbed it too, which held what it was.
#[rstest]
#[tokio::test]
async fn a_deleted_contact_leaves_no_merge_behind(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ada = create(
        &server,
        &admin,
        json!({ "firstName": "Ada", "email": "ada@example.com" }),
    )
    .await;
    let bo = create(
        &server,
        &admin,
        json!({ "firstName": "Bo", "email": "bo@example.com" }),
    )
    .await;
    server
        .data(&admin, MERGE, json!({ "s": ada["id"], "m": bo["id"] }))
        .await;
    let merge = merges_of(&server, &admin, &ada["id"]).await["edges"][0]["node"]["id"].clone();
    server.data(&admin, UNDO, json!({ "id": merge })).await;
    assert_eq!(
        merges_of(&server, &admin, &ada["id"]).await["totalCount"],
        1
    );

    server.data(&admin, DELETE, json!({ "id": bo["id"] })).await;
    let left = merges_of(&server, &admin, &ada["id"]).await;
    assert_eq!(left["totalCount"], 0, "{left}");
    let node = server
        .data(
            &admin,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": merge }),
        )
        .await;
    assert_eq!(node["node"], Value::Null);

    // Cy into Ada, undone; then Cy into Dee, and Dee is deleted: the undone
    // merge on Ada, which held what Cy was, goes too.
    let cy = create(
        &server,
        &admin,
        json!({ "firstName": "Cy", "email": "cy@example.com" }),
    )
    .await;
    let dee = create(
        &server,
        &admin,
        json!({ "firstName": "Dee", "email": "dee@example.com" }),
    )
    .await;
    server
        .data(&admin, MERGE, json!({ "s": ada["id"], "m": cy["id"] }))
        .await;
    let into_ada = merges_of(&server, &admin, &ada["id"]).await["edges"][0]["node"]["id"].clone();
    server.data(&admin, UNDO, json!({ "id": into_ada })).await;
    server
        .data(&admin, MERGE, json!({ "s": dee["id"], "m": cy["id"] }))
        .await;
    assert_eq!(
        merges_of(&server, &admin, &ada["id"]).await["totalCount"],
        1
    );
    server
        .data(&admin, DELETE, json!({ "id": dee["id"] }))
        .await;
    let left = merges_of(&server, &admin, &ada["id"]).await;
    assert_eq!(left["totalCount"], 0, "{left}");
}

/// Reminders the merge canceled stay canceled when their meeting was
/// rescheduled since: it planned its reminders anew, and the old ones
/// (old time, old wording) must not go out beside them.
#[rstest]
#[tokio::test]
async fn reminders_of_a_meeting_rescheduled_since_are_not_revived(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ada = create(
        &server,
        &admin,
        json!({ "firstName": "Ada", "email": "ada@example.com", "mobilePhone": "+14155550111" }),
    )
    .await;
    let bo = create(
        &server,
        &admin,
        json!({ "firstName": "Bo", "email": "bo@example.com" }),
    )
    .await;
    let record = |email: &'static str, starts: String, ends: String| {
        let (server, admin) = (&server, &admin);
        async move {
            server
                .data(
                    admin,
                    "mutation($input: ActivityInput!) { recordActivity(input: $input) { created } }",
                    json!({ "input": { "kind": "MEETING", "contact": { "email": email },
                            "meeting": { "startsAt": starts, "endsAt": ends,
                                         "calendarProvider": "GOOGLE", "externalEventId": "evt-1" } } }),
                )
                .await;
        }
    };
    let (starts, ends) = in_two_days();
    record("ada@example.com", starts, ends).await;
    server
        .data(
            &admin,
            "mutation($s: ID!, $m: ID!) { mergeContacts(survivorId: $s, mergedId: $m, confirm: true,
               choices: [{ field: MOBILE_PHONE, keep: SURVIVOR }, { field: EMAIL, keep: SURVIVOR }]) { contact { id } } }",
            json!({ "s": bo["id"], "m": ada["id"] }),
        )
        .await;
    // Rescheduled an hour later, on Bo (who holds the meeting now).
    let later = Utc::now() + chrono::Duration::days(2) + chrono::Duration::hours(1);
    record(
        "bo@example.com",
        later.to_rfc3339_opts(SecondsFormat::Millis, true),
        (later + chrono::Duration::minutes(30)).to_rfc3339_opts(SecondsFormat::Millis, true),
    )
    .await;

    let merge = merges_of(&server, &admin, &bo["id"]).await["edges"][0]["node"]["id"].clone();
    let undone = server.data(&admin, UNDO, json!({ "id": merge })).await;
    assert_eq!(undone["undoMerge"]["restored"]["id"], ada["id"]);
    let texts_pending = server
        .data(
            &admin,
            "{ activities { edges { node { meeting { notifications { recipient status } } } } } }",
            json!({}),
        )
        .await["activities"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            e["node"]["meeting"]["notifications"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|n| n["recipient"] == "+14155550111" && n["status"] == "PENDING")
        .count();
    assert_eq!(texts_pending, 0, "the old plan's texts stay canceled");
}
