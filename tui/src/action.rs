//! Everything that can change the client's state: what a key means, and
//! what a finished request brings back. `App::update` takes them all; a
//! key's action it hands to the focused component's `handle`.

use crate::api::ApiError;
use crate::model::{
    ActivityPage, ApiToken, Contact, ContactPage, Delivery, FieldAccess, FieldPolicy, ImportJob,
    ImportJobPage, Integration, IssuedToken, Me, Page, PolicyMatrix, SaveOutcome, SavedReport,
    SavedUser, Team, UndoneMerge, User, UserEdit,
};
use crate::request::SaveRequest;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    // Anywhere.
    Quit,
    ToggleHelp,
    /// Ask the server again (connection screen, or refresh a screen).
    Reload,

    // Moving inside the focused component; each reads them its own way.
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,

    // Contact list.
    Open,
    StartSearch,
    EndSearch,
    ClearSearch,
    CycleSource,
    CycleSort,
    FlipSortDirection,
    New,
    /// Open the activities list.
    OpenActivities,
    /// Open the import screen.
    OpenImport,
    /// Open the jobs screen.
    OpenImportJobs,

    // Activities list (it also reads `Open`, `Back`, moves and `Reload`).
    CycleKind,

    // Import screen (it also reads text entry, `Back`, moves and `Reload`).
    ToggleDryRun,
    StartImport,
    /// The mapping step: the selected column feeds the next (or previous)
    /// field. The contact detail: select the next (older) or previous
    /// merge.
    NextChoice,
    PreviousChoice,
    /// After a job: back to the file entry, for another file or a real
    /// import after a dry run.
    NewImport,
    /// After a job: write every failed row to a file.
    SaveErrorReport,

    // Admin screens (contact list keys open them; an admin's only).
    /// Open the users screen.
    OpenUsers,
    /// Open the integrations screen.
    OpenIntegrations,
    /// Users screen: the teams screen.
    OpenTeams,
    /// Users screen: filter by role (cycles).
    CycleRole,
    /// Users screen: active, deactivated or all users (cycles).
    CycleActive,
    /// Users screen: filter by team (cycles).
    CycleTeam,
    /// `d` on an admin screen: deactivate or reactivate a user, revoke a
    /// token, disconnect an integration. Always asked first, and only
    /// `y` says yes.
    AskRevoke,
    /// User form: put the focused team in or out. Merge prompt: keep
    /// the other side's value of the selected field.
    Toggle,
    /// Deliveries: dead letters only, or every delivery.
    ToggleDeadOnly,
    /// Deliveries: queue the selected failed or dead one again.
    Redeliver,
    /// Open the field-policy matrix.
    OpenPolicies,
    /// Policy matrix: give the focused cell this access (`Toggle` cycles).
    SetAccess(FieldAccess),

    // Detail.
    Back,
    Edit,
    AskDelete,
    /// Undo the selected merge into the contact. Always asked first, and
    /// only `y` says yes.
    AskUndo,

    // Text entry (search box, form fields, the import's path).
    Insert(char),
    DeleteBackward,
    DeleteForward,
    CursorLeft,
    CursorRight,
    CursorStart,
    CursorEnd,
    ClearField,
    NextField,
    PreviousField,
    Save,

    // Popups.
    Confirm,
    Cancel,

    // Answers from request tasks (see `request.rs`).
    MeLoaded(Result<Me, ApiError>),
    ContactsLoaded {
        /// Which list query this page belongs to; stale ones are dropped.
        generation: u64,
        result: Result<ContactPage, ApiError>,
    },
    /// Automatic reconnect `attempt` is due.
    RetryDue {
        attempt: u64,
    },
    /// Typing in the search box paused; the search of this generation
    /// may be sent, unless more was typed since.
    SearchPaused {
        generation: u64,
    },
    ContactLoaded {
        id: String,
        /// Boxed: a whole contact would make every action that large.
        result: Result<Option<Box<Contact>>, ApiError>,
    },
    ActivitiesLoaded {
        /// Which activities query this page belongs to; stale ones are
        /// dropped.
        generation: u64,
        result: Result<ActivityPage, ApiError>,
    },
    Saved {
        request: SaveRequest,
        result: Result<SaveOutcome, ApiError>,
    },
    Deleted {
        id: String,
        name: String,
        result: Result<String, ApiError>,
    },
    MergeUndone {
        merge_id: String,
        survivor_id: String,
        /// Boxed, like a contact.
        result: Result<Box<UndoneMerge>, ApiError>,
    },
    /// The header of the file to import, read on this machine.
    HeaderRead {
        attempt: u64,
        result: Result<Vec<String>, ApiError>,
    },
    ImportStarted {
        /// Which upload this answers; one for a screen since closed, or
        /// an earlier attempt, is not shown.
        attempt: u64,
        /// Boxed, like a contact: a job is large.
        result: Result<Box<ImportJob>, ApiError>,
    },
    ImportJobLoaded {
        id: String,
        /// The poll's watcher (see `Request::ImportJob`).
        watch: u64,
        /// `None` when the server no longer knows the job.
        result: Result<Option<Box<ImportJob>>, ApiError>,
    },
    ImportJobsLoaded {
        generation: u64,
        result: Result<ImportJobPage, ApiError>,
    },
    ErrorReportSaved {
        id: String,
        /// Where the report was written, and in which form.
        result: Result<SavedReport, ApiError>,
    },

    // Answers of the admin screens: the app offers each to every screen
    // (`Screen::on_answer`), and the one it belongs to takes it.
    UsersLoaded {
        generation: u64,
        result: Result<Page<User>, ApiError>,
    },
    TeamsLoaded {
        generation: u64,
        result: Result<Page<Team>, ApiError>,
    },
    TeamCreated {
        name: String,
        result: Result<Team, ApiError>,
    },
    UserSaved {
        edit: UserEdit,
        /// Boxed: a user with its teams, and maybe a token, is large.
        result: Result<Box<SavedUser>, ApiError>,
    },
    TokensLoaded {
        generation: u64,
        result: Result<Page<ApiToken>, ApiError>,
    },
    TokenIssued {
        user_id: String,
        result: Result<Box<IssuedToken>, ApiError>,
    },
    TokenRevoked {
        id: String,
        result: Result<Box<ApiToken>, ApiError>,
    },
    IntegrationsLoaded {
        generation: u64,
        result: Result<Vec<Integration>, ApiError>,
    },
    IntegrationDisconnected {
        id: String,
        result: Result<String, ApiError>,
    },
    Redelivered {
        delivery_id: String,
        result: Result<Box<Delivery>, ApiError>,
    },
    FieldPoliciesLoaded {
        generation: u64,
        result: Result<PolicyMatrix, ApiError>,
    },
    FieldPolicySet {
        /// What was asked: the server's answer may differ (it is the judge).
        asked: FieldPolicy,
        result: Result<FieldPolicy, ApiError>,
    },
}

impl Action {
    /// Whether this is the answer of an admin screen's request, which the
    /// app offers to the screens (see `Screen::on_answer`).
    pub fn is_admin_answer(&self) -> bool {
        matches!(
            self,
            Action::UsersLoaded { .. }
                | Action::TeamsLoaded { .. }
                | Action::TeamCreated { .. }
                | Action::UserSaved { .. }
                | Action::TokensLoaded { .. }
                | Action::TokenIssued { .. }
                | Action::TokenRevoked { .. }
                | Action::IntegrationsLoaded { .. }
                | Action::IntegrationDisconnected { .. }
                | Action::Redelivered { .. }
                | Action::FieldPoliciesLoaded { .. }
                | Action::FieldPolicySet { .. }
        )
    }
}
