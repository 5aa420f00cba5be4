//! Import batches on SQLite, written through one rusqlite connection on the
//! importing thread. Through SeaORM and sqlx a batch's statements were built
//! value by value, in sea-query's expression trees, and handed to sqlx's
//! worker thread and back, which cost more than SQLite's own work
//! (BENCHMARKS.md). Here the statements are written once per shape and
//! kept prepared; a batch's lookups are one statement per identity, and
//! its rows go in a hundred to a statement.
//!
//! Only what an import of new contacts writes goes through here: contacts,
//! their history, the job's checkpoint. The importer sends a batch that
//! changes a stored contact, or that an integration must hear of, down the
//! general path instead, so edits keep one implementation.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::types::Value as SqliteValue;
use rusqlite::{Connection, OpenFlags, params_from_iter};
use sea_orm::{
    ActiveModelTrait, ActiveValue, DbErr, EntityName, EntityTrait, IdenStatic, Iterable, Statement,
    Value,
};

use super::StoreError;
use super::contact_columns::contact_columns;
use super::contacts::Identity;
use super::entities::contact;
use super::point_reads::contact_from_row;

fn failed(err: rusqlite::Error) -> StoreError {
    StoreError::Db(DbErr::Custom(format!("sqlite import: {err}")))
}

/// The import's own read-write connection to the database file.
pub(super) struct SqliteImport {
    connection: Connection,
    /// Insert statements by their shape, so their SQL is written once.
    inserts: HashMap<InsertShape, String>,
    checkpointer: Checkpointer,
    /// Batches begun since the log last started over.
    batches: u32,
}

/// Batches between starts of the log from its beginning: at about 4 MB of
/// log a batch, some 64 MB.
const BATCHES_PER_LOG: u32 = 16;

impl SqliteImport {
    pub(super) fn open(path: &Path) -> Result<Self, StoreError> {
        let connection = connect(path)?;
        // Every row written here points at the importing user, checked once
        // a batch (`SqliteBatch::user_exists`), or at a contact the batch
        // has just inserted: the per-row checks of the foreign keys proved
        // nothing, and under them each multi-row insert kept a journal of
        // its own, to undo itself alone on a violation.
        connection
            .pragma_update(None, "foreign_keys", false)
            .map_err(failed)?;
        // A bulk write's working set is every index's hot pages: a larger
        // page cache than the 2 MiB default spares re-reading them.
        connection
            .pragma_update(None, "cache_size", -65_536)
            .map_err(failed)?;
        let checkpointer = Checkpointer::start(connect(path)?);
        if checkpointer.running() {
            // Copying the log into the database is left to the
            // checkpointer's thread, beside this one.
            connection
                .pragma_update(None, "wal_autocheckpoint", 0)
                .map_err(failed)?;
        }
        // What statement journals remain (the job's checkpoint) stay in
        // memory; in a temporary file each page was a write call.
        connection
            .pragma_update(None, "temp_store", "MEMORY")
            .map_err(failed)?;
        Ok(Self {
            connection,
            inserts: HashMap::new(),
            checkpointer,
            batches: 0,
        })
    }

    /// Starts a batch holding SQLite's write lock from its first read, so
    /// nothing another writer commits can slip between lookup and insert.
    pub(super) fn begin(&mut self) -> Result<SqliteBatch<'_>, StoreError> {
        self.batches += 1;
        if self.batches == BATCHES_PER_LOG {
            self.batches = 0;
            self.checkpointer.caught_up();
        }
        self.connection
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(failed)?;
        Ok(SqliteBatch {
            txn: &mut self.connection,
            open: true,
            inserts: &mut self.inserts,
            checkpointer: &self.checkpointer,
        })
    }
}

/// A connection set up as the pool's are (`Store::connect`).
fn connect(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(failed)?;
    connection
        .busy_timeout(Duration::from_secs(30))
        .map_err(failed)?;
    connection
        .pragma_update(None, "foreign_keys", true)
        .map_err(failed)?;
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(failed)?;
    Ok(connection)
}

/// A thread that copies the write-ahead log into the database after each
/// batch, while the import writes the next (a passive checkpoint never
/// waits for the writer). On the import's own thread this copying took
/// about 1.4 s of the 13 s a million rows took.
struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

/// Counts of checkpoints asked for and done, so that "done" covers every
/// batch committed before its checkpoint began.
#[derive(Default)]
struct State {
    asked: u64,
    done: u64,
    stop: bool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a change, or a while: a checkpointer that died says
    /// nothing.
    fn wait<'a>(&self, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed
            .wait_timeout(state, Duration::from_millis(100))
            .map(|(state, _)| state)
            .unwrap_or_else(|poisoned| poisoned.into_inner().0)
    }
}

impl Checkpointer {
    fn start(connection: Connection) -> Self {
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".to_owned())
            .spawn({
                let shared = Arc::clone(&shared);
                move || checkpoint_when_asked(&connection, &shared)
            })
            .ok();
        Self { shared, thread }
    }

    fn running(&self) -> bool {
        self.thread.is_some()
    }

    /// A batch was committed: its pages are to be copied.
    fn committed(&self) {
        self.shared.state().asked += 1;
        self.shared.changed.notify_all();
    }

    /// Waits until every committed batch is in the database file. The
    /// next write transaction then starts the log over from its beginning:
    /// a log copied only while the import keeps writing never is, and
    /// grows by the size of the import, each write extending the file.
    fn caught_up(&self) {
        let Some(thread) = &self.thread else {
            return;
        };
        let mut state = self.shared.state();
        while state.done < state.asked && !thread.is_finished() {
            state = self.shared.wait(state);
        }
    }
}

fn checkpoint_when_asked(connection: &Connection, shared: &Shared) {
    loop {
        let target = {
            let mut state = shared.state();
            while state.done == state.asked && !state.stop {
                state = shared.wait(state);
            }
            if state.stop {
                return;
            }
            state.asked
        };
        if let Err(err) = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %err, "import checkpoint failed");
        }
        shared.state().done = target;
        shared.changed.notify_all();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.state().stop = true;
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One batch's transaction; dropped without `commit`, it rolls back. It
/// holds the connection itself, begun and ended by statement, rather than
/// a `rusqlite::Transaction`: that one shares the connection, which is not
/// `Sync`, so a batch held across an await could not move between threads.
pub(super) struct SqliteBatch<'c> {
    txn: &'c mut Connection,
    open: bool,
    inserts: &'c mut HashMap<InsertShape, String>,
    checkpointer: &'c Checkpointer,
}

impl SqliteBatch<'_> {
    /// The contacts holding any of `values` as their `identity`, in one
    /// statement: the values go in as one JSON array.
    pub(super) fn find_all(
        &self,
        identity: Identity,
        values: &[&str],
    ) -> Result<Vec<contact::Model>, StoreError> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let sql = match identity {
            Identity::Email => BY_EMAILS,
            Identity::MobilePhone => BY_MOBILE_PHONES,
        };
        let values = serde_json::to_string(values)
            .map_err(|err| StoreError::Db(DbErr::Custom(err.to_string())))?;
        let mut statement = self.txn.prepare_cached(sql).map_err(failed)?;
        let found = statement
            .query_map([values], contact_from_row)
            .map_err(failed)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)?;
        Ok(found)
    }

    /// Whether user `id` exists: foreign keys are not checked on this
    /// connection, so the batch checks the one user its rows point at.
    pub(super) fn user_exists(&self, id: i64) -> Result<bool, StoreError> {
        self.txn
            .prepare_cached("SELECT 1 FROM users WHERE id = ?1")
            .map_err(failed)?
            .exists([id])
            .map_err(failed)
    }

    /// Whether `statement` (a query) returns a row.
    pub(super) fn exists(&self, statement: &Statement) -> Result<bool, StoreError> {
        let values = sqlite_values(statement)?;
        self.txn
            .prepare_cached(&statement.sql)
            .map_err(failed)?
            .exists(params_from_iter(values))
            .map_err(failed)
    }

    /// Runs `statement`; the number of rows it changed.
    pub(super) fn execute(&self, statement: &Statement) -> Result<u64, StoreError> {
        let values = sqlite_values(statement)?;
        let changed = self
            .txn
            .prepare_cached(&statement.sql)
            .map_err(failed)?
            .execute(params_from_iter(values))
            .map_err(failed)?;
        Ok(changed as u64)
    }

    /// Inserts the rows `models` set, many to a statement, so that one
    /// statement's cursors on the table and its indexes serve them all.
    pub(super) fn insert_many<A: ActiveModelTrait>(
        &mut self,
        models: Vec<A>,
    ) -> Result<(), StoreError> {
        self.insert_many_returning(models, None, |_| Ok(()))
            .map(|_| ())
    }

    /// `insert_many`, returning `returning` (columns, SQL) of each row, in
    /// no promised order.
    pub(super) fn insert_many_returning<A: ActiveModelTrait, T>(
        &mut self,
        models: Vec<A>,
        returning: Option<&'static str>,
        mut decode: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let rows = models
            .into_iter()
            .map(row_values)
            .collect::<Result<Vec<_>, _>>()?;
        let table = A::Entity::default().table_name();
        let mut out = Vec::new();
        let mut rest = &rows[..];
        while let Some((set, _)) = rest.first() {
            let together = rest
                .iter()
                .take(ROWS_PER_INSERT)
                .take_while(|(other, _)| other == set)
                .count();
            let (chunk, after) = rest.split_at(together);
            rest = after;
            let key = InsertShape {
                table,
                set: *set,
                rows: together,
                returning,
            };
            let sql = self
                .inserts
                .entry(key)
                .or_insert_with(|| insert_sql::<A>(&key));
            let values = chunk.iter().flat_map(|(_, values)| values.iter());
            let mut statement = self.txn.prepare_cached(sql).map_err(failed)?;
            if returning.is_some() {
                let mut returned = statement.query(params_from_iter(values)).map_err(failed)?;
                while let Some(row) = returned.next().map_err(failed)? {
                    out.push(decode(row).map_err(failed)?);
                }
            } else {
                statement
                    .execute(params_from_iter(values))
                    .map_err(failed)?;
            }
        }
        Ok(out)
    }

    pub(super) fn commit(mut self) -> Result<(), StoreError> {
        // A commit that fails leaves the transaction open: the drop after
        // it rolls back.
        self.txn.execute_batch("COMMIT").map_err(failed)?;
        self.open = false;
        self.checkpointer.committed();
        Ok(())
    }
}

impl Drop for SqliteBatch<'_> {
    fn drop(&mut self) {
        if self.open
            && let Err(err) = self.txn.execute_batch("ROLLBACK")
        {
            tracing::warn!(error = %err, "rolling an import batch back failed");
        }
    }
}

/// Rows per insert statement; 100 contact rows bind 1,400 values, far
/// under SQLite's limit of 32,766.
const ROWS_PER_INSERT: usize = 100;

/// What an insert statement's text depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct InsertShape {
    table: &'static str,
    /// The columns set, by their position in the entity.
    set: u64,
    rows: usize,
    returning: Option<&'static str>,
}

/// The columns a model sets (as a mask) and their values, in entity order.
fn row_values<A: ActiveModelTrait>(mut model: A) -> Result<(u64, Vec<SqliteValue>), StoreError> {
    let mut set = 0u64;
    let mut values = Vec::with_capacity(16);
    for (n, column) in <A::Entity as EntityTrait>::Column::iter().enumerate() {
        if let ActiveValue::Set(value) | ActiveValue::Unchanged(value) = model.take(column) {
            set |= 1 << n;
            values.push(sqlite_value(value)?);
        }
    }
    Ok((set, values))
}

/// `INSERT OR ROLLBACK INTO table (columns) VALUES (?, ...), ... [RETURNING
/// ...]`. A violated constraint fails the batch as a whole anyway; saying
/// so spares SQLite the journal it keeps to undo one statement alone.
fn insert_sql<A: ActiveModelTrait>(shape: &InsertShape) -> String {
    let columns: Vec<String> = <A::Entity as EntityTrait>::Column::iter()
        .enumerate()
        .filter(|(n, _)| shape.set & (1 << n) != 0)
        .map(|(_, column)| format!("\"{}\"", column.as_str()))
        .collect();
    let row = format!("({})", vec!["?"; columns.len()].join(", "));
    let mut sql = format!(
        "INSERT OR ROLLBACK INTO \"{}\" ({}) VALUES {}",
        shape.table,
        columns.join(", "),
        vec![row.as_str(); shape.rows].join(", ")
    );
    if let Some(returning) = shape.returning {
        sql.push_str(" RETURNING ");
        sql.push_str(returning);
    }
    sql
}

const BY_EMAILS: &str = concat!(
    "SELECT ",
    contact_columns!(),
    " FROM contacts WHERE email IN (SELECT value FROM json_each(?1))"
);
const BY_MOBILE_PHONES: &str = concat!(
    "SELECT ",
    contact_columns!(),
    " FROM contacts WHERE mobile_phone IN (SELECT value FROM json_each(?1))"
);

fn sqlite_values(statement: &Statement) -> Result<Vec<SqliteValue>, StoreError> {
    statement
        .values
        .iter()
        .flat_map(|values| values.0.iter())
        .cloned()
        .map(sqlite_value)
        .collect()
}

/// The SQLite form of a value SeaORM would bind.
fn sqlite_value(value: Value) -> Result<SqliteValue, StoreError> {
    Ok(match value {
        Value::Bool(Some(b)) => SqliteValue::Integer(i64::from(b)),
        Value::Int(Some(i)) => SqliteValue::Integer(i64::from(i)),
        Value::BigInt(Some(i)) => SqliteValue::Integer(i),
        Value::String(Some(s)) => SqliteValue::Text(s),
        Value::Bool(None) | Value::Int(None) | Value::BigInt(None) | Value::String(None) => {
            SqliteValue::Null
        }
        other => {
            return Err(StoreError::Db(DbErr::Custom(format!(
                "sqlite import: no binding for {other:?}"
            ))));
        }
    })
}

/// Runs SQLite's work on this thread. On a multi-threaded runtime tokio
/// first moves this worker's other tasks elsewhere, so requests do not wait
/// behind a batch.
pub(super) fn blocking<T>(work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HUNDRED_ROWS: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
                                WHERE i < 100) INSERT INTO t SELECT randomblob(1000) FROM n";

    /// Frames in the log, as a passive checkpoint reports them.
    fn frames_in_log(connection: &Connection) -> i64 {
        connection
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
            .unwrap()
    }

    #[test]
    fn once_caught_up_the_log_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        writer.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        let checkpointer = Checkpointer::start(connect(&path).unwrap());
        assert!(checkpointer.running());
        for _ in 0..5 {
            writer.execute_batch(HUNDRED_ROWS).unwrap();
            checkpointer.committed();
        }
        checkpointer.caught_up();
        {
            let state = checkpointer.shared.state();
            assert_eq!((state.asked, state.done), (5, 5));
        }
        // Five batches of a hundred 1 kB rows filled well over a hundred
        // pages; the next write begins the log again.
        writer
            .execute_batch("INSERT INTO t VALUES (x'00')")
            .unwrap();
        let frames = frames_in_log(&writer);
        assert!(frames <= 3, "{frames} frames in the log");
        drop(checkpointer);
    }
}
