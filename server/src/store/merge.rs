//! Merging two contacts into one, in one transaction: the survivor takes
//! the merged contact's non-empty values (the domain's merge plan), the
//! merged contact's history, aliases, activities, meetings and
//! notifications move to the survivor, its id keeps
//! resolving to the survivor, and the merge is recorded in the history.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::contacts::{self, ContactRecord, Lock};
use super::entities::{contact, contact_alias};
use super::error::is_retryable;
use super::history::{self, ChangeAction, Entry};
use super::outbox::{self, EventType};
use super::save::{SaveOutcome, identity_changed, write_fields};
use super::{Store, StoreError, notifications, now_micros};
use crate::domain::merge_plan::{self, FieldMerge, MergePlan};
use crate::domain::{Principal, Source, ValidationError};

/// What a confirmed merge would do, for the caller to confirm.
#[derive(Debug, Clone)]
pub struct MergePreview {
    pub survivor: ContactRecord,
    /// The record that would be absorbed; `None` when the incoming values
    /// come from a create, which has no record yet.
    pub merged: Option<ContactRecord>,
    pub fields: Vec<FieldMerge>,
}

/// A merge removes a record, so it takes the right to delete.
pub(super) fn require_merge_permission(principal: &Principal) -> Result<(), StoreError> {
    if principal.may_delete_contacts() {
        Ok(())
    } else {
        Err(StoreError::forbidden(
            "merging removes a record; only admins and members may merge",
        ))
    }
}

/// Writes the plan's result over the survivor and records it in history.
pub(super) async fn apply_to_survivor(
    db: &impl ConnectionTrait,
    principal: &Principal,
    survivor: &ContactRecord,
    plan: &MergePlan,
    source: Source,
    merged: Option<&ContactRecord>,
) -> Result<ContactRecord, StoreError> {
    let merged_id = merged.map(|m| m.id);
    let changes = plan.result.changes_since(&survivor.fields);
    if changes.is_empty() && merged_id.is_none() {
        return Ok(survivor.clone());
    }
    let now = now_micros();
    let assignment = (survivor.owner_id, survivor.team_id);
    write_fields(db, survivor, &plan.result, assignment, now).await?;
    // A merge also brings the absorbed contact's notifications, addressed
    // to its old identity: every pending one follows the survivor's.
    if merged_id.is_some() || identity_changed(&survivor.fields, &plan.result) {
        notifications::readdress_pending(
            db,
            survivor.id,
            plan.result.email.as_ref(),
            plan.result.mobile_phone.as_ref(),
        )
        .await?;
    }
    history::record(
        db,
        Entry {
            contact_id: survivor.id,
            actor_user_id: Some(principal.user_id),
            action: if merged_id.is_some() {
                ChangeAction::Merged
            } else {
                ChangeAction::Updated
            },
            source,
            changes: &changes,
            merged_contact_id: merged_id,
        },
    )
    .await?;
    let saved = ContactRecord {
        fields: plan.result.clone(),
        version: survivor.version + 1,
        updated_at: now,
        ..survivor.clone()
    };
    let event = if merged_id.is_some() {
        EventType::Merged
    } else {
        EventType::Updated
    };
    outbox::enqueue(db, event, &saved, &changes, merged_id).await?;
    // Calendar events of the survivor's (and the absorbed record's)
    // meetings invite the identities they had; they get the one that won.
    if let Some(new_email) = saved.fields.email.as_ref() {
        let old_emails: Vec<&str> = [Some(&survivor.fields), merged.map(|m| &m.fields)]
            .into_iter()
            .flatten()
            .filter_map(|f| f.email.as_ref())
            .filter(|e| *e != new_email)
            .map(|e| e.as_str())
            .collect();
        if !old_emails.is_empty() {
            outbox::enqueue_guest_changes(db, saved.id, &old_emails, new_email.as_str()).await?;
        }
    }
    // CRMs hear of the survivor whenever an identity moved: they find their
    // record by any identity either side had.
    if merged.is_some() || identity_changed(&survivor.fields, &saved.fields) {
        let sides = [Some(&survivor.fields), merged.map(|m| &m.fields)];
        let old_emails: Vec<&str> = sides
            .iter()
            .flatten()
            .filter_map(|f| f.email.as_ref().map(|e| e.as_str()))
            .collect();
        let old_phones: Vec<&str> = sides
            .iter()
            .flatten()
            .filter_map(|f| f.mobile_phone.as_ref().map(|p| p.as_str()))
            .collect();
        outbox::enqueue_crm_change(db, &saved, &old_emails, &old_phones).await?;
    }
    Ok(saved)
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
    // Everything that points at the merged record moves first, then the
    // record goes (freeing its identities), then the survivor takes them.
    history::move_to(db, merged.id, survivor.id).await?;
    super::activities::move_to(db, merged.id, survivor.id).await?;
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
    apply_to_survivor(db, principal, survivor, plan, source, Some(merged)).await
}

pub struct MergeRequest {
    pub survivor_id: i64,
    pub merged_id: i64,
    pub confirm: bool,
    pub expected_survivor_version: Option<i32>,
    pub expected_merged_version: Option<i32>,
    pub source: Source,
}

/// The explicit `mergeContacts`: two records the caller picked, both of
/// which they must be able to access.
pub async fn merge_contacts(
    store: &Store,
    principal: &Principal,
    request: MergeRequest,
) -> Result<SaveOutcome, StoreError> {
    require_merge_permission(principal)?;
    if request.survivor_id == request.merged_id {
        return Err(ValidationError::new("mergedId", "must differ from survivorId").into());
    }
    // PostgreSQL may abort one of two crossing merges as a deadlock; the
    // retry then sees the winner's result.
    let mut last = None;
    for _ in 0..3 {
        match merge_attempt(store, principal, &request).await {
            Err(StoreError::Db(err)) if is_retryable(&err) => last = Some(err),
            other => return other,
        }
    }
    Err(last.map_or(StoreError::NotFound, StoreError::Db))
}

async fn merge_attempt(
    store: &Store,
    principal: &Principal,
    request: &MergeRequest,
) -> Result<SaveOutcome, StoreError> {
    let txn = store.begin_write().await?;
    let access = principal.access();
    // Lock in id order so two merges of the same pair cannot deadlock.
    let mut ids = [request.survivor_id, request.merged_id];
    ids.sort_unstable();
    let mut found = Vec::with_capacity(2);
    for id in ids {
        found.push(contacts::find_accessible(&*txn, &access, id, Lock::ForUpdate).await?);
    }
    let pick = |id: i64| found.iter().flatten().find(|c| c.id == id).cloned();
    let survivor = pick(request.survivor_id).ok_or(StoreError::NotFound)?;
    let merged = pick(request.merged_id).ok_or(StoreError::NotFound)?;
    let plan = merge_plan::plan(&survivor.fields, &merged.fields);
    if !request.confirm {
        return Ok(SaveOutcome::NeedsMerge(MergePreview {
            survivor,
            merged: Some(merged),
            fields: plan.fields,
        }));
    }
    for (expected, record) in [
        (request.expected_survivor_version, &survivor),
        (request.expected_merged_version, &merged),
    ] {
        if let Some(expected) = expected
            && expected != record.version
        {
            return Err(StoreError::Conflict { expected });
        }
    }
    let saved = absorb(&*txn, principal, &merged, &survivor, &plan, request.source).await?;
    txn.commit().await?;
    Ok(SaveOutcome::Saved(saved))
}
