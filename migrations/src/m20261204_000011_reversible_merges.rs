//! Reversible merges (issue 20, DESIGN.md sections 4 and 13): every merge
//! keeps what it changed, so `undoMerge` can give it back. A row holds the
//! absorbed record as it was, the survivor's fields before and after, and
//! the ids of what moved (activities, meetings, notifications, history
//! entries, aliases, pending deliveries), as JSON in `details`: it is read
//! whole, by one undo, never queried into.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000011_reversible_merges"
    }
}

#[derive(DeriveIden)]
enum Merges {
    Table,
    Id,
    SurvivorId,
    MergedId,
    Source,
    MergedByUserId,
    MergedAt,
    UndoneAt,
    UndoneByUserId,
    Details,
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
                    .table(Merges::Table)
                    .col(big_pk_auto(Merges::Id))
                    .col(big_integer(Merges::SurvivorId))
                    .col(big_integer_null(Merges::MergedId))
                    .col(string_len(Merges::Source, 32))
                    .col(big_integer_null(Merges::MergedByUserId))
                    .col(big_integer(Merges::MergedAt))
                    .col(big_integer_null(Merges::UndoneAt))
                    .col(big_integer_null(Merges::UndoneByUserId))
                    .col(text(Merges::Details))
                    // No key to the survivor: a survivor absorbed by a
                    // later merge comes back when that merge is undone, and
                    // its own merges must still be there to undo.
                    .foreign_key(
                        ForeignKey::create()
                            .from(Merges::Table, Merges::MergedByUserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Merges::Table, Merges::UndoneByUserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("merges_survivor_idx")
                    .table(Merges::Table)
                    .col(Merges::SurvivorId)
                    .col(Merges::Id)
                    .to_owned(),
            )
            .await?;
        // The merge that absorbed a contact (an undo names it; a deleted
        // contact's merges go with it).
        manager
            .create_index(
                Index::create()
                    .name("merges_merged_idx")
                    .table(Merges::Table)
                    .col(Merges::MergedId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Merges::Table).to_owned())
            .await?;
        Ok(())
    }
}
