//! What the user sees instead of a panic or an empty table when the server
//! cannot be reached or refuses the token, with what to do about it. An
//! unreachable server is asked again by itself, waiting longer after each
//! failure (`backoff`); what was on screen stays under the box, and a form
//! with unsaved edits is never lost by a `q` here without a `y`.

use std::time::Duration;

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::{Component, popup_area};
use crate::action::Action;
use crate::effect::Effect;
use crate::keymap::{self, Binding, Key};
use crate::request::Request;
use crate::theme;

/// The wait before the first automatic retry; each failure doubles it.
pub const RECONNECT_FIRST: Duration = Duration::from_secs(1);
/// The longest wait between two automatic retries.
pub const RECONNECT_MAX: Duration = Duration::from_secs(30);

/// The wait before automatic retry number `attempt` (1 is the first).
pub fn backoff(attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    RECONNECT_FIRST
        .saturating_mul(1 << doublings)
        .min(RECONNECT_MAX)
}

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
    /// A round of requests is on its way to the server.
    retrying: bool,
    /// Automatic retries scheduled so far.
    attempt: u32,
    /// An automatic retry is scheduled and not yet due.
    waiting: bool,
    /// A form with unsaved edits lies under the box.
    unsaved: bool,
    /// `q` was pressed over unsaved edits: `y` quits.
    confirming_quit: bool,
}

impl ConnectionScreen {
    pub fn new(problem: Problem, url: String, has_token: bool, unsaved: bool) -> ConnectionScreen {
        ConnectionScreen {
            problem,
            url,
            has_token,
            retrying: false,
            attempt: 0,
            waiting: false,
            unsaved,
            confirming_quit: false,
        }
    }

    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// Whether an automatic retry is scheduled: a failure now belongs to
    /// the round that already failed.
    pub fn is_waiting(&self) -> bool {
        self.waiting
    }

    /// The round of requests failed (again): schedules the next automatic
    /// retry, later each time. A refused token is not retried: only the
    /// user can fix it.
    pub fn failed(&mut self, problem: Problem) -> Option<Request> {
        self.problem = problem;
        self.retrying = false;
        if self.problem == Problem::Unauthenticated {
            self.waiting = false;
            return None;
        }
        self.attempt = self.attempt.saturating_add(1);
        self.waiting = true;
        Some(Request::RetryAfter {
            attempt: self.attempt,
            after: backoff(self.attempt),
        })
    }

    /// Automatic retry `attempt` is due: whether to ask the server again
    /// (not if the user did meanwhile).
    pub fn retry_due(&mut self, attempt: u64) -> bool {
        if !self.waiting || u64::from(self.attempt) != attempt {
            return false;
        }
        self.waiting = false;
        self.retrying = true;
        true
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

    /// What is going on, below the explanation.
    fn state_line(&self) -> Option<Line<'static>> {
        if self.retrying {
            return Some(Line::styled("Trying again…", theme::dim()));
        }
        if self.waiting {
            return Some(Line::styled(
                format!(
                    "Trying again by itself within {} s (attempt {}).",
                    backoff(self.attempt).as_secs(),
                    self.attempt
                ),
                theme::dim(),
            ));
        }
        None
    }
}

impl Component for ConnectionScreen {
    fn title(&self) -> String {
        "Connection".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        if self.confirming_quit {
            return vec![
                Binding::new(&[Key::Char('y')], "quit, losing the edits", Action::Confirm),
                Binding::new(
                    &[Key::Char('n'), Key::Code(KeyCode::Esc), Key::Char('q')],
                    "keep them and wait",
                    Action::Cancel,
                ),
            ];
        }
        vec![
            Binding::new(&[Key::Char('r')], "try again now", Action::Reload),
            Binding::new(
                &[Key::Char('q'), Key::Code(KeyCode::Esc)],
                if self.unsaved {
                    "quit (asks: a form is not saved)"
                } else {
                    "quit"
                },
                Action::Back,
            ),
        ]
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            Action::Reload => {
                self.retrying = true;
                self.waiting = false;
                vec![Effect::Reconnect]
            }
            Action::Back if self.unsaved => {
                self.confirming_quit = true;
                Vec::new()
            }
            Action::Back | Action::Confirm => vec![Effect::Quit],
            Action::Cancel => {
                self.confirming_quit = false;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let (title, mut lines) = self.lines();
        if self.unsaved {
            lines.push(Line::default());
            lines.push(Line::styled(
                "Your unsaved form is kept under this box; save it once the server is back.",
                theme::warning(),
            ));
        }
        lines.push(Line::default());
        lines.extend(self.state_line());
        if self.confirming_quit {
            lines.push(Line::styled(
                "Quit and lose the unsaved form?",
                theme::warning(),
            ));
        }
        lines.push(Line::styled(keymap::footer(&self.bindings()), theme::key()));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_a_cap() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(6), RECONNECT_MAX);
        assert_eq!(backoff(u32::MAX), RECONNECT_MAX);
    }

    #[test]
    fn q_over_unsaved_edits_asks_and_a_refused_token_is_not_retried() {
        let mut screen = ConnectionScreen::new(
            Problem::Unreachable("down".to_owned()),
            "http://x/graphql".to_owned(),
            true,
            true,
        );
        assert!(screen.handle(&Action::Back).is_empty(), "q asks first");
        assert!(
            screen.handle(&Action::Cancel).is_empty(),
            "n keeps the form"
        );
        screen.handle(&Action::Back);
        assert!(matches!(
            screen.handle(&Action::Confirm).as_slice(),
            [Effect::Quit]
        ));

        assert!(screen.failed(Problem::Unauthenticated).is_none());
        assert!(!screen.is_waiting());
        let Some(Request::RetryAfter { attempt, .. }) =
            screen.failed(Problem::Unreachable("down".to_owned()))
        else {
            panic!("an unreachable server is retried");
        };
        assert!(screen.retry_due(u64::from(attempt)));
        assert!(!screen.retry_due(u64::from(attempt)), "once");
    }
}
