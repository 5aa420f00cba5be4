//! The screens and popups. Each component owns its state, says which keys
//! it answers (`bindings`), changes in `update`-like methods called by
//! `App::update`, and draws with `draw(&self, ..)`, which cannot change
//! anything. See the crate documentation for how they fit together.

pub mod activity_list;
pub mod connection_screen;
pub mod contact_detail;
pub mod contact_form;
pub mod contact_list;
pub mod delete_popup;
pub mod help_overlay;
pub mod import_screen;
pub mod merge_prompt;
pub mod notice;
pub mod popup_area;
pub mod selection;
pub mod status_line;
pub mod text_field;

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::keymap::Binding;

pub trait Component {
    /// The heading of this component's keys in the help overlay.
    fn title(&self) -> String;
    /// The keys this component answers in its current state. The router
    /// and the help overlay both read this list.
    fn bindings(&self) -> Vec<Binding>;
    fn draw(&self, frame: &mut Frame, area: Rect);
}
