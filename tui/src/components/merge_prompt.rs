//! The Merge Contacts prompt: a save hit an identity held by another
//! contact the user can reach. Shows, per field, the survivor's value, the
//! incoming one, which of the two the merge keeps and what it does.
//!
//! The user can move over the fields and keep the other side's value of
//! one (Space). The merge's own rule keeps a non-empty incoming value, so
//! a choice is a field kept on the survivor's side, or back on the
//! incoming one. Each flip asks the server for the preview again with the
//! choices, so the table always shows what the server will do; confirming
//! re-sends the same save with the same choices, `confirmMerge` and the
//! survivor's version from the preview. Only `y` confirms (the Enter that
//! saved the form, pressed twice, must not merge), and not while a flip's
//! preview is on its way: what is confirmed is what is shown.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{
    Block, Cell, Clear, HighlightSpacing, Paragraph, Row, Table, TableState, Wrap,
};

use super::status_line::Message;
use super::{Component, popup_area, text_fit};
use crate::action::Action;
use crate::api::ApiError;
use crate::effect::{Effect, sends};
use crate::keymap::{self, Binding, Key};
use crate::model::{ContactField, FieldChoice, FieldMerge, MergeOutcome, MergePreview, MergeSide};
use crate::request::{Request, SaveRequest};
use crate::theme;

/// Column widths of the table: field, kept side, outcome; the two values
/// share the rest. The cursor's mark takes two columns more.
const FIELD: u16 = 13;
const KEEP: u16 = 8;
const OUTCOME: u16 = 11;
const MARK: &str = "▸ ";
const MARK_WIDTH: u16 = 2;

#[derive(Debug)]
pub struct MergePrompt {
    preview: MergePreview,
    /// The save the preview answered: its `choices` are the ones the
    /// preview shows, and the confirm sends.
    request: SaveRequest,
    /// The same save with other choices, sent after a flip and not
    /// answered yet; `None` when the preview shows the latest choices.
    asked: Option<SaveRequest>,
    /// The field the cursor is on, an index into `preview.fields`.
    selected: usize,
    sending: bool,
}

impl MergePrompt {
    pub fn new(preview: MergePreview, request: SaveRequest) -> MergePrompt {
        // The cursor starts on the first field there is a choice about.
        let selected = preview
            .fields
            .iter()
            .position(FieldMerge::has_choice)
            .unwrap_or(0);
        MergePrompt {
            preview,
            request,
            asked: None,
            selected,
            sending: false,
        }
    }

    pub fn preview(&self) -> &MergePreview {
        &self.preview
    }

    /// The field the cursor is on (its `ContactInput` name).
    pub fn selected_field(&self) -> Option<&str> {
        self.preview
            .fields
            .get(self.selected)
            .map(|field| field.field.as_str())
    }

    /// The choices as the user last made them (a flip's preview may still
    /// be on its way).
    pub fn choices(&self) -> &[FieldChoice] {
        &self.asked.as_ref().unwrap_or(&self.request).choices
    }

    /// Whether a flip's preview is on its way; `y` waits for it.
    pub fn is_previewing(&self) -> bool {
        self.asked.is_some()
    }

    /// The side whose value the merge keeps of `field` (a `ContactInput`
    /// name), as the user last chose; `None` when there is nothing to
    /// choose (both sides agree, the incoming one is empty).
    pub fn side_of(&self, field: &str) -> Option<MergeSide> {
        let merge = self.preview.fields.iter().find(|f| f.field == field)?;
        self.side(merge)
    }

    fn side(&self, merge: &FieldMerge) -> Option<MergeSide> {
        if !merge.has_choice() {
            return None;
        }
        let field = ContactField::from_input_name(&merge.field)?;
        Some(
            self.choices()
                .iter()
                .find(|choice| choice.field == field)
                .map_or(merge.default_side(), |choice| choice.keep),
        )
    }

    /// The previewed save again, now confirmed, with the choices the
    /// preview shows. `None` while one is sent, or while a flip's preview
    /// is on its way (what is confirmed must be what is shown).
    pub fn confirm(&mut self) -> Option<Request> {
        if self.sending || self.asked.is_some() {
            return None;
        }
        self.sending = true;
        Some(Request::Save(SaveRequest {
            confirm_survivor_version: Some(self.preview.survivor.version),
            ..self.request.clone()
        }))
    }

    /// The server refused the confirm (FORBIDDEN: a field the user's role
    /// may not write, say): the prompt stays, so a field's side can be
    /// flipped (keeping the survivor's value writes nothing) and `y`
    /// pressed again, or the prompt closed.
    pub fn confirm_refused(&mut self, message: &str) -> Vec<Effect> {
        self.sending = false;
        vec![Effect::Status(Message::error(format!(
            "Not merged: {message}. space keeps the other side of the selected field; Esc closes."
        )))]
    }

    /// Keeps the other side's value of the selected field: asks for the
    /// preview again with the choices changed.
    fn flip(&mut self) -> Vec<Effect> {
        if self.sending {
            return Vec::new();
        }
        let Some(merge) = self.preview.fields.get(self.selected) else {
            return Vec::new();
        };
        let label = ContactField::label_of(&merge.field);
        let (Some(side), Some(field)) = (
            self.side(merge),
            ContactField::from_input_name(&merge.field),
        ) else {
            let why = if merge.incoming.as_deref().is_none_or(str::is_empty) {
                "the incoming value is empty, and empty never clears"
            } else {
                "both sides hold the same value"
            };
            return vec![Effect::Status(Message::info(format!(
                "Nothing to choose for {label}: {why}."
            )))];
        };
        let keep = side.other();
        let default = merge.default_side();
        // Choices in the order of the fields; one that keeps what the rule
        // would keep anyway is left out.
        let mut wanted: Vec<FieldChoice> = self
            .choices()
            .iter()
            .filter(|choice| choice.field != field)
            .copied()
            .collect();
        if keep != default {
            wanted.push(FieldChoice { field, keep });
        }
        let order = |choice: &FieldChoice| {
            self.preview
                .fields
                .iter()
                .position(|f| ContactField::from_input_name(&f.field) == Some(choice.field))
        };
        wanted.sort_by_key(order);
        let request = SaveRequest {
            choices: wanted,
            confirm_survivor_version: None,
            ..self.request.clone()
        };
        self.asked = Some(request.clone());
        let whose = match keep {
            MergeSide::Survivor => format!("{}'s", self.preview.survivor.name),
            MergeSide::Incoming => "the incoming".to_owned(),
        };
        vec![
            Effect::Status(Message::info(format!(
                "{label}: keeping {whose} value; asking the server for the preview…"
            ))),
            Effect::Send(Request::Save(request)),
        ]
    }

    /// Whether `request` is this prompt's save asked again with other
    /// choices (the same target and values, not a confirm): its answer
    /// is the prompt's, not a new prompt.
    pub fn concerns(&self, request: &SaveRequest) -> bool {
        request.confirm_survivor_version.is_none()
            && request.target == self.request.target
            && request.changes == self.request.changes
    }

    /// Whether `request` is this prompt's confirm, on its way: its answer
    /// is this prompt's (a prompt opened since answers to its own).
    pub fn is_confirming(&self, request: &SaveRequest) -> bool {
        self.sending
            && *request
                == SaveRequest {
                    confirm_survivor_version: Some(self.preview.survivor.version),
                    ..self.request.clone()
                }
    }

    /// Whether `request` is the latest flip's; an earlier flip's answer,
    /// overtaken by a later flip, is dropped.
    pub fn awaits(&self, request: &SaveRequest) -> bool {
        self.asked.as_ref() == Some(request)
    }

    /// The preview of the latest choices: shown from now on, and what `y`
    /// confirms.
    pub fn previewed(&mut self, request: SaveRequest, preview: MergePreview) -> Vec<Effect> {
        self.asked = None;
        self.request = request;
        self.preview = preview;
        self.selected = self
            .selected
            .min(self.preview.fields.len().saturating_sub(1));
        vec![Effect::Status(Message::info(
            "Preview updated: y merges as shown.",
        ))]
    }

    /// The flip's preview failed: the prompt stays with the preview it
    /// had, and the choices that preview shows.
    pub fn preview_failed(&mut self, err: ApiError) -> Vec<Effect> {
        self.asked = None;
        match err {
            err @ (ApiError::Unreachable(_)
            | ApiError::Unauthenticated
            | ApiError::Forbidden(_)) => vec![Effect::Error(err)],
            err => vec![Effect::Status(Message::error(format!(
                "Your choice was not previewed: {err}"
            )))],
        }
    }

    fn explanation(&self) -> Vec<Line<'static>> {
        let survivor = &self.preview.survivor.name;
        let mut lines = vec![Line::from(format!(
            "The email or mobile phone you entered belongs to {survivor}."
        ))];
        lines.push(Line::from(match &self.preview.merged {
            Some(merged) => format!(
                "Merging moves {} into {survivor}, which survives; {} stops existing and its id resolves to {survivor}. Empty values never clear anything.",
                merged.name, merged.name
            ),
            None => format!(
                "Merging writes what you entered into {survivor} instead of creating a new contact. Empty values never clear anything."
            ),
        }));
        lines
    }

    fn footer(&self) -> Vec<Line<'static>> {
        if self.sending {
            return vec![Line::styled("Merging…", theme::dim())];
        }
        let mut lines = Vec::new();
        if self.asked.is_some() {
            lines.push(Line::styled(
                "Asking the server what your choice does…",
                theme::dim(),
            ));
        }
        lines.push(Line::styled(keymap::footer(&self.bindings()), theme::key()));
        lines
    }
}

fn outcome_span(outcome: &MergeOutcome) -> Span<'static> {
    let style = match outcome {
        MergeOutcome::Filled => theme::success(),
        MergeOutcome::Overwritten => theme::warning(),
        MergeOutcome::Retained | MergeOutcome::Unchanged | MergeOutcome::Other(_) => theme::dim(),
    };
    Span::styled(outcome.to_string(), style)
}

fn side_span(side: Option<MergeSide>) -> Span<'static> {
    match side {
        Some(MergeSide::Survivor) => Span::raw("current"),
        Some(MergeSide::Incoming) => Span::raw("incoming"),
        None => Span::styled("—", theme::dim()),
    }
}

impl Component for MergePrompt {
    fn title(&self) -> String {
        "Merge contacts".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        vec![
            Binding::new(&[Key::Char('y')], "merge", Action::Confirm),
            Binding::new(
                &[Key::Char('j'), Key::Code(KeyCode::Down)],
                "next field",
                Action::Down,
            ),
            Binding::new(
                &[Key::Char('k'), Key::Code(KeyCode::Up)],
                "previous field",
                Action::Up,
            ),
            Binding::new(&[Key::Char(' ')], "keep the other value", Action::Toggle),
            Binding::new(
                &[Key::Char('n'), Key::Code(KeyCode::Esc), Key::Char('q')],
                "cancel, back to the form",
                Action::Cancel,
            ),
        ]
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            Action::Confirm if self.asked.is_some() => vec![Effect::Status(Message::info(
                "Wait for the preview of your choice: y merges what is shown.",
            ))],
            Action::Confirm => {
                let mut effects = vec![Effect::Status(Message::info("Merging…"))];
                effects.extend(sends(self.confirm()));
                effects
            }
            Action::Down => {
                self.selected = self
                    .selected
                    .saturating_add(1)
                    .min(self.preview.fields.len().saturating_sub(1));
                Vec::new()
            }
            Action::Up => {
                self.selected = self.selected.saturating_sub(1);
                Vec::new()
            }
            Action::Toggle => self.flip(),
            Action::Cancel => vec![Effect::ClosePopup],
            _ => Vec::new(),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        // The values matter to the decision, so none is cut: each wraps in
        // its cell, and a field's row is as tall as its longest value
        // (only a screen too short for one row cuts it).
        let fixed = 2 + MARK_WIDTH + FIELD + KEEP + OUTCOME + 4;
        let width = popup_area::large_width(area, 120);
        let value_width = usize::from(width.saturating_sub(fixed) / 2).max(1);
        let cells: Vec<(Vec<Line>, Vec<Line>)> = self
            .preview
            .fields
            .iter()
            .map(|field| {
                (
                    text_fit::value_rows(field.current.as_deref(), value_width),
                    text_fit::value_rows(field.incoming.as_deref(), value_width),
                )
            })
            .collect();
        let height_of = |(current, incoming): &(Vec<Line>, Vec<Line>)| {
            u16::try_from(current.len().max(incoming.len()))
                .unwrap_or(u16::MAX)
                .max(1)
        };
        let rows = cells
            .iter()
            .fold(0u16, |sum, cell| sum.saturating_add(height_of(cell)));
        let explanation = self.explanation();
        let footer = self.footer();
        let wrap = Wrap { trim: true };
        let footer_height =
            popup_area::text_height(&footer, wrap, width.saturating_sub(2), area.height);
        // Below the text: a blank row, a header, the rows, a blank row,
        // the keys.
        let popup = popup_area::fitted(
            area,
            120,
            &explanation,
            wrap,
            rows.saturating_add(3).saturating_add(footer_height),
        );
        frame.render_widget(Clear, popup);
        let block = Block::bordered().title(Line::styled(" Merge contacts? ", theme::title()));
        let inner = block.inner(popup);
        frame.render_widget(block, popup);

        // On a short screen the text gives way first, then the table: the
        // keys stay, and then the fields the decision is about.
        let footer_height = footer_height.min(inner.height);
        let table_height = rows
            .saturating_add(2)
            .min(inner.height.saturating_sub(footer_height));
        let text_height = popup_area::text_height(&explanation, wrap, inner.width, inner.height)
            .saturating_add(1)
            .min(
                inner
                    .height
                    .saturating_sub(footer_height)
                    .saturating_sub(table_height),
            );
        let [text_area, table_area, footer_area] = Layout::vertical([
            Constraint::Length(text_height),
            Constraint::Fill(1),
            Constraint::Length(footer_height),
        ])
        .areas(inner);
        frame.render_widget(Paragraph::new(explanation).wrap(wrap), text_area);

        // A row taller than the table's room would not be drawn at all
        // once selected: cut it to the room.
        let room = table_area.height.saturating_sub(1).max(1);
        let table_rows = self.preview.fields.iter().zip(cells).map(|(field, cell)| {
            let height = height_of(&cell).min(room);
            let (current, incoming) = cell;
            Row::new(vec![
                Cell::from(ContactField::label_of(&field.field)),
                Cell::from(Text::from(current)),
                Cell::from(Text::from(incoming)),
                Cell::from(side_span(self.side(field))),
                Cell::from(outcome_span(&field.outcome)),
            ])
            .height(height)
        });
        let survivor = text_fit::ellipsis(
            &format!("Current ({})", self.preview.survivor.name),
            value_width,
        );
        let header = Row::new(vec![
            Cell::from("Field"),
            Cell::from(survivor),
            Cell::from("Incoming"),
            Cell::from("Keep"),
            Cell::from("Outcome"),
        ])
        .style(theme::title());
        let table = Table::new(
            table_rows,
            [
                Constraint::Length(FIELD),
                Constraint::Fill(1),
                Constraint::Fill(1),
                Constraint::Length(KEEP),
                Constraint::Length(OUTCOME),
            ],
        )
        .header(header)
        .highlight_symbol(MARK)
        .highlight_spacing(HighlightSpacing::Always)
        .row_highlight_style(theme::selected());
        let mut state = TableState::default().with_selected(Some(self.selected));
        frame.render_stateful_widget(table, table_area, &mut state);

        frame.render_widget(Paragraph::new(footer).wrap(wrap), footer_area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PreviewContact;
    use crate::request::SaveTarget;

    fn field(name: &str, current: Option<&str>, incoming: Option<&str>) -> FieldMerge {
        FieldMerge {
            field: name.to_owned(),
            current: current.map(str::to_owned),
            incoming: incoming.map(str::to_owned),
            outcome: MergeOutcome::Overwritten,
        }
    }

    fn prompt() -> MergePrompt {
        let request = SaveRequest {
            target: SaveTarget::Update {
                id: "c1".to_owned(),
                expected_version: 3,
            },
            changes: vec![(ContactField::Email, "bea@example.com".to_owned())],
            choices: Vec::new(),
            confirm_survivor_version: None,
        };
        let preview = MergePreview {
            survivor: PreviewContact {
                id: "c2".to_owned(),
                name: "Bea".to_owned(),
                version: 7,
            },
            merged: None,
            fields: vec![
                field("email", Some("bea@example.com"), Some("bea@example.com")),
                field("firstName", Some("Bea"), Some("Ada")),
                field("company", Some("Acme"), Some("Initech")),
            ],
        };
        MergePrompt::new(preview, request)
    }

    fn sent(effects: &[Effect]) -> Option<&SaveRequest> {
        effects.iter().find_map(|effect| match effect {
            Effect::Send(Request::Save(request)) => Some(request),
            _ => None,
        })
    }

    #[test]
    fn flips_ask_again_and_only_the_latest_answer_counts() {
        let mut prompt = prompt();
        assert_eq!(
            prompt.selected_field(),
            Some("firstName"),
            "the first choice"
        );
        assert_eq!(prompt.side_of("firstName"), Some(MergeSide::Incoming));
        assert_eq!(prompt.side_of("email"), None);

        let first = prompt.handle(&Action::Toggle);
        let first = sent(&first).cloned();
        let Some(first) = first else {
            panic!("a flip asks for the preview again");
        };
        assert_eq!(
            first.choices,
            [FieldChoice {
                field: ContactField::FirstName,
                keep: MergeSide::Survivor
            }]
        );
        assert_eq!(first.confirm_survivor_version, None);
        assert_eq!(prompt.side_of("firstName"), Some(MergeSide::Survivor));
        assert!(prompt.confirm().is_none(), "y waits for the preview");

        prompt.handle(&Action::Down);
        let second = prompt.handle(&Action::Toggle);
        let Some(second) = sent(&second).cloned() else {
            panic!("a second flip asks again");
        };
        assert_eq!(second.choices.len(), 2);
        assert!(
            prompt.concerns(&first) && !prompt.awaits(&first),
            "overtaken"
        );
        assert!(prompt.awaits(&second));

        let preview = prompt.preview().clone();
        prompt.previewed(second.clone(), preview);
        let Some(Request::Save(confirm)) = prompt.confirm() else {
            panic!("y confirms once the preview is in");
        };
        assert_eq!(confirm.choices, second.choices, "the choices shown");
        assert_eq!(confirm.confirm_survivor_version, Some(7));
    }

    #[test]
    fn flipping_back_leaves_the_choice_out_and_a_field_without_one_says_why() {
        let mut prompt = prompt();
        let Some(there) = sent(&prompt.handle(&Action::Toggle)).cloned() else {
            panic!("flip");
        };
        prompt.previewed(there, prompt.preview().clone());
        let Some(back) = sent(&prompt.handle(&Action::Toggle)).cloned() else {
            panic!("flip back");
        };
        assert!(back.choices.is_empty(), "{back:?}");

        prompt.handle(&Action::Up);
        let effects = prompt.handle(&Action::Toggle);
        assert!(sent(&effects).is_none());
        assert!(
            matches!(effects.as_slice(), [Effect::Status(message)] if message.text.contains("same value")),
            "{effects:?}"
        );
    }

    #[test]
    fn a_failed_preview_keeps_the_shown_choices() {
        let mut prompt = prompt();
        prompt.handle(&Action::Toggle);
        assert_eq!(prompt.choices().len(), 1);
        let effects = prompt.preview_failed(ApiError::Server("boom".to_owned()));
        assert!(matches!(effects.as_slice(), [Effect::Status(_)]));
        assert!(prompt.choices().is_empty());
        assert_eq!(prompt.side_of("firstName"), Some(MergeSide::Incoming));
        assert!(prompt.confirm().is_some());
    }
}
