//! The Merge Contacts protocol of the seed: preview, confirmation, the
//! field rules, merged ids, history, permissions and concurrency.

use futures_util::future::join_all;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::*;

const CONTACT_FIELDS: &str =
    "id firstName lastName email mobilePhone company jobTitle timezone version mergedIds";

fn save_fields() -> String {
    format!(
        "contact {{ {CONTACT_FIELDS} }}
         mergePreview {{
           survivor {{ {CONTACT_FIELDS} }}
           merged {{ {CONTACT_FIELDS} }}
           fields {{ field current incoming outcome }}
         }}"
    )
}

fn update_merge() -> String {
    format!(
        "mutation($id: ID!, $input: ContactInput!, $confirm: Boolean, $sv: Int) {{
           updateContact(id: $id, input: $input, confirmMerge: $confirm, expectedSurvivorVersion: $sv) {{ {} }}
         }}",
        save_fields()
    )
}

fn create_merge() -> String {
    format!(
        "mutation($input: ContactInput!, $confirm: Boolean) {{
           createContact(input: $input, confirmMerge: $confirm) {{ {} }}
         }}",
        save_fields()
    )
}

fn merge_contacts() -> String {
    format!(
        "mutation($s: ID!, $m: ID!, $confirm: Boolean, $sv: Int, $mv: Int) {{
           mergeContacts(survivorId: $s, mergedId: $m, confirm: $confirm,
                         expectedSurvivorVersion: $sv, expectedMergedVersion: $mv) {{ {} }}
         }}",
        save_fields()
    )
}

fn outcomes(preview: &Value) -> Vec<(String, String)> {
    preview["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_owned(),
                f["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

const FULL_READ: &str = "query($id: ID!) { contact(id: $id) {
    id firstName lastName email mobilePhone company jobTitle timezone version mergedIds
    history { totalCount edges { node { action mergedContactId changes { field before after } } } } } }";

/// Two contacts: A (edited) and B (holding the identity A will take).
async fn pair(server: &TestServer, token: &str) -> (Value, Value) {
    let a = create(
        server,
        token,
        json!({ "firstName": "Al", "lastName": "Lee", "email": "al@example.com",
                "mobilePhone": "+14155550101", "timezone": "Europe/Paris" }),
    )
    .await;
    let b = create(
        server,
        token,
        json!({ "firstName": "Bo", "email": "bo@example.com", "company": "Globex", "jobTitle": "CTO",
                "timezone": "America/New_York" }),
    )
    .await;
    (a, b)
}

#[rstest]
#[tokio::test]
async fn an_edit_into_another_identity_previews_and_writes_nothing(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let (a, b) = pair(&server, &admin).await;

    let data = server
        .data(
            &admin,
            &update_merge(),
            json!({ "id": a["id"], "input": { "email": " BO@example.com", "company": null } }),
        )
        .await;
    let payload = &data["updateContact"];
    assert_eq!(payload["contact"], Value::Null);
    let preview = &payload["mergePreview"];
    assert_eq!(preview["survivor"]["id"], b["id"]);
    assert_eq!(preview["merged"]["id"], a["id"]);
    assert_eq!(
        outcomes(preview),
        pairs(&[
            ("firstName", "OVERWRITTEN"),
            ("lastName", "FILLED"),
            ("email", "UNCHANGED"),
            ("mobilePhone", "FILLED"),
            ("company", "RETAINED"),
            ("jobTitle", "RETAINED"),
            ("timezone", "OVERWRITTEN"),
        ])
    );
    assert_eq!(
        preview["fields"][0],
        json!({ "field": "firstName", "current": "Bo", "incoming": "Al", "outcome": "OVERWRITTEN" })
    );

    // Nothing was written: both records are as they were.
    for (record, name) in [(&a, "Al"), (&b, "Bo")] {
        let read = server
            .data(&admin, FULL_READ, json!({ "id": record["id"] }))
            .await;
        assert_eq!(read["contact"]["firstName"], name);
        assert_eq!(read["contact"]["version"], 1);
    }
    assert_eq!(visible_count(&server, &admin).await, 2);
}

#[rstest]
#[tokio::test]
async fn confirming_merges_into_the_identity_holder(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let (a, b) = pair(&server, &admin).await;

    let data = server
        .data(
            &admin,
            &update_merge(),
            json!({ "id": a["id"], "input": { "email": "bo@example.com", "company": null }, "confirm": true, "sv": 1 }),
        )
        .await;
    let merged = &data["updateContact"]["contact"];
    assert_eq!(data["updateContact"]["mergePreview"], Value::Null);
    assert_eq!(
        merged["id"], b["id"],
        "the record holding the identity survives"
    );
    // Filling missing information, updating existing information, retaining
    // existing data, and empty never clearing.
    assert_eq!(merged["lastName"], "Lee");
    assert_eq!(merged["mobilePhone"], "+14155550101");
    assert_eq!(merged["firstName"], "Al");
    assert_eq!(merged["timezone"], "Europe/Paris");
    assert_eq!(merged["company"], "Globex");
    assert_eq!(merged["jobTitle"], "CTO");
    assert_eq!(merged["email"], "bo@example.com");
    assert_eq!(merged["version"], 2);
    assert_eq!(merged["mergedIds"], json!([a["id"]]));
    assert_eq!(visible_count(&server, &admin).await, 1);

    // The merged id keeps resolving to the survivor.
    let via_old = server
        .data(&admin, FULL_READ, json!({ "id": a["id"] }))
        .await;
    assert_eq!(via_old["contact"]["id"], b["id"]);
    let node = server
        .data(
            &admin,
            "query($id: ID!) { node(id: $id) { id ... on Contact { email } } }",
            json!({ "id": a["id"] }),
        )
        .await;
    assert_eq!(node["node"]["id"], b["id"]);

    // History: the merge, and the absorbed record's past, now on the survivor.
    let history = &via_old["contact"]["history"];
    assert_eq!(history["totalCount"], 3);
    let newest = &history["edges"][0]["node"];
    assert_eq!(newest["action"], "MERGED");
    assert_eq!(newest["mergedContactId"], a["id"]);
    assert!(
        newest["changes"]
            .as_array()
            .unwrap()
            .contains(&json!({ "field": "lastName", "before": null, "after": "Lee" }))
    );
    let actions: Vec<&str> = history["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["MERGED", "CREATED", "CREATED"]);

    // The survivor now holds the absorbed record's phone: a new contact
    // with it is shown the merge into the survivor.
    let again = server
        .data(
            &admin,
            &create_merge(),
            json!({ "input": { "mobilePhone": "415 555 0101" } }),
        )
        .await;
    assert_eq!(
        again["createContact"]["mergePreview"]["survivor"]["id"],
        b["id"]
    );
    // The old email of the absorbed record is free again.
    let fresh = create(&server, &admin, json!({ "email": "al@example.com" })).await;
    assert!(fresh["id"].is_string());
}

#[rstest]
#[tokio::test]
async fn create_with_an_existing_identity_previews_then_merges(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let (_, b) = pair(&server, &admin).await;
    let input = json!({ "email": "bo@example.com", "lastName": "Berg", "company": "" });

    let preview = server
        .data(&admin, &create_merge(), json!({ "input": input }))
        .await;
    let preview = &preview["createContact"]["mergePreview"];
    assert_eq!(preview["survivor"]["id"], b["id"]);
    assert_eq!(preview["merged"], Value::Null);
    assert!(outcomes(preview).contains(&("lastName".into(), "FILLED".into())));
    assert!(outcomes(preview).contains(&("company".into(), "RETAINED".into())));

    let done = server
        .data(
            &admin,
            &create_merge(),
            json!({ "input": input, "confirm": true }),
        )
        .await;
    let contact = &done["createContact"]["contact"];
    assert_eq!(contact["id"], b["id"]);
    assert_eq!(contact["lastName"], "Berg");
    assert_eq!(contact["company"], "Globex");
    assert_eq!(visible_count(&server, &admin).await, 2);
}

#[rstest]
#[tokio::test]
async fn merge_contacts_previews_confirms_and_guards_versions(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let (a, b) = pair(&server, &admin).await;
    let vars = |extra: Value| {
        let mut v = json!({ "s": b["id"], "m": a["id"] });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };

    let preview = server
        .data(&admin, &merge_contacts(), vars(json!({})))
        .await;
    let preview = &preview["mergeContacts"]["mergePreview"];
    assert_eq!(preview["survivor"]["id"], b["id"]);
    assert_eq!(preview["merged"]["id"], a["id"]);
    // The merged record's email is incoming too: it overwrites the survivor's.
    assert!(outcomes(preview).contains(&("email".into(), "OVERWRITTEN".into())));

    // Someone edits the survivor after the preview was taken.
    server
        .data(
            &admin,
            UPDATE,
            json!({ "id": b["id"], "input": { "jobTitle": "CEO" } }),
        )
        .await;
    let (_, stale) = server
        .post(
            &admin,
            &merge_contacts(),
            vars(json!({ "confirm": true, "sv": 1, "mv": 1 })),
        )
        .await;
    assert_eq!(error_codes(&stale), ["CONFLICT"]);
    assert_eq!(visible_count(&server, &admin).await, 2);

    let done = server
        .data(
            &admin,
            &merge_contacts(),
            vars(json!({ "confirm": true, "sv": 2, "mv": 1 })),
        )
        .await;
    let contact = &done["mergeContacts"]["contact"];
    assert_eq!(contact["id"], b["id"]);
    assert_eq!(contact["email"], "al@example.com");
    assert_eq!(contact["jobTitle"], "CEO");
    assert_eq!(visible_count(&server, &admin).await, 1);

    let (_, same) = server
        .post(
            &admin,
            &merge_contacts(),
            json!({ "s": b["id"], "m": b["id"] }),
        )
        .await;
    assert_eq!(error_codes(&same), ["VALIDATION"]);
    let (_, gone) = server
        .post(&admin, &merge_contacts(), vars(json!({ "confirm": true })))
        .await;
    assert_eq!(error_codes(&gone), ["NOT_FOUND"]);
}

#[rstest]
#[tokio::test]
async fn an_edit_hitting_two_contacts_is_refused(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let (a, _) = pair(&server, &admin).await;
    let c = create(&server, &admin, json!({ "mobilePhone": "+14155550199" })).await;
    let (_, body) = server
        .post(
            &admin,
            &update_merge(),
            json!({ "id": a["id"], "input": { "email": "bo@example.com", "mobilePhone": "+14155550199" }, "confirm": true }),
        )
        .await;
    assert_eq!(error_codes(&body), ["VALIDATION"]);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("two different contacts")
    );
    assert_eq!(visible_count(&server, &admin).await, 3);
    assert!(c["id"].is_string());
}

#[rstest]
#[tokio::test]
async fn merging_needs_access_to_both_and_a_role_that_may_remove(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let mia = server.create_user("mia", "MEMBER", None);
    let sam = server.create_user("sam", "MEMBER", None);
    let zap = server.create_user("zap", "INTEGRATION", None);
    let hidden = create(
        &server,
        &mia,
        json!({ "firstName": "Hidden", "email": "h@example.com" }),
    )
    .await;
    let mine = create(&server, &sam, json!({ "email": "s@example.com" })).await;

    let (_, body) = server
        .post(
            &sam,
            &update_merge(),
            json!({ "id": mine["id"], "input": { "email": "h@example.com" }, "confirm": true }),
        )
        .await;
    assert_eq!(error_codes(&body), ["CANNOT_SAVE_CONTACT"]);
    assert!(!body.to_string().contains("Hidden"));
    let (_, body) = server
        .post(
            &sam,
            &merge_contacts(),
            json!({ "s": mine["id"], "m": hidden["id"], "confirm": true }),
        )
        .await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"]);

    // An integration sees the preview but may not absorb a record.
    let other = create(&server, &zap, json!({ "email": "z@example.com" })).await;
    let (_, body) = server
        .post(
            &zap,
            &update_merge(),
            json!({ "id": other["id"], "input": { "email": "h@example.com" }, "confirm": true }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    assert_eq!(
        server
            .data(&mia, FULL_READ, json!({ "id": hidden["id"] }))
            .await["contact"]["version"],
        1
    );
}

#[rstest]
#[tokio::test]
async fn concurrent_merges_into_one_identity_lose_nothing(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let holder = create(&server, &admin, json!({ "email": "one@example.com" })).await;
    let mut others = Vec::new();
    for i in 0..16 {
        let phone = format!("+1415555{:04}", 1000 + i);
        others.push(
            create(
                &server,
                &admin,
                json!({ "email": format!("m{i}@example.com"), "mobilePhone": phone }),
            )
            .await,
        );
    }
    let merges = others.iter().map(|other| {
        let query = update_merge();
        let server = &server;
        let admin = admin.clone();
        let id = other["id"].clone();
        async move {
            server
                .post(
                    &admin,
                    &query,
                    json!({ "id": id, "input": { "email": "one@example.com" }, "confirm": true }),
                )
                .await
        }
    });
    for (_, body) in join_all(merges).await {
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body["data"]["updateContact"]["contact"]["id"], holder["id"]);
    }
    assert_eq!(visible_count(&server, &admin).await, 1);
    let survivor = server
        .data(&admin, FULL_READ, json!({ "id": holder["id"] }))
        .await;
    assert_eq!(
        survivor["contact"]["mergedIds"].as_array().unwrap().len(),
        16
    );
    assert_eq!(survivor["contact"]["version"], 17);
    // 17 creations and 16 merges: no history lost.
    assert_eq!(survivor["contact"]["history"]["totalCount"], 33);
    for other in &others {
        let read = server
            .data(&admin, FULL_READ, json!({ "id": other["id"] }))
            .await;
        assert_eq!(read["contact"]["id"], holder["id"]);
    }
}
