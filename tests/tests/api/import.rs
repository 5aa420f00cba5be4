//! `contacts-server import FILE --as USER`: real-shaped exports, the
//! find-or-update rule, failed rows with line and column, re-import
//! changing nothing, dry run, permissions.

use std::process::Command;

use rstest::rstest;
use serde_json::json;

use crate::support::*;

const OUTLOOK: &str = "First Name,Last Name,E-mail Address,Mobile Phone,Company,Job Title
Ann,Lee,Ann@Example.com,(415) 555-0101,Acme,CTO
Bo,Berg,bo@example.com,not a phone,Globex,
\"Cy, Jr.\",Ng,,+1 415 555 0103,\"Quote \"\"Co\"\"\",
Dee,,dee@example.com,,,
";

const GOOGLE: &str = "Name,Given Name,Family Name,E-mail 1 - Type,E-mail 1 - Value,Phone 1 - Type,Phone 1 - Value,Organization 1 - Name
Ann Lee,Ann,Lee,* Work,ann@example.com,Mobile,,Initech
Eve Park,Eve,Park,* Home,eve@example.com,Mobile,+14155550105,
";

/// Runs the import; returns (stdout, stderr).
fn import(db_url: &str, file: &std::path::Path, as_user: &str, dry_run: bool) -> (String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_e2e-server"));
    command
        .args(["import", file.to_str().unwrap(), "--as", as_user])
        .env("CONTACTS_DATABASE_URL", db_url)
        .env("RUST_LOG", "warn");
    if dry_run {
        command.arg("--dry-run");
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        String::from_utf8(output.stdout).unwrap().trim().to_owned(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[rstest]
#[tokio::test]
async fn exports_import_and_reimport_changes_nothing(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let dir = tempfile::tempdir().unwrap();
    let outlook = dir.path().join("outlook.csv");
    std::fs::write(&outlook, OUTLOOK).unwrap();

    let (dry, _) = import(&server.db.url, &outlook, "ann", true);
    assert_eq!(dry, "created 3, updated 0, unchanged 0, failed 1");
    assert_eq!(
        visible_count(&server, &admin).await,
        0,
        "a dry run changes nothing"
    );

    let (out, err) = import(&server.db.url, &outlook, "ann", false);
    assert_eq!(out, "created 3, updated 0, unchanged 0, failed 1");
    assert!(err.contains("line 3, column Mobile Phone:"), "{err}");
    let (again, _) = import(&server.db.url, &outlook, "ann", false);
    assert_eq!(again, "created 0, updated 0, unchanged 3, failed 1");

    let found = server
        .data(&admin, r#"{ contacts(filter: { search: "cy, jr." }) { edges { node { firstName company mobilePhone source } } } }"#, json!({}))
        .await;
    assert_eq!(
        found["contacts"]["edges"][0]["node"],
        json!({ "firstName": "Cy, Jr.", "company": "Quote \"Co\"", "mobilePhone": "+14155550103", "source": "IMPORT" })
    );

    // A Google export updates Ann (empty cells never clear) and adds Eve.
    let google = dir.path().join("google.csv");
    std::fs::write(&google, format!("\u{feff}{GOOGLE}")).unwrap();
    let (out, _) = import(&server.db.url, &google, "ann", false);
    assert_eq!(out, "created 1, updated 1, unchanged 0, failed 0");
    let ann = server
        .data(&admin, r#"{ contacts(filter: { search: "ann@example.com" }) { edges { node { company mobilePhone jobTitle } } } }"#, json!({}))
        .await;
    assert_eq!(
        ann["contacts"]["edges"][0]["node"],
        json!({ "company": "Initech", "mobilePhone": "+14155550101", "jobTitle": "CTO" })
    );
}

#[rstest]
#[tokio::test]
async fn rows_of_contacts_out_of_reach_fail_without_leaking(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let mia = server.create_user("mia", "MEMBER", None);
    server.create_user("sam", "MEMBER", None);
    create(
        &server,
        &mia,
        json!({ "firstName": "Secretname", "email": "hidden@example.com" }),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("semicolons.csv");
    std::fs::write(
        &file,
        "Email;First Name\r\nhidden@example.com;Probe\r\nsam.own@example.com;Own\r\n",
    )
    .unwrap();
    let (out, err) = import(&server.db.url, &file, "sam", false);
    assert_eq!(out, "created 1, updated 0, unchanged 0, failed 1");
    assert!(
        err.contains("line 2") && err.contains("Cannot save contact"),
        "{err}"
    );
    assert!(!err.contains("Secretname"));
    let hidden = server
        .data(
            &mia,
            r#"{ contacts(filter: { search: "hidden" }) { edges { node { firstName } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        hidden["contacts"]["edges"][0]["node"]["firstName"],
        "Secretname"
    );
}
