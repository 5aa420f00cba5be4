//! Users, teams and API tokens. Tokens are random 256-bit secrets; only
//! their SHA-256 is stored, which is enough for secrets of that entropy and
//! keeps the per-request lookup a single indexed read.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use sha2::{Digest, Sha256};

use super::entities::{api_token, team, team_member, user};
use super::error::is_unique_violation;
use super::{Store, StoreError, now_micros};
use crate::domain::{Principal, Role, ValidationError};

const TOKEN_PREFIX: &str = "ctk_";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
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
        created_at: model.created_at,
    })
}

fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
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

/// Creates a user, optionally in a team, and returns it with its first API
/// token, the only time the token is ever visible.
pub async fn create_user(
    store: &Store,
    name: &str,
    role: Role,
    team_name: Option<&str>,
) -> Result<(User, String), StoreError> {
    let name = name_value("name", name)?;
    let txn = store.begin_write().await?;
    let team = match team_name {
        Some(team_name) => Some(
            team::Entity::find()
                .filter(team::Column::Name.eq(team_name.trim()))
                .one(&*txn)
                .await?
                .ok_or_else(|| ValidationError::new("team", "no team has this name"))?,
        ),
        None => None,
    };
    let inserted = user::ActiveModel {
        name: Set(name),
        role: Set(role.as_str().to_owned()),
        created_at: Set(now_micros()),
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
    if let Some(team) = team {
        team_member::ActiveModel {
            team_id: Set(team.id),
            user_id: Set(model.id),
        }
        .insert(&*txn)
        .await?;
    }
    let token = issue_token(&*txn, model.id).await?;
    txn.commit().await?;
    Ok((to_user(model)?, token))
}

async fn issue_token(db: &impl ConnectionTrait, user_id: i64) -> Result<String, StoreError> {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    api_token::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(hash_token(&token)),
        created_at: Set(now_micros()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// The caller a bearer token stands for, or `None` for an unknown token.
pub async fn principal_for_token(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<Option<Principal>, StoreError> {
    let found = api_token::Entity::find()
        .select_only()
        .column(api_token::Column::UserId)
        .column_as(Expr::col((user::Entity, user::Column::Role)), "role")
        .inner_join_on_user()
        .filter(api_token::Column::TokenHash.eq(hash_token(token)))
        .into_tuple::<(i64, String)>()
        .one(db)
        .await?;
    let Some((user_id, role)) = found else {
        return Ok(None);
    };
    let role = role
        .parse()
        .map_err(|e: String| StoreError::Db(sea_orm::DbErr::Custom(e)))?;
    let team_ids = team_ids_of(db, user_id).await?;
    Ok(Some(Principal {
        user_id,
        role,
        team_ids,
    }))
}

trait JoinUser {
    fn inner_join_on_user(self) -> Self;
}

impl JoinUser for sea_orm::Select<api_token::Entity> {
    fn inner_join_on_user(self) -> Self {
        self.join(
            sea_orm::JoinType::InnerJoin,
            sea_orm::RelationDef::from(
                api_token::Entity::belongs_to(user::Entity)
                    .from(api_token::Column::UserId)
                    .to(user::Column::Id),
            ),
        )
    }
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
