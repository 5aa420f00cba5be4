//! Import jobs inside `serve`: a worker claims a queued job (or one whose
//! process died), reads its file back from the database chunk by chunk,
//! and runs the engine with a checkpoint in every batch's transaction. Any
//! number of server processes may run workers against one PostgreSQL.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::engine::{self, ImportError, JobClaim, Observer};
use super::reader::{Layout, ReadLimits, Start};
use crate::domain::PhoneRegion;
use crate::domain::import_mapping::ImportField;
use crate::store::import::Importer;
use crate::store::import_jobs::{self, CHUNK_BYTES, ImportJob};
use crate::store::{Store, StoreError, auth_generation, field_policies};

#[derive(Debug, Clone, Copy)]
pub struct JobsConfig {
    /// How often an idle worker looks for jobs other processes queued.
    pub idle_interval: Duration,
    /// How long a claimed job is this process's without a checkpoint.
    pub lease: Duration,
    /// What a file's header and rows may hold.
    pub limits: ReadLimits,
    /// The most failed rows a job's report keeps; the rest are counted.
    pub max_stored_errors: u64,
}

/// How often an idle worker looks for uploads cut off by a crash.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(600);

/// Wakes this process's worker when a job is queued here.
#[derive(Clone, Default)]
pub struct JobQueue(Arc<Notify>);

impl JobQueue {
    pub fn queued(&self) {
        self.0.notify_one();
    }
}

/// Runs jobs until `stop` is cancelled; a job in hand then stops at its
/// next batch and is given back, so another process takes it up at once.
pub fn spawn(
    store: Store,
    queue: JobQueue,
    config: JobsConfig,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let lease_micros = i64::try_from(config.lease.as_micros()).unwrap_or(i64::MAX / 4);
    tokio::spawn(async move {
        let mut next_cleanup = tokio::time::Instant::now();
        while !stop.is_cancelled() {
            match import_jobs::claim_next(&store, lease_micros).await {
                Ok(Some(job)) => run_job(&store, job, lease_micros, &config, &stop).await,
                Ok(None) => {
                    if tokio::time::Instant::now() >= next_cleanup {
                        next_cleanup += CLEANUP_INTERVAL;
                        match import_jobs::remove_abandoned_uploads(&store).await {
                            Ok(0) => {}
                            Ok(removed) => tracing::info!(removed, "abandoned uploads removed"),
                            Err(err) => {
                                tracing::error!(error = %err, "removing abandoned uploads failed")
                            }
                        }
                    }
                    tokio::select! {
                        () = tokio::time::sleep(config.idle_interval) => {}
                        () = queue.0.notified() => {}
                        () = stop.cancelled() => {}
                    }
                }
                Err(err) => {
                    tracing::error!(error = %err, "claiming an import job failed");
                    tokio::select! {
                        () = tokio::time::sleep(config.idle_interval) => {}
                        () = stop.cancelled() => {}
                    }
                }
            }
        }
    })
}

struct Quiet;
impl Observer for Quiet {}

async fn run_job(
    store: &Store,
    job: ImportJob,
    lease_micros: i64,
    config: &JobsConfig,
    stop: &CancellationToken,
) {
    let claim = JobClaim {
        job_id: job.id,
        attempt: job.attempts,
        lease_micros,
        stop: stop.clone(),
        started_by: job.user_id,
        generation: 0,
    };
    tracing::info!(job = job.id, attempt = job.attempts, "import job started");
    let outcome = match execute(store, &job, claim, config).await {
        Ok(totals) => {
            tracing::info!(job = job.id, ?totals, "import job finished");
            Ok(())
        }
        Err(ImportError::Interrupted) => {
            match import_jobs::release(store, job.id, job.attempts).await {
                Ok(()) => tracing::info!(job = job.id, "import job given back at shutdown"),
                Err(err) => {
                    tracing::error!(job = job.id, error = %err, "giving back an import job failed");
                }
            }
            return;
        }
        Err(ImportError::Store(StoreError::ClaimLost)) => {
            tracing::warn!(job = job.id, "import job was taken over by another process");
            return;
        }
        Err(ImportError::File(err)) => Err(err.to_string()),
        Err(ImportError::Store(StoreError::Forbidden { reason, .. })) => Err(reason.to_owned()),
        Err(ImportError::Store(err)) => {
            // Possibly passing (a lost connection): the lease lapses and
            // the job is taken up again from its last checkpoint, up to
            // the attempt limit.
            tracing::error!(job = job.id, error = %err, "import job stopped");
            return;
        }
    };
    if let Err(err) = import_jobs::finish(store, job.id, job.attempts, outcome).await {
        tracing::error!(job = job.id, error = %err, "recording the end of an import job failed");
    }
}

async fn execute(
    store: &Store,
    job: &ImportJob,
    mut claim: JobClaim,
    config: &JobsConfig,
) -> Result<engine::Totals, ImportError> {
    // Read before the principal: a change committed in between moves it
    // again, and the first batch asks anew.
    claim.generation = auth_generation::read(store.db()).await?;
    let principal = field_policies::principal_of_active(store.db(), job.user_id).await?;
    let mut importer = Importer::new(principal, job.dry_run)?;
    // The batches before the checkpoint kept what they failed, less what
    // they omitted.
    let stored = u64::try_from(job.failed - job.errors_omitted).unwrap_or(0);
    importer.cap_stored_errors(config.max_stored_errors, stored);
    let mapping = job
        .mapping
        .iter()
        .map(|(header, field)| (header.clone(), ImportField::from_name(field)))
        .collect();
    let region: PhoneRegion = job.region.parse().unwrap_or_default();
    let layout: Option<Layout> = job
        .layout
        .as_deref()
        .and_then(|l| serde_json::from_str(l).ok());
    let start = match layout {
        Some(layout) if job.bytes_done > 0 => Start {
            layout: Some(layout),
            byte: u64::try_from(job.bytes_done).unwrap_or(0),
            line: u64::try_from(job.next_line).unwrap_or(1),
        },
        _ => Start::TOP,
    };
    let source = ChunkReader::new(store.clone(), job.id, start.byte);
    let input = engine::Input {
        source,
        start,
        mapping,
        region,
        limits: config.limits,
    };
    engine::run(store, &mut importer, input, Some(claim), &mut Quiet).await
}

/// The stored file as a `Read`, from a byte offset, one chunk in memory.
/// It runs on the engine's blocking thread and waits there for the
/// database.
struct ChunkReader {
    store: Store,
    handle: Handle,
    job_id: i64,
    next_seq: i32,
    chunk: Vec<u8>,
    position: usize,
    /// Bytes to skip in the first chunk.
    skip: usize,
    ended: bool,
}

impl ChunkReader {
    fn new(store: Store, job_id: i64, offset: u64) -> Self {
        let chunk = CHUNK_BYTES as u64;
        Self {
            store,
            handle: Handle::current(),
            job_id,
            next_seq: i32::try_from(offset / chunk).unwrap_or(i32::MAX),
            chunk: Vec::new(),
            position: 0,
            skip: usize::try_from(offset % chunk).unwrap_or(0),
            ended: false,
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.position >= self.chunk.len() {
            if self.ended {
                return Ok(0);
            }
            let loaded = self.handle.block_on(import_jobs::chunk(
                self.store.db(),
                self.job_id,
                self.next_seq,
            ));
            match loaded.map_err(std::io::Error::other)? {
                Some(data) => {
                    self.chunk = data;
                    self.position = std::mem::take(&mut self.skip);
                    self.next_seq += 1;
                }
                None => self.ended = true,
            }
        }
        let available = &self.chunk[self.position..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.position += n;
        Ok(n)
    }
}
