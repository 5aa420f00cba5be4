//! The contact's history: who changed which field, when, and through what.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};

use super::entities::{contact, contact_change};
use super::{StoreError, now_micros};
use crate::domain::field_policy::ContactField;
use crate::domain::{FieldChange, Principal, Source};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeAction {
    Created,
    Updated,
    /// Another contact was absorbed into this one.
    Merged,
    /// A merge into or out of this contact was undone.
    Unmerged,
}

impl ChangeAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeAction::Created => "CREATED",
            ChangeAction::Updated => "UPDATED",
            ChangeAction::Merged => "MERGED",
            ChangeAction::Unmerged => "UNMERGED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// `StoredFieldChange` as written, borrowing what it writes. An empty side
/// is left out (a creation has no `before`): an import writes a million of
/// these, and a missing field reads back as `None`.
#[derive(Serialize)]
struct StoredFieldChangeRef<'a> {
    field: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    before: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactChange {
    pub id: i64,
    pub contact_id: i64,
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub source: String,
    pub changes: Vec<StoredFieldChange>,
    pub merged_contact_id: Option<i64>,
    pub created_at: i64,
}

/// One history entry to append.
pub struct Entry<'a> {
    pub contact_id: i64,
    pub actor_user_id: Option<i64>,
    pub action: ChangeAction,
    pub source: Source,
    pub changes: &'a [FieldChange],
    pub merged_contact_id: Option<i64>,
}

pub async fn record(db: &impl ConnectionTrait, entry: Entry<'_>) -> Result<(), StoreError> {
    active_model(&entry, now_micros())?.insert(db).await?;
    Ok(())
}

/// Appends many entries in few statements: an import's created contacts.
pub async fn record_many(
    db: &impl ConnectionTrait,
    entries: &[Entry<'_>],
) -> Result<(), StoreError> {
    // 7 bound values a row; SQLite takes up to 32,766 in one statement.
    const ROWS_PER_STATEMENT: usize = 2000;
    let now = now_micros();
    for chunk in entries.chunks(ROWS_PER_STATEMENT) {
        let models = chunk
            .iter()
            .map(|entry| active_model(entry, now))
            .collect::<Result<Vec<_>, _>>()?;
        contact_change::Entity::insert_many(models)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

pub(super) fn active_model(
    entry: &Entry<'_>,
    now: i64,
) -> Result<contact_change::ActiveModel, StoreError> {
    Ok(active_model_with(
        entry,
        stored_changes(entry.changes)?,
        now,
    ))
}

/// `changes` as the history table stores them.
pub(super) fn stored_changes(changes: &[FieldChange]) -> Result<String, StoreError> {
    let stored: Vec<StoredFieldChangeRef<'_>> = changes
        .iter()
        .map(|c| StoredFieldChangeRef {
            field: c.field,
            before: c.before.as_deref(),
            after: c.after.as_deref(),
        })
        .collect();
    serde_json::to_string(&stored)
        .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))
}

/// The row for `entry`, its changes already in their stored form.
pub(super) fn active_model_with(
    entry: &Entry<'_>,
    stored_changes: String,
    now: i64,
) -> contact_change::ActiveModel {
    contact_change::ActiveModel {
        contact_id: Set(entry.contact_id),
        actor_user_id: Set(entry.actor_user_id),
        action: Set(entry.action.as_str().to_owned()),
        source: Set(entry.source.as_str().to_owned()),
        changes: Set(stored_changes),
        merged_contact_id: Set(entry.merged_contact_id),
        created_at: Set(now),
        ..Default::default()
    }
}

/// Newest first; `before_id` continues after the last entry of a page.
pub async fn page(
    db: &impl ConnectionTrait,
    contact_id: i64,
    before_id: Option<i64>,
    limit: u64,
) -> Result<Vec<ContactChange>, StoreError> {
    let mut query = contact_change::Entity::find()
        .filter(contact_change::Column::ContactId.eq(contact_id))
        .order_by_desc(contact_change::Column::Id)
        .limit(limit);
    if let Some(before_id) = before_id {
        query = query.filter(contact_change::Column::Id.lt(before_id));
    }
    query
        .all(db)
        .await?
        .into_iter()
        .map(ContactChange::try_from)
        .collect()
}

impl TryFrom<contact_change::Model> for ContactChange {
    type Error = StoreError;

    fn try_from(model: contact_change::Model) -> Result<Self, StoreError> {
        let changes = serde_json::from_str(&model.changes)
            .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?;
        Ok(ContactChange {
            id: model.id,
            contact_id: model.contact_id,
            actor_user_id: model.actor_user_id,
            action: model.action,
            source: model.source,
            changes,
            merged_contact_id: model.merged_contact_id,
            created_at: model.created_at,
        })
    }
}

/// One entry, when the caller may read its contact's history
/// ([`Principal::may_read_history_of`]); `None` otherwise, as for one that
/// does not exist.
pub async fn find_readable(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: i64,
) -> Result<Option<ContactChange>, StoreError> {
    if !principal.may_read(ContactField::History) {
        return Ok(None);
    }
    let Some(model) = contact_change::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let assignment = contact::Entity::find_by_id(model.contact_id)
        .select_only()
        .column(contact::Column::OwnerId)
        .column(contact::Column::TeamId)
        .into_tuple::<(Option<i64>, Option<i64>)>()
        .one(db)
        .await?;
    match assignment {
        Some((owner_id, team_id)) if principal.may_read_history_of(owner_id, team_id) => {
            ContactChange::try_from(model).map(Some)
        }
        _ => Ok(None),
    }
}

/// A merged contact's history becomes the survivor's.
pub async fn move_to(db: &impl ConnectionTrait, from: i64, to: i64) -> Result<(), StoreError> {
    contact_change::Entity::update_many()
        .col_expr(
            contact_change::Column::ContactId,
            sea_orm::sea_query::Expr::value(to),
        )
        .filter(contact_change::Column::ContactId.eq(from))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn count(db: &impl ConnectionTrait, contact_id: i64) -> Result<u64, StoreError> {
    Ok(contact_change::Entity::find()
        .filter(contact_change::Column::ContactId.eq(contact_id))
        .count(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_side_is_left_out_and_reads_back_empty() {
        let written = serde_json::to_string(&[
            StoredFieldChangeRef {
                field: "email",
                before: None,
                after: Some("ann@example.com"),
            },
            StoredFieldChangeRef {
                field: "company",
                before: Some("Acme"),
                after: None,
            },
        ])
        .unwrap();
        assert_eq!(
            written,
            r#"[{"field":"email","after":"ann@example.com"},{"field":"company","before":"Acme"}]"#
        );
        let read: Vec<StoredFieldChange> = serde_json::from_str(&written).unwrap();
        assert_eq!(read[0].before, None);
        assert_eq!(read[1].after, None);
        // Entries written before empty sides were left out read the same.
        let older: Vec<StoredFieldChange> =
            serde_json::from_str(r#"[{"field":"email","before":null,"after":"ann@example.com"}]"#)
                .unwrap();
        assert_eq!(older[0], read[0]);
    }
}
