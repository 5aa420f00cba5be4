//! SeaORM entities: the tables' shapes, nothing more. They never leave the
//! store; callers get domain values or the store's own row types.

pub mod activity;
pub mod api_token;
pub mod contact;
pub mod contact_alias;
pub mod contact_change;
pub mod delivery;
pub mod field_policy;
pub mod import_job;
pub mod import_job_chunk;
pub mod import_job_error;
pub mod integration;
pub mod meeting;
pub mod merge;
pub mod notification;
pub mod outbox_event;
pub mod team;
pub mod team_member;
pub mod user;
