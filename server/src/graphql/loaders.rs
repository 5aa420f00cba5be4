//! Reads by id, batched: every load of one kind that joins a batch before
//! it closes is served by one `WHERE id IN (...)` query. A page of 50
//! contacts asking for their owners costs one query for the owners, not 50.
//!
//! A batch closes after the request that opened it has had a few more
//! turns on the executor, not after a fixed time. async-graphql resolves a
//! list's items together, so by then every row of the page has asked for
//! its key, however long polling the page took: a time window alone (what
//! async-graphql's `DataLoader` offers) closed before the last rows of a
//! 50-row page asked on a debug build or a busy machine, and the page cost
//! three batches per kind. The contacts batcher then also waits a short
//! window, so concurrent `contact(id)` requests share a query.
//!
//! The batchers live in the schema, shared by all requests, and cache
//! nothing: each read sees the database as it is, so several server
//! processes sharing one database stay consistent, and what one request
//! loaded is never served to another later. Access is checked by the
//! resolver on what comes back, as before. On SQLite `contact(id)` reads
//! through `store::point_reads` instead, where a read costs less than the
//! window.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Wake, Waker};
use std::time::Duration;

use async_graphql::Context;
use async_graphql::futures_util::future::{BoxFuture, FutureExt, Shared};

use super::error::ApiError;
use crate::domain::Principal;
use crate::store::activities::{self, MeetingRecord};
use crate::store::contacts::{self, ContactRecord};
use crate::store::merges::{self, NewestStanding};
use crate::store::notifications::{self, NotificationRecord};
use crate::store::point_reads::PointRead;
use crate::store::users::{self, Team, TeamIds, User};
use crate::store::{Store, StoreError};

/// Turns the executor takes at least before a batch closes (more while
/// keys keep arriving). One is enough for the rows of a short list; the
/// second is margin for a field that becomes ready a turn later.
const TURNS: usize = 2;

/// Turns a batch waits at most, keys arriving or not (a 50-row page's
/// shares take two or three).
const MAX_TURNS: usize = 8;

/// For `contact(id)`: long enough to gather the requests in flight, short
/// against a request. Tokio's timers tick in milliseconds, so in practice
/// it is up to 1 ms; a zero window (batching only what is queued at once)
/// measured slower.
const CONTACT_WINDOW: Duration = Duration::from_micros(200);

/// Keys one query may carry; a batch this full closes at once.
const MAX_BATCH: usize = 1000;

type Loaded<V> = Result<HashMap<i64, V>, StoreError>;
type Read<V> = fn(Store, Vec<i64>) -> BoxFuture<'static, Loaded<V>>;
type Outcome<V> = Result<Arc<HashMap<i64, V>>, Arc<StoreError>>;
/// A batch's query, awaited by every load that joined it; whichever of
/// them is polled drives it, so a request that goes away strands no one.
type Batch<V> = Shared<BoxFuture<'static, Outcome<V>>>;

/// Batched reads of one kind of value by id.
pub struct Batcher<V> {
    inner: Arc<Inner<V>>,
}

struct Inner<V> {
    store: Store,
    what: &'static str,
    read: Read<V>,
    window: Option<Duration>,
    open: Mutex<Option<Open<V>>>,
}

/// The batch new loads join.
struct Open<V> {
    keys: Arc<Mutex<Joined>>,
    batch: Batch<V>,
}

/// The keys a batch will read, and how many loads joined it (a load of a
/// key already in it still shows the rows are arriving).
struct Joined {
    keys: HashSet<i64>,
    joins: usize,
}

/// A poisoned lock only means a panic elsewhere; the sets it guards stay
/// usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<V: Clone + Send + Sync + 'static> Batcher<V> {
    fn new(store: &Store, what: &'static str, read: Read<V>, window: Option<Duration>) -> Self {
        Self {
            inner: Arc::new(Inner {
                store: store.clone(),
                what,
                read,
                window,
                open: Mutex::new(None),
            }),
        }
    }

    pub async fn load(&self, key: i64) -> Result<Option<V>, Arc<StoreError>> {
        let loaded = self.join(key).await?;
        Ok(loaded.get(&key).cloned())
    }

    fn join(&self, key: i64) -> Batch<V> {
        let mut open = lock(&self.inner.open);
        let (batch, full) = match open.as_ref() {
            Some(current) => {
                let mut joined = lock(&current.keys);
                joined.keys.insert(key);
                joined.joins += 1;
                (current.batch.clone(), joined.keys.len() >= MAX_BATCH)
            }
            None => {
                let keys = Arc::new(Mutex::new(Joined {
                    keys: HashSet::from([key]),
                    joins: 1,
                }));
                let batch = run(self.inner.clone(), keys.clone()).boxed().shared();
                *open = Some(Open {
                    keys,
                    batch: batch.clone(),
                });
                (batch, false)
            }
        };
        if full {
            *open = None;
        }
        batch
    }
}

/// Ready once the runtime has given the other ready tasks, and the task
/// polling it, another turn: Tokio wakes a yielded task only after it ran
/// out of ready tasks. However often it is polled meanwhile (a batch is
/// polled by each load waiting on it, many in one turn), a turn passes only
/// when the runtime wakes it, so the turns are the executor's, not polls.
/// (Outside a runtime's worker, in `block_on`, Tokio wakes at once and a
/// turn is only a poll; requests always run as the runtime's tasks.)
struct Turn {
    yielded: Option<BoxFuture<'static, ()>>,
    signal: Arc<TurnSignal>,
}

#[derive(Default)]
struct TurnSignal {
    woken: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Wake for TurnSignal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if let Some(waker) = lock(&self.waker).take() {
            waker.wake();
        }
    }
}

fn turn() -> Turn {
    Turn {
        yielded: Some(tokio::task::yield_now().boxed()),
        signal: Arc::default(),
    }
}

impl Future for Turn {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        *lock(&self.signal.waker) = Some(cx.waker().clone());
        if self.signal.woken.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        if let Some(mut yielded) = self.yielded.take() {
            // Its first poll hands our waker to the runtime to wake later;
            // polling it again would be ready at once, so it is not.
            let waker = Waker::from(self.signal.clone());
            let _ = yielded
                .as_mut()
                .poll(&mut std::task::Context::from_waker(&waker));
        }
        Poll::Pending
    }
}

async fn run<V: Clone + Send + Sync + 'static>(
    inner: Arc<Inner<V>>,
    keys: Arc<Mutex<Joined>>,
) -> Outcome<V> {
    // At least TURNS turns, then as long as the last turn brought loads: a
    // long list's items may reach the batch over several polls (the
    // `FuturesUnordered` under a list of more than 30 items polls a share
    // of them and yields), and a fixed count closed the batch between two
    // shares on some runs, so a 50-row page cost one more query.
    let mut seen = 0;
    let mut turns = 0;
    loop {
        turn().await;
        turns += 1;
        let now = lock(&keys).joins;
        // Bounded: under steady load other requests could bring keys on
        // every turn, and a batch must not wait on them for long.
        if (turns >= TURNS && now == seen) || turns >= MAX_TURNS {
            break;
        }
        seen = now;
    }
    if let Some(window) = inner.window {
        tokio::time::sleep(window).await;
    }
    {
        let mut open = lock(&inner.open);
        if open
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(&current.keys, &keys))
        {
            *open = None;
        }
    }
    let keys: Vec<i64> = lock(&keys).keys.iter().copied().collect();
    match (inner.read)(inner.store.clone(), keys).await {
        Ok(loaded) => Ok(Arc::new(loaded)),
        Err(err) => {
            // Logged once per batch here; every field the batch served
            // gets the same error.
            tracing::error!(error = %err, what = inner.what, "a batched read failed");
            Err(Arc::new(err))
        }
    }
}

/// Adds the batchers to the schema's data, one per value type: contacts
/// (whoever may access them), users (owners, hosts, actors), teams,
/// meetings, the ids merged into a contact (by survivor) and a meeting's
/// notifications (by meeting).
pub fn register<Q, M, S>(
    builder: async_graphql::SchemaBuilder<Q, M, S>,
    store: &Store,
) -> async_graphql::SchemaBuilder<Q, M, S> {
    builder
        .data(Batcher::<ContactRecord>::new(
            store,
            "contacts",
            |store, ids| Box::pin(async move { contacts::find_many(store.db(), &ids).await }),
            Some(CONTACT_WINDOW),
        ))
        .data(Batcher::<User>::new(
            store,
            "users",
            |store, ids| Box::pin(async move { users::users_by_ids(store.db(), &ids).await }),
            None,
        ))
        .data(Batcher::<Team>::new(
            store,
            "teams",
            |store, ids| {
                Box::pin(async move {
                    let teams = users::teams_by_ids(store.db(), &ids).await?;
                    Ok(teams.into_iter().map(|team| (team.id, team)).collect())
                })
            },
            None,
        ))
        .data(Batcher::<TeamIds>::new(
            store,
            "team memberships",
            |store, ids| Box::pin(async move { users::team_ids_of_users(store.db(), &ids).await }),
            None,
        ))
        .data(Batcher::<MeetingRecord>::new(
            store,
            "meetings",
            |store, ids| {
                Box::pin(async move { activities::meetings_by_ids(store.db(), &ids).await })
            },
            None,
        ))
        .data(Batcher::<Vec<i64>>::new(
            store,
            "merged ids",
            |store, ids| Box::pin(async move { contacts::merged_ids(store.db(), &ids).await }),
            None,
        ))
        .data(Batcher::<NewestStanding>::new(
            store,
            "newest standing merges",
            |store, ids| Box::pin(async move { merges::newest_standing(store.db(), &ids).await }),
            None,
        ))
        .data(Batcher::<Vec<NotificationRecord>>::new(
            store,
            "notifications",
            |store, ids| {
                Box::pin(async move { notifications::for_meetings(store.db(), &ids).await })
            },
            None,
        ))
}

/// The value of `key` through the schema's batcher of `V`; `None` when the
/// store has none.
pub async fn load<V: Clone + Send + Sync + 'static>(
    ctx: &Context<'_>,
    key: i64,
) -> Result<Option<V>, ApiError> {
    let batcher = ctx.data::<Batcher<V>>().map_err(|_| {
        tracing::error!(
            loader = std::any::type_name::<V>(),
            "schema executed without its batcher"
        );
        ApiError::Internal
    })?;
    batcher.load(key).await.map_err(ApiError::from)
}

/// The contact `id` names if the caller may access it: read where a read
/// by id is cheapest (a point read on SQLite, else the batcher), and for
/// an id that is no longer a contact's, the survivor it was merged into.
pub async fn accessible_contact(
    ctx: &Context<'_>,
    caller: &Principal,
    id: i64,
) -> Result<Option<ContactRecord>, ApiError> {
    let store = &super::state(ctx)?.store;
    let point_read = match store.point_reads() {
        Some(reads) => reads.contact(id)?,
        None => PointRead::Busy,
    };
    let loaded = match point_read {
        PointRead::Done(loaded) => loaded,
        PointRead::Busy => load(ctx, id).await?,
    };
    Ok(match loaded {
        Some(record) => caller
            .can_access(record.owner_id, record.team_id)
            .then_some(record),
        // Not a live id: it may be one absorbed by a merge.
        None => contacts::resolve(store.db(), &caller.access(), id).await?,
    })
}

/// Like [`load`], for optional references: `None` stays `None`.
pub async fn load_opt<V: Clone + Send + Sync + 'static>(
    ctx: &Context<'_>,
    key: Option<i64>,
) -> Result<Option<V>, ApiError> {
    match key {
        Some(key) => load(ctx, key).await,
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use async_graphql::futures_util::future::join_all;

    use super::*;

    /// The batches the test reader was asked for.
    static BATCHES: Mutex<Vec<Vec<i64>>> = Mutex::new(Vec::new());
    static READS: AtomicUsize = AtomicUsize::new(0);

    fn doubled(_: Store, ids: Vec<i64>) -> BoxFuture<'static, Loaded<i64>> {
        Box::pin(async move {
            READS.fetch_add(1, Ordering::SeqCst);
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            lock(&BATCHES).push(sorted);
            // Odd ids do not exist.
            Ok(ids
                .into_iter()
                .filter(|id| id % 2 == 0)
                .map(|id| (id, id * 2))
                .collect())
        })
    }

    /// Loads asked together are one read, however many and however slow
    /// polling them is; loads asked later are a read of their own, never
    /// answered from an earlier one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_page_of_loads_is_one_read_and_nothing_is_kept() {
        let store = Store::connect("sqlite::memory:").await.expect("store");
        let batcher = Arc::new(Batcher::new(&store, "test", doubled, None));
        // A request runs as a task of the runtime, as the server's do.
        let page = tokio::spawn({
            let batcher = batcher.clone();
            async move {
                join_all((0..100).map(|id| {
                    let batcher = &batcher;
                    async move {
                        // A row slow to poll, as a debug build's resolvers are.
                        std::thread::sleep(Duration::from_micros(50));
                        batcher.load(id).await
                    }
                }))
                .await
            }
        })
        .await
        .expect("the page's task");
        for (id, loaded) in page.into_iter().enumerate() {
            let id = id as i64;
            let expected = (id % 2 == 0).then_some(id * 2);
            assert_eq!(loaded.expect("loaded"), expected, "{id}");
        }
        assert_eq!(READS.load(Ordering::SeqCst), 1);
        assert_eq!(lock(&BATCHES)[0], (0..100).collect::<Vec<_>>());

        assert_eq!(batcher.load(4).await.expect("loaded"), Some(8));
        assert_eq!(READS.load(Ordering::SeqCst), 2, "nothing is cached");
    }
}
