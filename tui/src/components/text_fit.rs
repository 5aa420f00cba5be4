//! How text is made to fit a width without anything lost silently: cut
//! with an ellipsis where cutting is allowed (a name, a company), or split
//! into rows where the whole value matters (a detail's value, a long
//! email). Widths are display columns: a double-width character counts
//! two, so nothing overflows its cell.

use ratatui::text::{Line, Span};

/// The display width of `text`.
pub fn width(text: &str) -> usize {
    Span::raw(text).width()
}

fn char_width(c: char) -> usize {
    let mut buffer = [0; 4];
    width(c.encode_utf8(&mut buffer))
}

/// `text` whole when it fits `columns`, else as much as fits followed by
/// `…`, which says that something was cut.
pub fn ellipsis(text: &str, columns: usize) -> String {
    if width(text) <= columns {
        return text.to_owned();
    }
    if columns == 0 {
        return String::new();
    }
    let room = columns - 1;
    let mut used = 0;
    let mut out = String::new();
    for c in text.chars() {
        let w = char_width(c);
        if used + w > room {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// `text` split into rows of at most `columns` columns: at spaces where
/// it can be, inside a word only when the word is longer than a row
/// (emails and phone numbers have no spaces to break at). An empty text
/// is one empty row; no character but a space at a break is dropped.
pub fn rows(text: &str, columns: usize) -> Vec<String> {
    let columns = columns.max(1);
    let mut rows = vec![String::new()];
    let mut used = 0;
    for word in text.split_inclusive(' ') {
        let word_width = width(word.trim_end_matches(' '));
        if used > 0 && used + word_width > columns && word_width <= columns {
            rows.push(String::new());
            used = 0;
        }
        for c in word.chars() {
            let w = char_width(c);
            if used + w > columns && used > 0 {
                if c == ' ' {
                    continue;
                }
                rows.push(String::new());
                used = 0;
            }
            used += w;
            if let Some(row) = rows.last_mut() {
                row.push(c);
            }
        }
    }
    for row in &mut rows {
        let kept = row.trim_end_matches(' ').len();
        if kept > 0 {
            row.truncate(kept);
        }
    }
    rows
}

/// A table cell's value split into rows of `columns` (see `rows`), a dim
/// dash for no value: where a value matters whole (merge previews, undo).
pub fn value_rows(value: Option<&str>, columns: usize) -> Vec<Line<'static>> {
    match value {
        Some(value) => rows(value, columns).into_iter().map(Line::from).collect(),
        None => vec![Line::styled("—", crate::theme::dim())],
    }
}

/// `line` split into rows of at most `columns` columns, at any character,
/// each span keeping its style; rows after the first start with `indent`
/// spaces. Drawn unwrapped, the rows' count is their height, so a pane
/// that scrolls knows how far.
pub fn wrap_line(line: &Line<'static>, columns: usize, indent: usize) -> Vec<Line<'static>> {
    let columns = columns.max(indent + 1);
    let mut rows: Vec<Line<'static>> = vec![Line::default()];
    let mut used = 0;
    for span in &line.spans {
        let mut piece = String::new();
        for c in span.content.chars() {
            let w = char_width(c);
            if used + w > columns && used > indent {
                if !piece.is_empty()
                    && let Some(row) = rows.last_mut()
                {
                    row.push_span(Span::styled(std::mem::take(&mut piece), span.style));
                }
                rows.push(Line::from(" ".repeat(indent)));
                used = indent;
            }
            used += w;
            piece.push(c);
        }
        if !piece.is_empty()
            && let Some(row) = rows.last_mut()
        {
            row.push_span(Span::styled(piece, span.style));
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipsis_marks_a_cut() {
        assert_eq!(ellipsis("Ada Lovelace", 12), "Ada Lovelace");
        assert_eq!(ellipsis("Ada Lovelace", 8), "Ada Lov…");
        assert_eq!(ellipsis("漢字かな", 5), "漢字…");
        assert_eq!(ellipsis("abc", 1), "…");
        assert_eq!(ellipsis("abc", 0), "");
    }

    #[test]
    fn wrapped_lines_keep_styles_and_indent() {
        let line = Line::from(vec![
            Span::styled("ab", ratatui::style::Style::new().bold()),
            Span::raw("cdef"),
        ]);
        let rows = wrap_line(&line, 4, 2);
        let texts: Vec<String> = rows.iter().map(|row| row.to_string()).collect();
        assert_eq!(texts, ["abcd", "  ef"]);
        assert_eq!(rows[0].spans[0].style, ratatui::style::Style::new().bold());
        assert_eq!(wrap_line(&Line::from("abc"), 10, 2).len(), 1);
    }

    #[test]
    fn rows_keep_every_character() {
        assert_eq!(rows("abcdefg", 3), ["abc", "def", "g"]);
        assert_eq!(rows("漢字か", 3), ["漢", "字", "か"]);
        assert_eq!(rows("", 3), [""]);
        assert_eq!(rows("ab", 0), ["a", "b"]);
        assert_eq!(
            rows("Holdings mbH & Co. KG", 10),
            ["Holdings", "mbH & Co.", "KG"],
            "at spaces where it can"
        );
        assert_eq!(rows("a verylongword", 6), ["a very", "longwo", "rd"]);
    }
}
