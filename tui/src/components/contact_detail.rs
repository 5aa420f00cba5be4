//! One contact: every field, the ids merged into it, the merges into it
//! (one of which `u` undoes), its recent activities and its history.
//! Values are never cut: a long one wraps under itself, and the pane of
//! merges, activities and history wraps and scrolls.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::contact_form::ContactForm;
use super::delete_popup::DeletePopup;
use super::status_line::Message;
use super::text_fit;
use super::undo_popup::UndoPopup;
use super::{Component, Popup, Screen};
use crate::action::Action;
use crate::effect::{Effect, sends};
use crate::keymap::{Binding, Key};
use crate::model::{
    Contact, ContactField, HistoryEntry, MergeRecord, PolicyField, grouped, short_time,
};
use crate::request::Request;
use crate::theme;

#[derive(Debug)]
pub struct ContactDetail {
    id: String,
    /// Boxed, like the form: screens stay small.
    contact: Option<Box<Contact>>,
    /// First history line shown; the history can be longer than the screen.
    scroll: u16,
    /// The merge `u` undoes, an index into the contact's merges (newest
    /// first).
    merge: usize,
    error: Option<String>,
}

impl ContactDetail {
    /// A detail screen waiting for `id`; returns the request that fills it.
    pub fn open(id: String) -> (ContactDetail, Request) {
        let request = Request::Contact { id: id.clone() };
        let detail = ContactDetail {
            id,
            contact: None,
            scroll: 0,
            merge: 0,
            error: None,
        };
        (detail, request)
    }

    /// Opening `id` from a list: the screen, and the request that fills it.
    pub fn opened(id: String) -> Vec<Effect> {
        let (detail, request) = ContactDetail::open(id);
        vec![Effect::open(Screen::Detail(detail)), Effect::Send(request)]
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn contact(&self) -> Option<&Contact> {
        self.contact.as_deref()
    }

    /// The merges into the contact, newest first (empty while loading).
    pub fn merges(&self) -> &[MergeRecord] {
        self.contact
            .as_deref()
            .map_or(&[], |contact| contact.merges.as_slice())
    }

    /// The selected merge: the one `u` undoes, when it stands.
    pub fn selected_merge(&self) -> Option<&MergeRecord> {
        self.merges().get(self.merge)
    }

    pub fn set_contact(&mut self, contact: Contact) {
        // A merged-away id resolves to the survivor: follow it, so a reload
        // and the next edit address the record that exists.
        self.id = contact.id.clone();
        self.merge = self.merge.min(contact.merges.len().saturating_sub(1));
        self.contact = Some(Box::new(contact));
        self.error = None;
    }

    /// Moves the merge selection, scrolling up to it if needed (the
    /// merges are the pane's first lines: the heading, then one each).
    fn select_merge(&mut self, forward: bool) {
        let last = self.merges().len().saturating_sub(1);
        self.merge = if forward {
            self.merge.saturating_add(1).min(last)
        } else {
            self.merge.saturating_sub(1)
        };
        let line = u16::try_from(self.merge.saturating_add(1)).unwrap_or(u16::MAX);
        self.scroll = self.scroll.min(line);
    }

    pub fn set_error(&mut self, error: String) {
        self.error = Some(error);
    }

    pub fn reload(&self) -> Request {
        Request::Contact {
            id: self.id.clone(),
        }
    }

    pub fn update(&mut self, action: &Action) -> Vec<Request> {
        // The pane's height is known only when drawing, which clamps
        // further; this keeps `k` from climbing back from far past the end.
        // Rows as wrapped in a pane 40 columns wide: more than any wider
        // pane has.
        let last = self.contact.as_ref().map_or(0, |contact| {
            pane_lines(contact, self.merge)
                .iter()
                .map(|line| text_fit::wrap_line(line, 40, 6).len())
                .sum::<usize>()
        });
        let last = u16::try_from(last).unwrap_or(u16::MAX);
        match action {
            Action::Down => self.scroll = self.scroll.saturating_add(1).min(last),
            Action::Up => self.scroll = self.scroll.saturating_sub(1),
            Action::PageDown => self.scroll = self.scroll.saturating_add(10).min(last),
            Action::PageUp => self.scroll = self.scroll.saturating_sub(10),
            Action::Top => self.scroll = 0,
            Action::Reload => return vec![self.reload()],
            _ => {}
        }
        Vec::new()
    }
}

/// Columns taken by a field's label and the gap after it.
const LABEL_COLUMNS: usize = 15;

/// A field's label and value in `width` columns; a value too long for
/// one row goes on in rows under itself.
fn field_line(label: &str, value: Option<&str>, width: usize) -> Vec<Line<'static>> {
    let label = Span::styled(format!("{label:>13}  "), theme::label());
    let value = match value {
        Some(value) if !value.is_empty() => value,
        _ => return vec![Line::from(vec![label, Span::styled("—", theme::dim())])],
    };
    let room = width.saturating_sub(LABEL_COLUMNS).max(8);
    text_fit::rows(value, room)
        .into_iter()
        .enumerate()
        .map(|(index, row)| {
            let lead = if index == 0 {
                label.clone()
            } else {
                Span::raw(" ".repeat(LABEL_COLUMNS))
            };
            Line::from(vec![lead, Span::raw(row)])
        })
        .collect()
}

/// The fields, wrapped to `width` columns.
fn field_lines(contact: &Contact, width: usize) -> Vec<Line<'static>> {
    let field_line = |label: &str, value: Option<&str>| field_line(label, value, width);
    // A field the user may not read is left out, not shown blank.
    let mut lines: Vec<Line> = ContactField::ALL
        .into_iter()
        .filter(|&field| contact.rights.may_read(PolicyField::of(field)))
        .flat_map(|field| field_line(field.label(), contact.value(field)))
        .collect();
    // Bookkeeping fields share lines so that at 24 rows the history still
    // gets room.
    lines.extend(field_line("Source", Some(&contact.source)));
    let owner = match (&contact.owner, &contact.team) {
        (Some(owner), Some(team)) => format!("{owner} · team {team}"),
        (Some(owner), None) => owner.clone(),
        (None, Some(team)) => format!("— · team {team}"),
        (None, None) => String::new(),
    };
    match (
        contact.rights.may_read(PolicyField::Owner),
        contact.rights.may_read(PolicyField::Team),
    ) {
        (true, _) => lines.extend(field_line("Owner", Some(&owner))),
        (false, true) => lines.extend(field_line("Team", contact.team.as_deref())),
        (false, false) => {}
    }
    lines.extend(field_line(
        "Created",
        Some(&format!(
            "{} · updated {}",
            short_time(&contact.created_at),
            short_time(&contact.updated_at)
        )),
    ));
    lines.extend(field_line(
        "Version",
        Some(&format!("{} · id {}", grouped(contact.version), contact.id)),
    ));
    let merged = contact.merged_ids.join(", ");
    lines.extend(field_line("Merged ids", Some(&merged)));
    lines
}

/// The right (or lower) pane: the merges, the activities, the history.
fn pane_lines(contact: &Contact, selected_merge: usize) -> Vec<Line<'static>> {
    let mut lines = merge_lines(contact, selected_merge);
    lines.extend(activity_lines(contact));
    lines.extend(history_lines(contact));
    lines
}

/// The merges into the contact, newest first, the selected one marked;
/// nothing for a contact nothing was merged into. `pane_lines` and
/// `select_merge` count on the heading and one line per merge coming
/// first.
fn merge_lines(contact: &Contact, selected: usize) -> Vec<Line<'static>> {
    if contact.merges.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![Line::styled(
        format!("Merges ({})", grouped(contact.merges_total)),
        theme::title(),
    )];
    for (index, merge) in contact.merges.iter().enumerate() {
        let who = merge.merged_by.as_deref().unwrap_or("a removed user");
        let mark = if index == selected { "▸ " } else { "  " };
        let state = match &merge.undone_at {
            Some(at) => Span::styled(format!("undone {}", short_time(at)), theme::dim()),
            None => Span::styled("stands", theme::success()),
        };
        // The state before the names, which may wrap.
        lines.push(Line::from(vec![
            Span::styled(mark, theme::key()),
            Span::raw(format!("{}  ", short_time(&merge.merged_at))),
            state,
            Span::raw(format!("  {}", merge.absorbed())),
            Span::styled(format!("  by {who} via {}", merge.source), theme::dim()),
        ]));
    }
    if contact.merges_total > contact.merges.len() as i64 {
        lines.push(Line::styled(
            format!(
                "  … {} older merges not shown",
                grouped(contact.merges_total - contact.merges.len() as i64)
            ),
            theme::dim(),
        ));
    }
    lines.push(Line::default());
    lines
}

fn activity_lines(contact: &Contact) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(
        format!("Recent activities ({})", grouped(contact.activities_total)),
        theme::title(),
    )];
    if contact.activities.is_empty() {
        lines.push(Line::styled("None recorded.", theme::dim()));
    }
    for activity in &contact.activities {
        let mut spans = vec![
            Span::raw(format!("{}  ", short_time(&activity.occurred_at))),
            Span::raw(activity.kind.clone()),
        ];
        if let Some((starts_at, status)) = &activity.meeting {
            spans.push(Span::styled(
                format!("  meeting {} {status}", short_time(starts_at)),
                theme::dim(),
            ));
        }
        lines.push(Line::from(spans));
    }
    if contact.activities_total > contact.activities.len() as i64 {
        lines.push(Line::styled(
            format!(
                "… {} older activities not shown",
                grouped(contact.activities_total - contact.activities.len() as i64)
            ),
            theme::dim(),
        ));
    }
    lines
}

fn history_lines(contact: &Contact) -> Vec<Line<'static>> {
    if !contact.rights.may_read(PolicyField::History) {
        return Vec::new();
    }
    let mut lines = vec![
        Line::default(),
        Line::styled(
            format!("History ({})", grouped(contact.history_total)),
            theme::title(),
        ),
    ];
    if contact.history.is_empty() {
        lines.push(Line::styled("No changes recorded.", theme::dim()));
        return lines;
    }
    for entry in &contact.history {
        lines.push(history_heading(entry));
        if let Some(merged) = &entry.merged_contact_id {
            lines.push(Line::from(format!("    absorbed contact {merged}")));
        }
        for change in &entry.changes {
            let value = |value: &Option<String>| value.clone().unwrap_or_else(|| "—".to_owned());
            lines.push(Line::from(vec![
                Span::styled(
                    format!("    {}: ", ContactField::label_of(&change.field)),
                    theme::label(),
                ),
                Span::raw(value(&change.before)),
                Span::styled(" → ", theme::dim()),
                Span::raw(value(&change.after)),
            ]));
        }
    }
    if contact.history_total > contact.history.len() as i64 {
        lines.push(Line::styled(
            format!(
                "… {} older changes not shown",
                grouped(contact.history_total - contact.history.len() as i64)
            ),
            theme::dim(),
        ));
    }
    lines
}

fn history_heading(entry: &HistoryEntry) -> Line<'static> {
    let actor = entry
        .actor
        .clone()
        .unwrap_or_else(|| "a removed user".to_owned());
    Line::from(vec![
        Span::raw(format!("{}  ", short_time(&entry.at))),
        Span::styled(entry.action.clone(), theme::title()),
        Span::styled(format!("  by {actor} via {}", entry.source), theme::dim()),
    ])
}

impl Component for ContactDetail {
    fn title(&self) -> String {
        "Contact".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        let mut bindings = vec![
            Binding::new(&[Key::Char('e')], "edit", Action::Edit),
            Binding::new(&[Key::Char('d')], "delete", Action::AskDelete),
        ];
        // Only a merge the server would undo now is offered (the newest
        // standing one); the app drops `u` for a role that may not undo.
        if self.selected_merge().is_some_and(|merge| merge.undoable) {
            bindings.push(Binding::new(
                &[Key::Char('u')],
                "undo the selected merge",
                Action::AskUndo,
            ));
        }
        if self.merges().len() > 1 {
            bindings.push(Binding::new(
                &[Key::Char(']')],
                "select the next (older) merge",
                Action::NextChoice,
            ));
            bindings.push(Binding::new(
                &[Key::Char('[')],
                "select the previous (newer) merge",
                Action::PreviousChoice,
            ));
        }
        bindings.extend([
            Binding::new(
                &[Key::Char('j'), Key::Code(KeyCode::Down)],
                "scroll activities and history down",
                Action::Down,
            ),
            Binding::new(
                &[Key::Char('k'), Key::Code(KeyCode::Up)],
                "scroll activities and history up",
                Action::Up,
            ),
            Binding::new(
                &[Key::Code(KeyCode::PageDown)],
                "page down",
                Action::PageDown,
            ),
            Binding::new(&[Key::Code(KeyCode::PageUp)], "page up", Action::PageUp),
            Binding::new(&[Key::Char('r')], "reload", Action::Reload),
            Binding::new(
                &[
                    Key::Code(KeyCode::Esc),
                    Key::Char('q'),
                    Key::Code(KeyCode::Left),
                ],
                "back to the list",
                Action::Back,
            ),
        ]);
        bindings
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            Action::Back => vec![Effect::Close],
            Action::Edit => match &self.contact {
                Some(contact) => vec![Effect::open(Screen::Form(Box::new(ContactForm::edit(
                    contact,
                ))))],
                None => vec![Effect::Status(Message::info(
                    "Still loading; try again in a moment.",
                ))],
            },
            Action::AskDelete => match &self.contact {
                Some(contact) => {
                    let popup = DeletePopup::new(contact.id.clone(), contact.display_name());
                    vec![Effect::Popup(Popup::Delete(popup))]
                }
                None => Vec::new(),
            },
            Action::AskUndo => match (&self.contact, self.selected_merge()) {
                (Some(contact), Some(merge)) if merge.undoable => {
                    let popup = UndoPopup::new(merge.clone(), contact);
                    vec![Effect::Popup(Popup::Undo(Box::new(popup)))]
                }
                _ => Vec::new(),
            },
            Action::NextChoice => {
                self.select_merge(true);
                Vec::new()
            }
            Action::PreviousChoice => {
                self.select_merge(false);
                Vec::new()
            }
            action => sends(self.update(action)),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let Some(contact) = &self.contact else {
            let block = Block::bordered().title(" Contact ");
            let text = match &self.error {
                Some(error) => Line::styled(format!("Could not load: {error}"), theme::error()),
                None => Line::styled("Loading…", theme::dim()),
            };
            frame.render_widget(Paragraph::new(text).block(block), area);
            return;
        };

        // Side by side when there is room, stacked otherwise; the fields
        // always get their full height so none is cut off.
        let side_by_side = area.width >= 120;
        let fields_width = if side_by_side {
            area.width * 45 / 100
        } else {
            area.width
        };
        let fields = field_lines(contact, usize::from(fields_width.saturating_sub(2)));
        let [fields_area, history_area] = if side_by_side {
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area)
        } else {
            Layout::vertical([
                Constraint::Length(
                    u16::try_from(fields.len())
                        .unwrap_or(u16::MAX)
                        .saturating_add(2),
                ),
                Constraint::Fill(1),
            ])
            .areas(area)
        };

        let name = text_fit::ellipsis(
            &contact.display_name(),
            usize::from(fields_area.width.saturating_sub(4)),
        );
        let title = Line::styled(format!(" {name} "), theme::title());
        frame.render_widget(
            Paragraph::new(fields).block(Block::bordered().title(title)),
            fields_area,
        );
        // Merges first (few, and what `u` acts on), then activities (few
        // and recent); the history below them scrolls.
        let lines = pane_lines(contact, self.merge);
        // Long lines wrap under themselves (so their count is their
        // height); scrolling stops at the last row, and the border says
        // what is out of sight.
        let width = usize::from(history_area.width.saturating_sub(2));
        let lines: Vec<Line> = lines
            .iter()
            .flat_map(|line| text_fit::wrap_line(line, width, 6))
            .collect();
        let room = usize::from(history_area.height.saturating_sub(2));
        let max_scroll = lines.len().saturating_sub(room);
        let scroll = usize::from(self.scroll).min(max_scroll);
        let title = if contact.merges.is_empty() {
            " Activities and history "
        } else {
            " Merges, activities and history "
        };
        let mut block = Block::bordered().title(title);
        if max_scroll > 0 {
            let below = max_scroll - scroll;
            let hint = if below > 0 {
                format!(" j/k scroll · {below} more ↓ ")
            } else {
                " k scroll up ".to_owned()
            };
            block = block.title_bottom(Line::styled(hint, theme::dim()).right_aligned());
        }
        frame.render_widget(
            Paragraph::new(lines)
                .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0))
                .block(block),
            history_area,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_and_delete_wait_for_the_contact() {
        let (mut detail, _) = ContactDetail::open("c1".to_owned());
        let effects = detail.handle(&Action::Edit);
        let [Effect::Status(message)] = effects.as_slice() else {
            panic!("nothing to edit yet: {effects:?}");
        };
        assert_eq!(message.text, "Still loading; try again in a moment.");
        assert!(detail.handle(&Action::AskDelete).is_empty());

        detail.set_contact(Contact {
            id: "c1".to_owned(),
            first_name: Some("Ada".to_owned()),
            ..Contact::default()
        });
        let effects = detail.handle(&Action::Edit);
        let [Effect::Open(screen)] = effects.as_slice() else {
            panic!("e opens the form: {effects:?}");
        };
        let Screen::Form(form) = screen.as_ref() else {
            panic!("e opens the form: {screen:?}");
        };
        assert_eq!(form.editing_id(), Some("c1"));
        assert!(matches!(
            detail.handle(&Action::AskDelete).as_slice(),
            [Effect::Popup(Popup::Delete(_))]
        ));
        assert!(matches!(
            detail.handle(&Action::Reload).as_slice(),
            [Effect::Send(Request::Contact { id })] if id == "c1"
        ));
        assert!(matches!(
            detail.handle(&Action::Back).as_slice(),
            [Effect::Close]
        ));
    }
}
