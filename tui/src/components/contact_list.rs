//! The contact list: a table paged from the server as the selection nears
//! the end of what is loaded, a live search box, a source filter and a sort.
//!
//! A search over a million contacts takes the server a while, so typing
//! is debounced: each key bumps the generation and asks for a pause
//! (`Request::SearchPause`); only the pause of the latest generation sends
//! the search, and answers of older generations are dropped. Enter (or ↓)
//! in the box sends it at once: the user has finished typing. Until the
//! answer of the query on screen arrives the rows are stale, and nothing
//! acts on them (`actionable_row`).

use std::time::Duration;

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};

use super::activity_list::ActivityList;
use super::contact_detail::ContactDetail;
use super::contact_form::ContactForm;
use super::import_jobs::ImportJobs;
use super::import_screen::ImportScreen;
use super::integrations_screen::IntegrationsScreen;
use super::policy_matrix::PolicyMatrixScreen;
use super::selection::{self, MoveWords, Selection};
use super::status_line::Message;
use super::table_columns::{self, ColumnSpec};
use super::text_fit;
use super::text_input::{self, Edit, TextInput};
use super::users_screen::UsersScreen;
use super::{Component, Screen};
use crate::action::Action;
use crate::api::ApiError;
use crate::effect::{Effect, sends};
use crate::keymap::{Binding, Key};
use crate::model::{
    ContactPage, ContactRow, FieldRights, ListQuery, PolicyField, Role, SortField, Source, grouped,
    short_time,
};
use crate::request::Request;
use crate::theme;

/// Ask for the next page when the selection is this close to the end of
/// what is loaded, so scrolling rarely waits.
const PREFETCH_ROWS: usize = 10;
const PAGE_STEP: usize = 20;
/// The table's columns, in order.
const COLUMNS: usize = 6;
const COLUMN_HEADERS: [&str; COLUMNS] = ["Name", "Email", "Phone", "Company", "Owner", "Updated"];
/// Per column: how far it may be cut (`None`: never; shown whole or
/// dropped) and its rank when there is no room for all (highest dropped
/// first; the name, 0, always stays). A name or company still reads cut
/// to its first 20 or 10 columns; an email or phone cut is another one.
const COLUMN_FITS: [(Option<u16>, u8); COLUMNS] = [
    (Some(20), 0),
    (None, 1),
    (None, 2),
    (Some(10), 3),
    (None, 5),
    (None, 4),
];

const EMAIL_COLUMN: usize = 1;
const PHONE_COLUMN: usize = 2;
const COMPANY_COLUMN: usize = 3;
const OWNER_COLUMN: usize = 4;

/// What each column shows of a row.
fn row_cells(row: &ContactRow) -> [String; COLUMNS] {
    [
        row.name.clone(),
        row.email.clone().unwrap_or_default(),
        row.mobile_phone.clone().unwrap_or_default(),
        row.company.clone().unwrap_or_default(),
        row.owner.clone().unwrap_or_default(),
        short_time(&row.updated_at),
    ]
}

/// How long typing must pause before the search is sent: long enough to
/// cover the gap between two keys of a typist, short enough to feel live.
pub const SEARCH_DEBOUNCE: Duration = Duration::from_millis(200);

#[derive(Debug, Default)]
pub struct ContactList {
    /// `None` until `me` answers: then every key is offered.
    role: Option<Role>,
    query: ListQuery,
    /// The search box; `query.search` follows its value.
    search: TextInput,
    /// The query the rows on screen answer (none before the first answer).
    shown: Option<ListQuery>,
    rows: Vec<ContactRow>,
    total: Option<i64>,
    /// The total is a floor: the server stopped counting there.
    total_capped: bool,
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
    /// A typed search waits for typing to pause before it is sent.
    debouncing: bool,
    searching: bool,
    /// Enter was pressed while the rows on screen were an older query's:
    /// the first row of the new answer is opened when it comes.
    open_when_loaded: bool,
    error: Option<String>,
}

impl ContactList {
    /// The signed-in user's role: keys it cannot use are not offered.
    pub fn set_role(&mut self, role: Role) {
        self.role = Some(role);
    }

    /// Asks for the columns `fields` allows; returns the request for the
    /// first page when that changes the query, or when none was asked yet.
    pub fn set_fields(&mut self, fields: FieldRights) -> Option<Request> {
        let first = self.shown.is_none() && !self.loading;
        if self.query.fields == fields && !first {
            return None;
        }
        self.query.fields = fields;
        // The server refuses to order by names to whom may not read them.
        if self.query.sort == SortField::Name && !self.may_sort_by_name() {
            self.query.sort = SortField::CreatedAt;
            self.query.ascending = true;
        }
        Some(self.reload())
    }

    /// The name a contact is ordered by is its first and last name
    /// together: ordering by it takes reading both.
    fn may_sort_by_name(&self) -> bool {
        self.query.fields.may_read(PolicyField::FirstName)
            && self.query.fields.may_read(PolicyField::LastName)
    }

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
        self.shown.as_ref() != Some(&self.query)
    }

    /// The selected row, if actions may take it: never a row of a search
    /// the user has since changed. Every key that acts on a row asks here.
    pub fn actionable_row(&self) -> Option<&ContactRow> {
        if self.is_stale() {
            return None;
        }
        self.selected_row()
    }

    /// Whether a typed search still waits for typing to pause.
    pub fn is_debouncing(&self) -> bool {
        self.debouncing
    }

    /// Asks for the first page of the current query; the rows on screen
    /// stay until it answers, so the table does not flicker.
    pub fn reload(&mut self) -> Request {
        self.generation += 1;
        self.debouncing = false;
        self.replacing = true;
        self.loading = true;
        self.first_page()
    }

    /// After an outage: the first page again only if the list failed or
    /// never loaded; rows it has are still right, and the user's place in
    /// them is kept.
    pub fn reload_after_outage(&mut self) -> Option<Request> {
        (self.error.is_some() || self.shown.is_none() || self.is_stale()).then(|| self.reload())
    }

    fn first_page(&self) -> Request {
        Request::Contacts {
            generation: self.generation,
            query: self.query.clone(),
            after: None,
        }
    }

    /// The search box changed: older answers are now stale, and the
    /// search waits for typing to pause.
    fn search_changed(&mut self) -> Request {
        self.generation += 1;
        self.debouncing = true;
        self.replacing = true;
        self.loading = true;
        Request::SearchPause {
            generation: self.generation,
            after: SEARCH_DEBOUNCE,
        }
    }

    /// Typing paused: sends the search if it is still the latest one and
    /// was not sent already.
    pub fn search_paused(&mut self, generation: u64) -> Vec<Request> {
        if generation != self.generation || !self.debouncing {
            return Vec::new();
        }
        self.debouncing = false;
        vec![self.first_page()]
    }

    /// Sends a search still waiting for a pause, now.
    fn flush_search(&mut self) -> Vec<Request> {
        self.search_paused(self.generation)
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
        self.debouncing = false;
        match result {
            Ok(page) => {
                let new_query = self.replacing;
                if new_query {
                    // A reload of the query on screen keeps the selected
                    // contact selected, wherever it now is.
                    let again = self.shown.as_ref() == Some(&self.query);
                    let selected_id = self.selected_row().map(|row| row.id.clone());
                    self.rows = page.rows;
                    self.shown = Some(self.query.clone());
                    let kept = selected_id
                        .filter(|_| again)
                        .and_then(|id| self.rows.iter().position(|row| row.id == id));
                    match kept {
                        Some(index) => self.selected.select(index),
                        None => self.selected.reset(),
                    }
                } else {
                    self.rows.extend(page.rows);
                }
                self.total = Some(page.total);
                self.total_capped = page.total_capped;
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
            Action::EndSearch => {
                self.searching = false;
                return self.flush_search();
            }
            Action::ClearSearch => {
                self.searching = false;
                if !self.query.search.is_empty() {
                    self.search = TextInput::default();
                    self.query.search.clear();
                    return vec![self.reload()];
                }
            }
            Action::CycleSource => {
                self.query.source = next_source(self.query.source);
                return vec![self.reload()];
            }
            Action::CycleSort => {
                self.query.sort = self.query.sort.next();
                if self.query.sort == SortField::Name && !self.may_sort_by_name() {
                    self.query.sort = self.query.sort.next();
                }
                return vec![self.reload()];
            }
            Action::FlipSortDirection => {
                self.query.ascending = !self.query.ascending;
                return vec![self.reload()];
            }
            Action::Reload => return vec![self.reload()],
            action => match self.search.apply(action) {
                Edit::Changed => {
                    self.query.search = self.search.value().to_owned();
                    return vec![self.search_changed()];
                }
                Edit::Moved => return Vec::new(),
                Edit::NotMine => {}
            },
        }
        self.load_more_if_near_end().into_iter().collect()
    }

    /// The columns shown, by index into `COLUMN_HEADERS`: none of a field
    /// the user may not read, rather than a column of errors or blanks.
    fn shown_columns(&self) -> Vec<usize> {
        let reads = |field| self.query.fields.may_read(field);
        (0..COLUMNS)
            .filter(|&column| match column {
                EMAIL_COLUMN => reads(PolicyField::Email),
                PHONE_COLUMN => reads(PolicyField::MobilePhone),
                COMPANY_COLUMN => reads(PolicyField::Company),
                OWNER_COLUMN => reads(PolicyField::Owner),
                _ => true,
            })
            .collect()
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
                " Contacts: {} of {}{} loaded ",
                grouped(i64::try_from(self.rows.len()).unwrap_or(i64::MAX)),
                grouped(total),
                if self.total_capped { "+" } else { "" }
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
            ]
            .into_iter()
            .chain(text_input::bindings("clear the box"))
            .chain([Binding::typing(
                "search name, email, phone, company as you type",
            )])
            .collect();
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
                &[Key::Code(KeyCode::Esc), Key::Char('q')],
                if self.query.search.is_empty() {
                    "quit"
                } else {
                    "clear the search (again: quit)"
                },
                Action::Back,
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
            Binding::new(
                &[Key::Char('I')],
                "import jobs: reopen a running or finished one",
                Action::OpenImportJobs,
            ),
            Binding::new(
                &[Key::Char('u')],
                "users, teams and API tokens (admin)",
                Action::OpenUsers,
            ),
            Binding::new(
                &[Key::Char('w')],
                "integrations and their deliveries (admin)",
                Action::OpenIntegrations,
            ),
            Binding::new(
                &[Key::Char('p')],
                "field policies: who may read or write what (admin)",
                Action::OpenPolicies,
            ),
            Binding::new(&[Key::Char('r')], "reload", Action::Reload),
        ]);
        bindings
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            // The rows on screen may be an older search's: Enter then opens
            // the first row of the answer on its way, never a stale one.
            Action::Open if self.is_stale() => {
                self.open_when_loaded = true;
                let mut requests = self.flush_search();
                // An answer that failed left old rows and nothing on its
                // way: ask again rather than wait for nothing.
                if requests.is_empty() && !self.loading {
                    requests.push(self.reload());
                }
                sends(requests)
            }
            Action::Open => match self.actionable_row() {
                Some(row) => ContactDetail::opened(row.id.clone()),
                None => Vec::new(),
            },
            // Esc and q mean the same everywhere: one step back, which
            // from the list is a search to clear, then the way out.
            Action::Back if !self.query.search.is_empty() => {
                sends(self.update(&Action::ClearSearch))
            }
            Action::Back => vec![Effect::Quit],
            Action::New => vec![Effect::open(Screen::Form(Box::new(ContactForm::create(
                self.query.fields,
            ))))],
            Action::OpenActivities => {
                let (activities, request) = ActivityList::open();
                vec![
                    Effect::open(Screen::Activities(activities)),
                    Effect::Send(request),
                ]
            }
            Action::OpenImport => vec![Effect::open(Screen::Import(ImportScreen::new()))],
            Action::OpenUsers => UsersScreen::opened(),
            Action::OpenIntegrations => IntegrationsScreen::opened(),
            Action::OpenPolicies => PolicyMatrixScreen::opened(),
            Action::OpenImportJobs => {
                let (jobs, request) = ImportJobs::open();
                vec![Effect::open(Screen::Jobs(jobs)), Effect::Send(request)]
            }
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
            let label = " Search: ";
            let [label_area, box_area] = Layout::horizontal([
                Constraint::Length(u16::try_from(label.len()).unwrap_or(0)),
                Constraint::Fill(1),
            ])
            .areas(search_area);
            frame.render_widget(
                Paragraph::new(Span::styled(label, theme::label())),
                label_area,
            );
            self.search
                .draw(frame, box_area, self.searching, Default::default());
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
                let may_write = self.role.as_ref().is_none_or(Role::may_write);
                Line::styled(
                    if may_write {
                        "No contacts yet. Press n to create one, or i to import a CSV file."
                    } else {
                        "No contacts you may see yet."
                    },
                    theme::dim(),
                )
            } else {
                Line::styled("No contacts match.", theme::dim())
            };
            frame.render_widget(Paragraph::new(text), inner);
            return;
        }

        let shown_columns = self.shown_columns();
        let cells: Vec<[String; COLUMNS]> = self.rows.iter().map(row_cells).collect();
        let specs: Vec<ColumnSpec> = shown_columns
            .iter()
            .map(|&column| {
                let (shrink_to, drop_rank) = COLUMN_FITS[column];
                ColumnSpec::new(
                    COLUMN_HEADERS[column],
                    cells.iter().map(|row| row[column].as_str()),
                    shrink_to,
                    drop_rank,
                )
            })
            .collect();
        let planned = table_columns::plan(&specs, inner.width, 1);
        let header = Row::new(
            planned
                .iter()
                .map(|&(spec, _)| specs.get(spec).map_or("", |spec| spec.header)),
        )
        .style(theme::title());
        let rows = cells.iter().map(|row| {
            Row::new(planned.iter().map(|&(spec, width)| {
                let text = shown_columns
                    .get(spec)
                    .and_then(|&column| row.get(column))
                    .map_or("", String::as_str);
                // Whole-only columns got their widest value's width; only
                // cuttable ones can meet a value longer than their room.
                Cell::from(text_fit::ellipsis(text, usize::from(width)))
            }))
        });
        let widths = planned.iter().map(|&(_, width)| Constraint::Length(width));
        let table = Table::new(rows, widths)
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
            total_capped: false,
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
    fn a_capped_count_reads_as_a_floor() {
        let mut list = ContactList::default();
        list.reload();
        let mut answer = page(&["a", "b"], true);
        answer.total = 1_000;
        answer.total_capped = true;
        list.apply_page(list.generation, Ok(answer));
        assert_eq!(list.count_title(), " Contacts: 2 of 1,000+ loaded ");
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
    fn typing_sends_one_search_once_it_pauses_and_enter_sends_it_at_once() {
        let mut list = ContactList::default();
        list.reload();
        list.apply_page(list.generation, Ok(page(&["a", "b"], false)));
        list.update(&Action::StartSearch);
        let pauses: Vec<Request> = "max"
            .chars()
            .flat_map(|c| list.update(&Action::Insert(c)))
            .collect();
        assert_eq!(pauses.len(), 3);
        assert!(
            pauses.iter().all(|request| matches!(
                request,
                Request::SearchPause { after, .. } if *after == SEARCH_DEBOUNCE
            )),
            "typing only waits: {pauses:?}"
        );
        assert!(list.is_debouncing());
        assert!(list.actionable_row().is_none(), "old rows are not acted on");

        // The pauses of the first two keys come back and are outrun.
        let generations: Vec<u64> = pauses
            .iter()
            .filter_map(|request| match request {
                Request::SearchPause { generation, .. } => Some(*generation),
                _ => None,
            })
            .collect();
        assert!(list.search_paused(generations[0]).is_empty());
        assert!(list.search_paused(generations[1]).is_empty());
        let sent = list.search_paused(generations[2]);
        assert!(
            matches!(sent.as_slice(), [Request::Contacts { query, after: None, .. }] if query.search == "max"),
            "{sent:?}"
        );
        assert!(list.search_paused(generations[2]).is_empty(), "sent once");

        // Enter in the box does not wait for the pause.
        list.update(&Action::Insert('i'));
        let sent = list.update(&Action::EndSearch);
        assert!(
            matches!(sent.as_slice(), [Request::Contacts { query, .. }] if query.search == "maxi"),
            "{sent:?}"
        );
        assert!(
            list.search_paused(list.generation).is_empty(),
            "already sent"
        );
    }

    #[test]
    fn an_answer_of_a_superseded_search_is_dropped_even_after_it_was_sent() {
        let mut list = ContactList::default();
        list.reload();
        list.apply_page(list.generation, Ok(page(&["a"], false)));
        list.update(&Action::Insert('m'));
        list.update(&Action::EndSearch);
        let sent_for_m = list.generation;
        list.update(&Action::Insert('a'));
        assert!(
            list.apply_page(sent_for_m, Ok(page(&["mia"], false)))
                .is_empty()
        );
        assert_eq!(list.rows()[0].name, "a", "the answer for `m` was dropped");
        assert!(list.is_stale());
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
