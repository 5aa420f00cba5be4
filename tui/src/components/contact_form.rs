//! Create and edit. The server is the judge of what is valid: its
//! `VALIDATION` errors come back naming a field; each marks its field and
//! all are listed, wrapped, below the fields, so none is cut off. An edit
//! sends only the fields that changed, with the version it read; leaving
//! with unsaved edits asks first.

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
use crate::model::{Contact, ContactField};
use crate::request::{Request, SaveRequest, SaveTarget};
use crate::theme;

const FIELD_COUNT: usize = ContactField::ALL.len();

#[derive(Debug)]
enum Mode {
    Create,
    Edit { original: Box<Contact> },
}

#[derive(Debug)]
pub struct ContactForm {
    mode: Mode,
    values: [TextInput; FIELD_COUNT],
    focus: usize,
    errors: [Option<String>; FIELD_COUNT],
    /// An error that names no field of the form.
    general_error: Option<String>,
    saving: bool,
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
    pub fn create() -> ContactForm {
        ContactForm {
            mode: Mode::Create,
            values: Default::default(),
            focus: 0,
            errors: Default::default(),
            general_error: None,
            saving: false,
        }
    }

    pub fn edit(contact: &Contact) -> ContactForm {
        let values =
            ContactField::ALL.map(|field| TextInput::new(contact.value(field).unwrap_or("")));
        ContactForm {
            mode: Mode::Edit {
                original: Box::new(contact.clone()),
            },
            values,
            ..ContactForm::create()
        }
    }

    pub fn value(&self, field: ContactField) -> &str {
        self.values
            .get(index_of(field))
            .map(TextInput::value)
            .unwrap_or("")
    }

    pub fn error(&self, field: ContactField) -> Option<&str> {
        self.errors.get(index_of(field))?.as_deref()
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

    pub fn focused_field(&self) -> ContactField {
        ContactField::ALL
            .get(self.focus)
            .copied()
            .unwrap_or(ContactField::FirstName)
    }

    /// The fields to send: on create every filled one, on edit the ones
    /// that differ from what was read (a cleared one as blank, which the
    /// server reads as "clear").
    pub fn changes(&self) -> Vec<(ContactField, String)> {
        ContactField::ALL
            .into_iter()
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
        SaveStep::Send(Request::Save(SaveRequest {
            target,
            changes,
            confirm_survivor_version: None,
        }))
    }

    /// The save ended without saving (errors, a preview, a refusal).
    pub fn save_ended(&mut self) {
        self.saving = false;
    }

    /// Shows the server's validation errors beside their fields. Clears
    /// earlier ones: they described the previous attempt.
    pub fn set_errors(&mut self, errors: &[FieldError]) {
        self.saving = false;
        self.errors = Default::default();
        self.general_error = None;
        let mut first_bad = None;
        for error in errors {
            let field = error
                .field
                .as_deref()
                .and_then(ContactField::from_input_name);
            match field {
                Some(field) => {
                    let index = index_of(field);
                    first_bad.get_or_insert(index);
                    if let Some(slot) = self.errors.get_mut(index) {
                        *slot = Some(error.message.clone());
                    }
                }
                None => {
                    // A field the form does not edit (`ownerId`) is named
                    // in words; several such errors are all kept.
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
        let Some(input) = self.values.get_mut(self.focus) else {
            return;
        };
        if input.apply(action) != text_input::Edit::NotMine {
            return;
        }
        match action {
            Action::NextField | Action::Down => self.focus = (self.focus + 1) % FIELD_COUNT,
            Action::PreviousField | Action::Up => {
                self.focus = (self.focus + FIELD_COUNT - 1) % FIELD_COUNT;
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
        let mut lines: Vec<Line> = ContactField::ALL
            .into_iter()
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

fn index_of(field: ContactField) -> usize {
    ContactField::ALL
        .iter()
        .position(|f| *f == field)
        .unwrap_or(0)
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

        let mut constraints = vec![Constraint::Length(1); FIELD_COUNT];
        // A blank row, the errors (as many rows as they wrap to), the keys.
        constraints.push(Constraint::Length(1));
        constraints.push(Constraint::Fill(1));
        constraints.push(Constraint::Length(1));
        let rows = Layout::vertical(constraints).split(inner);

        let value_width = (inner.width.saturating_sub(16) / 2).clamp(10, 48);
        for (index, field) in ContactField::ALL.into_iter().enumerate() {
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

        if let Some(area) = rows.get(FIELD_COUNT + 1) {
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
        let mut form = ContactForm::create();
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
        assert_eq!(form.focused_field(), ContactField::MobilePhone);
        assert_eq!(form.general_error(), Some("something else"));
    }
}
