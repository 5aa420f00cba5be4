//! Parsed GraphQL documents kept by their text. Clients send the same few
//! operations over and over (the TUI's, a frontend's), and parsing is a
//! large part of serving a small query; a parsed copy costs a clone.

use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::Request;
use async_graphql::parser::parse_query;
use async_graphql::parser::types::ExecutableDocument;

/// Distinct documents kept; when full the cache starts over, so a client
/// sending ever-new texts cannot grow it.
const CAPACITY: usize = 512;
/// Longer texts are parsed every time: they are rare and costly to keep.
const TEXT_MAX: usize = 16 * 1024;

#[derive(Default)]
pub struct DocumentCache {
    parsed: Mutex<HashMap<String, ExecutableDocument>>,
}

impl DocumentCache {
    /// Gives `request` its parsed document from the cache, parsing and
    /// keeping it first if need be. A document that does not parse is left
    /// for execution to report.
    pub fn prepare(&self, request: &mut Request) {
        if request.query.len() > TEXT_MAX {
            return;
        }
        let cached = self
            .parsed
            .lock()
            .ok()
            .and_then(|parsed| parsed.get(&request.query).cloned());
        let document = match cached {
            Some(document) => document,
            None => {
                let Ok(document) = parse_query(&request.query) else {
                    return;
                };
                if let Ok(mut parsed) = self.parsed.lock() {
                    if parsed.len() >= CAPACITY {
                        parsed.clear();
                    }
                    parsed.insert(request.query.clone(), document.clone());
                }
                document
            }
        };
        request.set_parsed_query(document);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_document_is_the_parsed_one_and_bad_text_is_left_alone() {
        let cache = DocumentCache::default();
        let mut first = Request::new("{ me { id } }");
        cache.prepare(&mut first);
        let mut second = Request::new("{ me { id } }");
        cache.prepare(&mut second);
        assert_eq!(
            format!("{:?}", first.parsed_query().map(|d| format!("{d:?}"))),
            format!("{:?}", second.parsed_query().map(|d| format!("{d:?}")))
        );
        let mut broken = Request::new("{ me {");
        cache.prepare(&mut broken);
        assert!(broken.parsed_query().is_err());
    }
}
