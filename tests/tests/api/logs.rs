//! What the server writes to stderr.

use std::time::Duration;

use rstest::rstest;

use crate::support::*;

/// Stderr that is no terminal (a file, a pipe) gets plain text, with no
/// colour escapes around levels and fields.
#[rstest]
#[tokio::test]
async fn logs_off_a_terminal_carry_no_colour_codes(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let (_server, logs) = TestServer::start_logged(TestDb::new(backend).await, &[], "info").await;
    // The startup line is written just after the address is printed.
    let line = logs
        .wait_for(&["serving GraphQL"], Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("no startup line in the log: {:?}", logs.lines()));
    let all = logs.lines().join("\n");
    assert!(!all.contains("\x1b["), "colour codes in the log: {all:?}");
    assert!(line.contains(" INFO "), "{line:?}");
    assert!(line.contains("address=127.0.0.1:"), "{line:?}");
}
