//! Listing contacts: filter, order and keyset pagination. Pages continue
//! after the (order key, id) of the last row seen, so a page costs the same
//! at row one million as at row one, and rows inserted meanwhile neither
//! repeat nor vanish.

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
};

use super::StoreError;
use super::contacts::{ContactRecord, access_condition};
use super::entities::contact;
use crate::domain::{Access, Source};

#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Matched, case-insensitively, inside name and company, and inside
    /// email and (by its digits) mobile phone when `search_personal_data`.
    pub search: Option<String>,
    /// Whether the caller may read email and phone, and so search them:
    /// otherwise a search would answer yes/no questions about them.
    pub search_personal_data: bool,
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    pub source: Option<Source>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderField {
    #[default]
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    Asc,
    Desc,
}

/// The value of the order key of one row, as a cursor carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    Text(String),
    Int(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub key: SortKey,
    pub id: i64,
}

impl OrderField {
    fn column(self) -> contact::Column {
        match self {
            OrderField::Name => contact::Column::SortName,
            OrderField::CreatedAt => contact::Column::CreatedAt,
            OrderField::UpdatedAt => contact::Column::UpdatedAt,
        }
    }

    /// Where `record` stands in this order.
    pub fn position_of(self, record: &ContactRecord) -> Position {
        let key = match self {
            OrderField::Name => SortKey::Text(record.fields.sort_name()),
            OrderField::CreatedAt => SortKey::Int(record.created_at),
            OrderField::UpdatedAt => SortKey::Int(record.updated_at),
        };
        Position { key, id: record.id }
    }
}

/// `%term%` with LIKE's own wildcards escaped, so a search for "50%" means it.
fn contains_pattern(term: &str) -> LikeExpr {
    let escaped = term
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

fn filter_condition(access: &Access, filter: &ContactFilter) -> Condition {
    let mut condition = Condition::all().add(access_condition(access));
    if let Some(term) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let lowered = term.to_lowercase();
        let mut any = Condition::any()
            .add(contact::Column::SortName.like(contains_pattern(&lowered)))
            .add(
                Expr::expr(Func::lower(Expr::col(contact::Column::Company)))
                    .like(contains_pattern(&lowered)),
            );
        if filter.search_personal_data {
            any = any.add(contact::Column::Email.like(contains_pattern(&lowered)));
            let digits: String = term.chars().filter(char::is_ascii_digit).collect();
            if digits.len() >= 3 {
                any = any.add(contact::Column::MobilePhone.like(contains_pattern(&digits)));
            }
        }
        condition = condition.add(any);
    }
    if let Some(owner_id) = filter.owner_id {
        condition = condition.add(contact::Column::OwnerId.eq(owner_id));
    }
    if let Some(team_id) = filter.team_id {
        condition = condition.add(contact::Column::TeamId.eq(team_id));
    }
    if let Some(source) = filter.source {
        condition = condition.add(contact::Column::Source.eq(source.as_str()));
    }
    condition
}

fn after_condition(field: OrderField, direction: Direction, after: &Position) -> Condition {
    let column = field.column();
    let key = match &after.key {
        SortKey::Text(text) => sea_orm::Value::from(text.clone()),
        SortKey::Int(int) => sea_orm::Value::from(*int),
    };
    match direction {
        Direction::Asc => Condition::any().add(column.gt(key.clone())).add(
            Condition::all()
                .add(column.eq(key))
                .add(contact::Column::Id.gt(after.id)),
        ),
        Direction::Desc => Condition::any().add(column.lt(key.clone())).add(
            Condition::all()
                .add(column.eq(key))
                .add(contact::Column::Id.lt(after.id)),
        ),
    }
}

fn filtered(access: &Access, filter: &ContactFilter) -> Select<contact::Entity> {
    contact::Entity::find().filter(filter_condition(access, filter))
}

/// Up to `limit` contacts after `after`, in the order asked.
pub async fn page(
    db: &impl ConnectionTrait,
    access: &Access,
    filter: &ContactFilter,
    (field, direction): (OrderField, Direction),
    after: Option<&Position>,
    limit: u64,
) -> Result<Vec<ContactRecord>, StoreError> {
    let order = match direction {
        Direction::Asc => Order::Asc,
        Direction::Desc => Order::Desc,
    };
    let mut query = filtered(access, filter)
        .order_by(field.column(), order.clone())
        .order_by(contact::Column::Id, order)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(after_condition(field, direction, after));
    }
    query
        .all(db)
        .await?
        .into_iter()
        .map(ContactRecord::try_from)
        .collect()
}

pub async fn count(
    db: &impl ConnectionTrait,
    access: &Access,
    filter: &ContactFilter,
) -> Result<u64, StoreError> {
    Ok(filtered(access, filter).count(db).await?)
}
