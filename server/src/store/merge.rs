//! `mergeContacts`: two records the caller picked become one, in one
//! transaction: the survivor takes the merged contact's non-empty values
//! (the domain's merge plan), the merged contact's history, aliases,
//! activities, meetings and notifications move to the survivor, its id
//! keeps resolving to the survivor, and the merge is recorded in the
//! history (`contact_writes::absorb`, which merges of every origin share).

use super::contact_writes::{self, MergePreview, SaveOutcome, require_merge_permission};
use super::contacts::{self, Lock};
use super::error::is_retryable;
use super::{Store, StoreError};
use crate::domain::merge_plan::{self, Choices};
use crate::domain::{Principal, Source, ValidationError};

pub struct MergeRequest {
    pub survivor_id: i64,
    pub merged_id: i64,
    pub confirm: bool,
    pub expected_survivor_version: Option<i32>,
    pub expected_merged_version: Option<i32>,
    pub source: Source,
    /// The sides chosen field by field (see `merge_plan::Choices`).
    pub choices: Choices,
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
    let plan = merge_plan::plan_with(&survivor.fields, &merged.fields, &request.choices);
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
    let saved =
        contact_writes::absorb(&*txn, principal, &merged, &survivor, &plan, request.source).await?;
    txn.commit().await?;
    Ok(SaveOutcome::Saved(saved))
}
