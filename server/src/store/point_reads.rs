//! SQLite reads of one contact by id, and of the token generation every
//! request asks for, run on the calling thread. sqlx's
//! SQLite driver hands every statement and every row across threads to a
//! worker per connection; for a read by primary key (microseconds of
//! SQLite's own work) that hand-off was most of the cost of `contact(id)`
//! over HTTP (BENCHMARKS.md). These are read-only connections of rusqlite
//! on the same SQLite library; in WAL mode they see every committed write
//! of the sqlx pool. Nothing writes through here.
//!
//! A read here must never wait: it runs on an async worker thread, and on
//! two cores two waiting reads stop the server. So it takes only an idle
//! connection (a new one is opened on a blocking thread for next time)
//! and never waits for a lock (busy timeout 0); when either is missing,
//! the caller reads through the pool instead ([`PointRead::Busy`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::StoreError;
use super::contact_columns::{contact_at_positions, contact_columns};
use super::contacts::ContactRecord;
use super::entities::contact;

/// Idle connections kept for reuse; more are opened under load and closed.
const IDLE_MAX: usize = 8;

/// How much of the database file each connection maps.
const MMAP_BYTES: i64 = 1 << 30;

const GENERATION: &str = "SELECT value FROM auth_generation WHERE id = 1";

const BY_ID: &str = concat!(
    "SELECT ",
    contact_columns!(),
    " FROM contacts WHERE id = ?1"
);

pub struct PointReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Connections being opened on a blocking thread, so a burst opens a
    /// few, not one per request.
    opening: AtomicUsize,
}

/// What a point read came to. Returned once per read and never stored,
/// so the size of the record in it costs nothing a box would save.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum PointRead {
    Done(Option<ContactRecord>),
    /// No idle connection, or the database was locked: read elsewhere.
    Busy,
}

fn failed(err: rusqlite::Error) -> StoreError {
    StoreError::Db(sea_orm::DbErr::Custom(format!("sqlite point read: {err}")))
}

impl PointReads {
    /// For a SQLite database in a file; `None` for other URLs (and for an
    /// in-memory database, which other connections cannot see).
    pub fn for_url(url: &str) -> Option<Self> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() || path.starts_with(":memory:") || query.contains("mode=memory") {
            return None;
        }
        Some(Self {
            path: PathBuf::from(path),
            idle: Mutex::new(Vec::new()),
            opening: AtomicUsize::new(0),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(path: &Path) -> Result<Connection, StoreError> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(failed)?;
        // Never wait for a lock on the async thread: SQLITE_BUSY at once.
        connection.busy_timeout(Duration::ZERO).map_err(failed)?;
        // Pages straight from the OS's file cache, without a read() per
        // page; only what is touched counts against memory.
        connection
            .pragma_update(None, "mmap_size", MMAP_BYTES)
            .map_err(failed)?;
        Ok(connection)
    }

    /// Opens a connection for the idle set on a blocking thread, unless
    /// enough are being opened already.
    fn open_in_background(self: &Arc<Self>) {
        if self.opening.fetch_add(1, Ordering::SeqCst) >= 2 {
            self.opening.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        let reads = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            match Self::open(&reads.path) {
                Ok(connection) => reads.give_back(connection),
                Err(err) => tracing::warn!(error = %err, "opening a point-read connection failed"),
            }
            reads.opening.fetch_sub(1, Ordering::SeqCst);
        });
    }

    fn give_back(&self, connection: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_MAX
        {
            idle.push(connection);
        }
    }

    /// The contact with `id`, whoever may access it: the caller checks.
    pub fn contact(self: &Arc<Self>, id: i64) -> Result<PointRead, StoreError> {
        Ok(match self.with_idle(|connection| read(connection, id))? {
            Some(found) => PointRead::Done(found.map(ContactRecord::try_from).transpose()?),
            None => PointRead::Busy,
        })
    }

    /// The token generation (`auth_generation::read`); None when busy.
    pub fn token_generation(self: &Arc<Self>) -> Result<Option<i64>, StoreError> {
        self.with_idle(|connection| {
            connection
                .prepare_cached(GENERATION)?
                .query_row([], |row| row.get(0))
                .optional()
                .map(|found| found.unwrap_or(0))
        })
    }

    /// `read` on an idle connection, or None when there is none or the
    /// database is locked: never waiting.
    fn with_idle<T>(
        self: &Arc<Self>,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<Option<T>, StoreError> {
        let Some(connection) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) else {
            self.open_in_background();
            return Ok(None);
        };
        match read(&connection) {
            Ok(found) => {
                self.give_back(connection);
                Ok(Some(found))
            }
            Err(rusqlite::Error::SqliteFailure(err, _))
                if matches!(
                    err.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                self.give_back(connection);
                Ok(None)
            }
            // A connection whose read failed otherwise is dropped.
            Err(err) => Err(failed(err)),
        }
    }
}

fn read(connection: &Connection, id: i64) -> rusqlite::Result<Option<contact::Model>> {
    let mut statement = connection.prepare_cached(BY_ID)?;
    statement.query_row([id], contact_from_row).optional()
}

/// A contact read with `contact_columns!()`, by position.
pub(super) fn contact_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<contact::Model> {
    Ok(contact_at_positions!(row.get))
}

#[cfg(test)]
mod tests {
    use super::PointReads;

    #[test]
    fn only_sqlite_files_get_point_reads() {
        let path = |url: &str| PointReads::for_url(url).map(|r| r.path);
        assert_eq!(
            path("sqlite://contacts.db?mode=rwc"),
            Some("contacts.db".into())
        );
        assert_eq!(path("sqlite:///tmp/x/c.db"), Some("/tmp/x/c.db".into()));
        assert_eq!(path("sqlite::memory:"), None);
        assert_eq!(path("sqlite://c.db?mode=memory"), None);
        assert_eq!(path("postgres://postgres@localhost/db"), None);
    }
}
