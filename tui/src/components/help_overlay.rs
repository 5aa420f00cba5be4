//! The `?` overlay. It holds no key list of its own: it is opened with the
//! bindings of the components under it, the same lists that route keys.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::{Component, popup_area, text_fit};
use crate::action::Action;
use crate::effect::Effect;
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

    fn scroll(&mut self, action: &Action) {
        // The height is known only when drawing, which clamps further;
        // this keeps `k` from having to climb back from far past the end.
        let last =
            u16::try_from(self.lines(true, false).len().saturating_sub(1)).unwrap_or(u16::MAX);
        match action {
            Action::Down => self.scroll = self.scroll.saturating_add(1).min(last),
            Action::Up => self.scroll = self.scroll.saturating_sub(1),
            _ => {}
        }
    }

    /// The sections, one line per binding; `spaced` puts a blank line
    /// between sections, left out when the screen is too short for it;
    /// `paired` puts two short bindings side by side on a row, the last
    /// resort before scrolling.
    fn lines(&self, spaced: bool, paired: bool) -> Vec<Line<'static>> {
        let width = self
            .sections
            .iter()
            .flat_map(|(_, bindings)| bindings)
            .map(|binding| binding.keys_label().chars().count())
            .max()
            .unwrap_or(0);
        let entry = |binding: &Binding| {
            vec![
                Span::styled(
                    format!("  {:>width$}  ", binding.keys_label()),
                    theme::key(),
                ),
                Span::raw(binding.description),
            ]
        };
        // Half the overlay's inner width, less a gap.
        let half = usize::from(MAX_WIDTH.saturating_sub(2) / 2);
        let fits_half = |binding: &Binding| width + 4 + text_fit::width(binding.description) < half;
        let mut lines = Vec::new();
        for (title, bindings) in &self.sections {
            if spaced && !lines.is_empty() {
                lines.push(Line::default());
            }
            lines.push(Line::styled(title.clone(), theme::title()));
            let mut rest = bindings.iter().peekable();
            while let Some(binding) = rest.next() {
                let mut spans = entry(binding);
                if paired
                    && fits_half(binding)
                    && let Some(next) = rest.next_if(|next| fits_half(next))
                {
                    let used = width + 4 + text_fit::width(binding.description);
                    spans.push(Span::raw(" ".repeat(half - used)));
                    spans.extend(entry(next));
                }
                lines.push(Line::from(spans));
            }
        }
        lines
    }
}

/// The overlay's widest, borders included.
const MAX_WIDTH: u16 = 72;

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

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        self.scroll(action);
        Vec::new()
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let room = usize::from(area.height.saturating_sub(2));
        let mut lines = self.lines(true, false);
        if lines.len() > room {
            lines = self.lines(false, false);
        }
        // Side by side only in a popup as wide as the pairs were made for.
        if lines.len() > room && popup_area::large_width(area, MAX_WIDTH) == MAX_WIDTH {
            lines = self.lines(false, true);
        }
        let height = u16::try_from(lines.len().saturating_add(2)).unwrap_or(u16::MAX);
        let popup = popup_area::large(area, MAX_WIDTH, height);
        // Never scrolled past the last line: what is hidden is only ever
        // below, and the footer says how much.
        let max_scroll = lines.len().saturating_sub(room);
        let scroll = usize::from(self.scroll).min(max_scroll);
        let below = max_scroll - scroll;
        let footer = match (scroll, below) {
            (0, 0) => " Esc close ".to_owned(),
            (_, 0) => " Esc close · k scroll up ".to_owned(),
            (_, below) => format!(" Esc close · j/k scroll · {below} more ↓ "),
        };
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .title(Line::styled(" Keys ", theme::title()))
            .title_bottom(Line::styled(footer, theme::dim()).right_aligned());
        frame.render_widget(
            Paragraph::new(lines)
                .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0))
                .block(block),
            popup,
        );
    }
}
