use async_graphql::{Context, Enum, ID, Object};

use super::error::ApiResult;
use super::ids::{self, Kind};
use super::state;
use crate::domain;
use crate::store::users;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
    Member,
    Viewer,
    Integration,
}

mirror_enum!(Role <=> domain::Role { Admin, Member, Viewer, Integration });

pub struct User(pub users::User);

#[Object]
impl User {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::User, self.0.id)
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn role(&self) -> Role {
        self.0.role.into()
    }

    async fn teams(&self, ctx: &Context<'_>) -> ApiResult<Vec<Team>> {
        let db = state(ctx)?.store.db();
        let team_ids = users::team_ids_of(db, self.0.id).await?;
        let teams = users::teams_by_ids(db, &team_ids).await?;
        Ok(teams.into_iter().map(Team).collect())
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
