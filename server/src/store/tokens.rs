//! API tokens. Tokens are random 256-bit secrets; only their SHA-256 is
//! stored, which is enough for secrets of that entropy and keeps the
//! per-request lookup a single indexed read. A token is shown once, when it
//! is issued.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use sha2::{Digest, Sha256};

use super::entities::{api_token, user};
use super::field_policies::principal_of;
use super::{Store, StoreError, auth_generation, now_micros};
use crate::domain::{Principal, ValidationError};

const TOKEN_PREFIX: &str = "ctk_";
const LABEL_MAX: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub label: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl From<api_token::Model> for ApiToken {
    fn from(model: api_token::Model) -> Self {
        Self {
            id: model.id,
            user_id: model.user_id,
            label: model.label,
            created_at: model.created_at,
            expires_at: model.expires_at,
            last_used_at: model.last_used_at,
            revoked_at: model.revoked_at,
        }
    }
}

/// Who a token stands for, and what the server must know to keep trusting
/// it without looking it up again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub principal: Principal,
    pub token_id: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// `lastUsedAt` is written at most this often (microseconds): a request
/// must not cost a write.
const LAST_USED_EVERY: i64 = 60_000_000;

impl Authenticated {
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Whether a use at `now` should be written as `lastUsedAt`.
    pub fn last_used_due(&self, now: i64) -> bool {
        self.last_used_at
            .is_none_or(|at| now.saturating_sub(at) >= LAST_USED_EVERY)
    }
}

fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new token for `user_id`; the secret is returned this once.
pub async fn issue(
    db: &impl ConnectionTrait,
    user_id: i64,
    label: Option<&str>,
    expires_at: Option<i64>,
) -> Result<(ApiToken, String), StoreError> {
    let label = match label {
        Some(label) => crate::domain::validation::text("label", label, LABEL_MAX)?,
        None => None,
    };
    let now = now_micros();
    if expires_at.is_some_and(|at| at <= now) {
        return Err(ValidationError::new("expiresAt", "must be in the future").into());
    }
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    let model = api_token::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(hash_token(&token)),
        created_at: Set(now),
        label: Set(label),
        expires_at: Set(expires_at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((model.into(), token))
}

/// A new token for an existing user; the secret is returned this once. A
/// user holding `max_active` tokens that are neither revoked nor expired
/// gets no more (VALIDATION on `userId`) until one is revoked: a leaked
/// admin token must not mint tokens without end.
pub async fn issue_for(
    store: &Store,
    user_id: i64,
    label: Option<&str>,
    expires_at: Option<i64>,
    max_active: u64,
) -> Result<(ApiToken, String), StoreError> {
    let txn = store.begin_write().await?;
    // Locked on PostgreSQL, so concurrent issues for one user are counted
    // one after the other (SQLite's writes are one at a time anyway).
    let mut find_user = user::Entity::find_by_id(user_id);
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        find_user = find_user.lock_exclusive();
    }
    if find_user.one(&*txn).await?.is_none() {
        return Err(StoreError::NotFound);
    }
    let now = now_micros();
    let active = api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(user_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .filter(
            Condition::any()
                .add(api_token::Column::ExpiresAt.is_null())
                .add(api_token::Column::ExpiresAt.gt(now)),
        )
        .count(&*txn)
        .await?;
    if active >= max_active {
        return Err(ValidationError::new(
            "userId",
            format!(
                "the user holds {active} active tokens, the most allowed ({max_active}); revoke one first"
            ),
        )
        .into());
    }
    let issued = issue(&*txn, user_id, label, expires_at).await?;
    txn.commit().await?;
    Ok(issued)
}

/// Revokes a token (again: nothing changes). Requests with it are refused
/// from the next one on, in every process (the auth generation).
pub async fn revoke(store: &Store, id: i64) -> Result<ApiToken, StoreError> {
    let txn = store.begin_write().await?;
    let found = api_token::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or(StoreError::NotFound)?;
    if found.revoked_at.is_some() {
        return Ok(found.into());
    }
    let mut active: api_token::ActiveModel = found.into();
    active.revoked_at = Set(Some(now_micros()));
    let model = active.update(&*txn).await?;
    auth_generation::bump(&*txn).await?;
    txn.commit().await?;
    Ok(model.into())
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<ApiToken>, StoreError> {
    Ok(api_token::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(Into::into))
}

/// A user's tokens, newest first, after the token `after`.
pub async fn of_user(
    db: &impl ConnectionTrait,
    user_id: i64,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<ApiToken>, StoreError> {
    let mut query = api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(user_id))
        .order_by(api_token::Column::Id, Order::Desc)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(api_token::Column::Id.lt(after));
    }
    Ok(query.all(db).await?.into_iter().map(Into::into).collect())
}

pub async fn count_of_user(db: &impl ConnectionTrait, user_id: i64) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    Ok(api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(user_id))
        .count(db)
        .await?)
}

/// The caller a bearer token stands for, or `None` for a token that is
/// unknown, revoked or expired, or whose user is deactivated.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<Option<Authenticated>, StoreError> {
    let found = api_token::Entity::find()
        .select_only()
        .column(api_token::Column::Id)
        .column(api_token::Column::UserId)
        .column(api_token::Column::ExpiresAt)
        .column(api_token::Column::LastUsedAt)
        .column_as(Expr::col((user::Entity, user::Column::Role)), "role")
        .join(
            sea_orm::JoinType::InnerJoin,
            sea_orm::RelationDef::from(
                api_token::Entity::belongs_to(user::Entity)
                    .from(api_token::Column::UserId)
                    .to(user::Column::Id),
            ),
        )
        .filter(api_token::Column::TokenHash.eq(hash_token(token)))
        .filter(api_token::Column::RevokedAt.is_null())
        .filter(user::Column::Active.eq(true))
        .into_tuple::<(i64, i64, Option<i64>, Option<i64>, String)>()
        .one(db)
        .await?;
    let Some((token_id, user_id, expires_at, last_used_at, role)) = found else {
        return Ok(None);
    };
    let role = role
        .parse()
        .map_err(|e: String| StoreError::Db(sea_orm::DbErr::Custom(e)))?;
    let authenticated = Authenticated {
        principal: principal_of(db, user_id, role).await?,
        token_id,
        expires_at,
        last_used_at,
    };
    Ok((!authenticated.expired(now_micros())).then_some(authenticated))
}

/// Notes that a token was used at `now`; called when
/// [`Authenticated::last_used_due`], so it costs no write per request.
pub async fn touch(db: &impl ConnectionTrait, token_id: i64, now: i64) -> Result<(), StoreError> {
    api_token::Entity::update_many()
        .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
        .filter(api_token::Column::Id.eq(token_id))
        .exec(db)
        .await?;
    Ok(())
}
