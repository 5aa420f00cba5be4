//! What the user sees instead of a panic or an empty table when the server
//! cannot be reached or refuses the token, with what to do about it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::{Component, popup_area};
use crate::action::Action;
use crate::effect::Effect;
use crate::keymap::{self, Binding, Key};
use crate::theme;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Unreachable(String),
    Unauthenticated,
}

#[derive(Debug)]
pub struct ConnectionScreen {
    problem: Problem,
    url: String,
    has_token: bool,
    retrying: bool,
}

impl ConnectionScreen {
    pub fn new(problem: Problem, url: String, has_token: bool) -> ConnectionScreen {
        ConnectionScreen {
            problem,
            url,
            has_token,
            retrying: false,
        }
    }

    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    fn lines(&self) -> (String, Vec<Line<'static>>) {
        match &self.problem {
            Problem::Unreachable(reason) => (
                " Server unreachable ".to_owned(),
                vec![
                    Line::from(format!("Cannot reach the contacts server at {}", self.url)),
                    Line::styled(format!("({reason})"), theme::dim()),
                    Line::default(),
                    Line::from(
                        "Is `contacts-server serve` running there? Point the client elsewhere with --url, CONTACTS_URL or `url` in the config file.",
                    ),
                ],
            ),
            Problem::Unauthenticated => (
                " Token refused ".to_owned(),
                vec![
                    Line::from(format!(
                        "The server at {} did not accept {}.",
                        self.url,
                        if self.has_token {
                            "the API token"
                        } else {
                            "a request without an API token"
                        }
                    )),
                    Line::default(),
                    Line::from(
                        "Create one with `contacts-server user create --name NAME --role ADMIN` and pass it with --token, CONTACTS_TOKEN or `token` in the config file.",
                    ),
                ],
            ),
        }
    }
}

impl Component for ConnectionScreen {
    fn title(&self) -> String {
        "Connection".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        vec![
            Binding::new(&[Key::Char('r')], "try again", Action::Reload),
            Binding::new(&[Key::Char('q')], "quit", Action::Quit),
        ]
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            Action::Reload => {
                self.retrying = true;
                vec![Effect::Reconnect]
            }
            _ => Vec::new(),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let (title, mut lines) = self.lines();
        lines.push(Line::default());
        lines.push(if self.retrying {
            Line::styled("Trying again…", theme::dim())
        } else {
            Line::styled(keymap::footer(&self.bindings()), theme::key())
        });
        let wrap = Wrap { trim: true };
        // One blank row below the keys.
        let popup = popup_area::fitted(area, 72, &lines, wrap, 1);
        let text = Paragraph::new(lines).wrap(wrap);
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .border_style(theme::error())
            .title(Line::styled(title, theme::title()));
        frame.render_widget(text.block(block), popup);
    }
}
