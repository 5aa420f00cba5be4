//! Importing contacts with the activity rule, a batch of rows per
//! transaction: find by email or mobile phone, create, or bring the row's
//! non-empty values to the contact (empty never clears), in file order. A
//! row that cannot be applied fails alone, with its line, column and reason.
//!
//! The work is set-based so a million rows take seconds: a batch looks up
//! every identity it names in a few `IN` queries, decides row by row in
//! memory, and writes its new contacts and their history in multi-row
//! inserts. Updates of existing contacts go through `merge::apply_to_survivor`
//! one by one, so they carry history, notifications and outbox events
//! exactly as an edit does. A contact created by one row and changed by a
//! later row of the same batch is written once, with its final values,
//! under one CREATED history entry; the counts still say one created and
//! one updated, as the rows did.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr, EntityTrait,
    FromQueryResult, QueryFilter, QueryResult, QuerySelect, QueryTrait, TransactionTrait,
};

use super::contacts::{ContactRecord, Lock};
use super::entities::contact;
use super::error::is_retryable;
use super::history::{self, ChangeAction, Entry};
use super::import_jobs::{self, Checkpoint};
use super::outbox::{self, EventType};
use super::save::{self, assignment_changes};
use super::{Store, StoreError, merge, now_micros};
use crate::domain::import_mapping::FailedRow;
use crate::domain::permissions::CANNOT_SAVE_CONTACT;
use crate::domain::{ContactFields, Principal, Role, Source, merge_plan};

/// One record of the file, read and normalised (or refused).
#[derive(Debug, Clone)]
pub struct PreparedRow {
    pub line: u64,
    pub row: Result<ContactFields, FailedRow>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub failed: Vec<FailedRow>,
}

impl Summary {
    pub fn add(&mut self, other: Summary) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.failed.extend(other.failed);
    }
}

const TWO_HOLDERS: &str = "the email and the mobile phone belong to two different contacts";

/// Identities per `IN` list, well under every backend's limit on bound values.
const LOOKUP_CHUNK: usize = 500;
/// 14 bound values a row; SQLite takes up to 32,766 in one statement.
const INSERT_CHUNK: usize = 1000;
/// A unique index may refuse a batch when a concurrent writer took one of
/// its identities after the lookup; the retry then sees it.
const ATTEMPTS: usize = 2;

/// A contact the import has seen: loaded from the database, or created by
/// an earlier row (`id` 0 until it is inserted).
struct Working {
    record: ContactRecord,
    is_new: bool,
}

/// What an import knows of the contacts its rows touch, by identity.
#[derive(Default)]
struct Known {
    contacts: Vec<Working>,
    by_id: HashMap<i64, usize>,
    by_email: HashMap<String, usize>,
    by_phone: HashMap<String, usize>,
}

impl Known {
    fn add(&mut self, working: Working) -> usize {
        let index = self.contacts.len();
        if !working.is_new {
            self.by_id.insert(working.record.id, index);
        }
        self.index(index, &working.record.fields);
        self.contacts.push(working);
        index
    }

    fn index(&mut self, index: usize, fields: &ContactFields) {
        if let Some(email) = &fields.email {
            self.by_email.insert(email.as_str().to_owned(), index);
        }
        if let Some(phone) = &fields.mobile_phone {
            self.by_phone.insert(phone.as_str().to_owned(), index);
        }
    }

    /// Moves contact `index` to `record`, re-indexing its identities.
    fn replace(&mut self, index: usize, record: ContactRecord) {
        let before = &self.contacts[index].record.fields;
        if let Some(email) = &before.email
            && record.fields.email.as_ref() != Some(email)
        {
            self.by_email.remove(email.as_str());
        }
        if let Some(phone) = &before.mobile_phone
            && record.fields.mobile_phone.as_ref() != Some(phone)
        {
            self.by_phone.remove(phone.as_str());
        }
        self.index(index, &record.fields);
        self.contacts[index].record = record;
    }

    /// The one contact holding the row's identities; `Err` when the email
    /// and the phone belong to two.
    fn holder(&self, fields: &ContactFields) -> Result<Option<usize>, ()> {
        let by_email = fields
            .email
            .as_ref()
            .and_then(|e| self.by_email.get(e.as_str()).copied());
        let by_phone = fields
            .mobile_phone
            .as_ref()
            .and_then(|p| self.by_phone.get(p.as_str()).copied());
        match (by_email, by_phone) {
            (Some(e), Some(p)) if e != p => Err(()),
            (Some(e), _) => Ok(Some(e)),
            (None, p) => Ok(p),
        }
    }
}

/// The lookups are prepared once per connection, and on PostgreSQL a
/// generic plan made while the table was small scans it whole ever after,
/// however it grows; a plan made per execution sees the table as it is.
async fn plan_per_execution(txn: &DatabaseTransaction) -> Result<(), StoreError> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
            .await?;
    }
    Ok(())
}

/// The columns a lookup reads, in the order `LookedUp` takes them:
/// decoding by position spares hashing every column name of every row.
const LOOKED_UP: [contact::Column; 15] = [
    contact::Column::Id,
    contact::Column::FirstName,
    contact::Column::LastName,
    contact::Column::Email,
    contact::Column::MobilePhone,
    contact::Column::Company,
    contact::Column::JobTitle,
    contact::Column::Timezone,
    contact::Column::Source,
    contact::Column::OwnerId,
    contact::Column::TeamId,
    contact::Column::SortName,
    contact::Column::Version,
    contact::Column::CreatedAt,
    contact::Column::UpdatedAt,
];

struct LookedUp(contact::Model);

impl FromQueryResult for LookedUp {
    fn from_query_result(row: &QueryResult, _prefix: &str) -> Result<Self, DbErr> {
        Ok(Self(contact::Model {
            id: row.try_get_by_index(0)?,
            first_name: row.try_get_by_index(1)?,
            last_name: row.try_get_by_index(2)?,
            email: row.try_get_by_index(3)?,
            mobile_phone: row.try_get_by_index(4)?,
            company: row.try_get_by_index(5)?,
            job_title: row.try_get_by_index(6)?,
            timezone: row.try_get_by_index(7)?,
            source: row.try_get_by_index(8)?,
            owner_id: row.try_get_by_index(9)?,
            team_id: row.try_get_by_index(10)?,
            sort_name: row.try_get_by_index(11)?,
            version: row.try_get_by_index(12)?,
            created_at: row.try_get_by_index(13)?,
            updated_at: row.try_get_by_index(14)?,
        }))
    }
}

/// One import run: who imports, and what it has seen so far.
pub struct Importer {
    principal: Principal,
    owner: Option<i64>,
    /// The header of the file's phone column, named when a row's email and
    /// phone belong to two contacts.
    phone_column: Option<String>,
    dry_run: bool,
    /// A real import forgets this after each committed batch, keeping
    /// memory bounded; a dry run keeps it, so later batches see what
    /// earlier ones would have done.
    known: Known,
}

impl Importer {
    pub fn new(principal: Principal, dry_run: bool) -> Result<Self, StoreError> {
        if !principal.may_write_contacts() {
            return Err(StoreError::forbidden("this role cannot import contacts"));
        }
        let owner = match principal.role {
            Role::Integration => None,
            _ => Some(principal.user_id),
        };
        Ok(Self {
            principal,
            owner,
            phone_column: None,
            dry_run,
            known: Known::default(),
        })
    }

    /// Names the file's phone column for the report, once it is known.
    pub fn set_phone_column(&mut self, column: Option<String>) {
        self.phone_column = column;
    }

    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// Applies `rows` in one transaction, with the job's checkpoint (if
    /// any) in the same transaction; a dry run only reads.
    pub async fn apply_batch(
        &mut self,
        store: &Store,
        rows: &[PreparedRow],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Summary, StoreError> {
        if self.dry_run {
            // Read only; the transaction is dropped, so rolled back.
            let txn = store.db().begin().await?;
            plan_per_execution(&txn).await?;
            self.load(&txn, rows, Lock::None).await?;
            let mut summary = Summary::default();
            for row in rows {
                self.apply_row(&txn, row, &mut summary, false).await?;
            }
            return Ok(summary);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.known = Known::default();
            match self.write_batch(store, rows, checkpoint).await {
                Err(StoreError::Db(err)) if attempt < ATTEMPTS && is_retryable(&err) => continue,
                outcome => {
                    self.known = Known::default();
                    return outcome;
                }
            }
        }
    }

    async fn write_batch(
        &mut self,
        store: &Store,
        rows: &[PreparedRow],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Summary, StoreError> {
        let txn = store.begin_write().await?;
        plan_per_execution(&txn).await?;
        self.load(&*txn, rows, Lock::ForUpdate).await?;
        let mut summary = Summary::default();
        for row in rows {
            self.apply_row(&*txn, row, &mut summary, true).await?;
        }
        self.insert_created(&*txn).await?;
        if let Some(checkpoint) = checkpoint {
            import_jobs::save_progress(&*txn, checkpoint, &summary).await?;
        }
        txn.commit().await?;
        Ok(summary)
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
        let fields = || rows.iter().filter_map(|r| r.row.as_ref().ok());
        let emails: HashSet<&str> = fields()
            .filter_map(|f| f.email.as_ref().map(|e| e.as_str()))
            .filter(|e| !self.known.by_email.contains_key(*e))
            .collect();
        self.load_where(db, contact::Column::Email, emails, lock)
            .await?;
        let phones: HashSet<&str> = fields()
            .filter_map(|f| f.mobile_phone.as_ref().map(|p| p.as_str()))
            .filter(|p| !self.known.by_phone.contains_key(*p))
            .collect();
        self.load_where(db, contact::Column::MobilePhone, phones, lock)
            .await
    }

    async fn load_where(
        &mut self,
        db: &impl ConnectionTrait,
        column: contact::Column,
        values: HashSet<&str>,
        lock: Lock,
    ) -> Result<(), StoreError> {
        let values: Vec<&str> = values.into_iter().collect();
        for chunk in values.chunks(LOOKUP_CHUNK) {
            let mut query = contact::Entity::find()
                .select_only()
                .columns(LOOKED_UP)
                .filter(column.is_in(chunk.iter().copied()));
            if lock == Lock::ForUpdate {
                query = query.lock_exclusive();
            }
            for found in query.into_model::<LookedUp>().all(db).await? {
                if self.known.by_id.contains_key(&found.0.id) {
                    continue;
                }
                let record = ContactRecord::try_from(found.0)?;
                self.known.add(Working {
                    record,
                    is_new: false,
                });
            }
        }
        Ok(())
    }

    async fn apply_row(
        &mut self,
        db: &impl ConnectionTrait,
        row: &PreparedRow,
        summary: &mut Summary,
        write: bool,
    ) -> Result<(), StoreError> {
        let fields = match &row.row {
            Ok(fields) => fields,
            Err(failed) => {
                summary.failed.push(failed.clone());
                return Ok(());
            }
        };
        let fail = |column: Option<String>, reason: &str| FailedRow {
            line: row.line,
            column,
            reason: reason.to_owned(),
        };
        let holder = match self.known.holder(fields) {
            Ok(holder) => holder,
            Err(()) => {
                summary
                    .failed
                    .push(fail(self.phone_column.clone(), TWO_HOLDERS));
                return Ok(());
            }
        };
        let Some(index) = holder else {
            let now = now_micros();
            self.known.add(Working {
                record: ContactRecord {
                    id: 0,
                    fields: fields.clone(),
                    source: Source::Import,
                    owner_id: self.owner,
                    team_id: None,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                },
                is_new: true,
            });
            summary.created += 1;
            return Ok(());
        };
        let working = &self.known.contacts[index];
        let current = &working.record;
        if !self.principal.can_access(current.owner_id, current.team_id) {
            summary.failed.push(fail(None, CANNOT_SAVE_CONTACT));
            return Ok(());
        }
        let plan = merge_plan::plan(&current.fields, fields);
        if plan.result == current.fields {
            summary.unchanged += 1;
            return Ok(());
        }
        let saved = if write && !working.is_new {
            merge::apply_to_survivor(db, &self.principal, current, &plan, Source::Import, None)
                .await?
        } else {
            // Not in the database yet (or a dry run): the change is kept
            // here and written with the rest.
            ContactRecord {
                fields: plan.result,
                ..current.clone()
            }
        };
        self.known.replace(index, saved);
        summary.updated += 1;
        Ok(())
    }

    /// Inserts the contacts this batch created, then their history (and
    /// outbox events, when an integration listens).
    async fn insert_created(&mut self, db: &impl ConnectionTrait) -> Result<(), StoreError> {
        let new: Vec<usize> = (0..self.known.contacts.len())
            .filter(|&i| self.known.contacts[i].is_new)
            .collect();
        for chunk in new.chunks(INSERT_CHUNK) {
            let models = chunk.iter().map(|&i| {
                let record = &self.known.contacts[i].record;
                save::new_contact_model(
                    &record.fields,
                    Source::Import,
                    (record.owner_id, record.team_id),
                    record.created_at,
                )
            });
            let mut insert = contact::Entity::insert_many(models);
            insert.query().returning(Query::returning().columns([
                contact::Column::Id,
                contact::Column::Email,
                contact::Column::MobilePhone,
            ]));
            let statement = db.get_database_backend().build(insert.as_query());
            // Rows come back with their ids in no promised order; each new
            // contact is found again by an identity, unique among them.
            for row in db.query_all_raw(statement).await? {
                let id: i64 = row.try_get_by_index(0)?;
                let email: Option<String> = row.try_get_by_index(1)?;
                let phone: Option<String> = row.try_get_by_index(2)?;
                let index = email
                    .as_deref()
                    .and_then(|e| self.known.by_email.get(e))
                    .or_else(|| phone.as_deref().and_then(|p| self.known.by_phone.get(p)))
                    .copied();
                if let Some(index) = index {
                    self.known.contacts[index].record.id = id;
                }
            }
        }
        let created: Vec<&ContactRecord> = new
            .iter()
            .map(|&i| &self.known.contacts[i].record)
            .collect();
        if created.iter().any(|r| r.id == 0) {
            return Err(StoreError::Db(sea_orm::DbErr::Custom(
                "an imported contact came back without its id".to_owned(),
            )));
        }
        let changes: Vec<_> = created
            .iter()
            .map(|record| {
                let mut changes = record.fields.changes_since(&ContactFields::default());
                changes.extend(assignment_changes((None, None), (record.owner_id, None)));
                changes
            })
            .collect();
        let entries: Vec<Entry<'_>> = created
            .iter()
            .zip(&changes)
            .map(|(record, changes)| Entry {
                contact_id: record.id,
                actor_user_id: Some(self.principal.user_id),
                action: ChangeAction::Created,
                source: Source::Import,
                changes,
                merged_contact_id: None,
            })
            .collect();
        history::record_many(db, &entries).await?;
        if outbox::any_integration(db).await? {
            for (record, changes) in created.iter().zip(&changes) {
                outbox::enqueue(db, EventType::Created, record, changes, None).await?;
            }
        }
        Ok(())
    }
}
