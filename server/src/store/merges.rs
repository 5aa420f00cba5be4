//! Reversible merges (DESIGN.md sections 4 and 13). Every merge keeps what
//! it changed: the absorbed record as it was, the survivor's fields before
//! and after, and the ids of what moved. [`undo`] gives it back in one
//! transaction: the absorbed record under its own id, what moved, and the
//! survivor's fields the merge filled or overwrote, except those edited
//! since (`domain::merge_plan::unmerge` decides which).

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::contact_writes::{self, NewVersion, require_merge_permission};
use super::contacts::{self, ContactRecord, Lock};
use super::entities::{
    activity, contact, contact_alias, contact_change, delivery, meeting, merge, notification,
};
use super::error::is_retryable;
use super::history::{self, ChangeAction, Entry};
use super::integrations::DeliveryStatus;
use super::notifications::NotificationStatus;
use super::outbox::{self, EventType};
use super::{Store, StoreError, now_micros};
use crate::domain::field_policy::ContactField;
use crate::domain::global_id::{self, Kind};
use crate::domain::merge_plan::{self, FieldMerge, MergeOutcome};
use crate::domain::{ContactFields, Email, Phone, Principal, Source};

/// A contact's fields as a merge keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct StoredFields {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    mobile_phone: Option<String>,
    company: Option<String>,
    job_title: Option<String>,
    timezone: Option<String>,
}

impl From<&ContactFields> for StoredFields {
    fn from(fields: &ContactFields) -> Self {
        Self {
            first_name: fields.first_name.clone(),
            last_name: fields.last_name.clone(),
            email: fields.email.as_ref().map(|e| e.as_str().to_owned()),
            mobile_phone: fields.mobile_phone.as_ref().map(|p| p.as_str().to_owned()),
            company: fields.company.clone(),
            job_title: fields.job_title.clone(),
            timezone: fields.timezone.clone(),
        }
    }
}

impl StoredFields {
    /// Written by the store from checked values: read back as they are.
    fn fields(&self) -> ContactFields {
        ContactFields {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: self.email.clone().map(Email::from_trusted),
            mobile_phone: self.mobile_phone.clone().map(Phone::from_trusted),
            company: self.company.clone(),
            job_title: self.job_title.clone(),
            timezone: self.timezone.clone(),
        }
    }
}

/// The absorbed record as it was just before the merge.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Absorbed {
    fields: StoredFields,
    owner_id: Option<i64>,
    team_id: Option<i64>,
    source: String,
    created_at: i64,
    version: i32,
}

/// The ids of what a merge moved from the absorbed record to the survivor.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Moved {
    activities: Vec<i64>,
    conflicting_activities: Vec<i64>,
    meetings: Vec<i64>,
    notifications: Vec<i64>,
    /// Of those, the ones the merge canceled (pending before it, the
    /// survivor had no address for their channel): the undo sends them
    /// again (merges kept before this have none).
    #[serde(default)]
    canceled_notifications: Vec<i64>,
    history: Vec<i64>,
    /// Ids merged into the absorbed record earlier, which followed it.
    aliases: Vec<i64>,
    /// Its deliveries still pending, which joined the survivor's queue.
    deliveries: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredFieldMerge {
    field: String,
    current: Option<String>,
    incoming: Option<String>,
    outcome: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Details {
    absorbed: Option<Absorbed>,
    survivor_before: StoredFields,
    survivor_after: StoredFields,
    fields: Vec<StoredFieldMerge>,
    moved: Moved,
}

fn outcome_name(outcome: MergeOutcome) -> &'static str {
    match outcome {
        MergeOutcome::Filled => "FILLED",
        MergeOutcome::Overwritten => "OVERWRITTEN",
        MergeOutcome::Retained => "RETAINED",
        MergeOutcome::Unchanged => "UNCHANGED",
    }
}

fn outcome_of(name: &str) -> MergeOutcome {
    match name {
        "FILLED" => MergeOutcome::Filled,
        "OVERWRITTEN" => MergeOutcome::Overwritten,
        "RETAINED" => MergeOutcome::Retained,
        _ => MergeOutcome::Unchanged,
    }
}

fn corrupt(err: impl std::fmt::Display) -> StoreError {
    StoreError::Db(sea_orm::DbErr::Custom(format!("a stored merge: {err}")))
}

/// A merge as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRecord {
    pub id: i64,
    pub survivor_id: i64,
    pub merged_id: Option<i64>,
    pub source: String,
    pub merged_by_user_id: Option<i64>,
    pub merged_at: i64,
    pub undone_at: Option<i64>,
    /// The preview the merge was confirmed with, field by field.
    pub fields: Vec<FieldMerge>,
    /// The absorbed record as it was (`None` for a merge of an input).
    pub absorbed: Option<AbsorbedRecord>,
    pub survivor_before: ContactFields,
    pub survivor_after: ContactFields,
    pub moved: MovedIds,
}

/// The absorbed record as a merge kept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsorbedRecord {
    pub fields: ContactFields,
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
}

/// What a merge moved to the survivor, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MovedIds {
    pub activities: Vec<i64>,
    pub meetings: Vec<i64>,
    pub notifications: Vec<i64>,
    /// Contacts merged into the absorbed one before, whose ids followed it.
    pub aliases: Vec<i64>,
}

impl TryFrom<merge::Model> for MergeRecord {
    type Error = StoreError;

    fn try_from(model: merge::Model) -> Result<Self, StoreError> {
        let details: Details = serde_json::from_str(&model.details).map_err(corrupt)?;
        let fields = details
            .fields
            .iter()
            .filter_map(|f| {
                let field = crate::domain::field_policy::ContactField::from_input_name(&f.field)?;
                Some(FieldMerge {
                    field: field.input_name(),
                    current: f.current.clone(),
                    incoming: f.incoming.clone(),
                    outcome: outcome_of(&f.outcome),
                })
            })
            .collect();
        Ok(Self {
            id: model.id,
            survivor_id: model.survivor_id,
            merged_id: model.merged_id,
            source: model.source,
            merged_by_user_id: model.merged_by_user_id,
            merged_at: model.merged_at,
            undone_at: model.undone_at,
            fields,
            absorbed: details.absorbed.as_ref().map(|a| AbsorbedRecord {
                fields: a.fields.fields(),
                owner_id: a.owner_id,
                team_id: a.team_id,
            }),
            survivor_before: details.survivor_before.fields(),
            survivor_after: details.survivor_after.fields(),
            moved: MovedIds {
                activities: details.moved.activities.clone(),
                meetings: details.moved.meetings.clone(),
                notifications: details.moved.notifications.clone(),
                aliases: details.moved.aliases.clone(),
            },
        })
    }
}

/// What absorbing `merged_id` is about to move: read before it moves.
pub(super) async fn what_moves(
    db: &impl ConnectionTrait,
    merged_id: i64,
) -> Result<Moved, StoreError> {
    // One read of its notifications: all move; the pending ones are kept
    // apart, and `note_canceled` keeps those the merge cancels.
    let notifications: Vec<(i64, NotificationStatus)> = notification::Entity::find()
        .select_only()
        .column(notification::Column::Id)
        .column(notification::Column::Status)
        .filter(notification::Column::ContactId.eq(merged_id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(Moved {
        activities: ids_of::<activity::Entity>(
            db,
            activity::Column::Id,
            Condition::all().add(activity::Column::ContactId.eq(merged_id)),
        )
        .await?,
        conflicting_activities: ids_of::<activity::Entity>(
            db,
            activity::Column::Id,
            Condition::all().add(activity::Column::ConflictingContactId.eq(merged_id)),
        )
        .await?,
        meetings: ids_of::<meeting::Entity>(
            db,
            meeting::Column::Id,
            Condition::all().add(meeting::Column::ContactId.eq(merged_id)),
        )
        .await?,
        canceled_notifications: notifications
            .iter()
            .filter(|(_, status)| *status == NotificationStatus::Pending)
            .map(|(id, _)| *id)
            .collect(),
        notifications: notifications.into_iter().map(|(id, _)| id).collect(),
        history: ids_of::<contact_change::Entity>(
            db,
            contact_change::Column::Id,
            Condition::all().add(contact_change::Column::ContactId.eq(merged_id)),
        )
        .await?,
        aliases: ids_of::<contact_alias::Entity>(
            db,
            contact_alias::Column::MergedId,
            Condition::all().add(contact_alias::Column::SurvivorId.eq(merged_id)),
        )
        .await?,
        deliveries: ids_of::<delivery::Entity>(
            db,
            delivery::Column::Id,
            Condition::all()
                .add(delivery::Column::ContactId.eq(merged_id))
                .add(delivery::Column::Status.eq(DeliveryStatus::Pending)),
        )
        .await?,
    })
}

/// The `id` column of the rows of `E` that `which` selects.
async fn ids_of<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id: E::Column,
    which: Condition,
) -> Result<Vec<i64>, StoreError> {
    Ok(E::find()
        .select_only()
        .column(id)
        .filter(which)
        .into_tuple()
        .all(db)
        .await?)
}

/// Keeps, of the moved notifications pending before the merge, those the
/// merge canceled (called in its transaction, once the survivor's identity
/// re-addressed them).
pub(super) async fn note_canceled(
    db: &impl ConnectionTrait,
    moved: &mut Moved,
) -> Result<(), StoreError> {
    let mut canceled = Vec::new();
    for ids in moved.canceled_notifications.chunks(IDS_PER_STATEMENT) {
        let some: Vec<i64> = notification::Entity::find()
            .select_only()
            .column(notification::Column::Id)
            .filter(notification::Column::Id.is_in(ids.iter().copied()))
            .filter(notification::Column::Status.eq(NotificationStatus::Canceled))
            .into_tuple()
            .all(db)
            .await?;
        canceled.extend(some);
    }
    moved.canceled_notifications = canceled;
    Ok(())
}

/// What one merge did, to keep.
pub(super) struct Done<'a> {
    pub before: &'a ContactRecord,
    pub after: &'a ContactRecord,
    pub absorbed: Option<&'a ContactRecord>,
    pub fields: &'a [FieldMerge],
    pub moved: Moved,
    pub source: Source,
}

/// Keeps a merge, in its transaction.
pub(super) async fn keep(
    db: &impl ConnectionTrait,
    principal: &Principal,
    done: Done<'_>,
) -> Result<(), StoreError> {
    let details = Details {
        absorbed: done.absorbed.map(|record| Absorbed {
            fields: StoredFields::from(&record.fields),
            owner_id: record.owner_id,
            team_id: record.team_id,
            source: record.source.as_str().to_owned(),
            created_at: record.created_at,
            version: record.version,
        }),
        survivor_before: StoredFields::from(&done.before.fields),
        survivor_after: StoredFields::from(&done.after.fields),
        fields: done
            .fields
            .iter()
            .map(|f| StoredFieldMerge {
                field: f.field.to_owned(),
                current: f.current.clone(),
                incoming: f.incoming.clone(),
                outcome: outcome_name(f.outcome).to_owned(),
            })
            .collect(),
        moved: done.moved,
    };
    merge::ActiveModel {
        survivor_id: Set(done.after.id),
        merged_id: Set(done.absorbed.map(|a| a.id)),
        source: Set(done.source.as_str().to_owned()),
        merged_by_user_id: Set(Some(principal.user_id)),
        merged_at: Set(now_micros()),
        undone_at: Set(None),
        undone_by_user_id: Set(None),
        details: Set(serde_json::to_string(&details).map_err(corrupt)?),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The merges into a contact, newest first; `before_id` continues a page.
pub async fn of_survivor(
    db: &impl ConnectionTrait,
    survivor_id: i64,
    before_id: Option<i64>,
    limit: u64,
) -> Result<Vec<MergeRecord>, StoreError> {
    let mut query = merge::Entity::find()
        .filter(merge::Column::SurvivorId.eq(survivor_id))
        .order_by_desc(merge::Column::Id)
        .limit(limit);
    if let Some(before_id) = before_id {
        query = query.filter(merge::Column::Id.lt(before_id));
    }
    query
        .all(db)
        .await?
        .into_iter()
        .map(MergeRecord::try_from)
        .collect()
}

pub async fn count_of_survivor(
    db: &impl ConnectionTrait,
    survivor_id: i64,
) -> Result<u64, StoreError> {
    Ok(merge::Entity::find()
        .filter(merge::Column::SurvivorId.eq(survivor_id))
        .count(db)
        .await?)
}

/// A deleted contact's merges go with it, as its history does (section 6:
/// permanent): those into it, which hold the records it absorbed, and the
/// undone ones that absorbed it, which hold what it was.
/// The contacts merged into it (its aliases) go too: their merges, into
/// them earlier or undone ones that absorbed them, hold what they were.
/// Called before the contact's row (and with it its aliases) is deleted.
pub(super) async fn forget(db: &impl ConnectionTrait, contact_id: i64) -> Result<(), StoreError> {
    let mut ids = ids_of::<contact_alias::Entity>(
        db,
        contact_alias::Column::MergedId,
        Condition::all().add(contact_alias::Column::SurvivorId.eq(contact_id)),
    )
    .await?;
    ids.push(contact_id);
    for ids in ids.chunks(IDS_PER_STATEMENT) {
        merge::Entity::delete_many()
            .filter(
                sea_orm::Condition::any()
                    .add(merge::Column::SurvivorId.is_in(ids.iter().copied()))
                    .add(merge::Column::MergedId.is_in(ids.iter().copied())),
            )
            .exec(db)
            .await?;
    }
    Ok(())
}

/// One merge, when the caller may read contacts' history and can access
/// its survivor (or the contact that survivor was merged into since).
pub async fn find_readable(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: i64,
) -> Result<Option<MergeRecord>, StoreError> {
    // What a merge changed is part of the change log.
    if !principal.may_read(ContactField::History) {
        return Ok(None);
    }
    let Some(model) = merge::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    match contacts::resolve(db, &principal.access(), model.survivor_id).await? {
        Some(_) => MergeRecord::try_from(model).map(Some),
        None => Ok(None),
    }
}

/// The newest merge into a contact that is not undone: the one an undo
/// takes next (merges are undone newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewestStanding(pub i64);

/// [`NewestStanding`] of each of these survivors that has one; one query
/// for a page of contacts or merges.
pub async fn newest_standing(
    db: &impl ConnectionTrait,
    survivor_ids: &[i64],
) -> Result<HashMap<i64, NewestStanding>, StoreError> {
    let rows: Vec<(i64, Option<i64>)> = merge::Entity::find()
        .select_only()
        .column(merge::Column::SurvivorId)
        .column_as(merge::Column::Id.max(), "newest")
        .filter(merge::Column::SurvivorId.is_in(survivor_ids.iter().copied()))
        .filter(merge::Column::UndoneAt.is_null())
        .group_by(merge::Column::SurvivorId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(survivor, newest)| Some((survivor, NewestStanding(newest?))))
        .collect())
}

impl MergeRecord {
    /// Whether [`undo`] would take it, as far as merges go: not undone,
    /// the newest standing merge into its survivor, and the survivor not
    /// merged away since (`survivor_stands`). An identity taken since, a
    /// stale version or the caller's role may still refuse it.
    pub fn undoable(&self, newest: Option<NewestStanding>, survivor_stands: bool) -> bool {
        self.undone_at.is_none() && newest == Some(NewestStanding(self.id)) && survivor_stands
    }
}

/// What an undo gave back.
#[derive(Debug)]
pub struct Undone {
    pub survivor: ContactRecord,
    /// The absorbed record, restored; `None` for a merge of an input.
    pub restored: Option<ContactRecord>,
    /// Fields the merge changed that were edited since: they kept the
    /// later value.
    pub kept: Vec<&'static str>,
}

/// Undoes merge `id` (DESIGN.md section 13), acting as `principal` through
/// `source`. Refused with CONFLICT (nothing changed) when it was undone
/// already, when a later merge into the same survivor is not undone, when
/// the survivor was absorbed since, or when an identity of the record to
/// restore now belongs to another contact (naming the field).
pub async fn undo(
    store: &Store,
    principal: &Principal,
    id: i64,
    expected_survivor_version: Option<i32>,
    source: Source,
) -> Result<Undone, StoreError> {
    require_merge_permission(principal)?;
    // An identity found free may be taken by a concurrent write before the
    // undo gives it back (PostgreSQL cannot lock a row that is not there);
    // the retry then finds its holder and refuses, naming the field.
    let mut last = None;
    for _ in 0..3 {
        match undo_attempt(store, principal, id, expected_survivor_version, source).await {
            Err(StoreError::Db(err)) if is_retryable(&err) => last = Some(err),
            other => return other,
        }
    }
    Err(last.map_or(StoreError::NotFound, StoreError::Db))
}

async fn undo_attempt(
    store: &Store,
    principal: &Principal,
    id: i64,
    expected_survivor_version: Option<i32>,
    source: Source,
) -> Result<Undone, StoreError> {
    let txn = store.begin_write().await?;
    let db = &*txn;
    // Locked, so of concurrent undos of one merge one goes through and the
    // rest find it undone (SQLite's writes are one at a time anyway).
    let mut find = merge::Entity::find_by_id(id);
    if db.get_database_backend() == DatabaseBackend::Postgres {
        find = find.lock_exclusive();
    }
    let row = find.one(db).await?.ok_or(StoreError::NotFound)?;
    let access = principal.access();
    let Some(survivor) =
        contacts::find_accessible(db, &access, row.survivor_id, Lock::ForUpdate).await?
    else {
        // Absorbed by a later merge, the survivor stands for another
        // contact now: that merge is undone first.
        let Some(absorbed_into) = contacts::resolve(db, &access, row.survivor_id).await? else {
            return Err(StoreError::NotFound);
        };
        if row.undone_at.is_some() {
            return Err(undone_already());
        }
        let first = merge::Entity::find()
            .filter(merge::Column::MergedId.eq(row.survivor_id))
            .filter(merge::Column::UndoneAt.is_null())
            .order_by_desc(merge::Column::Id)
            .one(db)
            .await?;
        return Err(StoreError::MergeConflict {
            field: None,
            reason: match first {
                Some(first) => format!(
                    "the contact this merge kept was merged away since by merge {} (it stands for {} now); undo that merge first",
                    global_id::encode(Kind::Merge, first.id),
                    global_id::encode(Kind::Contact, absorbed_into.id),
                ),
                None => format!(
                    "the contact this merge kept was merged into {} since; undo that merge first",
                    global_id::encode(Kind::Contact, absorbed_into.id)
                ),
            },
        });
    };
    if row.undone_at.is_some() {
        return Err(undone_already());
    }
    // Standing here, so the newest standing merge is this one or later.
    let newest = newest_standing(db, &[row.survivor_id])
        .await?
        .remove(&row.survivor_id);
    if let Some(NewestStanding(later)) = newest.filter(|newest| newest.0 != row.id) {
        return Err(StoreError::MergeConflict {
            field: None,
            reason: format!(
                "merge {} into the same contact came later: undo it first",
                global_id::encode(Kind::Merge, later)
            ),
        });
    }
    if let Some(expected) = expected_survivor_version
        && expected != survivor.version
    {
        return Err(StoreError::Conflict { expected });
    }
    let details: Details = serde_json::from_str(&row.details).map_err(corrupt)?;
    let unmerge = merge_plan::unmerge(
        &details.survivor_before.fields(),
        &details.survivor_after.fields(),
        &survivor.fields,
    );
    let absorbed = details.absorbed.as_ref().map(|a| (a, a.fields.fields()));
    // As merging needs access to both records, so does undoing: the record
    // that comes back must be one the caller can reach.
    if let Some((stored, _)) = &absorbed
        && !principal.can_access(stored.owner_id, stored.team_id)
    {
        return Err(StoreError::forbidden(
            "the contact this undo brings back belongs to someone this role cannot reach",
        ));
    }
    let changes = unmerge.result.changes_since(&survivor.fields);
    // The survivor's fields go back as an edit would write them.
    if let Some(change) = changes
        .iter()
        .find(|change| !principal.fields.may_write_named(change.field))
    {
        return Err(StoreError::unwritable(
            &principal.fields,
            change.field,
            "undo",
        ));
    }
    check_survivor_identities_free(db, &survivor, &unmerge.result).await?;
    if let Some((_, fields)) = &absorbed {
        check_identities_free(db, fields, &unmerge.result, survivor.id).await?;
    }
    let now = now_micros();

    // The record comes back first without its identities (the survivor
    // still holds them), so what moved can point at it again; the survivor
    // then lets them go, and the record takes them.
    let restored = match (&absorbed, row.merged_id) {
        (Some((stored, fields)), Some(restored_id)) => {
            let source_of_record = stored.source.parse().map_err(|e: String| corrupt(e))?;
            let mut model = contact_writes::new_contact_model(
                &ContactFields {
                    email: None,
                    mobile_phone: None,
                    ..fields.clone()
                },
                source_of_record,
                (stored.owner_id, stored.team_id),
                now,
            );
            model.id = Set(restored_id);
            model.created_at = Set(stored.created_at);
            model.version = Set(stored.version + 1);
            model.insert(db).await?;
            move_back(db, &details.moved, survivor.id, restored_id, row.merged_at).await?;
            Some(restored_id)
        }
        _ => None,
    };
    let saved = contact_writes::write_change(
        db,
        principal,
        NewVersion {
            current: &survivor,
            fields: &unmerge.result,
            assignment: (survivor.owner_id, survivor.team_id),
            changes,
            source,
            merged: None,
            unmerged: Some(restored.unwrap_or(survivor.id)),
        },
    )
    .await?;
    let restored = match (&absorbed, restored) {
        (Some((_, fields)), Some(restored_id)) => {
            Some(give_identities(db, principal, restored_id, fields, &saved, source).await?)
        }
        _ => None,
    };
    merge::Entity::update_many()
        .col_expr(merge::Column::UndoneAt, Expr::value(now))
        .col_expr(
            merge::Column::UndoneByUserId,
            Expr::value(principal.user_id),
        )
        .filter(merge::Column::Id.eq(row.id))
        .exec(db)
        .await?;
    txn.commit().await?;
    Ok(Undone {
        survivor: saved,
        restored,
        kept: unmerge.kept,
    })
}

fn undone_already() -> StoreError {
    StoreError::MergeConflict {
        field: None,
        reason: "this merge was undone already".to_owned(),
    }
}

/// An identity the survivor gets back (its own before the merge) that a
/// third contact holds now refuses the undo.
async fn check_survivor_identities_free(
    db: &impl ConnectionTrait,
    survivor: &ContactRecord,
    after_undo: &ContactFields,
) -> Result<(), StoreError> {
    let taken = |field: &'static str| StoreError::MergeConflict {
        field: Some(field),
        reason: format!(
            "the {field} this contact had before the merge belongs to another contact now; \
             change it there first"
        ),
    };
    if let Some(email) = after_undo
        .email
        .as_ref()
        .filter(|email| survivor.fields.email.as_ref() != Some(*email))
    {
        let holder = contacts::find_by_email(db, email, Lock::ForUpdate).await?;
        if holder.is_some_and(|h| h.id != survivor.id) {
            return Err(taken("email"));
        }
    }
    if let Some(phone) = after_undo
        .mobile_phone
        .as_ref()
        .filter(|phone| survivor.fields.mobile_phone.as_ref() != Some(*phone))
    {
        let holder = contacts::find_by_phone(db, phone, Lock::ForUpdate).await?;
        if holder.is_some_and(|h| h.id != survivor.id) {
            return Err(taken("mobilePhone"));
        }
    }
    Ok(())
}

/// An identity of the record to restore that another contact holds now
/// (or that the survivor keeps, edited since) refuses the undo.
async fn check_identities_free(
    db: &impl ConnectionTrait,
    restored: &ContactFields,
    survivor_after_undo: &ContactFields,
    survivor_id: i64,
) -> Result<(), StoreError> {
    let taken = |field: &'static str| StoreError::MergeConflict {
        field: Some(field),
        reason: format!(
            "the {field} of the contact to restore belongs to another contact now; \
             change it there first"
        ),
    };
    if let Some(email) = &restored.email {
        let holder = contacts::find_by_email(db, email, Lock::ForUpdate).await?;
        if holder.is_some_and(|h| h.id != survivor_id)
            || survivor_after_undo.email.as_ref() == Some(email)
        {
            return Err(taken("email"));
        }
    }
    if let Some(phone) = &restored.mobile_phone {
        let holder = contacts::find_by_phone(db, phone, Lock::ForUpdate).await?;
        if holder.is_some_and(|h| h.id != survivor_id)
            || survivor_after_undo.mobile_phone.as_ref() == Some(phone)
        {
            return Err(taken("mobilePhone"));
        }
    }
    Ok(())
}

/// Ids one statement names: a contact with many activities or history
/// entries moves them back in several, under SQLite's and PostgreSQL's
/// limits on bound values.
const IDS_PER_STATEMENT: usize = 1000;

/// What moved goes back to the restored record, where it still sits on
/// the survivor; its id stops standing for the survivor.
async fn move_back(
    db: &impl ConnectionTrait,
    moved: &Moved,
    survivor_id: i64,
    restored_id: i64,
    merged_at: i64,
) -> Result<(), StoreError> {
    let back = (survivor_id, restored_id);
    use activity::Column as A;
    relink::<activity::Entity>(db, A::Id, A::ContactId, &moved.activities, back, None).await?;
    relink::<activity::Entity>(
        db,
        A::Id,
        A::ConflictingContactId,
        &moved.conflicting_activities,
        back,
        None,
    )
    .await?;
    use meeting::Column as M;
    relink::<meeting::Entity>(db, M::Id, M::ContactId, &moved.meetings, back, None).await?;
    use notification::Column as N;
    relink::<notification::Entity>(db, N::Id, N::ContactId, &moved.notifications, back, None)
        .await?;
    // Back with the record, they are addressed to its identity again when
    // it takes it (`give_identities`).
    for ids in moved.canceled_notifications.chunks(IDS_PER_STATEMENT) {
        super::notifications::revive(db, restored_id, ids, merged_at).await?;
    }
    use contact_change::Column as H;
    relink::<contact_change::Entity>(db, H::Id, H::ContactId, &moved.history, back, None).await?;
    use delivery::Column as D;
    let pending = D::Status.eq(DeliveryStatus::Pending);
    relink::<delivery::Entity>(
        db,
        D::Id,
        D::ContactId,
        &moved.deliveries,
        back,
        Some(pending),
    )
    .await?;
    contact_alias::Entity::delete_many()
        .filter(contact_alias::Column::MergedId.eq(restored_id))
        .exec(db)
        .await?;
    use contact_alias::Column as L;
    relink::<contact_alias::Entity>(db, L::MergedId, L::SurvivorId, &moved.aliases, back, None)
        .await?;
    Ok(())
}

/// Points the rows `ids` of `E` whose `link` is still `from` at `to`
/// (and only those `also` selects, when given).
async fn relink<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id: E::Column,
    link: E::Column,
    ids: &[i64],
    (from, to): (i64, i64),
    also: Option<sea_orm::sea_query::SimpleExpr>,
) -> Result<(), StoreError> {
    for ids in ids.chunks(IDS_PER_STATEMENT) {
        let mut update = E::update_many()
            .col_expr(link, Expr::value(to))
            .filter(id.is_in(ids.iter().copied()))
            .filter(link.eq(from));
        if let Some(also) = also.clone() {
            update = update.filter(also);
        }
        update.exec(db).await?;
    }
    Ok(())
}

/// The restored record takes its identities back, with its UNMERGED
/// history entry, its `contact.restored` event, its pending reminders
/// re-addressed and the CRMs told.
async fn give_identities(
    db: &impl ConnectionTrait,
    principal: &Principal,
    restored_id: i64,
    fields: &ContactFields,
    survivor: &ContactRecord,
    source: Source,
) -> Result<ContactRecord, StoreError> {
    contact::Entity::update_many()
        .col_expr(
            contact::Column::Email,
            Expr::value(fields.email.as_ref().map(|e| e.as_str().to_owned())),
        )
        .col_expr(
            contact::Column::MobilePhone,
            Expr::value(fields.mobile_phone.as_ref().map(|p| p.as_str().to_owned())),
        )
        .filter(contact::Column::Id.eq(restored_id))
        .exec(db)
        .await?;
    let restored =
        contacts::find_accessible(db, &crate::domain::Access::All, restored_id, Lock::None)
            .await?
            .ok_or(StoreError::NotFound)?;
    let changes = restored.fields.changes_since(&ContactFields::default());
    history::record(
        db,
        Entry {
            contact_id: restored_id,
            actor_user_id: Some(principal.user_id),
            action: ChangeAction::Unmerged,
            source,
            changes: &changes,
            merged_contact_id: Some(survivor.id),
        },
    )
    .await?;
    super::notifications::readdress_pending(
        db,
        restored_id,
        restored.fields.email.as_ref(),
        restored.fields.mobile_phone.as_ref(),
    )
    .await?;
    if let (Some(email), Some(survivor_email)) = (&restored.fields.email, &survivor.fields.email)
        && email != survivor_email
    {
        outbox::enqueue_guest_changes(db, restored_id, &[survivor_email.as_str()], email.as_str())
            .await?;
    }
    outbox::enqueue(db, EventType::Restored, &restored, &changes, None).await?;
    outbox::enqueue_crm_change_behind(db, &restored, &[], &[], survivor.id).await?;
    Ok(restored)
}
