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
use contacts_tui::model::{ActivityKind, ContactField, ImportStatus, MergeOutcome, PolicyField};
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

/// Settles with a bound: an import job is polled until it finishes, and a
/// job that never did must fail the test rather than hang it.
async fn settle_import(app: &mut App) {
    tokio::time::timeout(std::time::Duration::from_secs(120), app.settle())
        .await
        .expect("the import job finishes within two minutes");
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

const IMPORT_CSV: &str = "First Name,Last Name,E-mail Address,Mobile Phone
Ada,Lovelace,ada@example.com,+1 415 555 0100
Bo,Berg,bo@example.com,not a phone
Søren,Kierkegaard,soren@example.dk,
";

/// Among 100,000 contacts, a search typed and Enter pressed at once (before
/// the search answers): Enter opens a contact of the new results, never
/// the row that was highlighted before the search (issue 18).
#[rstest]
#[tokio::test]
async fn enter_right_after_typing_a_search_opens_one_of_its_results(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("many.csv");
    let mut csv = String::from("First Name,Last Name,E-mail Address\n");
    for i in 0..99_999 {
        csv.push_str(&format!("Act{i},Person,act{i}@example.com\n"));
    }
    csv.push_str("Maximilian,Wayne,max@example.com\n");
    std::fs::write(&file, csv).expect("write the CSV file");
    support::cli(
        &server.db.url,
        &["import", file.to_str().expect("UTF-8 path"), "--as", "ann"],
    );

    let mut app = client(&server, &admin);
    app.start();
    app.settle().await;
    assert_eq!(app.list().total(), Some(100_000));
    let highlighted = app.list().selected_row().map(|row| row.id.clone());
    assert!(highlighted.is_some());

    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "maximil");
    press(&mut app, KeyCode::Enter); // keep the search, back to the table
    press(&mut app, KeyCode::Enter); // open, before any answer came
    app.settle().await;
    let Some(Screen::Detail(detail)) = app.screen() else {
        panic!("Enter opens a contact once the search answers");
    };
    assert_ne!(Some(detail.id().to_owned()), highlighted);
    assert_eq!(
        detail.contact().and_then(|c| c.email.as_deref()),
        Some("max@example.com")
    );
}

/// The import screen against a real server: a missing file is explained;
/// a dry run of a small CSV (Ada exists, Søren is new, Bo's phone is bad)
/// reports what it would do and writes nothing; `n`, dry run off, Enter:
/// the real import updates Ada, creates Søren, lists Bo's row as failed,
/// and the contact list shows the result.
#[rstest]
#[tokio::test]
async fn import_a_csv_file_dry_run_then_for_real(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ada = support::create(
        &server,
        &admin,
        json!({ "firstName": "Ada", "email": "ada@example.com" }),
    )
    .await;
    let dir = tempfile::tempdir().expect("temporary directory");
    // A space and a non-ASCII letter in the name: it travels in the
    // multipart request's headers and comes back as the job's file name.
    let file = dir.path().join("contacts ø.csv");
    std::fs::write(&file, IMPORT_CSV).expect("write the CSV file");
    let path = file.to_str().expect("UTF-8 temporary path");

    let mut app = client(&server, &admin);
    app.start();
    app.settle().await;
    assert_eq!(app.list().total(), Some(1));
    press(&mut app, KeyCode::Char('i'));
    assert!(matches!(app.screen(), Some(Screen::Import(_))));

    // A file that is not there: said so on the screen, nothing sent.
    let missing = dir.path().join("missing.csv");
    type_text(&mut app, missing.to_str().expect("UTF-8 temporary path"));
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let Some(Screen::Import(import)) = app.screen() else {
        panic!("a missing file stays on the import screen");
    };
    assert!(!import.is_uploading());
    assert_eq!(import.job(), None);
    let problem = import.problem().expect("the problem is shown");
    assert!(
        problem.contains("missing.csv") && problem.contains("no such file"),
        "{problem}"
    );

    // The dry run, with Mobile Phone ignored on the mapping step: the
    // server gets the mapping, so Bo's bad phone fails nothing.
    ctrl(&mut app, 'u');
    type_text(&mut app, path);
    ctrl(&mut app, 'd');
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let Some(Screen::Import(import)) = app.screen() else {
        panic!("the mapping step is on the import screen");
    };
    let columns: Vec<&str> = import
        .mapping_step()
        .expect("Enter reads the header for the mapping step")
        .columns()
        .iter()
        .map(|(header, _)| header.as_str())
        .collect();
    assert_eq!(
        columns,
        ["First Name", "Last Name", "E-mail Address", "Mobile Phone"]
    );
    for _ in 0..3 {
        press(&mut app, KeyCode::Char('j'));
    }
    press(&mut app, KeyCode::Left);
    press(&mut app, KeyCode::Enter);
    settle_import(&mut app).await;
    let Some(Screen::Import(import)) = app.screen() else {
        panic!("the dry run's summary is on the import screen");
    };
    let job = import.job().expect("the finished job");
    assert_eq!(job.status, ImportStatus::Succeeded, "{job:?}");
    assert!(job.dry_run);
    assert_eq!(job.file_name, "contacts ø.csv");
    assert_eq!(
        (
            job.rows_read,
            job.created,
            job.updated,
            job.unchanged,
            job.failed
        ),
        (3, 2, 1, 0, 0)
    );
    assert_eq!(job.ignored_columns, ["Mobile Phone"]);
    assert_eq!(job.bytes_done, job.bytes_total);
    assert_eq!(job.bytes_total, IMPORT_CSV.len() as u64);
    assert_eq!(
        app.status().map(|message| message.text.as_str()),
        Some(
            "Dry run of contacts ø.csv: created 2, updated 1, unchanged 0, failed 0; nothing written."
        )
    );
    assert_eq!(
        support::visible_count(&server, &admin).await,
        1,
        "a dry run writes nothing"
    );

    // For real: `n` keeps the path and the dry run, Ctrl-D turns it off.
    press(&mut app, KeyCode::Char('n'));
    ctrl(&mut app, 'd');
    let Some(Screen::Import(import)) = app.screen() else {
        panic!("n stays on the import screen");
    };
    assert_eq!(import.path(), path);
    assert!(!import.dry_run());
    // The same file's mapping step keeps the choice; → puts Mobile Phone
    // back to auto, the server's aliases.
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    for _ in 0..3 {
        press(&mut app, KeyCode::Char('j'));
    }
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Enter);
    settle_import(&mut app).await;
    let Some(Screen::Import(import)) = app.screen() else {
        panic!("the import's summary is on the import screen");
    };
    let job = import.job().expect("the finished job");
    assert_eq!(job.status, ImportStatus::Succeeded, "{job:?}");
    assert!(!job.dry_run);
    assert_eq!(
        (job.created, job.updated, job.unchanged, job.failed),
        (1, 1, 0, 1)
    );
    assert_eq!(job.error, None);
    assert!(job.ignored_columns.is_empty(), "{:?}", job.ignored_columns);
    let [failed] = job.failed_rows.as_slice() else {
        panic!("one failed row: {:?}", job.failed_rows);
    };
    assert_eq!(
        (failed.line, failed.column.as_deref()),
        (3, Some("Mobile Phone")),
        "Bo's row, the header being line 1"
    );
    assert!(failed.reason.contains("phone"), "{}", failed.reason);
    assert_eq!(
        app.status().map(|message| message.text.as_str()),
        Some("Imported contacts ø.csv: created 1, updated 1, unchanged 0, failed 1.")
    );
    assert_eq!(
        app.list().total(),
        Some(2),
        "the list under the screen was reloaded"
    );

    let updated = server
        .data(&admin, support::GET, json!({ "id": id_of(&ada) }))
        .await;
    assert_eq!(updated["contact"]["lastName"], "Lovelace");
    assert_eq!(updated["contact"]["mobilePhone"], "+14155550100");
    let created = server
        .data(
            &admin,
            r#"{ contacts(filter: { search: "soren@example.dk" }) { edges { node { firstName lastName source } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        created["contacts"]["edges"][0]["node"],
        json!({ "firstName": "Søren", "lastName": "Kierkegaard", "source": "IMPORT" })
    );
    assert_eq!(support::visible_count(&server, &admin).await, 2);

    // w: every failed row, as CSV, beside the imported file.
    press(&mut app, KeyCode::Char('w'));
    app.settle().await;
    let report = dir.path().join("contacts ø.failed-rows.csv");
    let Some(Screen::Import(import)) = app.screen() else {
        panic!("still on the import screen");
    };
    assert_eq!(
        import.saved_report(),
        report.to_str(),
        "{:?}",
        import.problem()
    );
    // Bo's row as it was in the file, then its line and reason: fix the
    // phone there and import that file again.
    let written = std::fs::read_to_string(&report).expect("the report was written");
    assert!(
        written.starts_with(
            "First Name,Last Name,E-mail Address,Mobile Phone,line,reason\n\
             Bo,Berg,bo@example.com,not a phone,3,Mobile Phone: "
        ),
        "{written}"
    );
    assert_eq!(written.lines().count(), 2, "{written}");

    // Esc: back on the list, nothing left polling.
    press(&mut app, KeyCode::Esc);
    assert!(app.screen().is_none());
    assert_eq!(app.in_flight(), 0);
    let names: Vec<&str> = app
        .list()
        .rows()
        .iter()
        .map(|row| row.name.as_str())
        .collect();
    assert_eq!(names, ["Ada Lovelace", "Søren Kierkegaard"]);

    // I: both jobs, newest first; Enter reopens the real import with its
    // failed row.
    press(&mut app, KeyCode::Char('I'));
    app.settle().await;
    let Some(Screen::Jobs(jobs)) = app.screen() else {
        panic!("I opens the jobs screen");
    };
    let listed: Vec<(bool, i64)> = jobs
        .jobs()
        .iter()
        .map(|job| (job.dry_run, job.failed))
        .collect();
    assert_eq!(listed, [(false, 1), (true, 0)], "newest first");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let Some(Screen::Import(import)) = app.screen() else {
        panic!("Enter reopens the job");
    };
    let job = import.job().expect("the reopened job");
    assert!(!job.dry_run);
    assert_eq!(job.failed_rows.len(), 1);
    assert_eq!(app.in_flight(), 0, "a finished job is not polled");
}

/// The screen as plain text, as a 160x48 terminal would show it.
fn screen_text(app: &App) -> String {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("test terminal");
    terminal.draw(|frame| app.draw(frame)).expect("draw");
    let buffer = terminal.backend().buffer();
    let width = usize::from(buffer.area.width);
    buffer
        .content()
        .chunks(width)
        .map(|row| row.iter().map(|cell| cell.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Issue 19: an admin issues a token and revokes it from the TUI (the
/// server refuses it on the next request), changes a field policy in the
/// matrix, and a member's contact screen then hides that field.
#[rstest]
#[tokio::test]
async fn an_admin_issues_and_revokes_a_token_and_a_policy_hides_a_field(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    use contacts_tui::model::{FieldAccess, PolicyField, Role};

    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let mo = server.create_user("mo", "MEMBER", None);
    support::create(
        &server,
        &mo,
        json!({ "firstName": "Lee", "email": "lee@example.com", "company": "Acme" }),
    )
    .await;

    let mut app = client(&server, &admin);
    app.start();
    app.settle().await;
    press(&mut app, KeyCode::Char('u'));
    app.settle().await;
    let Some(Screen::Users(users)) = app.screen() else {
        panic!("u opens the users");
    };
    let names: Vec<&str> = users.users().iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["ann", "mo"]);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let Some(Screen::Tokens(tokens)) = app.screen() else {
        panic!("Enter opens the user's tokens");
    };
    assert_eq!(tokens.tokens().len(), 1, "the token the CLI made");

    // Issue: the secret is shown once, and it works.
    press(&mut app, KeyCode::Char('n'));
    type_text(&mut app, "laptop");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let Some(Popup::Secret(shown)) = app.popup() else {
        panic!("the new token is shown");
    };
    let secret = shown.secret().to_owned();
    let (status, body) = server.post(&secret, "{ me { name } }", json!({})).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["data"]["me"]["name"], "mo");
    press(&mut app, KeyCode::Char('y'));
    app.settle().await;
    assert!(app.popup().is_none());
    assert!(!screen_text(&app).contains(&secret), "never shown again");

    // Revoke it, with a confirmation: refused from the next request on.
    let Some(Screen::Tokens(tokens)) = app.screen() else {
        panic!("back on the tokens");
    };
    assert_eq!(
        tokens.selected_token().and_then(|t| t.label.as_deref()),
        Some("laptop")
    );
    press(&mut app, KeyCode::Char('d'));
    assert!(matches!(app.popup(), Some(Popup::Confirm(_))));
    press(&mut app, KeyCode::Char('y'));
    app.settle().await;
    let (status, _) = server.post(&secret, "{ me { name } }", json!({})).await;
    assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED);
    let Some(Screen::Tokens(tokens)) = app.screen() else {
        panic!("still on the tokens");
    };
    let laptop = tokens
        .tokens()
        .iter()
        .find(|t| t.label.as_deref() == Some("laptop"))
        .expect("the revoked token is listed");
    assert!(laptop.revoked_at.is_some());

    // The matrix: MEMBER may no longer read email.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('p'));
    app.settle().await;
    let Some(Screen::Policies(matrix)) = app.screen() else {
        panic!("p opens the field policies");
    };
    assert_eq!(matrix.focused(), (&Role::Member, PolicyField::FirstName));
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Char('N'));
    app.settle().await;
    let Some(Screen::Policies(matrix)) = app.screen() else {
        panic!("still on the matrix");
    };
    assert_eq!(
        matrix.matrix().access(&Role::Member, PolicyField::Email),
        Some(FieldAccess::None)
    );
    let policies = server
        .data(&admin, "{ fieldPolicies { role field access } }", json!({}))
        .await;
    assert!(
        policies["fieldPolicies"]
            .as_array()
            .unwrap()
            .contains(&json!({ "role": "MEMBER", "field": "EMAIL", "access": "NONE" }))
    );

    // The member's contact screen hides the field, and shows no error.
    let mut member = client(&server, &mo);
    member.start();
    member.settle().await;
    assert_eq!(member.connection_problem(), None);
    assert!(!screen_text(&member).contains("lee@example.com"));
    press(&mut member, KeyCode::Enter);
    member.settle().await;
    let Some(Screen::Detail(detail)) = member.screen() else {
        panic!("Enter opens the contact");
    };
    let contact = detail.contact().expect("the contact is read");
    assert_eq!(contact.company.as_deref(), Some("Acme"));
    assert_eq!(contact.email, None);
    let shown = screen_text(&member);
    assert!(shown.contains("Acme"), "{shown}");
    assert!(!shown.contains("lee@example.com"), "{shown}");
    assert!(!shown.to_lowercase().contains("forbidden"), "{shown}");
}

/// Issue 20: a merging edit from the TUI, a field's side flipped first,
/// then the merge undone from the survivor's detail: both contacts are
/// back, in the list and on the server, each with its own values.
#[rstest]
#[tokio::test]
async fn merge_with_a_choice_then_undo_it(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let ada = support::create(
        &server,
        &admin,
        json!({ "firstName": "Ada", "email": "ada@example.com", "company": "Analytical Engines" }),
    )
    .await;
    let bea = support::create(
        &server,
        &admin,
        json!({ "firstName": "Bea", "email": "bea@example.com", "company": "Lind & Co" }),
    )
    .await;
    let (ada_id, bea_id) = (id_of(&ada), id_of(&bea));

    let mut app = client(&server, &admin);
    app.start();
    app.settle().await;
    assert_eq!(app.list().total(), Some(2));
    // Ada is first by name: open her, type Bea's email.
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    press(&mut app, KeyCode::Char('e'));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    ctrl(&mut app, 'u');
    type_text(&mut app, "bea@example.com");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let Some(Popup::Merge(prompt)) = app.popup() else {
        panic!("saving into Bea's email asks to merge");
    };
    assert_eq!(prompt.preview().survivor.id, bea_id);

    // Keep Bea's company: move to it and flip its side.
    let company = prompt
        .preview()
        .fields
        .iter()
        .position(|f| f.field == "company")
        .expect("company in the preview");
    let at = prompt
        .preview()
        .fields
        .iter()
        .position(|f| Some(f.field.as_str()) == prompt.selected_field())
        .unwrap_or(0);
    for _ in at..company {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Char(' '));
    app.settle().await;
    let Some(Popup::Merge(prompt)) = app.popup() else {
        panic!("the prompt stays, with the new preview");
    };
    let kept = prompt
        .preview()
        .fields
        .iter()
        .find(|f| f.field == "company")
        .expect("company");
    assert_eq!(kept.outcome, MergeOutcome::Retained);
    press(&mut app, KeyCode::Char('y'));
    app.settle().await;
    let merged = server
        .data(&admin, support::GET, json!({ "id": bea_id }))
        .await;
    assert_eq!(merged["contact"]["firstName"], "Ada");
    assert_eq!(merged["contact"]["company"], "Lind & Co", "the choice held");
    assert_eq!(support::visible_count(&server, &admin).await, 1);

    // The survivor's detail lists the merge; undo it with y.
    let Some(Screen::Detail(detail)) = app.screen() else {
        panic!("after the merge the survivor is shown");
    };
    assert_eq!(
        detail.contact().map(|c| c.id.as_str()),
        Some(bea_id.as_str())
    );
    assert_eq!(detail.merges().len(), 1);
    assert!(detail.merges()[0].stands());
    assert!(detail.merges()[0].edited_since.is_empty());

    // Someone renames Bea since: the confirmation says her name stays.
    let version = merged["contact"]["version"].clone();
    server
        .data(
            &admin,
            support::UPDATE,
            json!({ "id": bea_id, "input": { "firstName": "Beatrice" }, "v": version }),
        )
        .await;
    press(&mut app, KeyCode::Char('r'));
    app.settle().await;
    press(&mut app, KeyCode::Char('u'));
    let Some(Popup::Undo(popup)) = app.popup() else {
        panic!("u asks before undoing");
    };
    assert_eq!(popup.merge().edited_since, [PolicyField::FirstName]);
    let text = screen_text(&app);
    assert!(text.contains("kept: edited since"), "{text}");
    press(&mut app, KeyCode::Char('y'));
    app.settle().await;
    assert!(app.popup().is_none());
    let Some(Screen::Detail(restored)) = app.screen() else {
        panic!("the restored contact is shown");
    };
    assert_eq!(
        restored.contact().map(|c| c.id.as_str()),
        Some(ada_id.as_str())
    );

    // Both are back, each with its own values.
    assert_eq!(support::visible_count(&server, &admin).await, 2);
    for (id, name, email, company) in [
        (&ada_id, "Ada", "ada@example.com", "Analytical Engines"),
        (&bea_id, "Beatrice", "bea@example.com", "Lind & Co"),
    ] {
        let read = server
            .data(
                &admin,
                "query($id: ID!) { contact(id: $id) { id firstName email company } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(read["contact"]["id"], id.as_str());
        assert_eq!(read["contact"]["firstName"], name);
        assert_eq!(read["contact"]["email"], email);
        assert_eq!(read["contact"]["company"], company);
    }
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Esc);
    app.settle().await;
    assert_eq!(app.list().total(), Some(2), "the list shows both again");
}

/// A member who may read but not write email merges by an edit: the
/// server refuses the confirm (the merge would overwrite the survivor's
/// email), the prompt stays and says why, and keeping the survivor's email
/// by a flip merges.
#[rstest]
#[tokio::test]
async fn a_merge_refused_for_an_unwritable_field_goes_through_with_a_flip(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let mo = server.create_user("mo", "MEMBER", None);
    let ada = support::create(
        &server,
        &mo,
        json!({ "firstName": "Ada", "email": "ada@example.com" }),
    )
    .await;
    let bea = support::create(
        &server,
        &mo,
        json!({ "firstName": "Bea", "email": "bea@example.com", "mobilePhone": "+14155550142" }),
    )
    .await;
    server
        .data(
            &admin,
            "mutation { setFieldPolicy(role: MEMBER, field: EMAIL, access: READ) { access } }",
            json!({}),
        )
        .await;

    let mut app = client(&server, &mo);
    app.start();
    app.settle().await;
    // Ada is first by name: her form has no email field (not writable);
    // the phone comes after the names.
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    press(&mut app, KeyCode::Char('e'));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    ctrl(&mut app, 'u');
    type_text(&mut app, "+14155550142");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let Some(Popup::Merge(prompt)) = app.popup() else {
        panic!(
            "saving into Bea's phone asks to merge: {}",
            screen_text(&app)
        );
    };
    assert_eq!(prompt.preview().survivor.id, id_of(&bea));
    let email = prompt
        .preview()
        .fields
        .iter()
        .position(|f| f.field == "email")
        .expect("email in the preview");
    let at = prompt
        .preview()
        .fields
        .iter()
        .position(|f| Some(f.field.as_str()) == prompt.selected_field())
        .unwrap_or(0);

    press(&mut app, KeyCode::Char('y'));
    app.settle().await;
    assert!(
        matches!(app.popup(), Some(Popup::Merge(_))),
        "the refused merge keeps its prompt"
    );
    let status = app.status().map(|m| m.text.clone()).unwrap_or_default();
    assert!(status.contains("cannot write email"), "{status}");
    assert_eq!(
        support::visible_count(&server, &admin).await,
        2,
        "nothing merged"
    );

    for _ in at..email {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Char(' '));
    app.settle().await;
    press(&mut app, KeyCode::Char('y'));
    app.settle().await;
    assert!(app.popup().is_none(), "{}", screen_text(&app));
    let merged = server
        .data(&admin, support::GET, json!({ "id": id_of(&bea) }))
        .await;
    assert_eq!(
        merged["contact"]["email"], "bea@example.com",
        "kept by the flip"
    );
    assert_eq!(merged["contact"]["firstName"], "Ada");
    assert_eq!(support::visible_count(&server, &admin).await, 1);
    let via_ada = server
        .data(&admin, support::GET, json!({ "id": id_of(&ada) }))
        .await;
    assert_eq!(via_ada["contact"]["id"], id_of(&bea).as_str());
}
