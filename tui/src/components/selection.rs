//! The selected row of a list (contacts, activities, an import's failed
//! rows) and the keys that move it. One copy, so every list moves the
//! same way and its help reads the same way; only the nouns differ.

use crossterm::event::KeyCode;

use crate::action::Action;
use crate::keymap::{Binding, Key};

/// How the help names the moves over one list ("next contact").
#[derive(Debug, Clone, Copy)]
pub struct MoveWords {
    pub next: &'static str,
    pub previous: &'static str,
    pub first: &'static str,
    pub last: &'static str,
}

/// An index into a list that the list owns. It knows no length of its
/// own: the rows change under it (pages arrive, a reload replaces them),
/// so every move is given the current count.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    index: usize,
}

impl Selection {
    pub fn index(self) -> usize {
        self.index
    }

    /// Moves for a navigation action over `rows` rows, `page` rows at a
    /// time for PgUp/PgDn. Returns `false`, and moves nothing, for any
    /// other action, which is then the list's own to handle.
    pub fn apply(&mut self, action: &Action, rows: usize, page: usize) -> bool {
        let last = rows.saturating_sub(1);
        self.index = match action {
            Action::Down => self.index.saturating_add(1).min(last),
            Action::Up => self.index.saturating_sub(1),
            Action::PageDown => self.index.saturating_add(page).min(last),
            Action::PageUp => self.index.saturating_sub(page),
            Action::Top => 0,
            Action::Bottom => last,
            _ => return false,
        };
        true
    }

    /// Keeps the selection on a row after the rows were replaced by
    /// fewer: it stays where it was as far as they reach.
    pub fn clamp(&mut self, rows: usize) {
        self.index = self.index.min(rows.saturating_sub(1));
    }

    /// Selects row `index` (the caller knows it exists).
    pub fn select(&mut self, index: usize) {
        self.index = index;
    }

    pub fn reset(&mut self) {
        self.index = 0;
    }

    /// Whether the selection is within `margin` rows of the end of the
    /// `rows` loaded: the moment a paged list asks for its next page, so
    /// scrolling rarely waits.
    pub fn near_end(self, rows: usize, margin: usize) -> bool {
        self.index.saturating_add(margin) >= rows
    }
}

/// The keys that move a selection, in the order the help lists them.
pub fn bindings(words: MoveWords) -> Vec<Binding> {
    vec![
        Binding::new(
            &[Key::Char('j'), Key::Code(KeyCode::Down)],
            words.next,
            Action::Down,
        ),
        Binding::new(
            &[Key::Char('k'), Key::Code(KeyCode::Up)],
            words.previous,
            Action::Up,
        ),
        Binding::new(
            &[Key::Code(KeyCode::PageDown)],
            "page down",
            Action::PageDown,
        ),
        Binding::new(&[Key::Code(KeyCode::PageUp)], "page up", Action::PageUp),
        Binding::new(
            &[Key::Char('g'), Key::Code(KeyCode::Home)],
            words.first,
            Action::Top,
        ),
        Binding::new(
            &[Key::Char('G'), Key::Code(KeyCode::End)],
            words.last,
            Action::Bottom,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyEvent, KeyModifiers};

    use super::*;
    use crate::keymap;

    fn moved(start: usize, action: Action, rows: usize) -> usize {
        let mut selection = Selection { index: start };
        assert!(selection.apply(&action, rows, 10), "{action:?} moves");
        selection.index()
    }

    #[test]
    fn moves_stop_at_both_ends() {
        assert_eq!(moved(0, Action::Down, 3), 1);
        assert_eq!(moved(2, Action::Down, 3), 2, "the last row stays");
        assert_eq!(moved(0, Action::Up, 3), 0, "the first row stays");
        assert_eq!(moved(5, Action::PageDown, 30), 15);
        assert_eq!(moved(25, Action::PageDown, 30), 29);
        assert_eq!(moved(15, Action::PageUp, 30), 5);
        assert_eq!(moved(5, Action::PageUp, 30), 0);
        assert_eq!(moved(7, Action::Top, 30), 0);
        assert_eq!(moved(7, Action::Bottom, 30), 29);
    }

    #[test]
    fn an_empty_list_keeps_the_selection_at_zero() {
        for action in [
            Action::Down,
            Action::Up,
            Action::PageDown,
            Action::PageUp,
            Action::Top,
            Action::Bottom,
        ] {
            assert_eq!(moved(0, action, 0), 0);
        }
    }

    #[test]
    fn other_actions_are_left_to_the_list() {
        let mut selection = Selection { index: 2 };
        assert!(!selection.apply(&Action::Open, 5, 10));
        assert!(!selection.apply(&Action::Insert('j'), 5, 10));
        assert_eq!(selection.index(), 2);
    }

    #[test]
    fn clamping_and_the_end_of_what_is_loaded() {
        let mut selection = Selection { index: 8 };
        assert!(selection.near_end(12, 4));
        assert!(!selection.near_end(13, 4));
        selection.clamp(3);
        assert_eq!(selection.index(), 2, "kept as far as the rows reach");
        selection.clamp(0);
        assert_eq!(selection.index(), 0);
    }

    #[test]
    fn the_keys_route_to_the_moves_and_name_the_rows() {
        let bindings = bindings(MoveWords {
            next: "next row",
            previous: "previous row",
            first: "first row",
            last: "last row",
        });
        let press = |code| KeyEvent::new(code, KeyModifiers::NONE);
        for (code, action) in [
            (KeyCode::Char('j'), Action::Down),
            (KeyCode::Down, Action::Down),
            (KeyCode::Char('k'), Action::Up),
            (KeyCode::Up, Action::Up),
            (KeyCode::PageDown, Action::PageDown),
            (KeyCode::PageUp, Action::PageUp),
            (KeyCode::Char('g'), Action::Top),
            (KeyCode::Home, Action::Top),
            (KeyCode::Char('G'), Action::Bottom),
            (KeyCode::End, Action::Bottom),
        ] {
            assert_eq!(keymap::route(&bindings, &press(code)), Some(action));
        }
        assert_eq!(
            keymap::footer(&bindings),
            "j/↓ next row · k/↑ previous row · PgDn page down · PgUp page up · \
             g/Home first row · G/End last row"
        );
    }
}
