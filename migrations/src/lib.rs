//! Schema migrations, one file each. A migration that has landed is never
//! edited: a change to the schema is a new file appended to `Migrator`.

pub use sea_orm_migration::prelude::*;

mod m20261130_000001_identity_and_contacts;
mod m20261130_000002_merges;
mod m20261130_000003_activities_meetings_notifications;
mod m20261130_000004_outbox_and_integrations;
mod m20261130_000005_import_jobs;
mod m20261130_000006_bytewise_identities;
mod m20261130_000007_import_limits;
mod m20261204_000008_long_integration_secrets;
mod m20261204_000009_search_index;
mod m20261204_000010_administration;
mod m20261204_000011_reversible_merges;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261130_000001_identity_and_contacts::Migration),
            Box::new(m20261130_000002_merges::Migration),
            Box::new(m20261130_000003_activities_meetings_notifications::Migration),
            Box::new(m20261130_000004_outbox_and_integrations::Migration),
            Box::new(m20261130_000005_import_jobs::Migration),
            Box::new(m20261130_000006_bytewise_identities::Migration),
            Box::new(m20261130_000007_import_limits::Migration),
            Box::new(m20261204_000008_long_integration_secrets::Migration),
            Box::new(m20261204_000009_search_index::Migration),
            Box::new(m20261204_000010_administration::Migration),
            Box::new(m20261204_000011_reversible_merges::Migration),
        ]
    }
}
