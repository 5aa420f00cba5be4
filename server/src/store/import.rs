//! Importing contacts with the activity rule, a batch of rows per
//! transaction: find by email or mobile phone, create, or bring the row's
//! non-empty values to the contact (empty never clears), in file order. A
//! row that cannot be applied fails alone, with its line, column and reason.
//!
//! The work is set-based so a million rows take seconds: a batch looks up
//! every identity it names in a few `IN` queries, decides row by row in
//! memory, and writes its new contacts and their history in bulk. When
//! the batch only creates contacts and no integration listens, that is on
//! PostgreSQL by `COPY`, while the next batch is decided
//! (`import_postgres`, `Importer::apply_postgres`), and on SQLite through
//! the import's own rusqlite connection (`import_sqlite`); otherwise
//! through SeaORM, on PostgreSQL as one JSON parameter a table. Updates of
//! existing contacts go through `contact_writes::apply_to_survivor` one by one, so
//! they carry history, notifications and outbox events exactly as an edit
//! does. A contact created by one row and changed by a
//! later row of the same batch is written once, with its final values,
//! under one CREATED history entry; the counts still say one created and
//! one updated, as the rows did.

use foldhash::HashSet;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use sea_orm::sea_query::Query;
use sea_orm::sqlx::PgPool;
use sea_orm::{
    ActiveValue, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr,
    EntityTrait, FromQueryResult, QueryFilter, QueryResult, QuerySelect, QueryTrait,
    TransactionTrait,
};

use super::contact_columns::{CONTACT_COLUMNS, contact_at_positions};
use super::contact_writes::{self, assignment_changes};
use super::contacts::{ContactRecord, Identity, Lock};
use super::entities::{contact, contact_change, integration};
use super::error::is_retryable;
use super::history::{self, ChangeAction, Entry};
use super::import_jobs::{self, Checkpoint, Progress};
use super::import_postgres::{self, PgBatch};
use super::import_sqlite::{self, SqliteImport};
use super::outbox::{self, EventType};
use super::{Store, StoreError, now_micros};
use crate::domain::import_mapping::ColumnRef;
pub use crate::domain::import_mapping::Summary;
pub use crate::domain::import_plan::PreparedRow;
use crate::domain::import_plan::{ImportPlan, StoredUpdate};
use crate::domain::{ContactFields, FieldChange, Principal, Source};

/// Identities per `IN` list, well under every backend's limit on bound values.
const LOOKUP_CHUNK: usize = 500;
/// 14 bound values a row; SQLite takes up to 32,766 in one statement.
const INSERT_CHUNK: usize = 1000;
/// A unique index may refuse a batch when a concurrent writer took one of
/// its identities after the lookup; the retry then sees it. A writer
/// creating many of the batch's identities meanwhile (a second import of
/// an overlapping file, say) can refuse the retry too: each attempt finds
/// the ones taken before it, so a few more settle it.
const ATTEMPTS: usize = 8;
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// Every statement of an import finds rows by a unique key, but on
/// PostgreSQL the planner judges by statistics, and a table an import is
/// filling outgrows its statistics within minutes: an `IN` list of 500
/// identities was planned as a scan of the whole table, batch after batch,
/// so a million rows took time by the square of their number. Within the
/// import's transactions the planner may use a scan only where no index
/// serves. (Planning every execution afresh instead cost more than it
/// saved, BENCHMARKS.md.) The lookups' text is the import's own, so no
/// plan of it is cached under other settings.
async fn plan_for_keys(txn: &DatabaseTransaction) -> Result<(), StoreError> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        // With scans priced out, a query that has no index to use (the
        // check for integrations) looks expensive enough to be compiled by
        // the JIT, which took 20 ms each time.
        txn.execute_unprepared("SET LOCAL enable_seqscan = off; SET LOCAL jit = off")
            .await?;
    }
    Ok(())
}

/// A contact as a lookup reads it, its columns in `CONTACT_COLUMNS` order.
struct LookedUp(contact::Model);

impl FromQueryResult for LookedUp {
    fn from_query_result(row: &QueryResult, _prefix: &str) -> Result<Self, DbErr> {
        Ok(Self(contact_at_positions!(row.try_get_by_index)))
    }
}

/// One import run: who imports, and what it has seen so far.
pub struct Importer {
    /// The most failed rows the job's report keeps, and how many its
    /// committed batches kept.
    error_cap: u64,
    errors_stored: u64,
    dry_run: bool,
    /// A real import forgets the plan's contacts after each committed
    /// batch, keeping memory bounded; a dry run keeps them, so later
    /// batches see what earlier ones would have done.
    plan: ImportPlan,
    /// SQLite: the import's own connection, opened at its first batch.
    sqlite: Option<SqliteImport>,
    /// PostgreSQL: the batch whose writes are under way (see `apply_batch`).
    in_flight: Option<InFlight>,
}

impl Importer {
    pub fn new(principal: Principal, dry_run: bool) -> Result<Self, StoreError> {
        if !principal.may_write_contacts() {
            return Err(StoreError::forbidden("this role cannot import contacts"));
        }
        Ok(Self {
            error_cap: u64::MAX,
            errors_stored: 0,
            dry_run,
            plan: ImportPlan::new(principal),
            sqlite: None,
            in_flight: None,
        })
    }

    /// Names the file's phone column for the report, once it is known.
    pub fn set_phone_column(&mut self, column: Option<ColumnRef>) {
        self.plan.set_phone_column(column);
    }

    /// A job's report keeps at most `cap` failed rows, of which `stored`
    /// are kept already (by the batches before its checkpoint); failed
    /// rows past the cap are counted, not kept.
    pub fn cap_stored_errors(&mut self, cap: u64, stored: u64) {
        self.error_cap = cap;
        self.errors_stored = stored;
    }

    /// How many failed rows the next batch's checkpoint may keep: what the
    /// committed batches and the batch in flight left of the cap.
    fn error_room(&self) -> u64 {
        let pending = self
            .in_flight
            .as_ref()
            .map_or(0, |earlier| earlier.summary.errors_kept);
        self.error_cap
            .saturating_sub(self.errors_stored.saturating_add(pending))
    }

    /// Reports `summary`'s batch committed.
    fn committed(&mut self, applied: &mut Vec<Summary>, summary: Summary) {
        self.errors_stored = self.errors_stored.saturating_add(summary.errors_kept);
        applied.push(summary);
    }

    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// Applies `rows` in one transaction, with the job's checkpoint (if
    /// any) in the same transaction; a dry run only reads. Returns the
    /// summaries of the batches that this call saw committed, in file
    /// order: on PostgreSQL a batch that only creates contacts is written
    /// while the next one is read and decided, on a second connection, and
    /// is reported by the call after (or by `finish`).
    pub async fn apply_batch(
        &mut self,
        store: &Store,
        rows: Vec<PreparedRow>,
        checkpoint: Option<Checkpoint>,
    ) -> Result<Vec<Summary>, StoreError> {
        let mut applied = Vec::new();
        match store.postgres_pool() {
            Some(pool) if !self.dry_run => {
                self.apply_postgres(store, pool, rows, checkpoint, &mut applied)
                    .await?;
            }
            _ => {
                let mut summary = self.apply_alone(store, &rows, checkpoint.as_ref()).await?;
                // A dry run's batch writes only its job's progress.
                if self.dry_run
                    && let Some(checkpoint) = &checkpoint
                {
                    let room = self.error_room();
                    summary.errors_kept =
                        import_jobs::save_progress_alone(store, checkpoint, &summary, room).await?;
                }
                self.committed(&mut applied, summary);
            }
        }
        Ok(applied)
    }

    /// Waits for the batch still being written, if any; returns its summary.
    pub async fn finish(&mut self, store: &Store) -> Result<Vec<Summary>, StoreError> {
        let mut applied = Vec::new();
        self.settle(store, &mut applied).await?;
        Ok(applied)
    }

    /// Two batches are written at once when the earlier only creates
    /// contacts and the two name no identity in common: the later one then
    /// finds nothing the earlier writes, and the earlier changes no contact
    /// the later reads. The later commits only after the earlier did, so
    /// the job's checkpoints follow the file; if the earlier fails, the
    /// later is rolled back and both are applied again, one after the
    /// other. On two cores this keeps both busy: one PostgreSQL backend
    /// inserting one batch's rows, its indexes and foreign-key checks, the
    /// other the next batch's (BENCHMARKS.md).
    async fn apply_postgres(
        &mut self,
        store: &Store,
        pool: &PgPool,
        rows: Vec<PreparedRow>,
        checkpoint: Option<Checkpoint>,
        applied: &mut Vec<Summary>,
    ) -> Result<(), StoreError> {
        if self
            .in_flight
            .as_ref()
            .is_some_and(|earlier| share_identity(&earlier.rows, &rows))
        {
            self.settle(store, applied).await?;
        }
        let prepared = self
            .prepare_postgres(pool, &rows, checkpoint.as_ref())
            .await;
        self.plan.forget();
        let (writes, summary) = match prepared {
            Ok(Some(prepared)) => prepared,
            // Not for this path, or a concurrent writer took one of the
            // batch's identities after its lookup: the general path, alone.
            Ok(None) => {
                return self
                    .apply_after_settling(store, &rows, checkpoint, applied)
                    .await;
            }
            Err(StoreError::Db(err)) if is_retryable(&err) => {
                return self
                    .apply_after_settling(store, &rows, checkpoint, applied)
                    .await;
            }
            Err(err) => {
                let _ = self.settle(store, applied).await;
                return Err(err);
            }
        };
        let earlier_committed = self.in_flight.as_mut().and_then(|e| e.committed.take());
        let (committed, later) = oneshot::channel();
        let task = tokio::spawn(writes.run(earlier_committed, committed));
        let this = InFlight {
            rows,
            checkpoint,
            summary,
            task,
            committed: Some(later),
        };
        match self.settle(store, applied).await {
            Ok(true) => {
                self.in_flight = Some(this);
                Ok(())
            }
            // The earlier batch was applied again, so this one was rolled
            // back; it is applied again after it.
            Ok(false) => {
                let _ = joined(this.task).await;
                let summary = self
                    .apply_alone(store, &this.rows, this.checkpoint.as_ref())
                    .await?;
                self.committed(applied, summary);
                Ok(())
            }
            Err(err) => {
                let _ = joined(this.task).await;
                Err(err)
            }
        }
    }

    async fn apply_after_settling(
        &mut self,
        store: &Store,
        rows: &[PreparedRow],
        checkpoint: Option<Checkpoint>,
        applied: &mut Vec<Summary>,
    ) -> Result<(), StoreError> {
        self.settle(store, applied).await?;
        let summary = self.apply_alone(store, rows, checkpoint.as_ref()).await?;
        self.committed(applied, summary);
        Ok(())
    }

    /// Waits for the batch in flight, if any, and adds its summary to
    /// `applied`. A batch a concurrent writer got in the way of is applied
    /// again on the general path; then `false`.
    async fn settle(
        &mut self,
        store: &Store,
        applied: &mut Vec<Summary>,
    ) -> Result<bool, StoreError> {
        let Some(in_flight) = self.in_flight.take() else {
            return Ok(true);
        };
        match joined(in_flight.task).await {
            Ok(()) => {
                self.committed(applied, in_flight.summary);
                Ok(true)
            }
            Err(StoreError::Db(err)) if is_retryable(&err) => {
                tracing::info!(error = %err, "an import batch met a concurrent writer; applying it again");
                let summary = self
                    .apply_alone(store, &in_flight.rows, in_flight.checkpoint.as_ref())
                    .await?;
                self.committed(applied, summary);
                Ok(false)
            }
            Err(err) => Err(err),
        }
    }

    /// One batch, written before returning.
    async fn apply_alone(
        &mut self,
        store: &Store,
        rows: &[PreparedRow],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Summary, StoreError> {
        if self.dry_run {
            // Read only; the transaction is dropped, so rolled back.
            let txn = store.db().begin().await?;
            plan_for_keys(&txn).await?;
            self.load(&txn, rows, Lock::None).await?;
            let mut summary = Summary::default();
            let now = now_micros();
            for row in rows {
                if let Some(update) = self.plan.decide(row, now, &mut summary) {
                    self.plan.keep(update.index, update.plan);
                }
            }
            return Ok(summary);
        }
        if self.sqlite.is_none()
            && let Some(file) = store.sqlite_file()
        {
            self.sqlite = Some(SqliteImport::open(file)?);
        }
        if let Some(mut sqlite) = self.sqlite.take() {
            let gate = store.lock_writes().await;
            let written =
                import_sqlite::blocking(|| self.write_sqlite(&mut sqlite, rows, checkpoint));
            drop(gate);
            self.sqlite = Some(sqlite);
            self.plan.forget();
            if let Some(summary) = written? {
                return Ok(summary);
            }
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.plan.forget();
            match self.write_batch(store, rows, checkpoint).await {
                Err(StoreError::Db(err)) if attempt < ATTEMPTS && is_retryable(&err) => {
                    tracing::info!(attempt, error = %err, "an import batch met a concurrent writer; trying again");
                    // A writer that was waiting on this batch's identities
                    // commits as soon as the batch rolls back; a moment's
                    // pause lets the retry's lookups find what it wrote,
                    // instead of meeting it again.
                    tokio::time::sleep(RETRY_PAUSE * attempt as u32).await;
                    continue;
                }
                outcome => {
                    self.plan.forget();
                    return outcome;
                }
            }
        }
    }

    /// The general path: SeaORM, on either backend, for every batch.
    async fn write_batch(
        &mut self,
        store: &Store,
        rows: &[PreparedRow],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Summary, StoreError> {
        let txn = store.begin_write().await?;
        plan_for_keys(&txn).await?;
        self.load(&*txn, rows, Lock::ForUpdate).await?;
        let mut summary = Summary::default();
        let now = now_micros();
        for row in rows {
            if let Some(StoredUpdate { index, plan }) = self.plan.decide(row, now, &mut summary) {
                let current = self.plan.record(index);
                let saved = contact_writes::apply_to_survivor(
                    &*txn,
                    self.plan.principal(),
                    current,
                    &plan,
                    Source::Import,
                    None,
                )
                .await?;
                self.plan.replace(index, saved);
            }
        }
        self.insert_created(&*txn).await?;
        if let Some(checkpoint) = checkpoint {
            let room = self.error_room();
            summary.errors_kept =
                import_jobs::save_progress(&*txn, checkpoint, &summary, room).await?;
        }
        txn.commit().await?;
        Ok(summary)
    }

    /// The SQLite path (see `import_sqlite`): the batch if it only creates
    /// contacts or leaves them as they are, and no integration listens;
    /// `None`, with nothing written, for the general path to take it.
    fn write_sqlite(
        &mut self,
        sqlite: &mut SqliteImport,
        rows: &[PreparedRow],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Option<Summary>, StoreError> {
        let mut batch = sqlite.begin()?;
        if batch.exists(&listening(DatabaseBackend::Sqlite))? {
            return Ok(None);
        }
        if !batch.user_exists(self.plan.principal().user_id)? {
            return Err(StoreError::forbidden("the importing user no longer exists"));
        }
        for identity in [Identity::Email, Identity::MobilePhone] {
            let values = self.unknown(rows, identity);
            for found in batch.find_all(identity, &values)? {
                self.learn(found)?;
            }
        }
        let Some(mut summary) = self.plan.decide_creations(rows, now_micros()) else {
            return Ok(None);
        };
        let new = self.plan.new_contacts();
        let plan = &self.plan;
        let models: Vec<_> = new
            .iter()
            .map(|&index| new_contact_model(plan.record(index)))
            .collect();
        let write_out = || {
            new.iter()
                .map(|&index| {
                    let changes = creation_changes(plan.record(index));
                    let stored = history::stored_changes(&changes)?;
                    Ok((changes, stored))
                })
                .collect::<Result<Vec<_>, StoreError>>()
        };
        // The history of the batch's contacts is written out on a second
        // thread while SQLite inserts the contacts on this one: the
        // import's pace is this thread's. Without a second thread, after.
        let (inserted, changes) = std::thread::scope(|scope| {
            let second = std::thread::Builder::new().spawn_scoped(scope, write_out);
            let inserted =
                batch.insert_many_returning(models, Some("id, email, mobile_phone"), |row| {
                    let email: Option<String> = row.get(1)?;
                    let phone: Option<String> = row.get(2)?;
                    Ok((row.get(0)?, email, phone))
                });
            let changes = match second {
                Ok(second) => second.join().unwrap_or_else(|_| {
                    Err(StoreError::Db(DbErr::Custom(
                        "writing history out failed".to_owned(),
                    )))
                }),
                Err(_) => write_out(),
            };
            (inserted, changes)
        });
        let changes = changes?;
        for (id, email, phone) in inserted? {
            self.plan
                .set_id_by_identity(id, email.as_deref(), phone.as_deref());
        }
        check_ids(&self.plan, &new)?;
        let now = now_micros();
        let entries = new
            .iter()
            .zip(changes)
            .map(|(&index, (changes, stored))| {
                let entry = self.creation_entry(self.plan.record(index), &changes);
                history::active_model_with(&entry, stored, now)
            })
            .collect();
        batch.insert_many(entries)?;
        if let Some(checkpoint) = checkpoint {
            let room = self.error_room();
            let progress = Progress::new(DatabaseBackend::Sqlite, checkpoint, &summary, room);
            summary.errors_kept = progress.kept;
            if batch.execute(&progress.job)? == 0 {
                return Err(StoreError::ClaimLost);
            }
            for errors in &progress.errors {
                batch.execute(errors)?;
            }
        }
        batch.commit()?;
        Ok(Some(summary))
    }

    /// The PostgreSQL path (see `import_postgres`), up to its writes: the
    /// batch's lookups and decisions, its new contacts' ids and rows, if
    /// it only creates contacts or leaves them as they are and no
    /// integration listens; `None`, with nothing written, for the general
    /// path to take it. Contacts found are not locked: none of them is
    /// written here, and the unique indexes refuse an identity a concurrent
    /// writer took.
    async fn prepare_postgres(
        &mut self,
        pool: &PgPool,
        rows: &[PreparedRow],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Option<(PgWrites, Summary)>, StoreError> {
        let mut batch = PgBatch::begin(pool).await?;
        if batch.exists(&listening(DatabaseBackend::Postgres)).await? {
            return Ok(None);
        }
        for identity in [Identity::Email, Identity::MobilePhone] {
            let values = self.unknown(rows, identity);
            for found in batch.find_all(identity, &CONTACT_COLUMNS, &values).await? {
                self.learn(LookedUp::from_query_result(&found, "")?.0)?;
            }
        }
        let Some(mut summary) = self.plan.decide_creations(rows, now_micros()) else {
            return Ok(None);
        };
        let new = self.plan.new_contacts();
        let ids = batch.next_contact_ids(new.len()).await?;
        if ids.len() != new.len() {
            return Err(StoreError::Db(DbErr::Custom(
                "the contacts' sequence gave too few ids".to_owned(),
            )));
        }
        for (&index, id) in new.iter().zip(ids) {
            self.plan.set_id(index, id);
        }
        let plan = &self.plan;
        let created = new
            .iter()
            .map(|&index| {
                let record = plan.record(index);
                contact::ActiveModel {
                    id: ActiveValue::Set(record.id),
                    ..new_contact_model(record)
                }
            })
            .collect();
        let now = now_micros();
        let history = new
            .iter()
            .map(|&index| {
                let record = plan.record(index);
                let changes = creation_changes(record);
                history::active_model(&self.creation_entry(record, &changes), now)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let room = self.error_room();
        let progress = checkpoint
            .map(|checkpoint| Progress::new(DatabaseBackend::Postgres, checkpoint, &summary, room));
        summary.errors_kept = progress.as_ref().map_or(0, |p| p.kept);
        let writes = PgWrites {
            batch,
            created,
            history,
            progress,
        };
        Ok(Some((writes, summary)))
    }

    /// The identities of one kind the rows name that this import does not
    /// know yet.
    fn unknown<'r>(&self, rows: &'r [PreparedRow], identity: Identity) -> Vec<&'r str> {
        let unknown = match identity {
            Identity::Email => self.plan.unknown_emails(rows),
            Identity::MobilePhone => self.plan.unknown_phones(rows),
        };
        unknown.into_iter().collect()
    }

    /// Adds a stored contact to what the import knows, once.
    fn learn(&mut self, found: contact::Model) -> Result<(), StoreError> {
        self.plan.learn(ContactRecord::try_from(found)?);
        Ok(())
    }

    /// Loads (and on PostgreSQL locks) the contacts holding any identity
    /// the rows name that this import does not know yet: emails first,
    /// then the phones their holders did not bring along.
    async fn load(
        &mut self,
        db: &impl ConnectionTrait,
        rows: &[PreparedRow],
        lock: Lock,
    ) -> Result<(), StoreError> {
        for identity in [Identity::Email, Identity::MobilePhone] {
            let values = self.unknown(rows, identity);
            for chunk in values.chunks(LOOKUP_CHUNK) {
                let mut query = contact::Entity::find()
                    .select_only()
                    .columns(CONTACT_COLUMNS)
                    .filter(identity.column().is_in(chunk.iter().copied()));
                if lock == Lock::ForUpdate {
                    query = query.lock_exclusive();
                }
                for found in query.into_model::<LookedUp>().all(db).await? {
                    self.learn(found.0)?;
                }
            }
        }
        Ok(())
    }

    /// Inserts the contacts this batch created, then their history (and
    /// outbox events, when an integration listens).
    async fn insert_created(&mut self, db: &impl ConnectionTrait) -> Result<(), StoreError> {
        let postgres = db.get_database_backend() == DatabaseBackend::Postgres;
        let new = self.plan.new_contacts();
        let models: Vec<_> = new
            .iter()
            .map(|&i| new_contact_model(self.plan.record(i)))
            .collect();
        let mut inserted = Vec::with_capacity(models.len());
        if postgres {
            inserted =
                import_postgres::insert_rows(db, &models, Some("id, email, mobile_phone")).await?;
        } else {
            for chunk in models.chunks(INSERT_CHUNK) {
                let mut insert = contact::Entity::insert_many(chunk.iter().cloned());
                insert.query().returning(Query::returning().columns([
                    contact::Column::Id,
                    contact::Column::Email,
                    contact::Column::MobilePhone,
                ]));
                let statement = db.get_database_backend().build(insert.as_query());
                inserted.extend(db.query_all_raw(statement).await?);
            }
        }
        for row in inserted {
            let email: Option<String> = row.try_get_by_index(1)?;
            let phone: Option<String> = row.try_get_by_index(2)?;
            self.plan.set_id_by_identity(
                row.try_get_by_index(0)?,
                email.as_deref(),
                phone.as_deref(),
            );
        }
        check_ids(&self.plan, &new)?;
        let created: Vec<&ContactRecord> = new.iter().map(|&i| self.plan.record(i)).collect();
        let changes: Vec<_> = created.iter().map(|r| creation_changes(r)).collect();
        let entries: Vec<Entry<'_>> = created
            .iter()
            .zip(&changes)
            .map(|(record, changes)| self.creation_entry(record, changes))
            .collect();
        if postgres {
            let now = now_micros();
            let models = entries
                .iter()
                .map(|entry| history::active_model(entry, now))
                .collect::<Result<Vec<_>, _>>()?;
            import_postgres::insert_rows(db, &models, None).await?;
        } else {
            history::record_many(db, &entries).await?;
        }
        if outbox::any_integration(db).await? {
            for (record, changes) in created.iter().zip(&changes) {
                outbox::enqueue(db, EventType::Created, record, changes, None).await?;
            }
        }
        Ok(())
    }

    fn creation_entry<'a>(&self, record: &ContactRecord, changes: &'a [FieldChange]) -> Entry<'a> {
        Entry {
            contact_id: record.id,
            actor_user_id: Some(self.plan.principal().user_id),
            action: ChangeAction::Created,
            source: Source::Import,
            changes,
            merged_contact_id: None,
        }
    }
}

/// A PostgreSQL batch whose writes run on a task of their own.
struct InFlight {
    rows: Vec<PreparedRow>,
    checkpoint: Option<Checkpoint>,
    summary: Summary,
    task: JoinHandle<Result<(), StoreError>>,
    /// Says whether the batch committed, to the batch after it.
    committed: Option<oneshot::Receiver<bool>>,
}

/// What a PostgreSQL batch writes once it has decided, in its transaction.
struct PgWrites {
    batch: PgBatch,
    created: Vec<contact::ActiveModel>,
    history: Vec<contact_change::ActiveModel>,
    progress: Option<Progress>,
}

impl PgWrites {
    /// Writes the batch, then commits it once the batch before it (if
    /// any) has committed, and says whether it did.
    async fn run(
        self,
        earlier: Option<oneshot::Receiver<bool>>,
        committed: oneshot::Sender<bool>,
    ) -> Result<(), StoreError> {
        let outcome = self.write(earlier).await;
        let _ = committed.send(outcome.is_ok());
        outcome
    }

    async fn write(mut self, earlier: Option<oneshot::Receiver<bool>>) -> Result<(), StoreError> {
        self.batch.copy_in(self.created).await?;
        self.batch.copy_in(self.history).await?;
        if let Some(earlier) = earlier
            && earlier.await != Ok(true)
        {
            // Its rows must be gone before it is applied again.
            self.batch.rollback().await?;
            return Err(StoreError::Db(DbErr::Custom(
                "the batch before failed; this one is rolled back".to_owned(),
            )));
        }
        if let Some(progress) = &self.progress {
            if self.batch.execute(&progress.job).await? == 0 {
                return Err(StoreError::ClaimLost);
            }
            for errors in &progress.errors {
                self.batch.execute(errors).await?;
            }
        }
        self.batch.commit().await
    }
}

async fn joined(task: JoinHandle<Result<(), StoreError>>) -> Result<(), StoreError> {
    task.await.unwrap_or_else(|err| {
        Err(StoreError::Db(DbErr::Custom(format!(
            "an import batch's writes stopped: {err}"
        ))))
    })
}

/// Whether a row of `later` names an email or phone a row of `earlier` does.
fn share_identity(earlier: &[PreparedRow], later: &[PreparedRow]) -> bool {
    fn identities(rows: &[PreparedRow]) -> impl Iterator<Item = &str> {
        rows.iter()
            .filter_map(|row| row.row.as_ref().ok())
            .flat_map(|fields| {
                let email = fields.email.as_ref().map(|e| e.as_str());
                let phone = fields.mobile_phone.as_ref().map(|p| p.as_str());
                email.into_iter().chain(phone)
            })
    }
    let named: HashSet<&str> = identities(earlier).collect();
    identities(later).any(|identity| named.contains(identity))
}

/// Inserts give every new contact its id, or the batch must not go on.
fn check_ids(plan: &ImportPlan, new: &[usize]) -> Result<(), StoreError> {
    if plan.all_have_ids(new) {
        Ok(())
    } else {
        Err(StoreError::Db(DbErr::Custom(
            "an imported contact came back without its id".to_owned(),
        )))
    }
}

/// The query that finds whether an integration listens: then a batch's new
/// contacts must reach the outbox, which only the general path writes.
fn listening(backend: DatabaseBackend) -> sea_orm::Statement {
    integration::Entity::find()
        .filter(integration::Column::Active.eq(true))
        .build(backend)
}

fn new_contact_model(record: &ContactRecord) -> contact::ActiveModel {
    contact_writes::new_contact_model(
        &record.fields,
        Source::Import,
        (record.owner_id, record.team_id),
        record.created_at,
    )
}

/// What a new contact's history entry lists: every field it was given.
fn creation_changes(record: &ContactRecord) -> Vec<FieldChange> {
    let mut changes = record.fields.changes_since(&ContactFields::default());
    changes.extend(assignment_changes((None, None), (record.owner_id, None)));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PhoneRegion;
    use crate::domain::identity::{Email, Phone};
    use crate::domain::import_mapping::FailedRow;

    fn row(line: u64, email: Option<&str>, phone: Option<&str>) -> PreparedRow {
        let fields = ContactFields {
            email: email.map(|e| Email::parse("email", e).unwrap()),
            mobile_phone: phone
                .map(|p| Phone::parse("mobilePhone", p, PhoneRegion::default()).unwrap()),
            ..ContactFields::default()
        };
        PreparedRow {
            line,
            row: Ok(fields),
        }
    }

    #[test]
    fn batches_share_an_identity_by_email_or_phone_alone() {
        let earlier = [
            row(2, Some("ann@example.com"), None),
            row(3, None, Some("+14155550101")),
        ];
        let by_email = [row(4, Some("ann@example.com"), Some("+14155550199"))];
        let by_phone = [row(5, Some("bo@example.com"), Some("(415) 555-0101"))];
        let neither = [
            row(6, Some("cy@example.com"), Some("+14155550102")),
            PreparedRow {
                line: 7,
                row: Err(FailedRow {
                    line: 7,
                    column: None,
                    reason: "refused".to_owned(),
                }),
            },
        ];
        assert!(share_identity(&earlier, &by_email));
        assert!(share_identity(&earlier, &by_phone));
        assert!(!share_identity(&earlier, &neither));
    }
}
