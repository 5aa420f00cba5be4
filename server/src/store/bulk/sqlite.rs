//! The SQLite writer (see `import_sqlite`): a batch that only creates
//! contacts, when no integration listens, through the import's own
//! rusqlite connection, under the store's write gate. SQLite's work runs
//! on the calling worker thread (`import_sqlite::blocking`).

use sea_orm::{DatabaseBackend, DbErr};
use tokio::sync::OwnedMutexGuard;

use super::super::contacts::{ContactRecord, Identity};
use super::super::entities::contact;
use super::super::history;
use super::super::import_jobs::Progress;
use super::super::import_sqlite::{SqliteBatch, SqliteImport, blocking};
use super::super::{StoreError, now_micros};
use super::{
    BulkWriter, check_ids, creation_changes, creation_entry, listening, new_contact_model,
};
use crate::domain::Principal;
use crate::domain::import_plan::ImportPlan;
use crate::domain::merge_plan::MergePlan;

pub(in crate::store) struct SqliteWriter<'c> {
    batch: SqliteBatch<'c>,
    importer: i64,
    /// Keeps this process's other writers out until the batch ends.
    _gate: Option<OwnedMutexGuard<()>>,
}

impl<'c> SqliteWriter<'c> {
    pub(in crate::store) fn begin(
        sqlite: &'c mut SqliteImport,
        gate: Option<OwnedMutexGuard<()>>,
        importer: i64,
    ) -> Result<Self, StoreError> {
        let batch = blocking(|| sqlite.begin())?;
        Ok(Self {
            batch,
            importer,
            _gate: gate,
        })
    }
}

impl BulkWriter for SqliteWriter<'_> {
    type Finished = ();

    fn backend(&self) -> DatabaseBackend {
        DatabaseBackend::Sqlite
    }

    /// Not when an integration listens. Foreign keys are not checked on
    /// this connection, so the one user the batch's rows point at is.
    async fn accepts(&mut self) -> Result<bool, StoreError> {
        let batch = &self.batch;
        let importer = self.importer;
        blocking(|| {
            if batch.exists(&listening(DatabaseBackend::Sqlite))? {
                return Ok(false);
            }
            if !batch.user_exists(importer)? {
                return Err(StoreError::forbidden("the importing user no longer exists"));
            }
            Ok(true)
        })
    }

    async fn find(
        &mut self,
        identity: Identity,
        values: &[&str],
    ) -> Result<Vec<contact::Model>, StoreError> {
        let batch = &self.batch;
        blocking(|| batch.find_all(identity, values))
    }

    async fn update(
        &mut self,
        _principal: &Principal,
        _current: &ContactRecord,
        _plan: &MergePlan,
    ) -> Result<Option<ContactRecord>, StoreError> {
        Ok(None)
    }

    async fn create(&mut self, plan: &mut ImportPlan, new: &[usize]) -> Result<(), StoreError> {
        let batch = &mut self.batch;
        blocking(|| create(batch, plan, new))
    }

    async fn finish(self, progress: Option<Progress>) -> Result<(), StoreError> {
        blocking(move || {
            if let Some(progress) = &progress {
                if self.batch.execute(&progress.job)? == 0 {
                    return Err(StoreError::ClaimLost);
                }
                for errors in &progress.errors {
                    self.batch.execute(errors)?;
                }
            }
            self.batch.commit()
        })
    }
}

fn create(
    batch: &mut SqliteBatch<'_>,
    plan: &mut ImportPlan,
    new: &[usize],
) -> Result<(), StoreError> {
    let models: Vec<_> = new
        .iter()
        .map(|&index| new_contact_model(plan.record(index)))
        .collect();
    let records = &*plan;
    let write_out = || {
        new.iter()
            .map(|&index| {
                let changes = creation_changes(records.record(index));
                let stored = history::stored_changes(&changes)?;
                Ok((changes, stored))
            })
            .collect::<Result<Vec<_>, StoreError>>()
    };
    // The history of the batch's contacts is written out on a second
    // thread while SQLite inserts the contacts on this one: the import's
    // pace is this thread's. Without a second thread, after.
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
        plan.set_id_by_identity(id, email.as_deref(), phone.as_deref());
    }
    check_ids(plan, new)?;
    let now = now_micros();
    let principal = plan.principal();
    let entries = new
        .iter()
        .zip(changes)
        .map(|(&index, (changes, stored))| {
            let entry = creation_entry(principal, plan.record(index), &changes);
            history::active_model_with(&entry, stored, now)
        })
        .collect();
    batch.insert_many(entries)
}
