//! Relay pagination pieces shared by every connection: page size, page
//! info and opaque cursors.

use async_graphql::SimpleObject;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Serialize, de::DeserializeOwned};

use super::error::ApiError;

const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

/// `first` as a row count: 20 when left out, at most 100.
pub fn page_size(first: Option<i32>) -> Result<u64, ApiError> {
    match first {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if n >= 0 && (n as u64) <= MAX_PAGE_SIZE => Ok(n as u64),
        Some(_) => Err(ApiError::validation(
            "first",
            format!("must be between 0 and {MAX_PAGE_SIZE}"),
        )),
    }
}

#[derive(SimpleObject, Debug, Clone, Default)]
pub struct PageInfo {
    pub has_next_page: bool,
    /// Always false: connections page forward only.
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

impl PageInfo {
    pub fn new(cursors: &[String], has_next_page: bool) -> Self {
        Self {
            has_next_page,
            has_previous_page: false,
            start_cursor: cursors.first().cloned(),
            end_cursor: cursors.last().cloned(),
        }
    }
}

pub fn encode_cursor<T: Serialize>(value: &T) -> String {
    // Serialising plain data structs to JSON cannot fail.
    let json = serde_json::to_vec(value).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

pub fn decode_cursor<T: DeserializeOwned>(cursor: &str) -> Result<T, ApiError> {
    let malformed = || ApiError::validation("after", "is not a cursor of this list");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| malformed())?;
    serde_json::from_slice(&bytes).map_err(|_| malformed())
}
