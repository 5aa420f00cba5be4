//! Issue a token for a user: a label and an optional expiry date. The
//! secret comes back in the answer and is shown once, in a
//! [`SecretPopup`]; the form cannot be left while its request is out, so
//! the answer always finds it.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::secret_popup::SecretPopup;
use super::status_line::Message;
use super::text_fit;
use super::text_input::{self, TextInput};
use super::{Component, Popup, Screen};
use crate::action::Action;
use crate::api::ApiError;
use crate::effect::Effect;
use crate::keymap::{self, Binding, Key};
use crate::request::Request;
use crate::theme;

const LABEL: usize = 0;
const EXPIRES: usize = 1;

#[derive(Debug)]
pub struct TokenForm {
    user_id: String,
    user_name: String,
    fields: [TextInput; 2],
    focus: usize,
    saving: bool,
    errors: Vec<String>,
}

impl TokenForm {
    pub fn new(user_id: &str, user_name: &str) -> TokenForm {
        TokenForm {
            user_id: user_id.to_owned(),
            user_name: user_name.to_owned(),
            fields: Default::default(),
            focus: LABEL,
            saving: false,
            errors: Vec::new(),
        }
    }

    pub fn opened(user_id: &str, user_name: &str) -> Vec<Effect> {
        vec![Effect::open(Screen::TokenForm(TokenForm::new(
            user_id, user_name,
        )))]
    }

    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    fn value(&self, field: usize) -> &str {
        self.fields.get(field).map_or("", TextInput::value).trim()
    }

    fn save(&mut self) -> Vec<Effect> {
        if self.saving {
            return Vec::new();
        }
        let expires_at = match expiry(self.value(EXPIRES)) {
            Ok(expires_at) => expires_at,
            Err(message) => {
                self.errors = vec![message];
                self.focus = EXPIRES;
                return vec![Effect::Status(Message::error(
                    "Not issued: fix the expiry.",
                ))];
            }
        };
        let label = Some(self.value(LABEL).to_owned()).filter(|label| !label.is_empty());
        self.saving = true;
        self.errors.clear();
        vec![
            Effect::Status(Message::info("Issuing…")),
            Effect::Send(Request::IssueToken {
                user_id: self.user_id.clone(),
                label,
                expires_at,
            }),
        ]
    }

    pub fn on_answer(&mut self, answer: &Action) -> Vec<Effect> {
        let Action::TokenIssued { user_id, result } = answer else {
            return Vec::new();
        };
        if !self.saving || *user_id != self.user_id {
            return Vec::new();
        }
        self.saving = false;
        match result {
            Ok(issued) => vec![
                Effect::Close,
                Effect::Popup(Popup::Secret(SecretPopup::issued(
                    &self.user_name,
                    issued.token.label.as_deref(),
                    issued.secret.clone(),
                ))),
                Effect::Status(Message::success(format!(
                    "Issued a token for {}.",
                    self.user_name
                ))),
            ],
            Err(err) if err.is_connection_problem() => vec![Effect::Error(err.clone())],
            Err(ApiError::Validation(errors)) => {
                self.errors = errors.iter().map(|e| e.message.clone()).collect();
                vec![Effect::Status(Message::error(
                    "Not issued: see the errors below.",
                ))]
            }
            Err(err) => {
                self.errors = vec![err.to_string()];
                vec![Effect::Status(Message::error("Not issued."))]
            }
        }
    }
}

/// The expiry as typed: blank for never, a date (`2027-01-31`, midnight
/// UTC) or a full RFC 3339 time, which the server checks.
pub fn expiry(typed: &str) -> Result<Option<String>, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    let bytes = typed.as_bytes();
    let is_date = |b: &[u8]| {
        b.len() == 10
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                _ => c.is_ascii_digit(),
            })
    };
    if is_date(bytes) {
        return Ok(Some(format!("{typed}T00:00:00Z")));
    }
    if bytes.get(..10).is_some_and(is_date) && bytes.get(10) == Some(&b'T') {
        return Ok(Some(typed.to_owned()));
    }
    Err("Expires: a date as YYYY-MM-DD (or an RFC 3339 time), or blank for never.".to_owned())
}

impl Component for TokenForm {
    fn title(&self) -> String {
        "Issue a token".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        vec![
            Binding::new(
                &[Key::Code(KeyCode::Enter), Key::Ctrl('s')],
                "issue the token",
                Action::Save,
            ),
            Binding::new(
                &[
                    Key::Code(KeyCode::Tab),
                    Key::Code(KeyCode::Down),
                    Key::Code(KeyCode::BackTab),
                    Key::Code(KeyCode::Up),
                ],
                "other field",
                Action::NextField,
            ),
            Binding::new(&[Key::Code(KeyCode::Esc)], "cancel", Action::Cancel),
        ]
        .into_iter()
        .chain(text_input::bindings("clear the field"))
        .chain([Binding::typing("type into the field")])
        .collect()
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            // The answer holds a secret shown only once: wait for it.
            Action::Cancel if self.saving => vec![Effect::Status(Message::info(
                "Issuing… wait for the server's answer.",
            ))],
            Action::Cancel => vec![Effect::Close, Effect::ClearStatus],
            Action::Save => self.save(),
            Action::NextField => {
                self.focus = if self.focus == LABEL { EXPIRES } else { LABEL };
                Vec::new()
            }
            action => {
                if let Some(field) = self.fields.get_mut(self.focus) {
                    field.apply(action);
                }
                Vec::new()
            }
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let title = format!(" New token for {} ", self.user_name);
        let title = text_fit::ellipsis(&title, usize::from(area.width.saturating_sub(4)));
        let block = Block::bordered().title(Line::styled(title, theme::title()));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [
            label_row,
            expires_row,
            hint_row,
            _,
            messages_area,
            footer_row,
        ] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(inner);
        for (index, (row, name)) in [(label_row, "Label"), (expires_row, "Expires")]
            .into_iter()
            .enumerate()
        {
            let focused = index == self.focus;
            let [label_area, value_area] = Layout::horizontal([
                Constraint::Length(10),
                Constraint::Length(inner.width.saturating_sub(11).min(48)),
            ])
            .areas(row);
            let style = if focused {
                theme::title()
            } else {
                theme::label()
            };
            frame.render_widget(
                Paragraph::new(Span::styled(format!("{name:>8}  "), style)),
                label_area,
            );
            if let Some(field) = self.fields.get(index) {
                let style = if focused {
                    theme::focused_input()
                } else {
                    Default::default()
                };
                field.draw(frame, value_area, focused, style);
            }
        }
        frame.render_widget(
            Paragraph::new(Line::styled(
                "          YYYY-MM-DD (midnight UTC), or blank: never expires",
                theme::dim(),
            )),
            hint_row,
        );
        let messages: Vec<Line> = if self.saving {
            vec![Line::styled("Issuing…", theme::dim())]
        } else {
            self.errors
                .iter()
                .map(|error| Line::styled(format!("✗ {error}"), theme::error()))
                .collect()
        };
        frame.render_widget(
            Paragraph::new(messages).wrap(Wrap { trim: true }),
            messages_area,
        );
        let footer: Vec<Binding> = self.bindings().into_iter().take(3).collect();
        frame.render_widget(
            Paragraph::new(Line::styled(keymap::footer(&footer), theme::dim())),
            footer_row,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_takes_a_date_a_time_or_nothing() {
        assert_eq!(expiry(""), Ok(None));
        assert_eq!(
            expiry(" 2027-01-31 "),
            Ok(Some("2027-01-31T00:00:00Z".to_owned()))
        );
        assert_eq!(
            expiry("2027-01-31T12:00:00+02:00"),
            Ok(Some("2027-01-31T12:00:00+02:00".to_owned()))
        );
        assert!(expiry("next week").is_err());
        assert!(expiry("2027-1-31").is_err());
    }
}
