//! Import limits (DESIGN.md section 12):
//! - a failed row names its column by number (`column_index`, 1-based) and
//!   a short name, never the header's whole text; names stored before this
//!   migration are cut to the same 64 characters;
//! - a job keeps a capped number of failed rows and counts the rest
//!   (`errors_omitted`);
//! - queued jobs per user are capped, counted by user and status.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000007_import_limits"
    }
}

#[derive(DeriveIden)]
enum ImportJobs {
    Table,
    UserId,
    Status,
    ErrorsOmitted,
}

#[derive(DeriveIden)]
enum ImportJobErrors {
    Table,
    ColumnIndex,
}

const USER_STATUS_INDEX: &str = "import_jobs_user_status_idx";

// `substr` and `length` count characters on both backends.
const SHORTEN_NAMES: &str = r#"UPDATE import_job_errors
    SET "column" = substr("column", 1, 63) || '…'
    WHERE length("column") > 64"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One change per statement: SQLite alters one column at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(ImportJobErrors::Table)
                    .add_column(integer_null(ImportJobErrors::ColumnIndex))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ImportJobs::Table)
                    .add_column(big_integer(ImportJobs::ErrorsOmitted).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(SHORTEN_NAMES)
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(USER_STATUS_INDEX)
                    .table(ImportJobs::Table)
                    .col(ImportJobs::UserId)
                    .col(ImportJobs::Status)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(USER_STATUS_INDEX)
                    .table(ImportJobs::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ImportJobs::Table)
                    .drop_column(ImportJobs::ErrorsOmitted)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ImportJobErrors::Table)
                    .drop_column(ImportJobErrors::ColumnIndex)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
