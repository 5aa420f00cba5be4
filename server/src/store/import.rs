//! Importing contacts with the activity rule, a batch of rows per
//! transaction: find by email or mobile phone, create, or bring the row's
//! non-empty values to the contact (empty never clears), in file order. A
//! row that cannot be applied fails alone, with its line, column and reason.
//!
//! The work is set-based so a million rows take seconds: a batch looks up
//! every identity it names in a few queries, decides row by row in memory
//! (`domain::import_plan`), and writes its new contacts and their history
//! in bulk. `write_with` is that one algorithm; the writers of `bulk` only
//! find and persist. The import chooses the writer: on PostgreSQL `COPY`
//! while the next batch is decided (`apply_postgres`), on SQLite the
//! import's own rusqlite connection, else (a batch that changes stored
//! contacts, or that an integration must hear of) the general SeaORM one,
//! whose updates carry history, notifications and outbox events exactly as
//! an edit does. A contact created by one row and changed by a later row of
//! the same batch is written once, with its final values, under one CREATED
//! history entry; the counts still say one created and one updated, as the
//! rows did.

use foldhash::HashSet;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use sea_orm::sqlx::PgPool;
use sea_orm::{ConnectionTrait, DbErr};

use super::bulk::BulkWriter;
use super::bulk::dry_run::DryRunWriter;
use super::bulk::general::GeneralWriter;
use super::bulk::postgres::PgCopyWriter;
use super::bulk::sqlite::SqliteWriter;
use super::contacts::{ContactRecord, Identity};
use super::entities::contact;
use super::error::is_retryable;
use super::import_jobs::{Checkpoint, Progress};
use super::import_sqlite::SqliteImport;
use super::{Store, StoreError, now_micros};
use crate::domain::Principal;
use crate::domain::field_policy::FieldRights;
use crate::domain::import_mapping::ColumnRef;
pub use crate::domain::import_mapping::Summary;
pub use crate::domain::import_plan::PreparedRow;
use crate::domain::import_plan::{ImportPlan, StoredUpdate};

/// A unique index may refuse a batch when a concurrent writer took one of
/// its identities after the lookup; the retry then sees it. A writer
/// creating many of the batch's identities meanwhile (a second import of
/// an overlapping file, say) can refuse the retry too: each attempt finds
/// the ones taken before it, so a few more settle it.
const ATTEMPTS: usize = 8;
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

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
    /// Contacts this import created, for `finish` to refresh statistics.
    created: u64,
}

/// After an import created this many contacts, PostgreSQL's statistics are
/// refreshed at once: the planner chooses between a search's trigram index
/// and walking the order index by them, and autovacuum would refresh them
/// only up to a minute later, while the first searches were planned blind
/// (a search for a common word sorting a hundred thousand rows instead of
/// walking to the first fifty).
const ANALYZE_AFTER_CREATED: u64 = 10_000;

impl Importer {
    /// What the importer's role may do with each field.
    pub fn rights(&self) -> FieldRights {
        self.plan.principal().fields
    }

    /// The importer's user as they are now (a job's user changed while it
    /// ran); refused, as at the start, for a role that writes no contacts.
    pub fn set_principal(&mut self, principal: Principal) -> Result<(), StoreError> {
        if !principal.may_write_contacts() {
            return Err(StoreError::forbidden("this role cannot import contacts"));
        }
        self.plan.set_principal(principal);
        Ok(())
    }

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
            created: 0,
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
        self.created = self.created.saturating_add(summary.created);
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
                let summary = self.apply_alone(store, &rows, checkpoint.as_ref()).await?;
                self.committed(&mut applied, summary);
            }
        }
        Ok(applied)
    }

    /// Waits for the batch still being written, if any; returns its summary.
    pub async fn finish(&mut self, store: &Store) -> Result<Vec<Summary>, StoreError> {
        let mut applied = Vec::new();
        self.settle(store, &mut applied).await?;
        if store.postgres_pool().is_some() && !self.dry_run && self.created >= ANALYZE_AFTER_CREATED
        {
            store.db().execute_unprepared("ANALYZE contacts").await?;
            self.created = 0;
        }
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
        let prepared = match PgCopyWriter::begin(pool).await {
            Ok(writer) => self.write_with(writer, &rows, checkpoint.as_ref()).await,
            Err(err) => Err(err),
        };
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

    /// One batch, written before returning: by the dry run's writer, or
    /// SQLite's when it takes the batch, else the general writer, tried
    /// again when a concurrent writer got in its way.
    async fn apply_alone(
        &mut self,
        store: &Store,
        rows: &[PreparedRow],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Summary, StoreError> {
        if self.dry_run {
            let writer = DryRunWriter::begin(store).await?;
            return written(self.write_with(writer, rows, checkpoint).await?);
        }
        if self.sqlite.is_none()
            && let Some(file) = store.sqlite_file()
        {
            self.sqlite = Some(SqliteImport::open(file)?);
        }
        if let Some(mut sqlite) = self.sqlite.take() {
            let gate = store.lock_writes().await;
            let importer = self.plan.principal().user_id;
            let outcome = match SqliteWriter::begin(&mut sqlite, gate, importer) {
                Ok(writer) => self.write_with(writer, rows, checkpoint).await,
                Err(err) => Err(err),
            };
            self.sqlite = Some(sqlite);
            self.plan.forget();
            if let Some(((), summary)) = outcome? {
                return Ok(summary);
            }
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.plan.forget();
            let outcome = match GeneralWriter::begin(store).await {
                Ok(writer) => self.write_with(writer, rows, checkpoint).await,
                Err(err) => Err(err),
            };
            match outcome {
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
                    return written(outcome?);
                }
            }
        }
    }

    /// The one way a batch is written, whatever the writer: look up the
    /// identities the rows name that the plan does not know, decide each
    /// row, hand each change of a stored contact to the writer, then the
    /// new contacts, then the job's checkpoint. `None`, with nothing
    /// written, when the writer cannot take the batch.
    async fn write_with<W: BulkWriter>(
        &mut self,
        mut writer: W,
        rows: &[PreparedRow],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Option<(W::Finished, Summary)>, StoreError> {
        if !writer.accepts().await? {
            return Ok(None);
        }
        // Emails first, then the phones their holders did not bring along.
        for identity in [Identity::Email, Identity::MobilePhone] {
            let values = self.unknown(rows, identity);
            for found in writer.find(identity, &values).await? {
                self.learn(found)?;
            }
        }
        let mut summary = Summary::default();
        let now = now_micros();
        for row in rows {
            if let Some(StoredUpdate { index, plan }) = self.plan.decide(row, now, &mut summary) {
                let current = self.plan.record(index);
                match writer.update(self.plan.principal(), current, &plan).await? {
                    Some(saved) => self.plan.replace(index, saved),
                    None => return Ok(None),
                }
            }
        }
        let new = self.plan.new_contacts();
        writer.create(&mut self.plan, &new).await?;
        let room = self.error_room();
        let progress = checkpoint
            .map(|checkpoint| Progress::new(writer.backend(), checkpoint, &summary, room));
        summary.errors_kept = progress.as_ref().map_or(0, |p| p.kept);
        let finished = writer.finish(progress).await?;
        Ok(Some((finished, summary)))
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

/// What a writer that takes every batch wrote.
fn written(outcome: Option<((), Summary)>) -> Result<Summary, StoreError> {
    match outcome {
        Some(((), summary)) => Ok(summary),
        None => Err(StoreError::Db(DbErr::Custom(
            "a writer that takes every batch refused one".to_owned(),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::identity::{Email, Phone};
    use crate::domain::import_mapping::FailedRow;
    use crate::domain::{ContactFields, PhoneRegion};

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
