//! What the server writes to stderr.

use std::time::{Duration, Instant};

use rstest::rstest;

use crate::support::*;

/// Stderr redirected to a file is no terminal: the log is plain text, with
/// no colour escapes around levels and fields.
#[rstest]
#[tokio::test]
async fn logs_written_to_a_file_carry_no_colour_codes(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start_logging(TestDb::new(backend).await, &[], "info").await;
    // The startup line is written just after the address is printed.
    let started = Instant::now();
    let mut log = server.log();
    while !log.contains("serving GraphQL") && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        log = server.log();
    }
    let line = log
        .lines()
        .find(|line| line.contains("serving GraphQL"))
        .unwrap_or_else(|| panic!("no startup line in the log: {log:?}"));
    assert!(!log.contains("\x1b["), "colour codes in the log: {log:?}");
    assert!(line.contains(" INFO "), "{line:?}");
    assert!(line.contains("address=127.0.0.1:"), "{line:?}");
}
