//! `contacts-tui`, the terminal admin client of the contacts server.
//!
//! # How it works
//!
//! One loop, one state, one direction:
//!
//! ```text
//!  key ──► keymap::route ──► Action ──► focused Component::handle ──► Vec<Effect>
//!                                                                        │
//!          App::carry_out ◄──────────────────────────────────────────────┘
//!            │  screens, popup, status line
//!            └──► Vec<Request> ──► tokio task per request
//!                                       │
//!  App::update ◄── Action (ContactsLoaded, Saved, ...) ◄── channel ◄────┘
//!
//!  after every key or answer: App::draw(&self) ──► components' draw(&self, frame, area)
//! ```
//!
//! - [`app::App`] holds all state: the contact list (always at the bottom),
//!   a stack of screens over it (activities, import jobs, import, detail,
//!   form; for an admin also users, teams, tokens, integrations,
//!   deliveries and their forms), at most one modal popup (merge prompt,
//!   undo of a merge, delete confirmation, a yes/no question, notice, a
//!   secret shown once),
//!   the help overlay and the connection screen
//!   that covers everything while the server is down or refuses the token
//!   (and retries by itself, later each time, while it is down).
//! - `me` is asked first: what the user may read and write (their field
//!   policies) decides what the queries ask for (a field they may not read
//!   is left out, not refused) and what the form edits; their role and
//!   policies decide which keys are offered (`App::focused_bindings` drops
//!   those of actions they cannot perform, for the router and the help
//!   alike).
//! - Keys go to the topmost layer only. Each [`components::Component`]
//!   returns its [`keymap::Binding`]s for its current state; the same list
//!   routes the key and fills the `?` overlay and popup footers, so the
//!   keymap and the help cannot disagree. Keys no layer takes fall to the
//!   global bindings (`?`, Ctrl-C). A layer that takes text (search box,
//!   form) keeps `?` as a character; the status line then names F1.
//! - A key's action goes to the focused layer's `handle`, which changes
//!   that component and returns [`effect::Effect`]s for everything beyond
//!   it: a request, a screen to open or close, a popup, a status message.
//!   The app carries them out and knows no screen's keys; only `Quit` and
//!   `ToggleHelp`, which mean the same everywhere, it takes itself.
//! - [`app::App::update`] is the one entry for actions. It never does
//!   I/O: it returns [`request::Request`]s. The shell around it
//!   (`handle_key`, `apply_answer`) spawns one tokio task per request; the
//!   task performs the typed GraphQL call ([`api`]) and sends exactly one
//!   `Action` back on a channel. The UI thread never waits on the network.
//! - `draw(&self, ..)` cannot change state; a table's scroll position is
//!   recomputed from the selection each frame.
//! - All GraphQL operations live in `tui/graphql/*.graphql` and are checked
//!   against `../schema.graphql` at compile time (`api/operations.rs`).
//!   Generated types are converted to [`model`] types in [`api`] and go no
//!   further.
//!
//! - Waiting is a request too. The search box's debounce, an automatic
//!   reconnect and the polls of an import job are requests that sleep
//!   before they answer; an answer no longer wanted (a search typed over,
//!   a retry the user made by hand) is dropped by a generation or attempt
//!   number, so there is no timer to cancel. A job whose screen is left is
//!   followed by the app (`job_watch.rs`) until it ends. The upload is the
//!   one call that is not plain JSON: a GraphQL multipart request built in
//!   `api/import.rs`, the file streamed from disk; its header is read
//!   first, on this machine, for the mapping step.
//!
//! Tests drive the same core: `press`/`update` return requests without
//! sending them (rendering tests feed answers by hand), and
//! [`app::App::settle`] runs the full loop against a real server until
//! nothing is in flight (the end-to-end test; a polled import job counts
//! as in flight until it finishes, an automatic reconnect's wait does
//! not).
//!
//! # Where things go next
//!
//! A new screen is a variant of [`app::Screen`], a component in
//! `components/` whose `handle` returns effects (the screen that opens it
//! returns `Effect::Open`), its operations in `tui/graphql/`, and
//! `Request`/`Action` variants for its calls, the way the import screen
//! (`i` on the contact list) was built: `Screen::Import`,
//! `components/import_screen/`, `graphql/import.graphql`,
//! `Request::StartImport` answered by `Action::ImportStarted`,
//! `Request::ImportJob` by `Action::ImportJobLoaded`; the app routes each
//! answer to the screen it belongs to, which turns it into effects too.
//! The admin screens went one step further, and new screens should follow
//! them: their answers (`Action::is_admin_answer`) need no case in `App`,
//! which offers each to every screen (`Screen::on_answer`); the screen it
//! belongs to knows it by generation, id or what it sent, and answers
//! with effects. A user form closes and shows the new token, the users
//! list beneath reloads, from one answer.
//!
//! # Known warts
//!
//! - Live search waits for typing to pause (`SEARCH_DEBOUNCE`) and drops
//!   answers of older searches by a generation counter; a search already
//!   sent is not cancelled on the server when a newer one supersedes it.
//! - In-flight accounting trusts every request task to answer exactly once;
//!   a task that panicked would leave `settle` waiting. `perform` has no
//!   panicking path, and reqwest's timeouts bound the wait on the network.
//! - `Action` mixes key intents and network answers in one enum, and some
//!   key intents (`Up`, `Confirm`) mean different things to different
//!   components. It keeps routing simple; the price is that a component's
//!   `handle` could in principle be given an answer, which `update` never
//!   does.
//! - Answers other than the import's and the admin screens' (a contact, a
//!   save, a delete, a page) are still handled in `App`: a save's answer
//!   closes the form, opens a detail and chooses a popup at once.
//! - A secret (a new user's first token, an issued token) lives only in
//!   the popup that shows it, and the form that asked for it cannot be
//!   left while its request is out, so the answer always finds it; quitting
//!   with Ctrl-C meanwhile loses it (a new token can be issued).
//! - The users search sends a query per key (users are few; older
//!   answers are dropped), without the contact list's debounce.
//! - Deliveries are the newest 100 of each integration (`Integration.
//!   deliveries` has no cursor or status filter), so an older dead letter
//!   is out of the TUI's reach.
//! - The activities list reloads itself when a contact opened from it is
//!   deleted, but not after an edit or merge there; `r` refreshes it.
//! - The import's path field has no Tab completion.
//! - The import screen lists the first 1,000 failed rows (the most one
//!   `importJob` answer holds); `w` writes them all beside the imported
//!   file, with their values read from that file (the server keeps none).
//!   The mapping step shows "auto" for a column left to the server's
//!   header aliases: the schema does not say which field an alias picks
//!   until the job has read the header.
//! - What a user may read and write is per field ([`model::FieldRights`]):
//!   `me.permissions` once the server tells it, the default policies of
//!   the role until then. It is read at start, after an outage and when
//!   the server answers FORBIDDEN (a policy changed meanwhile): the list
//!   and a contact on screen are then asked again under the new rights; a
//!   form already open keeps the fields it opened with.
//! - A job whose screen was left is followed by the app in the background
//!   (`job_watch.rs`) only while the client runs; jobs started elsewhere
//!   are found on the jobs screen (`I`), not announced.
//! - The form edits the contact's own fields; owner and team cannot be
//!   changed here yet (the schema has no list of users or teams to pick from:
//!   only `me` and `me.teams`, and the typed `ContactInput` can set an id
//!   but not send the `null` that clears one).
//! - The detail reads a contact's 20 newest merges (`Contact.merges`),
//!   enough for the one an undo can take back (the newest standing one:
//!   the server refuses the others, in words the status line shows).
//!   The undo's popup shows the values the absorbed contact brought, as
//!   the merge's `fields` recorded them: for a merging edit these include
//!   what was typed (the clashing email), not the record's own values
//!   that come back, which the schema does not give.
//! - Scrolling (the help overlay, the detail's activities and history)
//!   stops at the last line on screen, but `update` does not know the
//!   pane's height: after many `j` past the end, `k` takes as many presses
//!   before the view moves (bounded by the number of lines).

pub mod action;
pub mod api;
pub mod app;
pub mod components;
pub mod config;
pub mod effect;
pub mod job_watch;
pub mod keymap;
pub mod model;
pub mod request;
pub mod terminal;
mod theme;
