//! Databases made by earlier versions keep working: migrations that landed
//! are never edited, and a change of schema is a new migration.

use contacts_migrations::{Migrator, MigratorTrait};
use rstest::rstest;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::json;

use crate::support::*;

const CONNECT: &str = "mutation($token: String!) {
  connectCrm(crm: HUBSPOT, baseUrl: \"http://127.0.0.1:9\", accessToken: $token) { id kind } }";

#[rstest]
#[tokio::test]
async fn a_database_of_migrations_one_to_six_takes_long_tokens_once_migrated(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let db = TestDb::new(backend).await;
    {
        let old = Database::connect(&db.url).await.expect("connect");
        Migrator::up(&old, Some(6))
            .await
            .expect("migrations 1 to 6");
        if backend == Backend::Postgres {
            let row = old
                .query_one_raw(Statement::from_string(
                    old.get_database_backend(),
                    "SELECT data_type, character_maximum_length FROM information_schema.columns \
                     WHERE table_name = 'integrations' AND column_name = 'secret'",
                ))
                .await
                .expect("column type")
                .expect("the secret column");
            let kind: String = row.try_get("", "data_type").expect("data_type");
            let length: Option<i32> = row.try_get("", "character_maximum_length").expect("length");
            assert_eq!(
                (kind.as_str(), length),
                ("character varying", Some(255)),
                "migration 4 as it landed"
            );
        }
        old.close().await.ok();
    }
    // `serve` applies the migrations since.
    let server = TestServer::start_on(db, &["--allow-private-targets"]).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let token = "t".repeat(8192);
    let data = server
        .data(&admin, CONNECT, json!({ "token": token }))
        .await;
    assert_eq!(data["connectCrm"]["kind"], "HUBSPOT");
}
