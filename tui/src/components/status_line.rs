//! The bottom line: the last thing that happened on the left, who is
//! signed in where and how to get help on the right.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::theme;

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
    pub user: Option<&'a str>,
    pub server: &'a str,
    /// The key that opens the help where focus is: `?` types itself into
    /// a text field, so there it is F1.
    pub help_key: &'a str,
}

impl StatusLine<'_> {
    pub fn draw(&self, frame: &mut Frame, area: Rect) {
        let who = match self.user {
            Some(user) => format!("{user} @ {}", host(self.server)),
            None => host(self.server).to_owned(),
        };
        let right = Line::from(vec![
            Span::styled(format!(" {who} "), theme::dim()),
            Span::styled(format!("{} ", self.help_key), theme::key()),
            Span::raw("help "),
        ]);
        let right_width = (right.width() as u16).min(area.width / 2);
        let [left_area, right_area] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(right_width)]).areas(area);

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
        frame.render_widget(Paragraph::new(Line::from(left)), left_area);
        frame.render_widget(Paragraph::new(right.right_aligned()), right_area);
    }
}

/// `http://127.0.0.1:8080/graphql` as `127.0.0.1:8080`: the part that tells
/// servers apart.
fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}
