//! How the connectors read an HTTP failure, the same for every peer.

use std::time::Duration;

use super::target_guard::RefusedTarget;
use crate::store::integrations::Outcome;

/// Retry-After in seconds is honoured, up to an hour.
const RETRY_AFTER_MAX: u64 = 3600;

/// A non-success answer as an outcome: final for refusals the peer would
/// repeat, a retry otherwise, paced by Retry-After on 429.
pub fn refused(response: &reqwest::Response, what: &str) -> Outcome {
    let status = response.status();
    let retry_after = (status == reqwest::StatusCode::TOO_MANY_REQUESTS)
        .then(|| {
            response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|secs| Duration::from_secs(secs.min(RETRY_AFTER_MAX)))
        })
        .flatten();
    Outcome::from_refusal(status.as_u16(), format!("{what}: {status}"), retry_after)
}

/// A peer that could not be reached, or was not tried because the
/// outbound rule refused its address. The error is told without its URL,
/// which may carry contact data.
pub fn unreachable(err: reqwest::Error) -> Outcome {
    if let Some(refused) = RefusedTarget::in_chain(&err) {
        return Outcome::Refused {
            error: refused.to_string(),
        };
    }
    Outcome::Retry {
        error: err.without_url().to_string(),
        status_code: None,
        retry_after: None,
    }
}
