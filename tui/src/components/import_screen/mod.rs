//! The import screen: type a CSV file's path, choose a dry run, start;
//! then watch the job the server runs (a gauge over the part of the file
//! behind the committed rows, live counts) and, once it has finished, its
//! summary and the failed rows.
//!
//! The job runs on the server whether or not anyone watches it: leaving
//! the screen stops the polling, not the import. Polling is one request at
//! a time, each answer asking for the next (`JobStep::Poll`), so there is
//! never a timer to cancel.
//!
//! The screen is split by what each part holds: `state` (what keys and
//! answers change), `keys` (the keys of each stage and what they ask the
//! app to do), `answers` (what the server's answers ask the app to do),
//! `view` (drawing) and `format` (numbers and summaries as the screen
//! words them).

mod answers;
mod format;
mod keys;
mod mapping;
mod state;
mod view;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::Component;
use super::selection::Selection;
use super::text_input::TextInput;
use crate::action::Action;
use crate::api::ApiError;
use crate::effect::Effect;
use crate::keymap::Binding;
use crate::model::{ImportJob, ImportRowError};
use crate::request::Request;
pub use mapping::{Choice, MappingStep};

/// How long a poll waits before asking again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Failed rows each poll reads while the job runs: a screenful, small
/// enough to ask for twice a second.
pub const LIVE_ERROR_ROWS: i64 = 20;
/// Failed rows read once the job has finished: as many as the server
/// gives in one answer.
pub const ALL_ERROR_ROWS: i64 = 1000;

pub use answers::{report_effects, upload_effects_after_leaving};
pub use format::finished_summary;

/// Attempts are unique across every import screen ever opened, so the
/// answer to an upload from a closed screen cannot land in a new one.
fn next_attempt() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[derive(Debug)]
enum Stage {
    /// Typing the path.
    Entry,
    /// The file's header is being read, for the mapping step.
    Reading,
    /// Choosing what each column feeds.
    Mapping(MappingStep),
    /// The file is on its way to the server.
    Uploading,
    /// The job as the last answer showed it.
    Job(Box<ImportJob>),
}

#[derive(Debug)]
pub struct ImportScreen {
    path: TextInput,
    dry_run: bool,
    stage: Stage,
    /// The upload in flight; its answer must carry this number.
    attempt: u64,
    /// The mapping step of the last upload, kept for another try.
    kept_mapping: Option<MappingStep>,
    /// This screen's polls carry it; answers of other watchers are not
    /// this screen's to follow up.
    watch: u64,
    /// A poll is in flight (perhaps still waiting before it asks).
    polling: bool,
    /// How many failed rows the last request asked for.
    asked_rows: i64,
    /// Why the last upload or poll went wrong.
    problem: Option<String>,
    /// The selected failed row.
    selected: Selection,
    /// The report of every failed row is being written.
    saving_report: bool,
    /// Where the report of every failed row went.
    saved_report: Option<String>,
}

/// What an answer about the upload or the job means for the app.
#[derive(Debug, PartialEq, Eq)]
pub enum JobStep {
    /// Not for this screen (a stale upload): nothing to do.
    Ignored,
    /// The job goes on: send this poll.
    Poll(Request),
    /// The job has finished and its failed rows are in.
    Finished,
    /// The upload or the poll failed; the screen shows why. For the app to
    /// act on the error too (a dead server covers the screens).
    Failed(ApiError),
}

impl Default for ImportScreen {
    fn default() -> Self {
        ImportScreen::new()
    }
}

impl ImportScreen {
    pub fn new() -> ImportScreen {
        ImportScreen {
            path: TextInput::default(),
            dry_run: false,
            stage: Stage::Entry,
            attempt: 0,
            watch: next_attempt(),
            kept_mapping: None,
            polling: false,
            asked_rows: LIVE_ERROR_ROWS,
            problem: None,
            selected: Selection::default(),
            saving_report: false,
            saved_report: None,
        }
    }

    /// A job opened from the jobs screen: watched like one just started
    /// here (a running one polled to its end, a finished one's failed
    /// rows read). Returns the first poll. The path is the job's file
    /// name, which `w` looks for where the client was started.
    pub fn reopen(job: ImportJob) -> (ImportScreen, Option<Request>) {
        let finished = job.is_finished();
        let mut screen = ImportScreen {
            path: TextInput::new(&job.file_name),
            dry_run: job.dry_run,
            stage: Stage::Job(Box::new(job)),
            ..ImportScreen::new()
        };
        let rows = if finished {
            ALL_ERROR_ROWS
        } else {
            LIVE_ERROR_ROWS
        };
        let poll = screen.poll(Duration::ZERO, rows);
        (screen, poll)
    }

    pub fn path(&self) -> &str {
        self.path.value()
    }

    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// The job being watched, or last watched.
    pub fn job(&self) -> Option<&ImportJob> {
        match &self.stage {
            Stage::Job(job) => Some(job),
            _ => None,
        }
    }

    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// Where the report of every failed row was written.
    pub fn saved_report(&self) -> Option<&str> {
        self.saved_report.as_deref()
    }

    pub fn is_uploading(&self) -> bool {
        matches!(self.stage, Stage::Uploading)
    }

    pub fn selected_row(&self) -> Option<&ImportRowError> {
        self.job()?.failed_rows.get(self.selected.index())
    }

    /// Whether this screen watches the job `id` (answers for other jobs
    /// are dropped).
    pub fn watches(&self, id: &str) -> bool {
        self.job().is_some_and(|job| job.id == id)
    }

    /// What this screen's polls carry (see `Request::ImportJob`).
    pub fn watch(&self) -> u64 {
        self.watch
    }

    /// Whether a poll of `watch` about `id` is this screen's.
    pub fn polls(&self, id: &str, watch: u64) -> bool {
        self.watches(id) && self.watch == watch
    }

    /// The mapping step, while it is on screen.
    pub fn mapping_step(&self) -> Option<&MappingStep> {
        match &self.stage {
            Stage::Mapping(step) => Some(step),
            _ => None,
        }
    }

    /// Whether the header read `attempt` belongs here.
    pub fn awaits_header(&self, attempt: u64) -> bool {
        matches!(self.stage, Stage::Reading) && self.attempt == attempt
    }

    /// Whether the answer to upload `attempt` belongs here.
    pub fn awaits_upload(&self, attempt: u64) -> bool {
        self.is_uploading() && self.attempt == attempt
    }

    /// Whether leaving now leaves an import that may still write contacts:
    /// the contact list is then worth reloading on the way out.
    pub fn may_still_write(&self) -> bool {
        match &self.stage {
            Stage::Entry | Stage::Reading | Stage::Mapping(_) => false,
            Stage::Uploading => !self.dry_run,
            Stage::Job(job) => !job.dry_run && !job.is_finished(),
        }
    }

    /// Whether an upload or a job is under way (leaving does not stop it).
    pub fn is_busy(&self) -> bool {
        match &self.stage {
            Stage::Entry | Stage::Reading | Stage::Mapping(_) => false,
            Stage::Uploading => true,
            Stage::Job(job) => !job.is_finished(),
        }
    }
}

impl Component for ImportScreen {
    fn title(&self) -> String {
        "Import".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        self.keyed_bindings()
            .into_iter()
            .map(|(binding, _)| binding)
            .collect()
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        self.handle_key(action)
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        self.draw_screen(frame, area);
    }
}
