//! The users screen (ADMIN): every user by name, paged, with a search
//! box and filters by role, activity and team; from here a user is
//! created, edited (role, teams), deactivated or reactivated, and their
//! tokens listed. Teams are listed and created on the teams screen (`T`).

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::confirm_popup::ConfirmPopup;
use super::paged_rows::{self, PagedRows};
use super::selection::{self, MoveWords};
use super::status_line::Message;
use super::table_columns::{self, Column};
use super::teams_screen::TeamsScreen;
use super::text_input::{self, Edit, TextInput};
use super::tokens_screen::TokensScreen;
use super::user_form::UserForm;
use super::{Component, Popup, Screen};
use crate::action::Action;
use crate::effect::{Effect, sends};
use crate::keymap::{Binding, Key};
use crate::model::{Page, Role, Team, User, UserEdit, UserQuery};
use crate::request::Request;
use crate::theme;

const COLUMNS: [Column; 4] = [
    Column::cut("Name", 16, 0),
    Column::whole("Role", 1),
    Column::whole("Status", 2),
    Column::cut("Teams", 12, 3),
];

#[derive(Debug)]
pub struct UsersScreen {
    query: UserQuery,
    search: TextInput,
    searching: bool,
    users: PagedRows<User>,
    /// Every team, for the team filter; asked when the screen opens and
    /// again after a team is created.
    teams: Vec<Team>,
    teams_generation: u64,
}

impl UsersScreen {
    /// An empty screen; returns the requests that fill it.
    pub fn open() -> (UsersScreen, Vec<Request>) {
        let mut screen = UsersScreen {
            query: UserQuery::default(),
            search: TextInput::default(),
            searching: false,
            users: PagedRows::default(),
            teams: Vec::new(),
            teams_generation: 0,
        };
        let requests = vec![screen.reload(), screen.reload_teams()];
        (screen, requests)
    }

    /// Opening it from the contact list.
    pub fn opened() -> Vec<Effect> {
        let (screen, requests) = UsersScreen::open();
        let mut effects = vec![Effect::open(Screen::Users(screen))];
        effects.extend(sends(requests));
        effects
    }

    pub fn users(&self) -> &[User] {
        self.users.rows()
    }

    pub fn selected_user(&self) -> Option<&User> {
        self.users.selected()
    }

    pub fn query(&self) -> &UserQuery {
        &self.query
    }

    pub fn reload(&mut self) -> Request {
        Request::Users {
            generation: self.users.restart(),
            query: self.query.clone(),
            after: None,
        }
    }

    fn reload_teams(&mut self) -> Request {
        self.teams_generation = paged_rows::next_generation();
        self.teams.clear();
        Request::Teams {
            generation: self.teams_generation,
            after: None,
        }
    }

    /// The query changed: the first page of the new one, from its top.
    fn requery(&mut self) -> Vec<Request> {
        self.users.select_first();
        vec![self.reload()]
    }

    fn next_page(&mut self) -> Vec<Request> {
        self.users
            .next_page()
            .map(|(generation, after)| Request::Users {
                generation,
                query: self.query.clone(),
                after,
            })
            .into_iter()
            .collect()
    }

    /// Takes the answers that belong to it.
    pub fn on_answer(&mut self, answer: &Action) -> Vec<Effect> {
        match answer {
            Action::UsersLoaded { generation, result } => {
                match self.users.apply(*generation, result.clone()) {
                    Some(err) => vec![Effect::Error(err)],
                    None => Vec::new(),
                }
            }
            Action::TeamsLoaded { generation, result } if *generation == self.teams_generation => {
                self.take_teams(result.clone())
            }
            // A team created on the teams screen joins the filter's choices.
            Action::TeamCreated { result: Ok(_), .. } => sends([self.reload_teams()]),
            Action::UserSaved { edit, result } => self.on_saved(edit, result),
            _ => Vec::new(),
        }
    }

    fn take_teams(&mut self, result: Result<Page<Team>, crate::api::ApiError>) -> Vec<Effect> {
        // The filter can do without teams; a failure to list them is not
        // worth a message over the users.
        let Ok(page) = result else {
            return Vec::new();
        };
        self.teams.extend(page.rows);
        if page.has_next_page {
            return sends([Request::Teams {
                generation: self.teams_generation,
                after: page.end_cursor,
            }]);
        }
        Vec::new()
    }

    /// Any save changes the rows; a deactivation or reactivation asked
    /// here is also told here (the form tells its own).
    fn on_saved(
        &mut self,
        edit: &UserEdit,
        result: &Result<Box<crate::model::SavedUser>, crate::api::ApiError>,
    ) -> Vec<Effect> {
        let activity = match edit {
            UserEdit::Update {
                name,
                active: Some(active),
                rename: None,
                role: None,
                team_ids: None,
                ..
            } => Some((name, *active)),
            _ => None,
        };
        match (result, activity) {
            (Ok(_), Some((name, true))) => vec![
                Effect::Status(Message::success(format!(
                    "Reactivated {name}: their tokens work again."
                ))),
                Effect::Send(self.reload()),
            ],
            (Ok(_), Some((name, false))) => vec![
                Effect::Status(Message::success(format!(
                    "Deactivated {name}: their tokens are refused from now on."
                ))),
                Effect::Send(self.reload()),
            ],
            (Ok(_), None) => vec![Effect::Send(self.reload())],
            (Err(err), Some(_)) => vec![Effect::Error(err.clone())],
            (Err(_), None) => Vec::new(),
        }
    }

    /// `d`: deactivate an active user, reactivate a deactivated one; both
    /// asked first.
    fn ask_toggle_active(&self) -> Vec<Effect> {
        let Some(user) = self.users.selected() else {
            return Vec::new();
        };
        let edit = UserEdit::Update {
            id: user.id.clone(),
            name: user.name.clone(),
            rename: None,
            role: None,
            team_ids: None,
            active: Some(!user.active),
        };
        let (title, lines, yes, busy) = if user.active {
            (
                "Deactivate user?",
                vec![
                    format!("Deactivate {}?", user.name),
                    "Their tokens are refused from the next request on, in every process. \
                     Their contacts stay; you can reactivate them later."
                        .to_owned(),
                ],
                "deactivate",
                "Deactivating…",
            )
        } else {
            (
                "Reactivate user?",
                vec![
                    format!("Reactivate {}?", user.name),
                    "Their tokens that are neither revoked nor expired work again.".to_owned(),
                ],
                "reactivate",
                "Reactivating…",
            )
        };
        let popup = ConfirmPopup::new(
            title,
            lines,
            (yes, "keep as is"),
            vec![
                Effect::Status(Message::info(busy)),
                Effect::Send(Request::SaveUser(edit)),
            ],
        );
        vec![Effect::Popup(Popup::Confirm(popup))]
    }

    fn cycle_team(&mut self) -> Vec<Request> {
        let index = self
            .query
            .team
            .as_ref()
            .and_then(|team| self.teams.iter().position(|t| t.id == team.id));
        self.query.team = match index {
            None => self.teams.first().cloned(),
            Some(index) => self.teams.get(index + 1).cloned(),
        };
        self.requery()
    }

    fn update(&mut self, action: &Action) -> Vec<Request> {
        if self.users.move_selection(action) {
            return self.next_page();
        }
        match action {
            Action::StartSearch => self.searching = true,
            Action::EndSearch => self.searching = false,
            Action::ClearSearch => {
                self.searching = false;
                if !self.query.search.is_empty() {
                    self.search = TextInput::default();
                    self.query.search.clear();
                    return self.requery();
                }
            }
            Action::CycleRole => {
                self.query.role = match &self.query.role {
                    None => Role::ASSIGNABLE.first().cloned(),
                    Some(role) => Role::ASSIGNABLE
                        .iter()
                        .position(|r| r == role)
                        .and_then(|index| Role::ASSIGNABLE.get(index + 1))
                        .cloned(),
                };
                return self.requery();
            }
            Action::CycleActive => {
                self.query.active = match self.query.active {
                    None => Some(true),
                    Some(true) => Some(false),
                    Some(false) => None,
                };
                return self.requery();
            }
            Action::CycleTeam => return self.cycle_team(),
            Action::Reload => return vec![self.reload(), self.reload_teams()],
            action => match self.search.apply(action) {
                // Users are few next to contacts: each key asks at once,
                // and answers of older searches are dropped.
                Edit::Changed => {
                    self.query.search = self.search.value().to_owned();
                    return self.requery();
                }
                Edit::Moved | Edit::NotMine => {}
            },
        }
        Vec::new()
    }

    fn filter_line(&self) -> Line<'static> {
        let active = match self.query.active {
            None => "all",
            Some(true) => "active",
            Some(false) => "deactivated",
        };
        Line::from(vec![
            Span::styled("role ", theme::dim()),
            Span::raw(
                self.query
                    .role
                    .as_ref()
                    .map_or("all", Role::name)
                    .to_owned(),
            ),
            Span::styled("  status ", theme::dim()),
            Span::raw(active),
            Span::styled("  team ", theme::dim()),
            Span::raw(
                self.query
                    .team
                    .as_ref()
                    .map_or("all".to_owned(), |team| team.name.clone()),
            ),
            Span::raw(" "),
        ])
        .right_aligned()
    }
}

fn user_cells(user: &User) -> Vec<String> {
    vec![
        user.name.clone(),
        user.role
            .as_ref()
            .map_or("—".to_owned(), |role| role.name().to_owned()),
        if user.active { "active" } else { "deactivated" }.to_owned(),
        user.team_names(),
    ]
}

impl Component for UsersScreen {
    fn title(&self) -> String {
        if self.searching {
            "Search users".to_owned()
        } else {
            "Users".to_owned()
        }
    }

    fn bindings(&self) -> Vec<Binding> {
        if self.searching {
            return [
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
            .chain([Binding::typing("search names as you type")])
            .collect();
        }
        let mut bindings = selection::bindings(MoveWords {
            next: "next user",
            previous: "previous user",
            first: "first user",
            last: "last loaded user",
        });
        bindings.extend([
            Binding::new(
                &[Key::Code(KeyCode::Enter), Key::Char('t')],
                "the user's API tokens: issue, revoke",
                Action::Open,
            ),
            Binding::new(&[Key::Char('/')], "search by name", Action::StartSearch),
            Binding::new(&[Key::Char('n')], "new user", Action::New),
            Binding::new(&[Key::Char('e')], "edit role and teams", Action::Edit),
            Binding::new(
                &[Key::Char('d')],
                "deactivate or reactivate (asks first)",
                Action::AskRevoke,
            ),
            Binding::new(
                &[Key::Char('f')],
                "filter by role (cycles)",
                Action::CycleRole,
            ),
            Binding::new(
                &[Key::Char('a')],
                "active, deactivated or all (cycles)",
                Action::CycleActive,
            ),
            Binding::new(
                &[Key::Char('m')],
                "filter by team (cycles)",
                Action::CycleTeam,
            ),
            Binding::new(&[Key::Char('T')], "teams: list, create", Action::OpenTeams),
            Binding::new(&[Key::Char('r')], "reload", Action::Reload),
            Binding::new(
                &[Key::Code(KeyCode::Esc), Key::Char('q')],
                if self.query.search.is_empty() {
                    "back to the contacts"
                } else {
                    "clear the search (again: back)"
                },
                Action::Back,
            ),
        ]);
        bindings
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            Action::Back if !self.query.search.is_empty() => {
                sends(self.update(&Action::ClearSearch))
            }
            Action::Back => vec![Effect::Close],
            Action::Open => match self.users.selected() {
                Some(user) => TokensScreen::opened(user),
                None => Vec::new(),
            },
            Action::New => UserForm::opened(None),
            Action::Edit => match self.users.selected() {
                Some(user) => UserForm::opened(Some(user)),
                None => Vec::new(),
            },
            Action::AskRevoke => self.ask_toggle_active(),
            Action::OpenTeams => TeamsScreen::opened(),
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
            .title(Line::styled(self.users.title("Users"), theme::title()))
            .title(self.filter_line());
        let inner = block.inner(table_area);
        frame.render_widget(block, table_area);
        if self.users.rows().is_empty() {
            let line = self.users.empty_line("users", "No users match.");
            frame.render_widget(Paragraph::new(line), inner);
            return;
        }
        let cells: Vec<Vec<String>> = self.users.rows().iter().map(user_cells).collect();
        let styles: Vec<_> = self
            .users
            .rows()
            .iter()
            .map(|user| {
                if user.active {
                    Default::default()
                } else {
                    theme::dim()
                }
            })
            .collect();
        table_columns::draw(
            frame,
            inner,
            &COLUMNS,
            &cells,
            &styles,
            Some(self.users.selected_index()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, active: bool) -> User {
        User {
            id: format!("u-{name}"),
            name: name.to_owned(),
            role: Some(Role::Member),
            active,
            teams: Vec::new(),
        }
    }

    fn loaded() -> UsersScreen {
        let (mut screen, requests) = UsersScreen::open();
        let Some(Request::Users { generation, .. }) = requests.first() else {
            panic!("opens with a page of users: {requests:?}");
        };
        screen.on_answer(&Action::UsersLoaded {
            generation: *generation,
            result: Ok(Page {
                rows: vec![user("ann", true), user("bob", false)],
                total: 2,
                has_next_page: false,
                end_cursor: None,
            }),
        });
        screen
    }

    #[test]
    fn deactivating_asks_and_sends_only_the_activity() {
        let mut screen = loaded();
        let effects = screen.handle(&Action::AskRevoke);
        let [Effect::Popup(Popup::Confirm(popup))] = effects.as_slice() else {
            panic!("d asks first: {effects:?}");
        };
        assert_eq!(popup.title_text(), "Deactivate user?");

        screen.handle(&Action::Down);
        let effects = screen.handle(&Action::AskRevoke);
        let [Effect::Popup(Popup::Confirm(popup))] = effects.as_slice() else {
            panic!("d asks first: {effects:?}");
        };
        assert_eq!(popup.title_text(), "Reactivate user?");
    }

    #[test]
    fn filters_start_from_the_first_row() {
        let mut screen = loaded();
        screen.handle(&Action::Down);
        let requests = screen.update(&Action::CycleRole);
        assert!(
            matches!(requests.as_slice(), [Request::Users { query, after: None, .. }] if query.role == Some(Role::Admin)),
            "{requests:?}"
        );
        assert_eq!(screen.users.selected_index(), 0);
        screen.update(&Action::CycleActive);
        screen.update(&Action::CycleActive);
        assert_eq!(screen.query().active, Some(false));
    }
}
