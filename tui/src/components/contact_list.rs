//! The contact list: a table paged from the server as the selection nears
//! the end of what is loaded, a live search box, a source filter and a sort.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};

use super::activity_list::ActivityList;
use super::contact_detail::ContactDetail;
use super::contact_form::ContactForm;
use super::import_screen::ImportScreen;
use super::selection::{self, MoveWords, Selection};
use super::status_line::Message;
use super::{Component, Screen};
use crate::action::Action;
use crate::api::ApiError;
use crate::effect::{Effect, sends};
use crate::keymap::{Binding, Key};
use crate::model::{ContactPage, ContactRow, ListQuery, Source, grouped, short_time};
use crate::request::Request;
use crate::theme;

/// Ask for the next page when the selection is this close to the end of
/// what is loaded, so scrolling rarely waits.
const PREFETCH_ROWS: usize = 10;
const PAGE_STEP: usize = 20;

#[derive(Debug, Default)]
pub struct ContactList {
    query: ListQuery,
    /// The query the rows on screen answer (none before the first answer).
    shown: Option<ListQuery>,
    rows: Vec<ContactRow>,
    total: Option<i64>,
    selected: Selection,
    end_cursor: Option<String>,
    has_next_page: bool,
    /// Bumped for every new query; answers to older ones are dropped, so
    /// fast typing in the search box cannot show a stale result.
    generation: u64,
    /// The next answer of this generation replaces the rows (a new query)
    /// rather than extending them (the next page).
    replacing: bool,
    loading: bool,
    searching: bool,
    /// Enter was pressed while the rows on screen were an older query's:
    /// the first row of the new answer is opened when it comes.
    open_when_loaded: bool,
    error: Option<String>,
}

impl ContactList {
    pub fn query(&self) -> &ListQuery {
        &self.query
    }

    pub fn rows(&self) -> &[ContactRow] {
        &self.rows
    }

    pub fn total(&self) -> Option<i64> {
        self.total
    }

    pub fn is_searching(&self) -> bool {
        self.searching
    }

    pub fn selected_row(&self) -> Option<&ContactRow> {
        self.rows.get(self.selected.index())
    }

    /// Whether the rows on screen answer another query than the one asked
    /// for (a search typed since, another sort): nothing may act on them.
    /// A reload of the same query leaves them valid.
    pub fn is_stale(&self) -> bool {
        self.replacing && self.loading && self.shown.as_ref() != Some(&self.query)
    }

    /// Asks for the first page of the current query; the rows on screen
    /// stay until it answers, so the table does not flicker.
    pub fn reload(&mut self) -> Request {
        self.generation += 1;
        self.replacing = true;
        self.loading = true;
        Request::Contacts {
            generation: self.generation,
            query: self.query.clone(),
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
        Some(Request::Contacts {
            generation: self.generation,
            query: self.query.clone(),
            after: self.end_cursor.clone(),
        })
    }

    /// Takes a page answer: what the app is to do, the answer's error to
    /// show, or the contact to open when Enter waited for this answer.
    pub fn apply_page(
        &mut self,
        generation: u64,
        result: Result<ContactPage, ApiError>,
    ) -> Vec<Effect> {
        if generation != self.generation {
            return Vec::new();
        }
        self.loading = false;
        match result {
            Ok(page) => {
                let new_query = self.replacing;
                if new_query {
                    self.rows = page.rows;
                    self.shown = Some(self.query.clone());
                    self.selected.reset();
                } else {
                    self.rows.extend(page.rows);
                }
                self.total = Some(page.total);
                self.has_next_page = page.has_next_page;
                self.end_cursor = page.end_cursor;
                self.error = None;
                if new_query && std::mem::take(&mut self.open_when_loaded) {
                    return match self.selected_row() {
                        Some(row) => ContactDetail::opened(row.id.clone()),
                        None => vec![Effect::Status(Message::info("No contacts match."))],
                    };
                }
                Vec::new()
            }
            Err(err) => {
                self.open_when_loaded = false;
                self.error = Some(err.to_string());
                vec![Effect::Error(err)]
            }
        }
    }

    /// Handles the actions that stay inside the list.
    pub fn update(&mut self, action: &Action) -> Vec<Request> {
        if self.selected.apply(action, self.rows.len(), PAGE_STEP) {
            // A move is the user choosing among the rows on screen.
            self.open_when_loaded = false;
            return self.load_more_if_near_end().into_iter().collect();
        }
        match action {
            Action::StartSearch => self.searching = true,
            Action::EndSearch => self.searching = false,
            Action::ClearSearch => {
                self.searching = false;
                if !self.query.search.is_empty() {
                    self.query.search.clear();
                    return vec![self.reload()];
                }
            }
            Action::Insert(c) => {
                self.query.search.push(*c);
                return vec![self.reload()];
            }
            Action::DeleteBackward if !self.query.search.is_empty() => {
                self.query.search.pop();
                return vec![self.reload()];
            }
            Action::ClearField if !self.query.search.is_empty() => {
                self.query.search.clear();
                return vec![self.reload()];
            }
            Action::CycleSource => {
                self.query.source = next_source(self.query.source);
                return vec![self.reload()];
            }
            Action::CycleSort => {
                self.query.sort = self.query.sort.next();
                return vec![self.reload()];
            }
            Action::FlipSortDirection => {
                self.query.ascending = !self.query.ascending;
                return vec![self.reload()];
            }
            Action::Reload => return vec![self.reload()],
            _ => {}
        }
        self.load_more_if_near_end().into_iter().collect()
    }

    fn header_line(&self) -> Line<'static> {
        let arrow = if self.query.ascending { "↑" } else { "↓" };
        let source = self.query.source.map_or("all", Source::name);
        Line::from(vec![
            Span::styled("sort ", theme::dim()),
            Span::raw(format!("{} {arrow}", self.query.sort.label())),
            Span::styled("  source ", theme::dim()),
            Span::raw(source.to_owned()),
            Span::raw(" "),
        ])
        .right_aligned()
    }

    fn count_title(&self) -> String {
        if self.is_stale() && !self.query.search.is_empty() {
            return " Contacts: searching… ".to_owned();
        }
        match self.total {
            Some(total) => format!(
                " Contacts: {} of {} loaded ",
                grouped(i64::try_from(self.rows.len()).unwrap_or(i64::MAX)),
                grouped(total)
            ),
            None => " Contacts ".to_owned(),
        }
    }
}

fn next_source(current: Option<Source>) -> Option<Source> {
    match current {
        None => Some(Source::ALL[0]),
        Some(source) => {
            let index = Source::ALL.iter().position(|s| *s == source).unwrap_or(0);
            Source::ALL.get(index + 1).copied()
        }
    }
}

impl Component for ContactList {
    fn title(&self) -> String {
        if self.searching {
            "Search".to_owned()
        } else {
            "Contact list".to_owned()
        }
    }

    fn bindings(&self) -> Vec<Binding> {
        if self.searching {
            return vec![
                Binding::new(
                    &[Key::Code(KeyCode::Enter), Key::Code(KeyCode::Down)],
                    "keep the search, back to the table",
                    Action::EndSearch,
                ),
                Binding::new(
                    &[Key::Code(KeyCode::Esc)],
                    "clear the search",
                    Action::ClearSearch,
                ),
                Binding::new(
                    &[Key::Code(KeyCode::Backspace)],
                    "delete a character",
                    Action::DeleteBackward,
                ),
                Binding::new(&[Key::Ctrl('u')], "clear the box", Action::ClearField),
                Binding::typing("search name, email, phone, company as you type"),
            ];
        }
        let mut bindings = selection::bindings(MoveWords {
            next: "next contact",
            previous: "previous contact",
            first: "first contact",
            last: "last loaded contact",
        });
        bindings.extend([
            Binding::new(
                &[Key::Code(KeyCode::Enter)],
                "open the contact",
                Action::Open,
            ),
            Binding::new(&[Key::Char('/')], "search", Action::StartSearch),
            Binding::new(
                &[Key::Code(KeyCode::Esc)],
                "clear the search",
                Action::ClearSearch,
            ),
            Binding::new(
                &[Key::Char('f')],
                "filter by source (cycles)",
                Action::CycleSource,
            ),
            Binding::new(
                &[Key::Char('s')],
                "sort by name/created/updated",
                Action::CycleSort,
            ),
            Binding::new(
                &[Key::Char('S')],
                "flip the sort direction",
                Action::FlipSortDirection,
            ),
            Binding::new(&[Key::Char('n')], "new contact", Action::New),
            Binding::new(
                &[Key::Char('a')],
                "activities (all contacts)",
                Action::OpenActivities,
            ),
            Binding::new(
                &[Key::Char('i')],
                "import contacts from a CSV file",
                Action::OpenImport,
            ),
            Binding::new(&[Key::Char('r')], "reload", Action::Reload),
            Binding::new(&[Key::Char('q')], "quit", Action::Quit),
        ]);
        bindings
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            // The rows on screen may be an older search's: Enter then opens
            // the first row of the answer on its way, never a stale one.
            Action::Open if self.is_stale() => {
                self.open_when_loaded = true;
                Vec::new()
            }
            Action::Open => match self.selected_row() {
                Some(row) => ContactDetail::opened(row.id.clone()),
                None => Vec::new(),
            },
            Action::New => vec![Effect::open(Screen::Form(ContactForm::create()))],
            Action::OpenActivities => {
                let (activities, request) = ActivityList::open();
                vec![
                    Effect::open(Screen::Activities(activities)),
                    Effect::Send(request),
                ]
            }
            Action::OpenImport => vec![Effect::open(Screen::Import(ImportScreen::new()))],
            action => sends(self.update(action)),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let show_search = self.searching || !self.query.search.is_empty();
        let [search_area, table_area] = Layout::vertical([
            Constraint::Length(u16::from(show_search)),
            Constraint::Fill(1),
        ])
        .areas(area);

        if show_search {
            let cursor = if self.searching { "▏" } else { "" };
            let line = Line::from(vec![
                Span::styled(" Search: ", theme::label()),
                Span::raw(format!("{}{cursor}", self.query.search)),
            ]);
            frame.render_widget(Paragraph::new(line), search_area);
        }

        let block = Block::bordered()
            .title(Line::styled(self.count_title(), theme::title()))
            .title(self.header_line());
        let inner = block.inner(table_area);
        frame.render_widget(block, table_area);

        if self.rows.is_empty() {
            let text = if let Some(error) = &self.error {
                Line::styled(format!("Could not load contacts: {error}"), theme::error())
            } else if self.loading || self.total.is_none() {
                Line::styled("Loading…", theme::dim())
            } else if self.query.search.is_empty() && self.query.source.is_none() {
                Line::styled(
                    "No contacts yet. Press n to create one, or i to import a CSV file.",
                    theme::dim(),
                )
            } else {
                Line::styled("No contacts match.", theme::dim())
            };
            frame.render_widget(Paragraph::new(text), inner);
            return;
        }

        // Narrow terminals get the date without the time, which keeps the
        // other columns readable at 80 columns.
        let wide = inner.width >= 110;
        let updated_width = if wide { 16 } else { 10 };
        let rows = self.rows.iter().map(|row| {
            let updated = short_time(&row.updated_at);
            let updated = if wide {
                updated
            } else {
                updated.chars().take(10).collect()
            };
            Row::new(vec![
                Cell::from(row.name.clone()),
                Cell::from(row.email.clone().unwrap_or_default()),
                Cell::from(row.mobile_phone.clone().unwrap_or_default()),
                Cell::from(row.company.clone().unwrap_or_default()),
                Cell::from(row.owner.clone().unwrap_or_default()),
                Cell::from(updated),
            ])
        });
        let header = Row::new(["Name", "Email", "Phone", "Company", "Owner", "Updated"])
            .style(theme::title());
        let table = Table::new(
            rows,
            [
                Constraint::Fill(3),
                Constraint::Fill(3),
                Constraint::Length(12),
                Constraint::Fill(2),
                Constraint::Fill(1),
                Constraint::Length(updated_width),
            ],
        )
        .header(header)
        .row_highlight_style(theme::selected());
        // A fresh state each frame: ratatui scrolls it to keep the
        // selection visible, and `draw` stays free of side effects.
        let mut state = TableState::default().with_selected(Some(self.selected.index()));
        frame.render_stateful_widget(table, inner, &mut state);

        if self.loading && !self.rows.is_empty() && inner.height > 0 {
            let note = Line::styled(" loading… ", theme::dim()).right_aligned();
            let bottom = Rect {
                y: table_area.bottom().saturating_sub(1),
                height: 1,
                ..table_area
            };
            frame.render_widget(Paragraph::new(note), bottom);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(names: &[&str], has_next_page: bool) -> ContactPage {
        ContactPage {
            rows: names
                .iter()
                .map(|name| ContactRow {
                    id: format!("id-{name}"),
                    name: (*name).to_owned(),
                    email: None,
                    mobile_phone: None,
                    company: None,
                    owner: None,
                    updated_at: String::new(),
                })
                .collect(),
            total: 100,
            has_next_page,
            end_cursor: Some(format!("after-{}", names.len())),
        }
    }

    #[test]
    fn stale_answers_are_dropped_and_pages_append() {
        let mut list = ContactList::default();
        let Request::Contacts {
            generation: first, ..
        } = list.reload()
        else {
            panic!("reload asks for contacts");
        };
        list.update(&Action::Insert('a'));
        assert!(
            list.apply_page(first, Ok(page(&["stale"], false)))
                .is_empty()
        );
        assert!(
            list.rows().is_empty(),
            "an answer to an old query is dropped"
        );

        let current = list.generation;
        list.apply_page(current, Ok(page(&["a", "b", "c"], true)));
        assert_eq!(list.rows().len(), 3);
        let requests = list.update(&Action::Down);
        assert_eq!(
            requests,
            vec![Request::Contacts {
                generation: current,
                query: list.query().clone(),
                after: Some("after-3".into()),
            }],
            "near the end of the loaded rows the next page is asked for"
        );
        assert!(
            list.update(&Action::Down).is_empty(),
            "one page request at a time"
        );
        list.apply_page(current, Ok(page(&["d"], false)));
        assert_eq!(list.rows().len(), 4);
        assert_eq!(list.selected_row().map(|r| r.name.as_str()), Some("c"));
    }

    /// The id of the contact an effect list opens, if it opens one.
    fn opens(effects: &[Effect]) -> Option<String> {
        effects.iter().find_map(|effect| match effect {
            Effect::Open(screen) => match &**screen {
                Screen::Detail(detail) => Some(detail.id().to_owned()),
                _ => None,
            },
            _ => None,
        })
    }

    #[test]
    fn enter_on_an_older_search_s_rows_opens_the_first_row_of_the_new_answer() {
        let mut list = ContactList::default();
        list.reload();
        let first = list.generation;
        list.apply_page(first, Ok(page(&["act10", "bo"], false)));
        assert_eq!(
            opens(&list.handle(&Action::Open)).as_deref(),
            Some("id-act10")
        );

        // Typed "max", then Enter before the answer: the rows on screen
        // are the old ones, so nothing opens yet and the title says why.
        for c in "max".chars() {
            list.handle(&Action::Insert(c));
        }
        assert!(list.is_stale());
        assert_eq!(list.count_title(), " Contacts: searching… ");
        assert_eq!(opens(&list.handle(&Action::Open)), None);

        // An answer to a superseded query opens nothing either.
        assert!(
            list.apply_page(first, Ok(page(&["stale"], false)))
                .is_empty()
        );
        let current = list.generation;
        let effects = list.apply_page(current, Ok(page(&["maximilian", "maxine"], false)));
        assert_eq!(opens(&effects).as_deref(), Some("id-maximilian"));
        assert!(!list.is_stale());

        // Once opened, the next answer opens nothing by itself.
        list.update(&Action::Insert('i'));
        let current = list.generation;
        assert!(opens(&list.apply_page(current, Ok(page(&["maximilian"], false)))).is_none());
    }

    #[test]
    fn a_reload_of_the_same_query_leaves_the_rows_on_screen_valid() {
        let mut list = ContactList::default();
        list.reload();
        list.apply_page(list.generation, Ok(page(&["a", "b"], false)));
        list.update(&Action::Down);
        list.update(&Action::Reload);
        assert!(!list.is_stale());
        assert_eq!(opens(&list.handle(&Action::Open)).as_deref(), Some("id-b"));
    }

    #[test]
    fn the_title_counts_in_thousands() {
        let mut list = ContactList::default();
        list.reload();
        let mut answer = page(&["a", "b"], true);
        answer.total = 1_100_355;
        list.apply_page(list.generation, Ok(answer));
        assert_eq!(list.count_title(), " Contacts: 2 of 1,100,355 loaded ");
    }

    #[test]
    fn moving_the_selection_while_a_search_loads_cancels_the_waiting_enter() {
        let mut list = ContactList::default();
        list.reload();
        list.apply_page(list.generation, Ok(page(&["a", "b"], false)));
        list.update(&Action::Insert('z'));
        list.handle(&Action::Open);
        list.update(&Action::Down);
        let effects = list.apply_page(list.generation, Ok(page(&["zed"], false)));
        assert_eq!(opens(&effects), None);
    }

    #[test]
    fn a_search_that_finds_nothing_says_so_when_enter_waited_for_it() {
        let mut list = ContactList::default();
        list.reload();
        list.apply_page(list.generation, Ok(page(&["a"], false)));
        list.update(&Action::Insert('q'));
        list.handle(&Action::Open);
        let effects = list.apply_page(list.generation, Ok(page(&[], false)));
        assert!(opens(&effects).is_none());
        assert!(matches!(effects.as_slice(), [Effect::Status(_)]));
    }
}
