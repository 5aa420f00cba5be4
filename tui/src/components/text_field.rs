//! How a text field being typed into is shown: the end of its value that
//! fits, then the cursor. The form and the import's path field share it.

use ratatui::text::Span;

const CURSOR: &str = "▏";

/// `value` as a focused field `width` columns wide shows it: the cursor
/// last, so it stays in sight while typing a long value.
pub fn with_cursor(value: &str, width: u16) -> String {
    let room = usize::from(width.saturating_sub(1));
    format!("{}{CURSOR}", tail(value, room))
}

/// The end of `value` that fits in `width` columns; double-width
/// characters count double, so a wide value never overflows its field.
pub fn tail(value: &str, width: usize) -> &str {
    let mut used = 0;
    let mut start = value.len();
    for (index, c) in value.char_indices().rev() {
        let mut buffer = [0; 4];
        let columns = Span::raw(&*c.encode_utf8(&mut buffer)).width();
        if used + columns > width {
            break;
        }
        used += columns;
        start = index;
    }
    value.get(start..).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_keep_their_end_in_sight() {
        assert_eq!(tail("abcdef", 3), "def");
        assert_eq!(tail("漢字かな", 5), "かな");
        assert_eq!(tail("", 3), "");
        assert_eq!(tail("abc", 0), "");
        assert_eq!(with_cursor("abcdef", 4), "def▏");
        assert_eq!(with_cursor("ab", 10), "ab▏");
        assert_eq!(with_cursor("ab", 0), "▏");
    }
}
