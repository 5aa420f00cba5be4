//! Activities (what a customer did), the meetings they schedule, and the
//! notifications those meetings send. None of them is owned by a contact:
//! deleting a contact clears their link (ON DELETE SET NULL) and keeps them
//! for reporting; a notification carries its own recipient so it still goes
//! out.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000003_activities_meetings_notifications"
    }
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Meetings {
    Table,
    Id,
    ContactId,
    HostUserId,
    StartsAt,
    EndsAt,
    Status,
    CalendarProvider,
    ExternalEventId,
    Guests,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Activities {
    Table,
    Id,
    Kind,
    RecordedByUserId,
    ExternalId,
    OccurredAt,
    ContactId,
    ConflictingContactId,
    MeetingId,
    Submitted,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    MeetingId,
    ContactId,
    Kind,
    Channel,
    Recipient,
    Subject,
    Body,
    DueAt,
    Status,
    Attempts,
    NextAttemptAt,
    ClaimedUntil,
    LastError,
    SentAt,
    CreatedAt,
}

fn set_null(from: (Alias, Alias), to: (Alias, Alias)) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::SetNull)
        .to_owned()
}

fn alias(iden: impl IntoIden) -> Alias {
    Alias::new(iden.into_iden().to_string())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let contacts_id = (alias(Contacts::Table), alias(Contacts::Id));
        let users_id = (alias(Users::Table), alias(Users::Id));
        manager
            .create_table(
                Table::create()
                    .table(Meetings::Table)
                    .col(big_pk_auto(Meetings::Id))
                    .col(big_integer_null(Meetings::ContactId))
                    .col(big_integer_null(Meetings::HostUserId))
                    .col(big_integer(Meetings::StartsAt))
                    .col(big_integer(Meetings::EndsAt))
                    .col(string_len(Meetings::Status, 16))
                    .col(string_len(Meetings::CalendarProvider, 32))
                    .col(string_len_null(Meetings::ExternalEventId, 255))
                    .col(text(Meetings::Guests))
                    .col(big_integer(Meetings::CreatedAt))
                    .col(big_integer(Meetings::UpdatedAt))
                    .foreign_key(&mut set_null(
                        (alias(Meetings::Table), alias(Meetings::ContactId)),
                        contacts_id.clone(),
                    ))
                    .foreign_key(&mut set_null(
                        (alias(Meetings::Table), alias(Meetings::HostUserId)),
                        users_id.clone(),
                    ))
                    .to_owned(),
            )
            .await?;
        // A calendar event is one meeting: later activities about the same
        // event (rescheduled, canceled) find it by this key.
        manager
            .create_index(
                Index::create()
                    .name("meetings_event_key")
                    .table(Meetings::Table)
                    .col(Meetings::CalendarProvider)
                    .col(Meetings::ExternalEventId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("meetings_contact_idx")
                    .table(Meetings::Table)
                    .col(Meetings::ContactId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Activities::Table)
                    .col(big_pk_auto(Activities::Id))
                    .col(string_len(Activities::Kind, 16))
                    .col(big_integer_null(Activities::RecordedByUserId))
                    .col(string_len_null(Activities::ExternalId, 255))
                    .col(big_integer(Activities::OccurredAt))
                    .col(big_integer_null(Activities::ContactId))
                    .col(big_integer_null(Activities::ConflictingContactId))
                    .col(big_integer_null(Activities::MeetingId))
                    .col(text(Activities::Submitted))
                    .col(text_null(Activities::Payload))
                    .col(big_integer(Activities::CreatedAt))
                    .foreign_key(&mut set_null(
                        (alias(Activities::Table), alias(Activities::ContactId)),
                        contacts_id.clone(),
                    ))
                    .foreign_key(&mut set_null(
                        (
                            alias(Activities::Table),
                            alias(Activities::ConflictingContactId),
                        ),
                        contacts_id.clone(),
                    ))
                    .foreign_key(&mut set_null(
                        (
                            alias(Activities::Table),
                            alias(Activities::RecordedByUserId),
                        ),
                        users_id.clone(),
                    ))
                    .foreign_key(&mut set_null(
                        (alias(Activities::Table), alias(Activities::MeetingId)),
                        (alias(Meetings::Table), alias(Meetings::Id)),
                    ))
                    .to_owned(),
            )
            .await?;
        // Replaying an activity from its source is idempotent per recorder.
        manager
            .create_index(
                Index::create()
                    .name("activities_external_key")
                    .table(Activities::Table)
                    .col(Activities::RecordedByUserId)
                    .col(Activities::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("activities_contact_idx", Activities::ContactId),
            ("activities_occurred_idx", Activities::OccurredAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Activities::Table)
                        .col(column)
                        .col(Activities::Id)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(big_pk_auto(Notifications::Id))
                    .col(big_integer_null(Notifications::MeetingId))
                    .col(big_integer_null(Notifications::ContactId))
                    .col(string_len(Notifications::Kind, 16))
                    .col(string_len(Notifications::Channel, 8))
                    .col(string_len(Notifications::Recipient, 320))
                    .col(string_len(Notifications::Subject, 255))
                    .col(text(Notifications::Body))
                    .col(big_integer(Notifications::DueAt))
                    .col(string_len(Notifications::Status, 16))
                    .col(integer(Notifications::Attempts))
                    .col(big_integer(Notifications::NextAttemptAt))
                    .col(big_integer_null(Notifications::ClaimedUntil))
                    .col(text_null(Notifications::LastError))
                    .col(big_integer_null(Notifications::SentAt))
                    .col(big_integer(Notifications::CreatedAt))
                    .foreign_key(&mut set_null(
                        (alias(Notifications::Table), alias(Notifications::MeetingId)),
                        (alias(Meetings::Table), alias(Meetings::Id)),
                    ))
                    .foreign_key(&mut set_null(
                        (alias(Notifications::Table), alias(Notifications::ContactId)),
                        contacts_id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("notifications_due_idx")
                    .table(Notifications::Table)
                    .col(Notifications::Status)
                    .col(Notifications::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("notifications_meeting_idx")
                    .table(Notifications::Table)
                    .col(Notifications::MeetingId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Notifications::Table.into_iden(),
            Activities::Table.into_iden(),
            Meetings::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
