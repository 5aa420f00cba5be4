//! Contacts: reading one, and the create, update and delete use-cases.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set,
};

use super::entities::contact;
use super::error::is_unique_violation;
use super::history::{self, ChangeAction};
use super::{Store, StoreError, now_micros, users};
use crate::domain::contact::Change;
use crate::domain::permissions::AssignmentRefused;
use crate::domain::{
    Access, ContactFields, ContactPatch, Email, FieldChange, Phone, Principal, Source,
};

/// A stored contact as the layers above see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    pub id: i64,
    pub fields: ContactFields,
    pub source: Source,
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    pub version: i32,
    pub created_at: i64,
    pub updated_at: i64,
}

impl TryFrom<contact::Model> for ContactRecord {
    type Error = StoreError;

    fn try_from(model: contact::Model) -> Result<Self, StoreError> {
        let source = model
            .source
            .parse()
            .map_err(|e: String| StoreError::Db(sea_orm::DbErr::Custom(e)))?;
        Ok(Self {
            id: model.id,
            fields: ContactFields {
                first_name: model.first_name,
                last_name: model.last_name,
                email: model.email.map(Email::from_trusted),
                mobile_phone: model.mobile_phone.map(Phone::from_trusted),
                company: model.company,
                job_title: model.job_title,
                timezone: model.timezone,
            },
            source,
            owner_id: model.owner_id,
            team_id: model.team_id,
            version: model.version,
            created_at: model.created_at,
            updated_at: model.updated_at,
        })
    }
}

/// The SQL form of [`Access`]: a contact is reachable when this holds.
pub fn access_condition(access: &Access) -> Condition {
    match access {
        Access::All => Condition::all(),
        Access::OwnedOrShared { user_id, team_ids } => {
            let mut any = Condition::any().add(contact::Column::OwnerId.eq(*user_id));
            if !team_ids.is_empty() {
                any = any.add(contact::Column::TeamId.is_in(team_ids.iter().copied()));
            }
            any
        }
    }
}

/// The contact with `id` if the caller can access it.
pub async fn find_accessible(
    db: &impl ConnectionTrait,
    access: &Access,
    id: i64,
) -> Result<Option<ContactRecord>, StoreError> {
    contact::Entity::find_by_id(id)
        .filter(access_condition(access))
        .one(db)
        .await?
        .map(ContactRecord::try_from)
        .transpose()
}

pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<ContactRecord>, StoreError> {
    contact::Entity::find()
        .filter(contact::Column::Email.eq(email.as_str()))
        .one(db)
        .await?
        .map(ContactRecord::try_from)
        .transpose()
}

pub async fn find_by_phone(
    db: &impl ConnectionTrait,
    phone: &Phone,
) -> Result<Option<ContactRecord>, StoreError> {
    contact::Entity::find()
        .filter(contact::Column::MobilePhone.eq(phone.as_str()))
        .one(db)
        .await?
        .map(ContactRecord::try_from)
        .transpose()
}

/// Refuses identities that `patch` sets and another contact holds. The
/// email is checked first, so a caller learns about one clash at a time.
async fn check_identities_free(
    db: &impl ConnectionTrait,
    principal: &Principal,
    patch: &ContactPatch,
    self_id: Option<i64>,
) -> Result<(), StoreError> {
    let mut holders = Vec::new();
    if let Some(email) = patch.email.set_value() {
        holders.push(("email", find_by_email(db, email).await?));
    }
    if let Some(phone) = patch.mobile_phone.set_value() {
        holders.push(("mobilePhone", find_by_phone(db, phone).await?));
    }
    for (field, holder) in holders {
        if let Some(holder) = holder.filter(|h| Some(h.id) != self_id) {
            return Err(StoreError::IdentityTaken {
                field,
                holder_accessible: principal.can_access(holder.owner_id, holder.team_id),
            });
        }
    }
    Ok(())
}

/// Who owns a contact and which team shares it, as an edit asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssignmentPatch {
    pub owner_id: Change<i64>,
    pub team_id: Change<i64>,
}

fn apply_change(change: &Change<i64>, current: Option<i64>) -> Option<i64> {
    match change {
        Change::Keep => current,
        Change::Clear => None,
        Change::Set(value) => Some(*value),
    }
}

async fn check_assignment(
    db: &impl ConnectionTrait,
    principal: &Principal,
    owner_id: Option<i64>,
    team_id: Option<i64>,
) -> Result<(), StoreError> {
    principal
        .check_assignment(owner_id, team_id)
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
    if let Some(owner_id) = owner_id
        && users::user_by_id(db, owner_id).await?.is_none()
    {
        return Err(crate::domain::ValidationError::new("ownerId", "no such user").into());
    }
    if let Some(team_id) = team_id
        && users::team_by_id(db, team_id).await?.is_none()
    {
        return Err(crate::domain::ValidationError::new("teamId", "no such team").into());
    }
    Ok(())
}

fn assignment_changes(
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

/// Turns a unique-index violation into the clash it stands for, by looking
/// up the holders again now that the competing write has committed.
async fn explain_unique_violation(
    store: &Store,
    principal: &Principal,
    patch: &ContactPatch,
    self_id: Option<i64>,
    err: sea_orm::DbErr,
) -> StoreError {
    if !is_unique_violation(&err) {
        return err.into();
    }
    match check_identities_free(store.db(), principal, patch, self_id).await {
        Err(clash) => clash,
        // The holder vanished again in between; the write still failed.
        Ok(()) => err.into(),
    }
}

pub struct NewContact {
    pub patch: ContactPatch,
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    pub source: Source,
}

pub async fn create(
    store: &Store,
    principal: &Principal,
    new: NewContact,
) -> Result<ContactRecord, StoreError> {
    if !principal.may_write_contacts() {
        return Err(StoreError::forbidden("this role cannot create contacts"));
    }
    let fields = ContactFields::default().patched(&new.patch)?;
    let owner_id = new.owner_id.or(match principal.role {
        crate::domain::Role::Integration => None,
        _ => Some(principal.user_id),
    });
    check_assignment(store.db(), principal, owner_id, new.team_id).await?;

    let txn = store.begin_write().await?;
    check_identities_free(&*txn, principal, &new.patch, None).await?;
    let now = now_micros();
    let inserted = contact::ActiveModel {
        first_name: Set(fields.first_name.clone()),
        last_name: Set(fields.last_name.clone()),
        email: Set(fields.email.as_ref().map(|e| e.as_str().to_owned())),
        mobile_phone: Set(fields.mobile_phone.as_ref().map(|p| p.as_str().to_owned())),
        company: Set(fields.company.clone()),
        job_title: Set(fields.job_title.clone()),
        timezone: Set(fields.timezone.clone()),
        source: Set(new.source.as_str().to_owned()),
        owner_id: Set(owner_id),
        team_id: Set(new.team_id),
        sort_name: Set(fields.sort_name()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&*txn)
    .await;
    let model = match inserted {
        Ok(model) => model,
        Err(err) => {
            drop(txn);
            return Err(explain_unique_violation(store, principal, &new.patch, None, err).await);
        }
    };
    let mut changes = fields.changes_since(&ContactFields::default());
    changes.extend(assignment_changes((None, None), (owner_id, new.team_id)));
    history::record(
        &*txn,
        model.id,
        Some(principal.user_id),
        ChangeAction::Created,
        new.source,
        &changes,
    )
    .await?;
    txn.commit().await?;
    ContactRecord::try_from(model)
}

pub struct ContactEdit {
    pub id: i64,
    pub patch: ContactPatch,
    pub assignment: AssignmentPatch,
    pub expected_version: Option<i32>,
    pub source: Source,
}

pub async fn update(
    store: &Store,
    principal: &Principal,
    edit: ContactEdit,
) -> Result<ContactRecord, StoreError> {
    if !principal.may_write_contacts() {
        return Err(StoreError::forbidden("this role cannot edit contacts"));
    }
    let txn = store.begin_write().await?;
    let current = find_accessible(&*txn, &principal.access(), edit.id)
        .await?
        .ok_or(StoreError::NotFound)?;
    if let Some(expected) = edit.expected_version
        && expected != current.version
    {
        return Err(StoreError::Conflict { expected });
    }
    let fields = current.fields.patched(&edit.patch)?;
    let owner_id = apply_change(&edit.assignment.owner_id, current.owner_id);
    let team_id = apply_change(&edit.assignment.team_id, current.team_id);
    if (owner_id, team_id) != (current.owner_id, current.team_id) {
        check_assignment(&*txn, principal, owner_id, team_id).await?;
    }
    check_identities_free(&*txn, principal, &edit.patch, Some(current.id)).await?;

    let mut changes = fields.changes_since(&current.fields);
    changes.extend(assignment_changes(
        (current.owner_id, current.team_id),
        (owner_id, team_id),
    ));
    if changes.is_empty() {
        return Ok(current);
    }
    let now = now_micros();
    let updated = contact::Entity::update_many()
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
        .exec(&*txn)
        .await;
    match updated {
        Ok(result) if result.rows_affected == 1 => {}
        // Another transaction bumped the version between our read and write.
        Ok(_) => {
            return Err(StoreError::Conflict {
                expected: edit.expected_version.unwrap_or(current.version),
            });
        }
        Err(err) => {
            drop(txn);
            return Err(explain_unique_violation(
                store,
                principal,
                &edit.patch,
                Some(current.id),
                err,
            )
            .await);
        }
    }
    history::record(
        &*txn,
        current.id,
        Some(principal.user_id),
        ChangeAction::Updated,
        edit.source,
        &changes,
    )
    .await?;
    txn.commit().await?;
    Ok(ContactRecord {
        fields,
        owner_id,
        team_id,
        version: current.version + 1,
        updated_at: now,
        ..current
    })
}

/// Removes the contact for good; its identity is free again at once.
pub async fn delete(store: &Store, principal: &Principal, id: i64) -> Result<i64, StoreError> {
    if !principal.may_delete_contacts() {
        return Err(StoreError::forbidden("this role cannot delete contacts"));
    }
    let txn = store.begin_write().await?;
    let result = contact::Entity::delete_many()
        .filter(contact::Column::Id.eq(id))
        .filter(access_condition(&principal.access()))
        .exec(&*txn)
        .await?;
    if result.rows_affected == 0 {
        return Err(StoreError::NotFound);
    }
    txn.commit().await?;
    Ok(id)
}
