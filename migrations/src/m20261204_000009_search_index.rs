//! Search among millions (issue 18): an index for "name or company
//! contains the text". Both backends index trigrams, so any three
//! characters typed narrow the search by index; email and phone are
//! searched by their beginnings through the identity indexes already here.
//!
//! - SQLite: an FTS5 table with the trigram tokenizer over the contact's
//!   `sort_name` and `company`, reading its text from `contacts` (external
//!   content) and kept in step by triggers; without the column sizes that
//!   only relevance ranking reads (`columnsize=0`: one write a row less, 8%
//!   of the index's cost on insert). Triggers rather than the store's
//!   writers: the store has several (one per backend for bulk imports, the
//!   general one, merge and delete), and a trigger cannot be forgotten by
//!   the next one.
//! - PostgreSQL: `pg_trgm` GIN indexes on `sort_name` and `lower(company)`,
//!   which the planner weighs against walking the order index. `pg_trgm` is
//!   a trusted extension (PostgreSQL 13+): a database's owner may create it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000009_search_index"
    }
}

// One string per direction, so one connection runs it all (see migration 6).
const SQLITE_UP: &str = "
    -- The walk of the name order for a common word tests name and company
    -- on the index alone; a row is read from the table once it matches
    -- (SQLite defers the seek), not for each of the thousands passed.
    DROP INDEX contacts_sort_name_idx;
    CREATE INDEX contacts_sort_name_idx ON contacts (sort_name, id, company);
    CREATE VIRTUAL TABLE contacts_fts USING fts5(
        sort_name, company, content='contacts', content_rowid='id', tokenize='trigram',
        columnsize=0);
    INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild');
    CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
        INSERT INTO contacts_fts(rowid, sort_name, company)
        VALUES (new.id, new.sort_name, new.company);
    END;
    CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
        INSERT INTO contacts_fts(contacts_fts, rowid, sort_name, company)
        VALUES ('delete', old.id, old.sort_name, old.company);
    END;
    -- Imports that add only an identity rewrite every column; the index
    -- changes only when the text it holds does.
    CREATE TRIGGER contacts_fts_update AFTER UPDATE OF sort_name, company ON contacts
    WHEN old.sort_name IS NOT new.sort_name OR old.company IS NOT new.company BEGIN
        INSERT INTO contacts_fts(contacts_fts, rowid, sort_name, company)
        VALUES ('delete', old.id, old.sort_name, old.company);
        INSERT INTO contacts_fts(rowid, sort_name, company)
        VALUES (new.id, new.sort_name, new.company);
    END;";

const SQLITE_DOWN: &str = "
    DROP TRIGGER contacts_fts_update;
    DROP TRIGGER contacts_fts_delete;
    DROP TRIGGER contacts_fts_insert;
    DROP TABLE contacts_fts;
    DROP INDEX contacts_sort_name_idx;
    CREATE INDEX contacts_sort_name_idx ON contacts (sort_name, id);";

const POSTGRES_UP: &str = "
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX contacts_sort_name_trgm_idx ON contacts USING gin (sort_name gin_trgm_ops);
    CREATE INDEX contacts_company_trgm_idx ON contacts USING gin (lower(company) gin_trgm_ops);";

// The extension stays: other databases' objects may use it.
const POSTGRES_DOWN: &str = "
    DROP INDEX contacts_company_trgm_idx;
    DROP INDEX contacts_sort_name_trgm_idx;";

async fn run(manager: &SchemaManager<'_>, sqlite: &str, postgres: &str) -> Result<(), DbErr> {
    let sql = match manager.get_database_backend() {
        DatabaseBackend::Postgres => postgres,
        _ => sqlite,
    };
    manager.get_connection().execute_unprepared(sql).await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, SQLITE_UP, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, SQLITE_DOWN, POSTGRES_DOWN).await
    }
}
