//! Side effects delivered after the fact, from rows the store wrote in the
//! same transaction as the change that caused them. Deliveries are at least
//! once: a row is claimed, sent, then marked; a crash between send and mark
//! sends again, so every message carries an id receivers can dedupe on.

pub mod calendars;
pub mod crms;
pub mod email;
pub mod notifications;
pub mod outbox;
mod refusal;
pub mod sms;
pub mod target_guard;
pub mod webhooks;

/// How long deliveries in flight may go on once the server shuts down;
/// those still going are given back for another process to make.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Completes [`SHUTDOWN_GRACE`] after `stop` is cancelled.
async fn grace_after(stop: &tokio_util::sync::CancellationToken) {
    stop.cancelled().await;
    tokio::time::sleep(SHUTDOWN_GRACE).await;
}

/// Everything but RFC 3986's unreserved characters is escaped.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// An opaque id or an email as one URL path segment.
fn path_segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_path_segment_escapes_all_but_the_unreserved() {
        assert_eq!(
            super::path_segment("a b/c?d#é-_.~Z9"),
            "a%20b%2Fc%3Fd%23%C3%A9-_.~Z9"
        );
        assert_eq!(
            super::path_segment("ann+x@example.com"),
            "ann%2Bx%40example.com"
        );
    }
}
