//! The few styles the screens share, so a colour means one thing
//! everywhere. Snapshots record text only; nothing may be told by colour
//! alone (outcomes and errors are also spelled out).

use ratatui::style::{Color, Modifier, Style};

pub fn title() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

pub fn label() -> Style {
    Style::new().fg(Color::Gray)
}

pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

pub fn error() -> Style {
    Style::new().fg(Color::Red)
}

pub fn success() -> Style {
    Style::new().fg(Color::Green)
}

pub fn warning() -> Style {
    Style::new().fg(Color::Yellow)
}

pub fn key() -> Style {
    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}

pub fn selected() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

pub fn focused_input() -> Style {
    Style::new().bg(Color::DarkGray)
}
