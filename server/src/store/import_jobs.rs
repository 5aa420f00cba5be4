//! Import jobs started over GraphQL. The uploaded file is kept in the
//! database in chunks, so any server process can run a job; a process
//! claims one for a lease, and its checkpoint (the byte where the next
//! uncommitted row starts, the counts, the failed rows) is written in the
//! transaction of each batch. A job left by a dead process is taken up by
//! another once the lease lapses, from its last checkpoint; each claim
//! bumps `attempts`, which fences the process that lost it.

use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, Statement,
};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::entities::{import_job, import_job_chunk, import_job_error, user};
use super::{Store, StoreError, now_micros};
use crate::domain::Principal;
use crate::domain::import_mapping::Summary;
use crate::domain::import_mapping::shorten;

/// The upload is stored in pieces of this size (the last may be shorter).
pub const CHUNK_BYTES: usize = 1 << 20;
/// A job whose process died this many times is failed, not retried again.
const MAX_ATTEMPTS: i32 = 3;
/// The most characters of a failed row's reason a report keeps. Reasons
/// are the importer's own sentences, never a cell's text; this keeps it so.
const REASON_MAX: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// The file is being copied in; no worker takes the job yet.
    Uploading,
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Uploading => "UPLOADING",
            JobStatus::Queued => "QUEUED",
            JobStatus::Running => "RUNNING",
            JobStatus::Succeeded => "SUCCEEDED",
            JobStatus::Failed => "FAILED",
        }
    }

    fn parse(stored: &str) -> Self {
        match stored {
            "UPLOADING" => JobStatus::Uploading,
            "QUEUED" => JobStatus::Queued,
            "RUNNING" => JobStatus::Running,
            "SUCCEEDED" => JobStatus::Succeeded,
            _ => JobStatus::Failed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportJob {
    pub id: i64,
    pub user_id: i64,
    pub file_name: String,
    pub dry_run: bool,
    /// The caller's explicit mapping: (header, field name).
    pub mapping: Vec<(String, String)>,
    pub region: String,
    pub status: JobStatus,
    /// JSON: the file's delimiter and header row, once read (the reader's).
    pub layout: Option<String>,
    pub bytes_total: i64,
    pub bytes_done: i64,
    /// The line the next uncommitted row starts on.
    pub next_line: i64,
    pub rows_read: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
    /// Failed rows counted in `failed` whose report was not kept (past the
    /// cap of stored errors).
    pub errors_omitted: i64,
    pub error: Option<String>,
    /// Claims so far; the current claim's fencing token.
    pub attempts: i32,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl From<import_job::Model> for ImportJob {
    fn from(model: import_job::Model) -> Self {
        Self {
            id: model.id,
            user_id: model.user_id,
            file_name: model.file_name,
            dry_run: model.dry_run,
            mapping: serde_json::from_str(&model.mapping).unwrap_or_default(),
            region: model.region,
            status: JobStatus::parse(&model.status),
            layout: model.layout,
            bytes_total: model.bytes_total,
            bytes_done: model.bytes_done,
            next_line: model.next_line,
            rows_read: model.rows_read,
            created: model.created,
            updated: model.updated,
            unchanged: model.unchanged,
            failed: model.failed,
            errors_omitted: model.errors_omitted,
            error: model.error,
            attempts: model.attempts,
            created_at: model.created_at,
            started_at: model.started_at,
            finished_at: model.finished_at,
        }
    }
}

pub struct NewJob {
    pub file_name: String,
    pub dry_run: bool,
    pub mapping: Vec<(String, String)>,
    pub region: String,
}

fn internal(message: impl Into<String>) -> StoreError {
    StoreError::Db(sea_orm::DbErr::Custom(message.into()))
}

/// Refuses a caller who has `max_active` jobs queued or running already.
/// `create` asks again in its transaction; asking first spares reading an
/// upload that would be refused.
pub async fn ensure_room(
    db: &impl ConnectionTrait,
    principal: &Principal,
    max_active: u64,
) -> Result<(), StoreError> {
    let active = import_job::Entity::find()
        .filter(import_job::Column::UserId.eq(principal.user_id))
        .filter(import_job::Column::Status.is_in([
            JobStatus::Uploading.as_str(),
            JobStatus::Queued.as_str(),
            JobStatus::Running.as_str(),
        ]))
        .count(db)
        .await?;
    if active >= max_active {
        return Err(StoreError::TooManyJobs { limit: max_active });
    }
    Ok(())
}

/// Queues a job holding `content` (`bytes_total` long), stored chunk by
/// chunk so memory stays bounded whatever the file's size; refused when
/// the caller has `max_active` jobs uploading, queued or running.
///
/// The file goes in one short transaction a chunk, the job marked
/// uploading until the last, then queued: on SQLite a transaction holds
/// the database's one write lock, and a copy of hundreds of megabytes in
/// one would stop every other write (of this process and of others) for
/// its whole length. A copy that fails is removed; one cut off by a crash
/// is removed later by [`remove_abandoned_uploads`].
pub async fn create(
    store: &Store,
    principal: &Principal,
    job: NewJob,
    content: &mut (impl AsyncRead + Unpin),
    bytes_total: u64,
    max_active: u64,
) -> Result<ImportJob, StoreError> {
    if !principal.may_write_contacts() {
        return Err(StoreError::forbidden("this role cannot import contacts"));
    }
    let mapping = serde_json::to_string(&job.mapping).map_err(|e| internal(e.to_string()))?;
    let txn = store.begin_write().await?;
    // The user's row is locked so that two uploads at once cannot both
    // pass the count (SQLite's writes are one at a time already).
    user::Entity::find_by_id(principal.user_id)
        .lock_exclusive()
        .one(&*txn)
        .await?;
    ensure_room(&*txn, principal, max_active).await?;
    let model = import_job::ActiveModel {
        user_id: Set(principal.user_id),
        file_name: Set(job.file_name),
        dry_run: Set(job.dry_run),
        mapping: Set(mapping),
        region: Set(job.region),
        status: Set(JobStatus::Uploading.as_str().to_owned()),
        layout: Set(None),
        bytes_total: Set(i64::try_from(bytes_total).unwrap_or(i64::MAX)),
        bytes_done: Set(0),
        next_line: Set(1),
        rows_read: Set(0),
        created: Set(0),
        updated: Set(0),
        unchanged: Set(0),
        failed: Set(0),
        errors_omitted: Set(0),
        error: Set(None),
        attempts: Set(0),
        claimed_until: Set(None),
        created_at: Set(now_micros()),
        started_at: Set(None),
        finished_at: Set(None),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    let copied = copy_file(store, model.id, content).await;
    let queued = match copied {
        Ok(()) => mark_queued(store, model.id).await,
        Err(err) => Err(err),
    };
    match queued {
        Ok(job) => Ok(job),
        Err(err) => {
            if let Err(cleanup) = remove(store, model.id).await {
                tracing::error!(job = model.id, error = %cleanup, "removing a failed upload failed");
            }
            Err(err)
        }
    }
}

async fn copy_file(
    store: &Store,
    job_id: i64,
    content: &mut (impl AsyncRead + Unpin),
) -> Result<(), StoreError> {
    let mut seq = 0;
    loop {
        let mut buffer = Vec::with_capacity(CHUNK_BYTES);
        (&mut *content)
            .take(CHUNK_BYTES as u64)
            .read_to_end(&mut buffer)
            .await
            .map_err(|e| internal(format!("reading the upload: {e}")))?;
        if buffer.is_empty() {
            return Ok(());
        }
        let txn = store.begin_write().await?;
        import_job_chunk::ActiveModel {
            job_id: Set(job_id),
            seq: Set(seq),
            data: Set(buffer),
        }
        .insert(&*txn)
        .await?;
        txn.commit().await?;
        seq += 1;
    }
}

async fn mark_queued(store: &Store, job_id: i64) -> Result<ImportJob, StoreError> {
    let txn = store.begin_write().await?;
    let queued = import_job::ActiveModel {
        id: Set(job_id),
        status: Set(JobStatus::Queued.as_str().to_owned()),
        ..Default::default()
    }
    .update(&*txn)
    .await?;
    txn.commit().await?;
    Ok(queued.into())
}

/// Removes a job and, by cascade, its chunks and errors.
async fn remove(store: &Store, job_id: i64) -> Result<(), StoreError> {
    let txn = store.begin_write().await?;
    import_job::Entity::delete_by_id(job_id).exec(&*txn).await?;
    txn.commit().await?;
    Ok(())
}

/// How long an upload may stay unfinished before it is taken for one cut
/// off by a crash.
const ABANDONED_AFTER_MICROS: i64 = 6 * 3600 * 1_000_000;

/// Removes jobs whose upload was cut off (their process died while
/// copying the file), with their chunks.
pub async fn remove_abandoned_uploads(store: &Store) -> Result<u64, StoreError> {
    let cutoff = now_micros() - ABANDONED_AFTER_MICROS;
    let stale = import_job::Entity::find()
        .filter(import_job::Column::Status.eq(JobStatus::Uploading.as_str()))
        .filter(import_job::Column::CreatedAt.lt(cutoff))
        .count(store.db())
        .await?;
    if stale == 0 {
        return Ok(0);
    }
    let txn = store.begin_write().await?;
    let removed = import_job::Entity::delete_many()
        .filter(import_job::Column::Status.eq(JobStatus::Uploading.as_str()))
        .filter(import_job::Column::CreatedAt.lt(cutoff))
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    Ok(removed.rows_affected)
}

/// The job if the caller started it or is an administrator.
pub async fn find(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: i64,
) -> Result<Option<ImportJob>, StoreError> {
    let job = import_job::Entity::find_by_id(id).one(db).await?;
    Ok(job
        .filter(|job| principal.may_see_import_job(job.user_id))
        .map(ImportJob::from))
}

/// The jobs the caller started (every job, for an administrator), newest
/// first; `before_id` continues after the last job of a page.
pub async fn page(
    db: &impl ConnectionTrait,
    principal: &Principal,
    before_id: Option<i64>,
    limit: u64,
) -> Result<Vec<ImportJob>, StoreError> {
    let mut query = visible(principal)
        .order_by_desc(import_job::Column::Id)
        .limit(limit);
    if let Some(before_id) = before_id {
        query = query.filter(import_job::Column::Id.lt(before_id));
    }
    Ok(query
        .all(db)
        .await?
        .into_iter()
        .map(ImportJob::from)
        .collect())
}

/// How many jobs `page` walks through.
pub async fn count(db: &impl ConnectionTrait, principal: &Principal) -> Result<u64, StoreError> {
    Ok(visible(principal).count(db).await?)
}

fn visible(principal: &Principal) -> sea_orm::Select<import_job::Entity> {
    let jobs = import_job::Entity::find();
    // The SQL form of `may_see_import_job`.
    if principal.may_administer() {
        jobs
    } else {
        jobs.filter(import_job::Column::UserId.eq(principal.user_id))
    }
}

/// A failed row as a job's report keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredError {
    pub line: u64,
    /// 1-based; `None` when no column is to blame, or for rows stored
    /// before the number was kept.
    pub column_number: Option<u32>,
    /// The column's short name.
    pub column_name: Option<String>,
    pub reason: String,
}

/// The job's failed rows in file order, the first `limit` of them.
pub async fn errors(
    db: &impl ConnectionTrait,
    job_id: i64,
    after_line: Option<u64>,
    limit: u64,
) -> Result<Vec<StoredError>, StoreError> {
    let mut query = import_job_error::Entity::find()
        .filter(import_job_error::Column::JobId.eq(job_id))
        .order_by_asc(import_job_error::Column::Id)
        .limit(limit);
    if let Some(after) = after_line {
        // Rows are stored in file order, so lines grow with ids.
        query = query
            .filter(import_job_error::Column::Line.gt(i64::try_from(after).unwrap_or(i64::MAX)));
    }
    let rows = query.all(db).await?;
    Ok(rows
        .into_iter()
        .map(|row| StoredError {
            line: u64::try_from(row.line).unwrap_or(0),
            column_number: row.column_index.and_then(|i| u32::try_from(i).ok()),
            column_name: row.column,
            reason: row.reason,
        })
        .collect())
}

/// Piece `seq` of the job's file, `None` past its end.
pub async fn chunk(
    db: &impl ConnectionTrait,
    job_id: i64,
    seq: i32,
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(import_job_chunk::Entity::find_by_id((job_id, seq))
        .one(db)
        .await?
        .map(|c| c.data))
}

/// Claims the oldest queued job, or a running one whose process let its
/// lease lapse, for `lease_micros`. A dry run taken over starts again from
/// the top: it kept its state in memory, which died with its process.
pub async fn claim_next(store: &Store, lease_micros: i64) -> Result<Option<ImportJob>, StoreError> {
    loop {
        let now = now_micros();
        let txn = store.begin_write().await?;
        let due = import_job::Entity::find()
            .filter(
                Condition::any()
                    .add(import_job::Column::Status.eq(JobStatus::Queued.as_str()))
                    .add(
                        Condition::all()
                            .add(import_job::Column::Status.eq(JobStatus::Running.as_str()))
                            .add(import_job::Column::ClaimedUntil.lt(now)),
                    ),
            )
            .order_by_asc(import_job::Column::Id)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .one(&*txn)
            .await?;
        let Some(job) = due else {
            return Ok(None);
        };
        if job.attempts >= MAX_ATTEMPTS {
            let message = format!(
                "the import was interrupted {} times and was given up; rows committed before \
                 stay imported, and importing the file again completes it",
                job.attempts
            );
            finish_in(&*txn, job.id, job.attempts, Err(message)).await?;
            txn.commit().await?;
            continue;
        }
        let mut claimed = import_job::ActiveModel {
            id: Set(job.id),
            status: Set(JobStatus::Running.as_str().to_owned()),
            attempts: Set(job.attempts + 1),
            claimed_until: Set(Some(now + lease_micros)),
            started_at: Set(Some(job.started_at.unwrap_or(now))),
            ..Default::default()
        };
        if job.dry_run && job.attempts > 0 {
            claimed.bytes_done = Set(0);
            claimed.next_line = Set(1);
            claimed.rows_read = Set(0);
            claimed.created = Set(0);
            claimed.updated = Set(0);
            claimed.unchanged = Set(0);
            claimed.failed = Set(0);
            claimed.errors_omitted = Set(0);
            import_job_error::Entity::delete_many()
                .filter(import_job_error::Column::JobId.eq(job.id))
                .exec(&*txn)
                .await?;
        }
        let claimed = claimed.update(&*txn).await?;
        txn.commit().await?;
        return Ok(Some(claimed.into()));
    }
}

/// Gives a claimed job back before its lease lapses (this process is
/// shutting down, every batch it applied committed): its lease ends now,
/// so any process claims it at once and resumes from its checkpoint. The
/// claim still counts as an attempt.
pub async fn release(store: &Store, job_id: i64, attempt: i32) -> Result<(), StoreError> {
    let txn = store.begin_write().await?;
    import_job::Entity::update_many()
        .col_expr(
            import_job::Column::ClaimedUntil,
            Expr::value(now_micros() - 1),
        )
        .filter(import_job::Column::Id.eq(job_id))
        .filter(import_job::Column::Attempts.eq(attempt))
        .filter(import_job::Column::Status.eq(JobStatus::Running.as_str()))
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Where a job stands after a batch, written with the batch.
pub struct Checkpoint {
    pub job_id: i64,
    /// The claim's fencing token: the job's `attempts` when claimed.
    pub attempt: i32,
    pub bytes_done: i64,
    pub next_line: i64,
    /// Records read in this batch.
    pub rows_read: i64,
    /// The file's layout, JSON, on the first checkpoint.
    pub layout: Option<String>,
    pub lease_until: i64,
}

/// Adds a batch's counts and its first `room` failed rows to the job;
/// returns how many failed rows it kept. Fails with `ClaimLost` when
/// another process has claimed the job since.
pub async fn save_progress(
    db: &impl ConnectionTrait,
    checkpoint: &Checkpoint,
    summary: &Summary,
    room: u64,
) -> Result<u64, StoreError> {
    let progress = Progress::new(db.get_database_backend(), checkpoint, summary, room);
    let kept = progress.kept;
    progress.save(db).await?;
    Ok(kept)
}

/// The statements of a checkpoint: the job's update, which changes no row
/// when the claim was lost, then the failed rows it keeps.
pub(super) struct Progress {
    pub job: Statement,
    pub errors: Vec<Statement>,
    /// Failed rows of the batch the statements keep.
    pub kept: u64,
}

impl Progress {
    /// Runs the statements in `db`'s transaction: `ClaimLost` when the
    /// job's update changed nothing.
    pub async fn save(self, db: &impl ConnectionTrait) -> Result<(), StoreError> {
        if db.execute_raw(self.job).await?.rows_affected() == 0 {
            return Err(StoreError::ClaimLost);
        }
        for errors in self.errors {
            db.execute_raw(errors).await?;
        }
        Ok(())
    }

    /// Keeps the batch's first `room` failed rows and counts the rest as
    /// omitted.
    pub(super) fn new(
        backend: DatabaseBackend,
        checkpoint: &Checkpoint,
        summary: &Summary,
        room: u64,
    ) -> Self {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let failed = summary.failed.len() as u64;
        let kept = Ord::min(failed, room);
        let mut update = import_job::Entity::update_many()
            .col_expr(
                import_job::Column::BytesDone,
                Expr::value(checkpoint.bytes_done),
            )
            .col_expr(
                import_job::Column::NextLine,
                Expr::value(checkpoint.next_line),
            )
            .col_expr(
                import_job::Column::RowsRead,
                Expr::col(import_job::Column::RowsRead).add(checkpoint.rows_read),
            )
            .col_expr(
                import_job::Column::Created,
                Expr::col(import_job::Column::Created).add(count(summary.created)),
            )
            .col_expr(
                import_job::Column::Updated,
                Expr::col(import_job::Column::Updated).add(count(summary.updated)),
            )
            .col_expr(
                import_job::Column::Unchanged,
                Expr::col(import_job::Column::Unchanged).add(count(summary.unchanged)),
            )
            .col_expr(
                import_job::Column::Failed,
                Expr::col(import_job::Column::Failed).add(count(failed)),
            )
            .col_expr(
                import_job::Column::ErrorsOmitted,
                Expr::col(import_job::Column::ErrorsOmitted).add(count(failed - kept)),
            )
            .col_expr(
                import_job::Column::ClaimedUntil,
                Expr::value(checkpoint.lease_until),
            );
        if let Some(layout) = &checkpoint.layout {
            update = update.col_expr(import_job::Column::Layout, Expr::value(layout.clone()));
        }
        let job = update
            .filter(import_job::Column::Id.eq(checkpoint.job_id))
            .filter(import_job::Column::Attempts.eq(checkpoint.attempt))
            .filter(import_job::Column::Status.eq(JobStatus::Running.as_str()))
            .build(backend);
        // 5 bound values a row.
        let errors = summary.failed[..usize::try_from(kept).unwrap_or(usize::MAX)]
            .chunks(3000)
            .map(|chunk| {
                let rows = chunk.iter().map(|failed| import_job_error::ActiveModel {
                    job_id: Set(checkpoint.job_id),
                    line: Set(i64::try_from(failed.line).unwrap_or(i64::MAX)),
                    column: Set(failed.column.as_ref().map(|c| c.name.clone())),
                    column_index: Set(failed
                        .column
                        .as_ref()
                        .map(|c| i32::try_from(c.number).unwrap_or(i32::MAX))),
                    reason: Set(shorten(&failed.reason, REASON_MAX)),
                    ..Default::default()
                });
                import_job_error::Entity::insert_many(rows).build(backend)
            })
            .collect();
        Self { job, errors, kept }
    }
}

/// `save_progress` in a transaction of its own, for a dry run's batches.
pub async fn save_progress_alone(
    store: &Store,
    checkpoint: &Checkpoint,
    summary: &Summary,
    room: u64,
) -> Result<u64, StoreError> {
    let txn = store.begin_write().await?;
    let kept = save_progress(&*txn, checkpoint, summary, room).await?;
    txn.commit().await?;
    Ok(kept)
}

/// Ends the job: succeeded, or failed with a message for its owner. The
/// uploaded file is dropped either way.
pub async fn finish(
    store: &Store,
    job_id: i64,
    attempt: i32,
    outcome: Result<(), String>,
) -> Result<(), StoreError> {
    let txn = store.begin_write().await?;
    finish_in(&*txn, job_id, attempt, outcome).await?;
    txn.commit().await?;
    Ok(())
}

async fn finish_in(
    db: &impl ConnectionTrait,
    job_id: i64,
    attempt: i32,
    outcome: Result<(), String>,
) -> Result<(), StoreError> {
    let (status, error) = match outcome {
        Ok(()) => (JobStatus::Succeeded, None),
        Err(message) => (JobStatus::Failed, Some(message)),
    };
    let result = import_job::Entity::update_many()
        .col_expr(import_job::Column::Status, Expr::value(status.as_str()))
        .col_expr(import_job::Column::Error, Expr::value(error))
        .col_expr(import_job::Column::FinishedAt, Expr::value(now_micros()))
        .col_expr(import_job::Column::ClaimedUntil, Expr::value(None::<i64>))
        .filter(import_job::Column::Id.eq(job_id))
        .filter(import_job::Column::Attempts.eq(attempt))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(StoreError::ClaimLost);
    }
    import_job_chunk::Entity::delete_many()
        .filter(import_job_chunk::Column::JobId.eq(job_id))
        .exec(db)
        .await?;
    Ok(())
}
