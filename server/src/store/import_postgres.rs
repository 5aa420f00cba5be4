//! Import inserts on PostgreSQL: a batch's rows for one table go in as one
//! JSON parameter, which `json_populate_recordset` turns into rows of the
//! table's own type. As a multi-row `VALUES` list they were 14 parameters a
//! contact, each parsed, bound and planned as an expression of its own;
//! the server spent more time on that than on writing the rows
//! (BENCHMARKS.md).

use sea_orm::{
    ActiveModelTrait, ActiveValue, ConnectionTrait, DatabaseBackend, DbErr, EntityName,
    EntityTrait, IdenStatic, Iterable, QueryResult, Statement, Value,
};
use serde_json::{Map, Value as Json};

use super::StoreError;

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
    let columns: Vec<_> = <A::Entity as EntityTrait>::Column::iter()
        .filter(|column| is_set(&first.get(*column)))
        .collect();
    let mut rows = Vec::with_capacity(models.len());
    for model in models {
        let mut row = Map::with_capacity(columns.len());
        for column in &columns {
            let value = match model.get(*column) {
                ActiveValue::Set(value) | ActiveValue::Unchanged(value) => json(value)?,
                ActiveValue::NotSet => {
                    return Err(StoreError::Db(DbErr::Custom(format!(
                        "bulk insert: {} not set in every row",
                        column.as_str()
                    ))));
                }
            };
            row.insert(column.as_str().to_owned(), value);
        }
        rows.push(Json::Object(row));
    }
    let table = A::Entity::default().table_name();
    let names = columns
        .iter()
        .map(|column| format!("\"{}\"", column.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
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
        other => {
            return Err(StoreError::Db(DbErr::Custom(format!(
                "bulk insert: no JSON form for {other:?}"
            ))));
        }
    })
}
