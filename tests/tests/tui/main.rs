//! End-to-end tests of the terminal client against a real server process:
//! the client's update loop is driven with key events, exactly as the
//! terminal would, and the server's state is checked over GraphQL after.

#[path = "../api/support.rs"]
#[allow(dead_code)]
mod support;

use contacts_tui::app::{App, Popup, Screen};
use contacts_tui::components::connection_screen::Problem;
use contacts_tui::config::Config;
use contacts_tui::keymap::{KeyCode, KeyEvent, KeyModifiers};
use contacts_tui::model::{ActivityKind, ContactField, MergeOutcome};
use rstest::rstest;
use serde_json::json;
use support::{Backend, TestServer};

fn client(server: &TestServer, token: &str) -> App {
    App::new(Config {
        url: server.graphql_url(),
        token: Some(token.to_owned()),
    })
}

fn press(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn ctrl(app: &mut App, c: char) {
    app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn id_of(contact: &serde_json::Value) -> String {
    contact["id"].as_str().expect("contact id").to_owned()
}

/// Search, open, edit an email into another contact's, see the merge
/// prompt, confirm it, then delete the survivor.
#[rstest]
#[tokio::test]
async fn search_edit_merge_and_delete(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ada = support::create(
        &server,
        &admin,
        json!({ "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
                "company": "Analytical Engines" }),
    )
    .await;
    let bea = support::create(
        &server,
        &admin,
        json!({ "firstName": "Bea", "lastName": "Lind", "email": "bea@example.com",
                "mobilePhone": "+14155550100" }),
    )
    .await;
    support::create(
        &server,
        &admin,
        json!({ "firstName": "Carl", "email": "carl@example.com" }),
    )
    .await;
    let (ada_id, bea_id) = (id_of(&ada), id_of(&bea));

    let mut app = client(&server, &admin);
    app.start();
    app.settle().await;
    assert_eq!(app.connection_problem(), None);
    assert_eq!(app.list().total(), Some(3));

    // Live search: each key asks again; the last answer wins.
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "lovel");
    app.settle().await;
    press(&mut app, KeyCode::Enter);
    let found: Vec<&str> = app
        .list()
        .rows()
        .iter()
        .map(|row| row.id.as_str())
        .collect();
    assert_eq!(found, [ada_id.as_str()]);
    assert_eq!(app.list().total(), Some(1));

    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let Some(Screen::Detail(detail)) = app.screen() else {
        panic!("Enter opens the contact");
    };
    assert_eq!(
        detail.contact().and_then(|c| c.email.as_deref()),
        Some("ada@example.com")
    );
    assert_eq!(detail.contact().map(|c| c.history_total), Some(1));

    // Into the form, to the email field; a bad email first: the server's
    // validation error lands beside the field and nothing is written.
    press(&mut app, KeyCode::Char('e'));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    ctrl(&mut app, 'u');
    type_text(&mut app, "not an email");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let Some(Screen::Form(form)) = app.screen() else {
        panic!("a refused save stays on the form");
    };
    assert!(
        form.error(ContactField::Email).is_some(),
        "email error shown"
    );
    assert!(app.popup().is_none());

    // Bea's email: the save answers with a merge preview, nothing written.
    ctrl(&mut app, 'u');
    type_text(&mut app, "bea@example.com");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let Some(Popup::Merge(merge)) = app.popup() else {
        panic!("saving into an existing email asks to merge");
    };
    let preview = merge.preview();
    assert_eq!(preview.survivor.id, bea_id);
    assert_eq!(
        preview.merged.as_ref().map(|m| m.id.as_str()),
        Some(ada_id.as_str())
    );
    let first_name = preview.fields.iter().find(|f| f.field == "firstName");
    assert_eq!(
        first_name.map(|f| &f.outcome),
        Some(&MergeOutcome::Overwritten)
    );
    let untouched = server
        .data(&admin, support::GET, json!({ "id": ada_id }))
        .await;
    assert_eq!(
        untouched["contact"]["id"],
        ada_id.as_str(),
        "a preview writes nothing"
    );

    // Confirm: one contact is left, Bea's record with Ada's values.
    press(&mut app, KeyCode::Char('y'));
    app.settle().await;
    assert!(app.popup().is_none());
    let Some(Screen::Detail(detail)) = app.screen() else {
        panic!("after the merge the survivor is shown");
    };
    let survivor = detail.contact().expect("survivor loaded");
    assert_eq!(survivor.id, bea_id);
    assert_eq!(survivor.first_name.as_deref(), Some("Ada"));
    assert_eq!(survivor.merged_ids, std::slice::from_ref(&ada_id));

    let merged = server
        .data(
            &admin,
            "query($id: ID!) { contact(id: $id) { id firstName email mobilePhone company mergedIds } }",
            json!({ "id": ada_id }),
        )
        .await;
    let contact = &merged["contact"];
    assert_eq!(
        contact["id"],
        bea_id.as_str(),
        "the merged id resolves to the survivor"
    );
    assert_eq!(contact["email"], "bea@example.com");
    assert_eq!(contact["mobilePhone"], "+14155550100", "empty never clears");
    assert_eq!(contact["company"], "Analytical Engines");
    assert_eq!(support::visible_count(&server, &admin).await, 2);

    // Delete the survivor from its detail screen, through the popup.
    press(&mut app, KeyCode::Char('d'));
    assert!(matches!(app.popup(), Some(Popup::Delete(_))));
    press(&mut app, KeyCode::Char('y'));
    app.settle().await;
    assert!(app.screen().is_none(), "back on the list");
    assert!(app.popup().is_none());

    let gone = server
        .data(&admin, support::GET, json!({ "id": bea_id }))
        .await;
    assert_eq!(gone["contact"], serde_json::Value::Null);
    assert_eq!(support::visible_count(&server, &admin).await, 1);
    // The list still shows the search; clearing it shows what is left.
    press(&mut app, KeyCode::Esc);
    app.settle().await;
    assert_eq!(app.list().total(), Some(1));
}

const RECORD_ACTIVITY: &str = "mutation($input: ActivityInput!) {
  recordActivity(input: $input) { contact { id } activity { id } }
}";

/// An integration records a meeting and a chatbot talk; the activities
/// list shows both, filters by kind, opens the meeting's contact; deleting
/// that contact comes back to the list, where the row stays with the
/// submitted name, marked as a deleted contact.
#[rstest]
#[tokio::test]
async fn activities_list_keeps_a_deleted_contacts_row(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let zap = server.create_user("zap", "INTEGRATION", None);
    let meeting = server
        .data(
            &zap,
            RECORD_ACTIVITY,
            json!({ "input": {
                "kind": "MEETING",
                "externalId": "booking-1",
                "occurredAt": "2026-11-30T09:00:00Z",
                "contact": { "firstName": "Nora", "lastName": "Quist", "email": "nora@example.com" },
                "meeting": { "startsAt": "2030-01-02T10:00:00Z", "endsAt": "2030-01-02T10:30:00Z",
                             "calendarProvider": "GOOGLE" }
            } }),
        )
        .await;
    let nora_id = id_of(&meeting["recordActivity"]["contact"]);
    server
        .data(
            &zap,
            RECORD_ACTIVITY,
            json!({ "input": {
                "kind": "CHATBOT",
                "occurredAt": "2026-11-29T09:00:00Z",
                "contact": { "firstName": "Otto", "email": "otto@example.com" }
            } }),
        )
        .await;

    let mut app = client(&server, &admin);
    app.start();
    app.settle().await;
    assert_eq!(app.list().total(), Some(2));

    press(&mut app, KeyCode::Char('a'));
    app.settle().await;
    let Some(Screen::Activities(activities)) = app.screen() else {
        panic!("a opens the activities list");
    };
    assert_eq!(activities.total(), Some(2));
    let labels: Vec<String> = activities
        .rows()
        .iter()
        .map(|row| format!("{} {}", row.kind, row.contact_label()))
        .collect();
    assert_eq!(
        labels,
        ["MEETING Nora Quist", "CHATBOT Otto"],
        "newest first"
    );
    let meeting_row = &activities.rows()[0];
    let summary = meeting_row.meeting.as_ref().expect("meeting summary");
    assert_eq!(
        (summary.status.as_str(), summary.calendar_provider.as_str()),
        ("SCHEDULED", "GOOGLE")
    );
    assert_eq!(meeting_row.external_id.as_deref(), Some("booking-1"));

    // Filter by kind: meetings only.
    press(&mut app, KeyCode::Char('f'));
    app.settle().await;
    let Some(Screen::Activities(activities)) = app.screen() else {
        panic!("still on the activities list");
    };
    assert_eq!(activities.kind(), Some(ActivityKind::Meeting));
    assert_eq!(activities.total(), Some(1));

    // Open Nora from her meeting, delete her: back on the activities list,
    // where the meeting stays with the name she submitted.
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let Some(Screen::Detail(detail)) = app.screen() else {
        panic!("Enter opens the activity's contact");
    };
    assert_eq!(
        detail.contact().map(|c| c.id.as_str()),
        Some(nora_id.as_str())
    );
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Char('y'));
    app.settle().await;
    let Some(Screen::Activities(activities)) = app.screen() else {
        panic!("deleting comes back to the activities list");
    };
    assert_eq!(activities.total(), Some(1));
    let row = &activities.rows()[0];
    assert_eq!(row.contact, None);
    assert_eq!(row.submitted_name, "Nora Quist");
    assert_eq!(row.contact_label(), "deleted contact (Nora Quist)");

    // Enter on it explains rather than opening anything.
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.screen(), Some(Screen::Activities(_))));
    assert_eq!(app.in_flight(), 0);

    let gone = server
        .data(&admin, support::GET, json!({ "id": nora_id }))
        .await;
    assert_eq!(gone["contact"], serde_json::Value::Null);
    let kept = server
        .data(
            &admin,
            "{ activities(filter: { kind: MEETING }) { totalCount edges { node { contact { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(kept["activities"]["totalCount"], 1);
    assert_eq!(
        kept["activities"]["edges"][0]["node"]["contact"],
        serde_json::Value::Null
    );

    // Back to the contact list: only Otto is left.
    press(&mut app, KeyCode::Esc);
    assert!(app.screen().is_none());
    assert_eq!(app.list().total(), Some(1));
}

/// A token the server does not know, and a server that is not there:
/// the connection screen, no panic, and `r` tries again.
#[tokio::test]
async fn refused_token_and_dead_server_show_the_connection_screen() {
    let server = TestServer::start(Backend::Sqlite).await;
    let mut app = client(&server, "not-a-token");
    app.start();
    app.settle().await;
    assert_eq!(app.connection_problem(), Some(&Problem::Unauthenticated));
    press(&mut app, KeyCode::Char('r'));
    app.settle().await;
    assert_eq!(app.connection_problem(), Some(&Problem::Unauthenticated));

    // A port nobody listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port();
    let mut app = App::new(Config {
        url: format!("http://127.0.0.1:{port}/graphql"),
        token: Some("whatever".to_owned()),
    });
    app.start();
    app.settle().await;
    assert!(matches!(
        app.connection_problem(),
        Some(Problem::Unreachable(_))
    ));
}

/// A member edits their contact into the email of a contact they cannot
/// access: the "Cannot Save Contact" notice, and nothing changes.
#[rstest]
#[tokio::test]
async fn cannot_save_contact_is_explained(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let member = server.create_user("mo", "MEMBER", None);
    support::create(
        &server,
        &admin,
        json!({ "firstName": "Hidden", "email": "hidden@example.com" }),
    )
    .await;
    let own = support::create(
        &server,
        &member,
        json!({ "firstName": "Mine", "email": "mine@example.com" }),
    )
    .await;

    let mut app = client(&server, &member);
    app.start();
    app.settle().await;
    assert_eq!(
        app.list().total(),
        Some(1),
        "the member sees only their contact"
    );
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    press(&mut app, KeyCode::Char('e'));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    ctrl(&mut app, 'u');
    type_text(&mut app, "hidden@example.com");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let Some(Popup::Notice(notice)) = app.popup() else {
        panic!("CANNOT_SAVE_CONTACT is shown as a notice");
    };
    assert_eq!(notice.title_text(), "Cannot Save Contact");

    // Closing it returns to the form, where the user can fix the value.
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.screen(), Some(Screen::Form(_))));
    let unchanged = server
        .data(&member, support::GET, json!({ "id": id_of(&own) }))
        .await;
    assert_eq!(unchanged["contact"]["email"], "mine@example.com");
}
