//! Parsed GraphQL documents kept by their text. Clients send the same few
//! operations over and over (the TUI's, a frontend's), and parsing is a
//! large part of serving a small query; a parsed copy costs a clone.
//!
//! Also the texts of automatic persisted queries (the protocol of Apollo
//! Client's persisted-query link, also spoken by urql and Relay setups): a
//! request may carry `extensions.persistedQuery.sha256Hash` instead of its
//! text; a hash the server does not know answers `PersistedQueryNotFound`,
//! the client sends text and hash, and from then on the hash alone runs.
//! async-graphql ships this as an extension, but any extension sends every
//! field of every request through its resolve hook (see `graphql/cost.rs`).

use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::parser::parse_query;
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, Value};
use sha2::{Digest, Sha256};

/// Distinct documents kept; when full the cache starts over, so a client
/// sending ever-new texts cannot grow it.
const CAPACITY: usize = 512;
/// Longer texts are parsed every time: they are rare and costly to keep.
const TEXT_MAX: usize = 16 * 1024;

/// Bytes of persisted texts kept; when full the store starts over, so a
/// client persisting ever-new texts cannot grow it.
const PERSISTED_BYTES: usize = 16 * 1024 * 1024;
/// The longest text that may be persisted.
const PERSISTED_TEXT_MAX: usize = 64 * 1024;

#[derive(Default)]
pub struct DocumentCache {
    parsed: Mutex<HashMap<String, ExecutableDocument>>,
    persisted: Mutex<Persisted>,
}

#[derive(Default)]
struct Persisted {
    texts: HashMap<String, String>,
    bytes: usize,
}

/// Why a persisted query cannot run; the messages are the protocol's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersistedQueryError {
    #[error("PersistedQueryNotFound")]
    NotFound,
    #[error("provided sha does not match query")]
    HashMismatch,
    #[error("unsupported persisted query version; send version 1")]
    UnsupportedVersion,
    #[error("extensions.persistedQuery needs version 1 and a sha256Hash of 64 hex digits")]
    Malformed,
    #[error("a persisted query is at most {PERSISTED_TEXT_MAX} bytes; send the text itself")]
    TooLong,
}

impl PersistedQueryError {
    pub fn code(&self) -> &'static str {
        match self {
            PersistedQueryError::NotFound => "PERSISTED_QUERY_NOT_FOUND",
            _ => "BAD_REQUEST",
        }
    }
}

impl DocumentCache {
    /// Gives a request that names a persisted query by its hash alone its
    /// text, and keeps the text of one that sends both. A request without
    /// the extension is left as it is.
    pub fn resolve_persisted(&self, request: &mut Request) -> Result<(), PersistedQueryError> {
        let Some(extension) = request.extensions.get("persistedQuery") else {
            return Ok(());
        };
        let Value::Object(fields) = extension else {
            return Err(PersistedQueryError::Malformed);
        };
        match fields.get("version") {
            Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
            Some(Value::Number(_)) => return Err(PersistedQueryError::UnsupportedVersion),
            _ => return Err(PersistedQueryError::Malformed),
        }
        let hash = match fields.get("sha256Hash") {
            Some(Value::String(hash))
                if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                hash.to_ascii_lowercase()
            }
            _ => return Err(PersistedQueryError::Malformed),
        };
        if request.query.is_empty() {
            let known = self
                .persisted
                .lock()
                .ok()
                .and_then(|persisted| persisted.texts.get(&hash).cloned());
            request.query = known.ok_or(PersistedQueryError::NotFound)?;
            return Ok(());
        }
        if hex::encode(Sha256::digest(request.query.as_bytes())) != hash {
            return Err(PersistedQueryError::HashMismatch);
        }
        if request.query.len() > PERSISTED_TEXT_MAX {
            return Err(PersistedQueryError::TooLong);
        }
        if let Ok(mut persisted) = self.persisted.lock()
            && !persisted.texts.contains_key(&hash)
        {
            if persisted.bytes + request.query.len() > PERSISTED_BYTES {
                persisted.texts.clear();
                persisted.bytes = 0;
            }
            persisted.bytes += request.query.len();
            persisted.texts.insert(hash, request.query.clone());
        }
        Ok(())
    }

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

    fn persisted(query: &str, hash: &str) -> Request {
        let mut request = Request::new(query);
        request.extensions.insert(
            "persistedQuery".to_owned(),
            Value::from_json(serde_json::json!({ "version": 1, "sha256Hash": hash })).unwrap(),
        );
        request
    }

    #[test]
    fn a_hash_runs_once_its_text_was_sent_with_it() {
        let cache = DocumentCache::default();
        let text = "{ me { id } }";
        let hash = hex::encode(Sha256::digest(text));
        let mut unknown = persisted("", &hash);
        assert_eq!(
            cache.resolve_persisted(&mut unknown),
            Err(PersistedQueryError::NotFound)
        );
        let mut both = persisted(text, &hash);
        assert_eq!(cache.resolve_persisted(&mut both), Ok(()));
        let mut known = persisted("", &hash.to_ascii_uppercase());
        assert_eq!(cache.resolve_persisted(&mut known), Ok(()));
        assert_eq!(known.query, text);
        let mut lying = persisted("{ me { name } }", &hash);
        assert_eq!(
            cache.resolve_persisted(&mut lying),
            Err(PersistedQueryError::HashMismatch)
        );
        let mut short = persisted("", "abc");
        assert_eq!(
            cache.resolve_persisted(&mut short),
            Err(PersistedQueryError::Malformed)
        );
        let mut plain = Request::new(text);
        assert_eq!(cache.resolve_persisted(&mut plain), Ok(()));
    }

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
