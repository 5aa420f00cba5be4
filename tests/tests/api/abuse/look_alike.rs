//! Attack 9 of issue 15, look-alike identities and insane values: a
//! zero-width space made `a@exam\u200bple.com` a second contact that reads
//! as `a@example.com`; names carried U+202E (right-to-left override),
//! U+200B and U+2028; `Mars/Olympus_Mons` passed as a time zone, year -1 as
//! a moment; a mobile phone's `;ext=1` was dropped without a word. Each is
//! refused with VALIDATION naming the field, on every path (create, update,
//! activity, import), and nothing of it is written.

use rstest::rstest;
use serde_json::{Value, json};

use crate::import_jobs::{finished, start_job};
use crate::support::*;

const RECORD: &str = "mutation($input: ActivityInput!) {
  recordActivity(input: $input) { activity { id } contact { id } } }";

/// Contact inputs refused, with the field each error names.
fn look_alike_contacts() -> Vec<(Value, &'static str)> {
    vec![
        (json!({ "email": "a@exam\u{200b}ple.com" }), "email"),
        (json!({ "email": "\u{feff}a@example.com" }), "email"),
        (json!({ "email": "a@example.com\u{202e}" }), "email"),
        (json!({ "email": "a\u{ad}@example.com" }), "email"),
        (
            json!({ "email": "n@example.com", "firstName": "Ann\u{202e}htimS" }),
            "firstName",
        ),
        (
            json!({ "email": "n@example.com", "lastName": "Sm\u{200b}ith" }),
            "lastName",
        ),
        (
            json!({ "email": "n@example.com", "firstName": "Ann\u{2028}Lee" }),
            "firstName",
        ),
        (
            json!({ "email": "n@example.com", "company": "Acme\u{2029}Corp" }),
            "company",
        ),
        (
            json!({ "email": "n@example.com", "jobTitle": "CEO\u{7}" }),
            "jobTitle",
        ),
        (
            json!({ "email": "n@example.com", "company": "Ac\u{2066}me" }),
            "company",
        ),
        (
            json!({ "email": "n@example.com", "timezone": "Mars/Olympus_Mons" }),
            "timezone",
        ),
        (
            json!({ "mobilePhone": "+14155550100;ext=1" }),
            "mobilePhone",
        ),
        (
            json!({ "mobilePhone": "(415) 555-0100 ext. 12" }),
            "mobilePhone",
        ),
        (json!({ "mobilePhone": "415 555 0100 x123" }), "mobilePhone"),
        (json!({ "mobilePhone": "415-555-0100 #123" }), "mobilePhone"),
        (
            json!({ "mobilePhone": "+1 415\u{200b}555 0100" }),
            "mobilePhone",
        ),
    ]
}

fn refused_on(body: &Value, field: &str, input: &Value) {
    assert_eq!(error_codes(body), ["VALIDATION"], "{input}: {body}");
    assert_eq!(
        body["errors"][0]["extensions"]["field"], field,
        "{input}: {body}"
    );
}

#[rstest]
#[tokio::test]
async fn look_alike_contacts_are_refused_and_nothing_is_written(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ann = create(
        &server,
        &admin,
        json!({ "email": "a@example.com", "firstName": "Ann", "mobilePhone": "+14155550199" }),
    )
    .await;
    let before = visible_count(&server, &admin).await;

    for (input, field) in look_alike_contacts() {
        let (_, body) = server.post(&admin, CREATE, json!({ "input": input })).await;
        refused_on(&body, field, &input);
        let (_, body) = server
            .post(
                &admin,
                UPDATE,
                json!({ "id": ann["id"], "input": input, "v": ann["version"] }),
            )
            .await;
        refused_on(&body, field, &input);
    }

    assert_eq!(visible_count(&server, &admin).await, before);
    let after = server.data(&admin, GET, json!({ "id": ann["id"] })).await;
    assert_eq!(after["contact"]["version"], ann["version"], "{after}");
    assert_eq!(after["contact"]["email"], "a@example.com");
}

#[rstest]
#[tokio::test]
async fn look_alike_activities_are_refused_and_nothing_is_written(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let zap = server.create_user("zap", "INTEGRATION", None);
    let meeting = |starts: &str, ends: &str| json!({ "startsAt": starts, "endsAt": ends });
    let soon = "2030-01-02T10:00:00Z";
    let later = "2030-01-02T10:30:00Z";
    let mut cases: Vec<(Value, String)> = look_alike_contacts()
        .into_iter()
        .map(|(contact, field)| {
            (
                json!({ "kind": "CHATBOT", "contact": contact }),
                format!("contact.{field}"),
            )
        })
        .collect();
    let customer = json!({ "email": "c@example.com" });
    for (input, field) in [
        (
            json!({ "kind": "CHATBOT", "contact": customer, "occurredAt": "-0001-06-01T00:00:00Z" }),
            "occurredAt",
        ),
        (
            json!({ "kind": "CHATBOT", "contact": customer, "occurredAt": "1899-12-31T23:59:59Z" }),
            "occurredAt",
        ),
        (
            json!({ "kind": "CHATBOT", "contact": customer, "occurredAt": "2201-01-01T00:00:00Z" }),
            "occurredAt",
        ),
        (
            json!({ "kind": "MEETING", "contact": customer, "meeting": meeting("1850-01-01T10:00:00Z", later) }),
            "meeting.startsAt",
        ),
        (
            json!({ "kind": "MEETING", "contact": customer, "meeting": meeting(soon, "3000-01-01T00:00:00Z") }),
            "meeting.endsAt",
        ),
        (
            json!({ "kind": "CHATBOT", "contact": customer, "externalId": "chat\u{200b}42" }),
            "externalId",
        ),
        (
            json!({ "kind": "MEETING", "contact": customer,
                    "meeting": { "startsAt": soon, "endsAt": later, "externalEventId": "ev\u{202e}1" } }),
            "meeting.externalEventId",
        ),
        (
            json!({ "kind": "MEETING", "contact": customer,
                    "meeting": { "startsAt": soon, "endsAt": later, "guests": ["g@exam\u{200b}ple.com"] } }),
            "meeting.guests",
        ),
    ] {
        cases.push((input, field.to_owned()));
    }

    for (input, field) in &cases {
        let (_, body) = server.post(&zap, RECORD, json!({ "input": input })).await;
        refused_on(&body, field, input);
    }

    assert_eq!(visible_count(&server, &admin).await, 0);
    let activities = server
        .data(&admin, "{ activities { totalCount } }", json!({}))
        .await;
    assert_eq!(activities["activities"]["totalCount"], 0);
}

#[rstest]
#[tokio::test]
async fn an_import_fails_look_alike_rows_alone(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let csv = "Email,First Name,Mobile Phone,Timezone\n\
               ok@example.com,Ok,,Europe/Paris\n\
               a@exam\u{200b}ple.com,Zw,,\n\
               b@example.com,Ann\u{202e}htimS,,\n\
               c@example.com,Line\u{2028}Sep,,\n\
               d@example.com,Dee,+14155550100;ext=1,\n\
               e@example.com,Eve,,Mars/Olympus_Mons\n\
               f@example.com,Fay,,europe/berlin\n";
    let id = start_job(&server, &admin, csv.as_bytes(), false, json!([])).await;
    let job = finished(&server, &admin, &id).await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    assert_eq!(
        (job["created"].clone(), job["failed"].clone()),
        (json!(2), json!(5)),
        "{job}"
    );
    let lines: Vec<u64> = job["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4, 5, 6, 7], "{job}");

    let data = server
        .data(
            &admin,
            "{ contacts(orderBy: {field: NAME, direction: ASC}) { edges { node { email timezone } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["contacts"]["edges"],
        json!([
            { "node": { "email": "f@example.com", "timezone": "Europe/Berlin" } },
            { "node": { "email": "ok@example.com", "timezone": "Europe/Paris" } },
        ])
    );
}
