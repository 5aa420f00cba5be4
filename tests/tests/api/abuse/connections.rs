//! Sockets that send nothing, send a header line at a time, stall a body or
//! ask for more than a deadline allows: each ends with a clear answer or a
//! closed connection, never a server that stops answering `/healthz`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rstest::rstest;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::support::*;

fn address(server: &TestServer) -> SocketAddr {
    server
        .base_url
        .trim_start_matches("http://")
        .parse()
        .expect("the server's address")
}

/// A connection from another loopback address than the probe's, as an
/// attacker elsewhere would have.
async fn connect_from(local: &str, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{local}:0").parse().expect("local address"))?;
    socket.connect(server).await
}

/// Whether the server has closed `stream` within `within` (EOF or reset).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// The status code of the response `stream` receives first.
async fn status_of(stream: &mut TcpStream) -> u16 {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    let line = String::from_utf8_lossy(&head);
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[rstest]
#[tokio::test]
async fn silent_and_slow_connections_are_capped_and_closed(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start_on(
        TestDb::new(backend).await,
        &[
            "--header-timeout-secs",
            "1",
            "--max-connections-per-address",
            "50",
        ],
    )
    .await;
    let target = address(&server);
    let probe = server.probe_health();

    // 300 sockets that send nothing: past 50 from one address they are
    // closed at once; the 50 are closed when their header is late.
    let mut silent = Vec::new();
    for _ in 0..300 {
        silent.push(connect_from("127.0.0.2", target).await.expect("connect"));
    }
    let mut closed_at_once = 0;
    for stream in &mut silent {
        if closed_within(stream, Duration::from_millis(20)).await {
            closed_at_once += 1;
        }
    }
    assert!(
        closed_at_once >= 250,
        "over the cap: {closed_at_once} of 300 closed at once"
    );
    for stream in &mut silent {
        assert!(
            closed_within(stream, Duration::from_secs(3)).await,
            "a silent connection outlived the header timeout"
        );
    }

    // One header line at a time: closed once the whole header is late.
    let mut slow = connect_from("127.0.0.2", target).await.expect("connect");
    let started = Instant::now();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut cut_off = false;
    for i in 0..20 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if slow
            .write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
            .await
            .is_err()
        {
            cut_off = true;
            break;
        }
        if closed_within(&mut slow, Duration::from_millis(1)).await {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "a header sent a line at a time was never cut off");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    // An idle keep-alive connection is closed too.
    let mut idle = connect_from("127.0.0.2", target).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(status_of(&mut idle).await, 200);
    assert!(closed_within(&mut idle, Duration::from_secs(3)).await);

    probe.finish(Duration::from_secs(2)).await;
}

#[rstest]
#[tokio::test]
async fn eleven_hundred_idle_sockets_leave_the_server_answering(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    // The defaults: 256 connections an address, 1,024 in all.
    let server = TestServer::start(backend).await;
    let target = address(&server);
    let probe = server.probe_health();
    let mut idle = Vec::new();
    for _ in 0..1100 {
        if let Ok(stream) = connect_from("127.0.0.2", target).await {
            idle.push(stream);
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let data = server.data(&admin, "{ me { name } }", json!({})).await;
    assert_eq!(data["me"]["name"], "ann");
    probe.finish(Duration::from_secs(2)).await;
    drop(idle);
}

#[rstest]
#[tokio::test]
async fn open_connections_are_capped_and_freed(#[values(Backend::Sqlite)] backend: Backend) {
    let server = TestServer::start_on(
        TestDb::new(backend).await,
        &["--max-connections", "4", "--header-timeout-secs", "1.5"],
    )
    .await;
    let target = address(&server);
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from("127.0.0.2", target).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A fifth waits for a slot: the four are closed when their header is
    // late, and then it is served.
    let started = Instant::now();
    let response = reqwest::get(format!("{}/healthz", server.base_url))
        .await
        .expect("served once a slot is free");
    assert_eq!(response.status(), 200);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(800),
        "served at once: {waited:?}"
    );
}

#[rstest]
#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_408(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server =
        TestServer::start_on(TestDb::new(backend).await, &["--body-timeout-secs", "1"]).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let mut stream = TcpStream::connect(address(&server)).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"query\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    assert_eq!(status_of(&mut stream).await, 408);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

/// `count` contacts, imported by the command line (no server involved).
fn import_contacts(server: &TestServer, count: usize) {
    server.create_user("loader", "ADMIN", None);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.csv");
    let mut csv = String::from("Email,First Name,Company\n");
    for i in 0..count {
        csv.push_str(&format!(
            "person{i}@example.com,Person{i},Company {}\n",
            i % 97
        ));
    }
    std::fs::write(&path, csv).unwrap();
    cli(
        &server.db.url,
        &["import", path.to_str().unwrap(), "--as", "loader"],
    );
}

/// Two counts over every contact: a search would be answered by its index
/// now, a count of all rows still reads them all.
const HEAVY: &str = "{ a: contacts(first: 1) { totalCount } \
                     b: contacts(first: 1, filter: {source: IMPORT}) { totalCount } }";

#[rstest]
#[tokio::test]
async fn a_request_past_its_deadline_is_answered_timeout(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start_on(
        TestDb::new(backend).await,
        &["--request-timeout-secs", "0.001"],
    )
    .await;
    import_contacts(&server, 20_000);
    let admin = server.create_user("ann", "ADMIN", None);
    let (status, body) = server.post(&admin, HEAVY, json!({})).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(error_codes(&body), ["TIMEOUT"], "{body}");
    // The server goes on serving.
    let health = reqwest::get(format!("{}/healthz", server.base_url))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[rstest]
#[tokio::test]
async fn a_statement_past_its_timeout_is_cancelled(#[values(Backend::Postgres)] backend: Backend) {
    let server = TestServer::start_on(
        TestDb::new(backend).await,
        &["--statement-timeout-secs", "0.005"],
    )
    .await;
    // Enough rows that counting them takes longer than the timeout.
    import_contacts(&server, 200_000);
    let admin = server.create_user("ann", "ADMIN", None);
    let (status, body) = server.post(&admin, HEAVY, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        error_codes(&body).iter().all(|code| code == "TIMEOUT") && !error_codes(&body).is_empty(),
        "{body}"
    );
}
