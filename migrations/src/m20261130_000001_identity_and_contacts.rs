//! Users, teams and their tokens; contacts with their identity indexes; the
//! field-level history of contact changes.
//!
//! Timestamps are BIGINT microseconds since the Unix epoch (UTC) on both
//! backends: SQLite has no timestamp type, and a number orders and compares
//! the same everywhere, which keyset pagination depends on.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000001_identity_and_contacts"
    }
}

#[derive(DeriveIden)]
enum Teams {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Name,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TeamMembers {
    Table,
    TeamId,
    UserId,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
    FirstName,
    LastName,
    Email,
    MobilePhone,
    Company,
    JobTitle,
    Timezone,
    Source,
    OwnerId,
    TeamId,
    SortName,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ContactChanges {
    Table,
    Id,
    ContactId,
    ActorUserId,
    Action,
    Source,
    Changes,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Teams::Table)
                    .col(big_pk_auto(Teams::Id))
                    .col(string_len_uniq(Teams::Name, 100))
                    .col(big_integer(Teams::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(string_len_uniq(Users::Name, 100))
                    .col(string_len(Users::Role, 16))
                    .col(big_integer(Users::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TeamMembers::Table)
                    .col(big_integer(TeamMembers::TeamId))
                    .col(big_integer(TeamMembers::UserId))
                    .primary_key(
                        Index::create()
                            .col(TeamMembers::TeamId)
                            .col(TeamMembers::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(TeamMembers::Table, TeamMembers::TeamId)
                            .to(Teams::Table, Teams::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(TeamMembers::Table, TeamMembers::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("team_members_user_idx")
                    .table(TeamMembers::Table)
                    .col(TeamMembers::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(big_pk_auto(ApiTokens::Id))
                    .col(big_integer(ApiTokens::UserId))
                    .col(string_len_uniq(ApiTokens::TokenHash, 64))
                    .col(big_integer(ApiTokens::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiTokens::Table, ApiTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Contacts::Table)
                    .col(big_pk_auto(Contacts::Id))
                    .col(string_len_null(Contacts::FirstName, 200))
                    .col(string_len_null(Contacts::LastName, 200))
                    .col(string_len_null(Contacts::Email, 320))
                    .col(string_len_null(Contacts::MobilePhone, 20))
                    .col(string_len_null(Contacts::Company, 200))
                    .col(string_len_null(Contacts::JobTitle, 200))
                    .col(string_len_null(Contacts::Timezone, 64))
                    .col(string_len(Contacts::Source, 16))
                    .col(big_integer_null(Contacts::OwnerId))
                    .col(big_integer_null(Contacts::TeamId))
                    .col(string_len(Contacts::SortName, 401))
                    .col(integer(Contacts::Version))
                    .col(big_integer(Contacts::CreatedAt))
                    .col(big_integer(Contacts::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Contacts::Table, Contacts::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Contacts::Table, Contacts::TeamId)
                            .to(Teams::Table, Teams::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // The two identity indexes are what makes "one contact per identity"
        // true under concurrency; their names are what the store matches on.
        for (name, column) in [
            ("contacts_email_key", Contacts::Email),
            ("contacts_mobile_phone_key", Contacts::MobilePhone),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Contacts::Table)
                        .col(column)
                        .unique()
                        .to_owned(),
                )
                .await?;
        }
        // Keyset pagination walks (order key, id) for each ContactOrderField.
        for (name, column) in [
            ("contacts_sort_name_idx", Contacts::SortName),
            ("contacts_created_at_idx", Contacts::CreatedAt),
            ("contacts_updated_at_idx", Contacts::UpdatedAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Contacts::Table)
                        .col(column)
                        .col(Contacts::Id)
                        .to_owned(),
                )
                .await?;
        }
        for (name, column) in [
            ("contacts_owner_idx", Contacts::OwnerId),
            ("contacts_team_idx", Contacts::TeamId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Contacts::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ContactChanges::Table)
                    .col(big_pk_auto(ContactChanges::Id))
                    .col(big_integer(ContactChanges::ContactId))
                    .col(big_integer_null(ContactChanges::ActorUserId))
                    .col(string_len(ContactChanges::Action, 16))
                    .col(string_len(ContactChanges::Source, 16))
                    .col(text(ContactChanges::Changes))
                    .col(big_integer(ContactChanges::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ContactChanges::Table, ContactChanges::ContactId)
                            .to(Contacts::Table, Contacts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ContactChanges::Table, ContactChanges::ActorUserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("contact_changes_contact_idx")
                    .table(ContactChanges::Table)
                    .col(ContactChanges::ContactId)
                    .col(ContactChanges::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ContactChanges::Table.into_iden(),
            Contacts::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            TeamMembers::Table.into_iden(),
            Users::Table.into_iden(),
            Teams::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
