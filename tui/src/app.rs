//! The application state and its one update function. See the crate
//! documentation for the loop this sits in.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use tokio::sync::mpsc;

use crate::action::Action;
use crate::api::{ApiClient, ApiError};
use crate::components::Component;
use crate::components::connection_screen::{ConnectionScreen, Problem};
use crate::components::contact_detail::ContactDetail;
use crate::components::contact_list::ContactList;
use crate::components::help_overlay::HelpOverlay;
use crate::components::import_screen::{self, ImportScreen};
use crate::components::merge_prompt::MergePrompt;
use crate::components::notice::Notice;
use crate::components::status_line::{Message, StatusLine};
use crate::config::Config;
use crate::effect::Effect;
use crate::job_watch::{Followed, JobWatch};
use crate::keymap::{self, Binding, Key};
use crate::model::{ContactField, Me, PolicyField, SaveOutcome};
use crate::request::Request;

/// Re-exported where they always were: scripts and tests match on them.
pub use crate::components::{Popup, Screen};

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
    /// Of those, background waits (see `Request::is_background`).
    in_background: usize,
    /// Import jobs followed after their screen was left.
    job_watch: JobWatch,
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
            in_background: 0,
            job_watch: JobWatch::default(),
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
        if matches!(action, Action::RetryDue { .. }) {
            self.in_background = self.in_background.saturating_sub(1);
        }
        let requests = self.update(action);
        self.spawn_all(requests);
    }

    /// Processes answers until no request is in flight, including the
    /// requests those answers start; background waits (an automatic
    /// reconnect's) are not waited for. For tests and scripts.
    pub async fn settle(&mut self) {
        while self.in_flight > self.in_background {
            let Some(action) = self.next_answer().await else {
                break;
            };
            self.apply_answer(action);
        }
    }

    /// Requests in flight, background waits aside.
    pub fn in_flight(&self) -> usize {
        self.in_flight - self.in_background.min(self.in_flight)
    }

    fn spawn_all(&mut self, requests: Vec<Request>) {
        for request in requests {
            self.in_flight += 1;
            if request.is_background() {
                self.in_background += 1;
            }
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

    /// Who we are first: the role decides which columns the list may ask
    /// for, so its first page follows `me`'s answer.
    pub fn startup_requests(&mut self) -> Vec<Request> {
        vec![Request::Me]
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

    /// The layer that has focus under the help overlay: its keys are
    /// the ones routed, and the overlay lists them.
    fn focused(&self) -> &dyn Component {
        if let Some(connection) = &self.connection {
            connection
        } else if let Some(popup) = &self.popup {
            popup.component()
        } else {
            match self.screens.last() {
                Some(screen) => screen.component(),
                None => &self.list,
            }
        }
    }

    /// Where key actions go: the help overlay while it is open, else the
    /// focused layer.
    fn focused_mut(&mut self) -> &mut dyn Component {
        if let Some(help) = &mut self.help {
            help
        } else if let Some(connection) = &mut self.connection {
            connection
        } else if let Some(popup) = &mut self.popup {
            popup.component_mut()
        } else {
            match self.screens.last_mut() {
                Some(screen) => screen.component_mut(),
                None => &mut self.list,
            }
        }
    }

    /// The focused layer's keys that the user's role may use: the router
    /// and the help both read this, so an action the role cannot perform
    /// is neither offered nor reachable.
    fn focused_bindings(&self) -> Vec<Binding> {
        let me = self.me.as_ref();
        self.focused()
            .bindings()
            .into_iter()
            .filter(|binding| binding.action().is_none_or(|action| permits(me, action)))
            .collect()
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
                        (self.focused().title(), self.focused_bindings()),
                        ("Everywhere".to_owned(), global_bindings()),
                    ])),
                };
                Vec::new()
            }
            Action::MeLoaded(result) => self.on_me(result),
            Action::ContactsLoaded { generation, result } => {
                let effects = self.list.apply_page(generation, result);
                self.carry_out(effects)
            }
            Action::SearchPaused { generation } => self.list.search_paused(generation),
            Action::RetryDue { attempt } => {
                let due = self
                    .connection
                    .as_mut()
                    .is_some_and(|connection| connection.retry_due(attempt));
                if due { self.retry() } else { Vec::new() }
            }
            Action::ContactLoaded { id, result } => self.on_contact(id, result),
            Action::ActivitiesLoaded { generation, result } => {
                self.on_activities(generation, result)
            }
            Action::Saved { request, result } => self.on_saved(request, result),
            Action::Deleted { id, name, result } => self.on_deleted(id, name, result),
            Action::MergeUndone {
                merge_id: _,
                survivor_id,
                result,
            } => self.on_merge_undone(survivor_id, result),
            Action::HeaderRead { attempt, result } => {
                if let Some(import) = self.import_screen(|import| import.awaits_header(attempt)) {
                    import.header_answered(attempt, result);
                }
                Vec::new()
            }
            Action::ImportStarted { attempt, result } => self.on_import_started(attempt, result),
            Action::ImportJobLoaded { id, watch, result } => self.on_import_job(id, watch, result),
            Action::ImportJobsLoaded { generation, result } => {
                self.on_import_jobs(generation, result)
            }
            Action::ErrorReportSaved { id, result } => self.on_error_report(id, result),
            action if action.is_admin_answer() => self.on_admin_answer(&action),
            action => self.on_key_action(action),
        }
    }

    /// Actions that come from keys go to whatever has focus, which says
    /// what it wants done.
    fn on_key_action(&mut self, action: Action) -> Vec<Request> {
        let effects = self.focused_mut().handle(&action);
        self.carry_out(effects)
    }

    /// An admin screen's answer: every screen is offered it, the topmost
    /// first, and what they ask for is carried out in that order (a form
    /// closes itself before the list beneath reloads).
    fn on_admin_answer(&mut self, answer: &Action) -> Vec<Request> {
        let effects: Vec<Effect> = self
            .screens
            .iter_mut()
            .rev()
            .flat_map(|screen| screen.on_answer(answer))
            .collect();
        self.carry_out(effects)
    }

    /// Does what components asked for, in order; returns the requests to
    /// send.
    fn carry_out(&mut self, effects: Vec<Effect>) -> Vec<Request> {
        let mut requests = Vec::new();
        for effect in effects {
            match effect {
                Effect::Send(request) => requests.push(request),
                Effect::Open(screen) => {
                    // A job reopened on a screen is followed there.
                    if let Screen::Import(import) = screen.as_ref()
                        && let Some(job) = import.job()
                    {
                        self.job_watch.forget(&job.id);
                    }
                    self.screens.push(*screen);
                }
                Effect::WatchJob { id, poll_in_flight } => {
                    requests.extend(self.job_watch.follow(id, poll_in_flight));
                }
                Effect::Close => {
                    self.screens.pop();
                }
                Effect::Popup(popup) => self.popup = Some(popup),
                Effect::ClosePopup => self.popup = None,
                Effect::Quit => self.quit = true,
                Effect::Status(message) => self.status = Some(message),
                Effect::ClearStatus => self.status = None,
                Effect::ReloadList => requests.push(self.list.reload()),
                Effect::Reconnect => requests.extend(self.retry()),
                Effect::Error(err) => requests.extend(self.on_error(err)),
            }
        }
        requests
    }

    /// Asks again for what the outage left unanswered. The list keeps its
    /// rows and position when it had them: only a list that failed or
    /// never loaded is asked again.
    fn retry(&mut self) -> Vec<Request> {
        let mut requests = vec![Request::Me];
        requests.extend(self.list.reload_after_outage());
        for screen in &mut self.screens {
            requests.extend(screen.reload_after_reconnect());
        }
        requests
    }

    fn on_me(&mut self, result: Result<Me, ApiError>) -> Vec<Request> {
        match result {
            Ok(me) => {
                let was_down = self.connection.take().is_some();
                let rights = me.rights();
                let changed = self.me.as_ref().is_some_and(|old| old.rights() != rights);
                self.api.set_rights(rights);
                self.list.set_role(me.role.clone());
                self.me = Some(me);
                if was_down {
                    self.status = Some(Message::success("Connected."));
                }
                let mut requests: Vec<Request> = self.list.set_fields(rights).into_iter().collect();
                // A contact on screen was read under the old rights.
                if changed {
                    requests.extend(self.screens.iter().filter_map(|screen| match screen {
                        Screen::Detail(detail) => Some(detail.reload()),
                        _ => None,
                    }));
                }
                requests
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
            // An admin may have changed the user's field policies since
            // `me` was read: read it again, and a list asking for a field
            // now refused asks again without it.
            ApiError::Forbidden(message) => {
                self.status = Some(Message::error(message));
                return vec![Request::Me];
            }
            other => {
                self.status = Some(Message::error(other.to_string()));
                return Vec::new();
            }
        };
        if let Some(connection) = &mut self.connection {
            // Another request of a round that already failed.
            if connection.is_waiting() {
                return Vec::new();
            }
            return connection.failed(problem).into_iter().collect();
        }
        let unsaved = self.screens.iter().any(|screen| match screen {
            Screen::Form(form) => form.has_unsaved_edits(),
            Screen::UserForm(_) | Screen::TokenForm(_) => true,
            _ => false,
        });
        let mut connection = ConnectionScreen::new(
            problem.clone(),
            self.config.url.clone(),
            self.config.token.is_some(),
            unsaved,
        );
        let retry = connection.failed(problem);
        self.connection = Some(connection);
        self.help = None;
        retry.into_iter().collect()
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
                self.status = Some(Message::error("That contact no longer exists."));
                self.back_past_contact_screens()
            }
            Err(err) if err.is_connection_problem() => self.on_error(err),
            Err(err) => {
                detail.set_error(err.to_string());
                // Policies may have changed since `me` was read.
                if matches!(err, ApiError::Forbidden(_)) {
                    vec![Request::Me]
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn on_saved(
        &mut self,
        request: crate::request::SaveRequest,
        result: Result<SaveOutcome, ApiError>,
    ) -> Vec<Request> {
        if request.confirm_survivor_version.is_none() && !self.awaited(&request) {
            // A flip's preview whose prompt was closed meanwhile.
            return Vec::new();
        }
        // The preview asked again by the merge prompt (a field's side
        // flipped) is the prompt's: it shows it, or keeps what it showed.
        // A save that went through meanwhile (the other contact is gone)
        // is a save like any other.
        let result = match (&mut self.popup, result) {
            (Some(Popup::Merge(prompt)), result) if prompt.concerns(&request) => {
                if !prompt.awaits(&request) {
                    // An earlier flip's, overtaken by a later one.
                    return Vec::new();
                }
                let effects = match result {
                    Ok(SaveOutcome::NeedsMerge(preview)) => prompt.previewed(request, preview),
                    Err(err) => prompt.preview_failed(err),
                    saved @ Ok(SaveOutcome::Saved { .. }) => {
                        return self.on_save_answer(request, saved);
                    }
                };
                return self.carry_out(effects);
            }
            (_, result) => result,
        };
        self.on_save_answer(request, result)
    }

    /// Whether a save (not a confirm) is waited for: by the merge prompt
    /// it belongs to, or by the form that sent it. With no form on the
    /// stack there is no one to ask, and the answer is shown.
    fn awaited(&self, request: &crate::request::SaveRequest) -> bool {
        if let Some(Popup::Merge(prompt)) = &self.popup
            && prompt.concerns(request)
        {
            return true;
        }
        let form = self.screens.iter().rev().find_map(|screen| match screen {
            Screen::Form(form) => Some(form),
            _ => None,
        });
        form.is_none_or(|form| form.awaits(request))
    }

    fn on_save_answer(
        &mut self,
        request: crate::request::SaveRequest,
        result: Result<SaveOutcome, ApiError>,
    ) -> Vec<Request> {
        let merged = request.confirm_survivor_version.is_some();
        if let Err(ApiError::Forbidden(message)) = &result
            && let Some(Popup::Merge(prompt)) = &mut self.popup
            && prompt.is_confirming(&request)
        {
            let effects = prompt.confirm_refused(message);
            let mut requests = self.carry_out(effects);
            // The policies may have changed since `me` was read.
            requests.push(Request::Me);
            return requests;
        }
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
                self.status = Some(Message::success(if merged {
                    "Contacts merged."
                } else {
                    "Saved."
                }));
                vec![load, self.list.reload()]
            }
            Ok(SaveOutcome::NeedsMerge(preview)) => {
                if let Some(form) = form {
                    form.save_ended();
                }
                self.status = Some(Message::info("Saving needs a merge: review it."));
                self.popup = Some(Popup::Merge(Box::new(MergePrompt::new(preview, request))));
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
                        self.status = Some(Message::error("Not saved: fix the marked fields."));
                        Vec::new()
                    }
                    ApiError::CannotSave { .. } | ApiError::Conflict(_) => {
                        self.status = Some(Message::error("Not saved."));
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
                self.status = Some(Message::success(format!("Deleted {name}.")));
                self.back_past_contact_screens()
            }
            Err(err) => self.on_error(err),
        }
    }

    /// An undo's answer: the restored contact is opened over the
    /// survivor's detail, which reloads, as does the list, where both
    /// contacts are now; the status line names the survivor's fields that
    /// kept their later value. A refusal is shown in the server's words.
    fn on_merge_undone(
        &mut self,
        survivor_id: String,
        result: Result<Box<crate::model::UndoneMerge>, ApiError>,
    ) -> Vec<Request> {
        if matches!(self.popup, Some(Popup::Undo(_))) {
            self.popup = None;
        }
        let reload_survivor = Request::Contact {
            id: survivor_id.clone(),
        };
        let undone = match result {
            Ok(undone) => undone,
            Err(err) if err.is_connection_problem() || matches!(err, ApiError::Forbidden(_)) => {
                return self.on_error(err);
            }
            Err(err) => {
                // Refused (undone already, a later merge stands, an
                // identity taken, the survivor changed): what is on
                // screen may be out of date too.
                self.status = Some(Message::error(format!("Not undone: {err}")));
                return vec![reload_survivor];
            }
        };
        let kept = undone
            .kept_fields
            .iter()
            .map(|field| field.label())
            .collect::<Vec<_>>()
            .join(", ");
        let mut text = match &undone.restored {
            Some(restored) => format!(
                "Merge undone: {} is back; {} has its earlier values.",
                restored.name, undone.survivor.name
            ),
            None => format!(
                "Merge undone: {} has its earlier values.",
                undone.survivor.name
            ),
        };
        if !kept.is_empty() {
            text.push_str(&format!(" Edited since, so kept as they are: {kept}."));
        }
        self.status = Some(Message::success(text));
        let mut requests = vec![reload_survivor, self.list.reload()];
        let on_survivor = matches!(
            self.screens.last(),
            Some(Screen::Detail(detail)) if detail.id() == survivor_id
        );
        if let Some(restored) = &undone.restored
            && on_survivor
        {
            let (detail, load) = ContactDetail::open(restored.id.clone());
            self.screens.push(Screen::Detail(detail));
            requests.push(load);
        }
        requests
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
        result: Result<Box<crate::model::ImportJob>, ApiError>,
    ) -> Vec<Request> {
        let effects = match self.import_screen(|import| import.awaits_upload(attempt)) {
            Some(import) => import.upload_effects(attempt, result),
            None => import_screen::upload_effects_after_leaving(&result),
        };
        self.carry_out(effects)
    }

    /// A poll's answer goes to the screen that sent it; one for a screen
    /// since left continues in the background, if the job is followed.
    fn on_import_job(
        &mut self,
        id: String,
        watch: u64,
        result: Result<Option<Box<crate::model::ImportJob>>, ApiError>,
    ) -> Vec<Request> {
        if let Some(import) = self.import_screen(|import| import.polls(&id, watch)) {
            let effects = import.job_effects(result);
            return self.carry_out(effects);
        }
        match self.job_watch.answered(&id, result) {
            Followed::No => Vec::new(),
            Followed::Poll(request) => vec![request],
            Followed::Finished(job) => self.job_finished(&job),
        }
    }

    /// Tells the user that a job they left has finished: in a popup,
    /// unless they are typing (a popup would take their keys), then on the
    /// status line.
    fn job_finished(&mut self, job: &crate::model::ImportJob) -> Vec<Request> {
        let summary = import_screen::finished_summary(job);
        let typing = self
            .focused_bindings()
            .iter()
            .any(|binding| binding.keys.contains(&Key::Text));
        if self.popup.is_none() && self.connection.is_none() && !typing {
            self.popup = Some(Popup::Notice(Notice::new(
                "Import finished",
                vec![
                    summary.text.clone(),
                    String::new(),
                    "I lists your import jobs; open this one for its failed rows.".to_owned(),
                ],
            )));
        }
        self.status = Some(summary);
        // A real import wrote contacts the list does not show yet.
        if job.dry_run {
            Vec::new()
        } else {
            vec![self.list.reload()]
        }
    }

    fn on_import_jobs(
        &mut self,
        generation: u64,
        result: Result<crate::model::ImportJobPage, ApiError>,
    ) -> Vec<Request> {
        let jobs = self.screens.iter_mut().find_map(|screen| match screen {
            Screen::Jobs(jobs) if jobs.is_current(generation) => Some(jobs),
            _ => None,
        });
        match jobs.and_then(|jobs| jobs.apply_page(generation, result)) {
            Some(err) => self.on_error(err),
            None => Vec::new(),
        }
    }

    fn on_error_report(
        &mut self,
        id: String,
        result: Result<crate::model::SavedReport, ApiError>,
    ) -> Vec<Request> {
        let result = match self.import_screen(|import| import.watches(&id)) {
            Some(import) => import.report_answered(result),
            None => result,
        };
        self.carry_out(import_screen::report_effects(result))
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
        let status_line = StatusLine {
            message: self.status.as_ref(),
            busy: self.in_flight() > 0,
            user: self
                .me
                .as_ref()
                .map(|me| (me.name.as_str(), me.role.name())),
            server: &self.config.url,
            help_key: self.help_key(),
        };
        // A long message takes a few rows rather than being cut, but never
        // more than a quarter of a small screen.
        let status_height = status_line
            .height(frame.area().width)
            .min(frame.area().height / 4)
            .max(1);
        let [main, status] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(status_height)])
                .areas(frame.area());

        match self.screens.last() {
            None => self.list.draw(frame, main),
            Some(screen) => screen.component().draw(frame, main),
        }
        if let Some(popup) = &self.popup {
            popup.component().draw(frame, main);
        }
        if let Some(connection) = &self.connection {
            connection.draw(frame, main);
        }
        if let Some(help) = &self.help {
            help.draw(frame, main);
        }
        status_line.draw(frame, status);
    }
}

/// Whether the user may do what `action` starts. Before `me` answers
/// every action is offered (the server refuses what it must) but the admin
/// screens, which wait for `me` to say ADMIN.
fn permits(me: Option<&Me>, action: &Action) -> bool {
    if matches!(
        action,
        Action::OpenUsers | Action::OpenIntegrations | Action::OpenPolicies
    ) {
        return me.is_some_and(|me| me.role.may_administer());
    }
    let Some(me) = me else { return true };
    // A form with no field the user may write would be empty.
    let writes_a_field = || {
        let rights = me.rights();
        ContactField::ALL
            .into_iter()
            .any(|field| rights.may_write(PolicyField::of(field)))
    };
    match action {
        Action::New | Action::Edit => me.role.may_write() && writes_a_field(),
        Action::OpenImport | Action::OpenImportJobs => me.role.may_write(),
        Action::AskDelete => me.role.may_delete(),
        Action::AskUndo => me.role.may_merge(),
        _ => true,
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

#[cfg(test)]
mod tests;
