//! The admin calls about people: users, teams and API tokens. A secret
//! (a new user's first token, an issued token) goes from the answer into
//! a [`Secret`] and nowhere else.

use super::{ApiClient, ApiError, operations};
use crate::model::{
    ApiToken, IssuedToken, Page, Role, SavedUser, Secret, Team, User, UserEdit, UserQuery,
};

/// Reads the `UserFields` fragment of any of the operations that share it;
/// each generated copy has the same shape but its own types.
macro_rules! user {
    ($op:ident, $user:expr) => {{
        let user: $op::UserFields = $user;
        User {
            id: user.id,
            name: user.name,
            role: user.role.map(|role| match role {
                $op::Role::ADMIN => Role::Admin,
                $op::Role::MEMBER => Role::Member,
                $op::Role::VIEWER => Role::Viewer,
                $op::Role::INTEGRATION => Role::Integration,
                $op::Role::Other(other) => Role::Other(other),
            }),
            // Withheld only from callers who may not see it; an admin
            // always does. Were it missing, "active" hides nothing.
            active: user.active.unwrap_or(true),
            teams: user
                .teams
                .unwrap_or_default()
                .into_iter()
                .map(|team| Team {
                    id: team.id,
                    name: team.name,
                })
                .collect(),
        }
    }};
}

/// A role as one operation's generated enum; `None` for a role this
/// client does not know, which it never sends.
macro_rules! role_input {
    ($op:ident, $role:expr) => {{
        match $role {
            Role::Admin => Some($op::Role::ADMIN),
            Role::Member => Some($op::Role::MEMBER),
            Role::Viewer => Some($op::Role::VIEWER),
            Role::Integration => Some($op::Role::INTEGRATION),
            Role::Other(_) => None,
        }
    }};
}

/// Reads the `TokenFields` fragment of any operation sharing it.
macro_rules! token {
    ($op:ident, $token:expr) => {{
        let token: $op::TokenFields = $token;
        ApiToken {
            id: token.id,
            label: token.label,
            created_at: token.created_at,
            expires_at: token.expires_at,
            last_used_at: token.last_used_at,
            revoked_at: token.revoked_at,
        }
    }};
}

impl ApiClient {
    pub async fn users(
        &self,
        query: &UserQuery,
        first: i64,
        after: Option<String>,
    ) -> Result<Page<User>, ApiError> {
        use operations::users as op;
        let search = query.search.trim();
        let variables = op::Variables {
            first: Some(first),
            after,
            filter: Some(op::UserFilter {
                search: (!search.is_empty()).then(|| search.to_owned()),
                role: query.role.as_ref().and_then(|role| role_input!(op, role)),
                team_id: query.team.as_ref().map(|team| team.id.clone()),
                active: query.active,
            }),
        };
        let data = self.run::<operations::Users>(variables).await?;
        let connection = data.users;
        Ok(Page {
            total: connection.total_count,
            has_next_page: connection.page_info.has_next_page,
            end_cursor: connection.page_info.end_cursor,
            rows: connection
                .edges
                .into_iter()
                .map(|edge| user!(op, edge.node))
                .collect(),
        })
    }

    pub async fn teams(&self, first: i64, after: Option<String>) -> Result<Page<Team>, ApiError> {
        use operations::teams as op;
        let variables = op::Variables {
            first: Some(first),
            after,
        };
        let data = self.run::<operations::Teams>(variables).await?;
        let connection = data.teams;
        Ok(Page {
            total: connection.total_count,
            has_next_page: connection.page_info.has_next_page,
            end_cursor: connection.page_info.end_cursor,
            rows: connection
                .edges
                .into_iter()
                .map(|edge| Team {
                    id: edge.node.id,
                    name: edge.node.name,
                })
                .collect(),
        })
    }

    pub async fn create_team(&self, name: &str) -> Result<Team, ApiError> {
        use operations::create_team as op;
        let variables = op::Variables {
            name: name.to_owned(),
        };
        let team = self
            .run::<operations::CreateTeam>(variables)
            .await?
            .create_team;
        Ok(Team {
            id: team.id,
            name: team.name,
        })
    }

    /// Creates or changes a user, as `edit` says.
    pub async fn save_user(&self, edit: &UserEdit) -> Result<SavedUser, ApiError> {
        match edit {
            UserEdit::Create {
                name,
                role,
                team_ids,
            } => {
                use operations::create_user as op;
                let role = role_input!(op, role)
                    .ok_or_else(|| ApiError::Server(format!("unknown role {}", role.name())))?;
                let variables = op::Variables {
                    input: op::CreateUserInput {
                        name: name.clone(),
                        role,
                        team_ids: team_ids.clone(),
                    },
                };
                let payload = self
                    .run::<operations::CreateUser>(variables)
                    .await?
                    .create_user;
                Ok(SavedUser {
                    user: user!(op, payload.user),
                    token: Some(Secret::new(payload.token)),
                })
            }
            UserEdit::Update {
                id,
                rename,
                role,
                team_ids,
                active,
                ..
            } => {
                use operations::update_user as op;
                let variables = op::Variables {
                    id: id.clone(),
                    input: op::UpdateUserInput {
                        name: rename.clone(),
                        role: role.as_ref().and_then(|role| role_input!(op, role)),
                        team_ids: team_ids.clone(),
                        active: *active,
                    },
                };
                let user = self
                    .run::<operations::UpdateUser>(variables)
                    .await?
                    .update_user;
                Ok(SavedUser {
                    user: user!(op, user),
                    token: None,
                })
            }
        }
    }

    /// A page of the user's tokens, newest first. A user that no longer
    /// exists is [`ApiError::NotFound`].
    pub async fn tokens(
        &self,
        user_id: &str,
        first: i64,
        after: Option<String>,
    ) -> Result<Page<ApiToken>, ApiError> {
        use operations::user_tokens as op;
        let variables = op::Variables {
            id: user_id.to_owned(),
            first: Some(first),
            after,
        };
        let data = self.run::<operations::UserTokens>(variables).await?;
        let Some(op::UserTokensNode::User(user)) = data.node else {
            return Err(ApiError::NotFound);
        };
        let connection = user.tokens;
        Ok(Page {
            total: connection.total_count,
            has_next_page: connection.page_info.has_next_page,
            end_cursor: connection.page_info.end_cursor,
            rows: connection
                .edges
                .into_iter()
                .map(|edge| token!(op, edge.node))
                .collect(),
        })
    }

    /// `expires_at`: RFC 3339, or `None` for a token that does not expire.
    pub async fn issue_token(
        &self,
        user_id: &str,
        label: Option<String>,
        expires_at: Option<String>,
    ) -> Result<IssuedToken, ApiError> {
        use operations::issue_token as op;
        let variables = op::Variables {
            user_id: user_id.to_owned(),
            label,
            expires_at,
        };
        let payload = self
            .run::<operations::IssueToken>(variables)
            .await?
            .issue_token;
        Ok(IssuedToken {
            token: token!(op, payload.api_token),
            secret: Secret::new(payload.token),
        })
    }

    pub async fn revoke_token(&self, id: &str) -> Result<ApiToken, ApiError> {
        use operations::revoke_token as op;
        let variables = op::Variables { id: id.to_owned() };
        let token = self
            .run::<operations::RevokeToken>(variables)
            .await?
            .revoke_token;
        Ok(token!(op, token))
    }
}
