//! Field policies as data (issue 19, DESIGN.md section 11): an admin
//! changes what a role may do with a field at run time, and the change
//! holds on the next request on every path: reads, writes, activities,
//! imports, search, filters, ordering, history, merge previews, webhooks.

use std::time::Duration;

use reqwest::StatusCode;
use rstest::rstest;
use serde_json::{Value, json};

use crate::import_jobs::upload;
use crate::support::*;

const SET: &str = "mutation($role: Role!, $field: ContactField!, $access: FieldAccess!) {
  setFieldPolicy(role: $role, field: $field, access: $access) { role field access } }";

async fn set_policy(server: &TestServer, admin: &str, role: &str, field: &str, access: &str) {
    let data = server
        .data(
            admin,
            SET,
            json!({ "role": role, "field": field, "access": access }),
        )
        .await;
    assert_eq!(data["setFieldPolicy"]["access"], access);
}

/// `extensions.field` of each error, in order.
fn error_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["field"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn access_of(permissions: &Value, field: &str) -> String {
    permissions
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["field"] == field)
        .map(|p| p["access"].as_str().unwrap().to_owned())
        .unwrap()
}

async fn my_access(server: &TestServer, token: &str, field: &str) -> String {
    let data = server
        .data(token, "{ me { permissions { field access } } }", json!({}))
        .await;
    access_of(&data["me"]["permissions"], field)
}

async fn search_count(server: &TestServer, token: &str, text: &str) -> u64 {
    let data = server
        .data(
            token,
            "query($s: String) { contacts(filter: { search: $s }) { totalCount } }",
            json!({ "s": text }),
        )
        .await;
    data["contacts"]["totalCount"].as_u64().unwrap()
}

#[rstest]
#[tokio::test]
async fn a_policy_changed_at_run_time_holds_on_every_path(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let mo = server.create_user("mo", "MEMBER", None);
    let lee = create(
        &server,
        &mo,
        json!({ "firstName": "Lee", "lastName": "Park", "email": "lee@example.com",
                "mobilePhone": "+14155550101", "company": "Acme" }),
    )
    .await;
    let bo = create(
        &server,
        &mo,
        json!({ "firstName": "Bo", "email": "bo@example.com", "jobTitle": "CTO" }),
    )
    .await;
    assert_eq!(my_access(&server, &mo, "EMAIL").await, "WRITE");
    assert_eq!(search_count(&server, &mo, "lee@exa").await, 1);

    // The member's token is cached from the requests above; the change
    // applies on the next one all the same.
    set_policy(&server, &admin, "MEMBER", "EMAIL", "NONE").await;
    assert_eq!(my_access(&server, &mo, "EMAIL").await, "NONE");

    // Reads: FORBIDDEN on the field, the rest intact.
    let (_, body) = server
        .post(
            &mo,
            "query($id: ID!) { contact(id: $id) { firstName email mobilePhone } }",
            json!({ "id": lee["id"] }),
        )
        .await;
    assert_eq!(body["data"]["contact"]["firstName"], "Lee");
    assert_eq!(body["data"]["contact"]["mobilePhone"], "+14155550101");
    assert_eq!(body["data"]["contact"]["email"], Value::Null);
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    assert_eq!(body["errors"][0]["path"], json!(["contact", "email"]));

    // Search finds nothing by email; by name it still does.
    assert_eq!(search_count(&server, &mo, "lee@exa").await, 0);
    assert_eq!(search_count(&server, &mo, "lee@example.com").await, 0);
    assert_eq!(search_count(&server, &mo, "lee").await, 1);

    // Writes naming the field are refused whole.
    let before = visible_count(&server, &mo).await;
    let (_, body) = server
        .post(
            &mo,
            CREATE,
            json!({ "input": { "firstName": "Cy", "email": "cy@example.com" } }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    assert_eq!(error_fields(&body), ["email"]);
    assert_eq!(visible_count(&server, &mo).await, before);
    let (_, body) = server
        .post(
            &mo,
            UPDATE,
            json!({ "id": lee["id"], "input": { "company": "Other", "email": null } }),
        )
        .await;
    assert_eq!(error_fields(&body), ["email"]);
    let unchanged = server.data(&admin, GET, json!({ "id": lee["id"] })).await;
    assert_eq!(unchanged["contact"]["company"], "Acme");
    assert_eq!(unchanged["contact"]["email"], "lee@example.com");
    // Fields it may still write are written.
    let created = server
        .data(
            &mo,
            "mutation($input: ContactInput!) { createContact(input: $input) { contact { firstName } } }",
            json!({ "input": { "firstName": "Cy", "mobilePhone": "+14155550199" } }),
        )
        .await;
    assert_eq!(created["createContact"]["contact"]["firstName"], "Cy");

    // An import whose mapping feeds the field is refused before any row.
    let (status, body) = upload(
        &server,
        &mo,
        b"Name,Email\nDee,dee@example.com\n",
        false,
        json!([{ "column": "Name", "field": "FIRST_NAME" }]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(error_codes(&body), ["FORBIDDEN"], "{body}");
    assert_eq!(error_fields(&body), ["mapping"]);

    // History leaves out the field's changes.
    let history = server
        .data(
            &mo,
            "query($id: ID!) { contact(id: $id) { history { edges { node { changes { field } } } } } }",
            json!({ "id": lee["id"] }),
        )
        .await;
    let fields: Vec<&str> = history["contact"]["history"]["edges"][0]["node"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"firstName"), "{fields:?}");
    assert!(!fields.contains(&"email"), "{fields:?}");

    // A merge preview leaves it out too.
    let preview = server
        .data(
            &mo,
            "mutation($s: ID!, $m: ID!) { mergeContacts(survivorId: $s, mergedId: $m) {
               mergePreview { fields { field current incoming } } } }",
            json!({ "s": lee["id"], "m": bo["id"] }),
        )
        .await;
    let previewed: Vec<&str> = preview["mergeContacts"]["mergePreview"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(previewed.contains(&"jobTitle"), "{previewed:?}");
    assert!(!previewed.contains(&"email"), "{previewed:?}");

    // Owner: not read, so not filtered by either.
    set_policy(&server, &admin, "MEMBER", "OWNER", "NONE").await;
    let mo_id = server.data(&mo, "{ me { id } }", json!({})).await["me"]["id"].clone();
    let (_, body) = server
        .post(
            &mo,
            "query($o: ID) { contacts(filter: { ownerId: $o }) { totalCount } }",
            json!({ "o": mo_id }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    assert_eq!(error_fields(&body), ["ownerId"]);
    let (_, body) = server
        .post(
            &mo,
            "query($id: ID!) { contact(id: $id) { owner { name } } }",
            json!({ "id": lee["id"] }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);

    // Names: not read, so not ordered by; the default order is the oldest
    // first, and names are not searched.
    set_policy(&server, &admin, "MEMBER", "FIRST_NAME", "NONE").await;
    let (_, body) = server
        .post(
            &mo,
            "{ contacts(orderBy: { field: NAME, direction: ASC }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_fields(&body), ["orderBy"]);
    let listed = server
        .data(
            &mo,
            "{ contacts { edges { node { id company } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["contacts"]["edges"][0]["node"]["id"], lee["id"]);
    assert_eq!(search_count(&server, &mo, "lee").await, 0);
    assert_eq!(search_count(&server, &mo, "acm").await, 1);

    // Given back, it holds again at once.
    set_policy(&server, &admin, "MEMBER", "EMAIL", "WRITE").await;
    assert_eq!(search_count(&server, &mo, "lee@exa").await, 1);
    let read = server
        .data(
            &mo,
            "query($id: ID!) { contact(id: $id) { email } }",
            json!({ "id": lee["id"] }),
        )
        .await;
    assert_eq!(read["contact"]["email"], "lee@example.com");

    // A recorded merge shows the member only what it may read, down to
    // which fields an undo would keep.
    set_policy(&server, &admin, "MEMBER", "FIRST_NAME", "WRITE").await;
    let cy = create(
        &server,
        &mo,
        json!({ "firstName": "Cy", "email": "cy@example.com" }),
    )
    .await;
    let di = create(
        &server,
        &mo,
        json!({ "firstName": "Di", "email": "di@example.com", "jobTitle": "CFO" }),
    )
    .await;
    server
        .data(
            &admin,
            "mutation($s: ID!, $m: ID!) { mergeContacts(survivorId: $s, mergedId: $m, confirm: true) {
               contact { id } } }",
            json!({ "s": cy["id"], "m": di["id"] }),
        )
        .await;
    let version =
        server.data(&admin, GET, json!({ "id": cy["id"] })).await["contact"]["version"].clone();
    server
        .data(
            &admin,
            "mutation($id: ID!, $input: ContactInput!, $v: Int) {
               updateContact(id: $id, input: $input, expectedVersion: $v) { contact { id } } }",
            json!({ "id": cy["id"], "v": version,
                    "input": { "email": "cy.new@example.com", "jobTitle": "CEO" } }),
        )
        .await;
    const MERGES: &str = "query($id: ID!) { contact(id: $id) { merges { edges { node {
      id editedSince fields { field } survivorBefore { field } survivorAfter { field }
      absorbed { fields { field } } } } } } }";
    let of = |token: &str| {
        let token = token.to_owned();
        let server = &server;
        let id = cy["id"].clone();
        async move {
            server.data(&token, MERGES, json!({ "id": id })).await["contact"]["merges"]["edges"][0]
                ["node"]
                .clone()
        }
    };
    let seen_by_admin = of(&admin).await;
    assert_eq!(
        seen_by_admin["editedSince"],
        json!(["EMAIL", "JOB_TITLE"]),
        "{seen_by_admin}"
    );
    set_policy(&server, &admin, "MEMBER", "EMAIL", "NONE").await;
    let seen_by_member = of(&mo).await;
    assert_eq!(seen_by_member["editedSince"], json!(["JOB_TITLE"]));
    for list in [
        &seen_by_member["fields"],
        &seen_by_member["survivorBefore"],
        &seen_by_member["survivorAfter"],
        &seen_by_member["absorbed"]["fields"],
    ] {
        let names: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"jobTitle"), "{names:?}");
        assert!(!names.contains(&"email"), "{names:?}");
    }

    // Merges are part of the change log: without HISTORY, FORBIDDEN on
    // `merges` and `history`, the rest of the contact intact, and a merge
    // asked by its id is not found.
    set_policy(&server, &admin, "MEMBER", "HISTORY", "NONE").await;
    let (_, body) = server
        .post(
            &mo,
            "query($id: ID!) { contact(id: $id) { firstName merges { totalCount } history { totalCount } } }",
            json!({ "id": cy["id"] }),
        )
        .await;
    assert_eq!(body["data"]["contact"]["firstName"], "Di", "{body}");
    assert_eq!(body["data"]["contact"]["merges"], Value::Null);
    assert_eq!(body["data"]["contact"]["history"], Value::Null);
    assert_eq!(error_codes(&body), ["FORBIDDEN", "FORBIDDEN"]);
    let node = server
        .data(
            &mo,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": seen_by_admin["id"] }),
        )
        .await;
    assert_eq!(node["node"], Value::Null);
}

#[rstest]
#[tokio::test]
async fn only_admins_set_policies_and_admin_keeps_write(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let mo = server.create_user("mo", "MEMBER", None);
    let all = server
        .data(&admin, "{ fieldPolicies { role field access } }", json!({}))
        .await;
    let all = all["fieldPolicies"].as_array().unwrap().clone();
    assert_eq!(all.len(), 40, "4 roles by 10 fields");
    let find = |role: &str, field: &str| {
        all.iter()
            .find(|p| p["role"] == role && p["field"] == field)
            .map(|p| p["access"].as_str().unwrap().to_owned())
            .unwrap()
    };
    // The defaults are section 7's rules.
    assert_eq!(find("VIEWER", "EMAIL"), "NONE");
    assert_eq!(find("VIEWER", "COMPANY"), "READ");
    assert_eq!(find("INTEGRATION", "OWNER"), "NONE");
    assert_eq!(find("MEMBER", "HISTORY"), "READ");
    assert_eq!(find("ADMIN", "HISTORY"), "WRITE");

    for (token, query) in [
        (&mo, "{ fieldPolicies { access } }".to_owned()),
        (
            &mo,
            "mutation { setFieldPolicy(role: MEMBER, field: EMAIL, access: WRITE) { access } }"
                .to_owned(),
        ),
    ] {
        let (_, body) = server.post(token, &query, json!({})).await;
        assert_eq!(error_codes(&body), ["FORBIDDEN"], "{query}");
    }
    for (role, access) in [("ADMIN", "READ"), ("VIEWER", "WRITE")] {
        let (_, body) = server
            .post(
                &admin,
                SET,
                json!({ "role": role, "field": "COMPANY", "access": access }),
            )
            .await;
        assert_eq!(error_codes(&body), ["VALIDATION"], "{role} {access}");
        assert_eq!(error_fields(&body), ["access"]);
    }
    // Others see their own rights, not another user's.
    let mo_id = server.data(&mo, "{ me { id } }", json!({})).await["me"]["id"].clone();
    let admin_id = server.data(&admin, "{ me { id } }", json!({})).await["me"]["id"].clone();
    let theirs = server
        .data(
            &admin,
            "query($id: ID!) { node(id: $id) { ... on User { permissions { field access } } } }",
            json!({ "id": mo_id }),
        )
        .await;
    assert_eq!(access_of(&theirs["node"]["permissions"], "EMAIL"), "WRITE");
    let (_, body) = server
        .post(
            &mo,
            "query($id: ID!) { node(id: $id) { ... on User { permissions { access } } } }",
            json!({ "id": admin_id }),
        )
        .await;
    assert!(
        body["data"]["node"].is_null() || !error_codes(&body).is_empty(),
        "{body}"
    );
}

#[rstest]
#[tokio::test]
async fn activities_and_webhooks_follow_the_integration_policy(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start_on(
        TestDb::new(backend).await,
        &["--dispatch-interval-ms", "100", "--allow-private-targets"],
    )
    .await;
    let admin = server.create_user("ann", "ADMIN", None);
    let zap = server.create_user("zap", "INTEGRATION", None);
    let receiver = crate::webhooks::Receiver::start(Vec::new()).await;
    server
        .data(
            &admin,
            "mutation($url: String!) { connectWebhook(targetUrl: $url, events: [CONTACT_CREATED]) { signingSecret } }",
            json!({ "url": receiver.url }),
        )
        .await;

    set_policy(&server, &admin, "INTEGRATION", "COMPANY", "READ").await;
    set_policy(&server, &admin, "INTEGRATION", "JOB_TITLE", "NONE").await;
    let record = "mutation($input: ActivityInput!) { recordActivity(input: $input) { created } }";
    let (_, body) = server
        .post(
            &zap,
            record,
            json!({ "input": { "kind": "CHATBOT",
                    "contact": { "email": "eve@example.com", "company": "Acme" } } }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"], "{body}");
    assert_eq!(error_fields(&body), ["contact.company"]);
    assert_eq!(visible_count(&server, &admin).await, 0, "nothing written");

    // An admin writes a contact whole; the webhook hears what the
    // INTEGRATION role may read, so not the job title.
    create(
        &server,
        &admin,
        json!({ "email": "eve@example.com", "company": "Acme", "jobTitle": "CFO" }),
    )
    .await;
    let mut heard = Vec::new();
    for _ in 0..100 {
        heard = receiver.accepted();
        if !heard.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, body, raw) = heard.first().expect("the webhook was called").clone();
    assert_eq!(body["data"]["contact"]["company"], "Acme");
    assert_eq!(body["data"]["contact"]["email"], "eve@example.com");
    assert!(body["data"]["contact"].get("jobTitle").is_none(), "{body}");
    assert!(!raw.contains("CFO"), "{raw}");
    let changed: Vec<&str> = body["data"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert!(changed.contains(&"company") && !changed.contains(&"jobTitle"));
}

/// A merge writes the survivor's fields as an edit does: a role that may
/// not write a field the merge would change is refused, naming it, with
/// nothing changed, by mergeContacts and by a merging updateContact;
/// keeping the survivor's side of that field writes nothing and goes
/// through.
#[rstest]
#[tokio::test]
async fn a_merge_changes_no_field_the_role_may_not_write(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let mo = server.create_user("mo", "MEMBER", None);
    let ada = create(
        &server,
        &mo,
        json!({ "firstName": "Ada", "email": "ada@example.com" }),
    )
    .await;
    let bo = create(
        &server,
        &mo,
        json!({ "firstName": "Bo", "email": "bo@example.com", "mobilePhone": "+14155550123" }),
    )
    .await;
    set_policy(&server, &admin, "MEMBER", "EMAIL", "READ").await;
    const MERGE: &str = "mutation($s: ID!, $m: ID!, $choices: [FieldChoice!]) {
      mergeContacts(survivorId: $s, mergedId: $m, confirm: true, choices: $choices) {
        contact { id email firstName } } }";
    let both = || async {
        (
            server.data(&admin, GET, json!({ "id": ada["id"] })).await,
            server.data(&admin, GET, json!({ "id": bo["id"] })).await,
        )
    };
    let before = both().await;
    let (_, body) = server
        .post(&mo, MERGE, json!({ "s": ada["id"], "m": bo["id"] }))
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"], "{body}");
    assert_eq!(error_fields(&body), ["email"]);
    assert_eq!(
        body["errors"][0]["message"],
        "this role cannot write email, which this merge would change"
    );
    assert_eq!(both().await, before, "nothing changed");

    // The same merge by an edit: Ada takes Bo's phone.
    let (_, body) = server
        .post(
            &mo,
            "mutation($id: ID!) { updateContact(id: $id, input: { mobilePhone: \"+14155550123\" },
               confirmMerge: true) { contact { id } } }",
            json!({ "id": ada["id"] }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"], "{body}");
    assert_eq!(error_fields(&body), ["email"]);
    assert_eq!(both().await, before, "nothing changed");

    // Keeping Ada's email writes no email.
    let merged = server
        .data(
            &mo,
            MERGE,
            json!({ "s": ada["id"], "m": bo["id"],
                    "choices": [{ "field": "EMAIL", "keep": "SURVIVOR" }] }),
        )
        .await;
    assert_eq!(
        merged["mergeContacts"]["contact"]["email"],
        "ada@example.com"
    );
    assert_eq!(merged["mergeContacts"]["contact"]["firstName"], "Bo");

    // A field the role may not even read is not named: the refusal would
    // tell which field the two records differ in.
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
    let mo_id = server.data(&mo, "{ me { id } }", json!({})).await["me"]["id"].clone();
    for contact in [&cy, &dee] {
        server
            .data(
                &admin,
                "mutation($id: ID!, $o: ID) { updateContact(id: $id, input: { ownerId: $o }) { contact { id } } }",
                json!({ "id": contact["id"], "o": mo_id }),
            )
            .await;
    }
    set_policy(&server, &admin, "MEMBER", "EMAIL", "NONE").await;
    let (_, body) = server
        .post(&mo, MERGE, json!({ "s": cy["id"], "m": dee["id"] }))
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"], "{body}");
    assert_eq!(error_fields(&body), [""], "no field named: {body}");
    assert!(!body.to_string().contains("email"), "{body}");
}
