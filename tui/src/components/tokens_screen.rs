//! A user's API tokens (ADMIN), newest first: label, when each was
//! created, expires, was last used and was revoked. `n` issues one (its
//! secret shown once), `d` revokes the selected one after a `y`. The
//! secrets themselves are never listed: the server keeps only hashes.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::confirm_popup::ConfirmPopup;
use super::paged_rows::PagedRows;
use super::selection::{self, MoveWords};
use super::status_line::Message;
use super::table_columns::{self, Column};
use super::text_fit;
use super::token_form::TokenForm;
use super::{Component, Popup, Screen};
use crate::action::Action;
use crate::effect::{Effect, sends};
use crate::keymap::{Binding, Key};
use crate::model::{ApiToken, User, short_time};
use crate::request::Request;
use crate::theme;

const COLUMNS: [Column; 5] = [
    Column::cut("Label", 12, 0),
    Column::whole("Created", 3),
    Column::whole("Expires", 1),
    Column::whole("Last used", 2),
    Column::whole("Revoked", 0),
];

#[derive(Debug)]
pub struct TokensScreen {
    user_id: String,
    user_name: String,
    tokens: PagedRows<ApiToken>,
}

impl TokensScreen {
    pub fn open(user: &User) -> (TokensScreen, Request) {
        let mut screen = TokensScreen {
            user_id: user.id.clone(),
            user_name: user.name.clone(),
            tokens: PagedRows::default(),
        };
        let request = screen.reload();
        (screen, request)
    }

    pub fn opened(user: &User) -> Vec<Effect> {
        let (screen, request) = TokensScreen::open(user);
        vec![Effect::open(Screen::Tokens(screen)), Effect::Send(request)]
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn tokens(&self) -> &[ApiToken] {
        self.tokens.rows()
    }

    pub fn selected_token(&self) -> Option<&ApiToken> {
        self.tokens.selected()
    }

    pub fn reload(&mut self) -> Request {
        Request::Tokens {
            generation: self.tokens.restart(),
            user_id: self.user_id.clone(),
            after: None,
        }
    }

    pub fn on_answer(&mut self, answer: &Action) -> Vec<Effect> {
        match answer {
            Action::TokensLoaded { generation, result } => {
                match self.tokens.apply(*generation, result.clone()) {
                    Some(err) => vec![Effect::Error(err)],
                    None => Vec::new(),
                }
            }
            // The form shows the secret; the list gains the token.
            Action::TokenIssued {
                user_id,
                result: Ok(_),
            } if *user_id == self.user_id => sends([self.reload()]),
            Action::TokenRevoked { id, result } if self.holds(id) => match result {
                Ok(token) => vec![
                    Effect::Status(Message::success(format!(
                        "Revoked {}'s token {}: it is refused from now on.",
                        self.user_name,
                        quoted(token)
                    ))),
                    Effect::Send(self.reload()),
                ],
                Err(err) => vec![Effect::Error(err.clone())],
            },
            _ => Vec::new(),
        }
    }

    fn holds(&self, id: &str) -> bool {
        self.tokens.rows().iter().any(|token| token.id == id)
    }

    fn ask_revoke(&self) -> Vec<Effect> {
        let Some(token) = self.tokens.selected() else {
            return Vec::new();
        };
        if let Some(at) = &token.revoked_at {
            return vec![Effect::Status(Message::info(format!(
                "That token was revoked on {}.",
                short_time(at)
            )))];
        }
        let popup = ConfirmPopup::new(
            "Revoke token?",
            vec![
                format!("Revoke {}'s token {}?", self.user_name, quoted(token)),
                "It is refused from the next request on, in every process. \
                 This cannot be undone: a new token can be issued instead."
                    .to_owned(),
            ],
            ("revoke it", "keep it"),
            vec![
                Effect::Status(Message::info("Revoking…")),
                Effect::Send(Request::RevokeToken {
                    id: token.id.clone(),
                }),
            ],
        );
        vec![Effect::Popup(Popup::Confirm(popup))]
    }
}

/// “laptop”, or "without a label".
fn quoted(token: &ApiToken) -> String {
    match token.label.as_deref() {
        Some(label) if !label.is_empty() => format!("\u{201c}{label}\u{201d}"),
        _ => "without a label".to_owned(),
    }
}

fn token_cells(token: &ApiToken) -> Vec<String> {
    let time = |at: &Option<String>, none: &str| at.as_deref().map_or(none.to_owned(), short_time);
    vec![
        token.label_or_blank().to_owned(),
        short_time(&token.created_at),
        time(&token.expires_at, "never"),
        time(&token.last_used_at, "never"),
        time(&token.revoked_at, "—"),
    ]
}

impl Component for TokensScreen {
    fn title(&self) -> String {
        "API tokens".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        let mut bindings = selection::bindings(MoveWords {
            next: "next token",
            previous: "previous token",
            first: "newest token",
            last: "oldest loaded token",
        });
        bindings.extend([
            Binding::new(&[Key::Char('n')], "issue a new token", Action::New),
            Binding::new(
                &[Key::Char('d')],
                "revoke the token (asks first)",
                Action::AskRevoke,
            ),
            Binding::new(&[Key::Char('r')], "reload", Action::Reload),
            Binding::new(
                &[Key::Code(KeyCode::Esc), Key::Char('q')],
                "back to the users",
                Action::Back,
            ),
        ]);
        bindings
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        if self.tokens.move_selection(action) {
            let next = self
                .tokens
                .next_page()
                .map(|(generation, after)| Request::Tokens {
                    generation,
                    user_id: self.user_id.clone(),
                    after,
                });
            return sends(next);
        }
        match action {
            Action::New => TokenForm::opened(&self.user_id, &self.user_name),
            Action::AskRevoke => self.ask_revoke(),
            Action::Reload => sends([self.reload()]),
            Action::Back => vec![Effect::Close],
            _ => Vec::new(),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let title = format!(
            " {}'s{}",
            self.user_name,
            self.tokens.title("API tokens").trim_end()
        );
        let title = text_fit::ellipsis(&title, usize::from(area.width.saturating_sub(4)));
        let block = Block::bordered().title(Line::styled(format!("{title} "), theme::title()));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if self.tokens.rows().is_empty() {
            let line = self
                .tokens
                .empty_line("tokens", "No tokens. Press n to issue one.");
            frame.render_widget(Paragraph::new(line), inner);
            return;
        }
        let cells: Vec<Vec<String>> = self.tokens.rows().iter().map(token_cells).collect();
        let styles: Vec<_> = self
            .tokens
            .rows()
            .iter()
            .map(|token| {
                if token.revoked_at.is_some() {
                    theme::dim()
                } else {
                    Default::default()
                }
            })
            .collect();
        table_columns::draw(
            frame,
            inner,
            &COLUMNS,
            &cells,
            &styles,
            Some(self.tokens.selected_index()),
        );
    }
}
