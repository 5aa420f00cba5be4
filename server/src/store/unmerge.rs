//! Undoing a merge (DESIGN.md section 13): in one transaction the absorbed
//! record comes back under its own id with what moved, and the survivor's
//! fields the merge filled or overwrote go back, except those edited since
//! (`domain::merge_plan::unmerge` decides which). The records it reads are
//! `store::merges`'; the contact writes go through `contact_writes`.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::contact_writes::{self, NewVersion, require_merge_permission};
use super::contacts::{self, ContactRecord, Lock};
use super::entities::{
    activity, contact, contact_alias, contact_change, delivery, meeting, merge, notification,
};
use super::error::is_retryable;
use super::history::{self, ChangeAction, Entry};
use super::integrations::DeliveryStatus;
use super::merges::{Details, IDS_PER_STATEMENT, Moved, NewestStanding, corrupt, newest_standing};
use super::outbox::{self, EventType};
use super::{Store, StoreError, now_micros};
use crate::domain::global_id::{self, Kind};
use crate::domain::merge_plan;
use crate::domain::{ContactFields, Principal, Source};

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
