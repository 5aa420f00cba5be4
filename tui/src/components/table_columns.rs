//! Table columns sized to the values they hold. Each column says whether
//! its values may be cut (a name: with an ellipsis) or must be shown whole
//! (a phone number cut is another number, an email cut is no address):
//! when the table is too narrow, whole-only columns are left out rather
//! than shortened, and cuttable ones shrink to their minimum first.
//! Columns are taken by rank while they fit, so one too wide for the room
//! does not take narrower ones of a later rank with it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Row, Table, TableState};

use super::text_fit;
use crate::theme;

#[derive(Debug, Clone)]
pub struct ColumnSpec {
    pub header: &'static str,
    /// The widest value (or the header): what the column wants.
    pub natural: u16,
    /// `None`: shown whole or not at all. `Some(min)`: may be cut down to
    /// `min` columns.
    pub shrink_to: Option<u16>,
    /// Columns are kept in this order while they fit (lowest first);
    /// `0` is always kept.
    pub drop_rank: u8,
}

impl ColumnSpec {
    /// A column for `values` under `header`.
    pub fn new<'a>(
        header: &'static str,
        values: impl IntoIterator<Item = &'a str>,
        shrink_to: Option<u16>,
        drop_rank: u8,
    ) -> ColumnSpec {
        let widest = values
            .into_iter()
            .map(text_fit::width)
            .chain([text_fit::width(header)])
            .max()
            .unwrap_or(0);
        ColumnSpec {
            header,
            natural: u16::try_from(widest).unwrap_or(u16::MAX),
            shrink_to,
            drop_rank,
        }
    }

    fn min(&self) -> u16 {
        match self.shrink_to {
            Some(min) => min.min(self.natural),
            None => self.natural,
        }
    }
}

/// Which columns are shown (by index into `specs`) and how wide, in
/// `width` columns with `spacing` between two columns. Space left once
/// every column has its minimum goes to the cuttable ones, up to what
/// they want, in order; what is still left stays at the right.
pub fn plan(specs: &[ColumnSpec], width: u16, spacing: u16) -> Vec<(usize, u16)> {
    let needed = |shown: &[usize]| -> u32 {
        let cells: u32 = shown
            .iter()
            .filter_map(|&i| specs.get(i))
            .map(|spec| u32::from(spec.min()))
            .sum();
        let gaps = u32::try_from(shown.len().saturating_sub(1)).unwrap_or(u32::MAX);
        cells + gaps * u32::from(spacing)
    };
    let mut shown: Vec<usize> = (0..specs.len())
        .filter(|&i| specs.get(i).is_some_and(|spec| spec.drop_rank == 0))
        .collect();
    let mut by_rank: Vec<usize> = (0..specs.len())
        .filter(|&i| specs.get(i).is_some_and(|spec| spec.drop_rank > 0))
        .collect();
    by_rank.sort_by_key(|&i| specs.get(i).map_or(0, |spec| spec.drop_rank));
    for candidate in by_rank {
        let mut with = shown.clone();
        with.push(candidate);
        if needed(&with) <= u32::from(width) {
            shown = with;
        }
    }
    // Shown in the table's own order.
    shown.sort_unstable();
    let mut widths: Vec<(usize, u16)> = shown
        .iter()
        .filter_map(|&i| specs.get(i).map(|spec| (i, spec.min())))
        .collect();
    let mut left = u32::from(width).saturating_sub(needed(&shown));
    for (i, column_width) in &mut widths {
        let Some(spec) = specs.get(*i) else { continue };
        let want = u32::from(spec.natural.saturating_sub(*column_width));
        let given = want.min(left);
        left -= given;
        *column_width = column_width.saturating_add(u16::try_from(given).unwrap_or(0));
    }
    widths
}

/// A column of a table drawn by [`draw`]: its header, how far it may be
/// cut (`None`: shown whole or left out) and its rank (see [`ColumnSpec`]).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub header: &'static str,
    pub shrink_to: Option<u16>,
    pub drop_rank: u8,
}

impl Column {
    /// A column that may be cut down to `min` columns.
    pub const fn cut(header: &'static str, min: u16, drop_rank: u8) -> Column {
        Column {
            header,
            shrink_to: Some(min),
            drop_rank,
        }
    }

    /// A column shown whole or not at all: an email, a token, a date.
    pub const fn whole(header: &'static str, drop_rank: u8) -> Column {
        Column {
            header,
            shrink_to: None,
            drop_rank,
        }
    }
}

/// Draws `rows` (one cell per column) as a table in `area`, the columns
/// planned to fit (see [`plan`]), the cut values ending in an ellipsis,
/// `selected` highlighted and scrolled into sight. `styles` gives rows a
/// style of their own (a dead letter in red); a row without one is plain.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    columns: &[Column],
    rows: &[Vec<String>],
    styles: &[Style],
    selected: Option<usize>,
) {
    let specs: Vec<ColumnSpec> = columns
        .iter()
        .enumerate()
        .map(|(index, column)| {
            ColumnSpec::new(
                column.header,
                rows.iter()
                    .filter_map(|row| row.get(index).map(String::as_str)),
                column.shrink_to,
                column.drop_rank,
            )
        })
        .collect();
    let planned = plan(&specs, area.width, 1);
    let header = Row::new(
        planned
            .iter()
            .map(|&(column, _)| specs.get(column).map_or("", |spec| spec.header)),
    )
    .style(theme::title());
    let table_rows = rows.iter().enumerate().map(|(index, row)| {
        let cells = planned.iter().map(|&(column, width)| {
            let text = row.get(column).map_or("", String::as_str);
            Cell::from(text_fit::ellipsis(text, usize::from(width)))
        });
        Row::new(cells).style(styles.get(index).copied().unwrap_or_default())
    });
    let widths = planned.iter().map(|&(_, width)| Constraint::Length(width));
    let table = Table::new(table_rows, widths)
        .header(header)
        .row_highlight_style(theme::selected());
    // A fresh state each frame: ratatui scrolls it to keep the selection
    // in sight, and drawing changes nothing.
    let mut state = TableState::default().with_selected(selected);
    frame.render_stateful_widget(table, area, &mut state);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(natural: u16, shrink_to: Option<u16>, drop_rank: u8) -> ColumnSpec {
        ColumnSpec {
            header: "",
            natural,
            shrink_to,
            drop_rank,
        }
    }

    #[test]
    fn whole_columns_are_dropped_not_cut_and_cuttable_ones_shrink() {
        let specs = [
            spec(30, Some(10), 0), // name
            spec(20, None, 3),     // email
            spec(12, None, 2),     // phone
            spec(10, None, 4),     // date
        ];
        // Everything fits as wanted.
        assert_eq!(plan(&specs, 80, 1), [(0, 30), (1, 20), (2, 12), (3, 10)]);
        // The name shrinks before anything goes.
        assert_eq!(plan(&specs, 60, 1), [(0, 15), (1, 20), (2, 12), (3, 10)]);
        // Then the date goes, then the email; the phone is never cut.
        assert_eq!(plan(&specs, 50, 1), [(0, 16), (1, 20), (2, 12)]);
        assert_eq!(plan(&specs, 30, 1), [(0, 17), (2, 12)]);
        // An email too wide for the room does not take the date with it.
        assert_eq!(plan(&specs, 34, 1), [(0, 10), (2, 12), (3, 10)]);
        // The last column standing is never dropped, only cut.
        assert_eq!(plan(&specs, 5, 1), [(0, 10)]);
    }
}
