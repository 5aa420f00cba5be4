//! Activities create and update contacts, meetings send their
//! notifications through real SMTP and HTTP peers, and deleting a contact
//! keeps its activities and its reminders.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use futures_util::future::join_all;
use rstest::rstest;
use serde_json::{Value, json};

use crate::peers::{SmsGateway, SmtpSink, wait_until};
use crate::support::*;

const RECORD: &str = "mutation($input: ActivityInput!) {
  recordActivity(input: $input) {
    created
    contact { id firstName lastName email mobilePhone company source version }
    activity { id kind identityConflict occurredAt
      meeting { id status notifications { kind channel recipient status } } }
  }
}";

const ACTIVITIES: &str = "query($filter: ActivityFilter) {
  activities(first: 100, filter: $filter) {
    totalCount
    edges { node { id kind externalId identityConflict contact { id email } submitted { email firstName } } }
  }
}";

fn at(from_now: Duration) -> String {
    (Utc::now() + from_now).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A server delivering to a fresh SMTP sink and SMS gateway, with a
/// reminder 2 s before each meeting.
async fn delivering_server(
    backend: Backend,
    sms_failures: u32,
) -> (TestServer, SmtpSink, SmsGateway) {
    let smtp = SmtpSink::start().await;
    let sms = SmsGateway::start(sms_failures).await;
    let db = TestDb::new(backend).await;
    let server = TestServer::start_on(
        db,
        &[
            "--smtp-url",
            &smtp.url,
            "--sms-gateway-url",
            &sms.url,
            "--reminder-offsets",
            "2s",
            "--dispatch-interval-ms",
            "100",
        ],
    )
    .await;
    (server, smtp, sms)
}

fn meeting_input(email: &str, phone: Option<&str>, starts_in: Duration) -> Value {
    json!({
        "kind": "MEETING",
        "contact": { "firstName": "Nora", "email": email, "mobilePhone": phone },
        "meeting": { "startsAt": at(starts_in), "endsAt": at(starts_in + Duration::from_secs(1800)),
                     "calendarProvider": "GOOGLE", "externalEventId": format!("evt-{email}") }
    })
}

#[rstest]
#[tokio::test]
async fn a_scheduled_meeting_creates_the_contact_and_notifies_it(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let (server, smtp, sms) = delivering_server(backend, 0).await;
    let zap = server.create_user("zap", "INTEGRATION", None);
    let data = server
        .data(&zap, RECORD, json!({ "input": meeting_input("nora@example.com", Some("+14155550142"), Duration::from_secs(4)) }))
        .await;
    let recorded = &data["recordActivity"];
    assert_eq!(recorded["created"], true);
    assert_eq!(recorded["contact"]["email"], "nora@example.com");
    assert_eq!(recorded["contact"]["source"], "MEETING");
    let planned = recorded["activity"]["meeting"]["notifications"]
        .as_array()
        .unwrap();
    assert_eq!(
        planned.len(),
        4,
        "confirmation and reminder, by email and SMS: {planned:?}"
    );

    let mails = wait_until(
        Duration::from_secs(15),
        || smtp.to("nora@example.com"),
        |m| m.len() >= 2,
    )
    .await;
    let subjects: Vec<String> = mails.iter().map(|m| m.subject()).collect();
    assert_eq!(
        subjects,
        [
            "Your meeting is confirmed",
            "Reminder: your upcoming meeting"
        ]
    );
    let texts = wait_until(
        Duration::from_secs(15),
        || sms.to("+14155550142"),
        |m| m.len() >= 2,
    )
    .await;
    assert_eq!(texts.len(), 2);
    assert!(
        texts[0]["idempotencyKey"]
            .as_str()
            .unwrap()
            .starts_with("notification-")
    );
}

#[rstest]
#[tokio::test]
async fn a_deleted_contact_keeps_its_activity_and_reminder(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let (server, smtp, _sms) = delivering_server(backend, 0).await;
    let zap = server.create_user("zap", "INTEGRATION", None);
    let admin = server.create_user("ann", "ADMIN", None);
    let data = server
        .data(
            &zap,
            RECORD,
            json!({ "input": meeting_input("olga@example.com", None, Duration::from_secs(4)) }),
        )
        .await;
    let contact_id = data["recordActivity"]["contact"]["id"].clone();
    server
        .data(&admin, DELETE, json!({ "id": contact_id }))
        .await;

    let listed = server.data(&admin, ACTIVITIES, json!({})).await;
    let activities = &listed["activities"];
    assert_eq!(activities["totalCount"], 1);
    let activity = &activities["edges"][0]["node"];
    assert_eq!(activity["contact"], Value::Null);
    assert_eq!(
        activity["submitted"]["email"], "olga@example.com",
        "kept for reporting"
    );

    let mails = wait_until(
        Duration::from_secs(15),
        || smtp.to("olga@example.com"),
        |m| m.len() >= 2,
    )
    .await;
    assert_eq!(
        mails.last().unwrap().subject(),
        "Reminder: your upcoming meeting"
    );
    // The identity is free: a new activity creates a new contact.
    let again = server
        .data(
            &zap,
            RECORD,
            json!({ "input": { "kind": "CHATBOT", "contact": { "email": "olga@example.com" } } }),
        )
        .await;
    assert_eq!(again["recordActivity"]["created"], true);
}

#[rstest]
#[tokio::test]
async fn failed_deliveries_are_retried(#[values(Backend::Sqlite)] backend: Backend) {
    let (server, _smtp, sms) = delivering_server(backend, 1).await;
    let zap = server.create_user("zap", "INTEGRATION", None);
    let input = json!({ "kind": "MEETING", "contact": { "mobilePhone": "+14155550177" },
        "meeting": { "startsAt": at(Duration::from_secs(3600)), "endsAt": at(Duration::from_secs(5400)) } });
    let data = server.data(&zap, RECORD, json!({ "input": input })).await;
    let texts = wait_until(
        Duration::from_secs(15),
        || sms.to("+14155550177"),
        |m| !m.is_empty(),
    )
    .await;
    assert_eq!(texts.len(), 1, "delivered once, after one refusal");
    assert!(data["recordActivity"]["activity"]["meeting"]["id"].is_string());
    // The refusal is on record: the confirmation went out on its second attempt.
    let query = "{ activities { edges { node { meeting { notifications { kind status attempts lastError } } } } } }";
    let mut confirmation = Value::Null;
    for _ in 0..50 {
        let data = server.data(&zap, query, json!({})).await;
        confirmation = data["activities"]["edges"][0]["node"]["meeting"]["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["kind"] == "CONFIRMATION")
            .cloned()
            .unwrap();
        if confirmation["status"] == "SENT" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(confirmation["status"], "SENT", "{confirmation}");
    assert_eq!(confirmation["attempts"], 2);
    assert!(confirmation["lastError"].as_str().unwrap().contains("503"));
}

#[rstest]
#[tokio::test]
async fn replaying_an_activity_records_nothing_new(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let zap = server.create_user("zap", "INTEGRATION", None);
    let input = json!({ "kind": "ROUTING_FORM", "externalId": "form-7", "contact": { "email": "pia@example.com" },
                        "payload": { "answers": { "size": "50-200" } } });
    let first = server.data(&zap, RECORD, json!({ "input": input })).await;
    let again = server.data(&zap, RECORD, json!({ "input": input })).await;
    assert_eq!(first["recordActivity"]["created"], true);
    assert_eq!(again["recordActivity"]["created"], false);
    assert_eq!(
        first["recordActivity"]["activity"]["id"],
        again["recordActivity"]["activity"]["id"]
    );
    let listed = server.data(&zap, ACTIVITIES, json!({})).await;
    assert_eq!(listed["activities"]["totalCount"], 1);
    assert_eq!(visible_count(&server, &zap).await, 1);
}

#[rstest]
#[tokio::test]
async fn concurrent_activities_for_one_new_email_make_one_contact(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let zap = server.create_user("zap", "INTEGRATION", None);
    let calls = (0..64).map(|i| {
        server.post(
            &zap,
            RECORD,
            json!({ "input": { "kind": "CHATBOT", "externalId": format!("chat-{i}"),
                               "contact": { "email": "rush@example.com", "firstName": format!("R{i}") } } }),
        )
    });
    let answers = join_all(calls).await;
    for (_, body) in &answers {
        assert!(body.get("errors").is_none(), "{body}");
    }
    let created = answers
        .iter()
        .filter(|(_, b)| b["data"]["recordActivity"]["created"] == true)
        .count();
    assert_eq!(created, 1);
    assert_eq!(visible_count(&server, &zap).await, 1);
    let listed = server.data(&zap, ACTIVITIES, json!({})).await;
    assert_eq!(listed["activities"]["totalCount"], 64);
}

#[rstest]
#[tokio::test]
async fn latest_non_empty_values_win_and_conflicts_are_noted(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let zap = server.create_user("zap", "INTEGRATION", None);
    let a = create(
        &server,
        &admin,
        json!({ "firstName": "Quin", "email": "quin@example.com", "company": "Acme" }),
    )
    .await;
    let b = create(
        &server,
        &admin,
        json!({ "firstName": "Ruth", "mobilePhone": "+14155550155" }),
    )
    .await;

    let data = server
        .data(&zap, RECORD, json!({ "input": { "kind": "CHATBOT",
            "contact": { "firstName": "Quinn", "lastName": "Ng", "email": "quin@example.com", "company": "" } } }))
        .await;
    let contact = &data["recordActivity"]["contact"];
    assert_eq!(contact["id"], a["id"]);
    assert_eq!(contact["firstName"], "Quinn");
    assert_eq!(contact["lastName"], "Ng");
    assert_eq!(contact["company"], "Acme", "empty never clears");

    // Email is A's, phone is B's: recorded against A, noted, nothing merged.
    let data = server
        .data(
            &zap,
            RECORD,
            json!({ "input": { "kind": "CHATBOT",
            "contact": { "email": "quin@example.com", "mobilePhone": "+1 415 555 0155" } } }),
        )
        .await;
    assert_eq!(data["recordActivity"]["contact"]["id"], a["id"]);
    assert_eq!(
        data["recordActivity"]["contact"]["mobilePhone"],
        Value::Null
    );
    assert_eq!(data["recordActivity"]["activity"]["identityConflict"], true);
    let ruth = server.data(&admin, GET, json!({ "id": b["id"] })).await;
    assert_eq!(ruth["contact"]["mobilePhone"], "+14155550155");
    assert_eq!(visible_count(&server, &admin).await, 2);

    let history = server
        .data(
            &admin,
            "query($id: ID!) { contact(id: $id) { history { edges { node { action source } } } } }",
            json!({ "id": a["id"] }),
        )
        .await;
    assert_eq!(
        history["contact"]["history"]["edges"][0]["node"],
        json!({ "action": "UPDATED", "source": "CHATBOT" })
    );
}

#[rstest]
#[tokio::test]
async fn bad_activities_are_refused_and_write_nothing(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let zap = server.create_user("zap", "INTEGRATION", None);
    let cases = [
        (
            json!({ "kind": "CHATBOT", "contact": { "firstName": "Nobody" } }),
            "contact",
        ),
        (
            json!({ "kind": "CHATBOT", "contact": { "email": "nope" } }),
            "contact.email",
        ),
        (
            json!({ "kind": "MEETING", "contact": { "email": "a@example.com" } }),
            "meeting",
        ),
        (
            json!({ "kind": "MEETING", "contact": { "email": "a@example.com" },
                    "meeting": { "startsAt": at(Duration::from_secs(7200)), "endsAt": at(Duration::from_secs(3600)) } }),
            "meeting.endsAt",
        ),
    ];
    for (input, field) in cases {
        let (_, body) = server.post(&zap, RECORD, json!({ "input": input })).await;
        assert_eq!(error_codes(&body), ["VALIDATION"], "{input}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    for (input, named) in [
        (
            json!({ "kind": "PHONE_CALL", "contact": { "email": "a@example.com" } }),
            "ActivityKind",
        ),
        (
            json!({ "kind": "CHATBOT", "occurredAt": "yesterday", "contact": { "email": "a@example.com" } }),
            "DateTime",
        ),
    ] {
        let (_, body) = server.post(&zap, RECORD, json!({ "input": input })).await;
        assert_eq!(error_codes(&body), ["BAD_REQUEST"], "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(named),
            "{body}"
        );
    }
    assert_eq!(
        server.data(&zap, ACTIVITIES, json!({})).await["activities"]["totalCount"],
        0
    );
    assert_eq!(visible_count(&server, &zap).await, 0);
}

#[rstest]
#[tokio::test]
async fn a_canceled_meeting_cancels_its_pending_notifications(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let zap = server.create_user("zap", "INTEGRATION", None);
    let mut input = meeting_input("sue@example.com", None, Duration::from_secs(3 * 86_400));
    server.data(&zap, RECORD, json!({ "input": input })).await;
    input["meeting"]["status"] = json!("CANCELED");
    let data = server.data(&zap, RECORD, json!({ "input": input })).await;
    let meeting = &data["recordActivity"]["activity"]["meeting"];
    assert_eq!(meeting["status"], "CANCELED");
    let statuses: Vec<&str> = meeting["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["status"].as_str().unwrap())
        .collect();
    // No SMTP is configured here, so nothing was sent before the cancel.
    assert_eq!(statuses, ["CANCELED", "CANCELED", "CANCELED"]);
}

#[rstest]
#[tokio::test]
async fn activities_follow_contact_access_and_merges(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let mia = server.create_user("mia", "MEMBER", None);
    let zap = server.create_user("zap", "INTEGRATION", None);
    let (_, body) = server
        .post(
            &mia,
            RECORD,
            json!({ "input": { "kind": "CHATBOT", "contact": { "email": "x@example.com" } } }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);

    let mine = create(&server, &mia, json!({ "email": "mine@example.com" })).await;
    let other = create(&server, &mia, json!({ "email": "other@example.com" })).await;
    for email in [
        "mine@example.com",
        "other@example.com",
        "stranger@example.com",
    ] {
        server
            .data(
                &zap,
                RECORD,
                json!({ "input": { "kind": "CHATBOT", "contact": { "email": email } } }),
            )
            .await;
    }
    assert_eq!(
        server.data(&mia, ACTIVITIES, json!({})).await["activities"]["totalCount"],
        2
    );
    assert_eq!(
        server.data(&admin, ACTIVITIES, json!({})).await["activities"]["totalCount"],
        3
    );

    // A merge brings the absorbed contact's activities to the survivor.
    server
        .data(
            &mia,
            "mutation($s: ID!, $m: ID!) { mergeContacts(survivorId: $s, mergedId: $m, confirm: true) { contact { id } } }",
            json!({ "s": mine["id"], "m": other["id"] }),
        )
        .await;
    let of_survivor = server
        .data(
            &mia,
            "query($id: ID!) { contact(id: $id) { activities { totalCount } } }",
            json!({ "id": mine["id"] }),
        )
        .await;
    assert_eq!(of_survivor["contact"]["activities"]["totalCount"], 2);
    let filtered = server
        .data(
            &mia,
            ACTIVITIES,
            json!({ "filter": { "contactId": mine["id"], "kind": "CHATBOT" } }),
        )
        .await;
    assert_eq!(filtered["activities"]["totalCount"], 2);
}

/// The first meeting's notifications, once its confirmations are sent.
async fn settled_notifications(server: &TestServer, token: &str) -> Value {
    let query = "{ activities { edges { node { meeting { notifications { kind channel recipient status } } } } } }";
    for _ in 0..150 {
        let data = server.data(token, query, json!({})).await;
        let list = data["activities"]["edges"][0]["node"]["meeting"]["notifications"].clone();
        let confirmations_sent = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "CONFIRMATION")
            .all(|n| n["status"] == "SENT");
        if confirmations_sent {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("confirmations were not sent");
}

#[rstest]
#[tokio::test]
async fn an_identity_edit_readdresses_pending_notifications_only(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let (server, smtp, _sms) = delivering_server(backend, 0).await;
    let zap = server.create_user("zap", "INTEGRATION", None);
    let admin = server.create_user("ann", "ADMIN", None);
    let data = server
        .data(&zap, RECORD, json!({ "input": meeting_input("old@example.com", Some("+14155550160"), Duration::from_secs(3 * 86_400)) }))
        .await;
    let contact_id = data["recordActivity"]["contact"]["id"].clone();
    // The confirmation goes out to the old address first.
    wait_until(
        Duration::from_secs(15),
        || smtp.to("old@example.com"),
        |m| !m.is_empty(),
    )
    .await;
    settled_notifications(&server, &admin).await;

    server
        .data(&admin, UPDATE, json!({ "id": contact_id, "input": { "email": "new@example.com", "mobilePhone": null } }))
        .await;
    let after = settled_notifications(&server, &admin).await;
    let summary: Vec<(String, String, String, String)> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let field = |k: &str| n[k].as_str().unwrap().to_owned();
            (
                field("kind"),
                field("channel"),
                field("recipient"),
                field("status"),
            )
        })
        .collect();
    let expect = |kind: &str, channel: &str, recipient: &str, status: &str| {
        (
            kind.to_owned(),
            channel.to_owned(),
            recipient.to_owned(),
            status.to_owned(),
        )
    };
    assert!(
        summary.contains(&expect("CONFIRMATION", "EMAIL", "old@example.com", "SENT")),
        "{summary:?}"
    );
    assert!(
        summary.contains(&expect("CONFIRMATION", "SMS", "+14155550160", "SENT")),
        "{summary:?}"
    );
    assert!(
        summary.contains(&expect("REMINDER", "EMAIL", "new@example.com", "PENDING")),
        "{summary:?}"
    );
    assert!(
        summary.contains(&expect("REMINDER", "SMS", "+14155550160", "CANCELED")),
        "{summary:?}"
    );
}

#[rstest]
#[tokio::test]
async fn a_merge_readdresses_the_absorbed_contacts_reminders(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let zap = server.create_user("zap", "INTEGRATION", None);
    let admin = server.create_user("ann", "ADMIN", None);
    let data = server
        .data(&zap, RECORD, json!({ "input": meeting_input("absorbed@example.com", None, Duration::from_secs(3 * 86_400)) }))
        .await;
    let absorbed = data["recordActivity"]["contact"]["id"].clone();
    let survivor = create(&server, &admin, json!({ "email": "survivor@example.com" })).await;
    // Editing the meeting's contact into the survivor's email, confirmed:
    // the survivor keeps its address, and the absorbed contact's pending
    // reminders follow it there.
    let merged = server
        .data(
            &admin,
            "mutation($id: ID!) { updateContact(id: $id, input: { email: \"survivor@example.com\" }, confirmMerge: true) { contact { id email } } }",
            json!({ "id": absorbed }),
        )
        .await;
    assert_eq!(merged["updateContact"]["contact"]["id"], survivor["id"]);
    let list = server
        .data(&admin, "{ activities { edges { node { contact { id email } meeting { notifications { status recipient } } } } } }", json!({}))
        .await;
    let node = &list["activities"]["edges"][0]["node"];
    assert_eq!(node["contact"]["id"], survivor["id"]);
    assert_eq!(node["contact"]["email"], "survivor@example.com");
    let notifications = node["meeting"]["notifications"].as_array().unwrap();
    assert!(!notifications.is_empty());
    for notification in notifications {
        assert_eq!(notification["status"], "PENDING");
        assert_eq!(notification["recipient"], "survivor@example.com");
    }
}
