//! The auth generation: how many times who may do what has changed
//! (tokens, users' roles, teams and activity, field policies). Every such
//! change bumps it in its own transaction; a cached token, and a running
//! import job's rights, stay trusted only while it is unchanged.

use sea_orm::{ConnectionTrait, FromQueryResult, Statement};

use super::{Store, StoreError};

#[derive(FromQueryResult)]
struct Generation {
    value: i64,
}

/// The generation now. Read on every request: a
/// cached token stays trusted only while this is unchanged. On SQLite a
/// point read on the caller's thread (microseconds; through the pool it
/// cost a third of `contact(id)`'s rate, BENCHMARKS.md).
pub async fn current(store: &Store) -> Result<i64, StoreError> {
    if let Some(reads) = store.point_reads()
        && let Some(generation) = reads.token_generation()?
    {
        return Ok(generation);
    }
    read(store.db()).await
}

/// [`current`] through the pool.
pub async fn read(db: &impl ConnectionTrait) -> Result<i64, StoreError> {
    let row = Generation::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        "SELECT value FROM auth_generation WHERE id = 1",
    ))
    .one(db)
    .await?;
    Ok(row.map_or(0, |row| row.value))
}

/// Called in the transaction of every change to tokens, users' roles,
/// teams or activity, so the change and the signal commit together.
pub async fn bump(db: &impl ConnectionTrait) -> Result<(), StoreError> {
    db.execute_unprepared("UPDATE auth_generation SET value = value + 1 WHERE id = 1")
        .await?;
    Ok(())
}
