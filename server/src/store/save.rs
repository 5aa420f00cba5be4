//! Creating and editing a contact. When the email or mobile phone being
//! saved belongs to another contact, the seed's Merge Contacts protocol
//! applies: a contact the caller cannot access refuses the save
//! (`CannotSaveContact`); an accessible one yields a merge preview, and
//! with confirmation the two become one. The writing itself, and what it
//! sets off, is `contact_writes`.

use sea_orm::ConnectionTrait;

use super::contact_writes::{self, MergePreview, NewVersion, SaveOutcome};
use super::contacts::{self, ContactRecord, Lock};
use super::error::is_retryable;
use super::{Store, StoreError, users};
use crate::domain::contact::Change;
use crate::domain::merge_plan::{self, Choices};
use crate::domain::permissions::AssignmentRefused;
use crate::domain::{ContactFields, ContactPatch, Principal, Source, ValidationError};

/// The caller's answer to a merge preview.
#[derive(Debug, Clone, Default)]
pub struct MergeConfirmation {
    pub confirm: bool,
    /// The survivor's version the caller saw in the preview; a different
    /// one means the preview is stale.
    pub expected_survivor_version: Option<i32>,
    /// The sides chosen field by field; the preview shows them and the
    /// confirm applies them.
    pub choices: Choices,
}

/// Who owns a contact and which team shares it, as an edit asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssignmentPatch {
    pub owner_id: Change<i64>,
    pub team_id: Change<i64>,
}

pub struct NewContact {
    pub patch: ContactPatch,
    pub assignment: AssignmentPatch,
    pub source: Source,
    pub merge: MergeConfirmation,
}

pub struct ContactEdit {
    pub id: i64,
    pub patch: ContactPatch,
    pub assignment: AssignmentPatch,
    pub expected_version: Option<i32>,
    pub source: Source,
    pub merge: MergeConfirmation,
}

/// A unique index may still refuse a write whose identities looked free, when
/// a concurrent transaction took one in between; one retry then sees it.
const ATTEMPTS: usize = 2;

fn apply_change(change: &Change<i64>, current: Option<i64>) -> Option<i64> {
    match change {
        Change::Keep => current,
        Change::Clear => None,
        Change::Set(value) => Some(*value),
    }
}

/// Checks a change of owner or team from `before` to `after`: only the
/// parts that change are the caller's to justify, and a member may not
/// hand a contact out of their own reach.
async fn check_assignment(
    db: &impl ConnectionTrait,
    principal: &Principal,
    before: (Option<i64>, Option<i64>),
    after: (Option<i64>, Option<i64>),
) -> Result<(), StoreError> {
    let owner = (after.0 != before.0).then_some(after.0).flatten();
    let team = (after.1 != before.1).then_some(after.1).flatten();
    principal
        .check_assignment(owner, team)
        .map_err(|refused| match refused {
            AssignmentRefused::OwnerNotSelf => StoreError::Forbidden {
                field: Some("ownerId"),
                reason: "members can only own contacts themselves",
            },
            AssignmentRefused::TeamNotJoined => StoreError::Forbidden {
                field: Some("teamId"),
                reason: "members can only share contacts with their own teams",
            },
        })?;
    if !principal.keeps_in_reach(after.0, after.1) {
        let field = if after.1 != before.1 {
            "teamId"
        } else {
            "ownerId"
        };
        return Err(StoreError::Forbidden {
            field: Some(field),
            reason: "the contact would be out of your reach; keep yourself as owner or share it with your team",
        });
    }
    if let Some(owner_id) = owner
        && users::user_by_id(db, owner_id).await?.is_none()
    {
        return Err(ValidationError::new("ownerId", "no such user").into());
    }
    if let Some(team_id) = team
        && users::team_by_id(db, team_id).await?.is_none()
    {
        return Err(ValidationError::new("teamId", "no such team").into());
    }
    Ok(())
}

/// The one other contact holding an identity that `patch` sets, locked for
/// the rest of the transaction. A holder the caller cannot access refuses
/// the save; two different holders (email one, phone another) are refused
/// too, since which one should survive is the caller's decision.
async fn identity_holder(
    db: &impl ConnectionTrait,
    principal: &Principal,
    patch: &ContactPatch,
    self_id: Option<i64>,
) -> Result<Option<ContactRecord>, StoreError> {
    let mut holders: Vec<(&'static str, ContactRecord)> = Vec::new();
    if let Some(email) = patch.email.set_value()
        && let Some(holder) = contacts::find_by_email(db, email, Lock::ForUpdate).await?
    {
        holders.push(("email", holder));
    }
    if let Some(phone) = patch.mobile_phone.set_value()
        && let Some(holder) = contacts::find_by_phone(db, phone, Lock::ForUpdate).await?
    {
        holders.push(("mobilePhone", holder));
    }
    holders.retain(|(_, holder)| Some(holder.id) != self_id);
    if let Some((field, _)) = holders
        .iter()
        .find(|(_, holder)| !principal.can_access(holder.owner_id, holder.team_id))
    {
        return Err(StoreError::CannotSaveContact { field });
    }
    match holders.as_slice() {
        [] => Ok(None),
        [(_, one)] => Ok(Some(one.clone())),
        [(_, a), (_, b)] if a.id == b.id => Ok(Some(a.clone())),
        _ => Err(ValidationError::new(
            "mobilePhone",
            "the email and the mobile phone belong to two different contacts; merge those two first",
        )
        .into()),
    }
}

fn check_survivor_version(
    survivor: &ContactRecord,
    merge: &MergeConfirmation,
) -> Result<(), StoreError> {
    match merge.expected_survivor_version {
        Some(expected) if expected != survivor.version => Err(StoreError::Conflict { expected }),
        _ => Ok(()),
    }
}

/// The field an identity clash after all retries is reported on: the
/// identity another contact holds now, looked up again (a broken unique
/// index says which one only in driver message text, worded differently by
/// each backend). The email if it is taken, else the phone.
async fn clash_field(
    db: &impl ConnectionTrait,
    patch: &ContactPatch,
    own_id: Option<i64>,
) -> Result<&'static str, StoreError> {
    if let Some(email) = patch.email.set_value()
        && let Some(holder) = contacts::find_by_email(db, email, Lock::None).await?
        && Some(holder.id) != own_id
    {
        return Ok("email");
    }
    Ok(if patch.mobile_phone.set_value().is_some() {
        "mobilePhone"
    } else {
        "email"
    })
}

pub async fn create(
    store: &Store,
    principal: &Principal,
    new: NewContact,
) -> Result<SaveOutcome, StoreError> {
    if !principal.may_write_contacts() {
        return Err(StoreError::forbidden("this role cannot create contacts"));
    }
    let fields = ContactFields::default().patched(&new.patch)?;
    let owner_id = match &new.assignment.owner_id {
        Change::Set(id) => Some(*id),
        _ => principal.default_owner(),
    };
    let team_id = apply_change(&new.assignment.team_id, None);
    check_assignment(store.db(), principal, (None, None), (owner_id, team_id)).await?;
    let assignment = (owner_id, team_id);
    for _ in 0..ATTEMPTS {
        match create_attempt(store, principal, &new, &fields, assignment).await {
            Err(StoreError::Db(err)) if is_retryable(&err) => continue,
            other => return other,
        }
    }
    Err(StoreError::IdentityTaken {
        field: clash_field(store.db(), &new.patch, None).await?,
    })
}

async fn create_attempt(
    store: &Store,
    principal: &Principal,
    new: &NewContact,
    fields: &ContactFields,
    (owner_id, team_id): (Option<i64>, Option<i64>),
) -> Result<SaveOutcome, StoreError> {
    let txn = store.begin_write().await?;
    if let Some(survivor) = identity_holder(&*txn, principal, &new.patch, None).await? {
        let plan = merge_plan::plan_with(&survivor.fields, fields, &new.merge.choices);
        if !new.merge.confirm {
            return Ok(SaveOutcome::NeedsMerge(MergePreview {
                survivor,
                merged: None,
                fields: plan.fields,
            }));
        }
        check_survivor_version(&survivor, &new.merge)?;
        let saved =
            contact_writes::merge_input(&*txn, principal, &survivor, &plan, new.source).await?;
        txn.commit().await?;
        return Ok(SaveOutcome::Saved(saved));
    }
    let created =
        contact_writes::insert_contact(&*txn, principal, fields, new.source, (owner_id, team_id))
            .await?;
    txn.commit().await?;
    Ok(SaveOutcome::Saved(created))
}

pub async fn update(
    store: &Store,
    principal: &Principal,
    edit: ContactEdit,
) -> Result<SaveOutcome, StoreError> {
    if !principal.may_write_contacts() {
        return Err(StoreError::forbidden("this role cannot edit contacts"));
    }
    for _ in 0..ATTEMPTS {
        match update_attempt(store, principal, &edit).await {
            Err(StoreError::Db(err)) if is_retryable(&err) => continue,
            other => return other,
        }
    }
    Err(StoreError::IdentityTaken {
        field: clash_field(store.db(), &edit.patch, Some(edit.id)).await?,
    })
}

async fn update_attempt(
    store: &Store,
    principal: &Principal,
    edit: &ContactEdit,
) -> Result<SaveOutcome, StoreError> {
    let txn = store.begin_write().await?;
    let current = contacts::find_accessible(&*txn, &principal.access(), edit.id, Lock::ForUpdate)
        .await?
        .ok_or(StoreError::NotFound)?;
    if let Some(expected) = edit.expected_version
        && expected != current.version
    {
        return Err(StoreError::Conflict { expected });
    }
    let fields = current.fields.patched(&edit.patch)?;
    let before = (current.owner_id, current.team_id);
    let after = (
        apply_change(&edit.assignment.owner_id, current.owner_id),
        apply_change(&edit.assignment.team_id, current.team_id),
    );
    if after != before {
        check_assignment(&*txn, principal, before, after).await?;
    }

    if let Some(survivor) = identity_holder(&*txn, principal, &edit.patch, Some(current.id)).await?
    {
        // Confirming would remove this record; a caller who may not remove
        // records is told so now rather than after reading a preview.
        contact_writes::require_merge_permission(principal)?;
        let plan = merge_plan::plan_with(&survivor.fields, &fields, &edit.merge.choices);
        if !edit.merge.confirm {
            return Ok(SaveOutcome::NeedsMerge(MergePreview {
                survivor,
                merged: Some(current),
                fields: plan.fields,
            }));
        }
        check_survivor_version(&survivor, &edit.merge)?;
        let saved =
            contact_writes::absorb(&*txn, principal, &current, &survivor, &plan, edit.source)
                .await?;
        txn.commit().await?;
        return Ok(SaveOutcome::Saved(saved));
    }

    let mut changes = fields.changes_since(&current.fields);
    changes.extend(contact_writes::assignment_changes(before, after));
    if changes.is_empty() {
        return Ok(SaveOutcome::Saved(current));
    }
    let version = NewVersion {
        current: &current,
        fields: &fields,
        assignment: after,
        changes,
        source: edit.source,
        merged: None,
        unmerged: None,
    };
    let updated = contact_writes::write_change(&*txn, principal, version).await?;
    txn.commit().await?;
    Ok(SaveOutcome::Saved(updated))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, Phone, PhoneRegion, Role, Source};

    fn patch(email: &str, phone: &str) -> ContactPatch {
        ContactPatch {
            email: Change::Set(Email::parse("email", email).unwrap()),
            mobile_phone: Change::Set(
                Phone::parse("mobilePhone", phone, PhoneRegion::default()).unwrap(),
            ),
            ..ContactPatch::default()
        }
    }

    /// After the retries, the field reported is the identity another
    /// contact holds, not the email just because one was typed.
    #[tokio::test]
    async fn a_clash_names_the_identity_that_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let (user, _) = users::create_user(&store, "ann", Role::Admin, None)
            .await
            .unwrap();
        let principal = crate::domain::Principal::with_defaults(user.id, Role::Admin, Vec::new());
        let held = NewContact {
            patch: patch("held@example.com", "+14155550100"),
            assignment: AssignmentPatch::default(),
            source: Source::Api,
            merge: MergeConfirmation::default(),
        };
        let SaveOutcome::Saved(holder) = create(&store, &principal, held).await.unwrap() else {
            panic!("created");
        };
        let phone_taken = patch("new@example.com", "+14155550100");
        assert_eq!(
            clash_field(store.db(), &phone_taken, None).await.unwrap(),
            "mobilePhone"
        );
        let email_taken = patch("held@example.com", "+14155550199");
        assert_eq!(
            clash_field(store.db(), &email_taken, None).await.unwrap(),
            "email"
        );
        // The contact's own email is no clash.
        assert_eq!(
            clash_field(store.db(), &email_taken, Some(holder.id))
                .await
                .unwrap(),
            "mobilePhone"
        );
    }
}
