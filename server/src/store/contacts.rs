//! Contacts: reading them (through merged ids too) and deleting them.
//! Creating and editing live in `save`, merging in `merge`.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::StoreError;
use super::entities::{contact, contact_alias};
use crate::domain::{Access, ContactFields, Email, Phone};

pub use crate::domain::contact::ContactRecord;

impl TryFrom<contact::Model> for ContactRecord {
    type Error = StoreError;

    fn try_from(model: contact::Model) -> Result<Self, StoreError> {
        let source = model
            .source
            .parse()
            .map_err(|e: String| StoreError::Db(sea_orm::DbErr::Custom(e)))?;
        Ok(Self {
            id: model.id,
            fields: ContactFields {
                first_name: model.first_name,
                last_name: model.last_name,
                email: model.email.map(Email::from_trusted),
                mobile_phone: model.mobile_phone.map(Phone::from_trusted),
                company: model.company,
                job_title: model.job_title,
                timezone: model.timezone,
            },
            source,
            owner_id: model.owner_id,
            team_id: model.team_id,
            version: model.version,
            created_at: model.created_at,
            updated_at: model.updated_at,
        })
    }
}

/// The SQL form of [`Access`]: a contact is reachable when this holds.
pub fn access_condition(access: &Access) -> Condition {
    match access {
        Access::All => Condition::all(),
        Access::OwnedOrShared { user_id, team_ids } => {
            let mut any = Condition::any().add(contact::Column::OwnerId.eq(*user_id));
            if !team_ids.is_empty() {
                any = any.add(contact::Column::TeamId.is_in(team_ids.iter().copied()));
            }
            any
        }
    }
}

/// Whether a read inside a write transaction locks the row it finds.
/// PostgreSQL takes a row lock (`FOR UPDATE`), so the row read is the row
/// written; SQLite ignores it, its write transactions being serial anyway.
/// The identity a contact is looked up by.
#[derive(Debug, Clone, Copy)]
pub(super) enum Identity {
    Email,
    MobilePhone,
}

impl Identity {
    pub(super) fn column(self) -> contact::Column {
        match self {
            Identity::Email => contact::Column::Email,
            Identity::MobilePhone => contact::Column::MobilePhone,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    None,
    ForUpdate,
}

async fn one(
    db: &impl ConnectionTrait,
    condition: Condition,
    lock: Lock,
) -> Result<Option<ContactRecord>, StoreError> {
    let mut query = contact::Entity::find().filter(condition);
    if lock == Lock::ForUpdate {
        query = query.lock_exclusive();
    }
    query
        .one(db)
        .await?
        .map(ContactRecord::try_from)
        .transpose()
}

/// The contact with `id` if the caller can access it. An id absorbed by a
/// merge is not found here; see [`resolve`].
pub async fn find_accessible(
    db: &impl ConnectionTrait,
    access: &Access,
    id: i64,
    lock: Lock,
) -> Result<Option<ContactRecord>, StoreError> {
    let condition = Condition::all()
        .add(contact::Column::Id.eq(id))
        .add(access_condition(access));
    one(db, condition, lock).await
}

/// The contacts with these ids, whoever may access them: the caller
/// filters. One query for many ids, so concurrent reads can share it.
pub async fn find_many(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, ContactRecord>, StoreError> {
    contact::Entity::find()
        .filter(contact::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|model| ContactRecord::try_from(model).map(|record| (record.id, record)))
        .collect()
}

/// The contact `id` stands for, following a merge to its survivor, if the
/// caller can access it.
pub async fn resolve(
    db: &impl ConnectionTrait,
    access: &Access,
    id: i64,
) -> Result<Option<ContactRecord>, StoreError> {
    if let Some(found) = find_accessible(db, access, id, Lock::None).await? {
        return Ok(Some(found));
    }
    match survivor_of(db, id).await? {
        Some(survivor_id) => find_accessible(db, access, survivor_id, Lock::None).await,
        None => Ok(None),
    }
}

async fn survivor_of(db: &impl ConnectionTrait, merged_id: i64) -> Result<Option<i64>, StoreError> {
    Ok(contact_alias::Entity::find_by_id(merged_id)
        .one(db)
        .await?
        .map(|alias| alias.survivor_id))
}

/// The ids merged into each of `survivor_ids`, oldest merge first; a
/// contact nothing was merged into is left out. One query for many.
pub async fn merged_ids(
    db: &impl ConnectionTrait,
    survivor_ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<i64>>, StoreError> {
    let rows = contact_alias::Entity::find()
        .select_only()
        .column(contact_alias::Column::SurvivorId)
        .column(contact_alias::Column::MergedId)
        .filter(contact_alias::Column::SurvivorId.is_in(survivor_ids.iter().copied()))
        .order_by_asc(contact_alias::Column::CreatedAt)
        .order_by_asc(contact_alias::Column::MergedId)
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?;
    let mut by_survivor: std::collections::HashMap<i64, Vec<i64>> = Default::default();
    for (survivor_id, merged_id) in rows {
        by_survivor.entry(survivor_id).or_default().push(merged_id);
    }
    Ok(by_survivor)
}

pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &Email,
    lock: Lock,
) -> Result<Option<ContactRecord>, StoreError> {
    one(
        db,
        Condition::all().add(contact::Column::Email.eq(email.as_str())),
        lock,
    )
    .await
}

pub async fn find_by_phone(
    db: &impl ConnectionTrait,
    phone: &Phone,
    lock: Lock,
) -> Result<Option<ContactRecord>, StoreError> {
    one(
        db,
        Condition::all().add(contact::Column::MobilePhone.eq(phone.as_str())),
        lock,
    )
    .await
}
