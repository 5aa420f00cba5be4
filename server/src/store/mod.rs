//! Persistence through SeaORM on SQLite or PostgreSQL, and the use-cases
//! that change data. Repository functions take `&impl ConnectionTrait`, so
//! one function serves inside or outside a transaction; a use-case opens
//! its transaction once, asks the domain what to do, and writes.
//!
//! Three layers, each using only those below it, so no two modules import
//! each other: repositories (`contacts`, `history`, `outbox`,
//! `notifications`, `integrations`, `users`, `tokens`, `import_jobs`,
//! `contact_search`, and the bulk writers `import_sqlite`,
//! `import_postgres`); `contact_writes`, the one module that writes a
//! contact and sets off what a change of identity does; and the use-cases
//! (`save`, `merge`, `activities`, `import`, `listing`).

pub mod activities;
pub mod auth_generation;
mod bulk;
mod contact_columns;
pub mod contact_search;
pub mod contact_writes;
pub mod contacts;
pub mod entities;
mod error;
pub mod field_policies;
pub mod history;
pub mod import;
pub mod import_jobs;
mod import_postgres;
mod import_sqlite;
pub mod integrations;
pub mod listing;
pub mod merge;
pub mod merges;
pub mod notifications;
pub mod outbox;
pub mod point_reads;
pub mod save;
pub mod secret_box;
pub mod tokens;
pub mod unmerge;
pub mod users;

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use contacts_migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use error::{StoreError, is_statement_timeout};
use point_reads::PointReads;
use secret_box::SecretKey;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://contacts.db?mode=rwc";

#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// SQLite has one writer at a time, and a transaction that reads before
    /// it writes fails at once (SQLITE_BUSY, no waiting) when another writer
    /// got in between. Queuing this process's write transactions here turns
    /// that into an orderly wait. PostgreSQL needs no gate.
    write_gate: Option<Arc<Mutex<()>>>,
    /// SQLite only: reads by id on the caller's thread (see `point_reads`).
    point_reads: Option<Arc<PointReads>>,
    /// Seals integration secrets; a store without one refuses to write or
    /// read them.
    secret_key: Option<Arc<SecretKey>>,
}

/// A write transaction; on SQLite it holds the write gate until it ends.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _gate: Option<OwnedMutexGuard<()>>,
}

impl WriteTxn {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }
}

impl Deref for WriteTxn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl Store {
    pub async fn connect(url: &str) -> Result<Self, DbErr> {
        Self::connect_with(url, None).await
    }

    /// Like [`Store::connect`]; on PostgreSQL every statement of the pool is
    /// cancelled past `statement_timeout` (SQLite has no such setting), and
    /// every statement is planned for its own parameters.
    pub async fn connect_with(
        url: &str,
        statement_timeout: Option<Duration>,
    ) -> Result<Self, DbErr> {
        // SQLite serves reads from a few WAL connections, each with a worker
        // thread: more than the cores only adds context switches.
        let connections = if url.starts_with("sqlite:") { 4 } else { 16 };
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .sqlx_logging(false)
            .max_connections(connections)
            .acquire_timeout(Duration::from_secs(30))
            // A ping before every checkout doubles the cost of a point
            // read; a broken connection surfaces as an error and is
            // replaced by the pool anyway.
            .test_before_acquire(false)
            .map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(30))
            });
        let timeout_millis = statement_timeout.map(|t| t.as_millis().max(1).to_string());
        options.map_sqlx_postgres_opts(move |opts| {
            // Search texts are bound parameters. After five runs of one
            // prepared statement PostgreSQL may plan it once for any text,
            // guessing how many rows `%text%` matches, and then walks the
            // name index for a text one contact in a thousand holds (200 ms
            // instead of 15, BENCHMARKS.md). Planning every run costs a
            // fraction of a millisecond.
            let opts = opts.options([("plan_cache_mode", "force_custom_plan")]);
            match &timeout_millis {
                Some(millis) => opts.options([("statement_timeout", millis.as_str())]),
                None => opts,
            }
        });
        let mut db = Database::connect(options).await?;
        db.set_metric_callback(|_| crate::telemetry::record_statement());
        let write_gate = match db.get_database_backend() {
            DatabaseBackend::Sqlite => Some(Arc::new(Mutex::new(()))),
            _ => None,
        };
        let point_reads = match db.get_database_backend() {
            DatabaseBackend::Sqlite => PointReads::for_url(url).map(Arc::new),
            _ => None,
        };
        Ok(Self {
            db,
            write_gate,
            point_reads,
            secret_key: None,
        })
    }

    /// The store with the key integration secrets are sealed with.
    pub fn with_secret_key(mut self, key: SecretKey) -> Self {
        self.secret_key = Some(Arc::new(key));
        self
    }

    pub(crate) fn secret_key(&self) -> Result<&SecretKey, StoreError> {
        self.secret_key.as_deref().ok_or(StoreError::NoSecretKey)
    }

    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.db, None).await
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// SQLite: waits for this process's other write transactions to end
    /// (see `write_gate`); the guard keeps them waiting until dropped.
    pub async fn lock_writes(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.write_gate {
            Some(gate) => Some(Arc::clone(gate).lock_owned().await),
            None => None,
        }
    }

    /// The SQLite database file, when the store is one.
    pub fn sqlite_file(&self) -> Option<&Path> {
        self.point_reads.as_deref().map(PointReads::path)
    }

    /// PostgreSQL: the pool SeaORM's connections come from.
    pub fn postgres_pool(&self) -> Option<&sea_orm::sqlx::PgPool> {
        (self.backend() == DatabaseBackend::Postgres)
            .then(|| self.db.get_postgres_connection_pool())
    }

    pub fn point_reads(&self) -> Option<&Arc<PointReads>> {
        self.point_reads.as_ref()
    }

    /// Idle connections of the pool, and all it holds now.
    pub fn pool_use(&self) -> (u32, u32) {
        let idle = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        match self.backend() {
            DatabaseBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (idle(pool.num_idle()), pool.size())
            }
            DatabaseBackend::Sqlite => {
                let pool = self.db.get_sqlite_connection_pool();
                (idle(pool.num_idle()), pool.size())
            }
            _ => (0, 0),
        }
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.db.get_database_backend()
    }

    /// A transaction that will write. On SQLite it takes the database's
    /// write lock when it begins (`BEGIN IMMEDIATE`), waiting up to the
    /// busy timeout for another process's writer: a deferred transaction
    /// that reads first and then writes cannot wait, SQLite fails it with
    /// SQLITE_BUSY at once when another process wrote in between.
    pub async fn begin_write(&self) -> Result<WriteTxn, DbErr> {
        let gate = self.lock_writes().await;
        let txn = match self.backend() {
            DatabaseBackend::Sqlite => {
                self.db
                    .begin_with_options(TransactionOptions {
                        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                        ..TransactionOptions::default()
                    })
                    .await?
            }
            _ => self.db.begin().await?,
        };
        Ok(WriteTxn { txn, _gate: gate })
    }
}

/// Microseconds since the Unix epoch: the unit of every stored timestamp.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
