//! The activities list: every activity the caller can see, newest first,
//! paged from the server as the selection nears the end of what is
//! loaded, filtered by kind. A row whose contact was deleted stays, with
//! the name the customer submitted.

use std::sync::atomic::{AtomicU64, Ordering};

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};

use super::Component;
use super::contact_detail::ContactDetail;
use super::selection::{self, MoveWords, Selection};
use super::status_line::Message;
use super::table_columns::{self, ColumnSpec};
use super::text_fit;
use crate::action::Action;
use crate::api::ApiError;
use crate::effect::{Effect, sends};
use crate::keymap::{Binding, Key};
use crate::model::{ActivityKind, ActivityPage, ActivityRow, grouped, short_time};
use crate::request::Request;
use crate::theme;

/// Ask for the next page when the selection is this close to the end of
/// what is loaded, so scrolling rarely waits.
const PREFETCH_ROWS: usize = 10;
const PAGE_STEP: usize = 20;

/// Generations are unique across every activities screen ever opened, so
/// the answer to a screen that was closed cannot land in a new one.
fn next_generation() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[derive(Debug)]
pub struct ActivityList {
    kind: Option<ActivityKind>,
    rows: Vec<ActivityRow>,
    total: Option<i64>,
    selected: Selection,
    end_cursor: Option<String>,
    has_next_page: bool,
    /// Bumped for every new query; answers to older ones are dropped.
    generation: u64,
    /// The next answer replaces the rows (a new query) rather than
    /// extending them (the next page).
    replacing: bool,
    loading: bool,
    error: Option<String>,
}

impl ActivityList {
    /// An empty list of all kinds; returns the request that fills it.
    pub fn open() -> (ActivityList, Request) {
        let mut list = ActivityList {
            kind: None,
            rows: Vec::new(),
            total: None,
            selected: Selection::default(),
            end_cursor: None,
            has_next_page: false,
            generation: 0,
            replacing: true,
            loading: true,
            error: None,
        };
        let request = list.reload();
        (list, request)
    }

    pub fn kind(&self) -> Option<ActivityKind> {
        self.kind
    }

    pub fn rows(&self) -> &[ActivityRow] {
        &self.rows
    }

    pub fn total(&self) -> Option<i64> {
        self.total
    }

    pub fn selected_row(&self) -> Option<&ActivityRow> {
        self.rows.get(self.selected.index())
    }

    /// Asks for the first page of the current filter; the rows on screen
    /// stay until it answers, so the table does not flicker.
    pub fn reload(&mut self) -> Request {
        self.generation = next_generation();
        self.replacing = true;
        self.loading = true;
        Request::Activities {
            generation: self.generation,
            kind: self.kind,
            after: None,
        }
    }

    fn load_more_if_near_end(&mut self) -> Option<Request> {
        let near_end = self.selected.near_end(self.rows.len(), PREFETCH_ROWS);
        if !near_end || !self.has_next_page || self.loading {
            return None;
        }
        self.loading = true;
        self.replacing = false;
        Some(Request::Activities {
            generation: self.generation,
            kind: self.kind,
            after: self.end_cursor.clone(),
        })
    }

    /// Whether an answer of this generation belongs to this list.
    pub fn is_current(&self, generation: u64) -> bool {
        generation == self.generation
    }

    /// Takes a page answer; returns the error for the app to show when the
    /// answer is one. Answers to an older query are dropped.
    pub fn apply_page(
        &mut self,
        generation: u64,
        result: Result<ActivityPage, ApiError>,
    ) -> Option<ApiError> {
        if !self.is_current(generation) {
            return None;
        }
        self.loading = false;
        match result {
            Ok(page) => {
                if self.replacing {
                    // Keep the selection where it was (a reload after a
                    // delete), as far as the new rows reach.
                    self.rows = page.rows;
                    self.selected.clamp(self.rows.len());
                } else {
                    self.rows.extend(page.rows);
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

    /// Handles the actions that stay inside the list.
    pub fn update(&mut self, action: &Action) -> Vec<Request> {
        if self.selected.apply(action, self.rows.len(), PAGE_STEP) {
            return self.load_more_if_near_end().into_iter().collect();
        }
        match action {
            Action::CycleKind => {
                self.kind = ActivityKind::cycle(self.kind);
                self.selected.reset();
                return vec![self.reload()];
            }
            Action::Reload => return vec![self.reload()],
            _ => {}
        }
        self.load_more_if_near_end().into_iter().collect()
    }

    fn count_title(&self) -> String {
        match self.total {
            Some(total) => format!(
                " Activities: {} of {} loaded ",
                grouped(i64::try_from(self.rows.len()).unwrap_or(i64::MAX)),
                grouped(total)
            ),
            None => " Activities ".to_owned(),
        }
    }

    fn filter_line(&self) -> Line<'static> {
        Line::from(vec![
            Span::styled("kind ", theme::dim()),
            Span::raw(self.kind.map_or("all", ActivityKind::name).to_owned()),
            Span::raw(" "),
        ])
        .right_aligned()
    }
}

/// The table's columns: header, how far each may be cut (`None`: never),
/// and the rank by which they are kept when there is no room for all.
const ACTIVITY_COLUMNS: [(&str, Option<u16>, u8); 6] = [
    ("When", None, 0),
    ("Kind", None, 0),
    ("Contact", Some(12), 0),
    ("Meeting", None, 2),
    ("Identity", None, 1),
    ("External id", Some(8), 3),
];
const CONTACT_COLUMN: usize = 2;
const CONFLICT_COLUMN: usize = 4;

/// `MEETING` as `meeting`, `ROUTING_FORM` as `routing form`.
fn words(name: &str) -> String {
    name.to_lowercase().replace('_', " ")
}

/// The meeting column: when it starts and how it stands, and on wide
/// screens which calendar holds it.
fn meeting_cell(row: &ActivityRow, wide: bool) -> String {
    let Some(meeting) = &row.meeting else {
        return String::new();
    };
    let starts = short_time(&meeting.starts_at);
    if wide {
        format!(
            "{starts} {} · {}",
            words(&meeting.status),
            words(&meeting.calendar_provider)
        )
    } else {
        // Without the year and with a short status: the column is narrow
        // and the contact's name needs the room.
        let starts = starts.get(5..).unwrap_or(&starts).to_owned();
        let status = match meeting.status.as_str() {
            "SCHEDULED" => "sched.".to_owned(),
            "RESCHEDULED" => "resched.".to_owned(),
            other => words(other),
        };
        format!("{starts} {status}")
    }
}

impl Component for ActivityList {
    fn title(&self) -> String {
        "Activities".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        let mut bindings = selection::bindings(MoveWords {
            next: "next activity",
            previous: "previous activity",
            first: "newest activity",
            last: "last loaded activity",
        });
        bindings.extend([
            Binding::new(
                &[Key::Code(KeyCode::Enter)],
                "open the activity's contact",
                Action::Open,
            ),
            Binding::new(
                &[Key::Char('f')],
                "filter by kind (cycles)",
                Action::CycleKind,
            ),
            Binding::new(&[Key::Char('r')], "reload", Action::Reload),
            Binding::new(
                &[
                    Key::Code(KeyCode::Esc),
                    Key::Char('q'),
                    Key::Code(KeyCode::Left),
                ],
                "back to the contact list",
                Action::Back,
            ),
        ]);
        bindings
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            Action::Back => vec![Effect::Close],
            Action::Open => match self.selected_row() {
                Some(row) => match &row.contact {
                    Some(contact) => ContactDetail::opened(contact.id.clone()),
                    None => vec![Effect::Status(Message::info(
                        "That contact was deleted; its activity stays for reporting.",
                    ))],
                },
                None => Vec::new(),
            },
            action => sends(self.update(action)),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let block = Block::bordered()
            .title(Line::styled(self.count_title(), theme::title()))
            .title(self.filter_line());
        let inner = block.inner(area);
        frame.render_widget(block, area);

        if self.rows.is_empty() {
            let text = if let Some(error) = &self.error {
                Line::styled(
                    format!("Could not load activities: {error}"),
                    theme::error(),
                )
            } else if self.loading || self.total.is_none() {
                Line::styled("Loading…", theme::dim())
            } else if self.kind.is_none() {
                Line::styled("No activities recorded yet.", theme::dim())
            } else {
                Line::styled("No activities of this kind.", theme::dim())
            };
            frame.render_widget(Paragraph::new(text), inner);
            return;
        }

        // At 80 columns the times and meetings drop their year and the
        // meeting its calendar; columns are sized to their values, the
        // contact's name cut with `…` when it must be, the others shown
        // whole or left out.
        let wide = inner.width >= 110;
        let cells: Vec<[String; 6]> = self
            .rows
            .iter()
            .map(|row| {
                let when = short_time(&row.occurred_at);
                let when = if wide {
                    when
                } else {
                    when.get(5..).unwrap_or(&when).to_owned()
                };
                [
                    when,
                    words(&row.kind),
                    row.contact_label(),
                    meeting_cell(row, wide),
                    if row.identity_conflict {
                        "conflict".to_owned()
                    } else {
                        String::new()
                    },
                    row.external_id.clone().unwrap_or_default(),
                ]
            })
            .collect();
        // The source's id only where there is room to spare: at 80
        // columns it would take the contact's.
        let shown = if wide {
            ACTIVITY_COLUMNS.len()
        } else {
            ACTIVITY_COLUMNS.len() - 1
        };
        let specs: Vec<ColumnSpec> = ACTIVITY_COLUMNS
            .iter()
            .take(shown)
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
        let rows = self.rows.iter().zip(&cells).map(|(row, texts)| {
            Row::new(planned.iter().map(|&(column, width)| {
                let text = text_fit::ellipsis(
                    texts.get(column).map_or("", String::as_str),
                    usize::from(width),
                );
                match column {
                    CONTACT_COLUMN if row.contact.is_none() => {
                        Cell::from(Span::styled(text, theme::dim()))
                    }
                    CONFLICT_COLUMN => Cell::from(Span::styled(text, theme::warning())),
                    _ => Cell::from(text),
                }
            }))
        });
        let header = Row::new(
            planned
                .iter()
                .map(|&(column, _)| specs.get(column).map_or("", |spec| spec.header)),
        )
        .style(theme::title());
        let widths = planned.iter().map(|&(_, width)| Constraint::Length(width));
        let table = Table::new(rows, widths)
            .header(header)
            .row_highlight_style(theme::selected());
        // A fresh state each frame: ratatui scrolls it to keep the
        // selection visible, and `draw` stays free of side effects.
        let mut state = TableState::default().with_selected(Some(self.selected.index()));
        frame.render_stateful_widget(table, inner, &mut state);

        if self.loading && inner.height > 0 {
            let note = Line::styled(" loading… ", theme::dim()).right_aligned();
            let bottom = Rect {
                y: area.bottom().saturating_sub(1),
                height: 1,
                ..area
            };
            frame.render_widget(Paragraph::new(note), bottom);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(ids: &[&str], has_next_page: bool) -> ActivityPage {
        ActivityPage {
            rows: ids
                .iter()
                .map(|id| ActivityRow {
                    id: (*id).to_owned(),
                    kind: "CHATBOT".to_owned(),
                    occurred_at: String::new(),
                    external_id: None,
                    identity_conflict: false,
                    contact: None,
                    submitted_name: "Nora".to_owned(),
                    meeting: None,
                })
                .collect(),
            total: 40,
            has_next_page,
            end_cursor: Some(format!("after-{}", ids.len())),
        }
    }

    #[test]
    fn pages_append_filters_reload_and_stale_answers_drop() {
        let (mut list, first) = ActivityList::open();
        let Request::Activities {
            generation: first, ..
        } = first
        else {
            panic!("opening asks for activities");
        };
        list.apply_page(first, Ok(page(&["a", "b"], true)));
        assert_eq!(list.rows().len(), 2);
        let more = list.update(&Action::Down);
        assert_eq!(
            more,
            vec![Request::Activities {
                generation: first,
                kind: None,
                after: Some("after-2".to_owned()),
            }],
            "near the end of the loaded rows the next page is asked for"
        );
        assert!(list.update(&Action::Down).is_empty(), "one at a time");

        let filtered = list.update(&Action::CycleKind);
        let [
            Request::Activities {
                generation: second,
                kind: Some(ActivityKind::Meeting),
                after: None,
            },
        ] = filtered.as_slice()
        else {
            panic!("f asks for meetings only: {filtered:?}");
        };
        assert!(
            list.apply_page(first, Ok(page(&["stale"], false)))
                .is_none()
        );
        assert_eq!(list.rows().len(), 2, "the unfiltered page is dropped");
        list.apply_page(*second, Ok(page(&["m"], false)));
        assert_eq!(list.rows().len(), 1);
        assert_eq!(list.selected_row().map(|r| r.id.as_str()), Some("m"));
        assert_eq!(
            list.selected_row().map(ActivityRow::contact_label),
            Some("deleted contact (Nora)".to_owned())
        );
    }
}
