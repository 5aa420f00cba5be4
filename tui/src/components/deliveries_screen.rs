//! One integration's newest deliveries, newest first: status, attempts,
//! the last error and HTTP status, when the next attempt is due and when
//! it was delivered. Dead letters (deliveries given up on) are marked
//! DEAD and drawn in red, and `f` shows them alone; `R` queues a failed
//! or dead one again (`redeliver`). The selected delivery's last error is
//! shown whole below the table.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::paged_rows;
use super::selection::{self, MoveWords, Selection};
use super::status_line::Message;
use super::table_columns::{self, Column};
use super::text_fit;
use super::{Component, Screen};
use crate::action::Action;
use crate::effect::{Effect, sends};
use crate::keymap::{Binding, Key};
use crate::model::{Delivery, DeliveryStatus, Integration, grouped, short_time};
use crate::request::Request;
use crate::theme;

const PAGE_STEP: usize = 20;

const COLUMNS: [Column; 6] = [
    Column::whole("Event", 0),
    Column::whole("Status", 0),
    Column::whole("Tries", 1),
    Column::whole("HTTP", 2),
    Column::cut("Last error", 10, 4),
    Column::whole("Next try or delivered", 3),
];

#[derive(Debug)]
pub struct DeliveriesScreen {
    integration: Integration,
    dead_only: bool,
    selected: Selection,
    generation: u64,
    loading: bool,
    /// The delivery sent again, until the answer.
    redelivering: Option<String>,
}

impl DeliveriesScreen {
    /// Shows the deliveries `integration` came with; `r` reads them again.
    pub fn new(integration: Integration) -> DeliveriesScreen {
        DeliveriesScreen {
            integration,
            dead_only: false,
            selected: Selection::default(),
            generation: 0,
            loading: false,
            redelivering: None,
        }
    }

    pub fn opened(integration: Integration) -> Vec<Effect> {
        vec![Effect::open(Screen::Deliveries(DeliveriesScreen::new(
            integration,
        )))]
    }

    pub fn integration(&self) -> &Integration {
        &self.integration
    }

    pub fn is_dead_only(&self) -> bool {
        self.dead_only
    }

    /// The deliveries on screen, under the filter.
    pub fn shown(&self) -> Vec<&Delivery> {
        self.integration
            .deliveries
            .iter()
            .filter(|delivery| !self.dead_only || delivery.status == DeliveryStatus::Dead)
            .collect()
    }

    pub fn selected_delivery(&self) -> Option<&Delivery> {
        self.shown().get(self.selected.index()).copied()
    }

    /// Reads every integration again and keeps this one's deliveries (the
    /// schema reaches deliveries only through `integrations`).
    pub fn reload(&mut self) -> Request {
        self.generation = paged_rows::next_generation();
        self.loading = true;
        Request::Integrations {
            generation: self.generation,
        }
    }

    pub fn on_answer(&mut self, answer: &Action) -> Vec<Effect> {
        if let Action::Redelivered {
            delivery_id,
            result,
        } = answer
        {
            return self.redelivered(delivery_id, result);
        }
        let Action::IntegrationsLoaded { generation, result } = answer else {
            return Vec::new();
        };
        if *generation != self.generation {
            return Vec::new();
        }
        self.loading = false;
        match result {
            Ok(integrations) => match integrations.iter().find(|i| i.id == self.integration.id) {
                Some(integration) => {
                    self.integration = integration.clone();
                    self.selected.clamp(self.shown().len());
                    Vec::new()
                }
                None => vec![
                    Effect::Close,
                    Effect::Status(Message::error("That integration was disconnected.")),
                ],
            },
            Err(err) => vec![Effect::Error(err.clone())],
        }
    }

    /// `R`: the selected delivery, queued again. One delivered already is
    /// not sent (the server would refuse it).
    fn redeliver(&mut self) -> Vec<Effect> {
        let Some(delivery) = self.selected_delivery() else {
            return Vec::new();
        };
        if delivery.status == DeliveryStatus::Delivered {
            return vec![Effect::Status(Message::info(
                "That one was delivered; only a failed or dead delivery is sent again.",
            ))];
        }
        if self.redelivering.is_some() {
            return Vec::new();
        }
        let delivery_id = delivery.id.clone();
        let busy = format!(
            "Queueing {} {} again…",
            delivery.event_type, delivery.event_id
        );
        self.redelivering = Some(delivery_id.clone());
        vec![
            Effect::Status(Message::info(busy)),
            Effect::Send(Request::Redeliver { delivery_id }),
        ]
    }

    fn redelivered(
        &mut self,
        delivery_id: &str,
        result: &Result<Box<Delivery>, crate::api::ApiError>,
    ) -> Vec<Effect> {
        if self.redelivering.as_deref() != Some(delivery_id) {
            return Vec::new();
        }
        self.redelivering = None;
        match result {
            Ok(delivery) => {
                if let Some(slot) = self
                    .integration
                    .deliveries
                    .iter_mut()
                    .find(|d| d.id == delivery.id)
                {
                    *slot = (**delivery).clone();
                }
                // Out of the dead letters it was in: keep the selection on
                // a row that is there.
                self.selected.clamp(self.shown().len());
                vec![
                    Effect::Status(Message::success(format!(
                        "Queued {} {} again: next try {}.",
                        delivery.event_type,
                        delivery.event_id,
                        short_time(&delivery.next_attempt_at)
                    ))),
                    Effect::Send(self.reload()),
                ]
            }
            Err(err) => vec![Effect::Error(err.clone())],
        }
    }

    fn title_text(&self) -> String {
        format!(
            " {} {} ",
            self.integration.kind, self.integration.target_url
        )
    }

    fn counts_line(&self) -> Line<'static> {
        let total = self.integration.deliveries.len() as i64;
        let dead = self.integration.dead() as i64;
        let showing = if self.dead_only { "dead only" } else { "all" };
        Line::from(vec![
            Span::styled(format!(" {} newest · ", grouped(total)), theme::dim()),
            Span::styled(
                format!("{} DEAD", grouped(dead)),
                if dead > 0 {
                    theme::error()
                } else {
                    theme::dim()
                },
            ),
            Span::styled(format!(" · showing {showing} "), theme::dim()),
        ])
        .right_aligned()
    }

    fn detail_lines(&self, width: usize) -> Vec<Line<'static>> {
        let Some(delivery) = self.selected_delivery() else {
            return Vec::new();
        };
        let field = |label: &str, value: String| -> Vec<Line<'static>> {
            let room = width.saturating_sub(14).max(8);
            text_fit::rows(&value, room)
                .into_iter()
                .enumerate()
                .map(|(index, row)| {
                    let lead = if index == 0 {
                        Span::styled(format!("{label:>12}  "), theme::label())
                    } else {
                        Span::raw(" ".repeat(14))
                    };
                    Line::from(vec![lead, Span::raw(row)])
                })
                .collect()
        };
        let mut lines = field(
            "Event",
            format!("{} · {}", delivery.event_type, delivery.event_id),
        );
        let code = delivery
            .last_status_code
            .map_or("no HTTP answer".to_owned(), |code| {
                format!("last HTTP {code}")
            });
        lines.extend(field(
            "Status",
            format!(
                "{} after {} attempt{} · {code}",
                delivery.status.name(),
                grouped(delivery.attempts),
                if delivery.attempts == 1 { "" } else { "s" }
            ),
        ));
        lines.extend(field(
            "Next attempt",
            match delivery.status {
                DeliveryStatus::Pending => short_time(&delivery.next_attempt_at),
                _ => "none".to_owned(),
            },
        ));
        lines.extend(field(
            "Delivered",
            delivery
                .delivered_at
                .as_deref()
                .map_or("—".to_owned(), short_time),
        ));
        lines.extend(field(
            "Last error",
            delivery
                .last_error
                .clone()
                .unwrap_or_else(|| "—".to_owned()),
        ));
        lines
    }
}

fn delivery_cells(delivery: &Delivery) -> Vec<String> {
    vec![
        delivery.event_type.clone(),
        delivery.status.name().to_owned(),
        grouped(delivery.attempts),
        delivery
            .last_status_code
            .map_or("—".to_owned(), |code| code.to_string()),
        delivery
            .last_error
            .clone()
            .unwrap_or_else(|| "—".to_owned()),
        match (&delivery.status, &delivery.delivered_at) {
            (_, Some(at)) => format!("done {}", short_time(at)),
            (DeliveryStatus::Pending, None) => {
                format!("next {}", short_time(&delivery.next_attempt_at))
            }
            (DeliveryStatus::Dead, None) => "given up".to_owned(),
            _ => "—".to_owned(),
        },
    ]
}

impl Component for DeliveriesScreen {
    fn title(&self) -> String {
        "Deliveries".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        let mut bindings = selection::bindings(MoveWords {
            next: "next delivery",
            previous: "previous delivery",
            first: "newest delivery",
            last: "oldest delivery shown",
        });
        bindings.extend([
            Binding::new(
                &[Key::Char('f')],
                if self.dead_only {
                    "show every delivery"
                } else {
                    "show dead letters only"
                },
                Action::ToggleDeadOnly,
            ),
            Binding::new(
                &[Key::Char('R')],
                "send a failed or dead delivery again",
                Action::Redeliver,
            ),
            Binding::new(&[Key::Char('r')], "reload", Action::Reload),
            Binding::new(
                &[Key::Code(KeyCode::Esc), Key::Char('q')],
                "back to the integrations",
                Action::Back,
            ),
        ]);
        bindings
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        if self.selected.apply(action, self.shown().len(), PAGE_STEP) {
            return Vec::new();
        }
        match action {
            Action::ToggleDeadOnly => {
                self.dead_only = !self.dead_only;
                self.selected.reset();
                Vec::new()
            }
            Action::Redeliver => self.redeliver(),
            Action::Reload => sends([self.reload()]),
            Action::Back => vec![Effect::Close],
            _ => Vec::new(),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        // The selected delivery, whole, under the table: as many rows as
        // it takes, up to half the screen, none on a tiny one.
        let detail = self.detail_lines(usize::from(area.width.saturating_sub(2)));
        let detail_rows = if area.height >= 16 && !detail.is_empty() {
            u16::try_from(detail.len() + 2)
                .unwrap_or(u16::MAX)
                .min(area.height / 2)
        } else {
            0
        };
        let [table_area, detail_area] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(detail_rows)]).areas(area);
        let counts = self.counts_line();
        // The target is cut, never the counts beside it.
        let room = usize::from(table_area.width)
            .saturating_sub(3)
            .saturating_sub(counts.width());
        let title = text_fit::ellipsis(&self.title_text(), room);
        let block = Block::bordered()
            .title(Line::styled(title, theme::title()))
            .title(counts);
        let inner = block.inner(table_area);
        frame.render_widget(block, table_area);
        let shown = self.shown();
        if shown.is_empty() {
            let line = if self.loading {
                Line::styled("Loading…", theme::dim())
            } else if self.dead_only {
                Line::styled(
                    "No dead letters among the newest deliveries. f shows them all.",
                    theme::dim(),
                )
            } else {
                Line::styled("Nothing delivered yet.", theme::dim())
            };
            frame.render_widget(Paragraph::new(line), inner);
            return;
        }
        let cells: Vec<Vec<String>> = shown.iter().map(|d| delivery_cells(d)).collect();
        let styles: Vec<_> = shown
            .iter()
            .map(|delivery| match delivery.status {
                DeliveryStatus::Dead => theme::error(),
                DeliveryStatus::Delivered => theme::dim(),
                _ if delivery.has_failed() => theme::warning(),
                _ => Default::default(),
            })
            .collect();
        table_columns::draw(
            frame,
            inner,
            &COLUMNS,
            &cells,
            &styles,
            Some(self.selected.index()),
        );
        if detail_rows > 0 {
            let block =
                Block::bordered().title(Line::styled(" Selected delivery ", theme::title()));
            let width = usize::from(detail_area.width.saturating_sub(2));
            frame.render_widget(
                Paragraph::new(self.detail_lines(width)).block(block),
                detail_area,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(id: &str, status: DeliveryStatus) -> Delivery {
        Delivery {
            id: id.to_owned(),
            event_id: format!("evt_{id}"),
            event_type: "contact.updated".to_owned(),
            status,
            attempts: 3,
            last_error: None,
            last_status_code: None,
            next_attempt_at: "2026-11-30T10:00:00Z".to_owned(),
            delivered_at: None,
        }
    }

    #[test]
    fn f_shows_dead_letters_only() {
        let mut screen = DeliveriesScreen::new(Integration {
            id: "i1".to_owned(),
            kind: "WEBHOOK".to_owned(),
            target_url: "https://hooks.example.com".to_owned(),
            events: Vec::new(),
            active: true,
            created_at: String::new(),
            deliveries: vec![
                delivery("d1", DeliveryStatus::Delivered),
                delivery("d2", DeliveryStatus::Dead),
                delivery("d3", DeliveryStatus::Pending),
            ],
        });
        assert_eq!(screen.shown().len(), 3);
        screen.handle(&Action::Bottom);
        screen.handle(&Action::ToggleDeadOnly);
        let ids: Vec<&str> = screen.shown().iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["d2"]);
        assert_eq!(
            screen.selected_delivery().map(|d| d.id.as_str()),
            Some("d2")
        );
    }
}
