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

const HUBSPOT: &str =
    "Record ID,First Name,Last Name,Email,Mobile Phone Number,Phone Number,Company Name,Job Title
101,Gus,Fring,gus@example.com,,+1 415 555 0107,Los Pollos,Owner
102,Hal,Ho,hal@example.com,,,Initech,
";

/// Runs the import expecting it to stop; returns stderr.
fn import_refused(db_url: &str, file: &std::path::Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_e2e-server"))
        .args(["import", file.to_str().unwrap(), "--as", "ann"])
        .env("CONTACTS_DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!output.status.success(), "the import should have stopped");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[rstest]
#[tokio::test]
async fn hubspot_export_two_holders_and_repeats_in_file_order(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    create(
        &server,
        &admin,
        json!({ "firstName": "Phone", "mobilePhone": "+14155550199" }),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let hubspot = dir.path().join("hubspot.csv");
    std::fs::write(&hubspot, HUBSPOT).unwrap();
    let (out, err) = import(&server.db.url, &hubspot, "ann", false);
    assert_eq!(out, "created 2, updated 0, unchanged 0, failed 0");
    assert!(err.contains("ignored columns: Record ID"), "{err}");

    // Row 2 names Gus's email and the other contact's phone: refused, not
    // merged. Rows 3 and 4 repeat one identity: the later values win.
    let file = dir.path().join("repeats.csv");
    std::fs::write(
        &file,
        "Email,Mobile Phone,Company\n\
         gus@example.com,+1 415 555 0199,Clash\n\
         new@example.com,,First\n\
         new@example.com,,Second\n",
    )
    .unwrap();
    let (out, err) = import(&server.db.url, &file, "ann", false);
    assert_eq!(out, "created 1, updated 1, unchanged 0, failed 1");
    assert!(
        err.contains("line 2, column Mobile Phone: the email and the mobile phone belong to two different contacts"),
        "{err}"
    );
    let found = server
        .data(&admin, r#"{ gus: contacts(filter: { search: "gus@" }) { edges { node { company mobilePhone } } }
                          new: contacts(filter: { search: "new@" }) { totalCount edges { node { company } } } }"#, json!({}))
        .await;
    assert_eq!(
        found["gus"]["edges"][0]["node"],
        json!({ "company": "Los Pollos", "mobilePhone": null })
    );
    assert_eq!(found["new"]["totalCount"], 1);
    assert_eq!(found["new"]["edges"][0]["node"]["company"], "Second");
}

#[rstest]
#[tokio::test]
async fn a_dry_run_sees_its_own_earlier_batches(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    // More rows than a batch holds; the last row repeats the first one.
    let mut csv = String::from("Email,First Name\n");
    for n in 0..6000 {
        csv.push_str(&format!("person{n}@example.com,P{n}\n"));
    }
    csv.push_str("person0@example.com,Renamed\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.csv");
    std::fs::write(&file, csv).unwrap();
    let (dry, _) = import(&server.db.url, &file, "ann", true);
    assert_eq!(dry, "created 6000, updated 1, unchanged 0, failed 0");
    assert_eq!(visible_count(&server, &admin).await, 0);
    let (out, _) = import(&server.db.url, &file, "ann", false);
    assert_eq!(out, "created 6000, updated 1, unchanged 0, failed 0");
    assert_eq!(visible_count(&server, &admin).await, 6000);
    // Again: the file itself renames person0 and back, in its order; it
    // ends where it ended before.
    let (again, _) = import(&server.db.url, &file, "ann", false);
    assert_eq!(again, "created 0, updated 2, unchanged 5999, failed 0");
    let renamed = server
        .data(
            &admin,
            r#"{ contacts(filter: { search: "person0@" }) { edges { node { firstName } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        renamed["contacts"]["edges"][0]["node"]["firstName"],
        "Renamed"
    );
}

#[rstest]
#[tokio::test]
async fn malformed_files_fail_clearly_and_change_nothing_wrong(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };

    let empty = write("empty.csv", b"");
    assert!(import_refused(&server.db.url, &empty).contains("the file is empty"));

    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let binary = write("binary.csv", &garbage);
    let err = import_refused(&server.db.url, &binary);
    assert!(err.contains("binary.csv"), "{err}");

    let header_only = write("header.csv", b"Email,First Name\n");
    let (out, _) = import(&server.db.url, &header_only, "ann", false);
    assert_eq!(out, "created 0, updated 0, unchanged 0, failed 0");

    let ragged = write(
        "ragged.csv",
        b"Email,First Name\nshort@example.com\nlong@example.com,Lo,extra\nok@example.com,Ok\n",
    );
    let (out, err) = import(&server.db.url, &ragged, "ann", false);
    assert_eq!(out, "created 1, updated 0, unchanged 0, failed 2");
    assert!(
        err.contains("line 2, column -: the row has 1 cells where the header has 2"),
        "{err}"
    );
    assert!(
        err.contains("line 3, column -: the row has 3 cells"),
        "{err}"
    );

    let unclosed = write(
        "unclosed.csv",
        b"Email,First Name\nfirst@example.com,First\nopen@example.com,\"Open\nlost@example.com,Lost\n",
    );
    let (out, err) = import(&server.db.url, &unclosed, "ann", false);
    assert_eq!(out, "created 1, updated 0, unchanged 0, failed 1");
    assert!(
        err.contains("line 3, column First Name: the cell holds a line break"),
        "{err}"
    );

    let mut huge = b"Email,Company\nhuge@example.com,\"".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    huge.extend(b"\"\nafter@example.com,After Co\n");
    let huge = write("huge.csv", &huge);
    let (out, err) = import(&server.db.url, &huge, "ann", false);
    assert_eq!(out, "created 1, updated 0, unchanged 0, failed 1");
    assert!(
        err.contains("line 2, column -: the row is longer than 65536 bytes"),
        "{err}"
    );

    let none = write("noidentity.csv", b"Name,Company\nAnn,Acme\n");
    let err = import_refused(&server.db.url, &none);
    assert!(
        err.contains("no column holds an email or a mobile phone"),
        "{err}"
    );

    let mapped = write(
        "mapped.csv",
        b"Work mail,Phone\nmapped@example.com,+1 415 555 0150\n",
    );
    let output = Command::new(env!("CARGO_BIN_EXE_e2e-server"))
        .args([
            "import",
            mapped.to_str().unwrap(),
            "--as",
            "ann",
            "--map",
            "Work mail=email",
            "--map",
            "Phone=",
        ])
        .env("CONTACTS_DATABASE_URL", &server.db.url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "created 1, updated 0, unchanged 0, failed 0"
    );
    let mapped = server
        .data(&admin, r#"{ contacts(filter: { search: "mapped@" }) { edges { node { email mobilePhone } } } }"#, json!({}))
        .await;
    assert_eq!(
        mapped["contacts"]["edges"][0]["node"],
        json!({ "email": "mapped@example.com", "mobilePhone": null })
    );
    // ok@, first@, after@ and mapped@: nothing else got in.
    assert_eq!(visible_count(&server, &admin).await, 4);
}

#[rstest]
#[tokio::test]
async fn backslashes_are_stored_as_written(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    // On PostgreSQL rows go in by COPY's text format, where a backslash
    // starts an escape and `\N` means no value. (Control characters never
    // get there: every field refuses them.)
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("odd.csv");
    std::fs::write(
        &file,
        "Email,First Name,Company,Job Title\n\
         odd@example.com,Back\\slash,C:\\temp\\,\\t\\n\\r\n\
         null@example.com,\\N,\\\\N,\"\\.\"\n",
    )
    .unwrap();
    let (out, _) = import(&server.db.url, &file, "ann", false);
    assert_eq!(out, "created 2, updated 0, unchanged 0, failed 0");
    let found = server
        .data(
            &admin,
            r#"{ odd: contacts(filter: { search: "odd@" }) { edges { node { firstName company jobTitle } } }
                 null: contacts(filter: { search: "null@" }) { edges { node { firstName company jobTitle } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        found["odd"]["edges"][0]["node"],
        json!({ "firstName": "Back\\slash", "company": "C:\\temp\\", "jobTitle": "\\t\\n\\r" })
    );
    assert_eq!(
        found["null"]["edges"][0]["node"],
        json!({ "firstName": "\\N", "company": "\\\\N", "jobTitle": "\\." })
    );
}
