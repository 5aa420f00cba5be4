//! The `?` overlay. It holds no key list of its own: it is opened with the
//! bindings of the components under it, the same lists that route keys.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::{Component, popup_area};
use crate::action::Action;
use crate::keymap::{Binding, Key};
use crate::theme;

#[derive(Debug)]
pub struct HelpOverlay {
    sections: Vec<(String, Vec<Binding>)>,
    scroll: u16,
}

impl HelpOverlay {
    pub fn new(sections: Vec<(String, Vec<Binding>)>) -> HelpOverlay {
        HelpOverlay {
            sections,
            scroll: 0,
        }
    }

    pub fn update(&mut self, action: &Action) {
        match action {
            Action::Down => self.scroll = self.scroll.saturating_add(1),
            Action::Up => self.scroll = self.scroll.saturating_sub(1),
            _ => {}
        }
    }

    fn lines(&self) -> Vec<Line<'static>> {
        let width = self
            .sections
            .iter()
            .flat_map(|(_, bindings)| bindings)
            .map(|binding| binding.keys_label().chars().count())
            .max()
            .unwrap_or(0);
        let mut lines = Vec::new();
        for (title, bindings) in &self.sections {
            if !lines.is_empty() {
                lines.push(Line::default());
            }
            lines.push(Line::styled(title.clone(), theme::title()));
            for binding in bindings {
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("  {:>width$}  ", binding.keys_label()),
                        theme::key(),
                    ),
                    Span::raw(binding.description),
                ]));
            }
        }
        lines
    }
}

impl Component for HelpOverlay {
    fn title(&self) -> String {
        "Help".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        vec![
            Binding::new(
                &[Key::Code(KeyCode::Esc), Key::Char('?'), Key::Char('q')],
                "close the help",
                Action::ToggleHelp,
            ),
            Binding::new(
                &[Key::Char('j'), Key::Code(KeyCode::Down)],
                "scroll down",
                Action::Down,
            ),
            Binding::new(
                &[Key::Char('k'), Key::Code(KeyCode::Up)],
                "scroll up",
                Action::Up,
            ),
        ]
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let lines = self.lines();
        let popup = popup_area::large(area, 72, lines.len() as u16 + 2);
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .title(Line::styled(" Keys ", theme::title()))
            .title_bottom(Line::styled(" Esc close · j/k scroll ", theme::dim()).right_aligned());
        frame.render_widget(
            Paragraph::new(lines).scroll((self.scroll, 0)).block(block),
            popup,
        );
    }
}
