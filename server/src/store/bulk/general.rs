//! The general writer: SeaORM, on either backend, for any batch. Changes
//! to stored contacts go through `contact_writes`, so they carry history,
//! notifications and outbox events exactly as an edit does; new contacts
//! go in many to a statement (on PostgreSQL as one JSON parameter a
//! table, see `import_postgres::insert_rows`).

use sea_orm::sea_query::Query;
use sea_orm::{ConnectionTrait, DatabaseBackend, EntityTrait, QueryTrait};

use super::super::contact_writes;
use super::super::contacts::{ContactRecord, Identity, Lock};
use super::super::entities::contact;
use super::super::history::{self, Entry};
use super::super::import_jobs::Progress;
use super::super::import_postgres;
use super::super::outbox::{self, EventType};
use super::super::{Store, StoreError, WriteTxn, now_micros};
use super::{
    BulkWriter, check_ids, creation_changes, creation_entry, find_with_seaorm, new_contact_model,
    plan_for_keys,
};
use crate::domain::import_plan::ImportPlan;
use crate::domain::merge_plan::MergePlan;
use crate::domain::{Principal, Source};

/// 14 bound values a row; SQLite takes up to 32,766 in one statement.
const INSERT_CHUNK: usize = 1000;

pub(in crate::store) struct GeneralWriter {
    txn: WriteTxn,
}

impl GeneralWriter {
    pub(in crate::store) async fn begin(store: &Store) -> Result<Self, StoreError> {
        let txn = store.begin_write().await?;
        plan_for_keys(&*txn).await?;
        Ok(Self { txn })
    }
}

impl BulkWriter for GeneralWriter {
    type Finished = ();

    fn backend(&self) -> DatabaseBackend {
        self.txn.get_database_backend()
    }

    async fn accepts(&mut self) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// Locks what it finds on PostgreSQL, so the row read is the row
    /// written; SQLite's write transaction holds the database already.
    async fn find(
        &mut self,
        identity: Identity,
        values: &[&str],
    ) -> Result<Vec<contact::Model>, StoreError> {
        find_with_seaorm(&*self.txn, identity, values, Lock::ForUpdate).await
    }

    async fn update(
        &mut self,
        principal: &Principal,
        current: &ContactRecord,
        plan: &MergePlan,
    ) -> Result<Option<ContactRecord>, StoreError> {
        let saved =
            contact_writes::merge_input(&*self.txn, principal, current, plan, Source::Import)
                .await?;
        Ok(Some(saved))
    }

    /// Inserts the contacts, then their history (and outbox events, when
    /// an integration listens).
    async fn create(&mut self, plan: &mut ImportPlan, new: &[usize]) -> Result<(), StoreError> {
        let db = &*self.txn;
        let postgres = db.get_database_backend() == DatabaseBackend::Postgres;
        let models: Vec<_> = new
            .iter()
            .map(|&i| new_contact_model(plan.record(i)))
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
            plan.set_id_by_identity(row.try_get_by_index(0)?, email.as_deref(), phone.as_deref());
        }
        check_ids(plan, new)?;
        let principal = plan.principal();
        let created: Vec<&ContactRecord> = new.iter().map(|&i| plan.record(i)).collect();
        let changes: Vec<_> = created.iter().map(|r| creation_changes(r)).collect();
        let entries: Vec<Entry<'_>> = created
            .iter()
            .zip(&changes)
            .map(|(record, changes)| creation_entry(principal, record, changes))
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

    async fn finish(self, progress: Option<Progress>) -> Result<(), StoreError> {
        if let Some(progress) = progress {
            progress.save(&*self.txn).await?;
        }
        self.txn.commit().await?;
        Ok(())
    }
}
