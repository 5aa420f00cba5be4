//! Integration secrets at rest (issue 19, DESIGN.md section 11): sealed
//! under the server's key, absent from the database's bytes and from every
//! answer after creation, sealed on first start when an earlier version
//! stored them in clear, and still opening after `secrets rotate`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use contacts_migrations::{Migrator, MigratorTrait};
use rstest::rstest;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

use crate::support::*;
use crate::webhooks::{Receiver, verify};

const CONNECT_WEBHOOK: &str = "mutation($url: String!) {
  connectWebhook(targetUrl: $url, events: [CONTACT_CREATED]) { signingSecret integration { id } } }";
const CONNECT_CRM: &str = "mutation($token: String!) {
  connectCrm(crm: HUBSPOT, baseUrl: \"http://127.0.0.1:9\", accessToken: $token) { id } }";
const HUBSPOT_TOKEN: &str = "pat-na1-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";

async fn stored_secrets(url: &str) -> Vec<String> {
    let db = Database::connect(url).await.expect("connect");
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT secret FROM integrations ORDER BY id",
        ))
        .await
        .expect("secrets");
    db.close().await.ok();
    rows.iter()
        .map(|row| row.try_get::<String>("", "secret").expect("secret"))
        .collect()
}

/// Every byte the SQLite database has on disk: the file and its WAL.
fn sqlite_bytes(url: &str) -> Vec<u8> {
    let file = url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .expect("path");
    let dir = Path::new(file).parent().expect("dir");
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.to_string_lossy().contains("contacts.db") {
            bytes.extend(std::fs::read(&path).expect("read"));
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// The first event the receiver got, once it got one.
async fn first_event(receiver: &Receiver) -> (reqwest::header::HeaderMap, Value, String) {
    for _ in 0..150 {
        if let Some(first) = receiver.accepted().into_iter().next() {
            return first;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the webhook was never called");
}

fn fast<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--dispatch-interval-ms", "100", "--allow-private-targets"];
    args.extend_from_slice(extra);
    args
}

#[rstest]
#[tokio::test]
async fn integration_secrets_are_sealed_at_rest_and_never_answered(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start_on(TestDb::new(backend).await, &fast(&[])).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let receiver = Receiver::start(Vec::new()).await;
    let connected = server
        .data(&admin, CONNECT_WEBHOOK, json!({ "url": receiver.url }))
        .await;
    let signing = connected["connectWebhook"]["signingSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(signing.starts_with("whsec_"));
    server
        .data(&admin, CONNECT_CRM, json!({ "token": HUBSPOT_TOKEN }))
        .await;

    // Nothing answers a secret again.
    let listed = server
        .data(
            &admin,
            "{ integrations { id kind targetUrl events active createdAt deliveries { id lastError } } }",
            json!({}),
        )
        .await
        .to_string();
    let id = connected["connectWebhook"]["integration"]["id"].clone();
    let node = server
        .data(
            &admin,
            "query($id: ID!) { node(id: $id) { ... on Integration { targetUrl } } }",
            json!({ "id": id }),
        )
        .await
        .to_string();
    for answer in [&listed, &node] {
        assert!(
            !answer.contains(&signing) && !answer.contains(HUBSPOT_TOKEN),
            "{answer}"
        );
    }

    // The database holds them sealed.
    let stored = stored_secrets(&server.db.url).await;
    assert_eq!(stored.len(), 2);
    for sealed in &stored {
        assert!(sealed.starts_with("enc:v1:"), "{sealed}");
        assert!(!sealed.contains(&signing) && !sealed.contains(HUBSPOT_TOKEN));
    }
    if backend == Backend::Sqlite {
        let bytes = sqlite_bytes(&server.db.url);
        assert!(!bytes.is_empty());
        assert!(
            !contains(&bytes, &signing),
            "the signing secret is in the file"
        );
        assert!(
            !contains(&bytes, HUBSPOT_TOKEN),
            "the access token is in the file"
        );
    }

    // And the server opens them to deliver: the webhook's signature holds.
    create(&server, &admin, json!({ "email": "dee@example.com" })).await;
    let (headers, _, body) = first_event(&receiver).await;
    assert!(verify(&signing, &headers, &body));
}

#[rstest]
#[tokio::test]
async fn secrets_an_earlier_version_stored_in_clear_are_sealed_on_first_start(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let receiver = Receiver::start(Vec::new()).await;
    let db = TestDb::new(backend).await;
    {
        // The schema as it landed before secrets were sealed (migration 8),
        // with a webhook connected by that version.
        let old = Database::connect(&db.url).await.expect("connect");
        Migrator::up(&old, Some(8))
            .await
            .expect("migrations 1 to 8");
        old.execute_unprepared(&format!(
            "INSERT INTO integrations (kind, target_url, secret, events, active, created_at) \
             VALUES ('WEBHOOK', '{}', 'whsec_stored_in_clear', '[\"contact.created\"]', true, 0)",
            receiver.url
        ))
        .await
        .expect("an integration in clear");
        old.close().await.ok();
    }
    let server = TestServer::start_on(db, &fast(&[])).await;
    let stored = stored_secrets(&server.db.url).await;
    assert!(stored[0].starts_with("enc:v1:"), "{stored:?}");
    if backend == Backend::Sqlite {
        assert!(!contains(
            &sqlite_bytes(&server.db.url),
            "whsec_stored_in_clear"
        ));
    }
    let admin = server.create_user("ann", "ADMIN", None);
    create(&server, &admin, json!({ "email": "dee@example.com" })).await;
    let (headers, _, body) = first_event(&receiver).await;
    assert!(verify("whsec_stored_in_clear", &headers, &body));
}

#[tokio::test]
async fn a_key_file_is_made_private_and_a_rotated_key_opens_every_secret() {
    let keys = tempfile::tempdir().expect("temp dir");
    let key_file = keys.path().join("contacts.key");
    let key_arg = key_file.to_str().expect("utf-8 path").to_owned();
    let receiver = Receiver::start(Vec::new()).await;
    let db = TestDb::new(Backend::Sqlite).await;
    let url = db.url.clone();
    let mut first = TestServer::start_on(db, &fast(&["--secret-key-file", &key_arg])).await;
    let mode = std::fs::metadata(&key_file)
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let old_key = std::fs::read_to_string(&key_file).expect("key");
    let admin = first.create_user("ann", "ADMIN", None);
    let signing = first
        .data(&admin, CONNECT_WEBHOOK, json!({ "url": receiver.url }))
        .await["connectWebhook"]["signingSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    let sealed_before = stored_secrets(&url).await;
    first.kill();

    let said = cli(&url, &["secrets", "rotate", "--secret-key-file", &key_arg]);
    assert!(said.contains("sealed 1 integration secrets"), "{said}");
    let new_key = std::fs::read_to_string(&key_file).expect("key");
    assert_ne!(new_key, old_key);
    let mode = std::fs::metadata(&key_file)
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_ne!(stored_secrets(&url).await, sealed_before);

    let second = TestServer::start_on(
        TestDb::borrowed(&url),
        &fast(&["--secret-key-file", &key_arg]),
    )
    .await;
    create(&second, &admin, json!({ "email": "dee@example.com" })).await;
    let (headers, _, body) = first_event(&receiver).await;
    assert!(
        verify(&signing, &headers, &body),
        "the secret opened under the new key"
    );
    drop(first);
}
