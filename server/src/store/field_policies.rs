//! Field policies as stored: only an admin's changes have rows; the rest is
//! `domain::field_policy`'s defaults. A change bumps the auth generation in
//! its transaction, so every process applies it on the next request.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::entities::field_policy;
use super::users::team_ids_of;
use super::{Store, StoreError, auth_generation, now_micros};
use crate::domain::field_policy::{ContactField, FieldAccess, FieldRights, check_policy};
use crate::domain::{Principal, Role, ValidationError};

fn parsed(model: &field_policy::Model) -> Result<(ContactField, FieldAccess), StoreError> {
    let corrupt = |e: String| StoreError::Db(sea_orm::DbErr::Custom(e));
    Ok((
        model.field.parse().map_err(corrupt)?,
        model.access.parse().map_err(corrupt)?,
    ))
}

/// What `role` may do with each field now.
pub async fn rights_of(db: &impl ConnectionTrait, role: Role) -> Result<FieldRights, StoreError> {
    let rows = field_policy::Entity::find()
        .filter(field_policy::Column::Role.eq(role.as_str()))
        .all(db)
        .await?;
    let policies = rows.iter().map(parsed).collect::<Result<Vec<_>, _>>()?;
    Ok(FieldRights::of(role, policies))
}

/// Every role's rights, in `Role::ALL`'s order.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<(Role, FieldRights)>, StoreError> {
    let rows = field_policy::Entity::find().all(db).await?;
    let mut by_role = Vec::with_capacity(Role::ALL.len());
    for role in Role::ALL {
        let policies = rows
            .iter()
            .filter(|row| row.role == role.as_str())
            .map(parsed)
            .collect::<Result<Vec<_>, _>>()?;
        by_role.push((role, FieldRights::of(role, policies)));
    }
    Ok(by_role)
}

/// The caller an import job acts as: the user who started it, as they are
/// now. A job outlives the request that queued it, so it asks again when
/// the auth generation moves: a user deactivated or removed since stops
/// it (FORBIDDEN), a changed role or policy applies from the next batch.
pub async fn principal_of_active(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Principal, StoreError> {
    let Some(user) = super::users::user_by_id(db, user_id).await? else {
        return Err(StoreError::forbidden(
            "the user who started the import is gone",
        ));
    };
    if !user.active {
        return Err(StoreError::forbidden(
            "the user who started the import was deactivated",
        ));
    }
    principal_of(db, user.id, user.role).await
}

/// The caller a user is, with their teams and their role's rights now.
pub async fn principal_of(
    db: &impl ConnectionTrait,
    user_id: i64,
    role: Role,
) -> Result<Principal, StoreError> {
    Ok(Principal {
        user_id,
        role,
        team_ids: team_ids_of(db, user_id).await?,
        fields: rights_of(db, role).await?,
    })
}

/// Sets what `role` may do with `field`, from the next request on.
/// Lowering ADMIN and giving a VIEWER WRITE are refused (VALIDATION on
/// `access`).
pub async fn set(
    store: &Store,
    role: Role,
    field: ContactField,
    access: FieldAccess,
) -> Result<FieldAccess, StoreError> {
    check_policy(role, access)
        .map_err(|refused| ValidationError::new("access", refused.message()))?;
    let txn = store.begin_write().await?;
    field_policy::Entity::insert(field_policy::ActiveModel {
        role: Set(role.as_str().to_owned()),
        field: Set(field.as_str().to_owned()),
        access: Set(access.as_str().to_owned()),
        updated_at: Set(now_micros()),
    })
    .on_conflict(
        OnConflict::columns([field_policy::Column::Role, field_policy::Column::Field])
            .update_columns([
                field_policy::Column::Access,
                field_policy::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(&*txn)
    .await?;
    auth_generation::bump(&*txn).await?;
    txn.commit().await?;
    Ok(access)
}
