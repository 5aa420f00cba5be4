//! One SQLite file, two processes: `serve` answering clients while the
//! command line imports into the same file. SQLite has one writer at a
//! time across processes; every request must still be answered, and none
//! with INTERNAL.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;

const BIN: &str = env!("CARGO_BIN_EXE_e2e-server");

#[tokio::test]
async fn serve_answers_every_request_while_the_command_line_imports() {
    let server = TestServer::start(Backend::Sqlite).await;
    let admin = server.create_user("ann", "ADMIN", None);
    server.create_user("loader", "ADMIN", None);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut csv = String::from("Email,First Name,Mobile Phone\n");
    for i in 0..200_000u32 {
        csv.push_str(&format!(
            "bulk{i}@example.com,B{i},+1415{:07}\n",
            2_000_000 + i
        ));
    }
    std::fs::write(&path, csv).unwrap();
    let import = Command::new(BIN)
        .args(["import", path.to_str().unwrap(), "--as", "loader"])
        .env("CONTACTS_DATABASE_URL", &server.db.url)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the import");

    let importing = Arc::new(AtomicBool::new(true));
    let mut clients = Vec::new();
    for client in 0..8 {
        let importing = importing.clone();
        let url = server.graphql_url();
        let token = admin.clone();
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut answers: Vec<Value> = Vec::new();
            let mut n = 0;
            while importing.load(Ordering::Relaxed) || n < 5 {
                let created: Value = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "query": CREATE, "variables": { "input": {
                        "email": format!("client{client}-{n}@example.com"), "firstName": "C" } } }))
                    .send()
                    .await
                    .expect("an answer to create")
                    .json()
                    .await
                    .expect("JSON");
                let id = created["data"]["createContact"]["contact"]["id"].clone();
                answers.push(created);
                if !id.is_null() {
                    let updated: Value = http
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({ "query": UPDATE, "variables": {
                            "id": id, "input": { "company": format!("Co {n}") } } }))
                        .send()
                        .await
                        .expect("an answer to update")
                        .json()
                        .await
                        .expect("JSON");
                    answers.push(updated);
                }
                n += 1;
            }
            answers
        }));
    }
    let status = tokio::task::spawn_blocking(move || import.wait_with_output())
        .await
        .unwrap()
        .expect("the import ends");
    importing.store(false, Ordering::Relaxed);
    assert!(status.status.success(), "the import failed");
    let printed = String::from_utf8_lossy(&status.stdout);
    assert!(printed.contains("created 200000"), "{printed}");
    let mut total = 0;
    for client in clients {
        for answer in client.await.unwrap() {
            total += 1;
            assert!(
                answer.get("errors").is_none(),
                "a request failed while the import ran: {answer}"
            );
        }
    }
    assert!(total >= 80, "the clients made {total} requests");
    tokio::time::sleep(Duration::from_millis(10)).await;
}
