//! Users and teams. A change to a user's role, teams or activity bumps the
//! auth generation (`auth_generation::bump`) in its transaction, so it
//! applies on the next request.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::entities::{team, team_member, user};
use super::error::is_unique_violation;
use super::tokens::{self, ApiToken};
use super::{Store, StoreError, auth_generation, now_micros};
use crate::domain::{Role, ValidationError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: i64,
    pub name: String,
}

fn to_user(model: user::Model) -> Result<User, StoreError> {
    let role = model
        .role
        .parse()
        .map_err(|e: String| StoreError::Db(sea_orm::DbErr::Custom(e)))?;
    Ok(User {
        id: model.id,
        name: model.name,
        role,
        active: model.active,
        created_at: model.created_at,
    })
}

fn name_value(field: &'static str, raw: &str) -> Result<String, ValidationError> {
    crate::domain::validation::text(field, raw, 100)?
        .ok_or_else(|| ValidationError::new(field, "must not be empty"))
}

pub async fn create_team(store: &Store, name: &str) -> Result<Team, StoreError> {
    let name = name_value("name", name)?;
    let txn = store.begin_write().await?;
    let inserted = team::ActiveModel {
        name: Set(name),
        created_at: Set(now_micros()),
        ..Default::default()
    }
    .insert(&*txn)
    .await;
    let model = match inserted {
        Ok(model) => model,
        Err(err) if is_unique_violation(&err) => {
            return Err(ValidationError::new("name", "a team with this name exists").into());
        }
        Err(err) => return Err(err.into()),
    };
    txn.commit().await?;
    Ok(Team {
        id: model.id,
        name: model.name,
    })
}

/// Creates a user, optionally in a team named by name (the command line's
/// way), and returns it with its first API token, the only time the token
/// is ever visible.
pub async fn create_user(
    store: &Store,
    name: &str,
    role: Role,
    team_name: Option<&str>,
) -> Result<(User, String), StoreError> {
    let team_ids = match team_name {
        Some(team_name) => vec![
            team::Entity::find()
                .filter(team::Column::Name.eq(team_name.trim()))
                .one(store.db())
                .await?
                .ok_or_else(|| ValidationError::new("team", "no team has this name"))?
                .id,
        ],
        None => Vec::new(),
    };
    let (user, _, token) = create_user_in(store, name, role, &team_ids).await?;
    Ok((user, token))
}

/// Creates a user in the teams given, with a first token (returned once).
pub async fn create_user_in(
    store: &Store,
    name: &str,
    role: Role,
    team_ids: &[i64],
) -> Result<(User, ApiToken, String), StoreError> {
    let name = name_value("name", name)?;
    let txn = store.begin_write().await?;
    check_teams(&*txn, "teamIds", team_ids).await?;
    let inserted = user::ActiveModel {
        name: Set(name),
        role: Set(role.as_str().to_owned()),
        created_at: Set(now_micros()),
        active: Set(true),
        ..Default::default()
    }
    .insert(&*txn)
    .await;
    let model = match inserted {
        Ok(model) => model,
        Err(err) if is_unique_violation(&err) => {
            return Err(ValidationError::new("name", "a user with this name exists").into());
        }
        Err(err) => return Err(err.into()),
    };
    set_teams(&*txn, model.id, team_ids).await?;
    let (token, secret) = tokens::issue(&*txn, model.id, Some("first token"), None).await?;
    txn.commit().await?;
    Ok((to_user(model)?, token, secret))
}

/// What an admin may change of a user; `None` leaves it as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub team_ids: Option<Vec<i64>>,
    pub active: Option<bool>,
}

/// Changes a user. A change of role, teams or activity applies from the
/// next request on. The last active admin cannot be demoted or
/// deactivated: nobody could administer the server afterwards.
pub async fn update_user(store: &Store, id: i64, patch: UserPatch) -> Result<User, StoreError> {
    let txn = store.begin_write().await?;
    let found = user::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let current = to_user(found.clone())?;
    let stays_admin =
        patch.role.unwrap_or(current.role) == Role::Admin && patch.active.unwrap_or(current.active);
    if current.role == Role::Admin && current.active && !stays_admin {
        // Locked on PostgreSQL, so two admins demoting each other at once
        // cannot both see the other still standing (SQLite's write
        // transactions are one at a time already): the second, once the
        // first commits, reads one admin left.
        let mut admins = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::Role.eq(Role::Admin.as_str()))
            .filter(user::Column::Active.eq(true));
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            admins = admins.lock_exclusive();
        }
        let admins: Vec<i64> = admins.into_tuple().all(&*txn).await?;
        if admins.len() <= 1 {
            let field = if patch.active == Some(false) {
                "active"
            } else {
                "role"
            };
            return Err(ValidationError::new(
                field,
                "this is the last active admin; make another user admin first",
            )
            .into());
        }
    }
    let mut active: user::ActiveModel = found.into();
    if let Some(name) = &patch.name {
        active.name = Set(name_value("name", name)?);
    }
    if let Some(role) = patch.role {
        active.role = Set(role.as_str().to_owned());
    }
    if let Some(is_active) = patch.active {
        active.active = Set(is_active);
    }
    let model = match active.update(&*txn).await {
        Ok(model) => model,
        Err(err) if is_unique_violation(&err) => {
            return Err(ValidationError::new("name", "a user with this name exists").into());
        }
        Err(err) => return Err(err.into()),
    };
    if let Some(team_ids) = &patch.team_ids {
        check_teams(&*txn, "teamIds", team_ids).await?;
        team_member::Entity::delete_many()
            .filter(team_member::Column::UserId.eq(id))
            .exec(&*txn)
            .await?;
        set_teams(&*txn, id, team_ids).await?;
    }
    if patch.role.is_some() || patch.team_ids.is_some() || patch.active.is_some() {
        auth_generation::bump(&*txn).await?;
    }
    txn.commit().await?;
    to_user(model)
}

/// Teams named more than once count once (the API and the command line
/// both pass what they were given).
async fn check_teams(
    db: &impl ConnectionTrait,
    field: &'static str,
    team_ids: &[i64],
) -> Result<(), StoreError> {
    let distinct: std::collections::BTreeSet<i64> = team_ids.iter().copied().collect();
    let found = team::Entity::find()
        .filter(team::Column::Id.is_in(distinct.iter().copied()))
        .count(db)
        .await?;
    if found != distinct.len() as u64 {
        return Err(ValidationError::new(field, "names a team that does not exist").into());
    }
    Ok(())
}

async fn set_teams(
    db: &impl ConnectionTrait,
    user_id: i64,
    team_ids: &[i64],
) -> Result<(), StoreError> {
    let distinct: std::collections::BTreeSet<i64> = team_ids.iter().copied().collect();
    for team_id in distinct {
        team_member::ActiveModel {
            team_id: Set(team_id),
            user_id: Set(user_id),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Which users a list shows.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Inside the name, case-insensitively.
    pub search: Option<String>,
    pub role: Option<Role>,
    pub team_id: Option<i64>,
    pub active: Option<bool>,
}

fn user_condition(filter: &UserFilter) -> Condition {
    let mut condition = Condition::all();
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let escaped = search
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        condition = condition.add(
            Expr::expr(Func::lower(Expr::col((user::Entity, user::Column::Name))))
                .like(sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\')),
        );
    }
    if let Some(role) = filter.role {
        condition = condition.add(user::Column::Role.eq(role.as_str()));
    }
    if let Some(active) = filter.active {
        condition = condition.add(user::Column::Active.eq(active));
    }
    if let Some(team_id) = filter.team_id {
        condition = condition.add(
            user::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(team_member::Column::UserId)
                    .from(team_member::Entity)
                    .and_where(team_member::Column::TeamId.eq(team_id))
                    .to_owned(),
            ),
        );
    }
    condition
}

/// The rows after `(name, id)` in the order of name, then id: where the
/// previous page of users or teams ended.
fn after_name<C: ColumnTrait>(name: C, id: C, (after_name, after_id): (String, i64)) -> Condition {
    Condition::any().add(name.gt(after_name.clone())).add(
        Condition::all()
            .add(name.eq(after_name))
            .add(id.gt(after_id)),
    )
}

/// Users by name, A to Z, after the user `after` (by name, then id).
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &UserFilter,
    after: Option<(String, i64)>,
    limit: u64,
) -> Result<Vec<User>, StoreError> {
    let mut query = user::Entity::find()
        .filter(user_condition(filter))
        .order_by(user::Column::Name, Order::Asc)
        .order_by(user::Column::Id, Order::Asc)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(after_name(user::Column::Name, user::Column::Id, after));
    }
    query.all(db).await?.into_iter().map(to_user).collect()
}

pub async fn count(db: &impl ConnectionTrait, filter: &UserFilter) -> Result<u64, StoreError> {
    Ok(user::Entity::find()
        .filter(user_condition(filter))
        .count(db)
        .await?)
}

/// Teams by name, A to Z, after the team `after`; only `only` when given.
pub async fn list_teams(
    db: &impl ConnectionTrait,
    only: Option<&[i64]>,
    after: Option<(String, i64)>,
    limit: u64,
) -> Result<Vec<Team>, StoreError> {
    let mut query = team::Entity::find()
        .order_by(team::Column::Name, Order::Asc)
        .order_by(team::Column::Id, Order::Asc)
        .limit(limit);
    if let Some(only) = only {
        query = query.filter(team::Column::Id.is_in(only.iter().copied()));
    }
    if let Some(after) = after {
        query = query.filter(after_name(team::Column::Name, team::Column::Id, after));
    }
    Ok(query
        .all(db)
        .await?
        .into_iter()
        .map(|model| Team {
            id: model.id,
            name: model.name,
        })
        .collect())
}

pub async fn count_teams(
    db: &impl ConnectionTrait,
    only: Option<&[i64]>,
) -> Result<u64, StoreError> {
    let mut query = team::Entity::find();
    if let Some(only) = only {
        query = query.filter(team::Column::Id.is_in(only.iter().copied()));
    }
    Ok(query.count(db).await?)
}

/// The teams of one user, as a batch of users reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamIds(pub Vec<i64>);

/// The teams of each of these users (users in none are left out); one
/// query for a page of users.
pub async fn team_ids_of_users(
    db: &impl ConnectionTrait,
    user_ids: &[i64],
) -> Result<HashMap<i64, TeamIds>, StoreError> {
    let rows = team_member::Entity::find()
        .select_only()
        .column(team_member::Column::UserId)
        .column(team_member::Column::TeamId)
        .filter(team_member::Column::UserId.is_in(user_ids.iter().copied()))
        .order_by_asc(team_member::Column::TeamId)
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?;
    let mut by_user: HashMap<i64, TeamIds> = HashMap::new();
    for (user_id, team_id) in rows {
        by_user.entry(user_id).or_default().0.push(team_id);
    }
    Ok(by_user)
}

pub async fn team_ids_of(db: &impl ConnectionTrait, user_id: i64) -> Result<Vec<i64>, StoreError> {
    Ok(team_member::Entity::find()
        .select_only()
        .column(team_member::Column::TeamId)
        .filter(team_member::Column::UserId.eq(user_id))
        .order_by_asc(team_member::Column::TeamId)
        .into_tuple::<i64>()
        .all(db)
        .await?)
}

pub async fn user_by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<User>, StoreError> {
    user::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(to_user)
        .transpose()
}

/// The users with these ids; one query for many.
pub async fn users_by_ids(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, User>, StoreError> {
    user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|model| to_user(model).map(|user| (user.id, user)))
        .collect()
}

pub async fn team_by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<Team>, StoreError> {
    Ok(team::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|model| Team {
            id: model.id,
            name: model.name,
        }))
}

pub async fn teams_by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<Team>, StoreError> {
    Ok(team::Entity::find()
        .filter(team::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(team::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|model| Team {
            id: model.id,
            name: model.name,
        })
        .collect())
}

pub async fn team_by_name(
    db: &impl ConnectionTrait,
    name: &str,
) -> Result<Option<Team>, StoreError> {
    Ok(team::Entity::find()
        .filter(team::Column::Name.eq(name.trim()))
        .one(db)
        .await?
        .map(|model| Team {
            id: model.id,
            name: model.name,
        }))
}

pub async fn user_by_name(
    db: &impl ConnectionTrait,
    name: &str,
) -> Result<Option<User>, StoreError> {
    user::Entity::find()
        .filter(user::Column::Name.eq(name.trim()))
        .one(db)
        .await?
        .map(to_user)
        .transpose()
}
