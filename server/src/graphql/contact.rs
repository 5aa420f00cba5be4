//! The Contact type, its inputs and its connection.

use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject,
};
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::field_policy::Reads;
use super::ids::{self, Kind};
use super::loaders;
use super::page::{Connection, Counted, Edge, Total, decode_cursor, encode_cursor, page_size};
use super::user::{Team, User};
use super::{principal, state};
use crate::domain::contact::{Change, Raw, RawContactInput};
use crate::domain::field_policy::ContactField as Field;
use crate::domain::merge_plan;
use crate::domain::search::{Rank, Search, SearchedFields};
use crate::domain::{self, Access};
use crate::store::contact_search::PreparedSearch;
use crate::store::contact_writes::MergePreview as StoredPreview;
use crate::store::contacts::ContactRecord;
use crate::store::listing::{self, Direction, OrderField, Position, SortKey};
use crate::store::save::AssignmentPatch;
use crate::store::{history, users};

pub fn timestamp(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ContactSource {
    Manual,
    Api,
    Import,
    Meeting,
    Chatbot,
    RoutingForm,
}

mirror_enum!(ContactSource <=> domain::Source {
    Manual, Api, Import, Meeting, Chatbot, RoutingForm
});

pub struct Contact(pub ContactRecord);

#[Object]
impl Contact {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Contact, self.0.id)
    }

    #[graphql(guard = "Reads(Field::FirstName)")]
    async fn first_name(&self) -> Option<&str> {
        self.0.fields.first_name.as_deref()
    }

    #[graphql(guard = "Reads(Field::LastName)")]
    async fn last_name(&self) -> Option<&str> {
        self.0.fields.last_name.as_deref()
    }

    #[graphql(guard = "Reads(Field::Email)")]
    async fn email(&self) -> Option<&str> {
        self.0.fields.email.as_ref().map(|e| e.as_str())
    }

    /// E.164, e.g. `+14155550100`.
    #[graphql(guard = "Reads(Field::MobilePhone)")]
    async fn mobile_phone(&self) -> Option<&str> {
        self.0.fields.mobile_phone.as_ref().map(|p| p.as_str())
    }

    #[graphql(guard = "Reads(Field::Company)")]
    async fn company(&self) -> Option<&str> {
        self.0.fields.company.as_deref()
    }

    #[graphql(guard = "Reads(Field::JobTitle)")]
    async fn job_title(&self) -> Option<&str> {
        self.0.fields.job_title.as_deref()
    }

    /// IANA time zone name.
    #[graphql(guard = "Reads(Field::Timezone)")]
    async fn timezone(&self) -> Option<&str> {
        self.0.fields.timezone.as_deref()
    }

    async fn source(&self) -> ContactSource {
        self.0.source.into()
    }

    #[graphql(guard = "Reads(Field::Owner)")]
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        Ok(loaders::load_opt(ctx, self.0.owner_id).await?.map(User))
    }

    /// The team the contact is shared with.
    #[graphql(guard = "Reads(Field::Team)")]
    async fn team(&self, ctx: &Context<'_>) -> ApiResult<Option<Team>> {
        Ok(loaders::load_opt(ctx, self.0.team_id).await?.map(Team))
    }

    /// Ids of contacts merged into this one; they keep resolving to it.
    async fn merged_ids(&self, ctx: &Context<'_>) -> ApiResult<Vec<ID>> {
        let ids: Vec<i64> = loaders::load(ctx, self.0.id).await?.unwrap_or_default();
        Ok(ids
            .into_iter()
            .map(|id| ids::encode(Kind::Contact, id))
            .collect())
    }

    /// Increases with every change; pass it back as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }

    async fn created_at(&self) -> DateTime<Utc> {
        timestamp(self.0.created_at)
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        timestamp(self.0.updated_at)
    }

    /// What the customer did: meetings, chats, forms; newest first.
    async fn activities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<super::activity::ActivityConnection> {
        let filter = crate::store::activities::ActivityFilter {
            contact_id: Some(self.0.id),
            ..Default::default()
        };
        super::activity::activity_page(ctx, first, after, filter).await
    }

    /// The merges into this contact, newest first, each with what it
    /// changed; `undoMerge` gives one back. Part of the contact's change
    /// log, so it takes the HISTORY policy, as `history` does: null with
    /// FORBIDDEN for a role that may not read it, the rest intact.
    #[graphql(guard = "Reads(Field::History)")]
    async fn merges(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Option<super::merge::MergeConnection>> {
        super::merge::merge_page(ctx, self.0.id, first, after)
            .await
            .map(Some)
    }

    /// Every change to the contact, newest first; null with FORBIDDEN for
    /// a role that may not read history (nullable so the rest of the
    /// contact stays intact).
    #[graphql(guard = "Reads(Field::History)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Option<ContactChangeConnection>> {
        let limit = page_size(first)?;
        let before_id = after.as_deref().map(decode_cursor::<i64>).transpose()?;
        let db = state(ctx)?.store.db();
        let rows = history::page(db, self.0.id, before_id, limit + 1).await?;
        Ok(Some(Connection::from_rows(
            rows,
            limit,
            HistoryTotal(self.0.id),
            |change| Edge {
                cursor: encode_cursor(&change.id),
                node: ContactChange(change),
            },
        )))
    }
}

/// Fields of a contact as a caller types them. In `updateContact` a field
/// left out is unchanged and `null` (or a blank string) clears it.
#[derive(InputObject, Default)]
pub struct ContactInput {
    pub first_name: MaybeUndefined<String>,
    pub last_name: MaybeUndefined<String>,
    pub email: MaybeUndefined<String>,
    /// Any common notation; numbers without a country code are read in the
    /// server's default region.
    pub mobile_phone: MaybeUndefined<String>,
    pub company: MaybeUndefined<String>,
    pub job_title: MaybeUndefined<String>,
    pub timezone: MaybeUndefined<String>,
    pub owner_id: MaybeUndefined<ID>,
    pub team_id: MaybeUndefined<ID>,
}

fn raw(value: &MaybeUndefined<String>) -> Raw {
    match value {
        MaybeUndefined::Undefined => Raw::Absent,
        MaybeUndefined::Null => Raw::Null,
        MaybeUndefined::Value(v) => Raw::Value(v.clone()),
    }
}

fn id_change(
    field: &'static str,
    kind: Kind,
    value: &MaybeUndefined<ID>,
) -> Result<Change<i64>, ApiError> {
    Ok(match value {
        MaybeUndefined::Undefined => Change::Keep,
        MaybeUndefined::Null => Change::Clear,
        MaybeUndefined::Value(id) => Change::Set(ids::decode_required(field, kind, id)?),
    })
}

impl ContactInput {
    pub fn raw_fields(&self) -> RawContactInput {
        RawContactInput {
            first_name: raw(&self.first_name),
            last_name: raw(&self.last_name),
            email: raw(&self.email),
            mobile_phone: raw(&self.mobile_phone),
            company: raw(&self.company),
            job_title: raw(&self.job_title),
            timezone: raw(&self.timezone),
        }
    }

    /// The owner and team asked for.
    pub fn assignment(&self) -> Result<AssignmentPatch, ApiError> {
        Ok(AssignmentPatch {
            owner_id: id_change("ownerId", Kind::User, &self.owner_id)?,
            team_id: id_change("teamId", Kind::Team, &self.team_id)?,
        })
    }

    /// The fields this input writes (a `null` clears, so it writes too).
    pub fn given(&self) -> Vec<Field> {
        let texts = [
            (Field::FirstName, self.first_name.is_undefined()),
            (Field::LastName, self.last_name.is_undefined()),
            (Field::Email, self.email.is_undefined()),
            (Field::MobilePhone, self.mobile_phone.is_undefined()),
            (Field::Company, self.company.is_undefined()),
            (Field::JobTitle, self.job_title.is_undefined()),
            (Field::Timezone, self.timezone.is_undefined()),
            (Field::Owner, self.owner_id.is_undefined()),
            (Field::Team, self.team_id.is_undefined()),
        ];
        texts
            .into_iter()
            .filter(|(_, left_out)| !left_out)
            .map(|(field, _)| field)
            .collect()
    }

    /// Refuses, before anything is read or written, an input that writes
    /// a field the caller's role may not write: FORBIDDEN naming the field
    /// (as `named` spells it where the input sits).
    pub fn check_writable(
        &self,
        caller: &domain::Principal,
        named: fn(Field) -> &'static str,
    ) -> Result<(), ApiError> {
        match caller.first_unwritable(self.given()) {
            Some(field) => Err(ApiError::Forbidden {
                field: Some(named(field)),
                message: format!("this role cannot write {}", field.input_name()),
            }),
            None => Ok(()),
        }
    }
}

#[derive(InputObject, Default)]
pub struct ContactFilter {
    /// Finds contacts whose name or company contains the text (three
    /// characters or more; a shorter text matches names beginning with it),
    /// whose email begins with it, or whose mobile phone begins with the
    /// number typed, in any format ("(415) 555" finds +1415555...; digits
    /// without + or 00 are read in the server's default region). Email and
    /// phone are searched only for a caller who may read them. Results come
    /// in three groups, each in `orderBy`: the contact whose email or phone
    /// is the text, then names beginning with it, then the other matches.
    /// At most `--search-max-chars` characters (200 unless the server
    /// says otherwise); a blank text is no search (the whole list).
    pub search: Option<String>,
    pub owner_id: Option<ID>,
    pub team_id: Option<ID>,
    pub source: Option<ContactSource>,
}

impl ContactFilter {
    /// The filter as the store reads it; a search is made ready here, once
    /// for the page and its count. Filtering by owner or team is reading
    /// them: refused (FORBIDDEN on the field) to a role that may not.
    pub async fn to_store(
        &self,
        db: &impl ConnectionTrait,
        settings: &crate::Settings,
        caller: &domain::Principal,
    ) -> Result<listing::ContactFilter, ApiError> {
        let region = settings.default_region;
        let max_chars = settings.search_max_chars;
        for (field, set) in [
            (Field::Owner, self.owner_id.is_some()),
            (Field::Team, self.team_id.is_some()),
        ] {
            if set && !caller.may_read(field) {
                return Err(ApiError::Forbidden {
                    field: Some(field.input_name()),
                    message: format!(
                        "this role cannot read {}, so cannot filter by it",
                        field.input_name()
                    ),
                });
            }
        }
        if self
            .search
            .as_ref()
            .is_some_and(|s| s.chars().count() as u64 > max_chars)
        {
            return Err(ApiError::validation(
                "search",
                format!("must be at most {max_chars} characters"),
            ));
        }
        let search = match self
            .search
            .as_deref()
            .and_then(|text| Search::parse(text, region, SearchedFields::of(&caller.fields)))
        {
            Some(search) => Some(PreparedSearch::prepare(db, search).await?),
            None => None,
        };
        Ok(listing::ContactFilter {
            search,
            owner_id: self
                .owner_id
                .as_ref()
                .map(|id| ids::decode_required("ownerId", Kind::User, id))
                .transpose()?,
            team_id: self
                .team_id
                .as_ref()
                .map(|id| ids::decode_required("teamId", Kind::Team, id))
                .transpose()?,
            source: self.source.map(Into::into),
        })
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ContactOrderField {
    #[default]
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum OrderDirection {
    #[default]
    Asc,
    Desc,
}

/// Default: by name, A to Z.
#[derive(InputObject, Default, Clone, Copy)]
pub struct ContactOrder {
    pub field: ContactOrderField,
    pub direction: OrderDirection,
}

impl ContactOrder {
    /// The order asked for, or the default. Names are the sort key (and
    /// travel in cursors), so a role that may not read them may not order
    /// by them (FORBIDDEN on `orderBy`), and its default is oldest first.
    pub fn for_caller(
        asked: Option<ContactOrder>,
        caller: &domain::Principal,
    ) -> Result<ContactOrder, ApiError> {
        let names = caller.fields.may_read_name();
        match asked {
            Some(order) if order.field == ContactOrderField::Name && !names => {
                Err(ApiError::Forbidden {
                    field: Some("orderBy"),
                    message: "this role cannot read names, so cannot order by them".to_owned(),
                })
            }
            Some(order) => Ok(order),
            None if names => Ok(ContactOrder::default()),
            None => Ok(ContactOrder {
                field: ContactOrderField::CreatedAt,
                direction: OrderDirection::Asc,
            }),
        }
    }

    pub fn to_store(self) -> (OrderField, Direction) {
        let field = match self.field {
            ContactOrderField::Name => OrderField::Name,
            ContactOrderField::CreatedAt => OrderField::CreatedAt,
            ContactOrderField::UpdatedAt => OrderField::UpdatedAt,
        };
        let direction = match self.direction {
            OrderDirection::Asc => Direction::Asc,
            OrderDirection::Desc => Direction::Desc,
        };
        (field, direction)
    }
}

/// What a contact cursor holds: the order it belongs to and the position.
#[derive(Serialize, Deserialize)]
struct ContactCursor {
    field: ContactOrderField,
    direction: OrderDirection,
    /// With a search: the rank the position is in, and which search it was
    /// (a fingerprint of its text: a position among one search's results
    /// means nothing among another's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rank: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    search: Option<u64>,
    text: Option<String>,
    int: Option<i64>,
    id: i64,
}

/// FNV-1a of a search's text: stable across processes and builds, unlike
/// std's hasher, so a cursor stays good on any server.
fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The cursor of `position` in a list in `order`, searched for `search`
/// (its normalised text) if at all.
pub fn contact_cursor(order: ContactOrder, search: Option<&str>, position: &Position) -> String {
    let (text, int) = match &position.key {
        SortKey::Text(text) => (Some(text.clone()), None),
        SortKey::Int(int) => (None, Some(*int)),
    };
    encode_cursor(&ContactCursor {
        field: order.field,
        direction: order.direction,
        rank: position.rank.map(Rank::index),
        search: search.map(fingerprint),
        text,
        int,
        id: position.id,
    })
}

/// The position a cursor holds, checked against the list it is used on:
/// the same order, and a rank exactly when the list is searched, for the
/// same text (`search`, normalised).
pub fn contact_position(
    order: ContactOrder,
    search: Option<&str>,
    cursor: &str,
) -> Result<Position, ApiError> {
    let cursor: ContactCursor = decode_cursor(cursor)?;
    if cursor.field != order.field || cursor.direction != order.direction {
        return Err(ApiError::validation(
            "after",
            "the cursor belongs to another order; start again without it",
        ));
    }
    let rank = match (search, cursor.rank) {
        (Some(text), Some(index)) if cursor.search == Some(fingerprint(text)) => Some(
            Rank::from_index(index)
                .ok_or_else(|| ApiError::validation("after", "is not a cursor of this list"))?,
        ),
        (None, None) => None,
        _ => {
            return Err(ApiError::validation(
                "after",
                "the cursor belongs to a list with another search; start again without it",
            ));
        }
    };
    let key = match (order.field, cursor.text, cursor.int) {
        (ContactOrderField::Name, Some(text), None) => SortKey::Text(text),
        (ContactOrderField::CreatedAt | ContactOrderField::UpdatedAt, None, Some(int)) => {
            SortKey::Int(int)
        }
        _ => {
            return Err(ApiError::validation(
                "after",
                "is not a cursor of this list",
            ));
        }
    };
    Ok(Position {
        rank,
        key,
        id: cursor.id,
    })
}

/// The contacts a filter finds among those the caller can access.
pub struct ContactTotal {
    pub access: Access,
    pub filter: listing::ContactFilter,
}

impl Total for ContactTotal {
    async fn total(&self, ctx: &Context<'_>) -> ApiResult<Counted> {
        let state = state(ctx)?;
        let cap = state.settings.search_count_cap;
        Ok(listing::count(state.store.db(), &self.access, &self.filter, cap).await?)
    }
}

pub type ContactConnection = Connection<Contact, ContactTotal>;

pub struct ContactFieldChange {
    field: String,
    before: Option<String>,
    after: Option<String>,
}

impl ContactFieldChange {
    /// What kind of record a value of this field names: history stores
    /// owners and teams by their database number.
    fn names(&self) -> Option<Kind> {
        match self.field.as_str() {
            "ownerId" => Some(Kind::User),
            "teamId" => Some(Kind::Team),
            _ => None,
        }
    }

    fn shown(&self, raw: &Option<String>) -> Option<String> {
        let raw = raw.as_ref()?;
        match (self.names(), raw.parse::<i64>()) {
            (Some(kind), Ok(id)) => Some(ids::encode(kind, id).to_string()),
            _ => Some(raw.clone()),
        }
    }

    async fn name_of(&self, ctx: &Context<'_>, raw: &Option<String>) -> ApiResult<Option<String>> {
        let id = raw.as_deref().and_then(|raw| raw.parse::<i64>().ok());
        Ok(match self.names() {
            Some(Kind::User) => loaders::load_opt::<users::User>(ctx, id)
                .await?
                .map(|user| user.name),
            Some(Kind::Team) => loaders::load_opt::<users::Team>(ctx, id)
                .await?
                .map(|team| team.name),
            _ => None,
        })
    }
}

#[Object]
impl ContactFieldChange {
    /// The field's name in `ContactInput` (`email`, `ownerId`, ...).
    async fn field(&self) -> &str {
        &self.field
    }

    /// The value before the change; for `ownerId` and `teamId` the user's
    /// or team's id.
    async fn before(&self) -> Option<String> {
        self.shown(&self.before)
    }

    async fn after(&self) -> Option<String> {
        self.shown(&self.after)
    }

    /// For `ownerId` and `teamId`: the name of the user or team `before`
    /// names, while it exists.
    async fn before_name(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.name_of(ctx, &self.before).await
    }

    /// For `ownerId` and `teamId`: the name of the user or team `after`
    /// names, while it exists.
    async fn after_name(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.name_of(ctx, &self.after).await
    }
}

pub struct ContactChange(pub history::ContactChange);

#[Object]
impl ContactChange {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::ContactChange, self.0.id)
    }

    /// CREATED, UPDATED or MERGED.
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// For MERGED: the id of the contact absorbed (it now resolves here).
    async fn merged_contact_id(&self) -> Option<ID> {
        self.0
            .merged_contact_id
            .map(|id| ids::encode(Kind::Contact, id))
    }

    /// Through what the change came: MANUAL, API, IMPORT, ...
    async fn source(&self) -> &str {
        &self.0.source
    }

    async fn at(&self) -> DateTime<Utc> {
        timestamp(self.0.created_at)
    }

    /// Who made the change; null for a user since removed.
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        Ok(loaders::load_opt(ctx, self.0.actor_user_id)
            .await?
            .map(User))
    }

    /// Field by field; a change of a field the caller's role may not read
    /// is left out.
    async fn changes(&self, ctx: &Context<'_>) -> ApiResult<Vec<ContactFieldChange>> {
        let caller = principal(ctx)?;
        Ok(self
            .0
            .changes
            .iter()
            .filter(|c| caller.fields.may_read_named(&c.field))
            .map(|c| ContactFieldChange {
                field: c.field.clone(),
                before: c.before.clone(),
                after: c.after.clone(),
            })
            .collect())
    }
}

/// A contact's history entries.
pub struct HistoryTotal(i64);

impl Total for HistoryTotal {
    async fn total(&self, ctx: &Context<'_>) -> ApiResult<Counted> {
        Ok(Counted::exact(
            history::count(state(ctx)?.store.db(), self.0).await?,
        ))
    }
}

pub type ContactChangeConnection = Connection<ContactChange, HistoryTotal>;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The survivor had no value; the incoming one fills it.
    Filled,
    /// The incoming value replaces the survivor's.
    Overwritten,
    /// The incoming side is empty; the survivor's value is kept.
    Retained,
    /// Both are the same, or both empty.
    Unchanged,
}

mirror_enum!(MergeOutcome <=> merge_plan::MergeOutcome { Filled, Overwritten, Retained, Unchanged });

#[derive(SimpleObject)]
pub struct FieldMerge {
    /// The field's name in `ContactInput`.
    pub field: String,
    /// The survivor's value now.
    pub current: Option<String>,
    /// The value the merge brings.
    pub incoming: Option<String>,
    pub outcome: MergeOutcome,
}

/// What confirming would do. Nothing has been written.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct MergePreview {
    /// The contact that holds the identity and survives the merge.
    pub survivor: Contact,
    /// The contact that would be absorbed; null when the incoming values
    /// come from `createContact`, which has no record yet.
    pub merged: Option<Contact>,
    #[graphql(skip)]
    pub every_field: Vec<FieldMerge>,
}

#[ComplexObject]
impl MergePreview {
    /// Field by field; a field the caller's role may not read is left out.
    async fn fields(&self, ctx: &Context<'_>) -> ApiResult<Vec<&FieldMerge>> {
        let caller = principal(ctx)?;
        Ok(self
            .every_field
            .iter()
            .filter(|f| caller.fields.may_read_named(&f.field))
            .collect())
    }
}

impl From<StoredPreview> for MergePreview {
    fn from(preview: StoredPreview) -> Self {
        Self {
            survivor: Contact(preview.survivor),
            merged: preview.merged.map(Contact),
            every_field: preview
                .fields
                .into_iter()
                .map(|f| FieldMerge {
                    field: f.field.to_owned(),
                    current: f.current,
                    incoming: f.incoming,
                    outcome: f.outcome.into(),
                })
                .collect(),
        }
    }
}
