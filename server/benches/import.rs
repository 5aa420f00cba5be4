//! CSV import end to end: the `contacts-server import` binary on a
//! generated file of BENCH_ROWS rows (default 1,000,000), into an empty
//! SQLite database, the same file again (every row unchanged), and into
//! PostgreSQL; beside the sqlite3 shell's own `.import` of the same file
//! into a table with the same unique indexes, in the same run.
//! Run: `cargo bench -p contacts-server --bench import`.
//! Peak RSS is read with GNU time (`/usr/bin/time -f %M`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

mod support;

use support::{ALLOCATOR_NAME, cli, env_or, psql};

const BIN: &str = env!("CARGO_BIN_EXE_contacts-server");

/// Every row has an email and a mobile phone (in the formats people type),
/// most have a name, company and title: the shape of a CRM export.
fn generate(path: &Path, rows: u64) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create csv"));
    writeln!(
        out,
        "First Name,Last Name,E-mail Address,Mobile Phone,Company,Job Title"
    )
    .expect("write");
    for i in 0..rows {
        let exchange = 200 + (i / 10_000) % 800;
        let line = i % 10_000;
        let phone = match i % 3 {
            0 => format!("(415) {exchange:03}-{line:04}"),
            1 => format!("+1 415 {exchange:03} {line:04}"),
            _ => format!("415.{exchange:03}.{line:04}"),
        };
        let company = if i % 5 == 0 {
            String::new()
        } else {
            format!("\"Company {}, Inc.\"", i % 5000)
        };
        writeln!(
            out,
            "Person{i},Surname{},Person.{i}@Example{}.com,{phone},{company},Engineer",
            i % 1000,
            i % 97
        )
        .expect("write");
    }
    out.flush().expect("flush");
}

/// Runs `command` under GNU time; returns (seconds, peak RSS in MiB, stdout).
fn timed(command: &mut Command) -> (f64, f64, String) {
    let started = Instant::now();
    let output = command.output().expect("run");
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let peak_kib: f64 = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0.0);
    (
        seconds,
        peak_kib / 1024.0,
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
    )
}

fn import(database_url: &str, file: &Path) -> (f64, f64, String) {
    timed(
        Command::new("/usr/bin/time")
            .args(["-f", "%M", BIN, "import"])
            .arg(file)
            .args(["--as", "bench"])
            .env("CONTACTS_DATABASE_URL", database_url)
            .env("RUST_LOG", "warn"),
    )
}

fn report(name: &str, rows: u64, (seconds, peak, summary): &(f64, f64, String)) {
    println!(
        "{name:<34} {:>9.0} rows/s  {seconds:>6.2} s  peak RSS {peak:>6.1} MiB  {summary}",
        rows as f64 / seconds
    );
}

fn main() {
    let rows: u64 = env_or("BENCH_ROWS", 1_000_000);
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&data).expect("bench-data dir");
    let file = data.join(format!("import-{rows}.csv"));
    if !file.exists() {
        generate(&file, rows);
    }
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    println!(
        "file: {} ({rows} rows, {:.1} MiB)",
        file.display(),
        size as f64 / 1_048_576.0
    );
    println!("allocator of {BIN}: {ALLOCATOR_NAME}");
    let dir = tempfile::tempdir().expect("temp dir");

    let sqlite = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("import.db").display()
    );
    cli(
        &sqlite,
        &["user", "create", "--name", "bench", "--role", "ADMIN"],
    );
    report(
        "contacts-server, SQLite, empty",
        rows,
        &import(&sqlite, &file),
    );
    report(
        "contacts-server, SQLite, again",
        rows,
        &import(&sqlite, &file),
    );

    let shell_db = dir.path().join("shell.db");
    let schema = "CREATE TABLE contacts (first_name TEXT, last_name TEXT, email TEXT, \
                  mobile_phone TEXT, company TEXT, job_title TEXT); \
                  CREATE UNIQUE INDEX contacts_email_key ON contacts (email); \
                  CREATE UNIQUE INDEX contacts_mobile_phone_key ON contacts (mobile_phone);";
    let output = Command::new("sqlite3")
        .arg(&shell_db)
        .arg(schema)
        .output()
        .expect("sqlite3 is needed for the comparison");
    assert!(output.status.success());
    let shell = timed(
        Command::new("/usr/bin/time")
            .args(["-f", "%M", "sqlite3"])
            .arg(&shell_db)
            .arg(format!(
                ".import --csv --skip 1 {} contacts",
                file.display()
            )),
    );
    report("sqlite3 shell .import", rows, &shell);

    let admin_url = std::env::var("CONTACTS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = "contacts_bench_import";
    psql(&admin_url, &format!("DROP DATABASE IF EXISTS {name}"));
    psql(&admin_url, &format!("CREATE DATABASE {name}"));
    let mut postgres = reqwest::Url::parse(&admin_url).expect("postgres url");
    postgres.set_path(&format!("/{name}"));
    let postgres = postgres.to_string();
    cli(
        &postgres,
        &["user", "create", "--name", "bench", "--role", "ADMIN"],
    );
    report(
        "contacts-server, PostgreSQL, empty",
        rows,
        &import(&postgres, &file),
    );
    report(
        "contacts-server, PostgreSQL, again",
        rows,
        &import(&postgres, &file),
    );
    psql(&admin_url, &format!("DROP DATABASE IF EXISTS {name}"));
}
