//! `importContacts` over GraphQL: a multipart upload queues a job that runs
//! in the background; its progress, counts and failed rows are polled with
//! `importJob`; a job cut off by a crash resumes from its last checkpoint.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::*;

const IMPORT: &str = "mutation($file: Upload!, $dryRun: Boolean!, $mapping: [ColumnMappingInput!]!) {
  importContacts(file: $file, dryRun: $dryRun, mapping: $mapping) { id status fileName dryRun bytesTotal }
}";

const JOB: &str = "query($id: ID!) { importJob(id: $id) {
  status dryRun rowsRead created updated unchanged failed bytesDone bytesTotal error ignoredColumns
  errors { line column reason } errorReport startedAt finishedAt } }";

const OUTLOOK: &str = "First Name,Last Name,E-mail Address,Mobile Phone,Notes
Ann,Lee,Ann@Example.com,(415) 555-0101,x
Bo,Berg,bo@example.com,not a phone,
Cy,Ng,,+1 415 555 0103,
Dee,,dee@example.com,,
";

/// POSTs a GraphQL multipart request (the upload spec's operations, map
/// and one file part), as a browser's FormData would.
pub(crate) async fn upload(
    server: &TestServer,
    token: &str,
    csv: &[u8],
    dry_run: bool,
    mapping: Value,
) -> (StatusCode, Value) {
    let boundary = "contacts-test-boundary-7d1f";
    let operations = json!({
        "query": IMPORT,
        "variables": { "file": null, "dryRun": dry_run, "mapping": mapping },
    });
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{\"0\": [\"variables.file\"]}}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"contacts.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(csv);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let response = server
        .http()
        .post(server.graphql_url())
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

pub async fn start_job(
    server: &TestServer,
    token: &str,
    csv: &[u8],
    dry_run: bool,
    mapping: Value,
) -> String {
    let (status, body) = upload(server, token, csv, dry_run, mapping).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    let job = &body["data"]["importContacts"];
    assert_eq!(job["fileName"], "contacts.csv");
    assert_eq!(job["dryRun"], dry_run);
    assert_eq!(job["bytesTotal"], csv.len() as f64);
    job["id"].as_str().unwrap().to_owned()
}

async fn job(server: &TestServer, token: &str, id: &str) -> Value {
    server.data(token, JOB, json!({ "id": id })).await["importJob"].clone()
}

pub async fn finished(server: &TestServer, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let job = job(server, token, id).await;
        if job["status"] == "SUCCEEDED" || job["status"] == "FAILED" {
            return job;
        }
        assert!(Instant::now() < deadline, "the job did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[rstest]
#[tokio::test]
async fn an_upload_runs_as_a_job_with_counts_and_an_error_report(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);

    let dry = start_job(&server, &admin, OUTLOOK.as_bytes(), true, json!([])).await;
    let dry = finished(&server, &admin, &dry).await;
    assert_eq!(dry["status"], "SUCCEEDED", "{dry}");
    assert_eq!(
        (dry["created"].clone(), dry["failed"].clone()),
        (json!(3), json!(1))
    );
    assert_eq!(
        visible_count(&server, &admin).await,
        0,
        "a dry run changes nothing"
    );

    let id = start_job(&server, &admin, OUTLOOK.as_bytes(), false, json!([])).await;
    let done = finished(&server, &admin, &id).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(done["rowsRead"], 4);
    assert_eq!(done["created"], 3);
    assert_eq!(done["updated"], 0);
    assert_eq!(done["failed"], 1);
    assert_eq!(done["bytesDone"], done["bytesTotal"]);
    assert_eq!(done["error"], Value::Null);
    assert_eq!(done["ignoredColumns"], json!(["Notes"]));
    assert!(done["startedAt"].is_string() && done["finishedAt"].is_string());
    assert_eq!(
        done["errors"],
        json!([{ "line": 3, "column": "Mobile Phone", "reason": "is not a phone number" }])
    );
    assert_eq!(
        done["errorReport"],
        "line,column,columnName,reason\n3,4,Mobile Phone,is not a phone number\n"
    );
    assert_eq!(visible_count(&server, &admin).await, 3);
    let ann = server
        .data(&admin, r#"{ contacts(filter: { search: "ann@" }) { edges { node { id mobilePhone source history(first: 5) { totalCount edges { node { action source actor { name } changes { field before after } } } } } } } }"#, json!({}))
        .await;
    let ann = &ann["contacts"]["edges"][0]["node"];
    assert_eq!(ann["mobilePhone"], "+14155550101");
    assert_eq!(ann["source"], "IMPORT");
    assert_eq!(ann["history"]["totalCount"], 1);
    let created = &ann["history"]["edges"][0]["node"];
    assert_eq!(created["action"], "CREATED");
    assert_eq!(created["source"], "IMPORT");
    assert_eq!(created["actor"]["name"], "ann");
    let change =
        |field: &str, after: &str| json!({ "field": field, "before": null, "after": after });
    let owner = created["changes"][4]["after"].clone();
    assert_eq!(
        created["changes"],
        json!([
            change("firstName", "Ann"),
            change("lastName", "Lee"),
            change("email", "ann@example.com"),
            change("mobilePhone", "+14155550101"),
            { "field": "ownerId", "before": null, "after": owner },
        ])
    );
    let me = server.data(&admin, "{ me { id } }", json!({})).await;
    assert_eq!(owner, me["me"]["id"], "history names the owner by its id");

    // The same file again changes nothing; an explicit mapping routes a
    // column the aliases would not know and ignores one they would take.
    let again = start_job(&server, &admin, OUTLOOK.as_bytes(), false, json!([])).await;
    let again = finished(&server, &admin, &again).await;
    assert_eq!(
        (again["created"].clone(), again["unchanged"].clone()),
        (json!(0), json!(3))
    );
    let mapped = start_job(
        &server,
        &admin,
        b"Work mail,Phone\nann@example.com,+1 415 555 0177\n",
        false,
        json!([{ "column": "work mail", "field": "EMAIL" }, { "column": "Phone", "field": null }]),
    )
    .await;
    let mapped = finished(&server, &admin, &mapped).await;
    assert_eq!(mapped["unchanged"], 1, "{mapped}");
    assert_eq!(mapped["ignoredColumns"], json!(["Phone"]));
}

#[rstest]
#[tokio::test]
async fn jobs_belong_to_their_importer_and_bad_files_are_refused_up_front(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let mia = server.create_user("mia", "MEMBER", None);
    let sam = server.create_user("sam", "MEMBER", None);
    let viewer = server.create_user("vic", "VIEWER", None);

    let (_, refused) = upload(&server, &viewer, OUTLOOK.as_bytes(), false, json!([])).await;
    assert_eq!(error_codes(&refused), ["FORBIDDEN"]);

    // What would stop the whole import is refused before a job exists,
    // naming the input at fault.
    let refusals = [
        (
            &b"Name,Company\nAnn,Acme\n"[..],
            json!([]),
            "mapping",
            "no column holds an email or a mobile phone",
        ),
        (
            OUTLOOK.as_bytes(),
            json!([{ "column": "No such column", "field": "EMAIL" }]),
            "mapping",
            "the file has no column \"No such column\"",
        ),
        (
            OUTLOOK.as_bytes(),
            json!([{ "column": " ", "field": "EMAIL" }]),
            "mapping",
            "a column must be 1 to 255 characters",
        ),
        (&b""[..], json!([]), "file", "the file is empty"),
        (
            &b"\xff\xfe\x00E\x00m\x00a\x00i\x00l\x00\n"[..],
            json!([]),
            "file",
            "the header row cannot be read",
        ),
    ];
    for (csv, mapping, field, message) in refusals {
        let (status, body) = upload(&server, &mia, csv, false, mapping).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(error_codes(&body), ["VALIDATION"], "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(message),
            "{body}"
        );
    }

    let id = start_job(&server, &mia, OUTLOOK.as_bytes(), false, json!([])).await;
    assert_eq!(id, job_id(1), "the refused uploads queued nothing");
    assert_eq!(finished(&server, &mia, &id).await["status"], "SUCCEEDED");
    assert_eq!(
        job(&server, &sam, &id).await,
        Value::Null,
        "another member's job"
    );
    assert_eq!(job(&server, &admin, &id).await["status"], "SUCCEEDED");
    let node = server
        .data(
            &mia,
            "query($id: ID!) { node(id: $id) { ... on ImportJob { status } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(node["node"]["status"], "SUCCEEDED");
    let as_sam = server
        .data(
            &sam,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(as_sam["node"], Value::Null);
    // Only mia's three contacts: nothing of the refused files got in.
    assert_eq!(visible_count(&server, &admin).await, 3);

    // Each importer lists their own jobs, newest first; an admin lists all.
    let second = start_job(&server, &sam, OUTLOOK.as_bytes(), true, json!([])).await;
    finished(&server, &sam, &second).await;
    let third = start_job(&server, &mia, OUTLOOK.as_bytes(), true, json!([])).await;
    finished(&server, &mia, &third).await;
    let ids = |page: &Value| -> Vec<Value> {
        page["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["id"].clone())
            .collect()
    };
    let mias = list(&server, &mia, 10, Value::Null).await;
    assert_eq!(ids(&mias), [json!(third), json!(id)]);
    assert_eq!(mias["totalCount"], 2);
    assert_eq!(mias["edges"][0]["node"]["dryRun"], true);
    assert_eq!(
        ids(&list(&server, &sam, 10, Value::Null).await),
        [json!(second)]
    );
    assert_eq!(
        ids(&list(&server, &viewer, 10, Value::Null).await),
        Vec::<Value>::new()
    );
    let first_page = list(&server, &admin, 2, Value::Null).await;
    assert_eq!(ids(&first_page), [json!(third), json!(second)]);
    assert_eq!(first_page["totalCount"], 3);
    assert_eq!(first_page["pageInfo"]["hasNextPage"], true);
    let rest = list(
        &server,
        &admin,
        2,
        first_page["pageInfo"]["endCursor"].clone(),
    )
    .await;
    assert_eq!(ids(&rest), [json!(id)]);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    for (first, after, field) in [
        (101, Value::Null, "first"),
        (2, json!("not a cursor"), "after"),
    ] {
        let (status, body) = server
            .post(
                &admin,
                "query($first: Int, $after: String) { importJobs(first: $first, after: $after) { totalCount } }",
                json!({ "first": first, "after": after }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(error_codes(&body), ["VALIDATION"], "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
}

#[rstest]
#[tokio::test]
async fn edits_go_on_while_a_job_imports(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let rows = 30_000;
    let mut csv = String::from("Email,First Name,Mobile Phone\n");
    for n in 0..rows {
        csv.push_str(&format!(
            "bulk{n}@example.com,B{n},+1 415 {:03} {:04}\n",
            300 + n / 10_000,
            n % 10_000
        ));
    }
    let id = start_job(&server, &admin, csv.as_bytes(), false, json!([])).await;
    // On SQLite the job writes through a connection of its own, beside the
    // server's pool; every edit made meanwhile still lands, once.
    let mut created = 0;
    while created < 5 || (job(&server, &admin, &id).await["status"] == "RUNNING" && created < 200) {
        let contact = create(
            &server,
            &admin,
            json!({ "email": format!("edit{created}@example.com") }),
        )
        .await;
        assert!(contact["id"].is_string(), "{contact}");
        created += 1;
    }
    let done = finished(&server, &admin, &id).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(done["created"], rows);
    assert_eq!(visible_count(&server, &admin).await, rows + created);
}

/// A page of `importJobs` as `token` sees it.
async fn list(server: &TestServer, token: &str, first: i64, after: Value) -> Value {
    server
        .data(
            token,
            "query($first: Int, $after: String) { importJobs(first: $first, after: $after) {
                totalCount edges { node { id dryRun } } pageInfo { hasNextPage endCursor } } }",
            json!({ "first": first, "after": after }),
        )
        .await["importJobs"]
        .clone()
}

#[rstest]
#[tokio::test]
async fn a_job_cut_off_by_a_crash_resumes_from_its_checkpoint(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let lease = ["--import-lease-secs", "1"];
    let mut first = TestServer::start_on(TestDb::new(backend).await, &lease).await;
    let admin = first.create_user("ann", "ADMIN", None);
    let rows = 60_000;
    let mut csv = String::from("Email,First Name,Mobile Phone\n");
    for n in 0..rows {
        csv.push_str(&format!(
            "p{n}@example.com,P{n},+1 415 {:03} {:04}\n",
            200 + n / 10_000,
            n % 10_000
        ));
    }
    let id = start_job(&first, &admin, csv.as_bytes(), false, json!([])).await;
    // Kill the server once some batches are committed and more remain.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let job = job(&first, &admin, &id).await;
        let done = job["bytesDone"].as_f64().unwrap();
        if done > 0.0 {
            assert!(
                done < job["bytesTotal"].as_f64().unwrap(),
                "the job ended before the crash: {job}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no batch was committed: {job}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill();

    let second = TestServer::start_on(TestDb::borrowed(&first.db.url), &lease).await;
    let done = finished(&second, &admin, &id).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(done["rowsRead"], rows);
    assert_eq!(done["created"], rows, "every row once, none twice: {done}");
    assert_eq!(done["failed"], 0);
    assert_eq!(visible_count(&second, &admin).await, rows as u64);
}

#[rstest]
#[tokio::test]
async fn imported_changes_reach_the_outbox(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server =
        TestServer::start_on(TestDb::new(backend).await, &["--allow-private-targets"]).await;
    let admin = server.create_user("ann", "ADMIN", None);
    create(&server, &admin, json!({ "email": "ann@example.com" })).await;
    // Nobody listens on port 9: deliveries stay in the log, pending.
    server
        .data(
            &admin,
            "mutation { connectWebhook(targetUrl: \"http://127.0.0.1:9/hook\", events: [CONTACT_CREATED, CONTACT_UPDATED]) { integration { id } } }",
            json!({}),
        )
        .await;
    let csv = b"Email,First Name\nann@example.com,Ann\nbo@example.com,Bo\ncy@example.com,Cy\n";
    let id = start_job(&server, &admin, csv, false, json!([])).await;
    let done = finished(&server, &admin, &id).await;
    assert_eq!(
        (done["created"].clone(), done["updated"].clone()),
        (json!(2), json!(1))
    );
    let log = server
        .data(
            &admin,
            "{ integrations { deliveries(first: 10) { eventType } } }",
            json!({}),
        )
        .await;
    let mut types: Vec<String> = log["integrations"][0]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["eventType"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    assert_eq!(
        types,
        ["contact.created", "contact.created", "contact.updated"]
    );
}

#[rstest]
#[tokio::test]
async fn an_upload_over_the_limit_is_refused_and_queues_nothing(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server =
        TestServer::start_on(TestDb::new(backend).await, &["--max-upload-bytes", "1000"]).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let mut csv = String::from("Email\n");
    for n in 0..500 {
        csv.push_str(&format!("p{n}@example.com\n"));
    }
    let (status, body) = upload(&server, &admin, csv.as_bytes(), false, json!([])).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(error_codes(&body), ["BAD_REQUEST"]);
    let first = start_job(
        &server,
        &admin,
        b"Email\nok@example.com\n",
        false,
        json!([]),
    )
    .await;
    let done = finished(&server, &admin, &first).await;
    assert_eq!(done["created"], 1);
    // The refused upload left no job behind: ids are handed out in order.
    assert_eq!(first, job_id(1));
}

/// The global id of import job `n` (base64url of `ImportJob:n`).
pub(crate) fn job_id(n: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("ImportJob:{n}"))
}

#[rstest]
#[tokio::test]
async fn identities_created_during_an_import_are_never_doubled(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    // A batch that keeps meeting the editor's contacts can give up; its
    // job is then taken up again from its checkpoint once its lease lapses.
    let lease = ["--import-lease-secs", "1"];
    let server = TestServer::start_on(TestDb::new(backend).await, &lease).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let rows: u64 = 30_000;
    let mut csv = String::from("Email,First Name\n");
    for n in 0..rows {
        csv.push_str(&format!("taken{n}@example.com,T{n}\n"));
    }
    let id = start_job(&server, &admin, csv.as_bytes(), false, json!([])).await;
    // Meanwhile an editor creates contacts the file names, spread over it:
    // some before the import reaches their batch, some while it writes
    // it, some after. Each identity must end in one contact, whoever came
    // first. (Every contact the editor gets in first turns its row into an
    // update, which the import writes one by one: a hundred or so keep the
    // test short.)
    let spread = (0..150u64).map(|k| rows - 1 - (k * 7919) % rows);
    for (k, n) in spread.enumerate() {
        if k >= 20 && job(&server, &admin, &id).await["status"] != "RUNNING" {
            break;
        }
        let answer = server
            .data(
                &admin,
                CREATE,
                json!({ "input": { "email": format!("taken{n}@example.com") } }),
            )
            .await;
        let made = &answer["createContact"];
        assert!(
            made["contact"].is_object() || made["mergePreview"].is_object(),
            "{answer}"
        );
    }
    let done = finished(&server, &admin, &id).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(done["failed"], 0, "{done}");
    let created_or_updated = done["created"].as_u64().unwrap() + done["updated"].as_u64().unwrap();
    assert_eq!(created_or_updated, rows, "{done}");
    assert_eq!(visible_count(&server, &admin).await, rows);
}

#[rstest]
#[tokio::test]
async fn the_error_report_comes_in_pages(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let csv = "Email\nbad1\nbad2\nok@example.com\nbad3\nbad4\nbad5\n";
    let id = start_job(&server, &admin, csv.as_bytes(), false, json!([])).await;
    let done = finished(&server, &admin, &id).await;
    assert_eq!(done["failed"], 5, "{done}");
    let page = |first: i64, after: Option<i64>| {
        server.post(
            &admin,
            "query($id: ID!, $first: Int!, $after: Int) { importJob(id: $id) { errorReport(first: $first, afterLine: $after) } }",
            json!({ "id": id, "first": first, "after": after }),
        )
    };
    let lines = |body: &Value| -> Vec<String> {
        body["data"]["importJob"]["errorReport"]
            .as_str()
            .unwrap_or_default()
            .lines()
            .skip(1)
            .map(|row| row.split(',').next().unwrap_or_default().to_owned())
            .collect()
    };
    let (_, first) = page(2, None).await;
    assert_eq!(lines(&first), ["2", "3"], "{first}");
    let (_, second) = page(2, Some(3)).await;
    assert_eq!(lines(&second), ["5", "6"], "{second}");
    let (_, last) = page(2, Some(6)).await;
    assert_eq!(lines(&last), ["7"], "{last}");
    for (first, after) in [(0, None), (10_001, None), (2, Some(-1))] {
        let (_, refused) = page(first, after).await;
        assert_eq!(error_codes(&refused), ["VALIDATION"], "{refused}");
    }
}

/// A job outlives the request that queued it, not its user's rights: a
/// policy taking away a field the file feeds, or the user's deactivation,
/// stops it at the next batch (FAILED, saying why), the batches before
/// committed and nothing after.
#[rstest]
#[tokio::test]
async fn a_running_job_follows_its_users_rights(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let mo = server.create_user("mo", "MEMBER", None);
    let mo_id = server.data(&mo, "{ me { id } }", json!({})).await["me"]["id"].clone();
    let rows = 60_000;
    let file = |prefix: &str| {
        let mut csv = String::from("Email,First Name\n");
        for n in 0..rows {
            csv.push_str(&format!("{prefix}{n}@example.com,P{n}\n"));
        }
        csv
    };
    // Waits until some batches are committed and more remain, then does
    // `change`; the job then ends FAILED with `why`.
    let stopped_by = |id: String, change: &'static str, variables: Value, why: &'static str| {
        let (server, admin) = (&server, &admin);
        async move {
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let job = job(server, admin, &id).await;
                let done = job["bytesDone"].as_f64().unwrap();
                if done > 0.0 {
                    assert!(
                        done < job["bytesTotal"].as_f64().unwrap(),
                        "the job ended before the change: {job}"
                    );
                    break;
                }
                assert!(Instant::now() < deadline, "no batch was committed: {job}");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            server.data(admin, change, variables).await;
            let done = finished(server, admin, &id).await;
            assert_eq!(done["status"], "FAILED", "{done}");
            assert!(done["error"].as_str().unwrap().contains(why), "{done}");
            let created = done["created"].as_u64().unwrap();
            assert!(created > 0 && created < rows, "{done}");
            created
        }
    };

    let id = start_job(&server, &mo, file("p").as_bytes(), false, json!([])).await;
    let first = stopped_by(
        id,
        "mutation { setFieldPolicy(role: MEMBER, field: EMAIL, access: READ) { access } }",
        json!({}),
        "email",
    )
    .await;
    server
        .data(
            &admin,
            "mutation { setFieldPolicy(role: MEMBER, field: EMAIL, access: WRITE) { access } }",
            json!({}),
        )
        .await;

    let id = start_job(&server, &mo, file("q").as_bytes(), false, json!([])).await;
    let second = stopped_by(
        id,
        "mutation($id: ID!) { updateUser(id: $id, input: { active: false }) { active } }",
        json!({ "id": mo_id }),
        "deactivated",
    )
    .await;
    assert_eq!(visible_count(&server, &admin).await, first + second);
}
