//! A message that needs acknowledging: a save the server refused in a way
//! the form cannot show beside a field.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::{Component, popup_area};
use crate::action::Action;
use crate::effect::Effect;
use crate::keymap::{self, Binding, Key};
use crate::model::ContactField;
use crate::theme;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    title: String,
    lines: Vec<String>,
}

impl Notice {
    pub fn new(title: impl Into<String>, lines: Vec<String>) -> Notice {
        Notice {
            title: title.into(),
            lines,
        }
    }

    /// `CANNOT_SAVE_CONTACT`: the identity belongs to a contact out of the
    /// user's reach. Only an administrator can see both records.
    pub fn cannot_save(field: Option<&str>) -> Notice {
        let what = match field {
            Some(field) => ContactField::label_of(field).to_lowercase(),
            None => "email or mobile phone".to_owned(),
        };
        Notice::new(
            "Cannot Save Contact",
            vec![
                format!(
                    "The {what} you entered belongs to a contact you do not have permission to access."
                ),
                "Nothing was saved.".to_owned(),
                String::new(),
                "Reach out to your administrator to resolve the contact record conflict."
                    .to_owned(),
            ],
        )
    }

    /// `CONFLICT`: someone saved the record after it was read.
    pub fn conflict() -> Notice {
        Notice::new(
            "Contact changed meanwhile",
            vec![
                "Someone changed this contact (or the one it would merge into) after you opened it. Nothing was saved.".to_owned(),
                String::new(),
                "Cancel the form, reload with r, and make your change again.".to_owned(),
            ],
        )
    }

    pub fn title_text(&self) -> &str {
        &self.title
    }
}

impl Component for Notice {
    fn title(&self) -> String {
        self.title.clone()
    }

    fn bindings(&self) -> Vec<Binding> {
        vec![Binding::new(
            &[
                Key::Code(KeyCode::Enter),
                Key::Code(KeyCode::Esc),
                Key::Char('q'),
            ],
            "close",
            Action::Cancel,
        )]
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            Action::Cancel => vec![Effect::ClosePopup],
            _ => Vec::new(),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let mut lines: Vec<Line> = self.lines.iter().map(|l| Line::from(l.clone())).collect();
        lines.push(Line::default());
        lines.push(Line::styled(keymap::footer(&self.bindings()), theme::key()));
        let wrap = Wrap { trim: true };
        let popup = popup_area::fitted(area, 70, &lines, wrap, 0);
        let text = Paragraph::new(lines).wrap(wrap);
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .border_style(theme::error())
            .title(Line::styled(format!(" {} ", self.title), theme::title()));
        frame.render_widget(text.block(block), popup);
    }
}
