//! The screens and popups. Each component owns its state, says which keys
//! it answers (`bindings`), takes the actions of those keys in `handle`
//! and returns the [`Effect`]s it wants beyond its own state (a request,
//! a screen to open, a status message), and draws with `draw(&self, ..)`,
//! which cannot change anything. The app routes a key to the layer that
//! has focus and carries out what comes back; it knows no screen's keys.
//! See the crate documentation for how they fit together.
//!
//! Known wart: answers from the server are still routed by the app to the
//! screen they belong to (by id or generation), and a save's answer is
//! handled there too, since it closes the form, opens a detail and
//! chooses a popup at once.

pub mod activity_list;
pub mod confirm_popup;
pub mod connection_screen;
pub mod contact_detail;
pub mod contact_form;
pub mod contact_list;
pub mod delete_popup;
pub mod deliveries_screen;
pub mod help_overlay;
pub mod import_jobs;
pub mod import_screen;
pub mod integrations_screen;
pub mod merge_prompt;
pub mod notice;
pub mod paged_rows;
pub mod policy_matrix;
pub mod popup_area;
pub mod secret_popup;
pub mod selection;
pub mod status_line;
pub mod table_columns;
pub mod teams_screen;
pub mod text_fit;
pub mod text_input;
pub mod token_form;
pub mod tokens_screen;
pub mod undo_popup;
pub mod user_form;
pub mod users_screen;

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::action::Action;
use crate::effect::Effect;
use crate::keymap::Binding;
use crate::request::Request;
use activity_list::ActivityList;
use confirm_popup::ConfirmPopup;
use contact_detail::ContactDetail;
use contact_form::ContactForm;
use delete_popup::DeletePopup;
use deliveries_screen::DeliveriesScreen;
use import_jobs::ImportJobs;
use import_screen::ImportScreen;
use integrations_screen::IntegrationsScreen;
use merge_prompt::MergePrompt;
use notice::Notice;
use policy_matrix::PolicyMatrixScreen;
use secret_popup::SecretPopup;
use teams_screen::TeamsScreen;
use token_form::TokenForm;
use tokens_screen::TokensScreen;
use undo_popup::UndoPopup;
use user_form::UserForm;
use users_screen::UsersScreen;

pub trait Component {
    /// The heading of this component's keys in the help overlay.
    fn title(&self) -> String;
    /// The keys this component answers in its current state. The router
    /// and the help overlay both read this list.
    fn bindings(&self) -> Vec<Binding>;
    /// Takes the action of one of its own bindings. `Quit` and
    /// `ToggleHelp` never arrive here: they mean the same everywhere, and
    /// the app takes them first.
    fn handle(&mut self, action: &Action) -> Vec<Effect>;
    fn draw(&self, frame: &mut Frame, area: Rect);
}

/// A screen pushed over the contact list, which is always at the bottom.
#[derive(Debug)]
pub enum Screen {
    Detail(ContactDetail),
    /// Boxed: its fields, each with what Ctrl-U cut, make it the largest.
    Form(Box<ContactForm>),
    /// Opened from the contact list; a contact opened from it is pushed
    /// over it, and deleting that contact comes back to it.
    Activities(ActivityList),
    /// Opened from the contact list, or from the jobs screen to reopen a
    /// job; nothing is pushed over it.
    Import(ImportScreen),
    /// Opened from the contact list; a job opened from it is pushed over
    /// it.
    Jobs(ImportJobs),
    // The admin screens: users (over the contact list), with the user
    // form, the teams and a user's tokens over it, and the token form
    // over those; integrations, with one's deliveries over it.
    Users(UsersScreen),
    /// Boxed: it holds every team to choose from.
    UserForm(Box<UserForm>),
    Teams(TeamsScreen),
    Tokens(TokensScreen),
    TokenForm(TokenForm),
    Integrations(IntegrationsScreen),
    Deliveries(DeliveriesScreen),
    /// The field-policy matrix, over the contact list.
    Policies(PolicyMatrixScreen),
}

impl Screen {
    pub fn component(&self) -> &dyn Component {
        match self {
            Screen::Detail(detail) => detail,
            Screen::Form(form) => form.as_ref(),
            Screen::Activities(activities) => activities,
            Screen::Import(import) => import,
            Screen::Jobs(jobs) => jobs,
            Screen::Users(users) => users,
            Screen::UserForm(form) => form.as_ref(),
            Screen::Teams(teams) => teams,
            Screen::Tokens(tokens) => tokens,
            Screen::TokenForm(form) => form,
            Screen::Integrations(integrations) => integrations,
            Screen::Deliveries(deliveries) => deliveries,
            Screen::Policies(policies) => policies,
        }
    }

    pub fn component_mut(&mut self) -> &mut dyn Component {
        match self {
            Screen::Detail(detail) => detail,
            Screen::Form(form) => form.as_mut(),
            Screen::Activities(activities) => activities,
            Screen::Import(import) => import,
            Screen::Jobs(jobs) => jobs,
            Screen::Users(users) => users,
            Screen::UserForm(form) => form.as_mut(),
            Screen::Teams(teams) => teams,
            Screen::Tokens(tokens) => tokens,
            Screen::TokenForm(form) => form,
            Screen::Integrations(integrations) => integrations,
            Screen::Deliveries(deliveries) => deliveries,
            Screen::Policies(policies) => policies,
        }
    }

    /// Offers an admin screen's answer (see `Action::is_admin_answer`):
    /// the screen it belongs to takes it (by generation, id or what it
    /// sent) and says what it wants done; others ignore it. Every screen
    /// is offered every answer, since one answer can concern two (a
    /// user created: the form shows the token, the list reloads).
    pub fn on_answer(&mut self, answer: &Action) -> Vec<Effect> {
        match self {
            Screen::Users(users) => users.on_answer(answer),
            Screen::UserForm(form) => form.on_answer(answer),
            Screen::Teams(teams) => teams.on_answer(answer),
            Screen::Tokens(tokens) => tokens.on_answer(answer),
            Screen::TokenForm(form) => form.on_answer(answer),
            Screen::Integrations(integrations) => integrations.on_answer(answer),
            Screen::Deliveries(deliveries) => deliveries.on_answer(answer),
            Screen::Policies(policies) => policies.on_answer(answer),
            Screen::Detail(_)
            | Screen::Form(_)
            | Screen::Activities(_)
            | Screen::Import(_)
            | Screen::Jobs(_) => Vec::new(),
        }
    }

    /// What this screen asks again once the server is back.
    pub fn reload_after_reconnect(&mut self) -> Option<Request> {
        match self {
            Screen::Detail(detail) => Some(detail.reload()),
            Screen::Activities(activities) => Some(activities.reload()),
            // A job polled before the server went away is polled again; an
            // upload that failed is not re-sent behind the user's back.
            Screen::Import(import) => import.reload(),
            Screen::Jobs(jobs) => Some(jobs.reload()),
            Screen::Users(users) => Some(users.reload()),
            Screen::Teams(teams) => Some(teams.reload()),
            Screen::Tokens(tokens) => Some(tokens.reload()),
            Screen::Integrations(integrations) => Some(integrations.reload()),
            Screen::Deliveries(deliveries) => Some(deliveries.reload()),
            Screen::Policies(policies) => Some(policies.reload()),
            Screen::UserForm(form) => form.reload_after_reconnect(),
            // What was typed stays; saving sends it again.
            Screen::Form(_) | Screen::TokenForm(_) => None,
        }
    }
}

/// A modal popup over the current screen; it takes every key.
#[derive(Debug)]
pub enum Popup {
    /// Boxed, as the next: the preview, the save and its flip make it
    /// the largest.
    Merge(Box<MergePrompt>),
    /// Undoing a merge, asked from the contact detail.
    Undo(Box<UndoPopup>),
    Delete(DeletePopup),
    Notice(Notice),
    Confirm(ConfirmPopup),
    /// A token's secret, shown once.
    Secret(SecretPopup),
}

impl Popup {
    pub fn component(&self) -> &dyn Component {
        match self {
            Popup::Merge(merge) => merge.as_ref(),
            Popup::Undo(undo) => undo.as_ref(),
            Popup::Delete(delete) => delete,
            Popup::Notice(notice) => notice,
            Popup::Confirm(confirm) => confirm,
            Popup::Secret(secret) => secret,
        }
    }

    pub fn component_mut(&mut self) -> &mut dyn Component {
        match self {
            Popup::Merge(merge) => merge.as_mut(),
            Popup::Undo(undo) => undo.as_mut(),
            Popup::Delete(delete) => delete,
            Popup::Notice(notice) => notice,
            Popup::Confirm(confirm) => confirm,
            Popup::Secret(secret) => secret,
        }
    }
}
