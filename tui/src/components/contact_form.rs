//! Create and edit. The server is the judge of what is valid: its
//! `VALIDATION` errors come back naming a field; each marks its field and
//! all are listed, wrapped, below the fields, so none is cut off. An edit
//! sends only the fields that changed, with the version it read; leaving
//! with unsaved edits asks first. It shows only the fields the user may
//! write (their field policies); the detail screen shows the rest.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::text::Span;
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::confirm_popup::ConfirmPopup;
use super::status_line::Message;
use super::text_input::{self, TextInput};
use super::{Component, Popup};
use crate::action::Action;
use crate::api::FieldError;
use crate::effect::Effect;
use crate::keymap::{self, Binding, Key};
use crate::model::{Contact, ContactField, FieldRights, PolicyField};
use crate::request::{Request, SaveRequest, SaveTarget};
use crate::theme;

#[derive(Debug)]
enum Mode {
    Create,
    Edit { original: Box<Contact> },
}

#[derive(Debug)]
pub struct ContactForm {
    mode: Mode,
    /// The fields shown: those the user may write, in the usual order.
    fields: Vec<ContactField>,
    /// One per field shown.
    values: Vec<TextInput>,
    focus: usize,
    /// One per field shown.
    errors: Vec<Option<String>>,
    /// An error that names no field of the form.
    general_error: Option<String>,
    saving: bool,
    /// The save last sent: an answer to another one (a merge prompt's,
    /// the prompt since closed) is not the form's.
    sent: Option<SaveRequest>,
}

/// What pressing save led to, for the app to act on.
#[derive(Debug, PartialEq, Eq)]
pub enum SaveStep {
    Send(Request),
    /// An edit that changes nothing needs no request.
    NothingChanged,
    /// A save is already in flight.
    Busy,
}

impl ContactForm {
    /// A new contact, with the fields `rights` lets the user write.
    pub fn create(rights: FieldRights) -> ContactForm {
        let fields: Vec<ContactField> = ContactField::ALL
            .into_iter()
            .filter(|&field| rights.may_write(PolicyField::of(field)))
            .collect();
        ContactForm {
            mode: Mode::Create,
            values: vec![TextInput::default(); fields.len()],
            errors: vec![None; fields.len()],
            fields,
            focus: 0,
            general_error: None,
            saving: false,
            sent: None,
        }
    }

    /// `contact` as read, with the fields the user may write.
    pub fn edit(contact: &Contact) -> ContactForm {
        let form = ContactForm::create(contact.rights);
        let values = form
            .fields
            .iter()
            .map(|&field| TextInput::new(contact.value(field).unwrap_or("")))
            .collect();
        ContactForm {
            mode: Mode::Edit {
                original: Box::new(contact.clone()),
            },
            values,
            ..form
        }
    }

    /// The fields shown, in order.
    pub fn fields(&self) -> &[ContactField] {
        &self.fields
    }

    fn index_of(&self, field: ContactField) -> Option<usize> {
        self.fields.iter().position(|f| *f == field)
    }

    pub fn value(&self, field: ContactField) -> &str {
        self.index_of(field)
            .and_then(|index| self.values.get(index))
            .map_or("", TextInput::value)
    }

    pub fn error(&self, field: ContactField) -> Option<&str> {
        self.errors.get(self.index_of(field)?)?.as_deref()
    }

    pub fn general_error(&self) -> Option<&str> {
        self.general_error.as_deref()
    }

    pub fn editing_id(&self) -> Option<&str> {
        match &self.mode {
            Mode::Create => None,
            Mode::Edit { original } => Some(&original.id),
        }
    }

    pub fn focused_field(&self) -> Option<ContactField> {
        self.fields.get(self.focus).copied()
    }

    /// The fields to send: on create every filled one, on edit the ones
    /// that differ from what was read (a cleared one as blank, which the
    /// server reads as "clear").
    pub fn changes(&self) -> Vec<(ContactField, String)> {
        self.fields
            .iter()
            .copied()
            .zip(&self.values)
            .map(|(field, input)| (field, input.value()))
            .filter(|(field, value)| match &self.mode {
                Mode::Create => !value.trim().is_empty(),
                Mode::Edit { original } => original.value(*field).unwrap_or("") != *value,
            })
            .map(|(field, value)| (field, value.to_owned()))
            .collect()
    }

    /// Whether leaving now would lose something typed.
    pub fn has_unsaved_edits(&self) -> bool {
        !self.changes().is_empty()
    }

    /// What the title and the discard question call the contact.
    fn subject(&self) -> String {
        match &self.mode {
            Mode::Create => "the new contact".to_owned(),
            Mode::Edit { original } => original.display_name(),
        }
    }

    pub fn save(&mut self) -> SaveStep {
        if self.saving {
            return SaveStep::Busy;
        }
        let changes = self.changes();
        let target = match &self.mode {
            Mode::Create => SaveTarget::Create,
            Mode::Edit { original } => {
                if changes.is_empty() {
                    return SaveStep::NothingChanged;
                }
                SaveTarget::Update {
                    id: original.id.clone(),
                    expected_version: original.version,
                }
            }
        };
        self.saving = true;
        let request = SaveRequest {
            target,
            changes,
            choices: Vec::new(),
            confirm_survivor_version: None,
        };
        self.sent = Some(request.clone());
        SaveStep::Send(Request::Save(request))
    }

    /// Whether `request` is the save the form sent and waits for.
    pub fn awaits(&self, request: &SaveRequest) -> bool {
        self.saving && self.sent.as_ref() == Some(request)
    }

    /// The save ended without saving (errors, a preview, a refusal).
    pub fn save_ended(&mut self) {
        self.saving = false;
    }

    /// Shows the server's validation errors beside their fields. Clears
    /// earlier ones: they described the previous attempt.
    pub fn set_errors(&mut self, errors: &[FieldError]) {
        self.saving = false;
        self.errors = vec![None; self.fields.len()];
        self.general_error = None;
        let mut first_bad = None;
        for error in errors {
            let index = error
                .field
                .as_deref()
                .and_then(ContactField::from_input_name)
                .and_then(|field| self.index_of(field));
            match index {
                Some(index) => {
                    first_bad.get_or_insert(index);
                    if let Some(slot) = self.errors.get_mut(index) {
                        *slot = Some(error.message.clone());
                    }
                }
                None => {
                    // A field the form does not edit (`ownerId`, one the
                    // user may not write) is named in words; several such
                    // errors are all kept.
                    let message = match &error.field {
                        Some(name) => {
                            format!("{}: {}", ContactField::label_of(name), error.message)
                        }
                        None => error.message.clone(),
                    };
                    self.general_error = Some(match self.general_error.take() {
                        Some(earlier) => format!("{earlier}; {message}"),
                        None => message,
                    });
                }
            }
        }
        if let Some(index) = first_bad {
            self.focus = index;
        }
    }

    pub fn set_general_error(&mut self, message: String) {
        self.saving = false;
        self.general_error = Some(message);
    }

    pub fn update(&mut self, action: &Action) {
        if let Some(input) = self.values.get_mut(self.focus)
            && input.apply(action) != text_input::Edit::NotMine
        {
            return;
        }
        let count = self.fields.len().max(1);
        match action {
            Action::NextField | Action::Down => self.focus = (self.focus + 1) % count,
            Action::PreviousField | Action::Up => {
                self.focus = (self.focus + count - 1) % count;
            }
            _ => {}
        }
    }

    /// Below the fields: saving, or every error of the last save, each
    /// whole (the area wraps them).
    fn message_lines(&self) -> Vec<Line<'static>> {
        if self.saving {
            return vec![Line::styled("Saving…", theme::dim())];
        }
        let mut lines: Vec<Line> = self
            .fields
            .iter()
            .zip(&self.errors)
            .filter_map(|(field, error)| {
                let error = error.as_ref()?;
                Some(Line::from(vec![
                    Span::styled(format!("✗ {}: ", field.label()), theme::error()),
                    Span::styled(error.clone(), theme::error()),
                ]))
            })
            .collect();
        if let Some(error) = &self.general_error {
            lines.push(Line::styled(format!("✗ {error}"), theme::error()));
        }
        lines
    }

    fn footer_bindings(&self) -> Vec<Binding> {
        self.bindings().into_iter().take(3).collect()
    }
}

impl Component for ContactForm {
    fn title(&self) -> String {
        "Contact form".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        vec![
            Binding::new(
                &[Key::Code(KeyCode::Enter), Key::Ctrl('s')],
                "save",
                Action::Save,
            ),
            Binding::new(
                &[Key::Code(KeyCode::Tab), Key::Code(KeyCode::Down)],
                "next field",
                Action::NextField,
            ),
            Binding::new(&[Key::Code(KeyCode::Esc)], "cancel", Action::Cancel),
            Binding::new(
                &[Key::Code(KeyCode::BackTab), Key::Code(KeyCode::Up)],
                "previous field",
                Action::PreviousField,
            ),
        ]
        .into_iter()
        .chain(text_input::bindings("clear the field"))
        .chain([Binding::typing("type into the field")])
        .collect()
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            Action::Cancel if self.has_unsaved_edits() => vec![Effect::Popup(Popup::Confirm(
                ConfirmPopup::discard_edits(&self.subject()),
            ))],
            Action::Cancel => vec![Effect::Close, Effect::ClearStatus],
            Action::Save => match self.save() {
                SaveStep::Send(request) => vec![
                    Effect::Status(Message::info("Saving…")),
                    Effect::Send(request),
                ],
                SaveStep::NothingChanged => vec![
                    Effect::Close,
                    Effect::Status(Message::info("Nothing changed.")),
                ],
                SaveStep::Busy => Vec::new(),
            },
            action => {
                self.update(action);
                Vec::new()
            }
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let title = match &self.mode {
            Mode::Create => " New contact ".to_owned(),
            Mode::Edit { original } => format!(" Edit {} ", original.display_name()),
        };
        let block = Block::bordered().title(Line::styled(title, theme::title()));
        let inner = block.inner(area);
        frame.render_widget(block, area);

        let mut constraints = vec![Constraint::Length(1); self.fields.len()];
        // A blank row, the errors (as many rows as they wrap to), the keys.
        constraints.push(Constraint::Length(1));
        constraints.push(Constraint::Fill(1));
        constraints.push(Constraint::Length(1));
        let rows = Layout::vertical(constraints).split(inner);

        let value_width = (inner.width.saturating_sub(16) / 2).clamp(10, 48);
        for (index, &field) in self.fields.iter().enumerate() {
            let Some(row) = rows.get(index) else { continue };
            let [label_area, value_area, error_area] = Layout::horizontal([
                Constraint::Length(15),
                Constraint::Length(value_width),
                Constraint::Fill(1),
            ])
            .spacing(1)
            .areas(*row);
            let focused = index == self.focus;
            let label_style = if focused {
                theme::title()
            } else {
                theme::label()
            };
            frame.render_widget(
                Paragraph::new(Line::styled(format!("{:>14}", field.label()), label_style)),
                label_area,
            );
            let style = if focused {
                theme::focused_input()
            } else {
                Default::default()
            };
            if let Some(input) = self.values.get(index) {
                input.draw(frame, value_area, focused, style);
            }
            if let Some(Some(_)) = self.errors.get(index) {
                frame.render_widget(
                    Paragraph::new(Line::styled("✗", theme::error())),
                    error_area,
                );
            }
        }

        if let Some(area) = rows.get(self.fields.len() + 1) {
            frame.render_widget(
                Paragraph::new(self.message_lines()).wrap(Wrap { trim: true }),
                *area,
            );
        }
        if let Some(row) = rows.last() {
            let footer = keymap::footer(&self.footer_bindings());
            frame.render_widget(Paragraph::new(Line::styled(footer, theme::dim())), *row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_sends_only_changed_fields_and_the_version() {
        let contact = Contact {
            id: "c1".into(),
            first_name: Some("Ada".into()),
            company: Some("Acme".into()),
            email: Some("ada@example.com".into()),
            version: 4,
            ..Contact::default()
        };
        let mut form = ContactForm::edit(&contact);
        assert_eq!(form.save(), SaveStep::NothingChanged);

        // Focus moves to company, which is cleared; email is retyped.
        for _ in 0..4 {
            form.update(&Action::NextField);
        }
        form.update(&Action::ClearField);
        form.update(&Action::PreviousField);
        form.update(&Action::PreviousField);
        form.update(&Action::ClearField);
        for c in "bea@example.com".chars() {
            form.update(&Action::Insert(c));
        }
        let SaveStep::Send(Request::Save(request)) = form.save() else {
            panic!("a changed form sends a save");
        };
        assert_eq!(
            request.target,
            SaveTarget::Update {
                id: "c1".into(),
                expected_version: 4
            }
        );
        assert_eq!(
            request.changes,
            vec![
                (ContactField::Email, "bea@example.com".to_owned()),
                (ContactField::Company, String::new()),
            ]
        );
        assert_eq!(form.save(), SaveStep::Busy);
    }

    #[test]
    fn validation_errors_land_beside_their_field() {
        let mut form = ContactForm::create(FieldRights::ALL);
        form.set_errors(&[
            FieldError {
                field: Some("mobilePhone".into()),
                message: "not a phone number".into(),
            },
            FieldError {
                field: None,
                message: "something else".into(),
            },
        ]);
        assert_eq!(
            form.error(ContactField::MobilePhone),
            Some("not a phone number")
        );
        assert_eq!(form.focused_field(), Some(ContactField::MobilePhone));
        assert_eq!(form.general_error(), Some("something else"));
    }
}
