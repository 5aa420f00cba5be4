//! Rendering of every screen, without a terminal or a server: the app is
//! driven with keys and with the answers a server would send, and the
//! screen is compared with a reviewed snapshot at 80x24 and at 160x48.

use contacts_tui::action::Action;
use contacts_tui::api::{ApiError, FieldError};
use contacts_tui::app::{App, Popup, Screen};
use contacts_tui::config::Config;
use contacts_tui::model::{
    ActivityContact, ActivityKind, ActivityPage, ActivityRow, ApiToken, Contact, ContactField,
    ContactPage, ContactRow, Delivery, DeliveryStatus, FieldAccess, FieldChange, FieldMerge,
    FieldPolicy, FieldRights, HistoryEntry, ImportJob, ImportJobPage, ImportRowError, ImportStatus,
    Integration, IssuedToken, Me, MeetingSummary, MergeOutcome, MergePreview, MergeRecord,
    MergeSide, Page, PolicyField, PolicyMatrix, PreviewContact, RecentActivity, Role, SaveOutcome,
    SavedReport, SavedUser, Secret, Team, User, UserEdit,
};
use contacts_tui::request::{Request, SaveRequest};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn config() -> Config {
    Config {
        url: "http://127.0.0.1:8080/graphql".to_owned(),
        token: Some("token".to_owned()),
    }
}

fn row(id: &str, name: &str, email: &str, phone: &str, company: &str) -> ContactRow {
    ContactRow {
        id: id.to_owned(),
        name: name.to_owned(),
        email: Some(email.to_owned()).filter(|v| !v.is_empty()),
        mobile_phone: Some(phone.to_owned()).filter(|v| !v.is_empty()),
        company: Some(company.to_owned()).filter(|v| !v.is_empty()),
        owner: Some("ann".to_owned()),
        updated_at: "2026-11-30T09:15:42.123456Z".to_owned(),
    }
}

fn page() -> ContactPage {
    ContactPage {
        rows: vec![
            row(
                "c1",
                "Ada Lovelace",
                "ada@example.com",
                "+14155550100",
                "Analytical Engines",
            ),
            row("c2", "Bea Lind", "bea@example.com", "", "Acme"),
            row(
                "c3",
                "Søren Kierkegaard",
                "",
                "+4520123456",
                "Københavns Universitet",
            ),
            row(
                "c4",
                "李小龍",
                "bruce@example.hk",
                "+85291234567",
                "電影公司",
            ),
            row("c5", "carl@example.com", "carl@example.com", "", ""),
        ],
        total: 132,
        total_capped: false,
        has_next_page: true,
        end_cursor: Some("cursor-5".to_owned()),
    }
}

fn ada() -> Contact {
    Contact {
        id: "c1".to_owned(),
        first_name: Some("Ada".to_owned()),
        last_name: Some("Lovelace".to_owned()),
        email: Some("ada@example.com".to_owned()),
        mobile_phone: Some("+14155550100".to_owned()),
        company: Some("Analytical Engines".to_owned()),
        job_title: Some("Programmer".to_owned()),
        timezone: Some("Europe/London".to_owned()),
        source: "MANUAL".to_owned(),
        owner: Some("ann".to_owned()),
        team: Some("Sales".to_owned()),
        merged_ids: vec!["c9".to_owned()],
        version: 3,
        created_at: "2026-11-01T08:00:00Z".to_owned(),
        updated_at: "2026-11-30T09:15:42.123456Z".to_owned(),
        history: vec![
            HistoryEntry {
                action: "MERGED".to_owned(),
                merged_contact_id: Some("c9".to_owned()),
                source: "MANUAL".to_owned(),
                at: "2026-11-30T09:15:42Z".to_owned(),
                actor: Some("ann".to_owned()),
                changes: vec![FieldChange {
                    field: "jobTitle".to_owned(),
                    before: None,
                    after: Some("Programmer".to_owned()),
                }],
            },
            HistoryEntry {
                action: "UPDATED".to_owned(),
                merged_contact_id: None,
                source: "API".to_owned(),
                at: "2026-11-12T10:00:00Z".to_owned(),
                actor: None,
                changes: vec![FieldChange {
                    field: "company".to_owned(),
                    before: Some("Babbage & Co".to_owned()),
                    after: Some("Analytical Engines".to_owned()),
                }],
            },
            HistoryEntry {
                action: "CREATED".to_owned(),
                merged_contact_id: None,
                source: "MANUAL".to_owned(),
                at: "2026-11-01T08:00:00Z".to_owned(),
                actor: Some("ann".to_owned()),
                changes: vec![],
            },
        ],
        rights: FieldRights::ALL,
        history_total: 3,
        activities: vec![
            RecentActivity {
                kind: "MEETING".to_owned(),
                occurred_at: "2026-11-29T16:20:00Z".to_owned(),
                meeting: Some(("2026-12-02T10:00:00Z".to_owned(), "SCHEDULED".to_owned())),
            },
            RecentActivity {
                kind: "CHATBOT".to_owned(),
                occurred_at: "2026-11-20T11:05:00Z".to_owned(),
                meeting: None,
            },
        ],
        activities_total: 7,
        merges: Vec::new(),
        merges_total: 0,
    }
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn type_text(app: &mut App, text: &str) -> Vec<Request> {
    text.chars()
        .flat_map(|c| app.press(key(KeyCode::Char(c))))
        .collect()
}

/// The list, loaded, signed in as ann.
fn list_app() -> App {
    list_app_with(page())
}

/// The list, `page` loaded, signed in as ann, an admin.
fn list_app_with(page: ContactPage) -> App {
    list_app_as(Role::Admin, page)
}

/// The list, `page` loaded, signed in as ann with `role`.
fn list_app_as(role: Role, page: ContactPage) -> App {
    let mut app = App::new(config());
    assert_eq!(
        app.startup_requests(),
        vec![Request::Me],
        "who we are first"
    );
    let requests = app.update(Action::MeLoaded(Ok(Me {
        name: "ann".to_owned(),
        role,
        permissions: None,
    })));
    app.update(Action::ContactsLoaded {
        generation: contacts_generation(&requests),
        result: Ok(page),
    });
    app
}

fn contacts_generation(requests: &[Request]) -> u64 {
    requests
        .iter()
        .find_map(|request| match request {
            Request::Contacts { generation, .. } => Some(*generation),
            _ => None,
        })
        .expect("asks for contacts")
}

fn detail_app() -> App {
    let mut app = list_app();
    let requests = app.press(key(KeyCode::Enter));
    assert_eq!(
        requests,
        vec![Request::Contact {
            id: "c1".to_owned()
        }]
    );
    app.update(Action::ContactLoaded {
        id: "c1".to_owned(),
        result: Ok(Some(Box::new(ada()))),
    });
    app
}

/// The edit form of Ada with her email retyped as Bea's, saved; returns
/// the save request the app sent.
fn saving_form_app() -> (App, SaveRequest) {
    let mut app = detail_app();
    app.press(key(KeyCode::Char('e')));
    app.press(key(KeyCode::Tab));
    app.press(key(KeyCode::Tab));
    app.press(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    type_text(&mut app, "bea@example.com");
    let mut requests = app.press(key(KeyCode::Enter));
    let Some(Request::Save(request)) = requests.pop() else {
        panic!("Enter on the form saves");
    };
    (app, request)
}

fn activity(
    id: &str,
    kind: &str,
    occurred_at: &str,
    contact: Option<(&str, &str)>,
    submitted_name: &str,
) -> ActivityRow {
    ActivityRow {
        id: id.to_owned(),
        kind: kind.to_owned(),
        occurred_at: occurred_at.to_owned(),
        external_id: None,
        identity_conflict: false,
        contact: contact.map(|(id, name)| ActivityContact {
            id: id.to_owned(),
            name: name.to_owned(),
        }),
        submitted_name: submitted_name.to_owned(),
        meeting: None,
    }
}

fn meeting(starts_at: &str, status: &str, provider: &str) -> Option<MeetingSummary> {
    Some(MeetingSummary {
        starts_at: starts_at.to_owned(),
        status: status.to_owned(),
        calendar_provider: provider.to_owned(),
    })
}

fn activity_page() -> ActivityPage {
    ActivityPage {
        rows: vec![
            ActivityRow {
                external_id: Some("evt-7f3a".to_owned()),
                meeting: meeting("2026-12-02T10:00:00Z", "SCHEDULED", "GOOGLE"),
                ..activity(
                    "a1",
                    "MEETING",
                    "2026-11-30T09:15:42.123Z",
                    Some(("c1", "Ada Lovelace")),
                    "Ada Lovelace",
                )
            },
            ActivityRow {
                identity_conflict: true,
                ..activity(
                    "a2",
                    "CHATBOT",
                    "2026-11-29T16:20:00Z",
                    Some(("c2", "Bea Lind")),
                    "Bea Lind",
                )
            },
            ActivityRow {
                meeting: meeting("2026-11-28T14:30:00Z", "CANCELED", "EXCHANGE"),
                external_id: Some("AAMkAGI2TG93AAA=".to_owned()),
                ..activity("a3", "MEETING", "2026-11-27T08:00:00Z", None, "Olga Berg")
            },
            activity(
                "a4",
                "ROUTING_FORM",
                "2026-11-20T11:05:00Z",
                Some(("c4", "李小龍")),
                "李小龍",
            ),
            activity(
                "a5",
                "CHATBOT",
                "2026-11-19T07:45:00Z",
                None,
                "søren@example.dk",
            ),
        ],
        total: 37,
        has_next_page: true,
        end_cursor: Some("cursor-a5".to_owned()),
    }
}

fn activities_generation(requests: &[Request]) -> u64 {
    requests
        .iter()
        .find_map(|request| match request {
            Request::Activities { generation, .. } => Some(*generation),
            _ => None,
        })
        .expect("asks for activities")
}

/// The activities list opened from the contact list, its first page in.
fn activities_app() -> App {
    let mut app = list_app();
    let requests = app.press(key(KeyCode::Char('a')));
    let generation = activities_generation(&requests);
    app.update(Action::ActivitiesLoaded {
        generation,
        result: Ok(activity_page()),
    });
    app
}

fn render(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal.draw(|frame| app.draw(frame)).expect("draw");
    terminal
}

fn snapshot(name: &str, app: &App) {
    for (width, height) in SIZES {
        let terminal = render(app, width, height);
        insta::assert_snapshot!(format!("{name}_{width}x{height}"), terminal.backend());
    }
}

#[test]
fn contact_list() {
    snapshot("list", &list_app());
}

#[test]
fn contact_list_searching() {
    let mut app = list_app();
    app.press(key(KeyCode::Char('/')));
    let requests = type_text(&mut app, "søren");
    assert_eq!(requests.len(), 5, "each key waits for typing to pause");
    assert!(
        requests
            .iter()
            .all(|request| matches!(request, Request::SearchPause { .. })),
        "nothing is sent while typing: {requests:?}"
    );
    assert!(app.list().is_searching());
    assert_eq!(app.list().query().search, "søren");
    snapshot("list_searching", &app);
}

/// Long values: the list sizes its columns to them, cuts names and
/// companies with `…`, and drops a column rather than cut an email or a
/// phone number; the detail wraps every value whole; a long status
/// message wraps instead of being cut.
#[test]
fn long_values() {
    let mut long_page = page();
    long_page.rows.insert(
        1,
        row(
            "c6",
            "Maximiliane Alexandra von Hohenzollern-Sigmaringen",
            "maximiliane.alexandra.von.hohenzollern@sigmaringen-holdings.example.com",
            "+498912345678901",
            "Sigmaringen Holdings Beteiligungsgesellschaft mbH & Co. KG",
        ),
    );
    long_page.total = 1_100_355;
    let mut app = list_app_with(long_page);
    app.update(Action::ContactsLoaded {
        generation: u64::MAX,
        result: Ok(page()),
    });
    snapshot("long_values_list", &app);
    for (width, height) in SIZES {
        let rows = screen_rows(&render(&app, width, height));
        let screen = rows.join("\n");
        assert!(
            !screen.contains("+4989123456…") && !screen.contains("+14155550…"),
            "{width}x{height}: a phone number is never cut:\n{screen}"
        );
        assert!(
            screen.contains("1,100,355"),
            "{width}x{height}: counts in thousands"
        );
    }

    app.press(key(KeyCode::Down));
    app.press(key(KeyCode::Enter));
    let mut contact = ada();
    contact.id = "c6".to_owned();
    contact.first_name = Some("Maximiliane Alexandra".to_owned());
    contact.last_name = Some("von Hohenzollern-Sigmaringen".to_owned());
    contact.email =
        Some("maximiliane.alexandra.von.hohenzollern@sigmaringen-holdings.example.com".to_owned());
    contact.company = Some("Sigmaringen Holdings Beteiligungsgesellschaft mbH & Co. KG".to_owned());
    contact.merged_ids = (1..=12)
        .map(|i| format!("Q29udGFjdDoxMjM0NTY3{i}"))
        .collect();
    contact.history[1].changes[0].before =
        Some("Hohenzollern Vermögensverwaltung und Beteiligungen GmbH".to_owned());
    contact.activities_total = 12_345;
    app.update(Action::ContactLoaded {
        id: "c6".to_owned(),
        result: Ok(Some(Box::new(contact))),
    });
    app.update(Action::Saved {
        request: SaveRequest {
            target: contacts_tui::request::SaveTarget::Create,
            changes: Vec::new(),
            choices: Vec::new(),
            confirm_survivor_version: None,
        },
        result: Err(ApiError::Server(
            "the database gave up on this request: it took too long; ask for less at a time"
                .to_owned(),
        )),
    });
    snapshot("long_values_detail", &app);
}

/// A viewer's list asks for no personal data and shows no such columns,
/// instead of an error; keys of actions a viewer cannot perform (n, i, e,
/// d) are neither offered nor routed.
#[test]
fn viewer_list() {
    let mut app = App::new(config());
    app.startup_requests();
    let requests = app.update(Action::MeLoaded(Ok(Me {
        name: "vic".to_owned(),
        role: Role::Viewer,
        permissions: None,
    })));
    let [Request::Contacts { query, .. }] = requests.as_slice() else {
        panic!("the first page follows me: {requests:?}");
    };
    for field in [
        PolicyField::Email,
        PolicyField::MobilePhone,
        PolicyField::Owner,
    ] {
        assert!(!query.fields.may_read(field), "{field:?} is not asked for");
    }
    let mut rows = page();
    for row in &mut rows.rows {
        row.email = None;
        row.mobile_phone = None;
        row.owner = None;
    }
    app.update(Action::ContactsLoaded {
        generation: contacts_generation(&requests),
        result: Ok(rows),
    });
    snapshot("viewer_list", &app);

    assert!(app.press(key(KeyCode::Char('n'))).is_empty());
    assert!(app.screen().is_none(), "n is not a viewer's key");
    app.press(key(KeyCode::Char('i')));
    assert!(app.screen().is_none(), "nor i");
    app.press(key(KeyCode::Char('?')));
    assert!(!shows(&app, 80, 24, "new contact"));
    assert!(!shows(&app, 80, 24, "import contacts"));
    assert!(shows(&app, 80, 24, "search"));
    app.press(key(KeyCode::Esc));

    app.press(key(KeyCode::Enter));
    app.update(Action::ContactLoaded {
        id: "c1".to_owned(),
        result: Ok(Some(Box::new(Contact {
            email: None,
            mobile_phone: None,
            owner: None,
            team: None,
            rights: FieldRights::defaults(&Role::Viewer),
            history: Vec::new(),
            ..ada()
        }))),
    });
    app.press(key(KeyCode::Char('e')));
    app.press(key(KeyCode::Char('d')));
    assert!(matches!(app.screen(), Some(Screen::Detail(_))), "no e");
    assert!(app.popup().is_none(), "no d");
    assert!(!shows(&app, 80, 24, "History"));
    assert!(
        !shows(&app, 80, 24, "Owner"),
        "not readable is not \"no owner\""
    );
}

/// A merge preview's values are what the decision rests on: long ones
/// wrap in their cells, none is cut.
#[test]
fn long_values_in_a_merge_preview() {
    let (mut app, request) = saving_form_app();
    let long_company =
        "Sigmaringen Holdings Beteiligungsgesellschaft mbH & Co. KG, Zweigniederlassung München";
    app.update(Action::Saved {
        request,
        result: Ok(SaveOutcome::NeedsMerge(MergePreview {
            survivor: PreviewContact {
                id: "c2".to_owned(),
                name: "Maximiliane Alexandra von Hohenzollern-Sigmaringen".to_owned(),
                version: 7,
            },
            merged: None,
            fields: vec![
                merge_field(
                    "email",
                    Some("maximiliane.alexandra.von.hohenzollern@sigmaringen-holdings.example.com"),
                    Some("maximiliane.alexandra.von.hohenzollern@sigmaringen-holdings.example.com"),
                    MergeOutcome::Unchanged,
                ),
                merge_field(
                    "company",
                    Some("Acme"),
                    Some(long_company),
                    MergeOutcome::Overwritten,
                ),
            ],
        })),
    });
    snapshot("long_values_merge", &app);
    for (width, height) in SIZES {
        let screen = screen_rows(&render(&app, width, height)).join("");
        assert!(
            screen
                .replace(['│', ' '], "")
                .contains("Zweigniederlassung"),
            "{width}x{height}: the whole value is on screen"
        );
    }
}

#[test]
fn contact_detail() {
    snapshot("detail", &detail_app());
}

/// Two merges into Ada: Bea's record (standing, the newest), and the
/// values of a contact created over her email (undone).
fn ada_merges() -> Vec<MergeRecord> {
    vec![
        MergeRecord {
            id: "m2".to_owned(),
            merged_id: Some("c9".to_owned()),
            merged_at: "2026-11-30T09:15:42Z".to_owned(),
            merged_by: Some("ann".to_owned()),
            source: "MANUAL".to_owned(),
            undone_at: None,
            undoable: true,
            edited_since: vec![PolicyField::Company],
            fields: vec![
                merge_field(
                    "firstName",
                    Some("Ada"),
                    Some("Ada"),
                    MergeOutcome::Unchanged,
                ),
                merge_field("lastName", Some("Lovelace"), None, MergeOutcome::Retained),
                merge_field(
                    "email",
                    Some("ada@example.com"),
                    Some("ada@example.com"),
                    MergeOutcome::Unchanged,
                ),
                merge_field(
                    "mobilePhone",
                    None,
                    Some("+14155550100"),
                    MergeOutcome::Filled,
                ),
                merge_field(
                    "company",
                    Some("Babbage & Co"),
                    Some("Analytical Engines"),
                    MergeOutcome::Overwritten,
                ),
                merge_field("jobTitle", None, Some("Programmer"), MergeOutcome::Filled),
            ],
        },
        MergeRecord {
            id: "m1".to_owned(),
            merged_id: None,
            merged_at: "2026-11-12T10:00:00Z".to_owned(),
            merged_by: None,
            source: "API".to_owned(),
            undone_at: Some("2026-11-13T08:30:00Z".to_owned()),
            undoable: false,
            edited_since: Vec::new(),
            fields: vec![merge_field(
                "timezone",
                None,
                Some("Europe/London"),
                MergeOutcome::Filled,
            )],
        },
    ]
}

/// Ada's detail with her merges loaded.
fn merges_app() -> App {
    let mut app = list_app();
    app.press(key(KeyCode::Enter));
    app.update(Action::ContactLoaded {
        id: "c1".to_owned(),
        result: Ok(Some(Box::new(Contact {
            merges: ada_merges(),
            merges_total: 2,
            ..ada()
        }))),
    });
    app
}

/// The merges into a contact, newest first: when, by whom, what was
/// absorbed, standing or undone; `u` is offered on a standing one only.
#[test]
fn detail_merges() {
    let mut app = merges_app();
    snapshot("detail_merges", &app);
    let Some(Screen::Detail(detail)) = app.screen() else {
        panic!("the detail is open");
    };
    assert_eq!(detail.merges().len(), 2);
    assert_eq!(detail.selected_merge().map(|m| m.id.as_str()), Some("m2"));

    app.press(key(KeyCode::Char(']')));
    assert!(shows(
        &app,
        160,
        48,
        "▸ 2026-11-12 10:00  undone 2026-11-13 08:30"
    ));
    assert!(
        app.press(key(KeyCode::Char('u'))).is_empty() && app.popup().is_none(),
        "an undone merge is not undone again"
    );
    app.press(key(KeyCode::Char('?')));
    assert!(!shows(&app, 160, 48, "undo the selected merge"));
    app.press(key(KeyCode::Esc));
    app.press(key(KeyCode::Char('[')));
    app.press(key(KeyCode::Char('?')));
    assert!(shows(&app, 160, 48, "undo the selected merge"));
}

/// `u` asks first, showing what comes back: the absorbed contact with the
/// values it brought, and the survivor's fields the merge changed.
#[test]
fn undo_merge_confirmation() {
    let mut app = merges_app();
    assert!(app.press(key(KeyCode::Char('u'))).is_empty(), "u only asks");
    let Some(Popup::Undo(popup)) = app.popup() else {
        panic!("u asks before undoing");
    };
    assert_eq!(popup.merge().id, "m2");
    snapshot("undo_merge", &app);

    assert!(app.press(key(KeyCode::Enter)).is_empty(), "only y undoes");
    app.press(key(KeyCode::Char('q')));
    assert!(app.popup().is_none(), "q keeps the merge, like Esc");
    app.press(key(KeyCode::Char('u')));
    assert_eq!(
        app.press(key(KeyCode::Char('y'))),
        vec![Request::UndoMerge {
            merge_id: "m2".to_owned(),
            survivor_id: "c1".to_owned(),
            expected_survivor_version: 3,
        }]
    );
    assert!(shows(&app, 80, 24, "Undoing…"));
}

#[test]
fn activities() {
    let mut app = activities_app();
    snapshot("activities", &app);

    // The third row's contact is gone: Enter explains instead of opening.
    app.press(key(KeyCode::Down));
    app.press(key(KeyCode::Down));
    assert!(app.press(key(KeyCode::Enter)).is_empty());
    assert!(matches!(app.screen(), Some(Screen::Activities(_))));
    // The first opens its contact.
    app.press(key(KeyCode::Char('g')));
    assert_eq!(
        app.press(key(KeyCode::Enter)),
        vec![Request::Contact {
            id: "c1".to_owned()
        }]
    );
    assert!(matches!(app.screen(), Some(Screen::Detail(_))));
    app.press(key(KeyCode::Esc));
    assert!(matches!(app.screen(), Some(Screen::Activities(_))));
}

#[test]
fn activities_filtered_by_kind() {
    let mut app = activities_app();
    let requests = app.press(key(KeyCode::Char('f')));
    assert!(matches!(
        requests.as_slice(),
        [Request::Activities {
            kind: Some(ActivityKind::Meeting),
            after: None,
            ..
        }]
    ));
    let mut page = activity_page();
    page.rows.retain(|row| row.kind == "MEETING");
    page.total = 2;
    page.has_next_page = false;
    app.update(Action::ActivitiesLoaded {
        generation: activities_generation(&requests),
        result: Ok(page),
    });
    snapshot("activities_meetings", &app);
}

/// Text fields edit in the middle: ←, →, Home, End, Delete and Backspace
/// act at the cursor, which the terminal shows where the next character
/// goes.
#[test]
fn text_fields_edit_in_the_middle() {
    let mut app = list_app();
    app.press(key(KeyCode::Char('n')));
    type_text(&mut app, "Ada");
    app.press(key(KeyCode::Home));
    type_text(&mut app, "X");
    app.press(key(KeyCode::End));
    app.press(key(KeyCode::Left));
    app.press(key(KeyCode::Delete));
    app.press(key(KeyCode::Left));
    app.press(key(KeyCode::Backspace));
    app.press(key(KeyCode::Right));
    let Some(Screen::Form(form)) = app.screen() else {
        panic!("n opens the form");
    };
    assert_eq!(form.value(ContactField::FirstName), "Xd");
    let mut terminal = render(&app, 80, 24);
    // The border, the label's 15 columns and a gap, then "Xd".
    assert_eq!(
        terminal.get_cursor_position().ok(),
        Some(ratatui::layout::Position::new(19, 1))
    );

    // The search box too: a typo fixed at the start searches again.
    let mut app = list_app();
    app.press(key(KeyCode::Char('/')));
    type_text(&mut app, "ada");
    app.press(key(KeyCode::Home));
    assert!(
        app.press(key(KeyCode::Delete)).len() == 1,
        "a change searches"
    );
    assert_eq!(app.list().query().search, "da");
    assert!(app.press(key(KeyCode::Right)).is_empty(), "a move does not");
}

#[test]
fn form_with_validation_error() {
    let (mut app, request) = saving_form_app();
    app.update(Action::Saved {
        request,
        result: Err(ApiError::Validation(vec![
            FieldError {
                field: Some("mobilePhone".to_owned()),
                message: "not a valid phone number".to_owned(),
            },
            FieldError {
                field: Some("timezone".to_owned()),
                message:
                    "is not an IANA time zone name (such as Europe/London or America/New_York)"
                        .to_owned(),
            },
            FieldError {
                field: Some("ownerId".to_owned()),
                message: "no such user".to_owned(),
            },
        ])),
    });
    // Every error at once, each whole; the first bad field has the cursor.
    snapshot("form_validation_error", &app);
    let Some(Screen::Form(form)) = app.screen() else {
        panic!("a refused save stays on the form");
    };
    assert_eq!(form.focused_field(), Some(ContactField::MobilePhone));
    assert!(form.error(ContactField::Timezone).is_some());

    // Esc with unsaved edits asks; n keeps the form, y discards it.
    app.press(key(KeyCode::Esc));
    assert!(matches!(app.popup(), Some(Popup::Confirm(_))));
    snapshot("form_discard", &app);
    assert!(app.press(key(KeyCode::Enter)).is_empty());
    assert!(
        matches!(app.popup(), Some(Popup::Confirm(_))),
        "Enter is not yes"
    );
    app.press(key(KeyCode::Char('n')));
    assert!(app.popup().is_none());
    assert!(matches!(app.screen(), Some(Screen::Form(_))));
    app.press(key(KeyCode::Esc));
    app.press(key(KeyCode::Char('y')));
    assert!(matches!(app.screen(), Some(Screen::Detail(_))));
    // Without edits, Esc just leaves.
    app.press(key(KeyCode::Char('e')));
    app.press(key(KeyCode::Esc));
    assert!(app.popup().is_none());
    assert!(matches!(app.screen(), Some(Screen::Detail(_))));
}

#[test]
fn merge_prompt() {
    let (mut app, request) = saving_form_app();
    let preview = MergePreview {
        survivor: PreviewContact {
            id: "c2".to_owned(),
            name: "Bea Lind".to_owned(),
            version: 7,
        },
        merged: Some(PreviewContact {
            id: "c1".to_owned(),
            name: "Ada Lovelace".to_owned(),
            version: 3,
        }),
        fields: vec![
            merge_field(
                "firstName",
                Some("Bea"),
                Some("Ada"),
                MergeOutcome::Overwritten,
            ),
            merge_field(
                "lastName",
                Some("Lind"),
                Some("Lovelace"),
                MergeOutcome::Overwritten,
            ),
            merge_field(
                "email",
                Some("bea@example.com"),
                Some("bea@example.com"),
                MergeOutcome::Unchanged,
            ),
            merge_field(
                "mobilePhone",
                None,
                Some("+14155550100"),
                MergeOutcome::Filled,
            ),
            merge_field(
                "company",
                Some("Acme"),
                Some("Analytical Engines"),
                MergeOutcome::Overwritten,
            ),
            merge_field("jobTitle", None, Some("Programmer"), MergeOutcome::Filled),
            merge_field(
                "timezone",
                Some("Europe/Oslo"),
                None,
                MergeOutcome::Retained,
            ),
        ],
    };
    app.update(Action::Saved {
        request: request.clone(),
        result: Ok(SaveOutcome::NeedsMerge(preview)),
    });
    snapshot("merge_prompt", &app);

    // The Enter that saved, pressed again, does not merge.
    assert!(app.press(key(KeyCode::Enter)).is_empty());
    assert!(matches!(app.popup(), Some(Popup::Merge(_))));

    // Confirming re-sends the same save with the survivor's version.
    let requests = app.press(key(KeyCode::Char('y')));
    assert_eq!(
        requests,
        vec![Request::Save(SaveRequest {
            confirm_survivor_version: Some(7),
            ..request
        })]
    );
}

/// The merge prompt after Company was flipped to the survivor's side
/// and the server's preview of that choice came back: the table shows
/// the choice, and `y` confirms exactly it.
#[test]
fn merge_prompt_with_a_flipped_field() {
    let (mut app, request) = saving_form_app();
    let preview = |company: MergeOutcome| MergePreview {
        survivor: PreviewContact {
            id: "c2".to_owned(),
            name: "Bea Lind".to_owned(),
            version: 7,
        },
        merged: Some(PreviewContact {
            id: "c1".to_owned(),
            name: "Ada Lovelace".to_owned(),
            version: 3,
        }),
        fields: vec![
            merge_field(
                "firstName",
                Some("Bea"),
                Some("Ada"),
                MergeOutcome::Overwritten,
            ),
            merge_field(
                "email",
                Some("bea@example.com"),
                Some("bea@example.com"),
                MergeOutcome::Unchanged,
            ),
            merge_field("company", Some("Acme"), Some("Analytical Engines"), company),
            merge_field("jobTitle", None, Some("Programmer"), MergeOutcome::Filled),
        ],
    };
    app.update(Action::Saved {
        request: request.clone(),
        result: Ok(SaveOutcome::NeedsMerge(preview(MergeOutcome::Overwritten))),
    });
    app.press(key(KeyCode::Down));
    app.press(key(KeyCode::Down));
    let mut requests = app.press(key(KeyCode::Char(' ')));
    let Some(Request::Save(flipped)) = requests.pop() else {
        panic!("Space asks for the preview again");
    };
    assert_eq!(
        flipped.choices,
        [contacts_tui::model::FieldChoice {
            field: ContactField::Company,
            keep: MergeSide::Survivor,
        }]
    );
    assert!(shows(
        &app,
        80,
        24,
        "Asking the server what your choice does"
    ));
    assert!(
        app.press(key(KeyCode::Char('y'))).is_empty(),
        "y waits for the preview"
    );
    app.update(Action::Saved {
        request: flipped.clone(),
        result: Ok(SaveOutcome::NeedsMerge(preview(MergeOutcome::Retained))),
    });
    snapshot("merge_prompt_flipped", &app);

    let requests = app.press(key(KeyCode::Char('y')));
    assert_eq!(
        requests,
        vec![Request::Save(SaveRequest {
            confirm_survivor_version: Some(7),
            ..flipped
        })]
    );
}

fn merge_field(
    field: &str,
    current: Option<&str>,
    incoming: Option<&str>,
    outcome: MergeOutcome,
) -> FieldMerge {
    FieldMerge {
        field: field.to_owned(),
        current: current.map(str::to_owned),
        incoming: incoming.map(str::to_owned),
        outcome,
    }
}

#[test]
fn cannot_save_contact() {
    let (mut app, request) = saving_form_app();
    app.update(Action::Saved {
        request,
        result: Err(ApiError::CannotSave {
            field: Some("email".to_owned()),
        }),
    });
    snapshot("cannot_save", &app);
}

#[test]
fn delete_popup() {
    let mut app = detail_app();
    app.press(key(KeyCode::Char('d')));
    snapshot("delete_popup", &app);
    assert!(app.press(key(KeyCode::Enter)).is_empty(), "only y deletes");
    app.press(key(KeyCode::Char('q')));
    assert!(app.popup().is_none(), "q keeps the contact, like Esc");
    app.press(key(KeyCode::Char('d')));
    assert!(matches!(
        app.press(key(KeyCode::Char('y'))).as_slice(),
        [Request::Delete { .. }]
    ));
}

#[test]
fn help_overlay() {
    let mut app = list_app();
    app.press(key(KeyCode::Char('?')));
    assert!(app.help_is_open());
    snapshot("help_list", &app);

    // Too short for every key: the border says how many are below, and
    // scrolling stops at the last one.
    // Short keys are paired side by side first.
    assert!(shows(
        &app,
        80,
        16,
        "j/↓  next contact                  k/↑  previous contact"
    ));
    assert!(shows(&app, 80, 16, "5 more ↓"));
    assert!(!shows(&app, 80, 16, "Ctrl-c  quit"));
    app.press(key(KeyCode::Char('j')));
    assert!(shows(&app, 80, 16, "4 more ↓"));
    for _ in 0..50 {
        app.press(key(KeyCode::Char('j')));
    }
    assert!(shows(&app, 80, 16, "Ctrl-c  quit"));
    assert!(shows(&app, 80, 16, "Esc close · k scroll up"));
}

#[test]
fn server_down() {
    let mut app = App::new(config());
    app.startup_requests();
    app.update(Action::MeLoaded(Err(ApiError::Unreachable(
        "connection refused or host unreachable".to_owned(),
    ))));
    snapshot("server_down", &app);
}

/// The server goes away under a form with unsaved edits: the box says the
/// form is kept, retries by itself, and q asks before losing the form.
#[test]
fn outage_over_an_unsaved_form() {
    let (mut app, _) = saving_form_app();
    app.update(Action::MeLoaded(Err(ApiError::Unreachable(
        "connection refused or host unreachable".to_owned(),
    ))));
    snapshot("outage_unsaved_form", &app);
    app.press(key(KeyCode::Char('q')));
    assert!(!app.should_quit());
    assert!(shows(&app, 80, 24, "Quit and lose the unsaved form?"));
    app.press(key(KeyCode::Esc));
    assert!(!shows(&app, 80, 24, "Quit and lose the unsaved form?"));
    assert!(matches!(app.screen(), Some(Screen::Form(_))));
}

#[test]
fn token_refused() {
    let mut app = App::new(config());
    app.startup_requests();
    app.update(Action::MeLoaded(Err(ApiError::Unauthenticated)));
    snapshot("unauthenticated", &app);
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn failed_row(line: i64, column: Option<&str>, reason: &str) -> ImportRowError {
    ImportRowError {
        line,
        column: column.map(str::to_owned),
        reason: reason.to_owned(),
    }
}

/// A job of `outlook.csv`, 40 % through, as a poll would bring it.
fn running_job() -> ImportJob {
    ImportJob {
        id: "job-1".to_owned(),
        status: ImportStatus::Running,
        file_name: "outlook.csv".to_owned(),
        dry_run: false,
        rows_read: 4_000,
        created: 3_120,
        updated: 610,
        unchanged: 268,
        failed: 2,
        bytes_done: 1_258_291,
        bytes_total: 3_145_728,
        error: None,
        ignored_columns: vec!["Notes".to_owned(), "Birthday".to_owned()],
        failed_rows: vec![
            failed_row(3, Some("Mobile Phone"), "is not a phone number"),
            failed_row(
                1_207,
                Some("E-mail Address"),
                "is not an email address: søren@@example.dk",
            ),
        ],
        created_at: "2026-11-30T09:15:00Z".to_owned(),
        started_at: Some("2026-11-30T09:15:02.123Z".to_owned()),
        finished_at: None,
    }
}

/// The import screen opened from the list with `i`, a path typed.
fn import_entry_app(path: &str) -> App {
    let mut app = list_app();
    assert!(app.press(key(KeyCode::Char('i'))).is_empty());
    assert!(matches!(app.screen(), Some(Screen::Import(_))));
    assert!(type_text(&mut app, path).is_empty(), "typing sends nothing");
    app
}

/// The watch of the import screen on top: its polls' answers carry it.
fn import_watch(app: &App) -> u64 {
    match app.screen() {
        Some(Screen::Import(import)) => import.watch(),
        other => panic!("not on the import screen: {other:?}"),
    }
}

/// The header of an Outlook export, as the mapping step reads it.
const OUTLOOK_HEADER: &[&str] = &[
    "First Name",
    "Last Name",
    "E-mail Address",
    "Mobile Phone",
    "Company",
    "Job Title",
    "Notes",
    "Birthday",
];

/// Enter on the path; the file's `header` read: the mapping step.
fn map_columns(app: &mut App, header: &[&str]) {
    let attempt = match app.press(key(KeyCode::Enter)).as_slice() {
        [Request::ReadHeader { attempt, .. }] => *attempt,
        other => panic!("Enter reads the file's header: {other:?}"),
    };
    app.update(Action::HeaderRead {
        attempt,
        result: Ok(header.iter().map(|cell| (*cell).to_owned()).collect()),
    });
    assert!(
        matches!(app.screen(), Some(Screen::Import(import)) if import.mapping_step().is_some()),
        "the mapping step"
    );
}

/// The import started with Enter; returns the upload's attempt number.
fn start_import(app: &mut App) -> u64 {
    map_columns(app, OUTLOOK_HEADER);
    match app.press(key(KeyCode::Enter)).as_slice() {
        [Request::StartImport { attempt, .. }] => *attempt,
        other => panic!("Enter uploads the file: {other:?}"),
    }
}

/// An import of `outlook.csv` under way, as the second poll saw it.
fn import_running_app() -> App {
    let mut app = import_entry_app("~/exports/outlook.csv");
    let attempt = start_import(&mut app);
    let queued = ImportJob {
        status: ImportStatus::Queued,
        rows_read: 0,
        created: 0,
        updated: 0,
        unchanged: 0,
        failed: 0,
        bytes_done: 0,
        ignored_columns: Vec::new(),
        failed_rows: Vec::new(),
        created_at: "2026-11-30T09:15:00Z".to_owned(),
        started_at: None,
        ..running_job()
    };
    let polls = app.update(Action::ImportStarted {
        attempt,
        result: Ok(Box::new(queued)),
    });
    assert!(
        matches!(polls.as_slice(), [Request::ImportJob { id, .. }] if id == "job-1"),
        "the queued job is polled: {polls:?}"
    );
    let polls = app.update(Action::ImportJobLoaded {
        id: "job-1".to_owned(),
        watch: import_watch(&app),
        result: Ok(Some(Box::new(running_job()))),
    });
    assert_eq!(polls.len(), 1, "a running job is polled again");
    app
}

#[test]
fn import_path_entry() {
    let mut app = import_entry_app("~/exports/Kontakte München 2026.csv");
    app.press(ctrl('d'));
    let Some(Screen::Import(import)) = app.screen() else {
        panic!("on the import screen");
    };
    assert!(import.dry_run(), "Ctrl-D turns the dry run on");
    snapshot("import_entry", &app);

    // `?` is part of a path here; F1 shows the keys, Esc closes them.
    type_text(&mut app, "?");
    assert!(!app.help_is_open());
    app.press(key(KeyCode::Backspace));
    app.press(key(KeyCode::F(1)));
    assert!(app.help_is_open());
    app.press(key(KeyCode::Esc));

    // Esc goes back to the list, nothing asked of the server.
    assert!(app.press(key(KeyCode::Esc)).is_empty());
    assert!(app.screen().is_none());
}

/// Enter on the path reads the file's header: each column feeds a field
/// of the user's choice, or is left to the server's aliases (auto), or
/// ignored; only the choices made are sent, as the job's mapping.
#[test]
fn import_mapping_step() {
    let mut app = import_entry_app("~/exports/outlook.csv");
    map_columns(&mut app, OUTLOOK_HEADER);
    // Notes feeds the job title; Birthday is ignored.
    for _ in 0..6 {
        app.press(key(KeyCode::Char('j')));
    }
    for _ in 0..6 {
        app.press(key(KeyCode::Right));
    }
    app.press(key(KeyCode::Char('j')));
    app.press(key(KeyCode::Left));
    snapshot("import_mapping", &app);
    let requests = app.press(key(KeyCode::Enter));
    let [Request::StartImport { mapping, path, .. }] = requests.as_slice() else {
        panic!("Enter uploads the file: {requests:?}");
    };
    assert_eq!(path, "~/exports/outlook.csv");
    assert_eq!(
        mapping,
        &vec![
            ("Notes".to_owned(), Some(ContactField::JobTitle)),
            ("Birthday".to_owned(), None),
        ]
    );

    // Esc on the mapping step goes back to the path, kept.
    let mut app = import_entry_app("a.csv");
    map_columns(&mut app, &["Email"]);
    app.press(key(KeyCode::Esc));
    let Some(Screen::Import(import)) = app.screen() else {
        panic!("still on the import screen");
    };
    assert!(import.mapping_step().is_none());
    assert_eq!(import.path(), "a.csv");
}

#[test]
fn import_of_a_missing_file() {
    let mut app = import_entry_app("/srv/exports/contacts-2026-11-30-final.csv");
    let attempt = match app.press(key(KeyCode::Enter)).as_slice() {
        [Request::ReadHeader { attempt, .. }] => *attempt,
        other => panic!("Enter reads the file's header: {other:?}"),
    };
    app.update(Action::HeaderRead {
        attempt,
        result: Err(ApiError::File(
            "Cannot read /srv/exports/contacts-2026-11-30-final.csv: no such file.".to_owned(),
        )),
    });
    let Some(Screen::Import(import)) = app.screen() else {
        panic!("still on the import screen");
    };
    assert!(!import.is_uploading(), "back to the path, to fix it");
    snapshot("import_missing_file", &app);
}

#[test]
fn import_running() {
    snapshot("import_running", &import_running_app());
}

#[test]
fn import_finished_with_failed_rows() {
    let mut app = import_running_app();
    let finished = ImportJob {
        status: ImportStatus::Succeeded,
        rows_read: 10_412,
        created: 9_874,
        updated: 402,
        unchanged: 123,
        failed: 13,
        bytes_done: 3_145_728,
        failed_rows: (0..13)
            .map(|i| match i {
                0 => failed_row(3, Some("Mobile Phone"), "is not a phone number"),
                1 => failed_row(
                    1_207,
                    Some("E-mail Address"),
                    "is not an email address: søren@@example.dk",
                ),
                2 => failed_row(
                    2_311,
                    None,
                    "has neither an email nor a mobile phone, so it cannot be matched or created; fill one of them in and import the file again",
                ),
                3 => failed_row(4_000, Some("Mobile Phone"), "李小龍的電話號碼無效"),
                i => failed_row(5_000 + i, Some("E-mail Address"), "is not an email address"),
            })
            .collect(),
        finished_at: Some("2026-11-30T09:16:40Z".to_owned()),
        ..running_job()
    };
    let requests = app.update(Action::ImportJobLoaded {
        id: "job-1".to_owned(),
        watch: import_watch(&app),
        result: Ok(Some(Box::new(finished))),
    });
    assert!(
        matches!(requests.as_slice(), [Request::Contacts { .. }]),
        "a real import reloads the contact list when it ends: {requests:?}"
    );
    assert_eq!(
        app.status().map(|message| message.text.as_str()),
        Some("Imported outlook.csv: created 9,874, updated 402, unchanged 123, failed 13.")
    );
    // The third failed row is selected: its long reason is shown in full.
    app.press(key(KeyCode::Down));
    app.press(key(KeyCode::Char('j')));
    snapshot("import_finished", &app);

    // w writes every failed row beside the imported file.
    assert_eq!(
        app.press(key(KeyCode::Char('w'))),
        vec![Request::SaveErrorReport {
            id: "job-1".to_owned(),
            import_path: "~/exports/outlook.csv".to_owned(),
        }]
    );
    assert!(
        app.press(key(KeyCode::Char('w'))).is_empty(),
        "one at a time"
    );
    app.update(Action::ErrorReportSaved {
        id: "job-1".to_owned(),
        result: Ok(SavedReport {
            path: "/home/ann/exports/outlook.failed-rows.csv".to_owned(),
            original_rows: true,
        }),
    });
    let Some(Screen::Import(import)) = app.screen() else {
        panic!("still on the import screen");
    };
    assert_eq!(
        import.saved_report(),
        Some("/home/ann/exports/outlook.failed-rows.csv")
    );
    assert_eq!(
        app.status().map(|message| message.text.as_str()),
        Some(
            "Every failed row saved to /home/ann/exports/outlook.failed-rows.csv, as in the file \
             plus line and reason: fix them there and import that file."
        )
    );

    // No more polls; Esc goes back to the list.
    assert!(app.press(key(KeyCode::Esc)).is_empty());
    assert!(app.screen().is_none());
}

#[test]
fn import_job_failed() {
    let mut app = import_entry_app("names.csv");
    app.press(ctrl('d'));
    let attempt = start_import(&mut app);
    let failed = ImportJob {
        id: "job-2".to_owned(),
        status: ImportStatus::Failed,
        file_name: "names.csv".to_owned(),
        dry_run: true,
        rows_read: 0,
        created: 0,
        updated: 0,
        unchanged: 0,
        failed: 0,
        bytes_done: 0,
        bytes_total: 912,
        error: Some(
            "no column holds an email or a mobile phone; name one in the mapping".to_owned(),
        ),
        ignored_columns: vec!["Name".to_owned(), "Company".to_owned(), "Notes".to_owned()],
        failed_rows: Vec::new(),
        created_at: "2026-11-30T09:15:00Z".to_owned(),
        started_at: Some("2026-11-30T23:59:58Z".to_owned()),
        finished_at: Some("2026-12-01T00:00:01Z".to_owned()),
    };
    let requests = app.update(Action::ImportStarted {
        attempt,
        result: Ok(Box::new(failed)),
    });
    assert!(
        requests.is_empty(),
        "a finished dry run asks for nothing: {requests:?}"
    );
    snapshot("import_failed", &app);

    // n: back to the path, kept, for another try.
    app.press(key(KeyCode::Char('n')));
    let Some(Screen::Import(import)) = app.screen() else {
        panic!("still on the import screen");
    };
    assert_eq!(import.job(), None);
    assert_eq!(import.path(), "names.csv");
}

/// The jobs screen lists the user's imports, newest first; Enter reopens
/// one (a running one is polled to its end); leaving a running one hands
/// it to the app, which tells when it has finished.
#[test]
fn import_jobs_screen() {
    let mut app = list_app();
    let requests = app.press(key(KeyCode::Char('I')));
    let [
        Request::ImportJobs {
            generation,
            after: None,
        },
    ] = requests.as_slice()
    else {
        panic!("I opens the jobs screen: {requests:?}");
    };
    let finished = ImportJob {
        id: "job-0".to_owned(),
        status: ImportStatus::Succeeded,
        file_name: "hubspot-export-2026-11-29-all-contacts-with-custom-properties.csv".to_owned(),
        rows_read: 1_000_000,
        created: 998_765,
        updated: 1_200,
        unchanged: 0,
        failed: 35,
        bytes_done: 3_145_728,
        failed_rows: Vec::new(),
        created_at: "2026-11-29T17:02:11Z".to_owned(),
        finished_at: Some("2026-11-29T17:03:20Z".to_owned()),
        ..running_job()
    };
    let dry = ImportJob {
        id: "job-9".to_owned(),
        status: ImportStatus::Failed,
        file_name: "names.csv".to_owned(),
        dry_run: true,
        error: Some("no column holds an email or a mobile phone".to_owned()),
        created_at: "2026-11-28T08:00:00Z".to_owned(),
        finished_at: Some("2026-11-28T08:00:01Z".to_owned()),
        ..running_job()
    };
    app.update(Action::ImportJobsLoaded {
        generation: *generation,
        result: Ok(ImportJobPage {
            jobs: vec![running_job(), finished, dry],
            total: 3,
            has_next_page: false,
            end_cursor: None,
        }),
    });
    snapshot("import_jobs", &app);

    // Enter on the running job reopens it and polls it.
    let requests = app.press(key(KeyCode::Enter));
    let [Request::ImportJob { id, watch, .. }] = requests.as_slice() else {
        panic!("Enter reopens the job: {requests:?}");
    };
    assert_eq!(id, "job-1");
    assert!(matches!(app.screen(), Some(Screen::Import(import)) if import.watch() == *watch));

    // Esc with the poll out: the app follows the job from its answer on.
    app.press(key(KeyCode::Esc));
    assert!(matches!(app.screen(), Some(Screen::Jobs(_))));
    let next = app.update(Action::ImportJobLoaded {
        id: "job-1".to_owned(),
        watch: *watch,
        result: Ok(Some(Box::new(running_job()))),
    });
    let [
        Request::ImportJob {
            watch: background, ..
        },
    ] = next.as_slice()
    else {
        panic!("followed in the background: {next:?}");
    };
    app.press(key(KeyCode::Esc));
    let done = ImportJob {
        status: ImportStatus::Succeeded,
        rows_read: 10_412,
        created: 9_874,
        finished_at: Some("2026-11-30T09:16:40Z".to_owned()),
        ..running_job()
    };
    let requests = app.update(Action::ImportJobLoaded {
        id: "job-1".to_owned(),
        watch: *background,
        result: Ok(Some(Box::new(done))),
    });
    assert!(
        matches!(requests.as_slice(), [Request::Contacts { .. }]),
        "a finished import reloads the list: {requests:?}"
    );
    assert!(matches!(app.popup(), Some(Popup::Notice(_))), "and says so");
    assert!(shows(&app, 80, 24, "Imported outlook.csv: created 9,874"));
    snapshot("import_job_finished_notice", &app);
    app.press(key(KeyCode::Enter));
    assert!(app.popup().is_none());
}

/// Every screen at sizes from absurd to huge, with values far longer than
/// any column and names in scripts of double-width characters: drawing
/// must neither panic nor write outside the frame (TestBackend panics on
/// out-of-bounds writes).
#[test]
fn no_size_or_value_breaks_drawing() {
    let long = "Ω".repeat(300);
    let wide = "漢字かなカナ한글".repeat(40);
    let mut app = App::new(config());
    app.startup_requests();
    let requests = app.update(Action::MeLoaded(Ok(Me {
        name: "ann".to_owned(),
        role: Role::Admin,
        permissions: None,
    })));
    app.update(Action::ContactsLoaded {
        generation: contacts_generation(&requests),
        result: Ok(ContactPage {
            rows: vec![
                row(
                    "x1",
                    &wide,
                    &format!("{long}@example.com"),
                    "+14155550100",
                    &long,
                ),
                row("x2", "Zoë 👩‍👩‍👧 Ñúñez", "zoe@example.com", "", &wide),
            ],
            total: 2,
            total_capped: false,
            has_next_page: false,
            end_cursor: None,
        }),
    });
    let mut contact = ada();
    contact.first_name = Some(wide.clone());
    contact.company = Some(long.clone());
    contact.merged_ids = (0..50).map(|i| format!("merged-{i}")).collect();

    let sizes = [
        (1, 1),
        (10, 3),
        (30, 8),
        (80, 24),
        (81, 25),
        (120, 40),
        (250, 80),
    ];
    let check = |app: &App| {
        for (width, height) in sizes {
            render(app, width, height);
        }
    };
    check(&app);
    app.press(key(KeyCode::Char('?')));
    check(&app);
    app.press(key(KeyCode::Esc));
    app.press(key(KeyCode::Enter));
    app.update(Action::ContactLoaded {
        id: "x1".to_owned(),
        result: Ok(Some(Box::new(Contact {
            id: "x1".to_owned(),
            ..contact.clone()
        }))),
    });
    check(&app);
    app.press(key(KeyCode::Char('d')));
    check(&app);
    app.press(key(KeyCode::Esc));
    app.press(key(KeyCode::Char('e')));
    type_text(&mut app, &long);
    check(&app);
    let Some(Request::Save(request)) = app.press(key(KeyCode::Enter)).pop() else {
        panic!("Enter on the form saves");
    };
    app.update(Action::Saved {
        request: request.clone(),
        result: Err(ApiError::Validation(vec![FieldError {
            field: Some("firstName".to_owned()),
            message: long.clone(),
        }])),
    });
    check(&app);
    // Saved again, the same save answers with a merge preview.
    assert_eq!(
        app.press(key(KeyCode::Enter)),
        vec![Request::Save(request.clone())]
    );
    app.update(Action::Saved {
        request,
        result: Ok(SaveOutcome::NeedsMerge(MergePreview {
            survivor: PreviewContact {
                id: "x2".to_owned(),
                name: wide.clone(),
                version: 1,
            },
            merged: None,
            fields: vec![merge_field(
                "company",
                Some(&long),
                Some(&wide),
                MergeOutcome::Overwritten,
            )],
        })),
    });
    check(&app);

    // The activities list, over a fresh contact list: long and wide
    // names, a deleted contact, a meeting, a conflict, a long external id.
    app.update(Action::MeLoaded(Ok(Me {
        name: wide.clone(),
        role: Role::Admin,
        permissions: None,
    })));
    // Esc closes the merge prompt; on the form it asks first, since the
    // edits are not saved; then the detail.
    app.press(key(KeyCode::Esc));
    app.press(key(KeyCode::Esc));
    check(&app);
    app.press(key(KeyCode::Char('y')));
    app.press(key(KeyCode::Esc));
    assert!(app.screen().is_none(), "back on the contact list");
    let requests = app.press(key(KeyCode::Char('a')));
    check(&app);
    app.update(Action::ActivitiesLoaded {
        generation: activities_generation(&requests),
        result: Ok(ActivityPage {
            rows: vec![
                ActivityRow {
                    external_id: Some(long.clone()),
                    identity_conflict: true,
                    meeting: meeting(&long, &wide, &long),
                    ..activity("y1", &long, &wide, Some(("x1", &wide)), &long)
                },
                activity("y2", "CHATBOT", "", None, &wide),
                activity(
                    "y3",
                    "ROUTING_FORM",
                    "2026",
                    Some(("x2", "Zoë 👩‍👩‍👧 Ñúñez")),
                    "",
                ),
            ],
            total: i64::MAX,
            has_next_page: true,
            end_cursor: Some(long.clone()),
        }),
    });
    check(&app);
    app.press(key(KeyCode::Char('G')));
    check(&app);
    app.press(key(KeyCode::Char('?')));
    check(&app);

    // The import screen: a long path of wide characters, then a job with
    // absurd counts and values.
    app.press(key(KeyCode::Esc));
    app.press(key(KeyCode::Esc));
    assert!(app.screen().is_none(), "back on the contact list");
    app.press(key(KeyCode::Char('i')));
    check(&app);
    type_text(&mut app, &format!("~/{wide}/{long}.csv"));
    check(&app);
    app.press(key(KeyCode::Enter));
    check(&app);
    app.press(key(KeyCode::Esc));
    let long_header = [long.as_str(), wide.as_str(), "", "E-mail"];
    map_columns(&mut app, &long_header);
    app.press(key(KeyCode::Right));
    app.press(key(KeyCode::Char('G')));
    app.press(key(KeyCode::Left));
    check(&app);
    let attempt = match app.press(key(KeyCode::Enter)).as_slice() {
        [
            Request::StartImport {
                attempt, mapping, ..
            },
        ] => {
            assert_eq!(mapping.len(), 2, "{mapping:?}");
            *attempt
        }
        other => panic!("Enter uploads the file: {other:?}"),
    };
    check(&app);
    app.update(Action::ImportStarted {
        attempt,
        result: Err(ApiError::File(long.clone())),
    });
    check(&app);
    let attempt = start_import(&mut app);
    app.update(Action::ImportStarted {
        attempt,
        result: Ok(Box::new(ImportJob {
            id: "big".to_owned(),
            file_name: wide.clone(),
            rows_read: i64::MAX,
            created: i64::MIN,
            failed: i64::MAX,
            bytes_done: u64::MAX,
            bytes_total: 3,
            error: Some(long.clone()),
            ignored_columns: vec![wide.clone(); 30],
            failed_rows: (0..200)
                .map(|i| failed_row(i, Some(&wide), &long))
                .collect(),
            started_at: Some(long.clone()),
            ..running_job()
        })),
    });
    check(&app);
    app.press(key(KeyCode::Char('G')));
    app.update(Action::ImportJobLoaded {
        id: "big".to_owned(),
        watch: import_watch(&app),
        result: Ok(Some(Box::new(ImportJob {
            id: "big".to_owned(),
            status: ImportStatus::Other(long.clone()),
            finished_at: Some(String::new()),
            bytes_total: 0,
            failed_rows: vec![failed_row(i64::MIN, None, "")],
            ..running_job()
        }))),
    });
    check(&app);
    app.press(key(KeyCode::Char('w')));
    check(&app);
    app.update(Action::ErrorReportSaved {
        id: "big".to_owned(),
        result: Ok(SavedReport {
            path: format!("/{wide}/{long}.failed-rows.csv"),
            original_rows: false,
        }),
    });
    check(&app);
    app.press(key(KeyCode::Char('?')));
    check(&app);
    app.press(key(KeyCode::Esc));

    app.update(Action::MeLoaded(Err(ApiError::Unreachable(long.clone()))));
    check(&app);
}

/// The merges list, the undo confirmation and a merge prompt with a
/// flipped field, with values far longer than any column, names of
/// double-width characters and many merges, at sizes from absurd to huge.
#[test]
fn merges_and_undo_survive_any_size() {
    let long = "Ω".repeat(300);
    let wide = "漢字かなカナ한글".repeat(40);
    let sizes = [(1, 1), (10, 3), (30, 8), (80, 24), (120, 40), (250, 80)];
    let check = |app: &App| {
        for (width, height) in sizes {
            render(app, width, height);
        }
    };
    let mut merges: Vec<MergeRecord> = (0..30)
        .map(|i| MergeRecord {
            id: format!("m{i}"),
            merged_id: Some(format!("{long}{i}")),
            merged_by: Some(wide.clone()),
            source: long.clone(),
            undone_at: (i % 2 == 1).then(|| long.clone()),
            undoable: i % 2 == 0,
            fields: vec![
                merge_field(
                    "company",
                    Some(&long),
                    Some(&wide),
                    MergeOutcome::Overwritten,
                ),
                merge_field("ownerId", None, Some(&long), MergeOutcome::Filled),
                merge_field(&long, Some(&wide), None, MergeOutcome::Other(long.clone())),
            ],
            ..ada_merges()[0].clone()
        })
        .collect();
    merges.push(MergeRecord {
        merged_id: None,
        merged_at: String::new(),
        fields: Vec::new(),
        ..merges[0].clone()
    });
    let mut app = list_app();
    app.press(key(KeyCode::Enter));
    app.update(Action::ContactLoaded {
        id: "c1".to_owned(),
        result: Ok(Some(Box::new(Contact {
            first_name: Some(wide.clone()),
            merges_total: i64::MAX,
            merges,
            ..ada()
        }))),
    });
    check(&app);
    for _ in 0..40 {
        app.press(key(KeyCode::Char(']')));
    }
    check(&app);
    app.press(key(KeyCode::Char('[')));
    app.press(key(KeyCode::Char('[')));
    app.press(key(KeyCode::Char('u')));
    assert!(matches!(app.popup(), Some(Popup::Undo(_))));
    check(&app);
    app.press(key(KeyCode::Char('?')));
    check(&app);
    app.press(key(KeyCode::Esc));
    app.press(key(KeyCode::Esc));

    let (mut app, request) = saving_form_app();
    let preview = MergePreview {
        survivor: PreviewContact {
            id: "c2".to_owned(),
            name: wide.clone(),
            version: 1,
        },
        merged: Some(PreviewContact {
            id: long.clone(),
            name: wide.clone(),
            version: 3,
        }),
        fields: vec![
            merge_field(
                "company",
                Some(&long),
                Some(&wide),
                MergeOutcome::Overwritten,
            ),
            merge_field("jobTitle", None, Some(&long), MergeOutcome::Filled),
            merge_field(
                &long,
                Some(&wide),
                Some(""),
                MergeOutcome::Other(long.clone()),
            ),
        ],
    };
    app.update(Action::Saved {
        request,
        result: Ok(SaveOutcome::NeedsMerge(preview.clone())),
    });
    check(&app);
    let Some(Request::Save(flipped)) = app.press(key(KeyCode::Char(' '))).pop() else {
        panic!("Space on the first field with a choice asks again");
    };
    check(&app);
    app.update(Action::Saved {
        request: flipped,
        result: Ok(SaveOutcome::NeedsMerge(preview)),
    });
    for _ in 0..5 {
        app.press(key(KeyCode::Char('j')));
        app.press(key(KeyCode::Char(' ')));
        check(&app);
    }
}

/// The screen's rows as plain text.
fn screen_rows(terminal: &Terminal<TestBackend>) -> Vec<String> {
    let buffer = terminal.backend().buffer();
    let width = usize::from(buffer.area.width.max(1));
    buffer
        .content()
        .chunks(width)
        .map(|row| row.iter().map(|cell| cell.symbol()).collect())
        .collect()
}

fn shows(app: &App, width: u16, height: u16, text: &str) -> bool {
    screen_rows(&render(app, width, height))
        .iter()
        .any(|row| row.contains(text))
}

/// At 80x24 the keys of every screen fit the help overlay whole: its last
/// line (Ctrl-C, the last global key) is on screen without scrolling.
#[test]
fn help_fits_at_80x24_everywhere() {
    let (mut cannot_save, request) = saving_form_app();
    cannot_save.update(Action::Saved {
        request,
        result: Err(ApiError::CannotSave {
            field: Some("email".to_owned()),
        }),
    });
    let mut searching = list_app();
    searching.press(key(KeyCode::Char('/')));
    let mut delete = detail_app();
    delete.press(key(KeyCode::Char('d')));
    let mut undo = merges_app();
    undo.press(key(KeyCode::Char('u')));
    let (mut merge_prompt, request) = saving_form_app();
    merge_prompt.update(Action::Saved {
        request,
        result: Ok(SaveOutcome::NeedsMerge(MergePreview {
            survivor: PreviewContact {
                id: "c2".to_owned(),
                name: "Bea Lind".to_owned(),
                version: 7,
            },
            merged: None,
            fields: vec![merge_field(
                "company",
                Some("Acme"),
                Some("Initech"),
                MergeOutcome::Overwritten,
            )],
        })),
    });
    let mut down = App::new(config());
    down.startup_requests();
    down.update(Action::MeLoaded(Err(ApiError::Unreachable(
        "refused".to_owned(),
    ))));
    let mut refused = App::new(config());
    refused.startup_requests();
    refused.update(Action::MeLoaded(Err(ApiError::Unauthenticated)));
    let mut jobs = list_app();
    jobs.press(key(KeyCode::Char('I')));
    let mut mapping = import_entry_app("a.csv");
    map_columns(&mut mapping, OUTLOOK_HEADER);
    let (mut outage, _) = saving_form_app();
    outage.update(Action::MeLoaded(Err(ApiError::Unreachable(
        "refused".to_owned(),
    ))));
    let mut users_search = users_app();
    users_search.press(key(KeyCode::Char('/')));
    let mut user_form = users_app();
    user_form.press(key(KeyCode::Char('e')));
    let mut user_form_teams = users_app();
    user_form_teams.press(key(KeyCode::Char('e')));
    user_form_teams.press(key(KeyCode::Tab));
    let mut teams = users_app();
    teams.press(key(KeyCode::Char('T')));
    let mut token_form = tokens_app();
    token_form.press(key(KeyCode::Char('n')));
    let mut revoke = tokens_app();
    revoke.press(key(KeyCode::Char('d')));
    let mut deliveries = integrations_app();
    deliveries.press(key(KeyCode::Enter));
    let mut policies_app = list_app();
    policies_app.press(key(KeyCode::Char('p')));
    let screens = [
        ("policies", policies_app),
        ("users", users_app()),
        ("users search", users_search),
        ("user form", user_form),
        ("user form teams", user_form_teams),
        ("teams", teams),
        ("tokens", tokens_app()),
        ("token form", token_form),
        ("revoke", revoke),
        ("integrations", integrations_app()),
        ("deliveries", deliveries),
        ("list", list_app()),
        ("jobs", jobs),
        ("mapping", mapping),
        ("outage over a form", outage),
        ("search", searching),
        ("detail", detail_app()),
        ("detail with merges", merges_app()),
        ("undo", undo),
        ("merge prompt", merge_prompt),
        ("form", saving_form_app().0),
        ("activities", activities_app()),
        ("import entry", import_entry_app("a.csv")),
        ("import running", import_running_app()),
        ("delete", delete),
        ("cannot save", cannot_save),
        ("server down", down),
        ("token refused", refused),
    ];
    for (name, mut app) in screens {
        app.press(key(KeyCode::F(1)));
        assert!(app.help_is_open(), "{name}: F1 opens the help");
        let rows = screen_rows(&render(&app, 80, 24));
        assert!(
            rows.iter().any(|row| row.contains("Ctrl-c  quit")),
            "{name}: the help's last line is cut off:\n{}",
            rows.join("\n")
        );
        assert!(
            !rows
                .iter()
                .any(|row| row.contains("Esc close") && row.contains("more ↓")),
            "{name}: the help needs scrolling:\n{}",
            rows.join("\n")
        );
    }
}

/// Popups grow with their wrapped text, so a long or wide name never
/// pushes their keys out of sight.
#[test]
fn popup_keys_survive_long_text() {
    let wide = "漢字かなカナ한글".repeat(12);
    let mut app = list_app();
    app.press(key(KeyCode::Enter));
    app.update(Action::ContactLoaded {
        id: "c1".to_owned(),
        result: Ok(Some(Box::new(Contact {
            first_name: Some(wide.clone()),
            ..ada()
        }))),
    });
    app.press(key(KeyCode::Char('d')));
    for (width, height) in SIZES {
        assert!(shows(&app, width, height, "y delete"), "{width}x{height}");
    }

    let (mut app, request) = saving_form_app();
    app.update(Action::Saved {
        request,
        result: Ok(SaveOutcome::NeedsMerge(MergePreview {
            survivor: PreviewContact {
                id: "c2".to_owned(),
                name: wide.clone(),
                version: 1,
            },
            merged: Some(PreviewContact {
                id: "c1".to_owned(),
                name: wide.clone(),
                version: 3,
            }),
            fields: vec![merge_field(
                "company",
                Some("Acme"),
                Some(&wide),
                MergeOutcome::Overwritten,
            )],
        })),
    });
    for (width, height) in SIZES {
        assert!(shows(&app, width, height, "y merge"), "{width}x{height}");
        assert!(
            shows(&app, width, height, "OVERWRITTEN"),
            "{width}x{height}"
        );
    }

    let mut app = App::new(config());
    app.startup_requests();
    app.update(Action::MeLoaded(Err(ApiError::Unreachable(wide.clone()))));
    for (width, height) in SIZES {
        assert!(
            shows(&app, width, height, "r try again"),
            "{width}x{height}"
        );
    }
}

// ----- the admin screens -----

fn team(id: &str, name: &str) -> Team {
    Team {
        id: id.to_owned(),
        name: name.to_owned(),
    }
}

fn user(id: &str, name: &str, role: Role, active: bool, teams: &[Team]) -> User {
    User {
        id: id.to_owned(),
        name: name.to_owned(),
        role: Some(role),
        active,
        teams: teams.to_vec(),
    }
}

fn teams() -> Vec<Team> {
    vec![
        team("t1", "Sales"),
        team("t2", "Support"),
        team("t3", "Customer Success EMEA and Latin America"),
    ]
}

fn users_page() -> Page<User> {
    let [sales, support, success] = [
        team("t1", "Sales"),
        team("t2", "Support"),
        teams()[2].clone(),
    ];
    Page {
        rows: vec![
            user("u1", "ann", Role::Admin, true, &[sales.clone(), support]),
            user(
                "u2",
                "bob",
                Role::Member,
                false,
                std::slice::from_ref(&sales),
            ),
            user(
                "u3",
                "Cassandra Wilhelmina Oppenheimer-Castellanos",
                Role::Viewer,
                true,
                &[success, sales],
            ),
            user("u4", "zapier-bot", Role::Integration, true, &[]),
        ],
        total: 4,
        has_next_page: false,
        end_cursor: None,
    }
}

fn generation_of(requests: &[Request], want: fn(&Request) -> Option<u64>) -> u64 {
    requests
        .iter()
        .find_map(want)
        .expect("asks for the screen's rows")
}

fn users_generation(requests: &[Request]) -> u64 {
    generation_of(requests, |request| match request {
        Request::Users { generation, .. } => Some(*generation),
        _ => None,
    })
}

fn teams_generation(requests: &[Request]) -> u64 {
    generation_of(requests, |request| match request {
        Request::Teams { generation, .. } => Some(*generation),
        _ => None,
    })
}

fn teams_answer(generation: u64) -> Action {
    Action::TeamsLoaded {
        generation,
        result: Ok(Page {
            rows: teams(),
            total: 3,
            has_next_page: false,
            end_cursor: None,
        }),
    }
}

/// The users screen, loaded, over the contact list of ann, an admin.
fn users_app() -> App {
    let mut app = list_app();
    let requests = app.press(key(KeyCode::Char('u')));
    app.update(Action::UsersLoaded {
        generation: users_generation(&requests),
        result: Ok(users_page()),
    });
    app.update(teams_answer(teams_generation(&requests)));
    app
}

fn token(id: &str, label: Option<&str>, revoked: bool) -> ApiToken {
    ApiToken {
        id: id.to_owned(),
        label: label.map(str::to_owned),
        created_at: "2026-10-01T08:00:00Z".to_owned(),
        expires_at: None,
        last_used_at: None,
        revoked_at: revoked.then(|| "2026-11-20T10:00:00Z".to_owned()),
    }
}

/// bob's tokens, from the users screen.
fn tokens_app() -> App {
    let mut app = users_app();
    app.press(key(KeyCode::Char('j')));
    let requests = app.press(key(KeyCode::Enter));
    let generation = generation_of(&requests, |request| match request {
        Request::Tokens {
            generation,
            user_id,
            ..
        } if user_id == "u2" => Some(*generation),
        _ => None,
    });
    app.update(Action::TokensLoaded {
        generation,
        result: Ok(Page {
            rows: vec![
                ApiToken {
                    expires_at: Some("2027-01-31T00:00:00Z".to_owned()),
                    last_used_at: Some("2026-11-30T09:15:42Z".to_owned()),
                    ..token("k3", Some("laptop"), false)
                },
                ApiToken {
                    last_used_at: Some("2026-11-29T23:59:00Z".to_owned()),
                    ..token(
                        "k2",
                        Some("nightly CRM sync from the old data warehouse cluster"),
                        false,
                    )
                },
                token("k1", None, true),
            ],
            total: 3,
            has_next_page: false,
            end_cursor: None,
        }),
    });
    app
}

const SECRET: &str = "ct_9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

#[test]
fn users_screen() {
    let mut app = users_app();
    snapshot("users", &app);
    // A search is typed into the box above the table.
    app.press(key(KeyCode::Char('/')));
    let requests = type_text(&mut app, "an");
    assert!(
        matches!(requests.last(), Some(Request::Users { query, after: None, .. }) if query.search == "an"),
        "{requests:?}"
    );
    app.press(key(KeyCode::Enter));
    app.press(key(KeyCode::Char('f')));
    app.press(key(KeyCode::Char('m')));
    let requests = app.press(key(KeyCode::Char('a')));
    let [Request::Users { query, .. }] = requests.as_slice() else {
        panic!("a filter asks again: {requests:?}");
    };
    assert_eq!(query.role, Some(Role::Admin));
    assert_eq!(
        query.team.as_ref().map(|team| team.name.as_str()),
        Some("Sales")
    );
    assert_eq!(query.active, Some(true));
    app.update(Action::UsersLoaded {
        generation: users_generation(&requests),
        result: Ok(Page {
            rows: vec![users_page().rows[0].clone()],
            total: 1,
            has_next_page: false,
            end_cursor: None,
        }),
    });
    snapshot("users_filtered", &app);
}

#[test]
fn user_form_and_its_token_shown_once() {
    let mut app = users_app();
    let requests = app.press(key(KeyCode::Char('n')));
    app.update(teams_answer(teams_generation(&requests)));
    type_text(&mut app, "dora");
    app.press(key(KeyCode::Tab));
    app.press(key(KeyCode::Right));
    app.press(key(KeyCode::Tab));
    app.press(key(KeyCode::Tab));
    app.press(key(KeyCode::Char(' ')));
    snapshot("user_form", &app);

    let Some(Request::SaveUser(edit)) = app.press(key(KeyCode::Enter)).pop() else {
        panic!("Enter saves the user");
    };
    assert_eq!(
        edit,
        UserEdit::Create {
            name: "dora".to_owned(),
            role: Role::Viewer,
            team_ids: vec!["t2".to_owned()],
        }
    );
    app.update(Action::UserSaved {
        edit: edit.clone(),
        result: Err(ApiError::Validation(vec![FieldError {
            field: Some("name".to_owned()),
            message: "name: a user named dora exists".to_owned(),
        }])),
    });
    snapshot("user_form_error", &app);

    app.press(key(KeyCode::Enter));
    app.update(Action::UserSaved {
        edit,
        result: Ok(Box::new(SavedUser {
            user: user("u5", "dora", Role::Viewer, true, &[teams()[1].clone()]),
            token: Some(Secret::new(SECRET.to_owned())),
        })),
    });
    assert!(matches!(app.popup(), Some(Popup::Secret(_))));
    assert!(
        matches!(app.screen(), Some(Screen::Users(_))),
        "the form closed"
    );
    snapshot("user_token_once", &app);
    for (width, height) in SIZES {
        assert!(
            shows(&app, width, height, SECRET),
            "whole at {width}x{height}"
        );
    }

    // Enter, pressed once more than meant, does not lose it; Esc asks.
    app.press(key(KeyCode::Enter));
    app.press(key(KeyCode::Esc));
    assert!(matches!(app.popup(), Some(Popup::Secret(_))));
    snapshot("user_token_once_closing", &app);
    app.press(key(KeyCode::Char('y')));
    assert!(app.popup().is_none());
    for (width, height) in SIZES {
        assert!(
            !shows(&app, width, height, "ct_9f86"),
            "gone at {width}x{height}"
        );
    }
}

#[test]
fn tokens_screen_issue_and_revoke() {
    let mut app = tokens_app();
    snapshot("tokens", &app);

    // d on a live token asks; only y revokes.
    app.press(key(KeyCode::Char('j')));
    assert!(app.press(key(KeyCode::Char('d'))).is_empty());
    snapshot("revoke_token", &app);
    assert!(app.press(key(KeyCode::Enter)).is_empty());
    let requests = app.press(key(KeyCode::Char('y')));
    assert_eq!(
        requests,
        vec![Request::RevokeToken {
            id: "k2".to_owned()
        }]
    );
    let requests = app.update(Action::TokenRevoked {
        id: "k2".to_owned(),
        result: Ok(Box::new(token("k2", Some("nightly"), true))),
    });
    assert!(
        matches!(requests.as_slice(), [Request::Tokens { user_id, .. }] if user_id == "u2"),
        "{requests:?}"
    );

    // n issues one: a label and an expiry date.
    app.press(key(KeyCode::Char('n')));
    type_text(&mut app, "ci");
    app.press(key(KeyCode::Tab));
    type_text(&mut app, "2027-01-31");
    snapshot("token_form", &app);
    let requests = app.press(key(KeyCode::Enter));
    assert_eq!(
        requests,
        vec![Request::IssueToken {
            user_id: "u2".to_owned(),
            label: Some("ci".to_owned()),
            expires_at: Some("2027-01-31T00:00:00Z".to_owned()),
        }]
    );
    let requests = app.update(Action::TokenIssued {
        user_id: "u2".to_owned(),
        result: Ok(Box::new(IssuedToken {
            token: ApiToken {
                expires_at: Some("2027-01-31T00:00:00Z".to_owned()),
                ..token("k4", Some("ci"), false)
            },
            secret: Secret::new(SECRET.to_owned()),
        })),
    });
    assert!(
        matches!(requests.as_slice(), [Request::Tokens { .. }]),
        "the list reloads: {requests:?}"
    );
    assert!(matches!(app.screen(), Some(Screen::Tokens(_))));
    snapshot("token_issued", &app);
}

#[test]
fn teams_screen() {
    let mut app = users_app();
    let requests = app.press(key(KeyCode::Char('T')));
    app.update(teams_answer(teams_generation(&requests)));
    app.press(key(KeyCode::Char('n')));
    type_text(&mut app, "Sales");
    let requests = app.press(key(KeyCode::Enter));
    assert_eq!(
        requests,
        vec![Request::CreateTeam {
            name: "Sales".to_owned()
        }]
    );
    app.update(Action::TeamCreated {
        name: "Sales".to_owned(),
        result: Err(ApiError::Validation(vec![FieldError {
            field: Some("name".to_owned()),
            message: "a team named Sales exists".to_owned(),
        }])),
    });
    snapshot("teams", &app);
}

fn delivery(id: &str, event: &str, status: DeliveryStatus, attempts: i64) -> Delivery {
    Delivery {
        id: id.to_owned(),
        event_id: format!("evt_01JDX{id}"),
        event_type: event.to_owned(),
        status,
        attempts,
        last_error: None,
        last_status_code: None,
        next_attempt_at: "2026-11-30T09:20:00Z".to_owned(),
        delivered_at: None,
    }
}

fn integrations() -> Vec<Integration> {
    vec![
        Integration {
            id: "i1".to_owned(),
            kind: "WEBHOOK".to_owned(),
            target_url: "https://hooks.zapier.com/hooks/catch/1234567/abcdefg/very/long/path"
                .to_owned(),
            events: vec!["contact.updated".to_owned(), "contact.deleted".to_owned()],
            active: true,
            created_at: "2026-09-01T12:00:00Z".to_owned(),
            deliveries: vec![
                Delivery {
                    last_error: Some("connect timed out after 10 s".to_owned()),
                    ..delivery("d5", "contact.updated", DeliveryStatus::Pending, 2)
                },
                Delivery {
                    last_error: Some(
                        "HTTP 500 Internal Server Error: upstream said \
                         {\"error\":\"database is locked\",\"retry\":true}"
                            .to_owned(),
                    ),
                    last_status_code: Some(500),
                    ..delivery("d4", "contact.deleted", DeliveryStatus::Dead, 8)
                },
                Delivery {
                    delivered_at: Some("2026-11-29T16:20:05Z".to_owned()),
                    last_status_code: Some(200),
                    ..delivery("d3", "contact.updated", DeliveryStatus::Delivered, 1)
                },
                Delivery {
                    last_error: Some("HTTP 410 Gone".to_owned()),
                    last_status_code: Some(410),
                    ..delivery("d2", "contact.updated", DeliveryStatus::Dead, 1)
                },
            ],
        },
        Integration {
            id: "i2".to_owned(),
            kind: "HUBSPOT".to_owned(),
            target_url: "https://api.hubapi.com".to_owned(),
            events: vec!["contact.updated".to_owned()],
            active: true,
            created_at: "2026-10-15T08:30:00Z".to_owned(),
            deliveries: Vec::new(),
        },
    ]
}

fn integrations_app() -> App {
    let mut app = list_app();
    let requests = app.press(key(KeyCode::Char('w')));
    let generation = generation_of(&requests, |request| match request {
        Request::Integrations { generation } => Some(*generation),
        _ => None,
    });
    app.update(Action::IntegrationsLoaded {
        generation,
        result: Ok(integrations()),
    });
    app
}

#[test]
fn integrations_and_deliveries() {
    let mut app = integrations_app();
    snapshot("integrations", &app);

    app.press(key(KeyCode::Enter));
    app.press(key(KeyCode::Char('j')));
    snapshot("deliveries", &app);
    app.press(key(KeyCode::Char('f')));
    let Some(Screen::Deliveries(deliveries)) = app.screen() else {
        panic!("Enter lists the deliveries");
    };
    let dead: Vec<&str> = deliveries.shown().iter().map(|d| d.id.as_str()).collect();
    assert_eq!(dead, ["d4", "d2"], "f: dead letters only");
    snapshot("deliveries_dead_letters", &app);

    // R queues the selected dead letter again; it leaves the dead ones.
    let requests = app.press(key(KeyCode::Char('R')));
    assert_eq!(
        requests,
        vec![Request::Redeliver {
            delivery_id: "d4".to_owned()
        }]
    );
    let requests = app.update(Action::Redelivered {
        delivery_id: "d4".to_owned(),
        result: Ok(Box::new(Delivery {
            last_error: None,
            last_status_code: None,
            next_attempt_at: "2026-11-30T09:16:00Z".to_owned(),
            ..delivery("d4", "contact.deleted", DeliveryStatus::Pending, 0)
        })),
    });
    assert!(
        matches!(
            requests.as_slice(),
            [Request::Integrations { .. }, Request::Integrations { .. }]
        ),
        "both screens read again: {requests:?}"
    );
    let Some(Screen::Deliveries(deliveries)) = app.screen() else {
        panic!("still on the deliveries");
    };
    let dead: Vec<&str> = deliveries.shown().iter().map(|d| d.id.as_str()).collect();
    assert_eq!(dead, ["d2"]);
    snapshot("deliveries_redelivered", &app);
    // A delivered one is not sent again.
    app.press(key(KeyCode::Char('f')));
    app.press(key(KeyCode::Char('G')));
    app.press(key(KeyCode::Char('k')));
    assert!(app.press(key(KeyCode::Char('R'))).is_empty());

    // Back, and disconnect the HubSpot one: only y does it.
    app.press(key(KeyCode::Char('q')));
    app.press(key(KeyCode::Char('j')));
    app.press(key(KeyCode::Char('d')));
    snapshot("disconnect_integration", &app);
    assert!(app.press(key(KeyCode::Enter)).is_empty());
    assert_eq!(
        app.press(key(KeyCode::Char('y'))),
        vec![Request::DisconnectIntegration {
            id: "i2".to_owned()
        }]
    );
}

/// The admin screens at sizes from absurd to huge, with names, labels,
/// URLs and errors far longer than any column: drawing neither panics
/// nor writes outside the frame.
#[test]
fn admin_screens_survive_any_size() {
    let long = "Ω".repeat(300);
    let wide = "漢字かなカナ한글".repeat(40);
    let sizes = [(1, 1), (10, 3), (30, 8), (80, 24), (81, 25), (250, 80)];
    let check = |app: &App| {
        for (width, height) in sizes {
            render(app, width, height);
        }
    };
    let mut app = list_app();
    let requests = app.press(key(KeyCode::Char('u')));
    check(&app);
    let many_teams: Vec<Team> = (0..60).map(|i| team(&format!("t{i}"), &wide)).collect();
    app.update(Action::UsersLoaded {
        generation: users_generation(&requests),
        result: Ok(Page {
            rows: vec![
                user("x1", &wide, Role::Other(long.clone()), false, &many_teams),
                user("x2", &long, Role::Admin, true, &[]),
            ],
            total: i64::MAX,
            has_next_page: true,
            end_cursor: Some(long.clone()),
        }),
    });
    check(&app);
    app.press(key(KeyCode::Char('/')));
    type_text(&mut app, &wide);
    check(&app);
    app.press(key(KeyCode::Esc));
    let requests = app.press(key(KeyCode::Char('e')));
    app.update(Action::TeamsLoaded {
        generation: teams_generation(&requests),
        result: Ok(Page {
            rows: many_teams.clone(),
            total: 60,
            has_next_page: false,
            end_cursor: None,
        }),
    });
    for _ in 0..70 {
        app.press(key(KeyCode::Tab));
    }
    app.press(key(KeyCode::Char(' ')));
    check(&app);
    let Some(Request::SaveUser(edit)) = app.press(key(KeyCode::Enter)).pop() else {
        panic!("Enter saves");
    };
    app.update(Action::UserSaved {
        edit: edit.clone(),
        result: Err(ApiError::Validation(vec![
            FieldError {
                field: None,
                message: long.clone(),
            };
            10
        ])),
    });
    check(&app);
    app.press(key(KeyCode::Enter));
    app.update(Action::UserSaved {
        edit,
        result: Ok(Box::new(SavedUser {
            user: user("x1", &wide, Role::Admin, true, &[]),
            token: Some(Secret::new(long.clone())),
        })),
    });
    check(&app);
    app.press(key(KeyCode::Char('y')));

    let requests = app.press(key(KeyCode::Enter));
    let generation = generation_of(&requests, |request| match request {
        Request::Tokens { generation, .. } => Some(*generation),
        _ => None,
    });
    app.update(Action::TokensLoaded {
        generation,
        result: Ok(Page {
            rows: vec![
                ApiToken {
                    expires_at: Some(long.clone()),
                    last_used_at: Some(wide.clone()),
                    ..token("k1", Some(&wide), false)
                },
                token("k2", Some(""), true),
            ],
            total: 2,
            has_next_page: false,
            end_cursor: None,
        }),
    });
    check(&app);
    app.press(key(KeyCode::Char('d')));
    check(&app);
    app.press(key(KeyCode::Esc));
    app.press(key(KeyCode::Char('n')));
    type_text(&mut app, &wide);
    app.press(key(KeyCode::Tab));
    type_text(&mut app, "soon");
    app.press(key(KeyCode::Enter));
    check(&app);
    app.press(key(KeyCode::Esc));
    app.press(key(KeyCode::Esc));
    app.press(key(KeyCode::Esc));
    assert!(app.screen().is_none(), "back on the contact list");

    let requests = app.press(key(KeyCode::Char('w')));
    check(&app);
    let generation = generation_of(&requests, |request| match request {
        Request::Integrations { generation } => Some(*generation),
        _ => None,
    });
    app.update(Action::IntegrationsLoaded {
        generation,
        result: Ok(vec![Integration {
            id: "i1".to_owned(),
            kind: long.clone(),
            target_url: wide.clone(),
            events: vec![long.clone(); 20],
            active: false,
            created_at: long.clone(),
            deliveries: vec![
                Delivery {
                    last_error: Some(wide.clone()),
                    last_status_code: Some(i64::MAX),
                    delivered_at: Some(long.clone()),
                    ..delivery(&long, &wide, DeliveryStatus::Other(long.clone()), i64::MIN)
                };
                30
            ],
        }]),
    });
    check(&app);
    app.press(key(KeyCode::Char('d')));
    check(&app);
    app.press(key(KeyCode::Esc));
    app.press(key(KeyCode::Enter));
    app.press(key(KeyCode::Char('G')));
    check(&app);
    app.press(key(KeyCode::Char('f')));
    check(&app);

    app.press(key(KeyCode::Esc));
    app.press(key(KeyCode::Esc));
    let requests = app.press(key(KeyCode::Char('p')));
    check(&app);
    app.update(Action::FieldPoliciesLoaded {
        generation: policies_generation(&requests),
        result: Ok(PolicyMatrix {
            policies: vec![FieldPolicy {
                role: Role::Other(long.clone()),
                field: PolicyField::History,
                access: FieldAccess::Write,
            }],
        }),
    });
    check(&app);
    app.press(key(KeyCode::Char(' ')));
    check(&app);
}

/// A member whose field policies (`me.permissions`) take Email away and
/// make Company read-only: the list has no email column and asks for no
/// email, the detail no email row, the form neither email nor company.
#[test]
fn field_policies_hide_what_a_member_may_not_read() {
    let mut rights = FieldRights::defaults(&Role::Member);
    rights.set(PolicyField::Email, FieldAccess::None);
    rights.set(PolicyField::Company, FieldAccess::Read);
    let mut app = App::new(config());
    app.startup_requests();
    let requests = app.update(Action::MeLoaded(Ok(Me {
        name: "mel".to_owned(),
        role: Role::Member,
        permissions: Some(rights),
    })));
    let [Request::Contacts { query, .. }] = requests.as_slice() else {
        panic!("the first page follows me: {requests:?}");
    };
    assert!(!query.fields.may_read(PolicyField::Email));
    assert!(query.fields.may_read(PolicyField::Company));
    let mut rows = page();
    for row in &mut rows.rows {
        // A name made of the email is not sent either.
        if row.email.as_ref() == Some(&row.name) {
            row.name = "(no name)".to_owned();
        }
        row.email = None;
    }
    app.update(Action::ContactsLoaded {
        generation: contacts_generation(&requests),
        result: Ok(rows),
    });
    snapshot("member_without_email", &app);
    assert!(!shows(&app, 160, 48, "Email"));

    app.press(key(KeyCode::Enter));
    app.update(Action::ContactLoaded {
        id: "c1".to_owned(),
        result: Ok(Some(Box::new(Contact {
            email: None,
            rights,
            ..ada()
        }))),
    });
    assert!(!shows(&app, 160, 48, "Email"));
    assert!(
        shows(&app, 160, 48, "Analytical Engines"),
        "company is read"
    );
    app.press(key(KeyCode::Char('e')));
    let Some(Screen::Form(form)) = app.screen() else {
        panic!("e edits");
    };
    assert!(!form.fields().contains(&ContactField::Email));
    assert!(!form.fields().contains(&ContactField::Company), "read only");
    assert!(form.fields().contains(&ContactField::MobilePhone));
    snapshot("member_form_without_email_or_company", &app);
}

const ROLES: [Role; 4] = [Role::Admin, Role::Member, Role::Viewer, Role::Integration];

/// The default policies, with `changes` laid over them.
fn policies(changes: &[(Role, PolicyField, FieldAccess)]) -> PolicyMatrix {
    PolicyMatrix {
        policies: ROLES
            .iter()
            .flat_map(|role| {
                let rights = FieldRights::defaults(role);
                PolicyField::ALL.map(|field| FieldPolicy {
                    role: role.clone(),
                    field,
                    access: changes
                        .iter()
                        .find(|(r, f, _)| r == role && *f == field)
                        .map_or(rights.access(field), |(_, _, access)| *access),
                })
            })
            .collect(),
    }
}

fn policies_generation(requests: &[Request]) -> u64 {
    generation_of(requests, |request| match request {
        Request::FieldPolicies { generation } => Some(*generation),
        _ => None,
    })
}

/// The matrix from `p`, the VIEWER's Email refused WRITE (the server's
/// VALIDATION on the status line), then given READ, which the matrix
/// read again shows.
#[test]
fn policy_matrix() {
    let mut app = list_app();
    let requests = app.press(key(KeyCode::Char('p')));
    app.update(Action::FieldPoliciesLoaded {
        generation: policies_generation(&requests),
        result: Ok(policies(&[])),
    });
    snapshot("policies", &app);

    // Up from MEMBER stays there: ADMIN's row is fixed.
    app.press(key(KeyCode::Up));
    app.press(key(KeyCode::Down));
    app.press(key(KeyCode::Right));
    app.press(key(KeyCode::Right));
    let requests = app.press(key(KeyCode::Char('W')));
    let asked = FieldPolicy {
        role: Role::Viewer,
        field: PolicyField::Email,
        access: FieldAccess::Write,
    };
    assert_eq!(requests, vec![Request::SetFieldPolicy(asked.clone())]);
    let requests = app.update(Action::FieldPolicySet {
        asked,
        result: Err(ApiError::Validation(vec![FieldError {
            field: Some("access".to_owned()),
            message: "a VIEWER writes no contacts; READ is the most it can have".to_owned(),
        }])),
    });
    app.update(Action::FieldPoliciesLoaded {
        generation: policies_generation(&requests),
        result: Ok(policies(&[])),
    });
    snapshot("policies_refused", &app);

    let requests = app.press(key(KeyCode::Char(' ')));
    let asked = FieldPolicy {
        role: Role::Viewer,
        field: PolicyField::Email,
        access: FieldAccess::Read,
    };
    assert_eq!(requests, vec![Request::SetFieldPolicy(asked.clone())]);
    let requests = app.update(Action::FieldPolicySet {
        asked: asked.clone(),
        result: Ok(asked),
    });
    app.update(Action::FieldPoliciesLoaded {
        generation: policies_generation(&requests),
        result: Ok(policies(&[(
            Role::Viewer,
            PolicyField::Email,
            FieldAccess::Read,
        )])),
    });
    snapshot("policies_changed", &app);
}
