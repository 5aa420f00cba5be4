//! The Merge Contacts prompt: a save hit an identity held by another
//! contact the user can reach. Shows, per field, the survivor's value, the
//! incoming one and what the merge would do; confirming re-sends the same
//! save with `confirmMerge` and the survivor's version from the preview.
//! Only `y` confirms: the Enter that saved the form, pressed twice, must
//! not merge.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table, Wrap};

use super::status_line::Message;
use super::{Component, popup_area, text_fit};
use crate::action::Action;
use crate::effect::{Effect, sends};
use crate::keymap::{self, Binding, Key};
use crate::model::{ContactField, MergeOutcome, MergePreview};
use crate::request::{Request, SaveRequest};
use crate::theme;

#[derive(Debug)]
pub struct MergePrompt {
    preview: MergePreview,
    request: SaveRequest,
    sending: bool,
}

impl MergePrompt {
    pub fn new(preview: MergePreview, request: SaveRequest) -> MergePrompt {
        MergePrompt {
            preview,
            request,
            sending: false,
        }
    }

    pub fn preview(&self) -> &MergePreview {
        &self.preview
    }

    /// The previewed save again, now confirmed. `None` while one is sent.
    pub fn confirm(&mut self) -> Option<Request> {
        if self.sending {
            return None;
        }
        self.sending = true;
        Some(Request::Save(SaveRequest {
            confirm_survivor_version: Some(self.preview.survivor.version),
            ..self.request.clone()
        }))
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
}

fn outcome_span(outcome: &MergeOutcome) -> Span<'static> {
    let style = match outcome {
        MergeOutcome::Filled => theme::success(),
        MergeOutcome::Overwritten => theme::warning(),
        MergeOutcome::Retained | MergeOutcome::Unchanged | MergeOutcome::Other(_) => theme::dim(),
    };
    Span::styled(outcome.to_string(), style)
}

impl Component for MergePrompt {
    fn title(&self) -> String {
        "Merge contacts".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        vec![
            Binding::new(&[Key::Char('y')], "merge", Action::Confirm),
            Binding::new(
                &[Key::Char('n'), Key::Code(KeyCode::Esc), Key::Char('q')],
                "cancel, back to the form",
                Action::Cancel,
            ),
        ]
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            Action::Confirm => {
                let mut effects = vec![Effect::Status(Message::info("Merging…"))];
                effects.extend(sends(self.confirm()));
                effects
            }
            Action::Cancel => vec![Effect::ClosePopup],
            _ => Vec::new(),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        // The values matter to the decision, so none is cut: each wraps in
        // its cell, and a field's row is as tall as its longest value.
        let value_width =
            usize::from(popup_area::large_width(area, 120).saturating_sub(2 + 13 + 11 + 3) / 2)
                .max(1);
        let cell_lines = |value: &Option<String>| -> Vec<Line<'static>> {
            match value {
                Some(value) => text_fit::rows(value, value_width)
                    .into_iter()
                    .map(Line::from)
                    .collect(),
                None => vec![Line::styled("—", theme::dim())],
            }
        };
        let table_rows: Vec<(Row, u16)> = self
            .preview
            .fields
            .iter()
            .map(|field| {
                let current = cell_lines(&field.current);
                let incoming = cell_lines(&field.incoming);
                let height = u16::try_from(current.len().max(incoming.len()))
                    .unwrap_or(u16::MAX)
                    .max(1);
                let row = Row::new(vec![
                    Cell::from(ContactField::label_of(&field.field)),
                    Cell::from(Text::from(current)),
                    Cell::from(Text::from(incoming)),
                    Cell::from(outcome_span(&field.outcome)),
                ])
                .height(height);
                (row, height)
            })
            .collect();
        let rows = table_rows
            .iter()
            .fold(0u16, |sum, (_, height)| sum.saturating_add(*height));
        let explanation = self.explanation();
        let wrap = Wrap { trim: true };
        // Below the text: a blank row, a header, the rows, a blank row,
        // the keys.
        let popup = popup_area::fitted(area, 120, &explanation, wrap, rows.saturating_add(4));
        frame.render_widget(Clear, popup);
        let block = Block::bordered().title(Line::styled(" Merge contacts? ", theme::title()));
        let inner = block.inner(popup);
        frame.render_widget(block, popup);

        // On a short screen the text gives way first: the table and the
        // keys are what the decision needs.
        let text_height = popup_area::text_height(&explanation, wrap, inner.width, inner.height)
            .saturating_add(1)
            .min(inner.height.saturating_sub(3));
        let [text_area, table_area, footer_area] = Layout::vertical([
            Constraint::Length(text_height),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(inner);
        frame.render_widget(Paragraph::new(explanation).wrap(wrap), text_area);

        let survivor = text_fit::ellipsis(
            &format!("Current ({})", self.preview.survivor.name),
            value_width,
        );
        let header = Row::new(vec![
            Cell::from("Field"),
            Cell::from(survivor),
            Cell::from("Incoming"),
            Cell::from("Outcome"),
        ])
        .style(theme::title());
        let table = Table::new(
            table_rows.into_iter().map(|(row, _)| row),
            [
                Constraint::Length(13),
                Constraint::Fill(1),
                Constraint::Fill(1),
                Constraint::Length(11),
            ],
        )
        .header(header);
        frame.render_widget(table, table_area);

        let footer = if self.sending {
            Line::styled("Merging…", theme::dim())
        } else {
            Line::styled(keymap::footer(&self.bindings()), theme::key())
        };
        frame.render_widget(Paragraph::new(footer), footer_area);
    }
}
