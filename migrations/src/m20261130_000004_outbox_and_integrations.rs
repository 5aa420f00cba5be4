//! The transactional outbox: an event row per contact change that others
//! must hear of, written in the change's own transaction, and a delivery row
//! per event and connected integration, which dispatchers claim and retry.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000004_outbox_and_integrations"
    }
}

#[derive(DeriveIden)]
enum OutboxEvents {
    Table,
    Id,
    EventType,
    ContactId,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Id,
    Kind,
    TargetUrl,
    Secret,
    Events,
    Active,
    CreatedByUserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    EventId,
    IntegrationId,
    ContactId,
    Status,
    Attempts,
    NextAttemptAt,
    ClaimedUntil,
    LastError,
    LastStatusCode,
    DeliveredAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboxEvents::Table)
                    .col(big_pk_auto(OutboxEvents::Id))
                    .col(string_len(OutboxEvents::EventType, 32))
                    // No foreign key: a contact.deleted event outlives its contact.
                    .col(big_integer(OutboxEvents::ContactId))
                    .col(text(OutboxEvents::Payload))
                    .col(big_integer(OutboxEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Integrations::Table)
                    .col(big_pk_auto(Integrations::Id))
                    .col(string_len(Integrations::Kind, 32))
                    .col(string_len(Integrations::TargetUrl, 2048))
                    .col(string_len(Integrations::Secret, 255))
                    .col(text(Integrations::Events))
                    .col(boolean(Integrations::Active))
                    .col(big_integer_null(Integrations::CreatedByUserId))
                    .col(big_integer(Integrations::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Deliveries::Table)
                    .col(big_pk_auto(Deliveries::Id))
                    .col(big_integer(Deliveries::EventId))
                    .col(big_integer(Deliveries::IntegrationId))
                    .col(big_integer(Deliveries::ContactId))
                    .col(string_len(Deliveries::Status, 16))
                    .col(integer(Deliveries::Attempts))
                    .col(big_integer(Deliveries::NextAttemptAt))
                    .col(big_integer_null(Deliveries::ClaimedUntil))
                    .col(text_null(Deliveries::LastError))
                    .col(integer_null(Deliveries::LastStatusCode))
                    .col(big_integer_null(Deliveries::DeliveredAt))
                    .col(big_integer(Deliveries::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Deliveries::Table, Deliveries::EventId)
                            .to(OutboxEvents::Table, OutboxEvents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Deliveries::Table, Deliveries::IntegrationId)
                            .to(Integrations::Table, Integrations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("deliveries_due_idx")
                    .table(Deliveries::Table)
                    .col(Deliveries::Status)
                    .col(Deliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        // Per-contact order: a delivery waits for earlier pending ones of
        // the same integration and contact.
        manager
            .create_index(
                Index::create()
                    .name("deliveries_order_idx")
                    .table(Deliveries::Table)
                    .col(Deliveries::IntegrationId)
                    .col(Deliveries::ContactId)
                    .col(Deliveries::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Deliveries::Table.into_iden(),
            Integrations::Table.into_iden(),
            OutboxEvents::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
