//! The import screen: type a CSV file's path, choose a dry run, start;
//! then watch the job the server runs (a gauge over the part of the file
//! behind the committed rows, live counts) and, once it has finished, its
//! summary and the failed rows.
//!
//! The job runs on the server whether or not anyone watches it: leaving
//! the screen stops the polling, not the import. Polling is one request at
//! a time, each answer asking for the next (`JobStep::Poll`), so there is
//! never a timer to cancel.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, LineGauge, Padding, Paragraph, Row, Table, TableState, Wrap};

use super::selection::{self, MoveWords, Selection};
use super::{Component, text_field};
use crate::action::Action;
use crate::api::ApiError;
use crate::keymap::{self, Binding, Key};
use crate::model::{ImportJob, ImportRowError, ImportStatus, short_time};
use crate::request::Request;
use crate::theme;

/// How long a poll waits before asking again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Failed rows each poll reads while the job runs: a screenful, small
/// enough to ask for twice a second.
pub const LIVE_ERROR_ROWS: i64 = 20;
/// Failed rows read once the job has finished: as many as the server
/// gives in one answer.
pub const ALL_ERROR_ROWS: i64 = 1000;
const PAGE_STEP: usize = 10;
/// The width of the labels left of the values.
const LABEL_WIDTH: u16 = 10;

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
    /// The file is on its way to the server.
    Uploading,
    /// The job as the last answer showed it.
    Job(Box<ImportJob>),
}

#[derive(Debug)]
pub struct ImportScreen {
    path: String,
    dry_run: bool,
    stage: Stage,
    /// The upload in flight; its answer must carry this number.
    attempt: u64,
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
            path: String::new(),
            dry_run: false,
            stage: Stage::Entry,
            attempt: 0,
            polling: false,
            asked_rows: LIVE_ERROR_ROWS,
            problem: None,
            selected: Selection::default(),
            saving_report: false,
            saved_report: None,
        }
    }

    pub fn path(&self) -> &str {
        &self.path
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

    /// Whether the answer to upload `attempt` belongs here.
    pub fn awaits_upload(&self, attempt: u64) -> bool {
        self.is_uploading() && self.attempt == attempt
    }

    /// Whether leaving now leaves an import that may still write contacts:
    /// the contact list is then worth reloading on the way out.
    pub fn may_still_write(&self) -> bool {
        match &self.stage {
            Stage::Entry => false,
            Stage::Uploading => !self.dry_run,
            Stage::Job(job) => !job.dry_run && !job.is_finished(),
        }
    }

    /// Whether an upload or a job is under way (leaving does not stop it).
    pub fn is_busy(&self) -> bool {
        match &self.stage {
            Stage::Entry => false,
            Stage::Uploading => true,
            Stage::Job(job) => !job.is_finished(),
        }
    }

    pub fn update(&mut self, action: &Action) -> Vec<Request> {
        match &self.stage {
            Stage::Entry => match action {
                Action::Insert(c) => {
                    self.path.push(*c);
                    self.problem = None;
                }
                Action::DeleteBackward => {
                    self.path.pop();
                    self.problem = None;
                }
                Action::ClearField => {
                    self.path.clear();
                    self.problem = None;
                }
                Action::ToggleDryRun => self.dry_run = !self.dry_run,
                Action::StartImport => return self.start().into_iter().collect(),
                _ => {}
            },
            Stage::Uploading => {}
            Stage::Job(job) => {
                let finished = job.is_finished();
                if self
                    .selected
                    .apply(action, job.failed_rows.len(), PAGE_STEP)
                {
                    return Vec::new();
                }
                match action {
                    Action::NewImport if finished => {
                        self.stage = Stage::Entry;
                        self.problem = None;
                        self.selected.reset();
                        self.saved_report = None;
                        // Answers still out are for the old job and will
                        // be dropped.
                        self.polling = false;
                        self.saving_report = false;
                    }
                    Action::SaveErrorReport
                        if finished && job.failed > 0 && !self.saving_report =>
                    {
                        let request = Request::SaveErrorReport {
                            id: job.id.clone(),
                            import_path: self.path.clone(),
                        };
                        self.saving_report = true;
                        self.problem = None;
                        return vec![request];
                    }
                    Action::Reload => return self.reload().into_iter().collect(),
                    _ => {}
                }
            }
        }
        Vec::new()
    }

    fn start(&mut self) -> Option<Request> {
        if self.path.trim().is_empty() {
            self.problem = Some("Type the path of a CSV file first.".to_owned());
            return None;
        }
        self.attempt = next_attempt();
        self.stage = Stage::Uploading;
        self.problem = None;
        self.selected.reset();
        self.asked_rows = LIVE_ERROR_ROWS;
        Some(Request::StartImport {
            attempt: self.attempt,
            path: self.path.clone(),
            dry_run: self.dry_run,
            error_rows: LIVE_ERROR_ROWS,
        })
    }

    /// Asks about the job again at once, unless a poll is under way: for
    /// `r` after a failed poll, and for the app after the server came back.
    pub fn reload(&mut self) -> Option<Request> {
        let finished = self.job()?.is_finished();
        if self.polling {
            return None;
        }
        let rows = if finished {
            ALL_ERROR_ROWS
        } else {
            LIVE_ERROR_ROWS
        };
        self.poll(Duration::ZERO, rows)
    }

    fn poll(&mut self, after: Duration, error_rows: i64) -> Option<Request> {
        let id = self.job()?.id.clone();
        self.polling = true;
        self.asked_rows = error_rows;
        Some(Request::ImportJob {
            id,
            after,
            error_rows,
        })
    }

    /// Takes the upload's answer (the queued job, or why there is none).
    pub fn upload_answered(
        &mut self,
        attempt: u64,
        result: Result<Box<ImportJob>, ApiError>,
    ) -> JobStep {
        if !self.awaits_upload(attempt) {
            return JobStep::Ignored;
        }
        match result {
            Ok(job) => self.take_job(job),
            Err(err) => {
                self.stage = Stage::Entry;
                self.problem = Some(match &err {
                    ApiError::File(reason) => reason.clone(),
                    other => format!("Not started: {other}"),
                });
                JobStep::Failed(err)
            }
        }
    }

    /// Takes the answer to `w`; hands it back for the status line.
    pub fn report_answered(
        &mut self,
        result: Result<String, ApiError>,
    ) -> Result<String, ApiError> {
        self.saving_report = false;
        match &result {
            Ok(path) => self.saved_report = Some(path.clone()),
            Err(ApiError::File(reason)) => self.problem = Some(reason.clone()),
            Err(err) => self.problem = Some(format!("Could not read the failed rows: {err}")),
        }
        result
    }

    /// Takes a poll's answer for the job this screen watches.
    pub fn job_answered(&mut self, result: Result<Option<Box<ImportJob>>, ApiError>) -> JobStep {
        self.polling = false;
        match result {
            Ok(Some(job)) => self.take_job(job),
            Ok(None) => {
                self.problem = Some("The server no longer knows this import job.".to_owned());
                JobStep::Failed(ApiError::NotFound)
            }
            Err(err) => {
                self.problem = Some(format!("Could not read the import job: {err}"));
                JobStep::Failed(err)
            }
        }
    }

    fn take_job(&mut self, job: Box<ImportJob>) -> JobStep {
        let finished = job.is_finished();
        let rows_missing = usize::try_from(job.failed)
            .is_ok_and(|failed| failed > job.failed_rows.len())
            && self.asked_rows < ALL_ERROR_ROWS;
        self.selected.clamp(job.failed_rows.len());
        self.stage = Stage::Job(job);
        self.problem = None;
        let next = if !finished {
            self.poll(POLL_INTERVAL, LIVE_ERROR_ROWS)
        } else if rows_missing {
            // Finished, but the live polls read only the first rows: one
            // more read for the whole list before the summary.
            self.poll(Duration::ZERO, ALL_ERROR_ROWS)
        } else {
            None
        };
        match next {
            Some(request) => JobStep::Poll(request),
            None => JobStep::Finished,
        }
    }

    /// The keys of the current stage; `true` marks those the footer shows.
    fn keyed_bindings(&self) -> Vec<(Binding, bool)> {
        let back =
            |description| Binding::new(&[Key::Code(KeyCode::Esc)], description, Action::Back);
        match &self.stage {
            Stage::Entry => vec![
                (
                    Binding::new(
                        &[Key::Code(KeyCode::Enter)],
                        if self.dry_run {
                            "start the dry run"
                        } else {
                            "start the import"
                        },
                        Action::StartImport,
                    ),
                    true,
                ),
                (
                    Binding::new(&[Key::Ctrl('d')], "dry run on/off", Action::ToggleDryRun),
                    true,
                ),
                (back("cancel"), true),
                (
                    Binding::new(
                        &[Key::Code(KeyCode::Backspace)],
                        "delete a character",
                        Action::DeleteBackward,
                    ),
                    false,
                ),
                (
                    Binding::new(&[Key::Ctrl('u')], "clear the path", Action::ClearField),
                    false,
                ),
                (Binding::typing("type the CSV file's path"), false),
            ],
            Stage::Uploading => vec![(back("back to the contact list (the upload goes on)"), true)],
            Stage::Job(job) => {
                let finished = job.is_finished();
                let mut bindings: Vec<(Binding, bool)> = selection::bindings(MoveWords {
                    next: "next failed row",
                    previous: "previous failed row",
                    first: "first failed row",
                    last: "last failed row",
                })
                .into_iter()
                .map(|binding| (binding, false))
                .collect();
                if finished && job.failed > 0 && !self.saving_report {
                    bindings.push((
                        Binding::new(
                            &[Key::Char('w')],
                            "save every failed row as CSV, beside the imported file",
                            Action::SaveErrorReport,
                        ),
                        false,
                    ));
                }
                if finished {
                    bindings.push((
                        Binding::new(&[Key::Char('n')], "another import", Action::NewImport),
                        true,
                    ));
                }
                if !self.polling {
                    bindings.push((
                        Binding::new(&[Key::Char('r')], "read the job again", Action::Reload),
                        self.problem.is_some(),
                    ));
                }
                bindings.push((
                    Binding::new(
                        &[
                            Key::Code(KeyCode::Esc),
                            Key::Char('q'),
                            Key::Code(KeyCode::Left),
                        ],
                        if finished {
                            "back to the contact list"
                        } else {
                            "back to the contact list (the import goes on)"
                        },
                        Action::Back,
                    ),
                    true,
                ));
                bindings
            }
        }
    }

    fn draw_entry(&self, frame: &mut Frame, area: Rect) {
        let problem_lines = u16::from(self.problem.is_some() || self.is_uploading()) * 2;
        let [_, path_row, dry_row, _, problem_area, _, about_area] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(problem_lines),
            Constraint::Length(u16::from(problem_lines > 0)),
            Constraint::Fill(1),
        ])
        .areas(area);

        let [label_area, value_area] =
            Layout::horizontal([Constraint::Length(LABEL_WIDTH), Constraint::Fill(1)])
                .spacing(1)
                .areas(path_row);
        let editing = matches!(self.stage, Stage::Entry);
        frame.render_widget(Paragraph::new(label("CSV file", editing)), label_area);
        let shown = if editing {
            text_field::with_cursor(&self.path, value_area.width)
        } else {
            self.path.clone()
        };
        let style = if editing {
            theme::focused_input()
        } else {
            Default::default()
        };
        frame.render_widget(Paragraph::new(shown).style(style), value_area);

        let [label_area, value_area] =
            Layout::horizontal([Constraint::Length(LABEL_WIDTH), Constraint::Fill(1)])
                .spacing(1)
                .areas(dry_row);
        frame.render_widget(Paragraph::new(label("Dry run", false)), label_area);
        let choice = if self.dry_run {
            "[x] yes: report what the import would do, write nothing"
        } else {
            "[ ] no: write the contacts"
        };
        frame.render_widget(Paragraph::new(choice), value_area);

        let note = if self.is_uploading() {
            Some(Line::styled(
                format!("Uploading {}…", self.path.trim()),
                theme::dim(),
            ))
        } else {
            self.problem
                .as_ref()
                .map(|problem| Line::styled(format!("✗ {problem}"), theme::error()))
        };
        if let Some(note) = note {
            frame.render_widget(Paragraph::new(note).wrap(Wrap { trim: true }), problem_area);
        }

        let about = vec![
            Line::from(
                "Exports of Google Contacts, Outlook, HubSpot and Salesforce are read as they \
                 are. Each row is matched by email or mobile phone: a contact found is brought \
                 up to date (empty cells never clear), otherwise one is created. Importing the \
                 same file again changes nothing.",
            ),
            Line::default(),
            Line::from(
                "A path may start with ~; a relative one starts where contacts-tui was started.",
            ),
        ];
        frame.render_widget(
            Paragraph::new(about)
                .style(theme::dim())
                .wrap(Wrap { trim: true }),
            about_area,
        );
    }

    fn draw_job(&self, frame: &mut Frame, area: Rect, job: &ImportJob) {
        let finished = job.is_finished();
        let mut facts: Vec<Line<'static>> = vec![
            fact("Status", status_spans(job)),
            // The gauge's row; drawn over below.
            Line::default(),
            fact("Rows", row_spans(job)),
            fact(
                if job.dry_run { "Would be" } else { "Contacts" },
                change_spans(job),
            ),
        ];
        if !job.ignored_columns.is_empty() {
            facts.push(fact(
                "Ignored",
                vec![Span::raw(format!(
                    "{} ({})",
                    job.ignored_columns.join(", "),
                    plural(job.ignored_columns.len(), "column")
                ))],
            ));
        }
        if self.saving_report {
            facts.push(fact(
                "Report",
                vec![Span::styled("saving every failed row…", theme::dim())],
            ));
        } else if let Some(path) = &self.saved_report {
            facts.push(fact(
                "Saved to",
                vec![Span::styled(path.clone(), theme::success())],
            ));
        }
        let error_lines = match &job.error {
            Some(error) if !error.is_empty() => {
                // Room for a long reason at 80 columns; the frame clips
                // what is still longer.
                let room = usize::from(area.width.saturating_sub(LABEL_WIDTH + 1)).max(1);
                let lines = Line::from(error.as_str())
                    .width()
                    .div_ceil(room)
                    .clamp(1, 3);
                u16::try_from(lines).unwrap_or(3)
            }
            _ => 0,
        };
        let facts_height = u16::try_from(facts.len()).unwrap_or(u16::MAX);
        let problem_height = u16::from(self.problem.is_some());
        let [
            facts_area,
            error_area,
            problem_area,
            _,
            rows_title,
            table_area,
            detail_area,
        ] = Layout::vertical([
            Constraint::Length(facts_height),
            Constraint::Length(error_lines),
            Constraint::Length(problem_height),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(if finished && !job.failed_rows.is_empty() {
                2
            } else {
                0
            }),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(facts), facts_area);

        if facts_area.height >= 2 {
            let gauge_row = Rect {
                y: facts_area.y + 1,
                height: 1,
                ..facts_area
            };
            let [label_area, gauge_area] =
                Layout::horizontal([Constraint::Length(LABEL_WIDTH), Constraint::Fill(1)])
                    .spacing(1)
                    .areas(gauge_row);
            frame.render_widget(Paragraph::new(label("Progress", false)), label_area);
            let progress = job.progress();
            let gauge = LineGauge::default()
                .ratio(progress)
                .label(format!(
                    "{:>3.0}% of {}",
                    (progress * 100.0).floor(),
                    byte_size(job.bytes_total)
                ))
                .filled_symbol("█")
                .unfilled_symbol("░")
                .filled_style(if job.status == ImportStatus::Failed {
                    theme::error()
                } else {
                    theme::success()
                })
                .unfilled_style(theme::dim());
            frame.render_widget(gauge, gauge_area);
        }

        if let Some(error) = &job.error {
            let [label_area, text_area] =
                Layout::horizontal([Constraint::Length(LABEL_WIDTH), Constraint::Fill(1)])
                    .spacing(1)
                    .areas(error_area);
            frame.render_widget(Paragraph::new(label("Job error", false)), label_area);
            frame.render_widget(
                Paragraph::new(Line::styled(error.clone(), theme::error()))
                    .wrap(Wrap { trim: true }),
                text_area,
            );
        }
        if let Some(problem) = &self.problem {
            frame.render_widget(
                Paragraph::new(Line::styled(format!("✗ {problem}"), theme::error())),
                problem_area,
            );
        }

        let mut heading = vec![Span::styled(rows_heading(job), theme::title())];
        if finished && job.failed > 0 && !self.saving_report && self.saved_report.is_none() {
            heading.push(Span::styled("  w saves them all as CSV", theme::dim()));
        }
        frame.render_widget(Paragraph::new(Line::from(heading)), rows_title);
        if job.failed_rows.is_empty() {
            return;
        }
        let rows = job.failed_rows.iter().map(|row| {
            Row::new(vec![
                Cell::from(row.line.to_string()),
                Cell::from(row.column.clone().unwrap_or_default()),
                Cell::from(row.reason.clone()),
            ])
        });
        // The column names are few and short; the reason gets the rest.
        let column_width = job
            .failed_rows
            .iter()
            .filter_map(|row| row.column.as_deref())
            .map(|column| Line::from(column).width())
            .max()
            .unwrap_or(0)
            .clamp(6, 24);
        let table = Table::new(
            rows,
            [
                Constraint::Length(7),
                Constraint::Length(u16::try_from(column_width).unwrap_or(24)),
                Constraint::Fill(1),
            ],
        )
        .header(Row::new(["Line", "Column", "Reason"]).style(theme::label()))
        .row_highlight_style(theme::selected());
        // A fresh state each frame: ratatui scrolls it to keep the
        // selection visible, and `draw` stays free of side effects.
        let mut state = TableState::default().with_selected(Some(self.selected.index()));
        frame.render_stateful_widget(table, table_area, &mut state);

        // The selected row in full: a reason or column can be longer than
        // its cell at 80 columns.
        if let Some(row) = self.selected_row() {
            let column = row
                .column
                .as_deref()
                .map(|column| format!(", column {column}"))
                .unwrap_or_default();
            let line = Line::from(vec![
                Span::styled(format!("Line {}{column}: ", row.line), theme::label()),
                Span::raw(row.reason.clone()),
            ]);
            frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), detail_area);
        }
    }
}

fn label(text: &str, focused: bool) -> Line<'static> {
    let style = if focused {
        theme::title()
    } else {
        theme::label()
    };
    Line::styled(
        format!("{text:>width$}", width = usize::from(LABEL_WIDTH)),
        style,
    )
}

fn fact(name: &str, mut value: Vec<Span<'static>>) -> Line<'static> {
    let mut spans = vec![Span::styled(
        format!("{name:>width$} ", width = usize::from(LABEL_WIDTH)),
        theme::label(),
    )];
    spans.append(&mut value);
    Line::from(spans)
}

fn status_spans(job: &ImportJob) -> Vec<Span<'static>> {
    let style = match job.status {
        ImportStatus::Succeeded => theme::success(),
        ImportStatus::Failed => theme::error(),
        _ => Default::default(),
    };
    let mut spans = vec![Span::styled(job.status.label().to_owned(), style)];
    let when = match (&job.started_at, &job.finished_at) {
        (Some(started), Some(finished)) => {
            let (started, finished) = (short_time(started), short_time(finished));
            // The same day once: "2026-11-30 09:15 to 09:17".
            match (started.get(..10), finished.get(..10), finished.get(11..)) {
                (Some(a), Some(b), Some(time)) if a == b => format!("{started} to {time}"),
                _ => format!("{started} to {finished}"),
            }
        }
        (Some(started), None) => format!("started {}", short_time(started)),
        (None, Some(finished)) => format!("finished {}", short_time(finished)),
        (None, None) if job.status == ImportStatus::Uploading => {
            "the server is storing the file".to_owned()
        }
        (None, None) if job.status == ImportStatus::Queued => {
            "waiting for the server to take it up".to_owned()
        }
        (None, None) => String::new(),
    };
    if !when.is_empty() {
        spans.push(Span::styled(format!(" · {when}"), theme::dim()));
    }
    spans
}

fn count(n: i64, what: &str) -> String {
    format!("{} {what}", grouped(n))
}

fn row_spans(job: &ImportJob) -> Vec<Span<'static>> {
    let failed = count(job.failed, "failed");
    vec![
        Span::raw(count(job.rows_read, "read")),
        Span::styled(" · ", theme::dim()),
        if job.failed > 0 {
            Span::styled(failed, theme::error())
        } else {
            Span::raw(failed)
        },
    ]
}

/// What the rows did to contacts; in a dry run, what they would do.
fn change_spans(job: &ImportJob) -> Vec<Span<'static>> {
    vec![
        Span::raw(count(job.created, "created")),
        Span::styled(" · ", theme::dim()),
        Span::raw(count(job.updated, "updated")),
        Span::styled(" · ", theme::dim()),
        Span::raw(count(job.unchanged, "unchanged")),
    ]
}

fn rows_heading(job: &ImportJob) -> String {
    let shown = job.failed_rows.len();
    let failed = job.failed;
    if failed <= 0 {
        return if job.is_finished() {
            "No failed rows.".to_owned()
        } else {
            "No failed rows so far.".to_owned()
        };
    }
    let so_far = if job.is_finished() { "" } else { " so far" };
    if i64::try_from(shown).is_ok_and(|shown| shown >= failed) {
        format!("Failed rows{so_far}: {}", grouped(failed))
    } else {
        format!(
            "Failed rows{so_far}: {}, the first {} shown",
            grouped(failed),
            grouped(i64::try_from(shown).unwrap_or(i64::MAX))
        )
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `1234567` as `1,234,567`.
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A file size as people read it: `512 B`, `29.3 KiB`, `1.2 MiB`.
fn byte_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
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

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let title = match &self.stage {
            Stage::Job(job) if job.dry_run => format!(" Dry run: {} ", job.file_name),
            Stage::Job(job) => format!(" Import: {} ", job.file_name),
            _ => " Import contacts from a CSV file ".to_owned(),
        };
        let mut block = Block::bordered()
            .title(Line::styled(title, theme::title()))
            .padding(Padding::horizontal(1));
        if self.job().is_some_and(|job| job.dry_run) {
            block = block.title(
                Line::styled(" dry run: nothing is written ", theme::warning()).right_aligned(),
            );
        }
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [body, _, footer] = Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(inner);

        match &self.stage {
            Stage::Job(job) => self.draw_job(frame, body, job),
            Stage::Entry | Stage::Uploading => self.draw_entry(frame, body),
        }

        let footer_bindings: Vec<Binding> = self
            .keyed_bindings()
            .into_iter()
            .filter_map(|(binding, shown)| shown.then_some(binding))
            .collect();
        frame.render_widget(
            Paragraph::new(Line::styled(keymap::footer(&footer_bindings), theme::dim())),
            footer,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(status: ImportStatus, failed: i64, rows: usize) -> Box<ImportJob> {
        Box::new(ImportJob {
            id: "job-1".to_owned(),
            status,
            file_name: "contacts.csv".to_owned(),
            dry_run: false,
            rows_read: 10,
            created: 10 - failed,
            updated: 0,
            unchanged: 0,
            failed,
            bytes_done: 50,
            bytes_total: 100,
            error: None,
            ignored_columns: Vec::new(),
            failed_rows: (0..rows)
                .map(|i| ImportRowError {
                    line: i64::try_from(i).unwrap_or(0) + 2,
                    column: None,
                    reason: "bad".to_owned(),
                })
                .collect(),
            started_at: None,
            finished_at: None,
        })
    }

    fn started(screen: &mut ImportScreen, path: &str) -> u64 {
        for c in path.chars() {
            screen.update(&Action::Insert(c));
        }
        match screen.update(&Action::StartImport).as_slice() {
            [Request::StartImport { attempt, .. }] => *attempt,
            other => panic!("Enter starts an upload: {other:?}"),
        }
    }

    #[test]
    fn an_empty_path_asks_for_one_and_sends_nothing() {
        let mut screen = ImportScreen::new();
        screen.update(&Action::Insert(' '));
        assert!(screen.update(&Action::StartImport).is_empty());
        assert!(screen.problem().is_some());
        screen.update(&Action::Insert('a'));
        assert_eq!(screen.problem(), None, "typing clears the complaint");
    }

    #[test]
    fn polls_until_finished_then_reads_every_failed_row_once() {
        let mut screen = ImportScreen::new();
        screen.update(&Action::ToggleDryRun);
        let attempt = started(&mut screen, "a.csv");
        assert!(screen.is_uploading());
        assert_eq!(
            screen.upload_answered(attempt + 1000, Ok(job(ImportStatus::Queued, 0, 0))),
            JobStep::Ignored,
            "another upload's answer"
        );

        let step = screen.upload_answered(attempt, Ok(job(ImportStatus::Queued, 0, 0)));
        assert_eq!(
            step,
            JobStep::Poll(Request::ImportJob {
                id: "job-1".to_owned(),
                after: POLL_INTERVAL,
                error_rows: LIVE_ERROR_ROWS,
            })
        );
        assert!(screen.reload().is_none(), "one poll at a time");

        let step = screen.job_answered(Ok(Some(job(ImportStatus::Running, 30, 20))));
        assert!(matches!(step, JobStep::Poll(_)));

        // Finished with more failed rows than the live polls read.
        let step = screen.job_answered(Ok(Some(job(ImportStatus::Succeeded, 30, 20))));
        assert_eq!(
            step,
            JobStep::Poll(Request::ImportJob {
                id: "job-1".to_owned(),
                after: Duration::ZERO,
                error_rows: ALL_ERROR_ROWS,
            })
        );
        let step = screen.job_answered(Ok(Some(job(ImportStatus::Succeeded, 30, 30))));
        assert_eq!(step, JobStep::Finished);

        screen.update(&Action::Bottom);
        assert_eq!(screen.selected_row().map(|row| row.line), Some(31));
        screen.update(&Action::NewImport);
        assert_eq!(screen.job(), None);
        assert_eq!(screen.path(), "a.csv", "the path stays for a real run");
        assert!(screen.dry_run());
    }

    #[test]
    fn a_failed_upload_goes_back_to_the_path_and_a_failed_poll_stops() {
        let mut screen = ImportScreen::new();
        let attempt = started(&mut screen, "missing.csv");
        let step = screen.upload_answered(
            attempt,
            Err(ApiError::File(
                "Cannot read missing.csv: no such file.".to_owned(),
            )),
        );
        assert!(matches!(step, JobStep::Failed(ApiError::File(_))));
        assert!(!screen.is_uploading());
        assert_eq!(
            screen.problem(),
            Some("Cannot read missing.csv: no such file.")
        );

        let attempt = match screen.update(&Action::StartImport).as_slice() {
            [Request::StartImport { attempt, .. }] => *attempt,
            other => panic!("Enter starts again: {other:?}"),
        };
        screen.upload_answered(attempt, Ok(job(ImportStatus::Running, 0, 0)));
        assert!(screen.may_still_write());
        let step = screen.job_answered(Err(ApiError::Server("boom".to_owned())));
        assert!(matches!(step, JobStep::Failed(_)));
        assert!(screen.problem().is_some());
        assert!(
            screen
                .bindings()
                .iter()
                .any(|binding| binding.keys.contains(&Key::Char('r'))),
            "r asks again"
        );
        assert!(matches!(
            screen.update(&Action::Reload).as_slice(),
            [Request::ImportJob { .. }]
        ));
    }

    #[test]
    fn numbers_and_sizes_read_well() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped(-1000), "-1,000");
        assert_eq!(byte_size(512), "512 B");
        assert_eq!(byte_size(30_000), "29.3 KiB");
        assert_eq!(byte_size(5 * 1024 * 1024), "5.0 MiB");
    }
}
