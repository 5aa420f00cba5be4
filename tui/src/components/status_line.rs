//! The bottom line: the last thing that happened on the left, who is
//! signed in where and how to get help on the right. A message too long
//! for one row wraps, at words, onto up to `MAX_ROWS` rows above the
//! screen's edge rather than being cut.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::popup_area;
use crate::theme;

/// The most rows a message takes: the screen is for the screens.
pub const MAX_ROWS: u16 = 3;
const WRAP: Wrap = Wrap { trim: true };

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Success,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub tone: Tone,
}

impl Message {
    pub fn info(text: impl Into<String>) -> Message {
        Message {
            text: text.into(),
            tone: Tone::Info,
        }
    }

    pub fn success(text: impl Into<String>) -> Message {
        Message {
            text: text.into(),
            tone: Tone::Success,
        }
    }

    pub fn error(text: impl Into<String>) -> Message {
        Message {
            text: text.into(),
            tone: Tone::Error,
        }
    }
}

/// Everything the line shows, gathered by the app for one frame.
pub struct StatusLine<'a> {
    pub message: Option<&'a Message>,
    pub busy: bool,
    /// Who is signed in, and as what role.
    pub user: Option<(&'a str, &'a str)>,
    pub server: &'a str,
    /// The key that opens the help where focus is: `?` types itself into
    /// a text field, so there it is F1.
    pub help_key: &'a str,
}

impl StatusLine<'_> {
    fn right(&self) -> Line<'static> {
        let who = match self.user {
            Some((user, role)) => format!("{user} ({role}) @ {}", host(self.server)),
            None => host(self.server).to_owned(),
        };
        Line::from(vec![
            Span::styled(format!(" {who} "), theme::dim()),
            Span::styled(format!("{} ", self.help_key), theme::key()),
            Span::raw("help "),
        ])
    }

    fn right_width(&self, width: u16) -> u16 {
        u16::try_from(self.right().width())
            .unwrap_or(u16::MAX)
            .min(width / 2)
    }

    /// How many rows the message needs at `width` columns, wrapped at
    /// words, at most `MAX_ROWS`.
    pub fn height(&self, width: u16) -> u16 {
        let room = width.saturating_sub(self.right_width(width));
        popup_area::text_height(&[self.left()], WRAP, room, MAX_ROWS).max(1)
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect) {
        let right = self.right();
        let right_width = self.right_width(area.width);
        let [left_area, right_area] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(right_width)]).areas(area);
        frame.render_widget(Paragraph::new(self.left()).wrap(WRAP), left_area);
        // Who and help stay on the last row, beside the end of the message.
        let right_row = Rect {
            y: area.bottom().saturating_sub(1),
            height: area.height.min(1),
            ..right_area
        };
        frame.render_widget(Paragraph::new(right.right_aligned()), right_row);
    }

    fn left(&self) -> Line<'static> {
        let mut left = Vec::new();
        if self.busy {
            left.push(Span::styled("⟳ ", theme::dim()));
        }
        if let Some(message) = self.message {
            let style = match message.tone {
                Tone::Info => Default::default(),
                Tone::Success => theme::success(),
                Tone::Error => theme::error(),
            };
            left.push(Span::styled(message.text.clone(), style));
        }
        Line::from(left)
    }
}

/// `http://127.0.0.1:8080/graphql` as `127.0.0.1:8080`: the part that tells
/// servers apart.
fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}
