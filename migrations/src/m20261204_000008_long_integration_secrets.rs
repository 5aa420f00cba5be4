//! Integration secrets (OAuth access tokens up to 8,192 characters) in a
//! `text` column. Migration 4 made the column `varchar(255)`; it was later
//! edited in place to `text`, which databases migrated before never saw,
//! so a long token failed on PostgreSQL. Migration 4 is restored as it
//! landed and the change is this one. SQLite does not enforce a varchar's
//! length (and cannot alter a column's type): nothing to do there.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000008_long_integration_secrets"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE integrations ALTER COLUMN secret TYPE text")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "ALTER TABLE integrations ALTER COLUMN secret TYPE varchar(255)",
                )
                .await?;
        }
        Ok(())
    }
}
