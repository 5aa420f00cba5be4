//! The column-mapping step between the path and the upload: the file's
//! header, read on this machine before anything is sent, and for each
//! column the field it feeds. "auto" leaves the column to the server's
//! header aliases (it knows the exports of Google, Outlook, HubSpot and
//! Salesforce, and says which columns it ignored once the job runs); a
//! field or "ignore" is sent as the job's `mapping` and wins over them.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row, Table, TableState};

use crate::action::Action;
use crate::components::selection::Selection;
use crate::components::text_fit;
use crate::model::ContactField;
use crate::theme;

/// Rows PgUp/PgDn move.
const PAGE_STEP: usize = 10;

/// What a column feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// The server's header aliases decide.
    Auto,
    Field(ContactField),
    Ignore,
}

impl Choice {
    /// The order ←/→ go through.
    fn cycle() -> Vec<Choice> {
        let mut choices = vec![Choice::Auto];
        choices.extend(ContactField::ALL.map(Choice::Field));
        choices.push(Choice::Ignore);
        choices
    }

    fn step(self, forward: bool) -> Choice {
        let cycle = Choice::cycle();
        let index = cycle.iter().position(|c| *c == self).unwrap_or(0);
        let next = if forward {
            (index + 1) % cycle.len()
        } else {
            (index + cycle.len() - 1) % cycle.len()
        };
        cycle.get(next).copied().unwrap_or(Choice::Auto)
    }

    pub fn label(self) -> &'static str {
        match self {
            Choice::Auto => "auto",
            Choice::Field(field) => field.label(),
            Choice::Ignore => "ignore",
        }
    }
}

#[derive(Debug, Clone)]
pub struct MappingStep {
    columns: Vec<(String, Choice)>,
    selected: Selection,
}

impl MappingStep {
    pub fn new(headers: Vec<String>) -> MappingStep {
        MappingStep {
            columns: headers
                .into_iter()
                .map(|header| (header, Choice::Auto))
                .collect(),
            selected: Selection::default(),
        }
    }

    /// Whether this step was made for a file with `headers`.
    pub fn headers_are(&self, headers: &[String]) -> bool {
        self.columns.len() == headers.len()
            && self
                .columns
                .iter()
                .zip(headers)
                .all(|((header, _), other)| header == other)
    }

    pub fn columns(&self) -> &[(String, Choice)] {
        &self.columns
    }

    /// Moves the selection or changes the selected column's choice;
    /// `false` for any other action.
    pub fn apply(&mut self, action: &Action) -> bool {
        if self.selected.apply(action, self.columns.len(), PAGE_STEP) {
            return true;
        }
        let forward = match action {
            Action::NextChoice => true,
            Action::PreviousChoice => false,
            _ => return false,
        };
        if let Some((_, choice)) = self.columns.get_mut(self.selected.index()) {
            *choice = choice.step(forward);
        }
        true
    }

    /// What the job's `mapping` holds: the columns not left to the
    /// server, each with its field (`None`: ignored).
    pub fn mapping(&self) -> Vec<(String, Option<ContactField>)> {
        self.columns
            .iter()
            .filter_map(|(header, choice)| match choice {
                Choice::Auto => None,
                Choice::Field(field) => Some((header.clone(), Some(*field))),
                Choice::Ignore => Some((header.clone(), None)),
            })
            .collect()
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect) {
        let header_width = self
            .columns
            .iter()
            .map(|(header, _)| text_fit::width(header))
            .max()
            .unwrap_or(0)
            .clamp(6, usize::from(area.width / 2).max(6));
        let rows = self.columns.iter().map(|(header, choice)| {
            let style = match choice {
                Choice::Auto => theme::dim(),
                Choice::Ignore => theme::warning(),
                Choice::Field(_) => theme::success(),
            };
            Row::new(vec![
                Cell::from(text_fit::ellipsis(header, header_width)),
                Cell::from(Line::styled(format!("‹ {} ›", choice.label()), style)),
            ])
        });
        let table = Table::new(
            rows,
            [
                Constraint::Length(u16::try_from(header_width).unwrap_or(u16::MAX)),
                Constraint::Fill(1),
            ],
        )
        .header(Row::new(["Column", "Feeds"]).style(theme::label()))
        .row_highlight_style(theme::selected());
        let mut state = TableState::default().with_selected(Some(self.selected.index()));
        frame.render_stateful_widget(table, area, &mut state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_columns_not_left_to_the_server_are_sent() {
        let mut step = MappingStep::new(vec!["Work mail".into(), "Notes".into(), "Name".into()]);
        assert!(
            step.mapping().is_empty(),
            "all auto: the server's aliases decide"
        );
        // Work mail: auto → First name → Last name → Email.
        for _ in 0..3 {
            step.apply(&Action::NextChoice);
        }
        step.apply(&Action::Down);
        step.apply(&Action::PreviousChoice);
        assert_eq!(
            step.mapping(),
            vec![
                ("Work mail".to_owned(), Some(ContactField::Email)),
                ("Notes".to_owned(), None),
            ]
        );
        step.apply(&Action::NextChoice);
        assert_eq!(step.mapping().len(), 1, "back to auto");
    }
}
