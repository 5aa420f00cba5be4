use async_graphql::{Context, ID, Object, Result};

use super::activity::{ActivityConnection, ActivityFilter, activity_page};
use super::contact::{
    Contact, ContactConnection, ContactEdge, ContactFilter, ContactOrder, contact_cursor,
    contact_position,
};
use super::error::ApiError;
use super::ids::{self, Kind};
use super::import::{self, ImportJob};
use super::integration::Integration;
use super::loaders;
use super::node::{self, Node};
use super::page::{PageInfo, page_size};
use super::user::User;
use super::{principal, state};
use crate::store::{contacts, listing, users};

pub struct Query;

#[Object]
impl Query {
    /// The caller.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let caller = principal(ctx)?;
        let user = users::user_by_id(state(ctx)?.store.db(), caller.user_id)
            .await
            .map_err(ApiError::from)?
            .ok_or(ApiError::Unauthenticated)?;
        Ok(User(user))
    }

    /// Any object by its global id; null when it does not exist or the
    /// caller cannot access it.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        Ok(node::node(ctx, &id).await?)
    }

    /// An import job the caller started (any, for admins); null otherwise.
    async fn import_job(&self, ctx: &Context<'_>, id: ID) -> Result<Option<ImportJob>> {
        import::import_job(ctx, id).await
    }

    /// The import jobs the caller started (everyone's, for admins), newest
    /// first: to come back to a job whose id was not kept.
    async fn import_jobs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<import::ImportJobConnection> {
        import::import_job_page(ctx, first, after).await
    }

    /// A contact the caller can access; null otherwise. The id of a contact
    /// merged into another resolves to the survivor.
    async fn contact(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Contact>> {
        let Some(number) = ids::decode("id", Kind::Contact, &id)? else {
            return Ok(None);
        };
        let caller = principal(ctx)?;
        let loaded = match state(ctx)?.store.point_reads() {
            Some(reads) => reads.contact(number).map_err(ApiError::from)?,
            None => loaders::load(ctx, number).await?,
        };
        let found = match loaded {
            Some(record) => caller
                .can_access(record.owner_id, record.team_id)
                .then_some(record),
            // Not a live id: it may be one absorbed by a merge.
            None => contacts::resolve(state(ctx)?.store.db(), &caller.access(), number)
                .await
                .map_err(ApiError::from)?,
        };
        Ok(found.map(Contact))
    }

    /// Activities, newest first: those of contacts the caller can access,
    /// and of meetings they host (kept after their contact is deleted).
    async fn activities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ActivityFilter>,
    ) -> Result<ActivityConnection> {
        let filter = filter.unwrap_or_default().to_store()?;
        activity_page(ctx, first, after, filter).await
    }

    /// Connected integrations (ADMIN).
    async fn integrations(&self, ctx: &Context<'_>) -> Result<Vec<Integration>> {
        let rows = crate::store::integrations::list(state(ctx)?.store.db(), principal(ctx)?)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(Integration).collect())
    }

    /// The contacts the caller can access, a page at a time.
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ContactFilter>,
        order_by: Option<ContactOrder>,
    ) -> Result<ContactConnection> {
        let limit = page_size(first)?;
        let order = order_by.unwrap_or_default();
        let after = after
            .as_deref()
            .map(|cursor| contact_position(order, cursor))
            .transpose()?;
        let caller = principal(ctx)?;
        let filter = filter
            .unwrap_or_default()
            .to_store(caller.may_read_personal_data())?;
        let access = caller.access();
        let mut rows = listing::page(
            state(ctx)?.store.db(),
            &access,
            &filter,
            order.to_store(),
            after.as_ref(),
            limit + 1,
        )
        .await
        .map_err(ApiError::from)?;
        let has_next_page = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let edges: Vec<ContactEdge> = rows
            .into_iter()
            .map(|record| ContactEdge {
                cursor: contact_cursor(order, &record),
                node: Contact(record),
            })
            .collect();
        let cursors: Vec<String> = edges.iter().map(|e| e.cursor.clone()).collect();
        Ok(ContactConnection {
            page_info: PageInfo::new(&cursors, has_next_page),
            edges,
            access,
            filter,
        })
    }
}
