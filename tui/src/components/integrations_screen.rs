//! The integrations screen (ADMIN): every connected webhook, calendar and
//! CRM, oldest first, with how its newest deliveries went. Enter lists
//! the deliveries, dead letters marked; `d` disconnects after a `y`.

use crossterm::event::KeyCode;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::confirm_popup::ConfirmPopup;
use super::deliveries_screen::DeliveriesScreen;
use super::paged_rows;
use super::selection::{self, MoveWords, Selection};
use super::status_line::Message;
use super::table_columns::{self, Column};
use super::{Component, Popup, Screen};
use crate::action::Action;
use crate::api::DELIVERIES;
use crate::effect::{Effect, sends};
use crate::keymap::{Binding, Key};
use crate::model::{Integration, grouped, short_time};
use crate::request::Request;
use crate::theme;

const PAGE_STEP: usize = 20;

const COLUMNS: [Column; 6] = [
    Column::whole("Kind", 0),
    Column::cut("Target", 24, 0),
    Column::cut("Events", 10, 3),
    Column::whole("Status", 1),
    Column::whole("Deliveries", 2),
    Column::whole("Connected", 4),
];

#[derive(Debug)]
pub struct IntegrationsScreen {
    integrations: Vec<Integration>,
    selected: Selection,
    generation: u64,
    loading: bool,
    error: Option<String>,
}

impl IntegrationsScreen {
    pub fn open() -> (IntegrationsScreen, Request) {
        let mut screen = IntegrationsScreen {
            integrations: Vec::new(),
            selected: Selection::default(),
            generation: 0,
            loading: true,
            error: None,
        };
        let request = screen.reload();
        (screen, request)
    }

    pub fn opened() -> Vec<Effect> {
        let (screen, request) = IntegrationsScreen::open();
        vec![
            Effect::open(Screen::Integrations(screen)),
            Effect::Send(request),
        ]
    }

    pub fn integrations(&self) -> &[Integration] {
        &self.integrations
    }

    pub fn selected_integration(&self) -> Option<&Integration> {
        self.integrations.get(self.selected.index())
    }

    pub fn reload(&mut self) -> Request {
        self.generation = paged_rows::next_generation();
        self.loading = true;
        Request::Integrations {
            generation: self.generation,
        }
    }

    pub fn on_answer(&mut self, answer: &Action) -> Vec<Effect> {
        match answer {
            Action::IntegrationsLoaded { generation, result } if *generation == self.generation => {
                self.loading = false;
                match result {
                    Ok(integrations) => {
                        self.integrations = integrations.clone();
                        self.selected.clamp(self.integrations.len());
                        self.error = None;
                        Vec::new()
                    }
                    Err(err) => {
                        self.error = Some(err.to_string());
                        vec![Effect::Error(err.clone())]
                    }
                }
            }
            // A delivery sent again changes the dead letters counted here.
            Action::Redelivered { result: Ok(_), .. } => sends([self.reload()]),
            Action::IntegrationDisconnected { id, result }
                if self.integrations.iter().any(|i| i.id == *id) =>
            {
                match result {
                    Ok(_) => vec![
                        Effect::Status(Message::success(
                            "Disconnected: its pending deliveries were dropped.",
                        )),
                        Effect::Send(self.reload()),
                    ],
                    Err(err) => vec![Effect::Error(err.clone())],
                }
            }
            _ => Vec::new(),
        }
    }

    fn ask_disconnect(&self) -> Vec<Effect> {
        let Some(integration) = self.selected_integration() else {
            return Vec::new();
        };
        let popup = ConfirmPopup::new(
            "Disconnect integration?",
            vec![
                format!(
                    "Disconnect the {} integration to {}?",
                    integration.kind, integration.target_url
                ),
                "It hears of no more contact changes, and its pending deliveries are dropped. \
                 Connecting it again needs its secret or token."
                    .to_owned(),
            ],
            ("disconnect", "keep it"),
            vec![
                Effect::Status(Message::info("Disconnecting…")),
                Effect::Send(Request::DisconnectIntegration {
                    id: integration.id.clone(),
                }),
            ],
        );
        vec![Effect::Popup(Popup::Confirm(popup))]
    }
}

fn integration_cells(integration: &Integration) -> Vec<String> {
    let shown = integration.deliveries.len();
    let dead = integration.dead();
    let deliveries = match (shown, dead) {
        (0, _) => "none".to_owned(),
        (_, 0) => format!("{} · no dead", grouped(shown as i64)),
        _ => format!("{} · {} DEAD", grouped(shown as i64), grouped(dead as i64)),
    };
    vec![
        integration.kind.clone(),
        integration.target_url.clone(),
        if integration.events.is_empty() {
            "all".to_owned()
        } else {
            integration.events.join(", ")
        },
        if integration.active {
            "active"
        } else {
            "inactive (gone)"
        }
        .to_owned(),
        deliveries,
        short_time(&integration.created_at),
    ]
}

impl Component for IntegrationsScreen {
    fn title(&self) -> String {
        "Integrations".to_owned()
    }

    fn bindings(&self) -> Vec<Binding> {
        let mut bindings = selection::bindings(MoveWords {
            next: "next integration",
            previous: "previous integration",
            first: "first integration",
            last: "last integration",
        });
        bindings.extend([
            Binding::new(
                &[Key::Code(KeyCode::Enter)],
                "its newest deliveries and dead letters",
                Action::Open,
            ),
            Binding::new(
                &[Key::Char('d')],
                "disconnect (asks first)",
                Action::AskRevoke,
            ),
            Binding::new(&[Key::Char('r')], "reload", Action::Reload),
            Binding::new(
                &[Key::Code(KeyCode::Esc), Key::Char('q')],
                "back to the contacts",
                Action::Back,
            ),
        ]);
        bindings
    }

    fn handle(&mut self, action: &Action) -> Vec<Effect> {
        if self
            .selected
            .apply(action, self.integrations.len(), PAGE_STEP)
        {
            return Vec::new();
        }
        match action {
            Action::Open => match self.selected_integration() {
                Some(integration) => DeliveriesScreen::opened(integration.clone()),
                None => Vec::new(),
            },
            Action::AskRevoke => self.ask_disconnect(),
            Action::Reload => sends([self.reload()]),
            Action::Back => vec![Effect::Close],
            _ => Vec::new(),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let title = format!(
            " Integrations: {} ",
            grouped(self.integrations.len() as i64)
        );
        let block = Block::bordered()
            .title(Line::styled(title, theme::title()))
            .title(
                Line::styled(
                    format!(" newest {DELIVERIES} deliveries each "),
                    theme::dim(),
                )
                .right_aligned(),
            );
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if self.integrations.is_empty() {
            let line = if let Some(error) = &self.error {
                Line::styled(
                    format!("Could not load the integrations: {error}"),
                    theme::error(),
                )
            } else if self.loading {
                Line::styled("Loading…", theme::dim())
            } else {
                Line::styled(
                    "No integrations connected. Webhooks, calendars and CRMs are \
                     connected through the API (connectWebhook, connectCalendar, connectCrm).",
                    theme::dim(),
                )
            };
            frame.render_widget(
                Paragraph::new(line).wrap(ratatui::widgets::Wrap { trim: true }),
                inner,
            );
            return;
        }
        let cells: Vec<Vec<String>> = self.integrations.iter().map(integration_cells).collect();
        let styles: Vec<_> = self
            .integrations
            .iter()
            .map(|integration| {
                if integration.dead() > 0 {
                    theme::error()
                } else if !integration.active {
                    theme::dim()
                } else {
                    Default::default()
                }
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
    }
}
