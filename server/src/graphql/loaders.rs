//! Reads by id, batched: every load of one kind arriving within a short
//! window is served by one `WHERE id IN (...)` query. A page of 50 contacts
//! asking for their owners costs one query for the owners, not 50; and
//! concurrent `contact(id)` requests share a query too.
//!
//! The loaders live in the schema, shared by all requests, and cache
//! nothing: each read sees the database as it is, so several server
//! processes sharing one database stay consistent, and what one request
//! loaded is never served to another later. Access is checked by the
//! resolver on what comes back, as before. On SQLite `contact(id)` reads
//! through `store::point_reads` instead, where a read costs less than the
//! batching window.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::futures_util::future::BoxFuture;

use super::error::ApiError;
use crate::store::activities::{self, MeetingRecord};
use crate::store::contacts::{self, ContactRecord};
use crate::store::notifications::{self, NotificationRecord};
use crate::store::users::{self, Team, User};
use crate::store::{Store, StoreError};

/// Long enough to gather the requests in flight, short against a request.
/// Tokio's timers tick in milliseconds, so in practice it is up to 1 ms; a
/// zero window (batching only what is queued at once) measured slower.
/// Fields of one page are all queued before the window ends, since
/// async-graphql resolves a list's items together.
const BATCH_WINDOW: Duration = Duration::from_micros(200);

type Loaded<V> = Result<HashMap<i64, V>, StoreError>;

/// One batched read: the store function that answers many ids at once.
pub struct ByIds<V> {
    store: Store,
    what: &'static str,
    read: fn(Store, Vec<i64>) -> BoxFuture<'static, Loaded<V>>,
}

impl<V: Send + Sync + Clone + 'static> Loader<i64> for ByIds<V> {
    type Value = V;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, V>, Self::Error> {
        (self.read)(self.store.clone(), keys.to_vec())
            .await
            .map_err(|err| {
                // Logged once per batch here; every field the batch served
                // gets the same error.
                tracing::error!(error = %err, what = self.what, "a batched read failed");
                Arc::new(err)
            })
    }
}

fn loader<V: Send + Sync + Clone + 'static>(
    store: &Store,
    what: &'static str,
    read: fn(Store, Vec<i64>) -> BoxFuture<'static, Loaded<V>>,
) -> DataLoader<ByIds<V>> {
    DataLoader::new(
        ByIds {
            store: store.clone(),
            what,
            read,
        },
        tokio::spawn,
    )
    .delay(BATCH_WINDOW)
}

/// Adds the loaders to the schema's data, one per value type: contacts
/// (whoever may access them), users (owners, hosts, actors), teams,
/// meetings, the ids merged into a contact (by survivor) and a meeting's
/// notifications (by meeting).
pub fn register<Q, M, S>(
    builder: async_graphql::SchemaBuilder<Q, M, S>,
    store: &Store,
) -> async_graphql::SchemaBuilder<Q, M, S> {
    builder
        .data(loader::<ContactRecord>(store, "contacts", |store, ids| {
            Box::pin(async move { contacts::find_many(store.db(), &ids).await })
        }))
        .data(loader::<User>(store, "users", |store, ids| {
            Box::pin(async move { users::users_by_ids(store.db(), &ids).await })
        }))
        .data(loader::<Team>(store, "teams", |store, ids| {
            Box::pin(async move {
                let teams = users::teams_by_ids(store.db(), &ids).await?;
                Ok(teams.into_iter().map(|team| (team.id, team)).collect())
            })
        }))
        .data(loader::<MeetingRecord>(store, "meetings", |store, ids| {
            Box::pin(async move { activities::meetings_by_ids(store.db(), &ids).await })
        }))
        .data(loader::<Vec<i64>>(store, "merged ids", |store, ids| {
            Box::pin(async move { contacts::merged_ids(store.db(), &ids).await })
        }))
        .data(loader::<Vec<NotificationRecord>>(
            store,
            "notifications",
            |store, ids| {
                Box::pin(async move { notifications::for_meetings(store.db(), &ids).await })
            },
        ))
}

/// The value of `key` through the schema's loader of `V`; `None` when the
/// store has none.
pub async fn load<V: Send + Sync + Clone + 'static>(
    ctx: &Context<'_>,
    key: i64,
) -> Result<Option<V>, ApiError> {
    let loader = ctx.data::<DataLoader<ByIds<V>>>().map_err(|_| {
        tracing::error!(
            loader = std::any::type_name::<V>(),
            "schema executed without its loader"
        );
        ApiError::Internal
    })?;
    loader.load_one(key).await.map_err(ApiError::from)
}

/// Like [`load`], for optional references: `None` stays `None`.
pub async fn load_opt<V: Send + Sync + Clone + 'static>(
    ctx: &Context<'_>,
    key: Option<i64>,
) -> Result<Option<V>, ApiError> {
    match key {
        Some(key) => load(ctx, key).await,
        None => Ok(None),
    }
}
