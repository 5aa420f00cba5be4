//! A one-line text field: its value, a cursor that moves inside it, the
//! keys that edit it and how it is drawn. The editing is tui-input's
//! (grapheme-aware moves and deletes); this module maps our actions onto
//! it and draws the value scrolled so the cursor stays in sight. The
//! search box, the form's fields and the import's path share it.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::widgets::Paragraph;
use tui_input::{Input, InputRequest};

use crate::action::Action;
use crate::keymap::{Binding, Key};

#[derive(Debug, Clone, Default)]
pub struct TextInput {
    input: Input,
}

/// What an action did to a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// Not an editing action: the caller's to handle.
    NotMine,
    /// Only the cursor moved (or nothing could change).
    Moved,
    Changed,
}

impl TextInput {
    /// A field holding `value`, the cursor at its end.
    pub fn new(value: &str) -> TextInput {
        TextInput {
            input: Input::new(value.to_owned()),
        }
    }

    pub fn value(&self) -> &str {
        self.input.value()
    }

    /// Characters before the cursor.
    pub fn cursor(&self) -> usize {
        self.input.cursor()
    }

    /// Applies an editing action.
    pub fn apply(&mut self, action: &Action) -> Edit {
        let request = match action {
            Action::Insert(c) => InputRequest::InsertChar(*c),
            Action::DeleteBackward => InputRequest::DeletePrevChar,
            Action::DeleteForward => InputRequest::DeleteNextChar,
            Action::CursorLeft => InputRequest::GoToPrevChar,
            Action::CursorRight => InputRequest::GoToNextChar,
            Action::CursorStart => InputRequest::GoToStart,
            Action::CursorEnd => InputRequest::GoToEnd,
            Action::ClearField => InputRequest::DeleteLine,
            _ => return Edit::NotMine,
        };
        match self.input.handle(request) {
            Some(changed) if changed.value => Edit::Changed,
            _ => Edit::Moved,
        }
    }

    /// Draws the value in `area`, scrolled so that the cursor is in sight;
    /// a focused field puts the terminal's cursor there.
    pub fn draw(&self, frame: &mut Frame, area: Rect, focused: bool, style: Style) {
        // One column is kept for the cursor after the last character.
        let room = usize::from(area.width.saturating_sub(1));
        let scroll = if focused {
            self.input.visual_scroll(room)
        } else {
            0
        };
        let scroll_columns = u16::try_from(scroll).unwrap_or(u16::MAX);
        frame.render_widget(
            Paragraph::new(self.value())
                .style(style)
                .scroll((0, scroll_columns)),
            area,
        );
        if focused && area.width > 0 && area.height > 0 {
            let column = self.input.visual_cursor().saturating_sub(scroll);
            let column = u16::try_from(column)
                .unwrap_or(u16::MAX)
                .min(area.width - 1);
            frame.set_cursor_position(Position::new(area.x + column, area.y));
        }
    }
}

/// The keys that edit a field, in the order the help lists them; `clear`
/// names what Ctrl-U empties.
pub fn bindings(clear: &'static str) -> Vec<Binding> {
    vec![
        Binding::new(
            &[Key::Code(KeyCode::Left)],
            "cursor left",
            Action::CursorLeft,
        ),
        Binding::new(
            &[Key::Code(KeyCode::Right)],
            "cursor right",
            Action::CursorRight,
        ),
        Binding::new(
            &[Key::Code(KeyCode::Home), Key::Ctrl('a')],
            "cursor to the start",
            Action::CursorStart,
        ),
        Binding::new(
            &[Key::Code(KeyCode::End), Key::Ctrl('e')],
            "cursor to the end",
            Action::CursorEnd,
        ),
        Binding::new(
            &[Key::Code(KeyCode::Backspace)],
            "delete before the cursor",
            Action::DeleteBackward,
        ),
        Binding::new(
            &[Key::Code(KeyCode::Delete)],
            "delete at the cursor",
            Action::DeleteForward,
        ),
        Binding::new(&[Key::Ctrl('u')], clear, Action::ClearField),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> TextInput {
        let mut field = TextInput::default();
        for c in text.chars() {
            assert_eq!(field.apply(&Action::Insert(c)), Edit::Changed);
        }
        field
    }

    #[test]
    fn edits_in_the_middle() {
        let mut field = typed("ad@example.com");
        field.apply(&Action::CursorStart);
        field.apply(&Action::CursorRight);
        assert_eq!(field.apply(&Action::Insert('d')), Edit::Changed);
        assert_eq!(field.value(), "add@example.com");
        field.apply(&Action::CursorLeft);
        assert_eq!(field.apply(&Action::DeleteForward), Edit::Changed);
        assert_eq!(field.value(), "ad@example.com");
        assert_eq!(field.apply(&Action::CursorEnd), Edit::Moved);
        field.apply(&Action::DeleteBackward);
        assert_eq!(field.value(), "ad@example.co");
        assert_eq!(field.apply(&Action::ClearField), Edit::Changed);
        assert_eq!(field.value(), "");
        assert_eq!(field.apply(&Action::DeleteBackward), Edit::Moved);
        assert_eq!(field.apply(&Action::Save), Edit::NotMine);
    }

    #[test]
    fn wide_characters_move_as_one() {
        let mut field = typed("漢字");
        field.apply(&Action::CursorLeft);
        field.apply(&Action::Insert('a'));
        assert_eq!(field.value(), "漢a字");
        assert_eq!(field.cursor(), 2);
    }
}
