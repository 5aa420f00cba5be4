//! The jobs screen: the user's import jobs (everyone's, for an admin),
//! newest first, paged from `importJobs` as the selection nears the end of
//! what is loaded. Enter reopens a job on the import screen, which follows
//! a running one to its end and shows a finished one's failed rows: the
//! way back to a job whose screen was left.

use std::sync::atomic::{AtomicU64, Ordering};

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};

use super::import_screen::ImportScreen;
use super::selection::{self, MoveWords, Selection};
use super::table_columns::{self, ColumnSpec};
use super::{Component, Screen, text_fit};
use crate::action::Action;
use crate::api::ApiError;
use crate::effect::{Effect, sends};
use crate::keymap::{Binding, Key};
use crate::model::{ImportJob, ImportJobPage, grouped, short_time};
use crate::request::Request;
use crate::theme;

const PREFETCH_ROWS: usize = 10;
const PAGE_STEP: usize = 20;

/// Unique across every jobs screen ever opened, so an answer to a closed
/// one cannot land in a new one.
fn next_generation() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[derive(Debug)]
pub struct ImportJobs {
    jobs: Vec<ImportJob>,
    total: Option<i64>,
    selected: Selection,
    end_cursor: Option<String>,
    has_next_page: bool,
    generation: u64,
    /// The next answer replaces the rows rather than extending them.
    replacing: bool,
    loading: bool,
    error: Option<String>,
}

impl ImportJobs {
    /// An empty screen; returns the request that fills it.
    pub fn open() -> (ImportJobs, Request) {
        let mut screen = ImportJobs {
            jobs: Vec::new(),
            total: None,
            selected: Selection::default(),
            end_cursor: None,
            has_next_page: false,
            generation: 0,
            replacing: true,
            loading: true,
            error: None,
        };
        let request = screen.reload();
        (screen, request)
    }

    pub fn jobs(&self) -> &[ImportJob] {
        &self.jobs
    }

    pub fn selected_job(&self) -> Option<&ImportJob> {
        self.jobs.get(self.selected.index())
    }

    pub fn is_current(&self, generation: u64) -> bool {
        generation == self.generation
    }

    pub fn reload(&mut self) -> Request {
        self.generation = next_generation();
        self.replacing = true;
        self.loading = true;
        Request::ImportJobs {
            generation: self.generation,
            after: None,
        }
    }

    fn load_more_if_near_end(&mut self) -> Option<Request> {
        let near_end = self.selected.near_end(self.jobs.len(), PREFETCH_ROWS);
        if !near_end || !self.has_next_page || self.loading {
            return None;
        }
        self.loading = true;
        self.replacing = false;
        Some(Request::ImportJobs {
            generation: self.generation,
            after: self.end_cursor.clone(),
        })
    }

    /// Takes a page; returns the error for the app to show when it is one.
    pub fn apply_page(
        &mut self,
        generation: u64,
        result: Result<ImportJobPage, ApiError>,
    ) -> Option<ApiError> {
        if !self.is_current(generation) {
            return None;
        }
        self.loading = false;
        match result {
            Ok(page) => {
                if self.replacing {
                    self.jobs = page.jobs;
                    self.selected.clamp(self.jobs.len());
                } else {
                    self.jobs.extend(page.jobs);
                }
                self.total = Some(page.total);
                self.has_next_page = page.has_next_page;
                self.end_cursor = page.end_cursor;
                self.error = None;
                None
            }
            Err(err) => {
                self.error = Some(err.to_string());
                Some(err)
            }
        }
    }

    fn update(&mut self, action: &Action) -> Vec<Request> {
        if self.selected.apply(action, self.jobs.len(), PAGE_STEP) {
            return self.load_more_if_near_end().into_iter().collect();
        }
        match action {
            Action::Reload => vec![self.reload()],
            _ => Vec::new(),
        }
    }

    fn title_text(&self) -> String {
        match self.total {
            Some(total) => format!(
                " Import jobs: {} of {} loaded ",
                grouped(i64::try_from(self.jobs.len()).unwrap_or(i64::MAX)),
                grouped(total)
            ),
            None => " Import jobs ".to_owned(),
        }
    }
}

/// The table's columns: header, how far each may be cut, its rank.
const COLUMNS: [(&str, Option<u16>, u8); 6] = [
    ("Created", None, 3),
    ("File", Some(12), 0),
    ("Status", None, 0),
    ("Done", None, 2),
    ("Created · updated · unchanged · failed", None, 1),
    ("Kind", None, 4),
];

fn job_cells(job: &ImportJob) -> [String; 6] {
    [
        short_time(&job.created_at),
        job.file_name.clone(),
        job.status.label().to_owned(),
        format!("{:.0}%", (job.progress() * 100.0).floor()),
        format!(
            "{} · {} · {} · {}",
            grouped(job.created),
            grouped(job.updated),
            grouped(job.unchanged),
            grouped(job.failed)
        ),
        if job.dry_run { "dry run" } else { "import" }.to_owned(),
    ]
}

impl Component for ImportJobs {
    fn title(&self) -> String {
        "Import jobs".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        let mut bindings = selection::bindings(MoveWords {
            next: "next job",
            previous: "previous job",
            first: "newest job",
            last: "oldest loaded job",
        });
        bindings.extend([
            Binding::new(
                &[Key::Code(KeyCode::Enter)],
                "open the job: its progress or its failed rows",
                Action::Open,
            ),
            Binding::new(&[Key::Char('r')], "reload", Action::Reload),
            Binding::new(
                &[
                    Key::Code(KeyCode::Esc),
                    Key::Char('q'),
                    Key::Code(KeyCode::Left),
                ],
                "back",
                Action::Back,
            ),
        ]);
        bindings
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            Action::Back => vec![Effect::Close],
            Action::Open => match self.selected_job() {
                Some(job) => {
                    let (screen, poll) = ImportScreen::reopen(job.clone());
                    let mut effects = vec![Effect::open(Screen::Import(screen))];
                    effects.extend(poll.map(Effect::Send));
                    effects
                }
                None => Vec::new(),
            },
            action => sends(self.update(action)),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let block = Block::bordered().title(Line::styled(self.title_text(), theme::title()));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if self.jobs.is_empty() {
            let text = if let Some(error) = &self.error {
                Line::styled(format!("Could not load the jobs: {error}"), theme::error())
            } else if self.loading {
                Line::styled("Loading…", theme::dim())
            } else {
                Line::styled("No import jobs yet.", theme::dim())
            };
            frame.render_widget(Paragraph::new(text), inner);
            return;
        }
        let cells: Vec<[String; 6]> = self.jobs.iter().map(job_cells).collect();
        let specs: Vec<ColumnSpec> = COLUMNS
            .iter()
            .enumerate()
            .map(|(column, &(header, shrink_to, rank))| {
                ColumnSpec::new(
                    header,
                    cells
                        .iter()
                        .filter_map(|row| row.get(column).map(String::as_str)),
                    shrink_to,
                    rank,
                )
            })
            .collect();
        let planned = table_columns::plan(&specs, inner.width, 1);
        let header = Row::new(
            planned
                .iter()
                .map(|&(column, _)| specs.get(column).map_or("", |spec| spec.header)),
        )
        .style(theme::title());
        let rows = cells.iter().map(|row| {
            Row::new(planned.iter().map(|&(column, width)| {
                let text = row.get(column).map_or("", String::as_str);
                Cell::from(text_fit::ellipsis(text, usize::from(width)))
            }))
        });
        let widths = planned.iter().map(|&(_, width)| Constraint::Length(width));
        let table = Table::new(rows, widths)
            .header(header)
            .row_highlight_style(theme::selected());
        let mut state = TableState::default().with_selected(Some(self.selected.index()));
        frame.render_stateful_widget(table, inner, &mut state);
    }
}
