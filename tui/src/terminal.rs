//! The real terminal: raw mode, the alternate screen, and the loop that
//! waits on the keyboard and on request answers at once.

use std::io::IsTerminal;

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;

use crate::app::App;

/// Why the client cannot start on this terminal.
#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    /// Run from a pipe, a cron job or CI: there is no screen to draw on
    /// and no keyboard to read.
    #[error(
        "needs a terminal: its standard input and output must be a TTY (run it in a terminal window, not through a pipe or a redirect)"
    )]
    NotATerminal,
    #[error("terminal error: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs the client until the user quits. The terminal is restored on the
/// way out, also after a panic (ratatui's `try_init` installs that hook).
pub async fn run(mut app: App) -> Result<(), TerminalError> {
    // Checked first: raw mode on a pipe fails with an OS error that does
    // not say what is wrong, or worse, half-succeeds.
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(TerminalError::NotATerminal);
    }
    let mut terminal = match ratatui::try_init() {
        Ok(terminal) => terminal,
        Err(err) => {
            ratatui::restore();
            return Err(err.into());
        }
    };
    let result = event_loop(&mut terminal, &mut app).await;
    ratatui::restore();
    Ok(result?)
}

async fn event_loop(terminal: &mut ratatui::DefaultTerminal, app: &mut App) -> std::io::Result<()> {
    let mut events = EventStream::new();
    app.start();
    while !app.should_quit() {
        terminal.draw(|frame| app.draw(frame))?;
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) => app.handle_key(key),
                // A resize needs nothing but the redraw at the top of the loop.
                Some(Ok(_)) => {}
                Some(Err(err)) => return Err(err),
                None => break,
            },
            Some(answer) = app.next_answer() => app.apply_answer(answer),
        }
    }
    Ok(())
}
