//! The dry run's writer: reads as the general writer does, without locks,
//! keeps every change in the plan, and writes only the job's progress (in
//! a transaction of its own: the batch's reads are rolled back).

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseTransaction, TransactionTrait};

use super::super::contacts::{ContactRecord, Identity, Lock};
use super::super::entities::contact;
use super::super::import_jobs::Progress;
use super::super::{Store, StoreError};
use super::{BulkWriter, find_with_seaorm, plan_for_keys};
use crate::domain::Principal;
use crate::domain::import_plan::ImportPlan;
use crate::domain::merge_plan::MergePlan;

pub(in crate::store) struct DryRunWriter<'s> {
    store: &'s Store,
    txn: DatabaseTransaction,
}

impl<'s> DryRunWriter<'s> {
    pub(in crate::store) async fn begin(store: &'s Store) -> Result<Self, StoreError> {
        let txn = store.db().begin().await?;
        plan_for_keys(&txn).await?;
        Ok(Self { store, txn })
    }
}

impl BulkWriter for DryRunWriter<'_> {
    type Finished = ();

    fn backend(&self) -> DatabaseBackend {
        self.txn.get_database_backend()
    }

    async fn accepts(&mut self) -> Result<bool, StoreError> {
        Ok(true)
    }

    async fn find(
        &mut self,
        identity: Identity,
        values: &[&str],
    ) -> Result<Vec<contact::Model>, StoreError> {
        find_with_seaorm(&self.txn, identity, values, Lock::None).await
    }

    /// The contact as the change would leave it, written nowhere.
    async fn update(
        &mut self,
        _principal: &Principal,
        current: &ContactRecord,
        plan: &MergePlan,
    ) -> Result<Option<ContactRecord>, StoreError> {
        Ok(Some(ContactRecord {
            fields: plan.result.clone(),
            ..current.clone()
        }))
    }

    async fn create(&mut self, _plan: &mut ImportPlan, _new: &[usize]) -> Result<(), StoreError> {
        Ok(())
    }

    async fn finish(self, progress: Option<Progress>) -> Result<(), StoreError> {
        drop(self.txn);
        if let Some(progress) = progress {
            let txn = self.store.begin_write().await?;
            progress.save(&*txn).await?;
            txn.commit().await?;
        }
        Ok(())
    }
}
