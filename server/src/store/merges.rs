//! Reversible merges (DESIGN.md sections 4 and 13). Every merge keeps what
//! it changed: the absorbed record as it was, the survivor's fields before
//! and after, and the ids of what moved; `store::unmerge` gives it back.
//! This module keeps and reads those records and writes no contact, so
//! `contact_writes` (which records merges here) and `unmerge` (which writes
//! through `contact_writes`) both use it without importing each other.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::contacts::{self, ContactRecord};
use super::entities::{
    activity, contact_alias, contact_change, delivery, meeting, merge, notification,
};
use super::integrations::DeliveryStatus;
use super::notifications::NotificationStatus;
use super::{StoreError, now_micros};
use crate::domain::field_policy::ContactField;
use crate::domain::merge_plan::{FieldMerge, MergeOutcome};
use crate::domain::{ContactFields, Email, Phone, Principal, Source};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredFields {
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
    pub(super) fn fields(&self) -> ContactFields {
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
pub(super) struct Absorbed {
    pub(super) fields: StoredFields,
    pub(super) owner_id: Option<i64>,
    pub(super) team_id: Option<i64>,
    pub(super) source: String,
    pub(super) created_at: i64,
    pub(super) version: i32,
}

/// The ids of what a merge moved from the absorbed record to the survivor.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Moved {
    pub(super) activities: Vec<i64>,
    pub(super) conflicting_activities: Vec<i64>,
    pub(super) meetings: Vec<i64>,
    pub(super) notifications: Vec<i64>,
    /// Of those, the ones the merge canceled (pending before it, the
    /// survivor had no address for their channel): the undo sends them
    /// again (merges kept before this have none).
    #[serde(default)]
    pub(super) canceled_notifications: Vec<i64>,
    pub(super) history: Vec<i64>,
    /// Ids merged into the absorbed record earlier, which followed it.
    pub(super) aliases: Vec<i64>,
    /// Its deliveries still pending, which joined the survivor's queue.
    pub(super) deliveries: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredFieldMerge {
    field: String,
    current: Option<String>,
    incoming: Option<String>,
    outcome: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Details {
    pub(super) absorbed: Option<Absorbed>,
    pub(super) survivor_before: StoredFields,
    pub(super) survivor_after: StoredFields,
    pub(super) fields: Vec<StoredFieldMerge>,
    pub(super) moved: Moved,
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

pub(super) fn corrupt(err: impl std::fmt::Display) -> StoreError {
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
pub(super) async fn ids_of<E: EntityTrait>(
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
    /// Whether `unmerge::undo` would take it, as far as merges go: not undone,
    /// the newest standing merge into its survivor, and the survivor not
    /// merged away since (`survivor_stands`). An identity taken since, a
    /// stale version or the caller's role may still refuse it.
    pub fn undoable(&self, newest: Option<NewestStanding>, survivor_stands: bool) -> bool {
        self.undone_at.is_none() && newest == Some(NewestStanding(self.id)) && survivor_stands
    }
}

/// Ids one statement names: a contact with many activities or history
/// entries moves them back in several, under SQLite's and PostgreSQL's
/// limits on bound values.
pub(super) const IDS_PER_STATEMENT: usize = 1000;
