//! Users, teams and API tokens, as admins manage them.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};

use super::contact::timestamp;
use super::error::{ApiError, ApiResult};
use super::field_policy::{FieldPolicy, policies};
use super::ids::{self, Kind};
use super::page::{Connection, Counted, Edge, Total, decode_cursor, encode_cursor, page_size};
use super::{loaders, principal, state};
use crate::domain;
use crate::store::{field_policies, tokens, users};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
    Member,
    Viewer,
    Integration,
}

mirror_enum!(Role <=> domain::Role { Admin, Member, Viewer, Integration });

pub struct User(pub users::User);

impl User {
    /// What a user may do and how they sign in is for admins and the user.
    fn admin_or_self(&self, ctx: &Context<'_>) -> ApiResult<()> {
        if principal(ctx)?.may_see_user(self.0.id) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "only admins and the user see this of a user",
            ))
        }
    }
}

#[Object]
impl User {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::User, self.0.id)
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// For ADMIN and the user; others see users' names only (as owners
    /// and history actors), not what they may do.
    async fn role(&self, ctx: &Context<'_>) -> ApiResult<Option<Role>> {
        self.admin_or_self(ctx)?;
        Ok(Some(self.0.role.into()))
    }

    /// A deactivated user's tokens are refused; their contacts stay. For
    /// ADMIN and the user.
    async fn active(&self, ctx: &Context<'_>) -> ApiResult<Option<bool>> {
        self.admin_or_self(ctx)?;
        Ok(Some(self.0.active))
    }

    /// For ADMIN and the user.
    async fn teams(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<Team>>> {
        self.admin_or_self(ctx)?;
        // Batched, so a page of users costs two queries, not two a user.
        let team_ids: users::TeamIds = loaders::load(ctx, self.0.id).await?.unwrap_or_default();
        let loads = team_ids
            .0
            .into_iter()
            .map(|id| loaders::load::<users::Team>(ctx, id));
        let mut teams: Vec<Team> = futures_util::future::try_join_all(loads)
            .await?
            .into_iter()
            .flatten()
            .map(Team)
            .collect();
        teams.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(Some(teams))
    }

    /// What the user's role may do with each contact field, now: for ADMIN
    /// and the user (`me.permissions` tells a client what to show).
    async fn permissions(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<FieldPolicy>>> {
        self.admin_or_self(ctx)?;
        let caller = principal(ctx)?;
        let rights = if caller.user_id == self.0.id {
            caller.fields
        } else {
            field_policies::rights_of(state(ctx)?.store.db(), self.0.role).await?
        };
        Ok(Some(policies(self.0.role, &rights)))
    }

    /// The user's API tokens, newest first: for ADMIN and the user. The
    /// secrets are never shown again after they were issued.
    async fn tokens(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Tokens on the page: 0 to 100, 20 when left out.")] first: Option<i32>,
        #[graphql(desc = "The previous page's `pageInfo.endCursor`.")] after: Option<String>,
    ) -> ApiResult<ApiTokenConnection> {
        self.admin_or_self(ctx)?;
        let limit = page_size(first)?;
        let after = after.as_deref().map(decode_cursor::<i64>).transpose()?;
        let rows = tokens::of_user(state(ctx)?.store.db(), self.0.id, after, limit + 1).await?;
        Ok(Connection::from_rows(
            rows,
            limit,
            TokenTotal(self.0.id),
            |token| Edge {
                cursor: encode_cursor(&token.id),
                node: ApiToken(token),
            },
        ))
    }
}

/// A user's tokens.
pub struct TokenTotal(i64);

impl Total for TokenTotal {
    async fn total(&self, ctx: &Context<'_>) -> ApiResult<Counted> {
        Ok(Counted::exact(
            tokens::count_of_user(state(ctx)?.store.db(), self.0).await?,
        ))
    }
}

pub type ApiTokenConnection = Connection<ApiToken, TokenTotal>;

/// A bearer token of a user, without its secret.
pub struct ApiToken(pub tokens::ApiToken);

#[Object]
impl ApiToken {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::ApiToken, self.0.id)
    }

    /// What the token is for, as its issuer named it.
    async fn label(&self) -> Option<&str> {
        self.0.label.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        timestamp(self.0.created_at)
    }

    /// From then on the token is refused; null when it does not expire.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at.map(timestamp)
    }

    /// Last seen in a request; written at most once a minute.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at.map(timestamp)
    }

    /// Refused from then on; null while the token is in use.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at.map(timestamp)
    }

    /// The user the token signs in as.
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        // Batched: a page of tokens reads its users in one query.
        Ok(loaders::load::<users::User>(ctx, self.0.user_id)
            .await?
            .map(User))
    }
}

pub struct Team(pub users::Team);

#[Object]
impl Team {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Team, self.0.id)
    }

    async fn name(&self) -> &str {
        &self.0.name
    }
}

/// Which users `users` lists.
#[derive(async_graphql::InputObject, Default)]
pub struct UserFilter {
    /// Inside the name, in any case.
    pub search: Option<String>,
    pub role: Option<Role>,
    pub team_id: Option<ID>,
    pub active: Option<bool>,
}

impl UserFilter {
    pub fn to_store(&self) -> Result<users::UserFilter, ApiError> {
        Ok(users::UserFilter {
            search: self.search.clone(),
            role: self.role.map(Into::into),
            team_id: self
                .team_id
                .as_ref()
                .map(|id| ids::decode_required("teamId", Kind::Team, id))
                .transpose()?,
            active: self.active,
        })
    }
}

/// The users a filter finds.
pub struct UserTotal(pub users::UserFilter);

impl Total for UserTotal {
    async fn total(&self, ctx: &Context<'_>) -> ApiResult<Counted> {
        Ok(Counted::exact(
            users::count(state(ctx)?.store.db(), &self.0).await?,
        ))
    }
}

pub type UserConnection = Connection<User, UserTotal>;

/// The teams a caller sees: all for admins, their own for others.
pub struct TeamTotal(pub Option<Vec<i64>>);

impl Total for TeamTotal {
    async fn total(&self, ctx: &Context<'_>) -> ApiResult<Counted> {
        Ok(Counted::exact(
            users::count_teams(state(ctx)?.store.db(), self.0.as_deref()).await?,
        ))
    }
}

pub type TeamConnection = Connection<Team, TeamTotal>;

/// A page of users or teams is ordered by name, then id.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct NameCursor {
    name: String,
    id: i64,
}

impl NameCursor {
    pub fn encode(name: &str, id: i64) -> String {
        encode_cursor(&NameCursor {
            name: name.to_owned(),
            id,
        })
    }

    /// The `(name, id)` a page continues after.
    pub fn decode(after: Option<&str>) -> Result<Option<(String, i64)>, ApiError> {
        Ok(after
            .map(decode_cursor::<NameCursor>)
            .transpose()?
            .map(|cursor| (cursor.name, cursor.id)))
    }
}
