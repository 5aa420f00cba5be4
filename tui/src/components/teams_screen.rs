//! The teams screen (ADMIN): every team by name, and a box to create one
//! (`n`). Who is in a team is set on the user form; the users screen
//! filters by team (`m`).

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::paged_rows::PagedRows;
use super::selection::{self, MoveWords};
use super::status_line::Message;
use super::table_columns::{self, Column};
use super::text_input::{self, TextInput};
use super::{Component, Screen};
use crate::action::Action;
use crate::api::ApiError;
use crate::effect::{Effect, sends};
use crate::keymap::{Binding, Key};
use crate::model::Team;
use crate::request::Request;
use crate::theme;

const COLUMNS: [Column; 1] = [Column::cut("Name", 12, 0)];

#[derive(Debug)]
pub struct TeamsScreen {
    teams: PagedRows<Team>,
    /// The new team's name, while it is typed.
    new_name: Option<TextInput>,
    /// The name sent, until its answer comes.
    creating: Option<String>,
    error: Option<String>,
}

impl TeamsScreen {
    pub fn open() -> (TeamsScreen, Request) {
        let mut screen = TeamsScreen {
            teams: PagedRows::default(),
            new_name: None,
            creating: None,
            error: None,
        };
        let request = screen.reload();
        (screen, request)
    }

    pub fn opened() -> Vec<Effect> {
        let (screen, request) = TeamsScreen::open();
        vec![Effect::open(Screen::Teams(screen)), Effect::Send(request)]
    }

    pub fn teams(&self) -> &[Team] {
        self.teams.rows()
    }

    pub fn reload(&mut self) -> Request {
        Request::Teams {
            generation: self.teams.restart(),
            after: None,
        }
    }

    pub fn on_answer(&mut self, answer: &Action) -> Vec<Effect> {
        match answer {
            Action::TeamsLoaded { generation, result } => {
                match self.teams.apply(*generation, result.clone()) {
                    Some(err) => vec![Effect::Error(err)],
                    None => Vec::new(),
                }
            }
            Action::TeamCreated { name, result } if self.creating.as_ref() == Some(name) => {
                self.creating = None;
                match result {
                    Ok(team) => {
                        self.new_name = None;
                        self.error = None;
                        vec![
                            Effect::Status(Message::success(format!(
                                "Created team {}.",
                                team.name
                            ))),
                            Effect::Send(self.reload()),
                        ]
                    }
                    Err(err) if err.is_connection_problem() => vec![Effect::Error(err.clone())],
                    Err(err) => {
                        self.error = Some(match err {
                            ApiError::Validation(errors) => errors
                                .iter()
                                .map(|e| e.message.as_str())
                                .collect::<Vec<_>>()
                                .join("; "),
                            other => other.to_string(),
                        });
                        vec![Effect::Status(Message::error("The team was not created."))]
                    }
                }
            }
            _ => Vec::new(),
        }
    }

    fn next_page(&mut self) -> Vec<Request> {
        self.teams
            .next_page()
            .map(|(generation, after)| Request::Teams { generation, after })
            .into_iter()
            .collect()
    }
}

impl Component for TeamsScreen {
    fn title(&self) -> String {
        if self.new_name.is_some() {
            "New team".to_owned()
        } else {
            "Teams".to_owned()
        }
    }

    fn bindings(&self) -> Vec<Binding> {
        if self.new_name.is_some() {
            return [
                Binding::new(
                    &[Key::Code(KeyCode::Enter)],
                    "create the team",
                    Action::Save,
                ),
                Binding::new(&[Key::Code(KeyCode::Esc)], "cancel", Action::Cancel),
            ]
            .into_iter()
            .chain(text_input::bindings("clear the name"))
            .chain([Binding::typing("type the team's name")])
            .collect();
        }
        let mut bindings = selection::bindings(MoveWords {
            next: "next team",
            previous: "previous team",
            first: "first team",
            last: "last loaded team",
        });
        bindings.extend([
            Binding::new(&[Key::Char('n')], "new team", Action::New),
            Binding::new(&[Key::Char('r')], "reload", Action::Reload),
            Binding::new(
                &[Key::Code(KeyCode::Esc), Key::Char('q')],
                "back to the users",
                Action::Back,
            ),
        ]);
        bindings
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        if let Some(name) = &mut self.new_name {
            return match action {
                Action::Save if self.creating.is_none() => {
                    let name = name.value().trim().to_owned();
                    self.creating = Some(name.clone());
                    vec![
                        Effect::Status(Message::info("Creating the team…")),
                        Effect::Send(Request::CreateTeam { name }),
                    ]
                }
                Action::Save => Vec::new(),
                Action::Cancel => {
                    self.new_name = None;
                    self.error = None;
                    Vec::new()
                }
                action => {
                    name.apply(action);
                    Vec::new()
                }
            };
        }
        if self.teams.move_selection(action) {
            return sends(self.next_page());
        }
        match action {
            Action::New => {
                self.new_name = Some(TextInput::default());
                Vec::new()
            }
            Action::Reload => sends([self.reload()]),
            Action::Back => vec![Effect::Close],
            _ => Vec::new(),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let entry_rows = match (&self.new_name, &self.error) {
            (Some(_), Some(_)) => 2,
            (Some(_), None) => 1,
            (None, _) => 0,
        };
        let [entry_area, table_area] =
            Layout::vertical([Constraint::Length(entry_rows), Constraint::Fill(1)]).areas(area);
        if let Some(name) = &self.new_name {
            let label = " New team: ";
            let [label_area, box_area] = Layout::horizontal([
                Constraint::Length(u16::try_from(label.len()).unwrap_or(0)),
                Constraint::Fill(1),
            ])
            .areas(Rect {
                height: entry_area.height.min(1),
                ..entry_area
            });
            frame.render_widget(
                Paragraph::new(Span::styled(label, theme::label())),
                label_area,
            );
            name.draw(frame, box_area, true, theme::focused_input());
            if let Some(error) = &self.error {
                let row = Rect {
                    y: entry_area.y.saturating_add(1),
                    height: entry_area.height.saturating_sub(1),
                    ..entry_area
                };
                frame.render_widget(
                    Paragraph::new(Line::styled(format!(" ✗ {error}"), theme::error())),
                    row,
                );
            }
        }
        let block =
            Block::bordered().title(Line::styled(self.teams.title("Teams"), theme::title()));
        let inner = block.inner(table_area);
        frame.render_widget(block, table_area);
        if self.teams.rows().is_empty() {
            let line = self
                .teams
                .empty_line("teams", "No teams yet. Press n to create one.");
            frame.render_widget(Paragraph::new(line), inner);
            return;
        }
        let cells: Vec<Vec<String>> = self
            .teams
            .rows()
            .iter()
            .map(|team| vec![team.name.clone()])
            .collect();
        table_columns::draw(
            frame,
            inner,
            &COLUMNS,
            &cells,
            &[],
            Some(self.teams.selected_index()),
        );
    }
}
