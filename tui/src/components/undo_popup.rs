//! Asks before undoing a merge, and shows what the undo gives back: the
//! absorbed contact with the values the merge took from it, and the
//! survivor's fields the merge filled or overwrote, which go back to
//! their earlier values unless edited since. Only `y` undoes.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Text};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table, Wrap};

use super::status_line::Message;
use super::{Component, popup_area, text_fit};
use crate::action::Action;
use crate::effect::{Effect, sends};
use crate::keymap::{self, Binding, Key};
use crate::model::{Contact, ContactField, MergeRecord, short_time};
use crate::request::Request;
use crate::theme;

const FIELD: u16 = 13;
const WIDTH: u16 = 100;

#[derive(Debug)]
pub struct UndoPopup {
    merge: MergeRecord,
    survivor_id: String,
    survivor_name: String,
    /// The survivor's version as the detail read it: the undo is refused
    /// if it changed since, so what was shown is what is undone.
    survivor_version: i64,
    sending: bool,
}

impl UndoPopup {
    pub fn new(merge: MergeRecord, survivor: &Contact) -> UndoPopup {
        UndoPopup {
            merge,
            survivor_id: survivor.id.clone(),
            survivor_name: survivor.display_name(),
            survivor_version: survivor.version,
            sending: false,
        }
    }

    /// The merge this asks about undoing.
    pub fn merge(&self) -> &MergeRecord {
        &self.merge
    }

    /// The undo; `None` once sent.
    pub fn confirm(&mut self) -> Option<Request> {
        if self.sending {
            return None;
        }
        self.sending = true;
        Some(Request::UndoMerge {
            merge_id: self.merge.id.clone(),
            survivor_id: self.survivor_id.clone(),
            expected_survivor_version: self.survivor_version,
        })
    }

    fn intro(&self) -> Vec<Line<'static>> {
        let who = self.merge.merged_by.as_deref().unwrap_or("a removed user");
        let mut lines = vec![Line::styled(
            format!(
                "Undo the merge of {} into {}, made {} by {who}?",
                self.merge.absorbed(),
                self.survivor_name,
                short_time(&self.merge.merged_at),
            ),
            theme::title(),
        )];
        lines.push(Line::from(match &self.merge.merged_id {
            Some(id) => format!(
                "Contact {id} comes back under its own id, with its identities and the activities, meetings and notifications that moved; the table shows the values it brought."
            ),
            None => format!(
                "The merge wrote a new contact's values into {}: no contact comes back.",
                self.survivor_name
            ),
        }));
        lines
    }

    /// What an undo now would not give back: the survivor's fields edited
    /// since the merge (the server's `editedSince`, read with the version
    /// the undo is guarded by, so it holds for this undo).
    fn warning(&self) -> Vec<Line<'static>> {
        let kept: Vec<String> = self
            .merge
            .fields
            .iter()
            .filter(|field| self.merge.keeps(field))
            .map(|field| ContactField::label_of(&field.field))
            .collect();
        let text = if kept.is_empty() {
            "Nothing the merge changed was edited since: each field above goes back as shown."
                .to_owned()
        } else {
            format!(
                "Edited since the merge, so they keep the value {} has now: {}.",
                self.survivor_name,
                kept.join(", ")
            )
        };
        vec![Line::styled(text, theme::warning())]
    }

    fn footer(&self) -> Vec<Line<'static>> {
        if self.sending {
            vec![Line::styled("Undoing…", theme::dim())]
        } else {
            vec![Line::styled(keymap::footer(&self.bindings()), theme::key())]
        }
    }
}

impl Component for UndoPopup {
    fn title(&self) -> String {
        "Undo merge".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        vec![
            Binding::new(&[Key::Char('y')], "undo the merge", Action::Confirm),
            Binding::new(
                &[Key::Char('n'), Key::Code(KeyCode::Esc), Key::Char('q')],
                "keep the merge",
                Action::Cancel,
            ),
        ]
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            Action::Confirm => {
                let request = self.confirm();
                if request.is_none() {
                    return Vec::new();
                }
                let mut effects = vec![Effect::Status(Message::info("Undoing the merge…"))];
                effects.extend(sends(request));
                effects
            }
            Action::Cancel => vec![Effect::ClosePopup],
            _ => Vec::new(),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let restored = self.merge.merged_id.is_some();
        let columns: u16 = if restored { 2 } else { 1 };
        let value_width = usize::from(
            popup_area::large_width(area, WIDTH).saturating_sub(2 + FIELD + columns) / columns,
        )
        .max(1);
        let table_rows: Vec<(Row, u16)> = self
            .merge
            .fields
            .iter()
            .map(|field| {
                let back = if self.merge.keeps(field) {
                    text_fit::rows("kept: edited since", value_width)
                        .into_iter()
                        .map(|row| Line::styled(row, theme::warning()))
                        .collect()
                } else if field.changed_survivor() {
                    text_fit::value_rows(field.current.as_deref(), value_width)
                } else {
                    vec![Line::styled("stays as it is", theme::dim())]
                };
                let brought = text_fit::value_rows(field.incoming.as_deref(), value_width);
                let height = if restored {
                    back.len().max(brought.len())
                } else {
                    back.len()
                };
                let height = u16::try_from(height).unwrap_or(u16::MAX).max(1);
                let mut cells = vec![
                    Cell::from(ContactField::label_of(&field.field)),
                    Cell::from(Text::from(back)),
                ];
                if restored {
                    cells.push(Cell::from(Text::from(brought)));
                }
                (Row::new(cells).height(height), height)
            })
            .collect();
        let rows = table_rows
            .iter()
            .fold(0u16, |sum, (_, height)| sum.saturating_add(*height));

        let wrap = Wrap { trim: true };
        let intro = self.intro();
        let mut below = vec![Line::default()];
        below.extend(self.warning());
        below.push(Line::default());
        below.extend(self.footer());
        let width = popup_area::large_width(area, WIDTH).saturating_sub(2);
        let below_height = popup_area::text_height(&below, wrap, width, area.height);
        // Below the intro: a blank row, the header, the rows, then the
        // warning and the keys.
        let popup = popup_area::fitted(
            area,
            WIDTH,
            &intro,
            wrap,
            rows.saturating_add(2).saturating_add(below_height),
        );
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .border_style(theme::warning())
            .title(Line::styled(" Undo merge? ", theme::title()));
        let inner = block.inner(popup);
        frame.render_widget(block, popup);

        // On a short screen the intro gives way first, then the table: the
        // warning and the keys stay.
        let below_height = below_height.min(inner.height);
        let intro_height = popup_area::text_height(&intro, wrap, inner.width, inner.height)
            .saturating_add(1)
            .min(inner.height.saturating_sub(below_height));
        let [intro_area, table_area, below_area] = Layout::vertical([
            Constraint::Length(intro_height),
            Constraint::Fill(1),
            Constraint::Length(below_height),
        ])
        .areas(inner);
        frame.render_widget(Paragraph::new(intro).wrap(wrap), intro_area);

        let mut header = vec![
            Cell::from("Field"),
            Cell::from(text_fit::ellipsis(
                &format!("{} goes back to", self.survivor_name),
                value_width,
            )),
        ];
        let mut widths = vec![Constraint::Length(FIELD), Constraint::Fill(1)];
        if let Some(id) = &self.merge.merged_id {
            header.push(Cell::from(text_fit::ellipsis(
                &format!("{id} brought"),
                value_width,
            )));
            widths.push(Constraint::Fill(1));
        }
        let table = Table::new(table_rows.into_iter().map(|(row, _)| row), widths)
            .header(Row::new(header).style(theme::title()));
        frame.render_widget(table, table_area);
        frame.render_widget(Paragraph::new(below).wrap(wrap), below_area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_y_undoes_and_only_once() {
        let merge = MergeRecord {
            id: "m1".to_owned(),
            merged_id: Some("c9".to_owned()),
            merged_at: "2026-11-30T09:15:42Z".to_owned(),
            merged_by: Some("ann".to_owned()),
            source: "MANUAL".to_owned(),
            undone_at: None,
            undoable: true,
            edited_since: Vec::new(),
            fields: Vec::new(),
        };
        let survivor = Contact {
            id: "c1".to_owned(),
            version: 4,
            ..Contact::default()
        };
        let mut popup = UndoPopup::new(merge, &survivor);
        let enter =
            crossterm::event::KeyEvent::new(KeyCode::Enter, crossterm::event::KeyModifiers::NONE);
        assert_eq!(keymap::route(&popup.bindings(), &enter), None);
        let effects = popup.handle(&Action::Confirm);
        assert!(
            matches!(
                effects.as_slice(),
                [Effect::Status(_), Effect::Send(Request::UndoMerge { merge_id, survivor_id, expected_survivor_version: 4 })]
                    if merge_id == "m1" && survivor_id == "c1"
            ),
            "{effects:?}"
        );
        assert!(popup.handle(&Action::Confirm).is_empty(), "sent once");
    }
}
