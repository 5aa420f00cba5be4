//! Everything that can change the client's state: what a key means, and
//! what a finished request brings back. `App::update` takes them all; a
//! key's action it hands to the focused component's `handle`.

use crate::api::ApiError;
use crate::model::{ActivityPage, Contact, ContactPage, ImportJob, Me, SaveOutcome};
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

    // Activities list (it also reads `Open`, `Back`, moves and `Reload`).
    CycleKind,

    // Import screen (it also reads text entry, `Back`, moves and `Reload`).
    ToggleDryRun,
    StartImport,
    /// After a job: back to the file entry, for another file or a real
    /// import after a dry run.
    NewImport,
    /// After a job: write every failed row to a file.
    SaveErrorReport,

    // Detail.
    Back,
    Edit,
    AskDelete,

    // Text entry (search box, form fields).
    Insert(char),
    DeleteBackward,
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
    ImportStarted {
        /// Which upload this answers; one for a screen since closed, or
        /// an earlier attempt, is not shown.
        attempt: u64,
        /// Boxed, like a contact: a job is large.
        result: Result<Box<ImportJob>, ApiError>,
    },
    ImportJobLoaded {
        id: String,
        /// `None` when the server no longer knows the job.
        result: Result<Option<Box<ImportJob>>, ApiError>,
    },
    ErrorReportSaved {
        id: String,
        /// Where the report was written.
        result: Result<String, ApiError>,
    },
}
