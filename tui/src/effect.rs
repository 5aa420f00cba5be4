//! What a component asks the app to do. A component changes its own
//! state when a key reaches it; everything beyond that state (the network,
//! the stack of screens, the popup, the status line) it names here, and
//! `App` carries it out. So the app routes keys without knowing what any
//! screen's keys mean, and a new screen adds no case to the app.

use crate::api::ApiError;
use crate::components::status_line::Message;
use crate::components::{Popup, Screen};
use crate::request::Request;

#[derive(Debug)]
pub enum Effect {
    /// Send a request; its answer comes back as an `Action`.
    Send(Request),
    /// Push a screen over the focused one; it takes the keys. Boxed: a
    /// screen is large and most effects are small.
    Open(Box<Screen>),
    /// Close the focused screen, back to the one beneath.
    Close,
    /// Show a modal popup over the screens.
    Popup(Popup),
    ClosePopup,
    /// End the client (the contact list's `q` and Esc with no search).
    Quit,
    /// Replace what the status line says.
    Status(Message),
    ClearStatus,
    /// The contact list at the bottom may be out of date (an import wrote
    /// contacts): ask for it again.
    ReloadList,
    /// Follow an import job whose screen was left, in the background,
    /// and say when it has finished. `poll_in_flight`: the screen's last
    /// poll is still out, and its answer continues the watch.
    WatchJob {
        id: String,
        poll_in_flight: bool,
    },
    /// Ask the server again for everything on screen: the connection
    /// screen's retry.
    Reconnect,
    /// An error the component does not show itself: a dead server or a
    /// refused token covers every screen, anything else goes to the
    /// status line.
    Error(ApiError),
}

impl Effect {
    pub fn open(screen: Screen) -> Effect {
        Effect::Open(Box::new(screen))
    }
}

/// Requests a component's own state change asked for, as effects.
pub fn sends(requests: impl IntoIterator<Item = Request>) -> Vec<Effect> {
    requests.into_iter().map(Effect::Send).collect()
}
