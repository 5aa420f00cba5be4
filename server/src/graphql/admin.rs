//! Administration (DESIGN.md section 11): teams, users and their tokens,
//! for ADMIN. A change to who may do what applies on the next request in
//! every process (`store::auth_generation`).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::error::{ApiError, ApiResult};
use super::field_policy::{ContactField, FieldAccess, FieldPolicy};
use super::ids::{self, Kind};
use super::user::{ApiToken, Role, Team, User};
use super::{principal, state};
use crate::store::{field_policies, tokens, users};

#[derive(Default)]
pub struct AdminMutation;

#[derive(InputObject)]
pub struct CreateUserInput {
    /// Unique, 1 to 100 characters.
    pub name: String,
    pub role: Role,
    #[graphql(default)]
    pub team_ids: Vec<ID>,
}

/// A user and its first token, the only time the token is shown.
#[derive(SimpleObject)]
pub struct CreateUserPayload {
    pub user: User,
    pub token: String,
}

/// What to change of a user; a field left out stays as it is.
#[derive(InputObject, Default)]
pub struct UpdateUserInput {
    pub name: Option<String>,
    pub role: Option<Role>,
    /// The user's teams, all of them (replacing the ones before).
    pub team_ids: Option<Vec<ID>>,
    /// False refuses the user's tokens from the next request on.
    pub active: Option<bool>,
}

/// A token and its secret, the only time the secret is shown.
#[derive(SimpleObject)]
pub struct IssueTokenPayload {
    pub api_token: ApiToken,
    pub token: String,
}

fn admin_only(ctx: &Context<'_>) -> ApiResult<()> {
    if principal(ctx)?.may_administer() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only admins administer users, teams and tokens",
        ))
    }
}

/// Teams named twice count once: the store's rule.
fn team_ids(ids: &[ID]) -> ApiResult<Vec<i64>> {
    ids.iter()
        .map(|id| ids::decode_required("teamIds", Kind::Team, id))
        .collect::<Result<_, _>>()
}

fn user_id(field: &'static str, id: &ID) -> ApiResult<i64> {
    ids::decode(field, Kind::User, id)?.ok_or(ApiError::NotFound)
}

#[Object]
impl AdminMutation {
    /// Sets what a role may do with a contact field (ADMIN), from the next
    /// request on in every process, on every path: reads, writes, search,
    /// filters, history, merge previews and webhooks. ADMIN keeps WRITE on
    /// every field and a VIEWER cannot be given WRITE (VALIDATION on
    /// `access`).
    async fn set_field_policy(
        &self,
        ctx: &Context<'_>,
        role: Role,
        field: ContactField,
        access: FieldAccess,
    ) -> ApiResult<FieldPolicy> {
        admin_only(ctx)?;
        let set = field_policies::set(&state(ctx)?.store, role.into(), field.into(), access.into())
            .await?;
        Ok(FieldPolicy {
            role,
            field,
            access: set.into(),
        })
    }

    /// A new team (ADMIN). Its name is unique.
    async fn create_team(&self, ctx: &Context<'_>, name: String) -> ApiResult<Team> {
        admin_only(ctx)?;
        Ok(Team(users::create_team(&state(ctx)?.store, &name).await?))
    }

    /// A new user with a first token (ADMIN); the token is in the payload
    /// and never shown again.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: CreateUserInput,
    ) -> ApiResult<CreateUserPayload> {
        admin_only(ctx)?;
        let teams = team_ids(&input.team_ids)?;
        let (user, _, token) =
            users::create_user_in(&state(ctx)?.store, &input.name, input.role.into(), &teams)
                .await?;
        Ok(CreateUserPayload {
            user: User(user),
            token,
        })
    }

    /// Changes a user's name, role, teams or activity (ADMIN). Role, teams
    /// and activity apply from the next request on, in every process. The
    /// last active admin cannot be demoted or deactivated (VALIDATION).
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateUserInput,
    ) -> ApiResult<User> {
        admin_only(ctx)?;
        let id = user_id("id", &id)?;
        let patch = users::UserPatch {
            name: input.name,
            role: input.role.map(Into::into),
            team_ids: input.team_ids.as_deref().map(team_ids).transpose()?,
            active: input.active,
        };
        Ok(User(
            users::update_user(&state(ctx)?.store, id, patch).await?,
        ))
    }

    /// A new token for a user (ADMIN, or the user for themself), with a
    /// label and an optional expiry; the secret is in the payload and never
    /// shown again.
    async fn issue_token(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        label: Option<String>,
        expires_at: Option<DateTime<Utc>>,
    ) -> ApiResult<IssueTokenPayload> {
        let caller = principal(ctx)?;
        let owner = self::user_id("userId", &user_id)?;
        if !caller.is_admin_or(owner) {
            return Err(ApiError::forbidden(
                "only admins issue tokens for other users",
            ));
        }
        let app = state(ctx)?;
        let (token, secret) = tokens::issue_for(
            &app.store,
            owner,
            label.as_deref(),
            expires_at.map(|at| at.timestamp_micros()),
            app.settings.max_tokens_per_user,
        )
        .await?;
        Ok(IssueTokenPayload {
            api_token: ApiToken(token),
            token: secret,
        })
    }

    /// Revokes a token (ADMIN, or the token's user): it is refused from
    /// the next request on, in every process. Revoking it again changes
    /// nothing.
    async fn revoke_token(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ApiToken> {
        let caller = principal(ctx)?;
        let number = ids::decode("id", Kind::ApiToken, &id)?.ok_or(ApiError::NotFound)?;
        let store = &state(ctx)?.store;
        let token = tokens::find(store.db(), number)
            .await?
            .ok_or(ApiError::NotFound)?;
        if !caller.is_admin_or(token.user_id) {
            // As if it did not exist: token ids are not to be probed.
            return Err(ApiError::NotFound);
        }
        Ok(ApiToken(tokens::revoke(store, number).await?))
    }
}
