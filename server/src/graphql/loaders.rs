//! Reads of contacts by id, batched across concurrent requests: every
//! `contact(id)` arriving within a short window is served by one
//! `WHERE id IN (...)` query. Nothing is cached: each read sees the
//! database as it is, so several server processes stay consistent. Access
//! is checked by the caller on what comes back. On SQLite `contact(id)`
//! reads through `store::point_reads` instead, where a read costs less
//! than the batching window.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};

use crate::store::contacts::{self, ContactRecord};
use crate::store::{Store, StoreError};

/// Long enough to gather the requests in flight, short against a request.
/// Tokio's timers tick in milliseconds, so in practice it is up to 1 ms; a
/// zero window (batching only what is queued at once) measured slower.
const BATCH_WINDOW: Duration = Duration::from_micros(200);

pub struct ContactLoader {
    store: Store,
}

impl Loader<i64> for ContactLoader {
    type Value = ContactRecord;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, ContactRecord>, Self::Error> {
        contacts::find_many(self.store.db(), keys)
            .await
            .map_err(Arc::new)
    }
}

pub fn contact_loader(store: Store) -> DataLoader<ContactLoader> {
    DataLoader::new(ContactLoader { store }, tokio::spawn).delay(BATCH_WINDOW)
}
