//! Administration over the API (issue 19, DESIGN.md section 11): users
//! can be deactivated, tokens carry a label, an expiry, when they were last
//! used and when they were revoked, and one counter says when any of that
//! last changed.
//!
//! `field_policies` holds an admin's changes to what a role may do with a
//! contact field; a role and field without a row keep the default of
//! DESIGN.md section 7 (`domain::field_policy`).
//!
//! `auth_generation` has one row. Every change to who may do what (a
//! token revoked, a user deactivated, a role or team changed) adds one to
//! it in the same transaction; every request reads it (a primary-key read)
//! and trusts a cached token only while the counter is unchanged. So a
//! change applies on the next request in every process sharing the
//! database, and the cache still saves the token lookup in between.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000010_administration"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Active,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    UserId,
    Label,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum FieldPolicies {
    Table,
    Role,
    Field,
    Access,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuthGeneration {
    Table,
    Id,
    Value,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(boolean(Users::Active).default(true))
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per ALTER TABLE.
        for column in [
            string_len_null(ApiTokens::Label, 100),
            big_integer_null(ApiTokens::ExpiresAt),
            big_integer_null(ApiTokens::LastUsedAt),
            big_integer_null(ApiTokens::RevokedAt),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ApiTokens::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // A user's tokens are counted (the per-user cap) and listed.
        manager
            .create_index(
                Index::create()
                    .name("api_tokens_user_idx")
                    .table(ApiTokens::Table)
                    .col(ApiTokens::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuthGeneration::Table)
                    .col(integer(AuthGeneration::Id).primary_key())
                    .col(big_integer(AuthGeneration::Value))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("INSERT INTO auth_generation (id, value) VALUES (1, 0)")
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FieldPolicies::Table)
                    .col(string_len(FieldPolicies::Role, 20))
                    .col(string_len(FieldPolicies::Field, 20))
                    .col(string_len(FieldPolicies::Access, 10))
                    .col(big_integer(FieldPolicies::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(FieldPolicies::Role)
                            .col(FieldPolicies::Field),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FieldPolicies::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AuthGeneration::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("api_tokens_user_idx")
                    .table(ApiTokens::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            ApiTokens::Label,
            ApiTokens::ExpiresAt,
            ApiTokens::LastUsedAt,
            ApiTokens::RevokedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ApiTokens::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::Active)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
