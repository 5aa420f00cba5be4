use async_graphql::{Context, ID, Object};

use super::activity::{ActivityConnection, ActivityFilter, activity_page};
use super::contact::{
    Contact, ContactConnection, ContactFilter, ContactOrder, ContactTotal, contact_cursor,
    contact_position,
};
use super::error::{ApiError, ApiResult};
use super::field_policy::{FieldPolicy, policies};
use super::ids::{self, Kind};
use super::import::{self, ImportJob};
use super::integration::Integration;
use super::loaders;
use super::node::{self, Node};
use super::page::{Connection, Edge, page_size};
use super::user::{
    NameCursor, Team, TeamConnection, TeamTotal, User, UserConnection, UserFilter, UserTotal,
};
use super::{principal, state};
use crate::store::{field_policies, listing, users};

pub struct Query;

#[Object]
impl Query {
    /// The caller: the user the bearer token belongs to, with its role and
    /// teams. Clients use it to show who is signed in and to hide what the
    /// role cannot do.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<User> {
        let caller = principal(ctx)?;
        let user = users::user_by_id(state(ctx)?.store.db(), caller.user_id)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        Ok(User(user))
    }

    /// Every role's access to every contact field (ADMIN): the defaults of
    /// DESIGN.md section 7 with the changes made by `setFieldPolicy`.
    /// Others read their own in `me.permissions`.
    async fn field_policies(&self, ctx: &Context<'_>) -> ApiResult<Vec<FieldPolicy>> {
        if !principal(ctx)?.may_administer() {
            return Err(ApiError::forbidden(
                "only admins read every role's policies",
            ));
        }
        let all = field_policies::all(state(ctx)?.store.db()).await?;
        Ok(all
            .iter()
            .flat_map(|(role, rights)| policies(*role, rights))
            .collect())
    }

    /// Users by name, A to Z: for ADMIN.
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Users on the page: 0 to 100, 20 when left out.")] first: Option<i32>,
        #[graphql(desc = "The previous page's `pageInfo.endCursor`.")] after: Option<String>,
        filter: Option<UserFilter>,
    ) -> ApiResult<UserConnection> {
        if !principal(ctx)?.may_administer() {
            return Err(ApiError::forbidden("only admins list users"));
        }
        let limit = page_size(first)?;
        let after = NameCursor::decode(after.as_deref())?;
        let filter = filter.unwrap_or_default().to_store()?;
        let rows = users::list(state(ctx)?.store.db(), &filter, after, limit + 1).await?;
        Ok(Connection::from_rows(
            rows,
            limit,
            UserTotal(filter),
            |user| Edge {
                cursor: NameCursor::encode(&user.name, user.id),
                node: User(user),
            },
        ))
    }

    /// Teams by name, A to Z: every team for ADMIN, the caller's own for
    /// others.
    async fn teams(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Teams on the page: 0 to 100, 20 when left out.")] first: Option<i32>,
        #[graphql(desc = "The previous page's `pageInfo.endCursor`.")] after: Option<String>,
    ) -> ApiResult<TeamConnection> {
        let caller = principal(ctx)?;
        let only = (!caller.may_administer()).then(|| caller.team_ids.clone());
        let limit = page_size(first)?;
        let after = NameCursor::decode(after.as_deref())?;
        let rows =
            users::list_teams(state(ctx)?.store.db(), only.as_deref(), after, limit + 1).await?;
        Ok(Connection::from_rows(
            rows,
            limit,
            TeamTotal(only),
            |team| Edge {
                cursor: NameCursor::encode(&team.name, team.id),
                node: Team(team),
            },
        ))
    }

    /// Any object by its global id (Relay's refetch): every type with an
    /// `id` implements `Node`. It is found under the rule of the field that
    /// lists it (a contact as in `contact`, an activity as in `activities`,
    /// a history entry as in `Contact.history`, integrations and deliveries
    /// for admins); null when it does not exist or the caller cannot see it,
    /// the two alike. A malformed id is VALIDATION on `id`.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id as an object's `id` field gives it.")] id: ID,
    ) -> ApiResult<Option<Node>> {
        Ok(node::node(ctx, &id).await?)
    }

    /// An import job the caller started (any, for admins); null otherwise.
    /// Poll it after `importContacts` for `status`, the counts, `bytesDone`
    /// against `bytesTotal`, and the failed rows.
    async fn import_job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `id` that `importContacts` returned.")] id: ID,
    ) -> ApiResult<Option<ImportJob>> {
        import::import_job(ctx, id).await
    }

    /// The import jobs the caller started (everyone's, for admins), newest
    /// first: to come back to a job whose id was not kept.
    async fn import_jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Jobs on the page: 0 to 100, 20 when left out.")] first: Option<i32>,
        #[graphql(desc = "The previous page's `pageInfo.endCursor`; left out for the first page.")]
        after: Option<String>,
    ) -> ApiResult<import::ImportJobConnection> {
        import::import_job_page(ctx, first, after).await
    }

    /// A contact the caller can access; null otherwise, whether it does not
    /// exist or belongs to someone else. The id of a contact merged into
    /// another resolves to the survivor (compare the `id` you get back).
    async fn contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact's `id`, or one of its `mergedIds`.")] id: ID,
    ) -> ApiResult<Option<Contact>> {
        let Some(number) = ids::decode("id", Kind::Contact, &id)? else {
            return Ok(None);
        };
        let found = loaders::accessible_contact(ctx, principal(ctx)?, number).await?;
        Ok(found.map(Contact))
    }

    /// Activities (meetings, chats, forms), newest first: those of contacts
    /// the caller can access, and of meetings they host once the contact is
    /// deleted. Admins and integrations see all.
    async fn activities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Activities on the page: 0 to 100, 20 when left out.")] first: Option<i32>,
        #[graphql(desc = "The previous page's `pageInfo.endCursor`; left out for the first page.")]
        after: Option<String>,
        #[graphql(
            desc = "Narrows the list by kind, contact and time; all activities when left out."
        )]
        filter: Option<ActivityFilter>,
    ) -> ApiResult<ActivityConnection> {
        let filter = filter.unwrap_or_default().to_store()?;
        activity_page(ctx, first, after, filter).await
    }

    /// Every connected integration (webhooks, calendars, CRMs), oldest
    /// first, with its delivery log. ADMIN only; other roles get FORBIDDEN.
    /// Secrets and tokens are never returned.
    async fn integrations(&self, ctx: &Context<'_>) -> ApiResult<Vec<Integration>> {
        let rows =
            crate::store::integrations::list(state(ctx)?.store.db(), principal(ctx)?).await?;
        Ok(rows.into_iter().map(Integration).collect())
    }

    /// The contacts the caller can access, a page at a time (Relay
    /// connection). `totalCount` counts every match, not just the page.
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Contacts on the page: 0 to 100, 20 when left out.")] first: Option<i32>,
        #[graphql(
            desc = "The previous page's `pageInfo.endCursor`, asked with the same `orderBy`; left out for the first page."
        )]
        after: Option<String>,
        #[graphql(
            desc = "Narrows the list by a search text, owner, team and source; every accessible contact when left out."
        )]
        filter: Option<ContactFilter>,
        #[graphql(
            desc = "By name, A to Z, when left out; oldest first for a role that may not read names, which may not order by them."
        )]
        order_by: Option<ContactOrder>,
    ) -> ApiResult<ContactConnection> {
        let limit = page_size(first)?;
        let caller = principal(ctx)?;
        let order = ContactOrder::for_caller(order_by, caller)?;
        let state = state(ctx)?;
        let db = state.store.db();
        let filter = filter
            .unwrap_or_default()
            .to_store(db, &state.settings, caller)
            .await?;
        let searched = filter.search.as_ref().map(|s| s.search().text().to_owned());
        let after = after
            .as_deref()
            .map(|cursor| contact_position(order, searched.as_deref(), cursor))
            .transpose()?;
        let access = caller.access();
        let rows = listing::page(
            db,
            &access,
            &filter,
            order.to_store(),
            after.as_ref(),
            limit + 1,
        )
        .await?;
        Ok(Connection::from_rows(
            rows,
            limit,
            ContactTotal { access, filter },
            |listed| Edge {
                cursor: contact_cursor(order, searched.as_deref(), &listed.position),
                node: Contact(listed.record),
            },
        ))
    }
}
