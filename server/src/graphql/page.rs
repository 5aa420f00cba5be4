//! Relay pagination shared by every list: one connection type (edges,
//! page info, total count), page size and opaque cursors. Each list names
//! its node and what its `totalCount` counts; the schema sees one concrete
//! type per list (`ContactConnection`, `ContactEdge`, ...).

use std::future::Future;

use async_graphql::{Context, Object, OutputType, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::OnceCell;

pub use crate::store::listing::Count as Counted;

use super::activity::{Activity, ActivityTotal};
use super::contact::{Contact, ContactChange, ContactTotal, HistoryTotal};
use super::error::{ApiError, ApiResult};
use super::import::{ImportJob, ImportJobTotal};
use super::merge::{Merge, MergeTotal};
use super::user::{ApiToken, Team, TeamTotal, TokenTotal, User, UserTotal};

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

/// One item of a page, and the cursor a next page starts after.
#[derive(SimpleObject)]
#[graphql(
    concrete(name = "ActivityEdge", params(Activity)),
    concrete(name = "ContactEdge", params(Contact)),
    concrete(name = "ContactChangeEdge", params(ContactChange)),
    concrete(name = "ImportJobEdge", params(ImportJob)),
    concrete(name = "UserEdge", params(User)),
    concrete(name = "TeamEdge", params(Team)),
    concrete(name = "ApiTokenEdge", params(ApiToken)),
    concrete(name = "MergeEdge", params(Merge))
)]
pub struct Edge<N: OutputType> {
    pub cursor: String,
    pub node: N,
}

/// What one list's `totalCount` counts: the same filter and access rules
/// as its pages, counted only when asked for.
pub trait Total: Send + Sync {
    fn total(&self, ctx: &Context<'_>) -> impl Future<Output = ApiResult<Counted>> + Send;
}

/// A page of a list, read forward.
pub struct Connection<N: OutputType, T> {
    edges: Vec<Edge<N>>,
    has_next_page: bool,
    total: T,
    /// `totalCount` and `totalCountCapped` share one count.
    counted: OnceCell<Counted>,
}

impl<N: OutputType, T: Total> Connection<N, T> {
    /// A page from `rows` as fetched: `limit + 1` were asked for, so a row
    /// past `limit` says a next page exists (and is not shown).
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        limit: u64,
        total: T,
        edge: impl FnMut(R) -> Edge<N>,
    ) -> Self {
        let has_next_page = rows.len() as u64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Self {
            edges: rows.into_iter().map(edge).collect(),
            has_next_page,
            total,
            counted: OnceCell::new(),
        }
    }
}

#[Object(
    concrete(name = "ActivityConnection", params(Activity, ActivityTotal)),
    concrete(name = "ContactConnection", params(Contact, ContactTotal)),
    concrete(name = "ContactChangeConnection", params(ContactChange, HistoryTotal)),
    concrete(name = "ImportJobConnection", params(ImportJob, ImportJobTotal)),
    concrete(name = "UserConnection", params(User, UserTotal)),
    concrete(name = "TeamConnection", params(Team, TeamTotal)),
    concrete(name = "ApiTokenConnection", params(ApiToken, TokenTotal)),
    concrete(name = "MergeConnection", params(Merge, MergeTotal))
)]
impl<N: OutputType, T: Total> Connection<N, T>
where
    Edge<N>: OutputType,
{
    async fn edges(&self) -> &[Edge<N>] {
        &self.edges
    }

    async fn page_info(&self) -> PageInfo {
        let cursors: Vec<String> = self.edges.iter().map(|e| e.cursor.clone()).collect();
        PageInfo::new(&cursors, self.has_next_page)
    }

    /// How many items the whole list holds, across its pages, under the
    /// same filter and access rules. Exact, except for a contact search
    /// matching more than the server's search count cap (1,000 unless set
    /// otherwise): counting stops there, this is the cap and
    /// `totalCountCapped` is true.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<u64> {
        Ok(self.counted(ctx).await?.value)
    }

    /// True when the list holds more than `totalCount` items: counting
    /// stopped there (show it as "1,000+").
    async fn total_count_capped(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        Ok(self.counted(ctx).await?.capped)
    }
}

impl<N: OutputType, T: Total> Connection<N, T> {
    async fn counted(&self, ctx: &Context<'_>) -> ApiResult<Counted> {
        self.counted
            .get_or_try_init(|| self.total.total(ctx))
            .await
            .copied()
    }
}
