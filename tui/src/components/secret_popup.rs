//! A token's secret, shown the one time the server gives it (a new user's
//! first token, a token issued). It is shown whole, on a line of its own
//! so it can be selected and copied, and dropped with the popup: nothing
//! else in the client keeps it.
//!
//! Enter does not close it: a second Enter pressed by habit after saving
//! the form must not lose a secret that cannot be read again. `y` says it
//! was copied; Esc and q ask for that `y` first.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::{Component, popup_area};
use crate::action::Action;
use crate::effect::Effect;
use crate::keymap::{self, Binding, Key};
use crate::model::Secret;
use crate::theme;

/// The words every secret popup ends with.
pub const COPY_HINT: &str = "Copy it now: it will not be shown again.";

#[derive(Debug)]
pub struct SecretPopup {
    title: String,
    /// What the secret is, before it.
    lines: Vec<String>,
    secret: Secret,
    /// Esc or q was pressed: the popup asks for `y`.
    asking: bool,
}

impl SecretPopup {
    pub fn new(title: impl Into<String>, lines: Vec<String>, secret: Secret) -> SecretPopup {
        SecretPopup {
            title: title.into(),
            lines,
            secret,
            asking: false,
        }
    }

    /// A new user's first token.
    pub fn new_user(name: &str, secret: Secret) -> SecretPopup {
        SecretPopup::new(
            "User created",
            vec![format!("{name}'s API token, to sign in with:")],
            secret,
        )
    }

    /// A token issued for a user.
    pub fn issued(user: &str, label: Option<&str>, secret: Secret) -> SecretPopup {
        let what = match label {
            Some(label) if !label.is_empty() => {
                format!("{user}'s new token \u{201c}{label}\u{201d}:")
            }
            _ => format!("{user}'s new token:"),
        };
        SecretPopup::new("Token issued", vec![what], secret)
    }

    /// The secret, for a script driving the client (the end-to-end tests
    /// sign in with it).
    pub fn secret(&self) -> &str {
        self.secret.expose()
    }

    pub fn title_text(&self) -> &str {
        &self.title
    }
}

impl Component for SecretPopup {
    fn title(&self) -> String {
        self.title.clone()
    }

    fn bindings(&self) -> Vec<Binding> {
        vec![
            Binding::new(&[Key::Char('y')], "copied: close", Action::Confirm),
            Binding::new(
                &[Key::Code(KeyCode::Esc), Key::Char('q')],
                "close (asks for y first)",
                Action::Cancel,
            ),
        ]
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            Action::Confirm => vec![Effect::ClosePopup],
            Action::Cancel => {
                self.asking = true;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let mut lines: Vec<Line> = self.lines.iter().map(|l| Line::from(l.clone())).collect();
        lines.push(Line::default());
        // Whole, never cut: the wrap below breaks it into rows if the
        // screen is narrower than the secret.
        lines.push(Line::styled(
            self.secret.expose().to_owned(),
            theme::title(),
        ));
        lines.push(Line::default());
        lines.push(Line::styled(COPY_HINT, theme::warning()));
        lines.push(Line::default());
        if self.asking {
            lines.push(Line::styled(
                "Press y once it is copied: closing loses it for good.",
                theme::warning(),
            ));
        }
        lines.push(Line::styled(keymap::footer(&self.bindings()), theme::key()));
        // Not trimmed: a secret wrapped over rows keeps every character.
        let wrap = Wrap { trim: false };
        let popup = popup_area::fitted(area, 76, &lines, wrap, 0);
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .border_style(theme::warning())
            .title(Line::styled(format!(" {} ", self.title), theme::title()));
        frame.render_widget(Paragraph::new(lines).wrap(wrap).block(block), popup);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyEvent, KeyModifiers};

    #[test]
    fn only_y_closes_and_enter_does_nothing() {
        let mut popup = SecretPopup::new_user("bob", Secret::new("ct_abc".to_owned()));
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(keymap::route(&popup.bindings(), &enter), None);
        assert!(popup.handle(&Action::Cancel).is_empty(), "Esc asks");
        assert!(popup.asking);
        assert!(matches!(
            popup.handle(&Action::Confirm).as_slice(),
            [Effect::ClosePopup]
        ));
    }
}
