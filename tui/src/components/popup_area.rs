//! Where popups go: centred, never larger than the screen beneath them.

use ratatui::layout::Rect;

/// A `width` x `height` rectangle centred in `area`, shrunk to fit.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// Most of `area`, leaving a margin so the screen beneath stays recognisable.
pub fn large(area: Rect, max_width: u16, height: u16) -> Rect {
    let width = area.width.saturating_sub(4).clamp(1, max_width.max(1));
    centered(area, width, height)
}
