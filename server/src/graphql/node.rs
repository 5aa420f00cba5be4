//! `node(id:)`: every type with an id, found by its global id under the
//! access rule of the query or field that lists it. A record the caller
//! may not see answers null, like one that does not exist, so an id
//! reveals nothing.

use async_graphql::{Context, ID, Interface};

use super::activity::{Activity, Meeting, Notification};
use super::contact::{Contact, ContactChange};
use super::error::ApiError;
use super::ids::{self, Kind};
use super::import::ImportJob;
use super::integration::{Delivery, Integration};
use super::merge::Merge;
use super::user::{ApiToken, Team, User};
use super::{principal, state};
use crate::domain::Principal;
use crate::store::{
    StoreError, activities, contacts, history, import_jobs, integrations, merges, tokens, users,
};

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Contact(Contact),
    User(User),
    Team(Team),
    ImportJob(ImportJob),
    Activity(Activity),
    Meeting(Meeting),
    Notification(Notification),
    ContactChange(ContactChange),
    Integration(Integration),
    Delivery(Delivery),
    ApiToken(ApiToken),
    Merge(Merge),
}

pub async fn node(ctx: &Context<'_>, id: &ID) -> Result<Option<Node>, ApiError> {
    let (kind, number) = ids::decode_any("id", id)?;
    let caller = principal(ctx)?;
    let db = state(ctx)?.store.db();
    Ok(find(db, caller, kind, number).await?)
}

async fn find(
    db: &sea_orm::DatabaseConnection,
    caller: &Principal,
    kind: Kind,
    number: i64,
) -> Result<Option<Node>, StoreError> {
    Ok(match kind {
        // `contact(id)`: a merged-away id resolves to its survivor.
        Kind::Contact => contacts::resolve(db, &caller.access(), number)
            .await?
            .map(|c| Node::Contact(Contact(c))),
        Kind::User if caller.may_see_user(number) => users::user_by_id(db, number)
            .await?
            .map(|u| Node::User(User(u))),
        Kind::Team if caller.may_see_team(number) => users::team_by_id(db, number)
            .await?
            .map(|t| Node::Team(Team(t))),
        Kind::User | Kind::Team => None,
        // `User.tokens`: admins and the token's user.
        Kind::ApiToken => tokens::find(db, number)
            .await?
            .filter(|token| caller.may_see_user(token.user_id))
            .map(|token| Node::ApiToken(ApiToken(token))),
        // `importJob(id)`.
        Kind::ImportJob => import_jobs::find(db, caller, number)
            .await?
            .map(|job| Node::ImportJob(ImportJob(job))),
        // `activities`.
        Kind::Activity => activities::find_visible(db, caller, number)
            .await?
            .map(|a| Node::Activity(Activity(a))),
        // `Activity.meeting`.
        Kind::Meeting => activities::find_visible_meeting(db, caller, number)
            .await?
            .map(|m| Node::Meeting(Meeting(m))),
        // `Meeting.notifications`.
        Kind::Notification => activities::find_visible_notification(db, caller, number)
            .await?
            .map(|n| Node::Notification(Notification(n))),
        // `Contact.history`, behind its guard.
        Kind::ContactChange => history::find_readable(db, caller, number)
            .await?
            .map(|c| Node::ContactChange(ContactChange(c))),
        // `integrations` and `Integration.deliveries`.
        Kind::Integration => integrations::find(db, caller, number)
            .await?
            .map(|i| Node::Integration(Integration(i))),
        Kind::Delivery => integrations::find_delivery(db, caller, number)
            .await?
            .map(|d| Node::Delivery(d.into())),
        // `Contact.merges`: under the rule of the survivor.
        Kind::Merge => merges::find_readable(db, caller, number)
            .await?
            .map(|m| Node::Merge(Merge(Box::new(m)))),
    })
}
