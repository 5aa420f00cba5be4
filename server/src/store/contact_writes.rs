//! The one place a contact is written, and what writing it sets off. Every
//! use-case that changes a contact (create and update in `save`,
//! `mergeContacts` in `merge`, `activities`, each import path) writes
//! through here, so a rule of what a change sets off lives once:
//! [`write_change`] writes a new version of a contact with its history
//! entry and `contact.updated` or `contact.merged` event, and
//! [`after_identity_change`] what an email or phone that changed sets off
//! (pending reminders re-addressed, calendar guests, CRMs). A new connector
//! is added there, and nowhere else.
//!
//! Use-cases depend on this module and on the repositories below it
//! (`contacts`, `history`, `outbox`, `notifications`, `integrations`,
//! `users`), never on each other.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::contacts::{self, ContactRecord, Lock};
use super::entities::{activity, contact, contact_alias, meeting, notification};
use super::history::{self, ChangeAction, Entry};
use super::outbox::{self, EventType};
use super::{Store, StoreError, now_micros};
use crate::domain::merge_plan::{FieldMerge, MergePlan};
use crate::domain::{ContactFields, FieldChange, Principal, Source};

/// A save either happened or needs the caller to confirm a merge.
// A short-lived return value: boxing either variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum SaveOutcome {
    Saved(ContactRecord),
    NeedsMerge(MergePreview),
}

/// What a confirmed merge would do, for the caller to confirm.
#[derive(Debug, Clone)]
pub struct MergePreview {
    pub survivor: ContactRecord,
    /// The record that would be absorbed; `None` when the incoming values
    /// come from a create, which has no record yet.
    pub merged: Option<ContactRecord>,
    pub fields: Vec<FieldMerge>,
}

/// Refuses a caller who may not merge (`Principal::may_merge`).
pub(super) fn require_merge_permission(principal: &Principal) -> Result<(), StoreError> {
    if principal.may_merge() {
        Ok(())
    } else {
        Err(StoreError::forbidden(
            "merging removes a record; only admins and members may merge",
        ))
    }
}

pub(super) fn assignment_changes(
    before: (Option<i64>, Option<i64>),
    after: (Option<i64>, Option<i64>),
) -> Vec<FieldChange> {
    let describe = |v: Option<i64>| v.map(|id| id.to_string());
    [
        ("ownerId", before.0, after.0),
        ("teamId", before.1, after.1),
    ]
    .into_iter()
    .filter(|(_, old, new)| old != new)
    .map(|(field, old, new)| FieldChange {
        field,
        before: describe(old),
        after: describe(new),
    })
    .collect()
}

/// The row of a new contact, at version 1.
pub(super) fn new_contact_model(
    fields: &ContactFields,
    source: Source,
    (owner_id, team_id): (Option<i64>, Option<i64>),
    now: i64,
) -> contact::ActiveModel {
    contact::ActiveModel {
        first_name: Set(fields.first_name.clone()),
        last_name: Set(fields.last_name.clone()),
        email: Set(fields.email.as_ref().map(|e| e.as_str().to_owned())),
        mobile_phone: Set(fields.mobile_phone.as_ref().map(|p| p.as_str().to_owned())),
        company: Set(fields.company.clone()),
        job_title: Set(fields.job_title.clone()),
        timezone: Set(fields.timezone.clone()),
        source: Set(source.as_str().to_owned()),
        owner_id: Set(owner_id),
        team_id: Set(team_id),
        sort_name: Set(fields.sort_name()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Inserts a new contact, its CREATED history entry and its
/// `contact.created` event.
pub(super) async fn insert_contact(
    db: &impl ConnectionTrait,
    principal: &Principal,
    fields: &ContactFields,
    source: Source,
    (owner_id, team_id): (Option<i64>, Option<i64>),
) -> Result<ContactRecord, StoreError> {
    let model = new_contact_model(fields, source, (owner_id, team_id), now_micros())
        .insert(db)
        .await?;
    let mut changes = fields.changes_since(&ContactFields::default());
    changes.extend(assignment_changes((None, None), (owner_id, team_id)));
    history::record(
        db,
        Entry {
            contact_id: model.id,
            actor_user_id: Some(principal.user_id),
            action: ChangeAction::Created,
            source,
            changes: &changes,
            merged_contact_id: None,
        },
    )
    .await?;
    let created = ContactRecord::try_from(model)?;
    outbox::enqueue(db, EventType::Created, &created, &changes, None).await?;
    Ok(created)
}

/// A new version of a contact: its fields and assignment, the changes
/// they make (for history and events), and, in a merge, the record being
/// absorbed.
pub(super) struct NewVersion<'a> {
    pub current: &'a ContactRecord,
    pub fields: &'a ContactFields,
    pub assignment: (Option<i64>, Option<i64>),
    pub changes: Vec<FieldChange>,
    pub source: Source,
    pub merged: Option<&'a ContactRecord>,
    /// When the version undoes a merge: the contact given back (the
    /// survivor itself for a merge of an input).
    pub unmerged: Option<i64>,
}

/// Writes `version` over its contact at the version read (`Conflict` when
/// the row moved on), records it in the history, enqueues its event and
/// sets off what its identities' change sets off.
pub(super) async fn write_change(
    db: &impl ConnectionTrait,
    principal: &Principal,
    version: NewVersion<'_>,
) -> Result<ContactRecord, StoreError> {
    let NewVersion {
        current,
        fields,
        assignment,
        changes,
        source,
        merged,
        unmerged,
    } = version;
    let merged_id = merged.map(|m| m.id);
    let now = now_micros();
    write_fields(db, current, fields, assignment, now).await?;
    history::record(
        db,
        Entry {
            contact_id: current.id,
            actor_user_id: Some(principal.user_id),
            action: match (merged_id, unmerged) {
                (Some(_), _) => ChangeAction::Merged,
                (None, Some(_)) => ChangeAction::Unmerged,
                (None, None) => ChangeAction::Updated,
            },
            source,
            changes: &changes,
            merged_contact_id: merged_id.or(unmerged),
        },
    )
    .await?;
    let saved = ContactRecord {
        fields: fields.clone(),
        owner_id: assignment.0,
        team_id: assignment.1,
        version: current.version + 1,
        updated_at: now,
        ..current.clone()
    };
    let event = if merged_id.is_some() {
        EventType::Merged
    } else {
        EventType::Updated
    };
    outbox::enqueue(db, event, &saved, &changes, merged_id).await?;
    let before: Vec<&ContactFields> = [Some(&current.fields), merged.map(|m| &m.fields)]
        .into_iter()
        .flatten()
        .collect();
    after_identity_change(db, &before, &saved).await?;
    Ok(saved)
}

/// What a contact's email or mobile phone changing sets off, in the
/// transaction of the change: `before` holds the identities it had (in a
/// merge, the absorbed record's too). Nothing when none moved.
/// - Pending reminders of its meetings go to the identities it has now
///   (sent ones are history).
/// - Calendar events of its future meetings invite the new email in place
///   of the old ones (Google and Microsoft only).
/// - Connected CRMs find their record by any old identity and update it.
async fn after_identity_change(
    db: &impl ConnectionTrait,
    before: &[&ContactFields],
    saved: &ContactRecord,
) -> Result<(), StoreError> {
    let absorbed = before.len() > 1;
    if !absorbed
        && before
            .iter()
            .all(|fields| !identity_changed(fields, &saved.fields))
    {
        return Ok(());
    }
    // A merge also brings the absorbed contact's notifications, addressed
    // to its old identity: every pending one follows the survivor's.
    super::notifications::readdress_pending(
        db,
        saved.id,
        saved.fields.email.as_ref(),
        saved.fields.mobile_phone.as_ref(),
    )
    .await?;
    if let Some(new_email) = saved.fields.email.as_ref() {
        let old_emails: Vec<&str> = before
            .iter()
            .filter_map(|fields| fields.email.as_ref())
            .filter(|email| *email != new_email)
            .map(|email| email.as_str())
            .collect();
        if !old_emails.is_empty() {
            outbox::enqueue_guest_changes(db, saved.id, &old_emails, new_email.as_str()).await?;
        }
    }
    let old_emails: Vec<&str> = before
        .iter()
        .filter_map(|fields| fields.email.as_ref().map(|e| e.as_str()))
        .collect();
    let old_phones: Vec<&str> = before
        .iter()
        .filter_map(|fields| fields.mobile_phone.as_ref().map(|p| p.as_str()))
        .collect();
    outbox::enqueue_crm_change(db, saved, &old_emails, &old_phones).await
}

fn identity_changed(before: &ContactFields, after: &ContactFields) -> bool {
    before.email != after.email || before.mobile_phone != after.mobile_phone
}

/// Writes `fields` and the assignment over `current`, bumping its version;
/// refuses with `Conflict` when the row is no longer at `current.version`.
pub(super) async fn write_fields(
    db: &impl ConnectionTrait,
    current: &ContactRecord,
    fields: &ContactFields,
    (owner_id, team_id): (Option<i64>, Option<i64>),
    now: i64,
) -> Result<(), StoreError> {
    let result = contact::Entity::update_many()
        .col_expr(
            contact::Column::FirstName,
            Expr::value(fields.first_name.clone()),
        )
        .col_expr(
            contact::Column::LastName,
            Expr::value(fields.last_name.clone()),
        )
        .col_expr(
            contact::Column::Email,
            Expr::value(fields.email.as_ref().map(|e| e.as_str().to_owned())),
        )
        .col_expr(
            contact::Column::MobilePhone,
            Expr::value(fields.mobile_phone.as_ref().map(|p| p.as_str().to_owned())),
        )
        .col_expr(
            contact::Column::Company,
            Expr::value(fields.company.clone()),
        )
        .col_expr(
            contact::Column::JobTitle,
            Expr::value(fields.job_title.clone()),
        )
        .col_expr(
            contact::Column::Timezone,
            Expr::value(fields.timezone.clone()),
        )
        .col_expr(contact::Column::OwnerId, Expr::value(owner_id))
        .col_expr(contact::Column::TeamId, Expr::value(team_id))
        .col_expr(contact::Column::SortName, Expr::value(fields.sort_name()))
        .col_expr(contact::Column::Version, Expr::value(current.version + 1))
        .col_expr(contact::Column::UpdatedAt, Expr::value(now))
        .filter(contact::Column::Id.eq(current.id))
        .filter(contact::Column::Version.eq(current.version))
        .exec(db)
        .await?;
    if result.rows_affected == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            expected: current.version,
        })
    }
}

/// Writes the plan's result over the survivor, as an edit, or as a merge
/// when `merged` is the record being absorbed (see [`absorb`]).
pub(super) async fn apply_to_survivor(
    db: &impl ConnectionTrait,
    principal: &Principal,
    survivor: &ContactRecord,
    plan: &MergePlan,
    source: Source,
    merged: Option<&ContactRecord>,
) -> Result<ContactRecord, StoreError> {
    let changes = plan.result.changes_since(&survivor.fields);
    if changes.is_empty() && merged.is_none() {
        return Ok(survivor.clone());
    }
    let version = NewVersion {
        current: survivor,
        fields: &plan.result,
        assignment: (survivor.owner_id, survivor.team_id),
        changes,
        source,
        merged,
        unmerged: None,
    };
    write_change(db, principal, version).await
}

/// Absorbs `merged` into `survivor`. Both rows must be locked by the
/// caller's transaction and read at their current versions.
pub(super) async fn absorb(
    db: &impl ConnectionTrait,
    principal: &Principal,
    merged: &ContactRecord,
    survivor: &ContactRecord,
    plan: &MergePlan,
    source: Source,
) -> Result<ContactRecord, StoreError> {
    require_merge_permission(principal)?;
    if let Some(field) = plan.unwritable_change(&principal.fields) {
        return Err(StoreError::unwritable(&principal.fields, field, "merge"));
    }
    let mut moved = super::merges::what_moves(db, merged.id).await?;
    // Everything that points at the merged record moves first, then the
    // record goes (freeing its identities), then the survivor takes them.
    history::move_to(db, merged.id, survivor.id).await?;
    move_rows(db, merged.id, survivor.id).await?;
    // Pending deliveries of the absorbed record join the survivor's queue;
    // their lower ids keep them ahead of the merge's own events.
    super::integrations::move_pending(db, merged.id, survivor.id).await?;
    contact_alias::Entity::update_many()
        .col_expr(contact_alias::Column::SurvivorId, Expr::value(survivor.id))
        .filter(contact_alias::Column::SurvivorId.eq(merged.id))
        .exec(db)
        .await?;
    contact_alias::ActiveModel {
        merged_id: Set(merged.id),
        survivor_id: Set(survivor.id),
        created_at: Set(now_micros()),
    }
    .insert(db)
    .await?;
    let deleted = contact::Entity::delete_many()
        .filter(contact::Column::Id.eq(merged.id))
        .filter(contact::Column::Version.eq(merged.version))
        .exec(db)
        .await?;
    if deleted.rows_affected != 1 {
        return Err(StoreError::Conflict {
            expected: merged.version,
        });
    }
    let saved = apply_to_survivor(db, principal, survivor, plan, source, Some(merged)).await?;
    super::merges::note_canceled(db, &mut moved).await?;
    super::merges::keep(
        db,
        principal,
        super::merges::Done {
            before: survivor,
            after: &saved,
            absorbed: Some(merged),
            fields: &plan.fields,
            moved,
            source,
        },
    )
    .await?;
    Ok(saved)
}

/// A merge of input values into `survivor`, the contact holding their
/// identity: a confirmed `createContact`, an activity, an imported row.
/// Written as an edit, and kept as a merge that can be undone when it
/// changed something.
pub(super) async fn merge_input(
    db: &impl ConnectionTrait,
    principal: &Principal,
    survivor: &ContactRecord,
    plan: &MergePlan,
    source: Source,
) -> Result<ContactRecord, StoreError> {
    let saved = apply_to_survivor(db, principal, survivor, plan, source, None).await?;
    if saved.version != survivor.version {
        super::merges::keep(
            db,
            principal,
            super::merges::Done {
                before: survivor,
                after: &saved,
                absorbed: None,
                fields: &plan.fields,
                moved: super::merges::Moved::default(),
                source,
            },
        )
        .await?;
    }
    Ok(saved)
}

/// Everything of a merged contact's activities, meetings and notifications
/// becomes the survivor's.
async fn move_rows(db: &impl ConnectionTrait, from: i64, to: i64) -> Result<(), StoreError> {
    activity::Entity::update_many()
        .col_expr(activity::Column::ContactId, Expr::value(to))
        .filter(activity::Column::ContactId.eq(from))
        .exec(db)
        .await?;
    activity::Entity::update_many()
        .col_expr(activity::Column::ConflictingContactId, Expr::value(to))
        .filter(activity::Column::ConflictingContactId.eq(from))
        .exec(db)
        .await?;
    meeting::Entity::update_many()
        .col_expr(meeting::Column::ContactId, Expr::value(to))
        .filter(meeting::Column::ContactId.eq(from))
        .exec(db)
        .await?;
    notification::Entity::update_many()
        .col_expr(notification::Column::ContactId, Expr::value(to))
        .filter(notification::Column::ContactId.eq(from))
        .exec(db)
        .await?;
    Ok(())
}

/// Removes the contact for good; its identity is free again at once.
/// Activities, meetings and notifications keep their rows (the link is
/// cleared by the schema); subscribers hear `contact.deleted`.
pub async fn delete(store: &Store, principal: &Principal, id: i64) -> Result<i64, StoreError> {
    if !principal.may_delete_contacts() {
        return Err(StoreError::forbidden("this role cannot delete contacts"));
    }
    let txn = store.begin_write().await?;
    let record = contacts::find_accessible(&*txn, &principal.access(), id, Lock::ForUpdate)
        .await?
        .ok_or(StoreError::NotFound)?;
    // Before the row: its aliases, which go with it, name what to forget.
    super::merges::forget(&*txn, record.id).await?;
    contact::Entity::delete_by_id(record.id).exec(&*txn).await?;
    outbox::enqueue(&*txn, EventType::Deleted, &record, &[], None).await?;
    txn.commit().await?;
    Ok(id)
}
