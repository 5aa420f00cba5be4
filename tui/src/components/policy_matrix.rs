//! The field-policy matrix (ADMIN): every role by every contact field,
//! each cell NONE, READ or WRITE. The arrows move over the roles that can
//! be changed (ADMIN keeps WRITE everywhere: its row is shown, fixed);
//! Space or Enter cycles the cell, N, R and W set it. A change is sent at
//! once; its answer is told on the status line (the server's VALIDATION
//! refusal too) and the matrix is read again, so what is shown is what
//! holds.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::paged_rows;
use super::status_line::Message;
use super::{Component, Screen};
use crate::action::Action;
use crate::api::ApiError;
use crate::effect::{Effect, sends};
use crate::keymap::{Binding, Key};
use crate::model::{FieldAccess, FieldPolicy, PolicyField, PolicyMatrix, Role};
use crate::request::Request;
use crate::theme;

/// The rows, in order; the first is fixed.
const ROLES: [Role; 4] = [Role::Admin, Role::Member, Role::Viewer, Role::Integration];
/// Rows the cursor visits: every role but ADMIN.
const FIRST_EDITABLE: usize = 1;
/// Columns of the role's name, the cursor's mark and a gap.
const ROLE_COLUMNS: usize = 13;

#[derive(Debug)]
pub struct PolicyMatrixScreen {
    matrix: PolicyMatrix,
    /// Index into `ROLES`, never the fixed first row.
    row: usize,
    /// Index into `PolicyField::ALL`.
    column: usize,
    /// The change on its way: its cell shows `…` until the answer.
    pending: Option<FieldPolicy>,
    generation: u64,
    loading: bool,
    error: Option<String>,
}

impl PolicyMatrixScreen {
    pub fn open() -> (PolicyMatrixScreen, Request) {
        let mut screen = PolicyMatrixScreen {
            matrix: PolicyMatrix::default(),
            row: FIRST_EDITABLE,
            column: 0,
            pending: None,
            generation: 0,
            loading: true,
            error: None,
        };
        let request = screen.reload();
        (screen, request)
    }

    pub fn opened() -> Vec<Effect> {
        let (screen, request) = PolicyMatrixScreen::open();
        vec![
            Effect::open(Screen::Policies(screen)),
            Effect::Send(request),
        ]
    }

    pub fn matrix(&self) -> &PolicyMatrix {
        &self.matrix
    }

    /// The focused cell: its role and field.
    pub fn focused(&self) -> (&Role, PolicyField) {
        let role = ROLES.get(self.row).unwrap_or(&Role::Member);
        let field = PolicyField::ALL
            .get(self.column)
            .copied()
            .unwrap_or(PolicyField::FirstName);
        (role, field)
    }

    pub fn reload(&mut self) -> Request {
        self.generation = paged_rows::next_generation();
        self.loading = true;
        Request::FieldPolicies {
            generation: self.generation,
        }
    }

    pub fn on_answer(&mut self, answer: &Action) -> Vec<Effect> {
        match answer {
            Action::FieldPoliciesLoaded { generation, result }
                if *generation == self.generation =>
            {
                self.loading = false;
                match result {
                    Ok(matrix) => {
                        self.matrix = matrix.clone();
                        self.error = None;
                        Vec::new()
                    }
                    Err(err) => {
                        self.error = Some(err.to_string());
                        vec![Effect::Error(err.clone())]
                    }
                }
            }
            Action::FieldPolicySet { asked, result } if self.pending.as_ref() == Some(asked) => {
                self.pending = None;
                let before = self.matrix.access(&asked.role, asked.field);
                let told = match result {
                    Ok(set) => Effect::Status(Message::success(changed(before, set))),
                    Err(ApiError::Validation(errors)) => Effect::Status(Message::error(format!(
                        "Not changed: {}",
                        errors
                            .iter()
                            .map(|e| e.message.as_str())
                            .collect::<Vec<_>>()
                            .join("; ")
                    ))),
                    Err(err) if err.is_connection_problem() => Effect::Error(err.clone()),
                    Err(err) => Effect::Status(Message::error(format!("Not changed: {err}"))),
                };
                // What holds now, whatever the answer: the server is the
                // judge, and another admin may have changed it too.
                vec![told, Effect::Send(self.reload())]
            }
            _ => Vec::new(),
        }
    }

    /// Sends `access` for the focused cell; one change at a time.
    fn set(&mut self, access: impl FnOnce(FieldAccess) -> FieldAccess) -> Vec<Effect> {
        if self.pending.is_some() {
            return vec![Effect::Status(Message::info(
                "Still saving the last change; try again in a moment.",
            ))];
        }
        let (role, field) = self.focused();
        let Some(current) = self.matrix.access(role, field) else {
            return Vec::new();
        };
        let policy = FieldPolicy {
            role: role.clone(),
            field,
            access: access(current),
        };
        if policy.access == current {
            return Vec::new();
        }
        self.pending = Some(policy.clone());
        vec![
            Effect::Status(Message::info(format!(
                "Setting {} on {} to {}…",
                policy.role.name(),
                policy.field.label(),
                policy.access.name()
            ))),
            Effect::Send(Request::SetFieldPolicy(policy)),
        ]
    }

    fn cell_text(&self, role: &Role, field: PolicyField) -> &'static str {
        let pending = self
            .pending
            .as_ref()
            .is_some_and(|p| p.role == *role && p.field == field);
        if pending {
            return "…";
        }
        self.matrix
            .access(role, field)
            .map_or("?", FieldAccess::name)
    }

    /// The table: a header of fields, a row per role. Full field names
    /// when they fit, else short ones.
    fn table_lines(&self, width: usize) -> Vec<Line<'static>> {
        let full_width: usize = PolicyField::ALL
            .iter()
            .map(|field| field.label().len().max(5) + 1)
            .sum();
        let full = ROLE_COLUMNS + full_width <= width;
        let label = |field: PolicyField| {
            if full {
                field.label()
            } else {
                field.short_label()
            }
        };
        let column_width = |field: PolicyField| label(field).len().max(5);
        let mut header = vec![Span::raw(" ".repeat(ROLE_COLUMNS))];
        for (index, field) in PolicyField::ALL.into_iter().enumerate() {
            let style = if index == self.column {
                theme::title().add_modifier(ratatui::style::Modifier::UNDERLINED)
            } else {
                theme::label()
            };
            header.push(Span::styled(
                format!("{:<w$} ", label(field), w = column_width(field)),
                style,
            ));
        }
        let mut lines = vec![Line::from(header)];
        for (row, role) in ROLES.iter().enumerate() {
            let fixed = row < FIRST_EDITABLE;
            let mark = if row == self.row { "▸" } else { " " };
            let name = if fixed {
                format!("{mark}{} fixed", role.name())
            } else {
                format!("{mark}{}", role.name())
            };
            let row_style = if fixed {
                theme::dim()
            } else {
                Style::default()
            };
            let mut spans = vec![Span::styled(
                format!("{name:<w$}", w = ROLE_COLUMNS),
                if row == self.row {
                    theme::title()
                } else {
                    row_style
                },
            )];
            for (column, field) in PolicyField::ALL.into_iter().enumerate() {
                let style = if row == self.row && column == self.column {
                    theme::selected()
                } else {
                    row_style
                };
                spans.push(Span::styled(
                    format!(
                        "{:<w$}",
                        self.cell_text(role, field),
                        w = column_width(field)
                    ),
                    style,
                ));
                spans.push(Span::raw(" "));
            }
            lines.push(Line::from(spans));
        }
        lines
    }

    /// Under the table: the focused cell in words, and what its access
    /// means for a user of the role.
    fn focus_lines(&self) -> Vec<Line<'static>> {
        let (role, field) = self.focused();
        let access = self.matrix.access(role, field);
        let mut lines = vec![Line::from(vec![
            Span::styled(
                format!("{} · {}: ", role.name(), field.label()),
                theme::title(),
            ),
            Span::raw(access.map_or("?", FieldAccess::name)),
            Span::styled(
                access.map_or(String::new(), |access| format!(" — {}", access.meaning())),
                theme::dim(),
            ),
        ])];
        lines.push(Line::default());
        lines.push(Line::styled(
            "ADMIN keeps WRITE on every field. A change holds from the next request on, \
             on every path (screens, search, filters, history, imports, webhooks).",
            theme::dim(),
        ));
        lines
    }
}

/// "VIEWER may now READ Email (was NONE)."
fn changed(before: Option<FieldAccess>, set: &FieldPolicy) -> String {
    let was = before.map_or(String::new(), |before| format!(" (was {})", before.name()));
    format!(
        "{} now has {} on {}{was}: {}.",
        set.role.name(),
        set.access.name(),
        set.field.label(),
        set.access.meaning()
    )
}

impl Component for PolicyMatrixScreen {
    fn title(&self) -> String {
        "Field policies".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        vec![
            Binding::new(
                &[Key::Char('k'), Key::Code(KeyCode::Up)],
                "role above",
                Action::Up,
            ),
            Binding::new(
                &[Key::Char('j'), Key::Code(KeyCode::Down)],
                "role below",
                Action::Down,
            ),
            Binding::new(
                &[Key::Char('h'), Key::Code(KeyCode::Left)],
                "field left",
                Action::CursorLeft,
            ),
            Binding::new(
                &[Key::Char('l'), Key::Code(KeyCode::Right)],
                "field right",
                Action::CursorRight,
            ),
            Binding::new(
                &[Key::Char(' '), Key::Code(KeyCode::Enter)],
                "next access: NONE → READ → WRITE",
                Action::Toggle,
            ),
            Binding::new(
                &[Key::Char('N')],
                "NONE: not shown",
                Action::SetAccess(FieldAccess::None),
            ),
            Binding::new(
                &[Key::Char('R')],
                "READ: shown, not changed",
                Action::SetAccess(FieldAccess::Read),
            ),
            Binding::new(
                &[Key::Char('W')],
                "WRITE: shown and changed",
                Action::SetAccess(FieldAccess::Write),
            ),
            Binding::new(&[Key::Char('r')], "reload", Action::Reload),
            Binding::new(
                &[Key::Code(KeyCode::Esc), Key::Char('q')],
                "back to the contacts",
                Action::Back,
            ),
        ]
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        let last_row = ROLES.len() - 1;
        let last_column = PolicyField::ALL.len() - 1;
        match action {
            Action::Up => self.row = self.row.saturating_sub(1).max(FIRST_EDITABLE),
            Action::Down => self.row = (self.row + 1).min(last_row),
            Action::CursorLeft => self.column = self.column.saturating_sub(1),
            Action::CursorRight => self.column = (self.column + 1).min(last_column),
            Action::Toggle => return self.set(FieldAccess::next),
            Action::SetAccess(access) => {
                let access = *access;
                return self.set(|_| access);
            }
            Action::Reload => return sends([self.reload()]),
            Action::Back => return vec![Effect::Close],
            _ => {}
        }
        Vec::new()
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let block = Block::bordered()
            .title(Line::styled(" Field policies ", theme::title()))
            .title(
                Line::styled(" what each role may do with each field ", theme::dim())
                    .right_aligned(),
            );
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if self.matrix.policies.is_empty() {
            let line = match &self.error {
                Some(error) => Line::styled(
                    format!("Could not load the policies: {error}"),
                    theme::error(),
                ),
                None => Line::styled("Loading…", theme::dim()),
            };
            frame.render_widget(Paragraph::new(line), inner);
            return;
        }
        let table = self.table_lines(usize::from(inner.width));
        let [table_area, _, focus_area] = Layout::vertical([
            Constraint::Length(u16::try_from(table.len()).unwrap_or(u16::MAX)),
            Constraint::Length(1),
            Constraint::Fill(1),
        ])
        .areas(inner);
        frame.render_widget(Paragraph::new(table), table_area);
        frame.render_widget(
            Paragraph::new(self.focus_lines()).wrap(Wrap { trim: true }),
            focus_area,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix() -> PolicyMatrix {
        PolicyMatrix {
            policies: ROLES
                .iter()
                .flat_map(|role| {
                    let rights = crate::model::FieldRights::defaults(role);
                    PolicyField::ALL.map(|field| FieldPolicy {
                        role: role.clone(),
                        field,
                        access: rights.access(field),
                    })
                })
                .collect(),
        }
    }

    fn loaded() -> PolicyMatrixScreen {
        let (mut screen, request) = PolicyMatrixScreen::open();
        let Request::FieldPolicies { generation } = request else {
            panic!("opens with the matrix: {request:?}");
        };
        screen.on_answer(&Action::FieldPoliciesLoaded {
            generation,
            result: Ok(matrix()),
        });
        screen
    }

    #[test]
    fn the_admin_row_cannot_be_reached() {
        let mut screen = loaded();
        screen.handle(&Action::Up);
        screen.handle(&Action::Up);
        assert_eq!(screen.focused().0, &Role::Member);
        for _ in 0..5 {
            screen.handle(&Action::Down);
        }
        assert_eq!(screen.focused().0, &Role::Integration);
    }

    #[test]
    fn a_change_is_sent_then_the_matrix_read_again() {
        let mut screen = loaded();
        screen.handle(&Action::Down);
        screen.handle(&Action::CursorRight);
        screen.handle(&Action::CursorRight);
        assert_eq!(screen.focused(), (&Role::Viewer, PolicyField::Email));
        let effects = screen.handle(&Action::Toggle);
        let Some(Effect::Send(Request::SetFieldPolicy(asked))) = effects.last() else {
            panic!("Space sends the change: {effects:?}");
        };
        assert_eq!(asked.access, FieldAccess::Read, "NONE → READ");
        assert_eq!(screen.cell_text(&Role::Viewer, PolicyField::Email), "…");
        assert!(
            matches!(
                screen.handle(&Action::Toggle).as_slice(),
                [Effect::Status(_)]
            ),
            "one change at a time"
        );
        let asked = asked.clone();
        let effects = screen.on_answer(&Action::FieldPolicySet {
            asked: asked.clone(),
            result: Err(ApiError::Validation(vec![crate::api::FieldError {
                field: Some("access".to_owned()),
                message: "a VIEWER writes no contacts".to_owned(),
            }])),
        });
        let [
            Effect::Status(message),
            Effect::Send(Request::FieldPolicies { .. }),
        ] = effects.as_slice()
        else {
            panic!("told, then read again: {effects:?}");
        };
        assert_eq!(message.text, "Not changed: a VIEWER writes no contacts");
        assert_eq!(screen.cell_text(&Role::Viewer, PolicyField::Email), "NONE");
        // Setting what is there already sends nothing.
        assert!(
            screen
                .handle(&Action::SetAccess(FieldAccess::None))
                .is_empty()
        );
    }
}
