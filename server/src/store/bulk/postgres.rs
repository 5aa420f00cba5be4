//! The PostgreSQL writer (see `import_postgres`): a batch that only
//! creates contacts, when no integration listens, by `COPY` on a pool
//! connection of its own. Contacts found are not locked: none of them is
//! written here, and the unique indexes refuse an identity a concurrent
//! writer took. The contacts' ids are drawn from their sequence as soon as
//! the batch is decided; the writes themselves are handed back unrun
//! (`PgWrites`), for the import to run while it decides the next batch.

use sea_orm::sqlx::PgPool;
use sea_orm::{ActiveValue, DatabaseBackend, DbErr, FromQueryResult};
use tokio::sync::oneshot;

use super::super::contact_columns::CONTACT_COLUMNS;
use super::super::contacts::{ContactRecord, Identity};
use super::super::entities::{contact, contact_change};
use super::super::history;
use super::super::import_jobs::Progress;
use super::super::import_postgres::PgBatch;
use super::super::{StoreError, now_micros};
use super::{BulkWriter, LookedUp, creation_changes, creation_entry, listening, new_contact_model};
use crate::domain::Principal;
use crate::domain::import_plan::ImportPlan;
use crate::domain::merge_plan::MergePlan;

pub(in crate::store) struct PgCopyWriter {
    batch: PgBatch,
    created: Vec<contact::ActiveModel>,
    history: Vec<contact_change::ActiveModel>,
}

impl PgCopyWriter {
    pub(in crate::store) async fn begin(pool: &PgPool) -> Result<Self, StoreError> {
        Ok(Self {
            batch: PgBatch::begin(pool).await?,
            created: Vec::new(),
            history: Vec::new(),
        })
    }
}

impl BulkWriter for PgCopyWriter {
    type Finished = PgWrites;

    fn backend(&self) -> DatabaseBackend {
        DatabaseBackend::Postgres
    }

    async fn accepts(&mut self) -> Result<bool, StoreError> {
        Ok(!self
            .batch
            .exists(&listening(DatabaseBackend::Postgres))
            .await?)
    }

    async fn find(
        &mut self,
        identity: Identity,
        values: &[&str],
    ) -> Result<Vec<contact::Model>, StoreError> {
        let rows = self
            .batch
            .find_all(identity, &CONTACT_COLUMNS, values)
            .await?;
        rows.iter()
            .map(|row| Ok(LookedUp::from_query_result(row, "")?.0))
            .collect()
    }

    async fn update(
        &mut self,
        _principal: &Principal,
        _current: &ContactRecord,
        _plan: &MergePlan,
    ) -> Result<Option<ContactRecord>, StoreError> {
        Ok(None)
    }

    /// Draws the ids and prepares the rows; `finish` hands them back.
    async fn create(&mut self, plan: &mut ImportPlan, new: &[usize]) -> Result<(), StoreError> {
        let ids = self.batch.next_contact_ids(new.len()).await?;
        if ids.len() != new.len() {
            return Err(StoreError::Db(DbErr::Custom(
                "the contacts' sequence gave too few ids".to_owned(),
            )));
        }
        for (&index, id) in new.iter().zip(ids) {
            plan.set_id(index, id);
        }
        self.created = new
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
        let principal = plan.principal();
        self.history = new
            .iter()
            .map(|&index| {
                let record = plan.record(index);
                let changes = creation_changes(record);
                history::active_model(&creation_entry(principal, record, &changes), now)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(())
    }

    async fn finish(self, progress: Option<Progress>) -> Result<PgWrites, StoreError> {
        Ok(PgWrites {
            batch: self.batch,
            created: self.created,
            history: self.history,
            progress,
        })
    }
}

/// What a PostgreSQL batch writes once it has decided, in its transaction.
pub(in crate::store) struct PgWrites {
    batch: PgBatch,
    created: Vec<contact::ActiveModel>,
    history: Vec<contact_change::ActiveModel>,
    progress: Option<Progress>,
}

impl PgWrites {
    /// Writes the batch, then commits it once the batch before it (if
    /// any) has committed, and says whether it did.
    pub(in crate::store) async fn run(
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
