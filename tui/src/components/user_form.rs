//! Create a user, or change one's name, role and teams. Teams are chosen
//! from every team (`teams`, read when the form opens). A new user's
//! first token comes back in the answer and is shown once, in a
//! [`SecretPopup`]; so the form cannot be left while its save is out, and
//! the answer always finds it.

use std::collections::BTreeSet;

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::confirm_popup::ConfirmPopup;
use super::paged_rows;
use super::secret_popup::SecretPopup;
use super::status_line::Message;
use super::text_fit;
use super::text_input::{self, TextInput};
use super::{Component, Popup, Screen};
use crate::action::Action;
use crate::api::ApiError;
use crate::effect::{Effect, sends};
use crate::keymap::{self, Binding, Key};
use crate::model::{Role, SavedUser, Team, User, UserEdit};
use crate::request::Request;
use crate::theme;

/// The rows the focus moves over: the name, the role, then one per team.
const NAME: usize = 0;
const ROLE: usize = 1;
const FIRST_TEAM: usize = 2;

#[derive(Debug)]
pub struct UserForm {
    /// The user edited; `None` for a new one.
    original: Option<User>,
    name: TextInput,
    role: Role,
    teams: Vec<Team>,
    /// Ids of the teams chosen.
    chosen: BTreeSet<String>,
    teams_generation: u64,
    teams_loading: bool,
    teams_error: Option<String>,
    focus: usize,
    saving: bool,
    /// The last save's errors, each whole.
    errors: Vec<String>,
}

impl UserForm {
    /// A form for `user`, or for a new user; returns the request for the
    /// teams to choose from.
    pub fn open(user: Option<&User>) -> (UserForm, Request) {
        let teams_generation = paged_rows::next_generation();
        let form = UserForm {
            original: user.cloned(),
            name: TextInput::new(user.map_or("", |user| user.name.as_str())),
            role: user
                .and_then(|user| user.role.clone())
                .unwrap_or(Role::Member),
            teams: Vec::new(),
            chosen: user
                .map(|user| user.teams.iter().map(|team| team.id.clone()).collect())
                .unwrap_or_default(),
            teams_generation,
            teams_loading: true,
            teams_error: None,
            focus: if user.is_some() { ROLE } else { NAME },
            saving: false,
            errors: Vec::new(),
        };
        let request = Request::Teams {
            generation: teams_generation,
            after: None,
        };
        (form, request)
    }

    pub fn opened(user: Option<&User>) -> Vec<Effect> {
        let (form, request) = UserForm::open(user);
        vec![
            Effect::open(Screen::UserForm(Box::new(form))),
            Effect::Send(request),
        ]
    }

    /// Once the server is back: the teams again, if they failed; what was
    /// typed stays.
    pub fn reload_after_reconnect(&mut self) -> Option<Request> {
        self.teams_error.take()?;
        self.teams.clear();
        self.teams_loading = true;
        self.teams_generation = paged_rows::next_generation();
        Some(Request::Teams {
            generation: self.teams_generation,
            after: None,
        })
    }

    pub fn name(&self) -> &str {
        self.name.value()
    }

    pub fn role(&self) -> &Role {
        &self.role
    }

    pub fn teams(&self) -> &[Team] {
        &self.teams
    }

    pub fn chosen(&self) -> &BTreeSet<String> {
        &self.chosen
    }

    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    fn rows(&self) -> usize {
        FIRST_TEAM + self.teams.len()
    }

    /// What a save sends; `None` for an edit that changes nothing.
    pub fn edit(&self) -> Option<UserEdit> {
        let name = self.name.value().trim().to_owned();
        let team_ids: Vec<String> = self.chosen.iter().cloned().collect();
        let Some(original) = &self.original else {
            return Some(UserEdit::Create {
                name,
                role: self.role.clone(),
                team_ids,
            });
        };
        let before: BTreeSet<&str> = original.teams.iter().map(|t| t.id.as_str()).collect();
        let after: BTreeSet<&str> = self.chosen.iter().map(String::as_str).collect();
        let rename = (name != original.name).then_some(name);
        let role = (original.role.as_ref() != Some(&self.role)).then(|| self.role.clone());
        let team_ids = (before != after).then_some(team_ids);
        if rename.is_none() && role.is_none() && team_ids.is_none() {
            return None;
        }
        Some(UserEdit::Update {
            id: original.id.clone(),
            name: original.name.clone(),
            rename,
            role,
            team_ids,
            active: None,
        })
    }

    fn has_unsaved_edits(&self) -> bool {
        match &self.original {
            Some(_) => self.edit().is_some(),
            None => !self.name.value().trim().is_empty() || !self.chosen.is_empty(),
        }
    }

    fn save(&mut self) -> Vec<Effect> {
        if self.saving {
            return Vec::new();
        }
        let Some(edit) = self.edit() else {
            return vec![
                Effect::Close,
                Effect::Status(Message::info("Nothing changed.")),
            ];
        };
        self.saving = true;
        self.errors.clear();
        vec![
            Effect::Status(Message::info("Saving…")),
            Effect::Send(Request::SaveUser(edit)),
        ]
    }

    /// Takes the answers that belong to it: the teams to choose from, and
    /// its save's.
    pub fn on_answer(&mut self, answer: &Action) -> Vec<Effect> {
        match answer {
            Action::TeamsLoaded { generation, result } if *generation == self.teams_generation => {
                match result {
                    Ok(page) => {
                        self.teams.extend(page.rows.iter().cloned());
                        self.teams_loading = page.has_next_page;
                        if page.has_next_page {
                            return sends([Request::Teams {
                                generation: self.teams_generation,
                                after: page.end_cursor.clone(),
                            }]);
                        }
                        Vec::new()
                    }
                    Err(err) => {
                        self.teams_loading = false;
                        self.teams_error = Some(err.to_string());
                        vec![Effect::Error(err.clone())]
                    }
                }
            }
            Action::UserSaved { edit, result } if self.saving && self.sends(edit) => {
                self.saving = false;
                self.on_saved(result)
            }
            _ => Vec::new(),
        }
    }

    /// Whether `edit` is this form's save (a deactivation asked on the
    /// users screen is not).
    fn sends(&self, edit: &UserEdit) -> bool {
        match (edit, &self.original) {
            (UserEdit::Create { .. }, None) => true,
            (
                UserEdit::Update {
                    id, active: None, ..
                },
                Some(original),
            ) => *id == original.id,
            _ => false,
        }
    }

    fn on_saved(&mut self, result: &Result<Box<SavedUser>, ApiError>) -> Vec<Effect> {
        match result {
            Ok(saved) => {
                let mut effects = vec![Effect::Close];
                match &saved.token {
                    Some(token) => {
                        effects.push(Effect::Popup(Popup::Secret(SecretPopup::new_user(
                            &saved.user.name,
                            token.clone(),
                        ))));
                        effects.push(Effect::Status(Message::success(format!(
                            "Created {}.",
                            saved.user.name
                        ))));
                    }
                    None => effects.push(Effect::Status(Message::success(format!(
                        "Saved {}.",
                        saved.user.name
                    )))),
                }
                effects
            }
            Err(ApiError::Validation(errors)) => {
                self.errors = errors.iter().map(|e| e.message.clone()).collect();
                if errors.iter().any(|e| e.field.as_deref() == Some("name")) {
                    self.focus = NAME;
                }
                vec![Effect::Status(Message::error(
                    "Not saved: see the errors below.",
                ))]
            }
            Err(err) if err.is_connection_problem() => vec![Effect::Error(err.clone())],
            Err(err) => {
                self.errors = vec![err.to_string()];
                vec![Effect::Status(Message::error("Not saved."))]
            }
        }
    }

    fn update(&mut self, action: &Action) {
        if self.focus == NAME && self.name.apply(action) != text_input::Edit::NotMine {
            return;
        }
        let rows = self.rows();
        match action {
            Action::NextField => self.focus = (self.focus + 1) % rows,
            Action::PreviousField => self.focus = (self.focus + rows - 1) % rows,
            Action::NextChoice => self.role = self.role.next(),
            Action::PreviousChoice => self.role = self.role.previous(),
            Action::Toggle => {
                let Some(team) = self
                    .focus
                    .checked_sub(FIRST_TEAM)
                    .and_then(|i| self.teams.get(i))
                else {
                    return;
                };
                if !self.chosen.remove(&team.id) {
                    self.chosen.insert(team.id.clone());
                }
            }
            _ => {}
        }
    }

    fn team_lines(&self, room: usize, width: usize) -> Vec<Line<'static>> {
        if self.teams.is_empty() {
            let text = if let Some(error) = &self.teams_error {
                Span::styled(format!("Could not load the teams: {error}"), theme::error())
            } else if self.teams_loading {
                Span::styled("Loading…", theme::dim())
            } else {
                Span::styled(
                    "No teams yet (T on the users screen creates one).",
                    theme::dim(),
                )
            };
            return vec![Line::from(vec![label("Teams", false), text])];
        }
        // A window over the teams that keeps the focused one in sight.
        let focused_team = self.focus.checked_sub(FIRST_TEAM);
        let room = room.max(1);
        let start = focused_team.map_or(0, |i| (i + 1).saturating_sub(room));
        self.teams
            .iter()
            .enumerate()
            .skip(start)
            .take(room)
            .map(|(index, team)| {
                let focused = focused_team == Some(index);
                let lead = if index == start {
                    label("Teams", self.focus >= FIRST_TEAM)
                } else {
                    Span::raw(" ".repeat(LABEL_WIDTH))
                };
                let mark = if self.chosen.contains(&team.id) {
                    "[x] "
                } else {
                    "[ ] "
                };
                let name = text_fit::ellipsis(&team.name, width.saturating_sub(LABEL_WIDTH + 4));
                let style = if focused {
                    theme::focused_input()
                } else {
                    Default::default()
                };
                Line::from(vec![lead, Span::styled(format!("{mark}{name}"), style)])
            })
            .collect()
    }

    fn footer_bindings(&self) -> Vec<Binding> {
        self.bindings()
            .into_iter()
            .filter(|binding| {
                matches!(
                    binding.action(),
                    Some(Action::Save | Action::NextField | Action::Cancel | Action::Toggle)
                ) || (self.focus == ROLE && binding.action() == Some(&Action::NextChoice))
            })
            .collect()
    }
}

/// Columns taken by a label and the gap after it.
const LABEL_WIDTH: usize = 9;

fn label(text: &str, focused: bool) -> Span<'static> {
    let style = if focused {
        theme::title()
    } else {
        theme::label()
    };
    Span::styled(format!("{text:>7}  "), style)
}

/// What a role may do, beside the role's name.
fn role_summary(role: &Role) -> &'static str {
    match role {
        Role::Admin => "everything, every contact, users and policies",
        Role::Member => "reads and writes the contacts they own or share a team with",
        Role::Viewer => "reads those contacts, without personal data",
        Role::Integration => "records activities, creates and updates contacts",
        Role::Other(_) => "",
    }
}

impl Component for UserForm {
    fn title(&self) -> String {
        "User form".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        let mut bindings = vec![
            Binding::new(
                &[Key::Code(KeyCode::Enter), Key::Ctrl('s')],
                "save",
                Action::Save,
            ),
            Binding::new(
                &[Key::Code(KeyCode::Tab), Key::Code(KeyCode::Down)],
                "next field",
                Action::NextField,
            ),
            Binding::new(
                &[Key::Code(KeyCode::BackTab), Key::Code(KeyCode::Up)],
                "previous field",
                Action::PreviousField,
            ),
        ];
        // The name takes text, so there q is a letter; elsewhere it means
        // what Esc means.
        let cancel_keys: &[Key] = if self.focus == NAME {
            &[Key::Code(KeyCode::Esc)]
        } else {
            &[Key::Code(KeyCode::Esc), Key::Char('q')]
        };
        bindings.push(Binding::new(cancel_keys, "cancel", Action::Cancel));
        match self.focus {
            NAME => {
                bindings.extend(text_input::bindings("clear the name"));
                bindings.push(Binding::typing("type the name"));
            }
            ROLE => bindings.extend([
                Binding::new(
                    &[Key::Code(KeyCode::Right), Key::Char(' ')],
                    "next role",
                    Action::NextChoice,
                ),
                Binding::new(
                    &[Key::Code(KeyCode::Left)],
                    "previous role",
                    Action::PreviousChoice,
                ),
            ]),
            _ => bindings.push(Binding::new(
                &[Key::Char(' '), Key::Char('x')],
                "put in or take out of the team",
                Action::Toggle,
            )),
        }
        bindings
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            // The answer may hold a token shown only once: wait for it.
            Action::Cancel if self.saving => vec![Effect::Status(Message::info(
                "Saving… wait for the server's answer.",
            ))],
            Action::Cancel if self.has_unsaved_edits() => {
                let what = match &self.original {
                    Some(user) => user.name.clone(),
                    None => "the new user".to_owned(),
                };
                vec![Effect::Popup(Popup::Confirm(ConfirmPopup::discard_edits(
                    &what,
                )))]
            }
            Action::Cancel => vec![Effect::Close, Effect::ClearStatus],
            Action::Save => self.save(),
            action => {
                self.update(action);
                Vec::new()
            }
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let title = match &self.original {
            Some(user) => format!(" Edit user {} ", user.name),
            None => " New user ".to_owned(),
        };
        let title = text_fit::ellipsis(&title, usize::from(area.width.saturating_sub(4)));
        let block = Block::bordered().title(Line::styled(title, theme::title()));
        let inner = block.inner(area);
        frame.render_widget(block, area);

        let message_lines: Vec<Line> = if self.saving {
            vec![Line::styled("Saving…", theme::dim())]
        } else {
            self.errors
                .iter()
                .map(|error| Line::styled(format!("✗ {error}"), theme::error()))
                .collect()
        };
        let [name_row, role_row, teams_area, messages_area, footer_row] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(
                u16::try_from(message_lines.len())
                    .unwrap_or(u16::MAX)
                    .min(inner.height / 3),
            ),
            Constraint::Length(2),
        ])
        .areas(inner);

        let [name_label, name_value] = Layout::horizontal([
            Constraint::Length(u16::try_from(LABEL_WIDTH).unwrap_or(0)),
            Constraint::Length(inner.width.saturating_sub(10).min(48)),
        ])
        .areas(name_row);
        frame.render_widget(
            Paragraph::new(Line::from(label("Name", self.focus == NAME))),
            name_label,
        );
        let style = if self.focus == NAME {
            theme::focused_input()
        } else {
            Default::default()
        };
        self.name.draw(frame, name_value, self.focus == NAME, style);

        let role_style = if self.focus == ROLE {
            theme::focused_input()
        } else {
            Default::default()
        };
        let role = Line::from(vec![
            label("Role", self.focus == ROLE),
            Span::styled(format!("◀ {} ▶", self.role.name()), role_style),
            Span::styled(format!("  {}", role_summary(&self.role)), theme::dim()),
        ]);
        frame.render_widget(Paragraph::new(role), role_row);

        // A blank row above the teams.
        let teams_area = Rect {
            y: teams_area.y.saturating_add(1).min(teams_area.bottom()),
            height: teams_area.height.saturating_sub(1),
            ..teams_area
        };
        let teams = self.team_lines(
            usize::from(teams_area.height),
            usize::from(teams_area.width),
        );
        frame.render_widget(Paragraph::new(teams), teams_area);
        frame.render_widget(
            Paragraph::new(message_lines).wrap(Wrap { trim: true }),
            messages_area,
        );
        // Up to two rows: the keys of the focused row make it long.
        frame.render_widget(
            Paragraph::new(Line::styled(
                keymap::footer(&self.footer_bindings()),
                theme::dim(),
            ))
            .wrap(Wrap { trim: true }),
            footer_row,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Page, Secret};

    fn teams_answer(form: &UserForm) -> Action {
        Action::TeamsLoaded {
            generation: form.teams_generation,
            result: Ok(Page {
                rows: vec![
                    Team {
                        id: "t1".to_owned(),
                        name: "Sales".to_owned(),
                    },
                    Team {
                        id: "t2".to_owned(),
                        name: "Support".to_owned(),
                    },
                ],
                total: 2,
                has_next_page: false,
                end_cursor: None,
            }),
        }
    }

    #[test]
    fn a_new_user_sends_name_role_and_teams_and_shows_the_token_once() {
        let (mut form, _) = UserForm::open(None);
        form.on_answer(&teams_answer(&form));
        for c in "bob".chars() {
            form.handle(&Action::Insert(c));
        }
        form.handle(&Action::NextField);
        form.handle(&Action::NextChoice);
        form.handle(&Action::NextField);
        form.handle(&Action::NextField);
        form.handle(&Action::Toggle);
        let effects = form.handle(&Action::Save);
        let Some(Effect::Send(Request::SaveUser(edit))) = effects.last() else {
            panic!("Enter saves: {effects:?}");
        };
        assert_eq!(
            *edit,
            UserEdit::Create {
                name: "bob".to_owned(),
                role: Role::Viewer,
                team_ids: vec!["t2".to_owned()],
            }
        );
        // The answer may carry a token: the form waits for it.
        assert!(matches!(
            form.handle(&Action::Cancel).as_slice(),
            [Effect::Status(_)]
        ));
        let effects = form.on_answer(&Action::UserSaved {
            edit: edit.clone(),
            result: Ok(Box::new(SavedUser {
                user: User {
                    id: "u9".to_owned(),
                    name: "bob".to_owned(),
                    role: Some(Role::Viewer),
                    active: true,
                    teams: Vec::new(),
                },
                token: Some(Secret::new("ct_secret".to_owned())),
            })),
        });
        let [
            Effect::Close,
            Effect::Popup(Popup::Secret(popup)),
            Effect::Status(_),
        ] = effects.as_slice()
        else {
            panic!("closes and shows the token: {effects:?}");
        };
        assert_eq!(popup.secret(), "ct_secret");
    }

    #[test]
    fn an_edit_sends_only_what_changed() {
        let user = User {
            id: "u1".to_owned(),
            name: "ann".to_owned(),
            role: Some(Role::Member),
            active: true,
            teams: vec![Team {
                id: "t1".to_owned(),
                name: "Sales".to_owned(),
            }],
        };
        let (mut form, _) = UserForm::open(Some(&user));
        form.on_answer(&teams_answer(&form));
        assert_eq!(form.edit(), None);
        assert!(matches!(
            form.handle(&Action::Save).as_slice(),
            [Effect::Close, Effect::Status(_)]
        ));
        form.handle(&Action::PreviousChoice);
        assert_eq!(
            form.edit(),
            Some(UserEdit::Update {
                id: "u1".to_owned(),
                name: "ann".to_owned(),
                rename: None,
                role: Some(Role::Admin),
                team_ids: None,
                active: None,
            })
        );
    }
}
