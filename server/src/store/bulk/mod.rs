//! Where an import batch's rows go. The import (`store::import`) decides
//! every row with `domain::import_plan` and chooses a writer; a writer
//! finds contacts by identity and persists what was decided, and decides
//! nothing. There are four:
//!
//! - `general`: SeaORM, either backend, every kind of batch: changes to
//!   stored contacts go through `contact_writes` (history, notifications,
//!   outbox), as an edit's do.
//! - `sqlite`: the import's own rusqlite connection, for a batch that only
//!   creates contacts when no integration listens (BENCHMARKS.md: SeaORM's
//!   per-value statement building cost more than SQLite's work).
//! - `postgres`: `COPY` on a pool connection of its own, for the same kind
//!   of batch; its writes are handed back unrun, so the import can write
//!   one batch while it decides the next.
//! - `dry_run`: reads, keeps changes in the plan, writes only the job's
//!   progress.
//!
//! A writer that cannot take a batch (an integration listens, or a row
//! changes a stored contact) says so before writing anything, and the
//! import gives the batch to `general`.

pub(super) mod dry_run;
pub(super) mod general;
pub(super) mod postgres;
pub(super) mod sqlite;

use std::future::Future;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryResult, QuerySelect, QueryTrait,
};

use super::StoreError;
use super::contact_columns::{CONTACT_COLUMNS, contact_at_positions};
use super::contact_writes::{self, assignment_changes};
use super::contacts::{ContactRecord, Identity, Lock};
use super::entities::{contact, integration};
use super::history::{ChangeAction, Entry};
use super::import_jobs::Progress;
use super::import_postgres::PLAN_FOR_KEYS;
use crate::domain::import_plan::ImportPlan;
use crate::domain::merge_plan::MergePlan;
use crate::domain::{ContactFields, FieldChange, Principal, Source};

/// One batch's writes, in one transaction, begun by the writer's
/// constructor and ended by `finish` (or rolled back when dropped).
pub(super) trait BulkWriter: Send {
    /// What `finish` hands back: nothing once committed, or writes still
    /// to be run (PostgreSQL's, see `postgres`).
    type Finished;

    fn backend(&self) -> DatabaseBackend;

    /// Whether this writer can take the batch at all.
    fn accepts(&mut self) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The contacts holding any of `values` as their `identity`.
    fn find(
        &mut self,
        identity: Identity,
        values: &[&str],
    ) -> impl Future<Output = Result<Vec<contact::Model>, StoreError>> + Send;

    /// Writes a row's change to stored contact `current`; `None`, with
    /// nothing written, from a writer that only creates contacts.
    fn update(
        &mut self,
        principal: &Principal,
        current: &ContactRecord,
        plan: &MergePlan,
    ) -> impl Future<Output = Result<Option<ContactRecord>, StoreError>> + Send;

    /// Writes the plan's new contacts `new` and their history, giving each
    /// its id in the plan.
    fn create(
        &mut self,
        plan: &mut ImportPlan,
        new: &[usize],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Writes the job's checkpoint beside the batch, and commits.
    fn finish(
        self,
        progress: Option<Progress>,
    ) -> impl Future<Output = Result<Self::Finished, StoreError>> + Send;
}

/// Identities per `IN` list, well under every backend's limit on bound values.
const LOOKUP_CHUNK: usize = 500;

/// Prices scans out of an import transaction on PostgreSQL (see
/// `import_postgres::PLAN_FOR_KEYS`); nothing on SQLite.
async fn plan_for_keys(db: &impl ConnectionTrait) -> Result<(), StoreError> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.execute_unprepared(PLAN_FOR_KEYS).await?;
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

/// The contacts holding any of `values` as their `identity`, through
/// SeaORM, `LOOKUP_CHUNK` at a time; `lock`ed on PostgreSQL, so the row
/// read is the row written (SQLite's write transaction holds the database
/// already, and SeaORM writes no lock clause for it).
async fn find_with_seaorm(
    db: &impl ConnectionTrait,
    identity: Identity,
    values: &[&str],
    lock: Lock,
) -> Result<Vec<contact::Model>, StoreError> {
    let mut found = Vec::new();
    for chunk in values.chunks(LOOKUP_CHUNK) {
        let mut query = contact::Entity::find()
            .select_only()
            .columns(CONTACT_COLUMNS)
            .filter(identity.column().is_in(chunk.iter().copied()));
        if lock == Lock::ForUpdate {
            query = query.lock_exclusive();
        }
        let rows = query.into_model::<LookedUp>().all(db).await?;
        found.extend(rows.into_iter().map(|row| row.0));
    }
    Ok(found)
}

/// The query that finds whether an integration listens: then a batch's new
/// contacts must reach the outbox, which only the general writer writes.
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

fn creation_entry<'a>(
    principal: &Principal,
    record: &ContactRecord,
    changes: &'a [FieldChange],
) -> Entry<'a> {
    Entry {
        contact_id: record.id,
        actor_user_id: Some(principal.user_id),
        action: ChangeAction::Created,
        source: Source::Import,
        changes,
        merged_contact_id: None,
    }
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
