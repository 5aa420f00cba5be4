//! Key bindings as data. A component says which keys it answers by
//! returning a list of `Binding`s; the same list routes the key and fills
//! the help overlay and the popups' footers, so they cannot disagree.

use std::fmt;

use crossterm::event::KeyEventKind;
/// Re-exported so that code driving `App::handle_key` (tests, scripts)
/// builds key events with the very crossterm version the app matches.
pub use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::action::Action;

/// A key as the router matches it and the help prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A character typed without Ctrl or Alt (Shift is part of the char).
    Char(char),
    Ctrl(char),
    Code(KeyCode),
    /// Any character typed without Ctrl or Alt: text entry.
    Text,
}

impl Key {
    fn matches(self, event: &KeyEvent) -> bool {
        let plain = !event
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match (self, event.code) {
            (Key::Char(want), KeyCode::Char(got)) => plain && want == got,
            (Key::Ctrl(want), KeyCode::Char(got)) => {
                event.modifiers.contains(KeyModifiers::CONTROL) && want.eq_ignore_ascii_case(&got)
            }
            (Key::Text, KeyCode::Char(_)) => plain,
            (Key::Code(want), got) => want == got,
            _ => false,
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Char(' ') => f.write_str("Space"),
            Key::Char(c) => write!(f, "{c}"),
            Key::Ctrl(c) => write!(f, "Ctrl-{c}"),
            Key::Text => f.write_str("letters"),
            Key::Code(KeyCode::F(n)) => write!(f, "F{n}"),
            Key::Code(code) => f.write_str(match code {
                KeyCode::Enter => "Enter",
                KeyCode::Esc => "Esc",
                KeyCode::Up => "↑",
                KeyCode::Down => "↓",
                KeyCode::Left => "←",
                KeyCode::Right => "→",
                KeyCode::Tab => "Tab",
                KeyCode::BackTab => "Shift-Tab",
                KeyCode::Backspace => "Backspace",
                KeyCode::PageUp => "PgUp",
                KeyCode::PageDown => "PgDn",
                KeyCode::Home => "Home",
                KeyCode::End => "End",
                KeyCode::Delete => "Del",
                _ => "?",
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Bound {
    Fixed(Box<Action>),
    /// The typed character becomes `Action::Insert`.
    Typing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub keys: Vec<Key>,
    pub description: &'static str,
    bound: Bound,
}

impl Binding {
    pub fn new(keys: &[Key], description: &'static str, action: Action) -> Binding {
        Binding {
            keys: keys.to_vec(),
            description,
            bound: Bound::Fixed(Box::new(action)),
        }
    }

    pub fn typing(description: &'static str) -> Binding {
        Binding {
            keys: vec![Key::Text],
            description,
            bound: Bound::Typing,
        }
    }

    /// The action the keys give; `None` for typing, which gives the
    /// typed character.
    pub fn action(&self) -> Option<&Action> {
        match &self.bound {
            Bound::Fixed(action) => Some(action),
            Bound::Typing => None,
        }
    }

    /// "j/↓": the keys as the help shows them.
    pub fn keys_label(&self) -> String {
        self.keys
            .iter()
            .map(Key::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// The action of the first binding that matches; `None` leaves the key to
/// the next layer down. Key releases and repeats of releases are ignored
/// (Windows reports both presses and releases).
pub fn route(bindings: &[Binding], event: &KeyEvent) -> Option<Action> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    let binding = bindings
        .iter()
        .find(|binding| binding.keys.iter().any(|key| key.matches(event)))?;
    match &binding.bound {
        Bound::Fixed(action) => Some(action.as_ref().clone()),
        Bound::Typing => match event.code {
            KeyCode::Char(c) => Some(Action::Insert(c)),
            _ => None,
        },
    }
}

/// "Enter confirm · Esc cancel", for footers.
pub fn footer(bindings: &[Binding]) -> String {
    bindings
        .iter()
        .map(|binding| format!("{} {}", binding.keys_label(), binding.description))
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_binding_wins_and_text_is_a_fallback() {
        let bindings = vec![
            Binding::new(&[Key::Code(KeyCode::Enter)], "save", Action::Save),
            Binding::new(&[Key::Ctrl('u')], "clear", Action::ClearField),
            Binding::typing("edit"),
        ];
        let press = |code, modifiers| KeyEvent::new(code, modifiers);
        assert_eq!(
            route(&bindings, &press(KeyCode::Enter, KeyModifiers::NONE)),
            Some(Action::Save)
        );
        assert_eq!(
            route(&bindings, &press(KeyCode::Char('u'), KeyModifiers::CONTROL)),
            Some(Action::ClearField)
        );
        assert_eq!(
            route(&bindings, &press(KeyCode::Char('É'), KeyModifiers::SHIFT)),
            Some(Action::Insert('É'))
        );
        assert_eq!(
            route(&bindings, &press(KeyCode::Char('x'), KeyModifiers::ALT)),
            None
        );
    }
}
