//! End-to-end tests of the contacts server: each test starts a real server
//! process on a fresh database and speaks HTTP to it, once on SQLite and
//! once on PostgreSQL.

mod abuse;
mod activities;
mod admin;
mod bad_input;
mod calendars;
mod clients;
mod contacts;
mod crms;
mod field_policies;
mod import;
mod import_jobs;
mod listing;
mod logs;
mod merge;
mod migrations;
mod nodes;
mod operations;
mod outbox_recovery;
mod peers;
mod permissions;
mod search;
mod secrets;
mod shared_sqlite;
mod statements;
mod support;
mod transport;
mod undo_merge;
mod webhooks;
