//! The one test harness: a real `contacts-server` process on a fresh
//! database (a temporary SQLite file, or a new PostgreSQL database per
//! server), set up through its own command line and spoken to over HTTP.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rand::Rng;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_e2e-server");
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The key integration secrets are sealed with in every server a test
/// starts (so a second process on the same database opens them too),
/// unless the test names a key file.
pub const TEST_SECRET_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on. Unreachable is a
/// failure, never a skip.
pub fn postgres_admin_url() -> String {
    std::env::var("CONTACTS_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

fn with_database(url: &str, database: &str) -> String {
    let mut parsed = reqwest::Url::parse(url).expect("CONTACTS_TEST_POSTGRES_URL is not a URL");
    parsed.set_path(&format!("/{database}"));
    parsed.to_string()
}

pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("contacts.db").display()
                );
                Self {
                    url,
                    _dir: Some(dir),
                    postgres_name: None,
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("contacts_test_{:016x}", rand::rng().random::<u64>());
                let admin = Database::connect(&admin_url).await.unwrap_or_else(|err| {
                    panic!("PostgreSQL at {admin_url} is unreachable ({err}); set CONTACTS_TEST_POSTGRES_URL")
                });
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                Self {
                    url: with_database(&admin_url, &name),
                    _dir: None,
                    postgres_name: Some(name),
                }
            }
        }
    }
}

impl TestDb {
    /// Another handle on a database some other `TestDb` owns (and removes).
    pub fn borrowed(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            _dir: None,
            postgres_name: None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop runs outside async; a small runtime of its own removes the
        // database so runs do not pile them up.
        let admin_url = postgres_admin_url();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = Database::connect(&admin_url).await.ok()?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()?;
                admin.close().await.ok()
            })
        })
        .join();
    }
}

pub struct TestServer {
    child: Child,
    pub base_url: String,
    pub db: TestDb,
    http: reqwest::Client,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the server's command line against `db_url`; returns stdout.
pub fn cli(db_url: &str, args: &[&str]) -> String {
    let output = Command::new(BIN)
        .args(args)
        .env("CONTACTS_DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run contacts-server");
    assert!(
        output.status.success(),
        "contacts-server {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 stdout")
}

impl TestServer {
    pub async fn start(backend: Backend) -> Self {
        Self::start_on(TestDb::new(backend).await, &[]).await
    }

    pub async fn start_on(db: TestDb, extra_args: &[&str]) -> Self {
        Self::spawn(db, extra_args, None).await
    }

    /// Like [`TestServer::start_on`], logging at `filter` (`RUST_LOG`) into
    /// lines the test can read.
    pub async fn start_logged(db: TestDb, extra_args: &[&str], filter: &str) -> (Self, Logs) {
        let logs = Logs::default();
        let server = Self::spawn(db, extra_args, Some((filter, logs.clone()))).await;
        (server, logs)
    }

    async fn spawn(db: TestDb, extra_args: &[&str], logged: Option<(&str, Logs)>) -> Self {
        let filter = match &logged {
            Some((filter, _)) => (*filter).to_owned(),
            None => std::env::var("CONTACTS_TEST_SERVER_LOG").unwrap_or_else(|_| "off".into()),
        };
        let mut command = Command::new(BIN);
        if !extra_args.contains(&"--secret-key-file") {
            command.env("CONTACTS_SECRET_KEY", TEST_SECRET_KEY);
        }
        let mut child = command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                &db.url,
            ])
            .args(extra_args)
            .env("RUST_LOG", filter)
            .stdout(Stdio::piped())
            .stderr(if logged.is_some() {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .expect("spawn contacts-server");
        if let Some((_, logs)) = logged {
            let stderr = child.stderr.take().expect("stderr");
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    logs.push(line);
                }
            });
        }
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("contacts-server did not report its address");
        let base_url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        Self {
            child,
            base_url,
            db,
            http: reqwest::Client::new(),
        }
    }

    /// The server process's peak resident memory so far, in KiB (Linux's
    /// `VmHWM`): what an attack cost it at most.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read the server's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc status")
    }

    /// Starts asking `/healthz` every 100 ms on a fresh connection each time,
    /// until the probe is finished; see [`HealthProbe::finish`].
    pub fn probe_health(&self) -> HealthProbe {
        HealthProbe::start(format!("{}/healthz", self.base_url))
    }

    /// Sends `signal` (`TERM`, `INT`) and waits for the process to exit;
    /// its exit status, or `None` if it is still running after `within`.
    pub fn signal_and_wait(
        &mut self,
        signal: &str,
        within: Duration,
    ) -> Option<std::process::ExitStatus> {
        let sent = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{signal} failed");
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.base_url)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn create_team(&self, name: &str) {
        cli(&self.db.url, &["team", "create", name]);
    }

    /// A user with `role`, optionally in `team`; returns its API token.
    pub fn create_user(&self, name: &str, role: &str, team: Option<&str>) -> String {
        let mut args = vec!["user", "create", "--name", name, "--role", role];
        if let Some(team) = team {
            args.extend(["--team", team]);
        }
        cli(&self.db.url, &args).trim().to_owned()
    }

    /// POSTs one operation; returns the HTTP status and the JSON body.
    pub async fn post(&self, token: &str, query: &str, variables: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.graphql_url())
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("POST /graphql");
        let status = response.status();
        let body = response.json().await.expect("JSON body");
        (status, body)
    }

    /// POSTs one operation that must succeed without errors; returns `data`.
    pub async fn data(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(token, query, variables).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }
}

/// The `extensions.code` of each error, in order.
pub fn error_codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub const CREATE: &str = "mutation($input: ContactInput!) {
  createContact(input: $input) {
    contact { id firstName lastName email mobilePhone company jobTitle timezone source version }
    mergePreview { survivor { id } }
  }
}";

pub const UPDATE: &str = "mutation($id: ID!, $input: ContactInput!, $v: Int) {
  updateContact(id: $id, input: $input, expectedVersion: $v) {
    contact { id firstName lastName email mobilePhone company version }
    mergePreview { survivor { id } }
  }
}";

pub const DELETE: &str = "mutation($id: ID!) { deleteContact(id: $id) { deletedContactId } }";

pub const GET: &str = "query($id: ID!) {
  contact(id: $id) { id firstName lastName email mobilePhone company version }
}";

/// Creates a contact that must be created; returns its JSON.
pub async fn create(server: &TestServer, token: &str, input: Value) -> Value {
    let data = server.data(token, CREATE, json!({ "input": input })).await;
    data["createContact"]["contact"].clone()
}

/// How many contacts the token can see.
pub async fn visible_count(server: &TestServer, token: &str) -> u64 {
    let data = server
        .data(token, "{ contacts { totalCount } }", json!({}))
        .await;
    data["contacts"]["totalCount"].as_u64().expect("totalCount")
}

/// Asks `/healthz` over and over while an attack runs, each time on a new
/// connection (so it also needs a free connection slot), and keeps the
/// slowest answer.
pub struct HealthProbe {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<(Duration, u32, Vec<String>)>,
}

impl HealthProbe {
    fn start(url: String) -> Self {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(30))
                .build()
                .expect("probe client");
            let mut slowest = Duration::ZERO;
            let mut answers = 0;
            let mut failures = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let started = std::time::Instant::now();
                match client.get(&url).send().await {
                    Ok(response) if response.status() == StatusCode::OK => answers += 1,
                    Ok(response) => failures.push(format!("status {}", response.status())),
                    Err(err) => failures.push(err.to_string()),
                }
                slowest = slowest.max(started.elapsed());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (slowest, answers, failures)
        });
        Self { stop, task }
    }

    /// Stops the probe and asserts that `/healthz` always answered `ok`
    /// within `within`.
    pub async fn finish(self, within: Duration) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (slowest, answers, failures) = self.task.await.expect("health probe");
        assert!(failures.is_empty(), "/healthz failed: {failures:?}");
        assert!(answers > 0, "/healthz was never asked");
        assert!(
            slowest <= within,
            "/healthz took {slowest:?} at worst (allowed {within:?})"
        );
    }
}

/// What a server started with [`TestServer::start_logged`] wrote to stderr.
#[derive(Clone, Default)]
pub struct Logs(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Logs {
    fn push(&self, line: String) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push(line);
        }
    }

    pub fn lines(&self) -> Vec<String> {
        self.0.lock().map(|lines| lines.clone()).unwrap_or_default()
    }

    /// Waits up to `within` for a line containing every one of `words`.
    pub async fn wait_for(&self, words: &[&str], within: Duration) -> Option<String> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(line) = self
                .lines()
                .into_iter()
                .find(|line| words.iter().all(|word| line.contains(word)))
            {
                return Some(line);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
