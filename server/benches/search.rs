//! Search as you type among 1,000,000 contacts (issue 18), on SQLite and
//! PostgreSQL: `contacts(first: 50, filter: {search})` with its
//! `totalCount`, over HTTP, one client at a time, for five query shapes;
//! beside the same searches without the trigram indexes of migration 9.
//! Run: `cargo bench -p contacts-server --bench search`.
//!
//! The contacts are imported by `contacts-server import` from a generated
//! CSV (so the import's rate with the search index is printed too), with
//! names, companies and emails shaped like a CRM's: 60 first names, one
//! contact in ten a Smith, 4,000 companies, one contact in five without one,
//! each drawn independently (an earlier generator tied last names to first
//! names, so every Smith sorted late; BENCHMARKS.md shows what that did).
//!
//! Without the indexes: on PostgreSQL the same HTTP requests after dropping
//! the two trigram indexes; on SQLite, whose search reads the FTS table, the
//! SQL the server sent before issue 18 (LIKE over every row, then a count),
//! run in process, which leaves out the HTTP and GraphQL part (under 1 ms).
//!
//! Options through the environment: BENCH_CONTACTS (default 1000000),
//! BENCH_REQUESTS per shape (default 300), BENCH_SLOW_REQUESTS per shape
//! without the indexes (default 10), BENCH_BACKENDS (default
//! "sqlite,postgres"), CONTACTS_TEST_POSTGRES_URL.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod support;

use contacts_server::AppState;
use contacts_server::domain::Role;
use contacts_server::store::{Store, users};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::{Value, json};
use support::{ALLOCATOR_NAME, bench_settings, cli, env_or, psql, serve_api};

const FIRST: [&str; 60] = [
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Maximilian",
    "Nancy",
    "Daniel",
    "Lisa",
    "Matthew",
    "Betty",
    "Anthony",
    "Margaret",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Dorothy",
    "Kevin",
    "Carol",
    "Brian",
    "Amanda",
    "George",
    "Melissa",
    "Edward",
    "Deborah",
    "Ronald",
    "Stephanie",
    "Timothy",
    "Rebecca",
    "Jason",
    "Sharon",
    "Jeffrey",
    "Laura",
    "Ryan",
    "Cynthia",
];

const LAST: [&str; 40] = [
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Weber",
];

const COMPANY_HEAD: [&str; 40] = [
    "Velo", "Quanta", "Arbor", "Nimbus", "Cobalt", "Lumen", "Stra", "Pyro", "Helio", "Vanta",
    "Oro", "Kine", "Zephy", "Corva", "Mira", "Tessel", "Brio", "Flux", "Orbi", "Sola", "Terra",
    "Vire", "Axio", "Nova", "Pelli", "Rune", "Sylva", "Tova", "Umbra", "Xeno", "Yara", "Zenti",
    "Alto", "Bexa", "Cirro", "Dorsa", "Elan", "Fera", "Gala", "Hexa",
];

const COMPANY_TAIL: [&str; 20] = [
    "trix", "nova", "line", "soft", "works", "labs", "gen", "tek", "corp", "dyne", "ware", "link",
    "logic", "path", "point", "scope", "sync", "vale", "wave", "zone",
];

const COMPANY_FORM: [&str; 5] = ["Inc.", "GmbH", "Ltd", "LLC", "AG"];

fn company_of(i: u64) -> Option<String> {
    if mix(i, 5).is_multiple_of(5) {
        return None;
    }
    let n = mix(i, 4) % 4_000;
    Some(format!(
        "{}{} {}",
        COMPANY_HEAD[(n % 40) as usize],
        COMPANY_TAIL[((n / 40) % 20) as usize],
        COMPANY_FORM[((n / 800) % 5) as usize]
    ))
}

/// A well-mixed number for row `i` and purpose `salt` (splitmix64), so
/// first name, last name and company vary independently of each other and
/// of the row's place in the file.
fn mix(i: u64, salt: u64) -> u64 {
    let mut z = i.wrapping_add(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn name_of(i: u64) -> (&'static str, &'static str) {
    let first = FIRST[(mix(i, 1) % 60) as usize];
    let last = if mix(i, 2) % 10 == 3 {
        "Smith"
    } else {
        LAST[(mix(i, 3) % 40) as usize]
    };
    (first, last)
}

fn email_of(i: u64) -> String {
    let (first, last) = name_of(i);
    format!("{first}.{last}{i}@example{}.com", i % 97).to_lowercase()
}

fn generate(path: &Path, rows: u64) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create csv"));
    writeln!(
        out,
        "First Name,Last Name,E-mail Address,Mobile Phone,Company"
    )
    .expect("write");
    for i in 0..rows {
        let (first, last) = name_of(i);
        let exchange = 200 + (i / 10_000) % 800;
        let line = i % 10_000;
        let phone = match i % 3 {
            0 => format!("(415) {exchange:03}-{line:04}"),
            1 => format!("+1 415 {exchange:03} {line:04}"),
            _ => format!("415.{exchange:03}.{line:04}"),
        };
        let company = company_of(i).unwrap_or_default();
        writeln!(out, "{first},{last},{},{phone},{company}", email_of(i)).expect("write");
    }
    out.flush().expect("flush");
}

/// The five shapes of the issue, each a text a user types.
fn shapes() -> Vec<(&'static str, String)> {
    let company = (12_345..).find_map(company_of).unwrap_or_default();
    let word = company.split(' ').next().unwrap_or_default().to_lowercase();
    let email = email_of(4_242);
    let local = email.split('@').next().unwrap_or_default();
    vec![
        ("name substring", "maximil".to_owned()),
        ("company", word),
        ("email prefix", local[..local.len() - 1].to_owned()),
        ("phone prefix", "(415) 250-1".to_owned()),
        ("word in 100k contacts", "smith".to_owned()),
    ]
}

const QUERY: &str = "query($s: String) { contacts(first: 50, filter: {search: $s}) {
  totalCount totalCountCapped
  edges { node { id firstName lastName email mobilePhone company } } } }";

struct Latencies(Vec<Duration>);

impl Latencies {
    fn quantile(&self, q: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[index].as_secs_f64() * 1000.0
    }

    fn line(&self) -> String {
        format!(
            "p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  ({} requests)",
            self.quantile(0.5),
            self.quantile(0.99),
            self.quantile(1.0),
            self.0.len()
        )
    }
}

async fn over_http(url: &str, token: &str, text: &str, requests: usize) -> (Latencies, String) {
    let client = reqwest::Client::new();
    let ask = || async {
        let started = Instant::now();
        let body: Value = client
            .post(url)
            .bearer_auth(token)
            .json(&json!({ "query": QUERY, "variables": { "s": text } }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert!(body.get("errors").is_none(), "{body}");
        (started.elapsed(), body)
    };
    for _ in 0..3 {
        ask().await;
    }
    let mut latencies = Vec::with_capacity(requests);
    let mut last = Value::Null;
    for _ in 0..requests {
        let (took, body) = ask().await;
        latencies.push(took);
        last = body;
    }
    let page = &last["data"]["contacts"];
    let found = format!(
        "{} on the page, totalCount {}{}",
        page["edges"].as_array().map_or(0, Vec::len),
        page["totalCount"],
        if page["totalCountCapped"] == true {
            "+"
        } else {
            ""
        }
    );
    (Latencies(latencies), found)
}

/// The query the server sent for a search before issue 18, and its count.
async fn before_issue_18(store: &Store, text: &str, requests: usize) -> Latencies {
    let pattern = format!("%{text}%");
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let phone = if digits.len() >= 3 {
        format!("%{digits}%")
    } else {
        "\u{1}".to_owned()
    };
    let condition = "(sort_name LIKE $1 ESCAPE '\\' OR lower(company) LIKE $1 ESCAPE '\\' \
                     OR email LIKE $1 ESCAPE '\\' OR mobile_phone LIKE $2 ESCAPE '\\')";
    let page = format!("SELECT * FROM contacts WHERE {condition} ORDER BY sort_name, id LIMIT 51");
    let count = format!("SELECT COUNT(*) FROM contacts WHERE {condition}");
    let mut latencies = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        for sql in [&page, &count] {
            store
                .db()
                .query_all_raw(Statement::from_sql_and_values(
                    store.backend(),
                    sql.as_str(),
                    [pattern.clone().into(), phone.clone().into()],
                ))
                .await
                .expect("query");
        }
        latencies.push(started.elapsed());
    }
    Latencies(latencies)
}

async fn bench(backend: &str, url: &str, file: &Path, rows: u64) {
    cli(
        url,
        &["user", "create", "--name", "bench", "--role", "ADMIN"],
    );
    let started = Instant::now();
    let summary = cli(
        url,
        &["import", file.to_str().expect("path"), "--as", "bench"],
    );
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{backend}: import with the search index: {:.0} rows/s, {seconds:.1} s ({summary})",
        rows as f64 / seconds
    );
    let store = Store::connect(url).await.expect("open");
    if store.backend() == DatabaseBackend::Postgres {
        // What autovacuum does within a minute of a large import; the
        // planner's choice between the trigram and order indexes needs it.
        psql(url, "ANALYZE contacts");
    }
    let (_, token) = users::create_user(&store, "bench-searcher", Role::Admin, None)
        .await
        .expect("user");
    let address = serve_api(AppState::new(store.clone(), bench_settings(false))).await;
    let graphql = format!("http://{address}/graphql");
    let requests = env_or("BENCH_REQUESTS", 300);
    let slow = env_or("BENCH_SLOW_REQUESTS", 10);
    for (shape, text) in shapes() {
        let (latencies, found) = over_http(&graphql, &token, &text, requests).await;
        println!(
            "{backend}, {shape:<22} {text:<26} {}  [{found}]",
            latencies.line()
        );
    }
    match store.backend() {
        DatabaseBackend::Postgres => {
            psql(
                url,
                "DROP INDEX contacts_sort_name_trgm_idx; DROP INDEX contacts_company_trgm_idx; \
                 ANALYZE contacts",
            );
            for (shape, text) in shapes() {
                let (latencies, _) = over_http(&graphql, &token, &text, slow).await;
                println!(
                    "{backend}, no trigram index, {shape:<22} {}",
                    latencies.line()
                );
            }
        }
        _ => {
            for (shape, text) in shapes() {
                let latencies = before_issue_18(&store, &text, slow).await;
                println!(
                    "{backend}, pre-issue-18 SQL, {shape:<22} {}",
                    latencies.line()
                );
            }
        }
    }
}

#[tokio::main]
async fn main() {
    let rows: u64 = env_or("BENCH_CONTACTS", 1_000_000);
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&data).expect("bench-data dir");
    let file = data.join(format!("search-v2-{rows}.csv"));
    if !file.exists() {
        generate(&file, rows);
    }
    println!("contacts: {rows}; allocator: {ALLOCATOR_NAME}");
    let backends: String = env_or("BENCH_BACKENDS", "sqlite,postgres".to_owned());
    let dir = tempfile::tempdir().expect("temp dir");
    if backends.contains("sqlite") {
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("search.db").display()
        );
        bench("SQLite", &url, &file, rows).await;
    }
    if backends.contains("postgres") {
        let admin_url = std::env::var("CONTACTS_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = "contacts_bench_search";
        psql(&admin_url, &format!("DROP DATABASE IF EXISTS {name}"));
        psql(&admin_url, &format!("CREATE DATABASE {name}"));
        let mut url = reqwest::Url::parse(&admin_url).expect("postgres url");
        url.set_path(&format!("/{name}"));
        bench("PostgreSQL", url.as_str(), &file, rows).await;
        // The in-process server still holds its pool.
        psql(
            &admin_url,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        );
    }
}
