//! Cheaper index writes for bulk imports, measured on PostgreSQL
//! (BENCHMARKS.md):
//! - email, mobile phone and sort name compare byte by byte (`COLLATE "C"`).
//!   Identities are normalised text, compared for equality only; the sort
//!   name's order becomes SQLite's (BINARY), so both backends page contacts
//!   the same way. PostgreSQL's other collations call the C library per
//!   comparison, which was a third of inserting a contact.
//! - the owner and team indexes end in the id. Every contact an import
//!   creates has the same owner, and an index of equal keys spends its
//!   inserts on deduplicating them; with the id each key is new and goes
//!   at the end. (SQLite's index entries already end in the rowid.)

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000006_bytewise_identities"
    }
}

// One string per direction, so one connection runs it all: SQLite's
// connections each cache the schema, and a pool connection that did not see
// an index dropped refuses to create it again ("already exists").
const UP_INDEXES: &str = "DROP INDEX contacts_owner_idx;
    DROP INDEX contacts_team_idx;
    CREATE INDEX contacts_owner_idx ON contacts (owner_id, id);
    CREATE INDEX contacts_team_idx ON contacts (team_id, id);";

const DOWN_INDEXES: &str = "DROP INDEX contacts_owner_idx;
    DROP INDEX contacts_team_idx;
    CREATE INDEX contacts_owner_idx ON contacts (owner_id);
    CREATE INDEX contacts_team_idx ON contacts (team_id);";

const UP_COLLATIONS: &str = r#"ALTER TABLE contacts
    ALTER COLUMN email TYPE varchar(320) COLLATE "C",
    ALTER COLUMN mobile_phone TYPE varchar(20) COLLATE "C",
    ALTER COLUMN sort_name TYPE varchar(401) COLLATE "C";"#;

const DOWN_COLLATIONS: &str = r#"ALTER TABLE contacts
    ALTER COLUMN email TYPE varchar(320) COLLATE "default",
    ALTER COLUMN mobile_phone TYPE varchar(20) COLLATE "default",
    ALTER COLUMN sort_name TYPE varchar(401) COLLATE "default";"#;

async fn run(manager: &SchemaManager<'_>, indexes: &str, collations: &str) -> Result<(), DbErr> {
    let sql = match manager.get_database_backend() {
        DatabaseBackend::Postgres => format!("{collations}\n{indexes}"),
        _ => indexes.to_owned(),
    };
    manager.get_connection().execute_unprepared(&sql).await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, UP_INDEXES, UP_COLLATIONS).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, DOWN_INDEXES, DOWN_COLLATIONS).await
    }
}
