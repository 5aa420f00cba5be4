//! The app's own part of key handling: which layer a key reaches, and
//! carrying out what the layer asked for.

use super::*;
use crate::components::contact_form::ContactForm;
use crate::components::delete_popup::DeletePopup;
use crate::components::status_line::Tone;
use crate::keymap::KeyModifiers;
use crate::model::{ContactPage, ContactRow};

fn app() -> App {
    App::new(Config {
        url: "http://127.0.0.1:9/graphql".to_owned(),
        token: None,
    })
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// The list with two contacts loaded.
fn list_app() -> App {
    let mut app = app();
    app.startup_requests();
    let generation = app
        .update(Action::MeLoaded(Ok(Me {
            name: "ann".to_owned(),
            role: crate::model::Role::Admin,
            permissions: None,
        })))
        .iter()
        .find_map(|request| match request {
            Request::Contacts { generation, .. } => Some(*generation),
            _ => None,
        });
    let row = |id: &str| ContactRow {
        id: id.to_owned(),
        name: id.to_owned(),
        email: None,
        mobile_phone: None,
        company: None,
        owner: None,
        updated_at: String::new(),
    };
    app.update(Action::ContactsLoaded {
        generation: generation.unwrap_or_default(),
        result: Ok(ContactPage {
            rows: vec![row("c1"), row("c2")],
            total: 2,
            total_capped: false,
            has_next_page: false,
            end_cursor: None,
        }),
    });
    app
}

fn delete_popup() -> Popup {
    Popup::Delete(DeletePopup::new("c1".to_owned(), "Ada".to_owned()))
}

#[test]
fn effects_are_carried_out_in_order() {
    let mut app = app();
    let requests = app.carry_out(vec![
        Effect::open(Screen::Form(Box::new(ContactForm::create(
            crate::model::FieldRights::ALL,
        )))),
        Effect::open(Screen::Form(Box::new(ContactForm::create(
            crate::model::FieldRights::ALL,
        )))),
        Effect::Close,
        Effect::Status(Message::info("one")),
        Effect::Send(Request::Me),
        Effect::ReloadList,
        Effect::Status(Message::error("two")),
        Effect::Popup(delete_popup()),
    ]);
    assert_eq!(app.screens.len(), 1, "two opened, one closed");
    assert!(matches!(app.screen(), Some(Screen::Form(_))));
    assert_eq!(app.status(), Some(&Message::error("two")), "the last wins");
    assert!(matches!(app.popup(), Some(Popup::Delete(_))));
    assert!(
        matches!(
            requests.as_slice(),
            [Request::Me, Request::Contacts { after: None, .. }]
        ),
        "sent in the order asked: {requests:?}"
    );

    let requests = app.carry_out(vec![
        Effect::ClosePopup,
        Effect::ClearStatus,
        Effect::Close,
        Effect::Close,
    ]);
    assert!(requests.is_empty());
    assert!(app.popup().is_none());
    assert!(app.status().is_none());
    assert!(
        app.screen().is_none(),
        "closing past the list leaves the list"
    );
}

#[test]
fn an_error_covers_the_screens_only_when_the_server_is_gone() {
    let mut app = app();
    app.carry_out(vec![Effect::Error(ApiError::Server("boom".to_owned()))]);
    assert_eq!(app.status().map(|message| message.tone), Some(Tone::Error));
    assert_eq!(app.connection_problem(), None);

    app.carry_out(vec![Effect::Error(ApiError::Unauthenticated)]);
    assert_eq!(app.connection_problem(), Some(&Problem::Unauthenticated));
    // The connection screen now has the keys; r asks again for what is on
    // screen.
    let requests = app.press(key(KeyCode::Char('r')));
    assert!(
        matches!(requests.as_slice(), [Request::Me, Request::Contacts { .. }]),
        "{requests:?}"
    );
    assert!(
        app.press(key(KeyCode::Enter)).is_empty(),
        "the list is covered"
    );
    assert!(app.screen().is_none());
}

#[test]
fn keys_reach_the_topmost_layer_only() {
    let mut app = list_app();
    app.press(key(KeyCode::Char('j')));
    assert_eq!(
        app.press(key(KeyCode::Enter)),
        vec![Request::Contact {
            id: "c2".to_owned()
        }],
        "the list moved its selection and opened that contact"
    );
    assert!(matches!(app.screen(), Some(Screen::Detail(_))));

    // A popup over the detail takes Esc; the detail stays.
    app.carry_out(vec![Effect::Popup(delete_popup())]);
    assert!(app.press(key(KeyCode::Esc)).is_empty());
    assert!(app.popup().is_none());
    assert!(matches!(app.screen(), Some(Screen::Detail(_))));

    // The help overlay is above everything: Esc closes it, nothing else.
    app.press(key(KeyCode::Char('?')));
    assert!(app.help_is_open());
    app.press(key(KeyCode::Esc));
    assert!(!app.help_is_open());
    assert!(matches!(app.screen(), Some(Screen::Detail(_))));

    // q is the detail's way back, and the list's way out.
    app.press(key(KeyCode::Char('q')));
    assert!(app.screen().is_none());
    assert!(!app.should_quit());
    app.press(key(KeyCode::Char('q')));
    assert!(app.should_quit());
}

#[test]
fn esc_and_q_mean_the_same_on_the_list() {
    for back in [KeyCode::Esc, KeyCode::Char('q')] {
        let mut app = list_app();
        app.press(key(KeyCode::Char('/')));
        app.press(key(KeyCode::Char('x')));
        app.press(key(KeyCode::Enter));
        let requests = app.press(key(back));
        assert!(
            matches!(requests.as_slice(), [Request::Contacts { query, .. }] if query.search.is_empty()),
            "{back:?} first clears the search: {requests:?}"
        );
        assert!(!app.should_quit());
        app.press(key(back));
        assert!(app.should_quit(), "{back:?} then quits");
    }
}

/// The server goes away while a form is being filled: the outage box
/// covers it, retries by itself later each time, `q` asks before losing
/// the form, and once the server is back the form and the list's place are
/// as they were, the list not even asked again.
#[test]
fn an_outage_keeps_the_form_and_the_lists_place() {
    let mut app = list_app();
    app.press(key(KeyCode::Char('j')));
    app.press(key(KeyCode::Char('n')));
    app.press(key(KeyCode::Char('A')));
    let requests = app.update(Action::MeLoaded(Err(ApiError::Unreachable(
        "refused".to_owned(),
    ))));
    let [Request::RetryAfter { attempt: 1, after }] = requests.as_slice() else {
        panic!("a retry is scheduled: {requests:?}");
    };
    assert_eq!(
        *after,
        crate::components::connection_screen::RECONNECT_FIRST
    );
    assert!(
        app.update(Action::ContactsLoaded {
            generation: 0,
            result: Err(ApiError::Unreachable("refused".to_owned())),
        })
        .is_empty(),
        "one retry for one round of failures"
    );

    // q asks; n keeps waiting.
    app.press(key(KeyCode::Char('q')));
    assert!(!app.should_quit());
    app.press(key(KeyCode::Char('n')));
    assert!(!app.should_quit());

    // The retry fails again: the next one waits longer.
    let requests = app.update(Action::RetryDue { attempt: 1 });
    assert_eq!(requests, vec![Request::Me], "the list is not asked again");
    let requests = app.update(Action::MeLoaded(Err(ApiError::Unreachable(
        "refused".to_owned(),
    ))));
    assert!(matches!(
        requests.as_slice(),
        [Request::RetryAfter { attempt: 2, after }] if after.as_secs() == 2
    ));

    // Back: the form is there with what was typed, the list where it was.
    app.update(Action::RetryDue { attempt: 2 });
    app.update(Action::MeLoaded(Ok(Me {
        name: "ann".to_owned(),
        role: crate::model::Role::Admin,
        permissions: None,
    })));
    assert_eq!(app.connection_problem(), None);
    let Some(Screen::Form(form)) = app.screen() else {
        panic!("the form survived the outage");
    };
    assert_eq!(form.value(crate::model::ContactField::FirstName), "A");
    assert_eq!(
        app.list().selected_row().map(|row| row.id.as_str()),
        Some("c2")
    );
}

// ----- the admin screens -----

use crate::model::{Page, Role, SavedUser, Secret, User, UserEdit};

/// The contact list, loaded, for a user of `role`.
fn list_app_as(role: Role) -> App {
    let mut app = app();
    app.startup_requests();
    app.update(Action::MeLoaded(Ok(Me {
        name: "ann".to_owned(),
        role,
        permissions: None,
    })));
    app
}

fn admin_user(id: &str, name: &str, active: bool) -> User {
    User {
        id: id.to_owned(),
        name: name.to_owned(),
        role: Some(Role::Member),
        active,
        teams: Vec::new(),
    }
}

/// The users screen of an admin, with ann and bob loaded.
fn users_app() -> App {
    let mut app = list_app();
    let requests = app.press(key(KeyCode::Char('u')));
    let generation = requests
        .iter()
        .find_map(|request| match request {
            Request::Users { generation, .. } => Some(*generation),
            _ => None,
        })
        .unwrap_or_default();
    app.update(Action::UsersLoaded {
        generation,
        result: Ok(Page {
            rows: vec![admin_user("u1", "ann", true), admin_user("u2", "bob", true)],
            total: 2,
            has_next_page: false,
            end_cursor: None,
        }),
    });
    app
}

/// Every row of the screen, as text.
fn screen_text(app: &App, width: u16, height: u16) -> String {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height))
        .unwrap_or_else(|err| panic!("test terminal: {err}"));
    terminal
        .draw(|frame| app.draw(frame))
        .unwrap_or_else(|err| panic!("draw: {err}"));
    terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|cell| cell.symbol())
        .collect()
}

#[test]
fn admin_screens_are_offered_to_admins_only() {
    let admin_keys = ['u', 'w', 'p'];
    for role in [Role::Member, Role::Viewer, Role::Integration] {
        let mut app = list_app_as(role.clone());
        for c in admin_keys {
            let requests = app.press(key(KeyCode::Char(c)));
            assert!(
                requests.is_empty() && app.screen().is_none(),
                "{role:?}: {c} opens nothing: {requests:?}"
            );
        }
        app.press(key(KeyCode::Char('?')));
        let help = screen_text(&app, 160, 48);
        assert!(help.contains("Contact list"), "{role:?}: the help is open");
        assert!(
            !help.contains("users, teams")
                && !help.contains("integrations and")
                && !help.contains("field policies"),
            "{role:?}: the help does not offer them"
        );
    }

    // Before `me` answers, the role is unknown: not offered either.
    let mut app = app();
    app.startup_requests();
    assert!(app.press(key(KeyCode::Char('u'))).is_empty());
    assert!(app.screen().is_none());

    let mut app = list_app();
    assert!(matches!(
        app.press(key(KeyCode::Char('u'))).as_slice(),
        [Request::Users { .. }, Request::Teams { .. }]
    ));
    assert!(matches!(app.screen(), Some(Screen::Users(_))));
    app.press(key(KeyCode::Esc));
    assert!(matches!(
        app.press(key(KeyCode::Char('w'))).as_slice(),
        [Request::Integrations { .. }]
    ));
    assert!(matches!(app.screen(), Some(Screen::Integrations(_))));
    app.press(key(KeyCode::Esc));
    assert!(matches!(
        app.press(key(KeyCode::Char('p'))).as_slice(),
        [Request::FieldPolicies { .. }]
    ));
    assert!(matches!(app.screen(), Some(Screen::Policies(_))));
}

#[test]
fn deactivating_a_user_needs_y() {
    let mut app = users_app();
    app.press(key(KeyCode::Char('j')));
    for no in [
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::Char('n'),
        KeyCode::Char('q'),
    ] {
        assert!(app.press(key(KeyCode::Char('d'))).is_empty(), "d only asks");
        assert!(matches!(app.popup(), Some(Popup::Confirm(_))));
        assert!(app.press(key(no)).is_empty(), "{no:?} sends nothing");
        if no == KeyCode::Enter {
            app.press(key(KeyCode::Esc));
        }
        assert!(app.popup().is_none(), "{no:?}: closed");
        assert!(matches!(app.screen(), Some(Screen::Users(_))));
    }
    app.press(key(KeyCode::Char('d')));
    let requests = app.press(key(KeyCode::Char('y')));
    let edit = UserEdit::Update {
        id: "u2".to_owned(),
        name: "bob".to_owned(),
        rename: None,
        role: None,
        team_ids: None,
        active: Some(false),
    };
    assert_eq!(requests, vec![Request::SaveUser(edit.clone())]);
    let requests = app.update(Action::UserSaved {
        edit,
        result: Ok(Box::new(SavedUser {
            user: admin_user("u2", "bob", false),
            token: None,
        })),
    });
    assert!(
        matches!(requests.as_slice(), [Request::Users { .. }]),
        "the list reloads: {requests:?}"
    );
    assert_eq!(app.status().map(|m| m.tone), Some(Tone::Success));
    assert!(
        app.status()
            .is_some_and(|m| m.text.starts_with("Deactivated bob"))
    );
}

#[test]
fn a_new_user_s_token_is_shown_once_and_gone_when_its_popup_closes() {
    const SECRET: &str = "ct_0123456789abcdef0123456789abcdef";
    let mut app = users_app();
    app.press(key(KeyCode::Char('n')));
    for c in "dora".chars() {
        app.press(key(KeyCode::Char(c)));
    }
    let Some(Request::SaveUser(edit)) = app.press(key(KeyCode::Enter)).pop() else {
        panic!("Enter saves");
    };
    // While the answer, and the token in it, is on its way, the form
    // stays: it is what shows the token.
    app.press(key(KeyCode::Esc));
    assert!(matches!(app.screen(), Some(Screen::UserForm(_))));
    let requests = app.update(Action::UserSaved {
        edit,
        result: Ok(Box::new(SavedUser {
            user: admin_user("u5", "dora", true),
            token: Some(Secret::new(SECRET.to_owned())),
        })),
    });
    assert!(
        matches!(requests.as_slice(), [Request::Users { .. }]),
        "the list reloads: {requests:?}"
    );
    assert!(
        matches!(app.screen(), Some(Screen::Users(_))),
        "form closed"
    );
    let Some(Popup::Secret(popup)) = app.popup() else {
        panic!("the token is shown");
    };
    assert_eq!(popup.secret(), SECRET);
    assert!(screen_text(&app, 80, 24).contains(SECRET));
    assert!(
        !app.status().is_some_and(|m| m.text.contains(SECRET)),
        "never on the status line"
    );

    // Enter (a save's key pressed once more) and Esc keep it; y closes.
    app.press(key(KeyCode::Enter));
    app.press(key(KeyCode::Esc));
    app.press(key(KeyCode::Char('q')));
    assert!(matches!(app.popup(), Some(Popup::Secret(_))));
    app.press(key(KeyCode::Char('y')));
    assert!(app.popup().is_none());
    for (width, height) in [(80, 24), (160, 48)] {
        assert!(!screen_text(&app, width, height).contains("ct_0123"));
    }
    // Nothing brings it back: the help, a reload, the form again.
    app.press(key(KeyCode::Char('r')));
    app.press(key(KeyCode::Char('n')));
    assert!(!screen_text(&app, 160, 48).contains("ct_0123"));
}

#[test]
fn q_and_esc_mean_the_same_on_every_admin_screen() {
    for back in [KeyCode::Esc, KeyCode::Char('q')] {
        let mut app = users_app();
        app.press(key(KeyCode::Char('T')));
        app.press(key(back));
        assert!(matches!(app.screen(), Some(Screen::Users(_))), "{back:?}");
        app.press(key(KeyCode::Enter));
        assert!(matches!(app.screen(), Some(Screen::Tokens(_))));
        app.press(key(back));
        assert!(matches!(app.screen(), Some(Screen::Users(_))), "{back:?}");
        app.press(key(back));
        assert!(app.screen().is_none(), "{back:?}: back on the contacts");
        app.press(key(KeyCode::Char('w')));
        app.press(key(back));
        assert!(app.screen().is_none(), "{back:?}: integrations left");
        app.press(key(KeyCode::Char('p')));
        app.press(key(back));
        assert!(app.screen().is_none(), "{back:?}: policies left");
        assert!(!app.should_quit());
    }
}

/// An admin took Email away from members while this member's client ran:
/// the list's next page is FORBIDDEN, the client reads `me` again, and
/// the list asks again without the email.
#[test]
fn a_policy_changed_meanwhile_is_learnt_from_forbidden() {
    use crate::model::{FieldAccess, FieldRights, PolicyField};
    let mut app = list_app_as(Role::Member);
    let requests = app.press(key(KeyCode::Char('r')));
    let [Request::Contacts { generation, .. }] = requests.as_slice() else {
        panic!("r reloads: {requests:?}");
    };
    let requests = app.update(Action::ContactsLoaded {
        generation: *generation,
        result: Err(ApiError::Forbidden("email: not for your role".to_owned())),
    });
    assert_eq!(requests, vec![Request::Me]);
    let mut rights = FieldRights::defaults(&Role::Member);
    rights.set(PolicyField::Email, FieldAccess::None);
    let requests = app.update(Action::MeLoaded(Ok(Me {
        name: "ann".to_owned(),
        role: Role::Member,
        permissions: Some(rights),
    })));
    assert!(
        matches!(requests.as_slice(), [Request::Contacts { query, .. }] if !query.fields.may_read(PolicyField::Email)),
        "{requests:?}"
    );
    // The same rights again: nothing more to ask.
    let requests = app.update(Action::MeLoaded(Ok(Me {
        name: "ann".to_owned(),
        role: Role::Member,
        permissions: Some(rights),
    })));
    assert!(requests.is_empty(), "{requests:?}");
}

// ----- reversible merge (issue 20) -----

use crate::model::{
    Contact, ContactRef, FieldChoice, FieldMerge, MergeOutcome, MergePreview, MergeRecord,
    MergeSide, PolicyField, PreviewContact, UndoneMerge,
};
use crate::request::SaveRequest;

fn field_merge(field: &str, current: Option<&str>, incoming: Option<&str>) -> FieldMerge {
    FieldMerge {
        field: field.to_owned(),
        current: current.map(str::to_owned),
        incoming: incoming.map(str::to_owned),
        outcome: MergeOutcome::Overwritten,
    }
}

fn preview() -> MergePreview {
    MergePreview {
        survivor: PreviewContact {
            id: "c2".to_owned(),
            name: "Bea".to_owned(),
            version: 7,
        },
        merged: Some(PreviewContact {
            id: "c1".to_owned(),
            name: "Ada".to_owned(),
            version: 3,
        }),
        fields: vec![
            field_merge("firstName", Some("Bea"), Some("Ada")),
            field_merge("email", Some("b@example.com"), Some("b@example.com")),
            field_merge("company", Some("Acme"), Some("Initech")),
        ],
    }
}

/// c1's edit form with its email typed as c2's, saved and answered with
/// a merge preview; returns the save that was sent.
fn merge_prompt_app() -> (App, SaveRequest) {
    let mut app = list_app();
    app.press(key(KeyCode::Enter));
    app.update(Action::ContactLoaded {
        id: "c1".to_owned(),
        result: Ok(Some(Box::new(Contact {
            id: "c1".to_owned(),
            first_name: Some("Ada".to_owned()),
            version: 3,
            ..Contact::default()
        }))),
    });
    app.press(key(KeyCode::Char('e')));
    app.press(key(KeyCode::Tab));
    app.press(key(KeyCode::Tab));
    for c in "b@example.com".chars() {
        app.press(key(KeyCode::Char(c)));
    }
    let Some(Request::Save(request)) = app.press(key(KeyCode::Enter)).pop() else {
        panic!("Enter saves");
    };
    app.update(Action::Saved {
        request: request.clone(),
        result: Ok(SaveOutcome::NeedsMerge(preview())),
    });
    assert!(matches!(app.popup(), Some(Popup::Merge(_))));
    (app, request)
}

fn save_of(requests: Vec<Request>) -> SaveRequest {
    match requests.as_slice() {
        [Request::Save(request)] => request.clone(),
        other => panic!("one save: {other:?}"),
    }
}

#[test]
fn a_flip_then_y_sends_the_choices_the_preview_showed() {
    let (mut app, request) = merge_prompt_app();
    // The cursor starts on First name; Company is two rows down.
    app.press(key(KeyCode::Char('j')));
    app.press(key(KeyCode::Char('j')));
    let flipped = save_of(app.press(key(KeyCode::Char(' '))));
    let company = FieldChoice {
        field: ContactField::Company,
        keep: MergeSide::Survivor,
    };
    assert_eq!(
        flipped,
        SaveRequest {
            choices: vec![company],
            ..request.clone()
        },
        "the same save, previewed with the choice"
    );
    // A second flip overtakes the first: its answer is dropped.
    app.press(key(KeyCode::Char('k')));
    app.press(key(KeyCode::Char('k')));
    let both = save_of(app.press(key(KeyCode::Char(' '))));
    assert_eq!(both.choices.len(), 2);
    assert!(app.press(key(KeyCode::Char('y'))).is_empty(), "y waits");
    let mut retained = preview();
    retained.fields[2].outcome = MergeOutcome::Retained;
    assert!(
        app.update(Action::Saved {
            request: flipped,
            result: Ok(SaveOutcome::NeedsMerge(retained.clone())),
        })
        .is_empty()
    );
    assert!(app.press(key(KeyCode::Char('y'))).is_empty(), "still waits");

    retained.fields[0].outcome = MergeOutcome::Retained;
    retained.survivor.version = 8;
    app.update(Action::Saved {
        request: both.clone(),
        result: Ok(SaveOutcome::NeedsMerge(retained)),
    });
    let Some(Popup::Merge(prompt)) = app.popup() else {
        panic!("the prompt shows the new preview");
    };
    assert_eq!(prompt.side_of("company"), Some(MergeSide::Survivor));
    assert_eq!(prompt.side_of("firstName"), Some(MergeSide::Survivor));
    assert_eq!(prompt.preview().fields[2].outcome, MergeOutcome::Retained);
    let confirm = save_of(app.press(key(KeyCode::Char('y'))));
    assert_eq!(
        confirm,
        SaveRequest {
            confirm_survivor_version: Some(8),
            ..both
        },
        "the choices shown, with the survivor's version of that preview"
    );
}

#[test]
fn a_flip_s_preview_after_the_prompt_was_cancelled_is_dropped() {
    let (mut app, _) = merge_prompt_app();
    let flipped = save_of(app.press(key(KeyCode::Char(' '))));
    app.press(key(KeyCode::Esc));
    assert!(app.popup().is_none(), "cancelled while the preview was out");
    for result in [
        Ok(SaveOutcome::NeedsMerge(preview())),
        Err(ApiError::Server("boom".to_owned())),
    ] {
        let requests = app.update(Action::Saved {
            request: flipped.clone(),
            result,
        });
        assert!(requests.is_empty());
        assert!(app.popup().is_none(), "the prompt does not come back");
        assert!(matches!(app.screen(), Some(Screen::Form(_))));
    }
    assert_eq!(app.status().map(|m| m.tone), Some(Tone::Info));
}

/// A confirm refused for a field the role may not write keeps the prompt,
/// says why, and takes `y` again (after a flip, say).
#[test]
fn a_confirm_refused_for_a_field_keeps_the_prompt() {
    let (mut app, request) = merge_prompt_app();
    let confirm = save_of(app.press(key(KeyCode::Char('y'))));
    app.update(Action::Saved {
        request: confirm,
        result: Err(ApiError::Forbidden(
            "this role cannot write email, which this merge would change".to_owned(),
        )),
    });
    assert!(
        matches!(app.popup(), Some(Popup::Merge(_))),
        "the prompt stays"
    );
    let status = app.status().expect("a status");
    assert_eq!(status.tone, Tone::Error);
    assert!(
        status.text.contains("cannot write email"),
        "{}",
        status.text
    );
    assert_eq!(
        save_of(app.press(key(KeyCode::Char('y')))),
        SaveRequest {
            confirm_survivor_version: Some(7),
            ..request
        }
    );
}

#[test]
fn a_flip_whose_preview_fails_keeps_the_prompt_as_it_was() {
    let (mut app, request) = merge_prompt_app();
    let flipped = save_of(app.press(key(KeyCode::Char(' '))));
    app.update(Action::Saved {
        request: flipped,
        result: Err(ApiError::Server("boom".to_owned())),
    });
    let Some(Popup::Merge(prompt)) = app.popup() else {
        panic!("the prompt stays");
    };
    assert!(prompt.choices().is_empty());
    assert_eq!(app.status().map(|m| m.tone), Some(Tone::Error));
    assert!(matches!(app.screen(), Some(Screen::Form(_))));
    assert_eq!(
        save_of(app.press(key(KeyCode::Char('y')))),
        SaveRequest {
            confirm_survivor_version: Some(7),
            ..request
        }
    );
}

fn merge(id: &str, merged_id: Option<&str>, undone: bool) -> MergeRecord {
    MergeRecord {
        id: id.to_owned(),
        merged_id: merged_id.map(str::to_owned),
        merged_at: "2026-11-30T09:15:00Z".to_owned(),
        merged_by: Some("ann".to_owned()),
        source: "MANUAL".to_owned(),
        undone_at: undone.then(|| "2026-12-01T10:00:00Z".to_owned()),
        undoable: !undone,
        edited_since: Vec::new(),
        fields: vec![field_merge("company", Some("Acme"), Some("Initech"))],
    }
}

/// c2's detail, for a user of `role`, with a standing merge of c1 and an
/// undone one of a new contact's values.
fn survivor_app(role: Role) -> App {
    let mut app = list_app_as(role);
    let (detail, _) = ContactDetail::open("c2".to_owned());
    app.carry_out(vec![Effect::open(Screen::Detail(detail))]);
    app.update(Action::ContactLoaded {
        id: "c2".to_owned(),
        result: Ok(Some(Box::new(Contact {
            id: "c2".to_owned(),
            first_name: Some("Bea".to_owned()),
            version: 5,
            merges: vec![merge("m2", Some("c1"), false), merge("m1", None, true)],
            merges_total: 2,
            ..Contact::default()
        }))),
    });
    app
}

/// A merge that stands behind a newer one is not offered: the server
/// undoes the newest first.
#[test]
fn only_a_merge_the_server_would_undo_is_offered() {
    let mut app = list_app_as(Role::Member);
    let (detail, _) = ContactDetail::open("c2".to_owned());
    app.carry_out(vec![Effect::open(Screen::Detail(detail))]);
    let older = MergeRecord {
        undoable: false,
        ..merge("m1", Some("c0"), false)
    };
    app.update(Action::ContactLoaded {
        id: "c2".to_owned(),
        result: Ok(Some(Box::new(Contact {
            id: "c2".to_owned(),
            merges: vec![merge("m2", Some("c1"), false), older],
            merges_total: 2,
            ..Contact::default()
        }))),
    });
    app.press(key(KeyCode::Char(']')));
    assert!(app.press(key(KeyCode::Char('u'))).is_empty());
    assert!(app.popup().is_none(), "the older merge waits");
    app.press(key(KeyCode::Char('[')));
    app.press(key(KeyCode::Char('u')));
    assert!(matches!(app.popup(), Some(Popup::Undo(_))));
}

#[test]
fn undoing_a_merge_needs_y() {
    let mut app = survivor_app(Role::Member);
    for no in [
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::Char('n'),
        KeyCode::Char('q'),
    ] {
        assert!(app.press(key(KeyCode::Char('u'))).is_empty(), "u only asks");
        assert!(matches!(app.popup(), Some(Popup::Undo(_))));
        assert!(app.press(key(no)).is_empty(), "{no:?} sends nothing");
        if no == KeyCode::Enter {
            app.press(key(KeyCode::Esc));
        }
        assert!(app.popup().is_none(), "{no:?}: closed");
        assert!(matches!(app.screen(), Some(Screen::Detail(_))));
    }
    app.press(key(KeyCode::Char('u')));
    assert_eq!(
        app.press(key(KeyCode::Char('y'))),
        vec![Request::UndoMerge {
            merge_id: "m2".to_owned(),
            survivor_id: "c2".to_owned(),
            expected_survivor_version: 5,
        }]
    );
    assert!(app.press(key(KeyCode::Char('y'))).is_empty(), "sent once");

    // The older merge was undone already: u is not offered on it.
    app.press(key(KeyCode::Esc));
    app.press(key(KeyCode::Char(']')));
    assert!(app.press(key(KeyCode::Char('u'))).is_empty());
    assert!(app.popup().is_none());
}

#[test]
fn an_undo_brings_the_contact_back_and_names_the_kept_fields() {
    let mut app = survivor_app(Role::Admin);
    app.press(key(KeyCode::Char('u')));
    app.press(key(KeyCode::Char('y')));
    let requests = app.update(Action::MergeUndone {
        merge_id: "m2".to_owned(),
        survivor_id: "c2".to_owned(),
        result: Ok(Box::new(UndoneMerge {
            survivor: ContactRef {
                id: "c2".to_owned(),
                name: "Bea".to_owned(),
            },
            restored: Some(ContactRef {
                id: "c1".to_owned(),
                name: "Ada".to_owned(),
            }),
            kept_fields: vec![PolicyField::Company, PolicyField::JobTitle],
        })),
    });
    assert!(app.popup().is_none());
    assert!(
        matches!(
            requests.as_slice(),
            [
                Request::Contact { id: survivor },
                Request::Contacts { .. },
                Request::Contact { id: restored },
            ] if survivor == "c2" && restored == "c1"
        ),
        "the survivor and the list reload, the restored contact opens: {requests:?}"
    );
    let Some(Screen::Detail(detail)) = app.screen() else {
        panic!("the restored contact is shown");
    };
    assert_eq!(detail.id(), "c1");
    let status = app.status().map(|m| (m.tone, m.text.as_str()));
    assert_eq!(
        status,
        Some((
            Tone::Success,
            "Merge undone: Ada is back; Bea has its earlier values. Edited since, so kept as they are: Company, Job title."
        ))
    );
    // q goes back to the survivor.
    app.press(key(KeyCode::Char('q')));
    assert!(matches!(app.screen(), Some(Screen::Detail(d)) if d.id() == "c2"));
}

#[test]
fn a_refused_undo_is_shown_in_the_server_s_words() {
    let mut app = survivor_app(Role::Member);
    app.press(key(KeyCode::Char('u')));
    app.press(key(KeyCode::Char('y')));
    let message = "the email of the contact to restore belongs to another contact now";
    let requests = app.update(Action::MergeUndone {
        merge_id: "m2".to_owned(),
        survivor_id: "c2".to_owned(),
        result: Err(ApiError::Conflict(message.to_owned())),
    });
    assert!(app.popup().is_none());
    assert_eq!(
        app.status(),
        Some(&Message::error(format!("Not undone: {message}")))
    );
    assert_eq!(
        requests,
        vec![Request::Contact {
            id: "c2".to_owned()
        }],
        "what is on screen may be out of date: it reloads"
    );
    assert!(matches!(app.screen(), Some(Screen::Detail(d)) if d.id() == "c2"));
}

#[test]
fn viewers_and_integrations_are_not_offered_undo() {
    for role in [Role::Viewer, Role::Integration] {
        let mut app = survivor_app(role.clone());
        assert!(app.press(key(KeyCode::Char('u'))).is_empty());
        assert!(app.popup().is_none(), "{role:?}: u asks nothing");
        app.press(key(KeyCode::Char('?')));
        let help = screen_text(&app, 160, 48);
        assert!(help.contains("select the next (older) merge"), "{role:?}");
        assert!(
            !help.contains("undo the selected merge"),
            "{role:?}: the help does not offer it"
        );
    }
    let mut app = survivor_app(Role::Member);
    app.press(key(KeyCode::Char('?')));
    assert!(screen_text(&app, 160, 48).contains("undo the selected merge"));
}
