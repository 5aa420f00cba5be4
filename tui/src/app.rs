//! The application state and its one update function. See the crate
//! documentation for the loop this sits in.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use tokio::sync::mpsc;

use crate::action::Action;
use crate::api::{ApiClient, ApiError};
use crate::components::Component;
use crate::components::activity_list::ActivityList;
use crate::components::connection_screen::{ConnectionScreen, Problem};
use crate::components::contact_detail::ContactDetail;
use crate::components::contact_form::{ContactForm, SaveStep};
use crate::components::contact_list::ContactList;
use crate::components::delete_popup::DeletePopup;
use crate::components::help_overlay::HelpOverlay;
use crate::components::import_screen::{ImportScreen, JobStep};
use crate::components::merge_prompt::MergePrompt;
use crate::components::notice::Notice;
use crate::components::status_line::{Message, StatusLine, Tone};
use crate::config::Config;
use crate::keymap::{self, Binding, Key};
use crate::model::{ImportJob, ImportStatus, Me, SaveOutcome};
use crate::request::Request;

/// A screen pushed over the contact list, which is always at the bottom.
#[derive(Debug)]
pub enum Screen {
    Detail(ContactDetail),
    Form(ContactForm),
    /// Opened from the contact list; a contact opened from it is pushed
    /// over it, and deleting that contact comes back to it.
    Activities(ActivityList),
    /// Opened from the contact list; nothing is pushed over it.
    Import(ImportScreen),
}

/// A modal popup over the current screen; it takes every key.
#[derive(Debug)]
pub enum Popup {
    Merge(MergePrompt),
    Delete(DeletePopup),
    Notice(Notice),
}

pub struct App {
    config: Config,
    api: ApiClient,
    list: ContactList,
    screens: Vec<Screen>,
    popup: Option<Popup>,
    help: Option<HelpOverlay>,
    /// Set while the server is unreachable or refuses the token; it then
    /// covers every screen until a retry succeeds.
    connection: Option<ConnectionScreen>,
    me: Option<Me>,
    status: Option<Message>,
    quit: bool,
    answers_tx: mpsc::UnboundedSender<Action>,
    answers_rx: mpsc::UnboundedReceiver<Action>,
    in_flight: usize,
}

impl App {
    /// Builds the client; nothing is sent until `start`.
    pub fn new(config: Config) -> App {
        let (answers_tx, answers_rx) = mpsc::unbounded_channel();
        App {
            api: ApiClient::new(&config),
            config,
            list: ContactList::default(),
            screens: Vec::new(),
            popup: None,
            help: None,
            connection: None,
            me: None,
            status: None,
            quit: false,
            answers_tx,
            answers_rx,
            in_flight: 0,
        }
    }

    // ----- the shell: keys in, requests out (needs a tokio runtime) -----

    /// Asks who we are and for the first page. Must run inside a tokio
    /// runtime, as must `handle_key`.
    pub fn start(&mut self) {
        let requests = self.startup_requests();
        self.spawn_all(requests);
    }

    pub fn handle_key(&mut self, key: KeyEvent) {
        let requests = self.press(key);
        self.spawn_all(requests);
    }

    /// Waits for the next answer of a request in flight; `None` when none
    /// is. For the terminal loop, which also waits on the keyboard.
    pub async fn next_answer(&mut self) -> Option<Action> {
        if self.in_flight == 0 {
            return None;
        }
        self.answers_rx.recv().await
    }

    /// Applies an answer from `next_answer`.
    pub fn apply_answer(&mut self, action: Action) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let requests = self.update(action);
        self.spawn_all(requests);
    }

    /// Processes answers until no request is in flight, including the
    /// requests those answers start. For tests and scripts.
    pub async fn settle(&mut self) {
        while let Some(action) = self.next_answer().await {
            self.apply_answer(action);
        }
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    fn spawn_all(&mut self, requests: Vec<Request>) {
        for request in requests {
            self.in_flight += 1;
            let api = self.api.clone();
            let answers = self.answers_tx.clone();
            tokio::spawn(async move {
                // The receiver lives as long as the app; a send can only
                // fail while the app is being dropped, when nobody cares.
                let _ = answers.send(request.perform(api).await);
            });
        }
    }

    // ----- the core: pure state changes, usable without a runtime -----

    pub fn startup_requests(&mut self) -> Vec<Request> {
        vec![Request::Me, self.list.reload()]
    }

    /// Routes a key to the topmost layer that answers it; returns the
    /// requests the resulting action asks for, without sending them.
    pub fn press(&mut self, key: KeyEvent) -> Vec<Request> {
        match self.route(&key) {
            Some(action) => self.update(action),
            None => Vec::new(),
        }
    }

    fn route(&self, key: &KeyEvent) -> Option<Action> {
        if let Some(help) = &self.help {
            return keymap::route(&help.bindings(), key);
        }
        keymap::route(&self.focused_bindings(), key)
            .or_else(|| keymap::route(&global_bindings(), key))
    }

    /// The keys of the layer that has focus, with its help heading.
    fn focused(&self) -> (String, Vec<Binding>) {
        let component: &dyn Component = if let Some(connection) = &self.connection {
            connection
        } else if let Some(popup) = &self.popup {
            match popup {
                Popup::Merge(merge) => merge,
                Popup::Delete(delete) => delete,
                Popup::Notice(notice) => notice,
            }
        } else {
            match self.screens.last() {
                Some(Screen::Detail(detail)) => detail,
                Some(Screen::Form(form)) => form,
                Some(Screen::Activities(activities)) => activities,
                Some(Screen::Import(import)) => import,
                None => &self.list,
            }
        };
        (component.title(), component.bindings())
    }

    fn focused_bindings(&self) -> Vec<Binding> {
        self.focused().1
    }

    /// The first key of the global help binding that the focused layer
    /// leaves to it (a text field takes `?` as a character), as the status
    /// line shows it.
    fn help_key(&self) -> &'static str {
        let takes_text = self
            .focused_bindings()
            .iter()
            .any(|binding| binding.keys.contains(&Key::Text));
        if takes_text { "F1" } else { "?" }
    }

    pub fn update(&mut self, action: Action) -> Vec<Request> {
        match action {
            Action::Quit => {
                self.quit = true;
                Vec::new()
            }
            Action::ToggleHelp => {
                self.help = match self.help {
                    Some(_) => None,
                    None => Some(HelpOverlay::new(vec![
                        self.focused(),
                        ("Everywhere".to_owned(), global_bindings()),
                    ])),
                };
                Vec::new()
            }
            Action::MeLoaded(result) => self.on_me(result),
            Action::ContactsLoaded { generation, result } => {
                match self.list.apply_page(generation, result) {
                    Some(err) => self.on_error(err),
                    None => Vec::new(),
                }
            }
            Action::ContactLoaded { id, result } => self.on_contact(id, result),
            Action::ActivitiesLoaded { generation, result } => {
                self.on_activities(generation, result)
            }
            Action::Saved { request, result } => self.on_saved(request, result),
            Action::Deleted { id, name, result } => self.on_deleted(id, name, result),
            Action::ImportStarted { attempt, result } => self.on_import_started(attempt, result),
            Action::ImportJobLoaded { id, result } => self.on_import_job(id, result),
            Action::ErrorReportSaved { id, result } => self.on_error_report(id, result),
            action => self.on_key_action(action),
        }
    }

    /// Actions that come from keys go to whatever has focus.
    fn on_key_action(&mut self, action: Action) -> Vec<Request> {
        if let Some(help) = &mut self.help {
            help.update(&action);
            return Vec::new();
        }
        if let Some(connection) = &mut self.connection {
            if action == Action::Reload {
                connection.set_retrying();
                return self.retry();
            }
            return Vec::new();
        }
        if let Some(popup) = &mut self.popup {
            return match (popup, action) {
                (Popup::Merge(merge), Action::Confirm) => {
                    self.status = Some(info("Merging…"));
                    merge.confirm().into_iter().collect()
                }
                (Popup::Delete(delete), Action::Confirm) => {
                    self.status = Some(info("Deleting…"));
                    delete.confirm().into_iter().collect()
                }
                (_, Action::Cancel) => {
                    self.popup = None;
                    Vec::new()
                }
                _ => Vec::new(),
            };
        }
        match self.screens.last_mut() {
            None => self.on_list_action(action),
            Some(Screen::Detail(detail)) => match action {
                Action::Back => {
                    self.screens.pop();
                    Vec::new()
                }
                Action::Edit => {
                    match detail.contact() {
                        Some(contact) => {
                            let form = ContactForm::edit(contact);
                            self.screens.push(Screen::Form(form));
                        }
                        None => self.status = Some(info("Still loading; try again in a moment.")),
                    }
                    Vec::new()
                }
                Action::AskDelete => {
                    if let Some(contact) = detail.contact() {
                        let popup = DeletePopup::new(contact.id.clone(), contact.display_name());
                        self.popup = Some(Popup::Delete(popup));
                    }
                    Vec::new()
                }
                action => detail.update(&action),
            },
            Some(Screen::Activities(activities)) => match action {
                Action::Back => {
                    self.screens.pop();
                    Vec::new()
                }
                Action::Open => match activities.selected_row() {
                    Some(row) => match &row.contact {
                        Some(contact) => {
                            let (detail, request) = ContactDetail::open(contact.id.clone());
                            self.screens.push(Screen::Detail(detail));
                            vec![request]
                        }
                        None => {
                            self.status = Some(info(
                                "That contact was deleted; its activity stays for reporting.",
                            ));
                            Vec::new()
                        }
                    },
                    None => Vec::new(),
                },
                action => activities.update(&action),
            },
            Some(Screen::Import(import)) => match action {
                Action::Back => {
                    let busy = import.is_busy();
                    let may_write = import.may_still_write();
                    self.screens.pop();
                    if may_write {
                        self.status = Some(info(
                            "The import goes on on the server; r reloads the list.",
                        ));
                    } else if busy {
                        self.status = Some(info("The dry run goes on on the server."));
                    }
                    // Rows committed so far are already contacts.
                    if may_write {
                        vec![self.list.reload()]
                    } else {
                        Vec::new()
                    }
                }
                Action::StartImport | Action::SaveErrorReport => {
                    let requests = import.update(&action);
                    if !requests.is_empty() {
                        self.status = Some(info(if action == Action::StartImport {
                            "Uploading the file…"
                        } else {
                            "Saving the failed rows…"
                        }));
                    }
                    requests
                }
                action => import.update(&action),
            },
            Some(Screen::Form(form)) => match action {
                Action::Cancel => {
                    self.screens.pop();
                    self.status = None;
                    Vec::new()
                }
                Action::Save => match form.save() {
                    SaveStep::Send(request) => {
                        self.status = Some(info("Saving…"));
                        vec![request]
                    }
                    SaveStep::NothingChanged => {
                        self.screens.pop();
                        self.status = Some(info("Nothing changed."));
                        Vec::new()
                    }
                    SaveStep::Busy => Vec::new(),
                },
                action => {
                    form.update(&action);
                    Vec::new()
                }
            },
        }
    }

    fn on_list_action(&mut self, action: Action) -> Vec<Request> {
        match action {
            Action::Open => match self.list.selected_row() {
                Some(row) => {
                    let (detail, request) = ContactDetail::open(row.id.clone());
                    self.screens.push(Screen::Detail(detail));
                    vec![request]
                }
                None => Vec::new(),
            },
            Action::New => {
                self.screens.push(Screen::Form(ContactForm::create()));
                Vec::new()
            }
            Action::OpenActivities => {
                let (activities, request) = ActivityList::open();
                self.screens.push(Screen::Activities(activities));
                vec![request]
            }
            Action::OpenImport => {
                self.screens.push(Screen::Import(ImportScreen::new()));
                Vec::new()
            }
            action => self.list.update(&action),
        }
    }

    fn retry(&mut self) -> Vec<Request> {
        let mut requests = vec![Request::Me, self.list.reload()];
        for screen in &mut self.screens {
            match screen {
                Screen::Detail(detail) => requests.push(detail.reload()),
                Screen::Activities(activities) => requests.push(activities.reload()),
                // A job polled before the server went away is polled again;
                // an upload that failed is not re-sent behind the user's back.
                Screen::Import(import) => requests.extend(import.reload()),
                Screen::Form(_) => {}
            }
        }
        requests
    }

    fn on_me(&mut self, result: Result<Me, ApiError>) -> Vec<Request> {
        match result {
            Ok(me) => {
                let was_down = self.connection.take().is_some();
                self.me = Some(me);
                if was_down {
                    self.status = Some(success("Connected."));
                }
                Vec::new()
            }
            Err(err) => self.on_error(err),
        }
    }

    /// The one place errors that are not a screen's own business go: the
    /// connection screen for a dead server or refused token, else the
    /// status line.
    fn on_error(&mut self, err: ApiError) -> Vec<Request> {
        let problem = match err {
            ApiError::Unreachable(reason) => Problem::Unreachable(reason),
            ApiError::Unauthenticated => Problem::Unauthenticated,
            other => {
                self.status = Some(error(other.to_string()));
                return Vec::new();
            }
        };
        let has_token = self.config.token.is_some();
        self.connection = Some(ConnectionScreen::new(
            problem,
            self.config.url.clone(),
            has_token,
        ));
        self.help = None;
        Vec::new()
    }

    fn on_contact(
        &mut self,
        id: String,
        result: Result<Option<Box<crate::model::Contact>>, ApiError>,
    ) -> Vec<Request> {
        let detail = self
            .screens
            .iter_mut()
            .rev()
            .find_map(|screen| match screen {
                Screen::Detail(detail) if detail.id() == id => Some(detail),
                _ => None,
            });
        let Some(detail) = detail else {
            return Vec::new();
        };
        match result {
            Ok(Some(contact)) => {
                detail.set_contact(*contact);
                Vec::new()
            }
            Ok(None) => {
                self.popup = None;
                self.status = Some(error("That contact no longer exists."));
                self.back_past_contact_screens()
            }
            Err(err) if err.is_connection_problem() => self.on_error(err),
            Err(err) => {
                detail.set_error(err.to_string());
                Vec::new()
            }
        }
    }

    fn on_saved(
        &mut self,
        request: crate::request::SaveRequest,
        result: Result<SaveOutcome, ApiError>,
    ) -> Vec<Request> {
        let merged = request.confirm_survivor_version.is_some();
        let form = self
            .screens
            .iter_mut()
            .rev()
            .find_map(|screen| match screen {
                Screen::Form(form) => Some(form),
                _ => None,
            });
        match result {
            Ok(SaveOutcome::Saved { id }) => {
                self.popup = None;
                // The form, and the detail of a contact merged away, are done.
                while matches!(
                    self.screens.last(),
                    Some(Screen::Form(_) | Screen::Detail(_))
                ) {
                    self.screens.pop();
                }
                let (detail, load) = ContactDetail::open(id);
                self.screens.push(Screen::Detail(detail));
                self.status = Some(success(if merged { "Contacts merged." } else { "Saved." }));
                vec![load, self.list.reload()]
            }
            Ok(SaveOutcome::NeedsMerge(preview)) => {
                if let Some(form) = form {
                    form.save_ended();
                }
                self.status = Some(info("Saving needs a merge: review it."));
                self.popup = Some(Popup::Merge(MergePrompt::new(preview, request)));
                Vec::new()
            }
            Err(err) => {
                self.popup = None;
                if let Some(form) = form {
                    form.save_ended();
                    match &err {
                        ApiError::Validation(errors) => form.set_errors(errors),
                        ApiError::CannotSave { field } => {
                            self.popup = Some(Popup::Notice(Notice::cannot_save(field.as_deref())));
                        }
                        ApiError::Conflict(_) => {
                            self.popup = Some(Popup::Notice(Notice::conflict()));
                        }
                        other if !other.is_connection_problem() => {
                            form.set_general_error(other.to_string());
                        }
                        _ => {}
                    }
                }
                match err {
                    ApiError::Validation(_) => {
                        self.status = Some(error("Not saved: fix the marked fields."));
                        Vec::new()
                    }
                    ApiError::CannotSave { .. } | ApiError::Conflict(_) => {
                        self.status = Some(error("Not saved."));
                        Vec::new()
                    }
                    err => self.on_error(err),
                }
            }
        }
    }

    fn on_deleted(
        &mut self,
        _id: String,
        name: String,
        result: Result<String, ApiError>,
    ) -> Vec<Request> {
        self.popup = None;
        match result {
            Ok(_) => {
                self.status = Some(success(format!("Deleted {name}.")));
                self.back_past_contact_screens()
            }
            Err(err) => self.on_error(err),
        }
    }

    fn on_activities(
        &mut self,
        generation: u64,
        result: Result<crate::model::ActivityPage, ApiError>,
    ) -> Vec<Request> {
        let activities = self.screens.iter_mut().find_map(|screen| match screen {
            Screen::Activities(activities) if activities.is_current(generation) => Some(activities),
            _ => None,
        });
        match activities.and_then(|activities| activities.apply_page(generation, result)) {
            Some(err) => self.on_error(err),
            None => Vec::new(),
        }
    }

    /// The upload's answer: the job to watch, or why there is none.
    fn on_import_started(
        &mut self,
        attempt: u64,
        result: Result<Box<ImportJob>, ApiError>,
    ) -> Vec<Request> {
        let Some(import) = self.import_screen(|import| import.awaits_upload(attempt)) else {
            // The screen was left during the upload: the job runs all the same.
            if let Ok(job) = &result
                && !job.dry_run
            {
                self.status = Some(info(format!(
                    "The import of {} runs on the server; r reloads the list.",
                    job.file_name
                )));
            }
            return Vec::new();
        };
        let step = import.upload_answered(attempt, result);
        let outcome = finished_outcome(&step, import);
        if let (JobStep::Poll(_), Some(job)) = (&step, import.job()) {
            let what = if job.dry_run {
                "Dry run of"
            } else {
                "Importing"
            };
            self.status = Some(info(format!("{what} {}…", job.file_name)));
        }
        self.on_job_step(step, outcome, "Import not started.")
    }

    fn on_import_job(
        &mut self,
        id: String,
        result: Result<Option<Box<ImportJob>>, ApiError>,
    ) -> Vec<Request> {
        let Some(import) = self.import_screen(|import| import.watches(&id)) else {
            return Vec::new();
        };
        let step = import.job_answered(result);
        let outcome = finished_outcome(&step, import);
        self.on_job_step(
            step,
            outcome,
            "Lost track of the import job; r reads it again.",
        )
    }

    fn on_error_report(&mut self, id: String, result: Result<String, ApiError>) -> Vec<Request> {
        // Written even when the screen was left meanwhile: say where.
        let result = match self.import_screen(|import| import.watches(&id)) {
            Some(import) => import.report_answered(result),
            None => result,
        };
        match result {
            Ok(path) => {
                self.status = Some(success(format!("Every failed row saved to {path}")));
                Vec::new()
            }
            Err(err) if err.is_connection_problem() => self.on_error(err),
            Err(_) => {
                self.status = Some(error("Failed rows not saved."));
                Vec::new()
            }
        }
    }

    fn import_screen(
        &mut self,
        wanted: impl Fn(&ImportScreen) -> bool,
    ) -> Option<&mut ImportScreen> {
        self.screens
            .iter_mut()
            .rev()
            .find_map(|screen| match screen {
                Screen::Import(import) if wanted(import) => Some(import),
                _ => None,
            })
    }

    fn on_job_step(
        &mut self,
        step: JobStep,
        finished: Option<(Message, bool)>,
        failure: &str,
    ) -> Vec<Request> {
        match step {
            JobStep::Ignored => Vec::new(),
            JobStep::Poll(request) => vec![request],
            JobStep::Finished => match finished {
                Some((message, wrote)) => {
                    self.status = Some(message);
                    if wrote {
                        vec![self.list.reload()]
                    } else {
                        Vec::new()
                    }
                }
                None => Vec::new(),
            },
            JobStep::Failed(err) if err.is_connection_problem() => self.on_error(err),
            JobStep::Failed(_) => {
                self.status = Some(error(failure));
                Vec::new()
            }
        }
    }

    /// After a contact is gone: closes its screens (detail, form) and
    /// comes back to the activities list it was opened from, if any, else
    /// to the contact list; reloads whichever it lands on.
    fn back_past_contact_screens(&mut self) -> Vec<Request> {
        while matches!(
            self.screens.last(),
            Some(Screen::Detail(_) | Screen::Form(_))
        ) {
            self.screens.pop();
        }
        let mut requests = vec![self.list.reload()];
        if let Some(Screen::Activities(activities)) = self.screens.last_mut() {
            requests.push(activities.reload());
        }
        requests
    }

    // ----- reading the state (for the terminal loop and tests) -----

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    pub fn list(&self) -> &ContactList {
        &self.list
    }

    pub fn screen(&self) -> Option<&Screen> {
        self.screens.last()
    }

    pub fn popup(&self) -> Option<&Popup> {
        self.popup.as_ref()
    }

    pub fn connection_problem(&self) -> Option<&Problem> {
        self.connection.as_ref().map(ConnectionScreen::problem)
    }

    pub fn help_is_open(&self) -> bool {
        self.help.is_some()
    }

    pub fn status(&self) -> Option<&Message> {
        self.status.as_ref()
    }

    pub fn draw(&self, frame: &mut Frame) {
        let [main, status] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(frame.area());

        match self.screens.last() {
            None => self.list.draw(frame, main),
            Some(Screen::Detail(detail)) => detail.draw(frame, main),
            Some(Screen::Form(form)) => form.draw(frame, main),
            Some(Screen::Activities(activities)) => activities.draw(frame, main),
            Some(Screen::Import(import)) => import.draw(frame, main),
        }
        match &self.popup {
            Some(Popup::Merge(merge)) => merge.draw(frame, main),
            Some(Popup::Delete(delete)) => delete.draw(frame, main),
            Some(Popup::Notice(notice)) => notice.draw(frame, main),
            None => {}
        }
        if let Some(connection) = &self.connection {
            connection.draw(frame, main);
        }
        if let Some(help) = &self.help {
            help.draw(frame, main);
        }
        StatusLine {
            message: self.status.as_ref(),
            busy: self.in_flight > 0,
            user: self.me.as_ref().map(|me| me.name.as_str()),
            server: &self.config.url,
            help_key: self.help_key(),
        }
        .draw(frame, status);
    }
}

/// Keys that work wherever focus is, unless the focused layer uses the
/// same key (text entry takes `?` as a character).
fn global_bindings() -> Vec<Binding> {
    vec![
        Binding::new(
            &[Key::Char('?'), Key::Code(KeyCode::F(1))],
            "show or hide these keys",
            Action::ToggleHelp,
        ),
        Binding::new(&[Key::Ctrl('c')], "quit", Action::Quit),
    ]
}

/// For a job that has just finished: the status line's summary, and
/// whether the contact list needs reloading (a real import, even a failed
/// one, may have committed rows).
fn finished_outcome(step: &JobStep, import: &ImportScreen) -> Option<(Message, bool)> {
    if *step != JobStep::Finished {
        return None;
    }
    let job = import.job()?;
    let message = if job.status == ImportStatus::Failed {
        let what = if job.dry_run { "Dry run" } else { "Import" };
        let why = job.error.as_deref().unwrap_or("see the screen");
        error(format!("{what} of {} failed: {why}", job.file_name))
    } else if job.dry_run {
        success(format!(
            "Dry run of {}: {}; nothing written.",
            job.file_name,
            job.counts()
        ))
    } else {
        success(format!("Imported {}: {}.", job.file_name, job.counts()))
    };
    Some((message, !job.dry_run))
}

fn info(text: impl Into<String>) -> Message {
    Message {
        text: text.into(),
        tone: Tone::Info,
    }
}

fn success(text: impl Into<String>) -> Message {
    Message {
        text: text.into(),
        tone: Tone::Success,
    }
}

fn error(text: impl Into<String>) -> Message {
    Message {
        text: text.into(),
        tone: Tone::Error,
    }
}
