//! Import writes on PostgreSQL.
//!
//! A batch that only creates contacts, when no integration listens, is
//! written by `PgBatch`: on one connection of the pool, in a transaction
//! of its own, its rows sent by `COPY ... FROM STDIN` while they are being
//! encoded, so the server inserts one chunk while this process writes the
//! next. The contacts' ids are drawn from their sequence first, so their
//! history rows can follow without the inserts answering.
//!
//! The general path (a batch that changes stored contacts) writes through
//! SeaORM, whose transactions give no access to their connection for a
//! `COPY`; there a batch's rows for one table go in as one JSON parameter,
//! which `json_populate_recordset` turns into rows of the table's own
//! type. As a multi-row `VALUES` list they were 14 parameters a contact,
//! each parsed, bound and planned as an expression of its own; the server
//! spent more time on that than on writing the rows (BENCHMARKS.md).

use std::fmt::Write as _;
use std::sync::Arc;

use sea_orm::sqlx::postgres::{PgArguments, PgPool, Postgres};
use sea_orm::sqlx::query::Query;
use sea_orm::sqlx::{self, Arguments as _};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ConnectionTrait, DatabaseBackend, DbErr, EntityName,
    EntityTrait, IdenStatic, Iterable, QueryResult, RuntimeErr, Statement, Value,
};
use serde_json::{Map, Value as Json};

use super::StoreError;
use super::contacts::Identity;
use super::entities::contact;

/// Inserts the rows `models` set (each must set the same columns) and
/// returns `returning` of each, in no promised order.
pub(super) async fn insert_rows<A: ActiveModelTrait>(
    db: &impl ConnectionTrait,
    models: &[A],
    returning: Option<&str>,
) -> Result<Vec<QueryResult>, StoreError> {
    let Some(first) = models.first() else {
        return Ok(Vec::new());
    };
    let columns = set_columns(first);
    let mut rows = Vec::with_capacity(models.len());
    for model in models {
        let mut row = Map::with_capacity(columns.len());
        for column in &columns {
            let value = match model.get(*column) {
                ActiveValue::Set(value) | ActiveValue::Unchanged(value) => json(value)?,
                ActiveValue::NotSet => return Err(not_set(column.as_str())),
            };
            row.insert(column.as_str().to_owned(), value);
        }
        rows.push(Json::Object(row));
    }
    let table = A::Entity::default().table_name();
    let names = column_list(&columns);
    let mut sql = format!(
        "INSERT INTO \"{table}\" ({names}) SELECT {names} \
         FROM json_populate_recordset(NULL::\"{table}\", $1::json)"
    );
    let rows =
        serde_json::to_string(&rows).map_err(|e| StoreError::Db(DbErr::Custom(e.to_string())))?;
    let values = [Value::String(Some(rows))];
    match returning {
        Some(returning) => {
            sql.push_str(" RETURNING ");
            sql.push_str(returning);
            let statement = Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values);
            Ok(db.query_all_raw(statement).await?)
        }
        None => {
            let statement = Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values);
            db.execute_raw(statement).await?;
            Ok(Vec::new())
        }
    }
}

fn is_set(value: &ActiveValue<Value>) -> bool {
    !matches!(value, ActiveValue::NotSet)
}

/// The JSON form of a value, as `json_populate_recordset` reads it back.
fn json(value: Value) -> Result<Json, StoreError> {
    Ok(match value {
        Value::Bool(Some(b)) => Json::Bool(b),
        Value::Int(Some(i)) => Json::from(i),
        Value::BigInt(Some(i)) => Json::from(i),
        Value::String(Some(s)) => Json::String(s),
        Value::Bool(None) | Value::Int(None) | Value::BigInt(None) | Value::String(None) => {
            Json::Null
        }
        other => return Err(no_form(&other)),
    })
}

fn failed(err: sqlx::Error) -> StoreError {
    StoreError::Db(DbErr::Exec(RuntimeErr::SqlxError(Arc::new(err))))
}

/// Every statement of an import finds rows by a unique key, but on
/// PostgreSQL the planner judges by statistics, and a table an import is
/// filling outgrows its statistics within minutes: an `IN` list of 500
/// identities was planned as a scan of the whole table, batch after batch,
/// so a million rows took time by the square of their number. Within the
/// import's transactions the planner may use a scan only where no index
/// serves. (Planning every execution afresh instead cost more than it
/// saved, BENCHMARKS.md.) The lookups' text is the import's own, so no
/// plan of it is cached under other settings. With scans priced out, a
/// query that has no index to use (the check for integrations) looks
/// expensive enough to be compiled by the JIT, which took 20 ms each time.
pub(super) const PLAN_FOR_KEYS: &str = "SET LOCAL enable_seqscan = off; SET LOCAL jit = off";

/// Bytes of `COPY` text handed to the connection at a time.
const COPY_CHUNK: usize = 256 * 1024;

/// One import batch on PostgreSQL, in its own transaction on a connection
/// of the pool; dropped unfinished, it rolls back.
pub(super) struct PgBatch {
    txn: sqlx::Transaction<'static, Postgres>,
}

impl PgBatch {
    pub(super) async fn begin(pool: &PgPool) -> Result<Self, StoreError> {
        let mut txn = pool.begin().await.map_err(failed)?;
        sqlx::raw_sql(PLAN_FOR_KEYS)
            .execute(&mut *txn)
            .await
            .map_err(failed)?;
        Ok(Self { txn })
    }

    /// Whether `statement`, a `SELECT`, finds a row.
    pub(super) async fn exists(&mut self, statement: &Statement) -> Result<bool, StoreError> {
        let found = bound(statement)?
            .fetch_optional(&mut *self.txn)
            .await
            .map_err(failed)?;
        Ok(found.is_some())
    }

    /// Runs `statement`; returns the rows it changed.
    pub(super) async fn execute(&mut self, statement: &Statement) -> Result<u64, StoreError> {
        let done = bound(statement)?
            .execute(&mut *self.txn)
            .await
            .map_err(failed)?;
        Ok(done.rows_affected())
    }

    /// The contacts holding any of `values` as their `identity`, each row
    /// holding `columns` in their order.
    pub(super) async fn find_all(
        &mut self,
        identity: Identity,
        columns: &[contact::Column],
        values: &[&str],
    ) -> Result<Vec<QueryResult>, StoreError> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let names = column_list(columns);
        let key = identity.column().as_str();
        let sql = format!("SELECT {names} FROM \"contacts\" WHERE \"{key}\" = ANY($1)");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(values)
            .fetch_all(&mut *self.txn)
            .await
            .map_err(failed)?;
        Ok(rows.into_iter().map(QueryResult::from).collect())
    }

    /// `count` new contact ids, drawn from the contacts' sequence in order.
    pub(super) async fn next_contact_ids(&mut self, count: usize) -> Result<Vec<i64>, StoreError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        let ids: Vec<(i64,)> = sqlx::query_as(
            "SELECT nextval(s.seq) FROM \
             (SELECT pg_get_serial_sequence('contacts', 'id')::regclass AS seq) s, \
             generate_series(1, $1) ORDER BY 1",
        )
        .bind(count)
        .fetch_all(&mut *self.txn)
        .await
        .map_err(failed)?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    /// Inserts the rows `models` set (each must set the same columns) by
    /// `COPY`, sending each chunk as soon as it is encoded.
    pub(super) async fn copy_in<A: ActiveModelTrait>(
        &mut self,
        models: Vec<A>,
    ) -> Result<(), StoreError> {
        let Some(first) = models.first() else {
            return Ok(());
        };
        let columns = set_columns(first);
        let table = A::Entity::default().table_name();
        let sql = format!("COPY \"{table}\" ({}) FROM STDIN", column_list(&columns));
        let mut copy = self.txn.copy_in_raw(&sql).await.map_err(failed)?;
        let mut text = String::with_capacity(COPY_CHUNK + 4096);
        for model in models {
            copy_row(&mut text, &model, &columns)?;
            if text.len() >= COPY_CHUNK {
                copy.send(text.as_bytes()).await.map_err(failed)?;
                text.clear();
            }
        }
        if !text.is_empty() {
            copy.send(text.as_bytes()).await.map_err(failed)?;
        }
        copy.finish().await.map_err(failed)?;
        Ok(())
    }

    pub(super) async fn commit(self) -> Result<(), StoreError> {
        self.txn.commit().await.map_err(failed)
    }

    /// Rolls back now, rather than when the connection is next released.
    pub(super) async fn rollback(self) -> Result<(), StoreError> {
        self.txn.rollback().await.map_err(failed)
    }
}

fn set_columns<A: ActiveModelTrait>(model: &A) -> Vec<<A::Entity as EntityTrait>::Column> {
    <A::Entity as EntityTrait>::Column::iter()
        .filter(|column| is_set(&model.get(*column)))
        .collect()
}

fn column_list<C: IdenStatic>(columns: &[C]) -> String {
    columns
        .iter()
        .map(|column| format!("\"{}\"", column.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Appends `model`'s row in `COPY`'s text format: tab between values, `\N`
/// for none, and a backslash before what would end a value or the row.
fn copy_row<A: ActiveModelTrait>(
    text: &mut String,
    model: &A,
    columns: &[<A::Entity as EntityTrait>::Column],
) -> Result<(), StoreError> {
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            text.push('\t');
        }
        let value = match model.get(*column) {
            ActiveValue::Set(value) | ActiveValue::Unchanged(value) => value,
            ActiveValue::NotSet => return Err(not_set(column.as_str())),
        };
        match value {
            Value::Bool(Some(b)) => text.push(if b { 't' } else { 'f' }),
            Value::Int(Some(n)) => push_display(text, n),
            Value::BigInt(Some(n)) => push_display(text, n),
            Value::String(Some(s)) => push_escaped(text, &s),
            Value::Bool(None) | Value::Int(None) | Value::BigInt(None) | Value::String(None) => {
                text.push_str("\\N");
            }
            other => return Err(no_form(&other)),
        }
    }
    text.push('\n');
    Ok(())
}

fn push_display(text: &mut String, value: impl std::fmt::Display) {
    // Writing to a String cannot fail.
    let _ = write!(text, "{value}");
}

fn push_escaped(text: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => text.push_str("\\\\"),
            '\t' => text.push_str("\\t"),
            '\n' => text.push_str("\\n"),
            '\r' => text.push_str("\\r"),
            c => text.push(c),
        }
    }
}

/// `statement` (built by sea-query for PostgreSQL) with its values bound.
fn bound(statement: &Statement) -> Result<Query<'_, Postgres, PgArguments>, StoreError> {
    let mut arguments = PgArguments::default();
    for value in statement.values.iter().flat_map(|values| values.0.iter()) {
        let added = match value {
            Value::Bool(b) => arguments.add(*b),
            Value::Int(n) => arguments.add(*n),
            Value::BigInt(n) => arguments.add(*n),
            Value::String(s) => arguments.add(s.as_deref()),
            other => return Err(no_form(other)),
        };
        added.map_err(|e| failed(sqlx::Error::Encode(e)))?;
    }
    Ok(sqlx::query_with(
        sqlx::AssertSqlSafe(statement.sql.as_str()),
        arguments,
    ))
}

fn not_set(column: &str) -> StoreError {
    StoreError::Db(DbErr::Custom(format!(
        "bulk insert: {column} not set in every row"
    )))
}

fn no_form(value: &Value) -> StoreError {
    StoreError::Db(DbErr::Custom(format!(
        "import on PostgreSQL: no way to send {value:?}"
    )))
}
