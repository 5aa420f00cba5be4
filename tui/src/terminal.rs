//! The real terminal: raw mode, the alternate screen, and the loop that
//! waits on the keyboard and on request answers at once.

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;

use crate::app::App;

/// Runs the client until the user quits. The terminal is restored on the
/// way out, also after a panic (ratatui's `init` installs that hook).
pub async fn run(mut app: App) -> std::io::Result<()> {
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, &mut app).await;
    ratatui::restore();
    result
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
