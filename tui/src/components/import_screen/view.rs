//! Drawing: the path entry (also while uploading) and the job (facts,
//! progress gauge, failed rows), with the stage's keys in the footer.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, LineGauge, Padding, Paragraph, Row, Table, TableState, Wrap};

use super::format::{byte_size, change_spans, plural, row_spans, rows_heading, status_spans};
use super::{ImportScreen, MappingStep, Stage};
use crate::components::popup_area;
use crate::components::text_fit;
use crate::keymap::{self, Binding};
use crate::model::{ImportJob, ImportStatus, grouped};
use crate::theme;

/// The width of the labels left of the values.
const LABEL_WIDTH: u16 = 10;

impl ImportScreen {
    pub(super) fn draw_screen(&self, frame: &mut Frame, area: Rect) {
        let title = match &self.stage {
            Stage::Job(job) if job.dry_run => format!(" Dry run: {} ", job.file_name),
            Stage::Job(job) => format!(" Import: {} ", job.file_name),
            _ => " Import contacts from a CSV file ".to_owned(),
        };
        let mut block = Block::bordered()
            .title(Line::styled(title, theme::title()))
            .padding(Padding::horizontal(1));
        if self.job().is_some_and(|job| job.dry_run) {
            block = block.title(
                Line::styled(" dry run: nothing is written ", theme::warning()).right_aligned(),
            );
        }
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let footer_bindings: Vec<Binding> = self
            .keyed_bindings()
            .into_iter()
            .filter_map(|(binding, shown)| shown.then_some(binding))
            .collect();
        let footer_line = Line::styled(keymap::footer(&footer_bindings), theme::dim());
        // The keys wrap rather than run off a narrow screen.
        let wrap = Wrap { trim: true };
        let footer_height =
            popup_area::text_height(std::slice::from_ref(&footer_line), wrap, inner.width, 3);
        let [body, _, footer] = Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(1),
            Constraint::Length(footer_height),
        ])
        .areas(inner);

        match &self.stage {
            Stage::Job(job) => self.draw_job(frame, body, job),
            Stage::Mapping(step) => self.draw_mapping(frame, body, step),
            Stage::Entry | Stage::Reading | Stage::Uploading => self.draw_entry(frame, body),
        }
        frame.render_widget(Paragraph::new(footer_line).wrap(wrap), footer);
    }

    /// The path and the dry run as chosen, then what each column feeds.
    fn draw_mapping(&self, frame: &mut Frame, area: Rect, step: &MappingStep) {
        let about = Line::from(
            "What each column of the file feeds. auto leaves it to the server, which knows the \
             headers of Google, Outlook, HubSpot and Salesforce exports and lists the columns it \
             ignored once the job runs; a field or ignore here wins over it.",
        );
        let wrap = Wrap { trim: true };
        let about_height =
            popup_area::text_height(std::slice::from_ref(&about), wrap, area.width, 4);
        let [path_row, dry_row, _, about_area, _, table_area] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(about_height),
            Constraint::Length(1),
            Constraint::Fill(1),
        ])
        .areas(area);
        let [label_area, value_area] =
            Layout::horizontal([Constraint::Length(LABEL_WIDTH), Constraint::Fill(1)])
                .spacing(1)
                .areas(path_row);
        frame.render_widget(Paragraph::new(label("CSV file", false)), label_area);
        frame.render_widget(
            Paragraph::new(text_fit::ellipsis(
                self.path.value(),
                usize::from(value_area.width),
            )),
            value_area,
        );
        self.draw_dry_run(frame, dry_row);
        frame.render_widget(
            Paragraph::new(about).style(theme::dim()).wrap(wrap),
            about_area,
        );
        step.draw(frame, table_area);
    }

    fn draw_dry_run(&self, frame: &mut Frame, row: Rect) {
        let [label_area, value_area] =
            Layout::horizontal([Constraint::Length(LABEL_WIDTH), Constraint::Fill(1)])
                .spacing(1)
                .areas(row);
        frame.render_widget(Paragraph::new(label("Dry run", false)), label_area);
        let choice = if self.dry_run {
            "[x] yes: report what the import would do, write nothing"
        } else {
            "[ ] no: write the contacts"
        };
        frame.render_widget(Paragraph::new(choice), value_area);
    }

    fn draw_entry(&self, frame: &mut Frame, area: Rect) {
        let reading = matches!(self.stage, Stage::Reading);
        let problem_lines = u16::from(self.problem.is_some() || self.is_uploading() || reading) * 2;
        let [_, path_row, dry_row, _, problem_area, _, about_area] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(problem_lines),
            Constraint::Length(u16::from(problem_lines > 0)),
            Constraint::Fill(1),
        ])
        .areas(area);

        let [label_area, value_area] =
            Layout::horizontal([Constraint::Length(LABEL_WIDTH), Constraint::Fill(1)])
                .spacing(1)
                .areas(path_row);
        let editing = matches!(self.stage, Stage::Entry);
        frame.render_widget(Paragraph::new(label("CSV file", editing)), label_area);
        let style = if editing {
            theme::focused_input()
        } else {
            Default::default()
        };
        self.path.draw(frame, value_area, editing, style);

        self.draw_dry_run(frame, dry_row);

        let note = if matches!(self.stage, Stage::Reading) {
            Some(Line::styled("Reading the file's header…", theme::dim()))
        } else if self.is_uploading() {
            Some(Line::styled(
                format!("Uploading {}…", self.path.value().trim()),
                theme::dim(),
            ))
        } else {
            self.problem
                .as_ref()
                .map(|problem| Line::styled(format!("✗ {problem}"), theme::error()))
        };
        if let Some(note) = note {
            frame.render_widget(Paragraph::new(note).wrap(Wrap { trim: true }), problem_area);
        }

        let about = vec![
            Line::from(
                "Exports of Google Contacts, Outlook, HubSpot and Salesforce are read as they \
                 are. Each row is matched by email or mobile phone: a contact found is brought \
                 up to date (empty cells never clear), otherwise one is created. Importing the \
                 same file again changes nothing.",
            ),
            Line::default(),
            Line::from(
                "A path may start with ~; a relative one starts where contacts-tui was started.",
            ),
        ];
        frame.render_widget(
            Paragraph::new(about)
                .style(theme::dim())
                .wrap(Wrap { trim: true }),
            about_area,
        );
    }

    fn draw_job(&self, frame: &mut Frame, area: Rect, job: &ImportJob) {
        let finished = job.is_finished();
        let mut facts: Vec<Line<'static>> = vec![
            fact("Status", status_spans(job)),
            // The gauge's row; drawn over below.
            Line::default(),
            fact("Rows", row_spans(job)),
            fact(
                if job.dry_run { "Would be" } else { "Contacts" },
                change_spans(job),
            ),
        ];
        if !job.ignored_columns.is_empty() {
            facts.push(fact(
                "Ignored",
                vec![Span::raw(format!(
                    "{} ({})",
                    job.ignored_columns.join(", "),
                    plural(job.ignored_columns.len(), "column")
                ))],
            ));
        }
        if self.saving_report {
            facts.push(fact(
                "Report",
                vec![Span::styled("saving every failed row…", theme::dim())],
            ));
        } else if let Some(path) = &self.saved_report {
            facts.push(fact(
                "Saved to",
                vec![Span::styled(path.clone(), theme::success())],
            ));
        }
        let error_lines = match &job.error {
            Some(error) if !error.is_empty() => {
                // Room for a long reason at 80 columns; the frame clips
                // what is still longer.
                let room = usize::from(area.width.saturating_sub(LABEL_WIDTH + 1)).max(1);
                let lines = Line::from(error.as_str())
                    .width()
                    .div_ceil(room)
                    .clamp(1, 3);
                u16::try_from(lines).unwrap_or(3)
            }
            _ => 0,
        };
        let facts_height = u16::try_from(facts.len()).unwrap_or(u16::MAX);
        let problem_height = u16::from(self.problem.is_some());
        let [
            facts_area,
            error_area,
            problem_area,
            _,
            rows_title,
            table_area,
            detail_area,
        ] = Layout::vertical([
            Constraint::Length(facts_height),
            Constraint::Length(error_lines),
            Constraint::Length(problem_height),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(if finished && !job.failed_rows.is_empty() {
                2
            } else {
                0
            }),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(facts), facts_area);

        if facts_area.height >= 2 {
            let gauge_row = Rect {
                y: facts_area.y + 1,
                height: 1,
                ..facts_area
            };
            let [label_area, gauge_area] =
                Layout::horizontal([Constraint::Length(LABEL_WIDTH), Constraint::Fill(1)])
                    .spacing(1)
                    .areas(gauge_row);
            frame.render_widget(Paragraph::new(label("Progress", false)), label_area);
            let progress = job.progress();
            let gauge = LineGauge::default()
                .ratio(progress)
                .label(format!(
                    "{:>3.0}% of {}",
                    (progress * 100.0).floor(),
                    byte_size(job.bytes_total)
                ))
                .filled_symbol("█")
                .unfilled_symbol("░")
                .filled_style(if job.status == ImportStatus::Failed {
                    theme::error()
                } else {
                    theme::success()
                })
                .unfilled_style(theme::dim());
            frame.render_widget(gauge, gauge_area);
        }

        if let Some(error) = &job.error {
            let [label_area, text_area] =
                Layout::horizontal([Constraint::Length(LABEL_WIDTH), Constraint::Fill(1)])
                    .spacing(1)
                    .areas(error_area);
            frame.render_widget(Paragraph::new(label("Job error", false)), label_area);
            frame.render_widget(
                Paragraph::new(Line::styled(error.clone(), theme::error()))
                    .wrap(Wrap { trim: true }),
                text_area,
            );
        }
        if let Some(problem) = &self.problem {
            frame.render_widget(
                Paragraph::new(Line::styled(format!("✗ {problem}"), theme::error())),
                problem_area,
            );
        }

        let mut heading = vec![Span::styled(rows_heading(job), theme::title())];
        if finished && job.failed > 0 && !self.saving_report && self.saved_report.is_none() {
            heading.push(Span::styled("  w saves them all as CSV", theme::dim()));
        }
        frame.render_widget(Paragraph::new(Line::from(heading)), rows_title);
        if job.failed_rows.is_empty() {
            return;
        }
        // The column names are few and short; the reason gets the rest.
        // What does not fit ends in `…`, and the selected row is shown
        // whole below the table.
        let column_width = job
            .failed_rows
            .iter()
            .filter_map(|row| row.column.as_deref())
            .map(|column| Line::from(column).width())
            .max()
            .unwrap_or(0)
            .clamp(6, 24);
        let line_width = job
            .failed_rows
            .iter()
            .map(|row| grouped(row.line).len())
            .max()
            .unwrap_or(0)
            .max(4);
        let reason_width =
            usize::from(table_area.width).saturating_sub(line_width + column_width + 2);
        let rows = job.failed_rows.iter().map(|row| {
            Row::new(vec![
                Cell::from(grouped(row.line)),
                Cell::from(text_fit::ellipsis(
                    row.column.as_deref().unwrap_or_default(),
                    column_width,
                )),
                Cell::from(text_fit::ellipsis(&row.reason, reason_width)),
            ])
        });
        let table = Table::new(
            rows,
            [
                Constraint::Length(u16::try_from(line_width).unwrap_or(7)),
                Constraint::Length(u16::try_from(column_width).unwrap_or(24)),
                Constraint::Fill(1),
            ],
        )
        .header(Row::new(["Line", "Column", "Reason"]).style(theme::label()))
        .row_highlight_style(theme::selected());
        // A fresh state each frame: ratatui scrolls it to keep the
        // selection visible, and `draw` stays free of side effects.
        let mut state = TableState::default().with_selected(Some(self.selected.index()));
        frame.render_stateful_widget(table, table_area, &mut state);

        // The selected row in full: a reason or column can be longer than
        // its cell at 80 columns.
        if let Some(row) = self.selected_row() {
            let column = row
                .column
                .as_deref()
                .map(|column| format!(", column {column}"))
                .unwrap_or_default();
            let line = Line::from(vec![
                Span::styled(
                    format!("Line {}{column}: ", grouped(row.line)),
                    theme::label(),
                ),
                Span::raw(row.reason.clone()),
            ]);
            frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), detail_area);
        }
    }
}

fn label(text: &str, focused: bool) -> Line<'static> {
    let style = if focused {
        theme::title()
    } else {
        theme::label()
    };
    Line::styled(
        format!("{text:>width$}", width = usize::from(LABEL_WIDTH)),
        style,
    )
}

fn fact(name: &str, mut value: Vec<Span<'static>>) -> Line<'static> {
    let mut spans = vec![Span::styled(
        format!("{name:>width$} ", width = usize::from(LABEL_WIDTH)),
        theme::label(),
    )];
    spans.append(&mut value);
    Line::from(spans)
}
