//! Merges: an absorbed contact's id keeps resolving to its survivor, and a
//! history entry can name the contact it absorbed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000002_merges"
    }
}

#[derive(DeriveIden)]
enum ContactAliases {
    Table,
    MergedId,
    SurvivorId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ContactChanges {
    Table,
    MergedContactId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ContactAliases::Table)
                    // Contact ids are never reused (AUTOINCREMENT, identity
                    // sequences), so a merged id cannot collide with a live one.
                    .col(big_integer(ContactAliases::MergedId).primary_key())
                    .col(big_integer(ContactAliases::SurvivorId))
                    .col(big_integer(ContactAliases::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ContactAliases::Table, ContactAliases::SurvivorId)
                            .to(Contacts::Table, Contacts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("contact_aliases_survivor_idx")
                    .table(ContactAliases::Table)
                    .col(ContactAliases::SurvivorId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ContactChanges::Table)
                    .add_column(big_integer_null(ContactChanges::MergedContactId))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ContactChanges::Table)
                    .drop_column(ContactChanges::MergedContactId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ContactAliases::Table).to_owned())
            .await
    }
}
