//! Asks before deleting, and says what a delete keeps and what it does not,
//! since it cannot be undone. Only `y` deletes: Enter, pressed once more
//! than meant, must not.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::status_line::Message;
use super::{Component, popup_area};
use crate::action::Action;
use crate::effect::{Effect, sends};
use crate::keymap::{self, Binding, Key};
use crate::request::Request;
use crate::theme;

#[derive(Debug)]
pub struct DeletePopup {
    id: String,
    name: String,
    sending: bool,
}

impl DeletePopup {
    pub fn new(id: String, name: String) -> DeletePopup {
        DeletePopup {
            id,
            name,
            sending: false,
        }
    }

    pub fn confirm(&mut self) -> Option<Request> {
        if self.sending {
            return None;
        }
        self.sending = true;
        Some(Request::Delete {
            id: self.id.clone(),
            name: self.name.clone(),
        })
    }
}

impl Component for DeletePopup {
    fn title(&self) -> String {
        "Delete contact".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        vec![
            Binding::new(&[Key::Char('y')], "delete", Action::Confirm),
            Binding::new(
                &[Key::Char('n'), Key::Code(KeyCode::Esc), Key::Char('q')],
                "keep the contact",
                Action::Cancel,
            ),
        ]
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            Action::Confirm => {
                let mut effects = vec![Effect::Status(Message::info("Deleting…"))];
                effects.extend(sends(self.confirm()));
                effects
            }
            Action::Cancel => vec![Effect::ClosePopup],
            _ => Vec::new(),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let footer = if self.sending {
            Line::styled("Deleting…", theme::dim())
        } else {
            Line::styled(keymap::footer(&self.bindings()), theme::key())
        };
        let lines = vec![
            Line::styled(format!("Delete {} permanently?", self.name), theme::title()),
            Line::default(),
            Line::styled("Kept:", theme::success()),
            Line::from("• activities and meetings, for reporting (no longer linked to it)"),
            Line::from("• scheduled reminders: they still go out"),
            Line::styled("Not kept:", theme::error()),
            Line::from("• the contact record, permanently; its email and phone become free"),
            Line::from("• connected CRMs (HubSpot, Salesforce) are not touched"),
            Line::default(),
            footer,
        ];
        let wrap = Wrap { trim: false };
        let popup = popup_area::fitted(area, 76, &lines, wrap, 0);
        let text = Paragraph::new(lines).wrap(wrap);
        frame.render_widget(Clear, popup);
        let block = Block::bordered().title(Line::styled(" Delete contact ", theme::title()));
        frame.render_widget(text.block(block), popup);
    }
}
