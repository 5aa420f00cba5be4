//! Where popups go: centred, never larger than the screen beneath them,
//! and as tall as their wrapped text needs, so a footer of keys is never
//! cut off by a long name or a narrow terminal.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget, Wrap};

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
    centered(area, large_width(area, max_width), height)
}

/// The width `large` gives a popup in `area`.
pub fn large_width(area: Rect, max_width: u16) -> u16 {
    area.width.saturating_sub(4).clamp(1, max_width.max(1))
}

/// Like `large`, as tall as `lines` wrapped with `wrap` need inside a
/// bordered block, plus `extra` rows drawn below them.
pub fn fitted(area: Rect, max_width: u16, lines: &[Line], wrap: Wrap, extra: u16) -> Rect {
    let width = large_width(area, max_width);
    let height = text_height(lines, wrap, width.saturating_sub(2), area.height);
    centered(area, width, height.saturating_add(extra).saturating_add(2))
}

/// The rows `lines` take once wrapped to `width` columns, counted up to
/// `max` (a popup is never taller than its screen anyway). Each line is
/// measured by drawing it off screen, so the count is the one ratatui's
/// own wrapping gives, wide characters included.
pub fn text_height(lines: &[Line], wrap: Wrap, width: u16, max: u16) -> u16 {
    if width == 0 {
        return 0;
    }
    let mut total: u16 = 0;
    for line in lines {
        let room = max.saturating_sub(total);
        if room == 0 {
            break;
        }
        let scratch = Rect::new(0, 0, width, room);
        let mut buffer = Buffer::empty(scratch);
        Paragraph::new(line.clone())
            .wrap(wrap)
            .render(scratch, &mut buffer);
        let rows = (0..room)
            .rev()
            .find(|&y| {
                (0..width).any(|x| {
                    buffer
                        .cell((x, y))
                        .is_some_and(|cell| !cell.symbol().trim().is_empty())
                })
            })
            .map_or(1, |y| y + 1);
        total = total.saturating_add(rows);
    }
    total.min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_height_counts_wrapped_rows() {
        let text = [
            Line::from("one two three four"),
            Line::default(),
            Line::from("漢字漢字漢字"),
            Line::default(),
        ];
        let wrap = Wrap { trim: true };
        // "one two" / "three" / "four", blank, 漢字漢字 / 漢字, blank.
        assert_eq!(text_height(&text, wrap, 9, 50), 7);
        assert_eq!(text_height(&text, wrap, 9, 4), 4, "counted up to max");
        assert_eq!(text_height(&text, wrap, 0, 4), 0);
    }
}
