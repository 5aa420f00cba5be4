//! Listing contacts: filter, order and keyset pagination. Pages continue
//! after the (order key, id) of the last row seen, so a page costs the same
//! at row one million as at row one, and rows inserted meanwhile neither
//! repeat nor vanish.

use sea_orm::sea_query::{Expr, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
};

use super::StoreError;
use super::contact_search::PreparedSearch;
use super::contacts::{ContactRecord, access_condition};
use super::entities::contact;
use crate::domain::search::Rank;
use crate::domain::{Access, Source};

#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// What `domain::search` finds, in its ranks; made ready once per
    /// request so a page and its count ask the index once.
    pub search: Option<PreparedSearch>,
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

/// The value of the order key of one row, as a cursor carries it. One list
/// holds one kind; text compares byte by byte, as both databases' order
/// does (`sort_name` is `COLLATE "C"` on PostgreSQL, BINARY on SQLite).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortKey {
    Text(String),
    Int(i64),
}

/// Where a row stands in a list: with a search, its rank comes first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub rank: Option<Rank>,
    pub key: SortKey,
    pub id: i64,
}

/// A row of a page and where it stands, for its cursor.
pub struct Listed {
    pub record: ContactRecord,
    pub position: Position,
}

/// How many contacts a list holds. With a search, counting stops past a
/// cap (`Settings::search_count_cap`), so a search matching half a million
/// contacts costs what one matching a thousand does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub value: u64,
    /// There are more than `value`; counting stopped there.
    pub capped: bool,
}

impl Count {
    pub fn exact(value: u64) -> Self {
        Self {
            value,
            capped: false,
        }
    }
}

impl OrderField {
    fn column(self) -> contact::Column {
        match self {
            OrderField::Name => contact::Column::SortName,
            OrderField::CreatedAt => contact::Column::CreatedAt,
            OrderField::UpdatedAt => contact::Column::UpdatedAt,
        }
    }

    /// Where `record` stands in this order, in the rank given.
    pub fn position_of(self, record: &ContactRecord, rank: Option<Rank>) -> Position {
        let key = match self {
            OrderField::Name => SortKey::Text(record.fields.sort_name()),
            OrderField::CreatedAt => SortKey::Int(record.created_at),
            OrderField::UpdatedAt => SortKey::Int(record.updated_at),
        };
        Position {
            rank,
            key,
            id: record.id,
        }
    }
}

/// Access and every filter but the search.
fn filter_condition(access: &Access, filter: &ContactFilter) -> Condition {
    let mut condition = Condition::all().add(access_condition(access));
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

/// Up to `limit` contacts after `after`, in the order asked; with a search,
/// rank by rank (each rank one query in the order asked, so every query
/// walks an index or sorts a few rows).
pub async fn page(
    db: &impl ConnectionTrait,
    access: &Access,
    filter: &ContactFilter,
    order: (OrderField, Direction),
    after: Option<&Position>,
    limit: u64,
) -> Result<Vec<Listed>, StoreError> {
    let base = filter_condition(access, filter);
    let Some(search) = &filter.search else {
        let rows = ordered(db, base, order, after, limit).await?;
        return Ok(listed(rows, order.0, None));
    };
    let first = after.and_then(|a| a.rank).unwrap_or(Rank::ExactIdentity);
    let mut page = Vec::new();
    for rank in Rank::ALL.into_iter().filter(|rank| *rank >= first) {
        let left = limit.saturating_sub(page.len() as u64);
        if left == 0 {
            break;
        }
        let after = after.filter(|a| a.rank == Some(rank));
        let mut rows = Vec::new();
        let parts = search.ranked(rank);
        let several = parts.len() > 1;
        for part in parts {
            let condition = base.clone().add(part);
            rows.extend(listed(
                ordered(db, condition, order, after, left).await?,
                order.0,
                Some(rank),
            ));
        }
        if several {
            // Each part's first `left` hold the union's first `left`; a
            // contact in two parts is one row.
            rows.sort_by(|a, b| {
                let by = (&a.position.key, a.position.id).cmp(&(&b.position.key, b.position.id));
                match order.1 {
                    Direction::Asc => by,
                    Direction::Desc => by.reverse(),
                }
            });
            rows.dedup_by_key(|row| row.record.id);
            rows.truncate(usize::try_from(left).unwrap_or(usize::MAX));
        }
        page.extend(rows);
    }
    Ok(page)
}

fn listed(rows: Vec<ContactRecord>, field: OrderField, rank: Option<Rank>) -> Vec<Listed> {
    rows.into_iter()
        .map(|record| Listed {
            position: field.position_of(&record, rank),
            record,
        })
        .collect()
}

async fn ordered(
    db: &impl ConnectionTrait,
    condition: Condition,
    (field, direction): (OrderField, Direction),
    after: Option<&Position>,
    limit: u64,
) -> Result<Vec<ContactRecord>, StoreError> {
    let order = match direction {
        Direction::Asc => Order::Asc,
        Direction::Desc => Order::Desc,
    };
    let mut query = contact::Entity::find()
        .filter(condition)
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

/// How many contacts the list holds; with a search, up to `search_cap`.
pub async fn count(
    db: &impl ConnectionTrait,
    access: &Access,
    filter: &ContactFilter,
    search_cap: u64,
) -> Result<Count, StoreError> {
    let base = filter_condition(access, filter);
    let Some(search) = &filter.search else {
        let value = contact::Entity::find().filter(base).count(db).await?;
        return Ok(Count::exact(value));
    };
    let matches = contact::Entity::find()
        .select_only()
        .column(contact::Column::Id)
        .filter(base.add(search.matches()))
        .limit(search_cap.saturating_add(1))
        .into_query();
    let statement = SelectStatement::new()
        .expr_as(Expr::cust("COUNT(*)"), "matched")
        .from_subquery(matches, "matches")
        .to_owned();
    let matched = db
        .query_one(&statement)
        .await?
        .map(|row| row.try_get::<i64>("", "matched"))
        .transpose()?
        .unwrap_or(0);
    let matched = u64::try_from(matched).unwrap_or(0);
    Ok(Count {
        value: matched.min(search_cap),
        capped: matched > search_cap,
    })
}
