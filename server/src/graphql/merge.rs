//! Reversible merges in the API (DESIGN.md section 13): the `Merge` node,
//! `Contact.merges` and `undoMerge`'s payload.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::contact::{Contact, FieldMerge, timestamp};
use super::error::{ApiError, ApiResult};
use super::field_policy::ContactField;
use super::field_policy::Reads;
use super::ids::{self, Kind};
use super::loaders;
use super::page::{Connection, Counted, Edge, Total, decode_cursor, encode_cursor, page_size};
use super::user::{Team, User};
use super::{principal, state};
use crate::domain::ContactFields;
use crate::domain::field_policy::{ContactField as Field, FieldRights};
use crate::domain::merge_plan::{self, Choices};
use crate::store::contacts::ContactRecord;
use crate::store::merges::{self, AbsorbedRecord, MergeRecord, NewestStanding};

/// Which side of a merge a field's value comes from.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum MergeSide {
    /// The value of the contact that survives (kept: RETAINED).
    Survivor,
    /// The value the merge brings, by the rule: empty never clears.
    Incoming,
}

mirror_enum!(MergeSide <=> merge_plan::Side { Survivor, Incoming });

/// A field's side, chosen before confirming a merge.
#[derive(InputObject, Clone, Copy)]
pub struct FieldChoice {
    /// One of the contact's own fields (not OWNER, TEAM or HISTORY).
    pub field: ContactField,
    pub keep: MergeSide,
}

/// The choices as the store takes them: each field once (VALIDATION on
/// `choices` otherwise).
pub fn choices(given: Option<Vec<FieldChoice>>) -> Result<Choices, ApiError> {
    let chosen = given
        .unwrap_or_default()
        .into_iter()
        .map(|choice| (Field::from(choice.field).input_name(), choice.keep.into()));
    Ok(Choices::new(chosen)?)
}

/// A merge into a contact, with what it changed; `undoMerge` gives it back.
// Boxed: what a merge changed is large beside the other `Node` variants.
pub struct Merge(pub Box<MergeRecord>);

#[Object]
impl Merge {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Merge, self.0.id)
    }

    /// The contact that kept the identity; null when the caller cannot
    /// access it now.
    async fn survivor(&self, ctx: &Context<'_>) -> ApiResult<Option<Contact>> {
        let caller = principal(ctx)?;
        let found: Option<ContactRecord> = loaders::load(ctx, self.0.survivor_id).await?;
        Ok(found
            .filter(|c| c.id == self.0.survivor_id && caller.can_access(c.owner_id, c.team_id))
            .map(Contact))
    }

    /// The id of the contact absorbed; null when the incoming values came
    /// from an input (`createContact`), not a record. While the merge
    /// stands it resolves to the survivor; once undone, to itself again.
    async fn merged_id(&self) -> Option<ID> {
        self.0.merged_id.map(|id| ids::encode(Kind::Contact, id))
    }

    async fn merged_at(&self) -> DateTime<Utc> {
        timestamp(self.0.merged_at)
    }

    async fn merged_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        Ok(loaders::load_opt(ctx, self.0.merged_by_user_id)
            .await?
            .map(User))
    }

    /// Through what the merge came: MANUAL, API, IMPORT, ...
    async fn source(&self) -> &str {
        &self.0.source
    }

    /// Null while the merge stands.
    async fn undone_at(&self) -> Option<DateTime<Utc>> {
        self.0.undone_at.map(timestamp)
    }

    /// Whether `undoMerge` would take it now, as far as the merges go: not
    /// undone, no later merge into the same contact standing (undo those
    /// first, newest first), its survivor not merged away since. An
    /// identity taken since, a stale version or the caller's role may
    /// still refuse it.
    async fn undoable(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        // Batched, so a page of merges costs two queries, not two a merge.
        // Both loads join their batches at once: loading the survivor only
        // after the newest merge came back would join the contacts batch
        // of `survivor` on some runs and open a second one on others.
        let (newest, survivor) = async_graphql::futures_util::future::try_join(
            loaders::load::<NewestStanding>(ctx, self.0.survivor_id),
            loaders::load::<ContactRecord>(ctx, self.0.survivor_id),
        )
        .await?;
        Ok(self.0.undoable(newest, survivor.is_some()))
    }

    /// The survivor's fields this merge filled or overwrote that were
    /// edited since: an undo now keeps their later values (the
    /// `keptFields` it would answer). Empty once undone, or when the
    /// survivor was merged away; fields the caller may not read are left
    /// out.
    async fn edited_since(&self, ctx: &Context<'_>) -> ApiResult<Vec<ContactField>> {
        let caller = principal(ctx)?;
        if self.0.undone_at.is_some() {
            return Ok(Vec::new());
        }
        let survivor: Option<ContactRecord> = loaders::load(ctx, self.0.survivor_id).await?;
        let Some(survivor) = survivor.filter(|c| c.id == self.0.survivor_id) else {
            return Ok(Vec::new());
        };
        let unmerge = merge_plan::unmerge(
            &self.0.survivor_before,
            &self.0.survivor_after,
            &survivor.fields,
        );
        Ok(field_names(&caller.fields, &unmerge.kept))
    }

    /// The absorbed record as it was just before the merge (what an undo
    /// brings back); null for a merge of an input, and for a caller who
    /// could not reach that record (its owner's or team's).
    async fn absorbed(&self, ctx: &Context<'_>) -> ApiResult<Option<AbsorbedContact>> {
        let caller = principal(ctx)?;
        Ok(self
            .0
            .absorbed
            .clone()
            .filter(|record| caller.can_access(record.owner_id, record.team_id))
            .map(AbsorbedContact))
    }

    /// The survivor's fields just before the merge (readable ones).
    async fn survivor_before(&self, ctx: &Context<'_>) -> ApiResult<Vec<FieldValue>> {
        readable(ctx, &self.0.survivor_before)
    }

    /// The survivor's fields as the merge left them (readable ones).
    async fn survivor_after(&self, ctx: &Context<'_>) -> ApiResult<Vec<FieldValue>> {
        readable(ctx, &self.0.survivor_after)
    }

    /// How many of each kind moved from the absorbed record to the
    /// survivor (the id lists below give the first `first` of each).
    async fn moved_counts(&self) -> MovedCounts {
        let count = |ids: &[i64]| i32::try_from(ids.len()).unwrap_or(i32::MAX);
        let moved = &self.0.moved;
        MovedCounts {
            activities: count(&moved.activities),
            meetings: count(&moved.meetings),
            notifications: count(&moved.notifications),
            aliases: count(&moved.aliases),
        }
    }

    /// Activities that moved from the absorbed record to the survivor, the
    /// first `first` (default 20, at most 100): a busy contact moves tens
    /// of thousands, which one answer does not carry.
    async fn moved_activity_ids(&self, first: Option<i32>) -> ApiResult<Vec<ID>> {
        global(Kind::Activity, &self.0.moved.activities, first)
    }

    async fn moved_meeting_ids(&self, first: Option<i32>) -> ApiResult<Vec<ID>> {
        global(Kind::Meeting, &self.0.moved.meetings, first)
    }

    async fn moved_notification_ids(&self, first: Option<i32>) -> ApiResult<Vec<ID>> {
        global(Kind::Notification, &self.0.moved.notifications, first)
    }

    /// Contacts merged into the absorbed one before, whose ids followed it.
    async fn moved_alias_ids(&self, first: Option<i32>) -> ApiResult<Vec<ID>> {
        global(Kind::Contact, &self.0.moved.aliases, first)
    }

    /// The preview the merge was confirmed with, field by field; a field
    /// the caller's role may not read is left out.
    async fn fields(&self, ctx: &Context<'_>) -> ApiResult<Vec<FieldMerge>> {
        let caller = principal(ctx)?;
        Ok(self
            .0
            .fields
            .iter()
            .filter(|f| caller.fields.may_read_named(f.field))
            .map(|f| FieldMerge {
                field: f.field.to_owned(),
                current: f.current.clone(),
                incoming: f.incoming.clone(),
                outcome: f.outcome.into(),
            })
            .collect())
    }
}

/// One field's value, by its name in `ContactInput`.
#[derive(SimpleObject)]
pub struct FieldValue {
    pub field: String,
    pub value: Option<String>,
}

/// The values of `fields` the caller's role may read.
fn readable(ctx: &Context<'_>, fields: &ContactFields) -> ApiResult<Vec<FieldValue>> {
    let caller = principal(ctx)?;
    Ok(fields
        .named_values()
        .into_iter()
        .filter(|(name, _)| caller.fields.may_read_named(name))
        .map(|(name, value)| FieldValue {
            field: name.to_owned(),
            value: value.map(str::to_owned),
        })
        .collect())
}

/// Contact fields named as `ContactInput` names them, those `rights` may
/// read.
pub fn field_names(rights: &FieldRights, names: &[&str]) -> Vec<ContactField> {
    names
        .iter()
        .filter(|name| rights.may_read_named(name))
        .filter_map(|name| Field::from_input_name(name))
        .map(Into::into)
        .collect()
}

/// How many of each kind a merge moved.
#[derive(SimpleObject)]
pub struct MovedCounts {
    pub activities: i32,
    pub meetings: i32,
    pub notifications: i32,
    pub aliases: i32,
}

/// The first `first` of `ids` (a page's size and bounds), as global ids.
fn global(kind: Kind, ids: &[i64], first: Option<i32>) -> ApiResult<Vec<ID>> {
    let limit = usize::try_from(page_size(first)?).unwrap_or(usize::MAX);
    Ok(ids
        .iter()
        .take(limit)
        .map(|id| ids::encode(kind, *id))
        .collect())
}

/// The record a merge absorbed, as it was just before.
pub struct AbsorbedContact(AbsorbedRecord);

#[Object]
impl AbsorbedContact {
    /// Field by field; a field the caller's role may not read is left out.
    async fn fields(&self, ctx: &Context<'_>) -> ApiResult<Vec<FieldValue>> {
        readable(ctx, &self.0.fields)
    }

    #[graphql(guard = "Reads(Field::Owner)")]
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        Ok(loaders::load_opt(ctx, self.0.owner_id).await?.map(User))
    }

    #[graphql(guard = "Reads(Field::Team)")]
    async fn team(&self, ctx: &Context<'_>) -> ApiResult<Option<Team>> {
        Ok(loaders::load_opt(ctx, self.0.team_id).await?.map(Team))
    }
}

/// The merges into one contact.
pub struct MergeTotal(pub i64);

impl Total for MergeTotal {
    async fn total(&self, ctx: &Context<'_>) -> ApiResult<Counted> {
        Ok(Counted::exact(
            merges::count_of_survivor(state(ctx)?.store.db(), self.0).await?,
        ))
    }
}

pub type MergeConnection = Connection<Merge, MergeTotal>;

/// A page of the merges into `survivor_id`, newest first.
pub async fn merge_page(
    ctx: &Context<'_>,
    survivor_id: i64,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<MergeConnection> {
    let limit = page_size(first)?;
    let before_id = after.as_deref().map(decode_cursor::<i64>).transpose()?;
    let rows =
        merges::of_survivor(state(ctx)?.store.db(), survivor_id, before_id, limit + 1).await?;
    Ok(Connection::from_rows(
        rows,
        limit,
        MergeTotal(survivor_id),
        |merge| Edge {
            cursor: encode_cursor(&merge.id),
            node: Merge(Box::new(merge)),
        },
    ))
}

/// What `undoMerge` gave back.
#[derive(SimpleObject)]
pub struct UndoMergePayload {
    /// The contact that kept the identity, with the fields the merge
    /// changed back as they were (but those in `keptFields`).
    pub survivor: Contact,
    /// The absorbed contact, under its own id again; null for a merge of
    /// an input, which had no record.
    pub restored: Option<Contact>,
    /// Fields the merge filled or overwrote that were edited since: they
    /// keep the later value.
    pub kept_fields: Vec<ContactField>,
}
