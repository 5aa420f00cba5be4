//! Import jobs started over GraphQL: the uploaded file lives in the
//! database in chunks, so any server process can take a job up, and the
//! job row is its checkpoint: progress, counts and the byte where the next
//! uncommitted row starts, written in the transaction of each batch.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000005_import_jobs"
    }
}

#[derive(DeriveIden)]
enum ImportJobs {
    Table,
    Id,
    UserId,
    FileName,
    DryRun,
    Mapping,
    Region,
    Status,
    Layout,
    BytesTotal,
    BytesDone,
    NextLine,
    RowsRead,
    Created,
    Updated,
    Unchanged,
    Failed,
    Error,
    Attempts,
    ClaimedUntil,
    CreatedAt,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum ImportJobChunks {
    Table,
    JobId,
    Seq,
    Data,
}

#[derive(DeriveIden)]
enum ImportJobErrors {
    Table,
    Id,
    JobId,
    Line,
    Column,
    Reason,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ImportJobs::Table)
                    .col(big_pk_auto(ImportJobs::Id))
                    .col(big_integer(ImportJobs::UserId))
                    .col(string_len(ImportJobs::FileName, 255))
                    .col(boolean(ImportJobs::DryRun))
                    // JSON: the caller's explicit column mapping.
                    .col(text(ImportJobs::Mapping))
                    .col(string_len(ImportJobs::Region, 2))
                    .col(string_len(ImportJobs::Status, 16))
                    // JSON: the header row, kept so a resumed job can map
                    // rows read from the middle of the file.
                    .col(text_null(ImportJobs::Layout))
                    .col(big_integer(ImportJobs::BytesTotal))
                    .col(big_integer(ImportJobs::BytesDone))
                    .col(big_integer(ImportJobs::NextLine))
                    .col(big_integer(ImportJobs::RowsRead))
                    .col(big_integer(ImportJobs::Created))
                    .col(big_integer(ImportJobs::Updated))
                    .col(big_integer(ImportJobs::Unchanged))
                    .col(big_integer(ImportJobs::Failed))
                    .col(text_null(ImportJobs::Error))
                    .col(integer(ImportJobs::Attempts))
                    .col(big_integer_null(ImportJobs::ClaimedUntil))
                    .col(big_integer(ImportJobs::CreatedAt))
                    .col(big_integer_null(ImportJobs::StartedAt))
                    .col(big_integer_null(ImportJobs::FinishedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ImportJobs::Table, ImportJobs::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("import_jobs_status_idx")
                    .table(ImportJobs::Table)
                    .col(ImportJobs::Status)
                    .col(ImportJobs::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ImportJobChunks::Table)
                    .col(big_integer(ImportJobChunks::JobId))
                    .col(integer(ImportJobChunks::Seq))
                    .col(blob(ImportJobChunks::Data))
                    .primary_key(
                        Index::create()
                            .col(ImportJobChunks::JobId)
                            .col(ImportJobChunks::Seq),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ImportJobChunks::Table, ImportJobChunks::JobId)
                            .to(ImportJobs::Table, ImportJobs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ImportJobErrors::Table)
                    .col(big_pk_auto(ImportJobErrors::Id))
                    .col(big_integer(ImportJobErrors::JobId))
                    .col(big_integer(ImportJobErrors::Line))
                    .col(string_len_null(ImportJobErrors::Column, 255))
                    .col(text(ImportJobErrors::Reason))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ImportJobErrors::Table, ImportJobErrors::JobId)
                            .to(ImportJobs::Table, ImportJobs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("import_job_errors_job_idx")
                    .table(ImportJobErrors::Table)
                    .col(ImportJobErrors::JobId)
                    .col(ImportJobErrors::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ImportJobErrors::Table.into_iden(),
            ImportJobChunks::Table.into_iden(),
            ImportJobs::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
