//! A yes-or-no question before something that loses work: leaving a form
//! with unsaved edits, quitting while one is open. Only `y` says yes, so
//! a key pressed twice by habit (Enter, Esc) can never discard anything.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::{Component, popup_area};
use crate::action::Action;
use crate::effect::Effect;
use crate::keymap::{self, Binding, Key};
use crate::theme;

#[derive(Debug)]
pub struct ConfirmPopup {
    title: String,
    lines: Vec<String>,
    yes: &'static str,
    no: &'static str,
    /// What `y` does, once; the popup closes first.
    on_yes: Option<Vec<Effect>>,
}

impl ConfirmPopup {
    pub fn new(
        title: impl Into<String>,
        lines: Vec<String>,
        (yes, no): (&'static str, &'static str),
        on_yes: Vec<Effect>,
    ) -> ConfirmPopup {
        ConfirmPopup {
            title: title.into(),
            lines,
            yes,
            no,
            on_yes: Some(on_yes),
        }
    }

    /// Esc on a form with unsaved edits: `y` closes the form.
    pub fn discard_edits(what: &str) -> ConfirmPopup {
        ConfirmPopup::new(
            "Discard changes?",
            vec![format!("Your changes to {what} are not saved.")],
            ("discard them", "keep editing"),
            vec![Effect::Close, Effect::ClearStatus],
        )
    }

    pub fn title_text(&self) -> &str {
        &self.title
    }
}

impl Component for ConfirmPopup {
    fn title(&self) -> String {
        self.title.clone()
    }

    fn bindings(&self) -> Vec<Binding> {
        vec![
            Binding::new(&[Key::Char('y')], self.yes, Action::Confirm),
            Binding::new(
                &[Key::Char('n'), Key::Code(KeyCode::Esc), Key::Char('q')],
                self.no,
                Action::Cancel,
            ),
        ]
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            Action::Confirm => {
                let mut effects = vec![Effect::ClosePopup];
                effects.extend(self.on_yes.take().unwrap_or_default());
                effects
            }
            Action::Cancel => vec![Effect::ClosePopup],
            _ => Vec::new(),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let mut lines: Vec<Line> = self.lines.iter().map(|l| Line::from(l.clone())).collect();
        lines.push(Line::default());
        lines.push(Line::styled(keymap::footer(&self.bindings()), theme::key()));
        let wrap = Wrap { trim: true };
        let popup = popup_area::fitted(area, 64, &lines, wrap, 0);
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

    #[test]
    fn only_y_says_yes_and_only_once() {
        let mut popup = ConfirmPopup::discard_edits("Ada");
        let enter =
            crossterm::event::KeyEvent::new(KeyCode::Enter, crossterm::event::KeyModifiers::NONE);
        assert_eq!(keymap::route(&popup.bindings(), &enter), None);
        assert!(matches!(
            popup.handle(&Action::Cancel).as_slice(),
            [Effect::ClosePopup]
        ));
        assert!(matches!(
            popup.handle(&Action::Confirm).as_slice(),
            [Effect::ClosePopup, Effect::Close, Effect::ClearStatus]
        ));
        assert!(matches!(
            popup.handle(&Action::Confirm).as_slice(),
            [Effect::ClosePopup]
        ));
    }
}
