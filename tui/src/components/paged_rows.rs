//! The rows of a list the server pages by cursor (users, teams, tokens):
//! what is loaded, the selection, and which answer is current. The next
//! page is asked for as the selection nears the end of what is loaded; a
//! new query (a filter, a reload) bumps the generation, and answers of
//! older generations are dropped, so a slow answer cannot overwrite a
//! newer one. The rows on screen stay until the new answer comes, so the
//! table does not flicker.
//!
//! The contact, activity and job lists predate it and keep their own
//! copies of this logic.

use std::sync::atomic::{AtomicU64, Ordering};

use ratatui::text::Line;

use super::selection::Selection;
use crate::action::Action;
use crate::api::ApiError;
use crate::model::{Page, grouped};
use crate::theme;

/// Ask for the next page when the selection is this close to the end of
/// what is loaded, so scrolling rarely waits.
const PREFETCH_ROWS: usize = 10;
const PAGE_STEP: usize = 20;

/// Unique across every paged list ever opened, so an answer to a closed
/// screen cannot land in a new one.
pub fn next_generation() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[derive(Debug)]
pub struct PagedRows<T> {
    rows: Vec<T>,
    total: Option<i64>,
    selected: Selection,
    end_cursor: Option<String>,
    has_next_page: bool,
    generation: u64,
    /// The next answer replaces the rows rather than extending them.
    replacing: bool,
    loading: bool,
    error: Option<String>,
}

impl<T> Default for PagedRows<T> {
    fn default() -> Self {
        PagedRows {
            rows: Vec::new(),
            total: None,
            selected: Selection::default(),
            end_cursor: None,
            has_next_page: false,
            generation: 0,
            replacing: true,
            loading: false,
            error: None,
        }
    }
}

impl<T> PagedRows<T> {
    /// Starts a new query; returns its generation, for the request of its
    /// first page.
    pub fn restart(&mut self) -> u64 {
        self.generation = next_generation();
        self.replacing = true;
        self.loading = true;
        self.generation
    }

    /// Back to the first row: for a new filter, whose rows are others.
    pub fn select_first(&mut self) {
        self.selected.reset();
    }

    pub fn is_current(&self, generation: u64) -> bool {
        generation == self.generation
    }

    /// The generation and cursor of the next page, when the selection is
    /// near the end of what is loaded and more is there; one at a time.
    pub fn next_page(&mut self) -> Option<(u64, Option<String>)> {
        let near_end = self.selected.near_end(self.rows.len(), PREFETCH_ROWS);
        if !near_end || !self.has_next_page || self.loading {
            return None;
        }
        self.loading = true;
        self.replacing = false;
        Some((self.generation, self.end_cursor.clone()))
    }

    /// Takes an answer: `None` when it was applied or is stale, else the
    /// error, for the screen to pass on (it is also shown in the table).
    pub fn apply(&mut self, generation: u64, result: Result<Page<T>, ApiError>) -> Option<ApiError>
    where
        T: Clone,
    {
        if !self.is_current(generation) {
            return None;
        }
        self.loading = false;
        match result {
            Ok(page) => {
                if self.replacing {
                    self.rows = page.rows;
                    self.selected.clamp(self.rows.len());
                } else {
                    self.rows.extend(page.rows);
                }
                self.total = Some(page.total);
                self.has_next_page = page.has_next_page;
                self.end_cursor = page.end_cursor;
                self.error = None;
                None
            }
            Err(err) => {
                self.error = Some(err.to_string());
                Some(err)
            }
        }
    }

    /// Moves the selection for a navigation action; `false` for any other
    /// action. After a move, ask `next_page`.
    pub fn move_selection(&mut self, action: &Action) -> bool {
        self.selected.apply(action, self.rows.len(), PAGE_STEP)
    }

    pub fn rows(&self) -> &[T] {
        &self.rows
    }

    pub fn selected_index(&self) -> usize {
        self.selected.index()
    }

    pub fn selected(&self) -> Option<&T> {
        self.rows.get(self.selected.index())
    }

    pub fn total(&self) -> Option<i64> {
        self.total
    }

    pub fn is_loading(&self) -> bool {
        self.loading
    }

    /// " Users: 3 of 12 loaded ", or " Users " before the first answer.
    pub fn title(&self, noun: &str) -> String {
        match self.total {
            Some(total) => format!(
                " {noun}: {} of {} loaded ",
                grouped(i64::try_from(self.rows.len()).unwrap_or(i64::MAX)),
                grouped(total)
            ),
            None => format!(" {noun} "),
        }
    }

    /// What an empty table says: why it is empty.
    pub fn empty_line(&self, what: &str, none: &str) -> Line<'static> {
        if let Some(error) = &self.error {
            Line::styled(
                format!("Could not load the {what}: {error}"),
                theme::error(),
            )
        } else if self.loading || self.total.is_none() {
            Line::styled("Loading…", theme::dim())
        } else {
            Line::styled(none.to_owned(), theme::dim())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(rows: &[&'static str], has_next_page: bool) -> Page<&'static str> {
        Page {
            rows: rows.to_vec(),
            total: 30,
            has_next_page,
            end_cursor: Some(format!("after-{}", rows.len())),
        }
    }

    #[test]
    fn stale_answers_are_dropped_and_pages_append() {
        let mut list = PagedRows::default();
        let first = list.restart();
        let second = list.restart();
        assert_eq!(list.apply(first, Ok(page(&["stale"], false))), None);
        assert!(list.rows().is_empty(), "an older query's answer is dropped");
        list.apply(second, Ok(page(&["a", "b"], true)));
        assert_eq!(list.rows(), ["a", "b"]);
        assert!(list.move_selection(&Action::Down));
        assert_eq!(list.next_page(), Some((second, Some("after-2".to_owned()))));
        assert_eq!(list.next_page(), None, "one page at a time");
        list.apply(second, Ok(page(&["c"], false)));
        assert_eq!(list.rows(), ["a", "b", "c"]);
        assert_eq!(list.selected(), Some(&"b"));
        assert_eq!(list.title("Users"), " Users: 3 of 30 loaded ");

        let third = list.restart();
        let err = list.apply(third, Err(ApiError::Server("boom".to_owned())));
        assert_eq!(err, Some(ApiError::Server("boom".to_owned())));
        assert_eq!(list.rows(), ["a", "b", "c"], "the rows stay");
    }
}
