//! The import pipeline both doors share: a blocking thread reads and
//! normalises the next batch while the store applies the last one, so the
//! file's parsing and the database's writing overlap.

use std::collections::VecDeque;
use std::io::Read;

use tokio::sync::mpsc;

use super::reader::{Batch, FileError, Layout, ReadLimits, RowReader, Start};
use crate::domain::PhoneRegion;
use crate::domain::import_mapping::{ColumnMap, ColumnRef, ImportField};
use crate::store::import::{Importer, Summary};
use crate::store::import_jobs::Checkpoint;
use crate::store::{Store, StoreError, auth_generation, field_policies, now_micros};

/// Rows per transaction: a crash leaves whole batches, never half a row.
pub const BATCH_ROWS: usize = 5000;

/// What an import did, in counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub rows_read: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub failed: u64,
}

impl Totals {
    fn add(&mut self, rows_read: usize, summary: &Summary) {
        self.rows_read += rows_read as u64;
        self.created += summary.created;
        self.updated += summary.updated;
        self.unchanged += summary.unchanged;
        self.failed += summary.failed.len() as u64;
    }
}

/// Hears of an import's progress.
pub trait Observer: Send {
    /// The header row was read; `unmapped` columns feed no field.
    fn opened(&mut self, _layout: &Layout, _unmapped: &[String]) {}
    /// A batch was applied; `bytes_done` of the file are behind it.
    fn batch_applied(&mut self, _summary: &Summary, _bytes_done: u64) {}
}

/// The job a run records its checkpoints in, and the claim it runs under.
#[derive(Debug, Clone)]
pub struct JobClaim {
    pub job_id: i64,
    pub attempt: i32,
    pub lease_micros: i64,
    /// Cancelled when the process shuts down: the run stops at the next
    /// batch, with every batch before it committed.
    pub stop: tokio_util::sync::CancellationToken,
    /// The user the job acts as, asked again (deactivated? role, teams,
    /// policies?) before a batch when the auth generation has moved from
    /// `generation`, the one its principal was read at.
    pub started_by: i64,
    pub generation: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The process is shutting down; the job resumes from its checkpoint
    /// wherever it is claimed next.
    #[error("the import was interrupted by the server shutting down")]
    Interrupted,
}

enum Parsed {
    /// The layout, the columns no field takes, the phone column, and the
    /// file's columns as mapped.
    Opened(Layout, Vec<String>, Option<ColumnRef>, ColumnMap),
    Batch(Batch),
    Failed(FileError),
}

/// A file to import and how to read it.
pub struct Input<R> {
    /// The file's bytes from `start` on.
    pub source: R,
    pub start: Start,
    /// Explicit mapping over the aliases: (header, field or `None` to skip).
    pub mapping: Vec<(String, Option<ImportField>)>,
    pub region: PhoneRegion,
    pub limits: ReadLimits,
}

/// A job's user as they are now, when the auth generation moved since the
/// importer's principal was read: deactivated or removed stops the job,
/// a column feeding a field the role may no longer write stops it too
/// (what ran before stays, as with any batch before a failure), anything
/// else applies from this batch on.
async fn ask_again(
    store: &Store,
    claim: &mut JobClaim,
    importer: &mut Importer,
    columns: Option<&ColumnMap>,
) -> Result<(), ImportError> {
    let now = auth_generation::read(store.db()).await?;
    if now == claim.generation {
        return Ok(());
    }
    let principal = field_policies::principal_of_active(store.db(), claim.started_by).await?;
    if let Some((column, field)) = columns.and_then(|map| map.first_unwritable(&principal.fields)) {
        return Err(FileError::Unwritable {
            column: column.to_owned(),
            field: field.input_name(),
        }
        .into());
    }
    importer.set_principal(principal)?;
    claim.generation = now;
    Ok(())
}

/// Imports `input` with `importer`, recording checkpoints in `job` if any.
pub async fn run<R: Read + Send + 'static>(
    store: &Store,
    importer: &mut Importer,
    input: Input<R>,
    job: Option<JobClaim>,
    observer: &mut dyn Observer,
) -> Result<Totals, ImportError> {
    let Input {
        source,
        start,
        mapping,
        region,
        limits,
    } = input;
    let resumed = start.layout.is_some();
    let rights = importer.rights();
    // Two batches in flight: one being applied, one being read.
    let (sender, mut receiver) = mpsc::channel::<Parsed>(1);
    let reading = tokio::task::spawn_blocking(move || {
        let mut rows = match RowReader::open(source, start, &mapping, rights, region, limits) {
            Ok(rows) => rows,
            Err(err) => {
                let _ = sender.blocking_send(Parsed::Failed(err));
                return;
            }
        };
        let unmapped = rows
            .map()
            .unmapped()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let phone_column = rows.map().column_ref("mobilePhone");
        if sender
            .blocking_send(Parsed::Opened(
                rows.layout().clone(),
                unmapped,
                phone_column,
                rows.map().clone(),
            ))
            .is_err()
        {
            return;
        }
        loop {
            let message = match rows.next_batch(BATCH_ROWS) {
                Ok(Some(batch)) => Parsed::Batch(batch),
                Ok(None) => return,
                Err(err) => Parsed::Failed(err),
            };
            let failed = matches!(message, Parsed::Failed(_));
            // A closed channel means the importer stopped: so do we.
            if sender.blocking_send(message).is_err() || failed {
                return;
            }
        }
    });
    let mut totals = Totals::default();
    // Rows read and bytes done of each batch handed to the importer and
    // not yet reported applied, in file order.
    let mut submitted = VecDeque::new();
    let mut layout_to_save = None;
    let mut columns = None;
    let mut job = job;
    let outcome = loop {
        let Some(message) = receiver.recv().await else {
            break Ok(());
        };
        let batch = match message {
            Parsed::Failed(err) => break Err(err.into()),
            Parsed::Opened(layout, unmapped, phone_column, map) => {
                importer.set_phone_column(phone_column);
                columns = Some(map);
                if !resumed {
                    layout_to_save = serde_json::to_string(&layout).ok();
                }
                observer.opened(&layout, &unmapped);
                continue;
            }
            Parsed::Batch(batch) => batch,
        };
        if job.as_ref().is_some_and(|claim| claim.stop.is_cancelled()) {
            break Err(ImportError::Interrupted);
        }
        if let Some(claim) = job.as_mut()
            && let Err(err) = ask_again(store, claim, importer, columns.as_ref()).await
        {
            break Err(err);
        }
        let checkpoint = job.as_ref().map(|claim| Checkpoint {
            job_id: claim.job_id,
            attempt: claim.attempt,
            bytes_done: i64::try_from(batch.bytes_done).unwrap_or(i64::MAX),
            next_line: i64::try_from(batch.next_line).unwrap_or(i64::MAX),
            rows_read: batch.rows.len() as i64,
            layout: layout_to_save.take(),
            lease_until: now_micros() + claim.lease_micros,
        });
        submitted.push_back((batch.rows.len(), batch.bytes_done));
        match importer.apply_batch(store, batch.rows, checkpoint).await {
            Ok(summaries) => {
                let dry_run = importer.dry_run();
                report(&mut submitted, summaries, &mut totals, observer, dry_run);
            }
            Err(err) => break Err(err.into()),
        }
    };
    // A batch still being written is waited for, whatever stopped the
    // loop: as when batches were written one at a time, every batch before
    // the one that stopped it ends committed. (After a failed batch none
    // is in flight.)
    let dry_run = importer.dry_run();
    let outcome = match (importer.finish(store).await, outcome) {
        (Ok(summaries), Ok(_)) => {
            report(&mut submitted, summaries, &mut totals, observer, dry_run);
            Ok(totals)
        }
        (Ok(summaries), Err(err)) => {
            report(&mut submitted, summaries, &mut totals, observer, dry_run);
            Err(err)
        }
        (Err(err), Ok(_)) => Err(err.into()),
        (Err(_), Err(err)) => Err(err),
    };
    drop(receiver);
    // The reader ends on its own once the channel is closed.
    let _ = reading.await;
    outcome
}

/// Adds the batches the importer reports applied, oldest first, to the
/// totals and the process's metrics, and tells the observer.
fn report(
    submitted: &mut VecDeque<(usize, u64)>,
    summaries: Vec<Summary>,
    totals: &mut Totals,
    observer: &mut dyn Observer,
    dry_run: bool,
) {
    for summary in summaries {
        let Some((rows_read, bytes_done)) = submitted.pop_front() else {
            return;
        };
        totals.add(rows_read, &summary);
        if !dry_run {
            crate::telemetry::record_import_rows(
                summary.created,
                summary.updated,
                summary.unchanged,
                summary.failed.len() as u64,
            );
        }
        observer.batch_applied(&summary, bytes_done);
    }
}
