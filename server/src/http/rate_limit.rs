//! Requests a minute per caller: per bearer token once the token is known,
//! per client address otherwise (no token, or one that is not cached yet,
//! which costs a database lookup). A caller over its quota gets 429 with
//! `Retry-After`; every answer carries `RateLimit-Limit`,
//! `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the quota is
//! whole again), as in the IETF draft on rate-limit headers.
//!
//! The quota is a GCRA bucket (governor): a caller may spend the whole
//! minute's quota at once, and it refills evenly over the minute.

use std::hash::BuildHasher;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::listener::client_key;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// Who a request is counted against.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    Token(&'a str),
    Address(IpAddr),
}

/// What the limiter decided, and what the headers tell the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Until the quota is whole again.
    pub reset: Duration,
    /// Until the next request would be allowed, when this one was not.
    pub retry_after: Option<Duration>,
}

pub struct RateLimits {
    tokens: Keyed<u64>,
    addresses: Keyed<IpAddr>,
    /// Tokens are kept as a hash: the limiter need not hold secrets.
    hasher: foldhash::fast::RandomState,
    quota: Quota,
}

impl RateLimits {
    /// `None` when `per_minute` is 0: no limit.
    pub fn new(per_minute: u32) -> Option<Arc<Self>> {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute)?);
        Some(Arc::new(Self {
            tokens: RateLimiter::keyed(quota).with_middleware(),
            addresses: RateLimiter::keyed(quota).with_middleware(),
            hasher: foldhash::fast::RandomState::default(),
            quota,
        }))
    }

    pub fn check(&self, caller: Caller<'_>) -> Decision {
        let outcome = match caller {
            Caller::Token(token) => self.tokens.check_key(&self.hasher.hash_one(token)),
            Caller::Address(ip) => self.addresses.check_key(&client_key(ip)),
        };
        let limit = self.quota.burst_size().get();
        let interval = self.quota.replenish_interval();
        match outcome {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity().min(limit);
                Decision {
                    allowed: true,
                    limit,
                    remaining,
                    reset: interval * (limit - remaining),
                    retry_after: None,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Decision {
                    allowed: false,
                    limit,
                    remaining: 0,
                    reset: interval * limit,
                    retry_after: Some(wait),
                }
            }
        }
    }

    /// Forgets callers whose buckets are full again, now and then, so the
    /// keys of callers long gone do not pile up.
    pub fn spawn_pruning(self: &Arc<Self>) {
        let limits = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(limits) = limits.upgrade() else {
                    return;
                };
                limits.tokens.retain_recent();
                limits.tokens.shrink_to_fit();
                limits.addresses.retain_recent();
                limits.addresses.shrink_to_fit();
            }
        });
    }
}

/// Whole seconds, rounded up: a client told 0 would retry at once.
fn seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

impl Decision {
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert("ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(seconds(self.reset)));
        if let Some(wait) = self.retry_after {
            headers.insert("retry-after", HeaderValue::from(seconds(wait).max(1)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_caller_spends_its_quota_then_waits_and_others_do_not() {
        let limits = RateLimits::new(3).unwrap();
        let ann = Caller::Token("ann's token");
        let remaining: Vec<u32> = (0..3).map(|_| limits.check(ann).remaining).collect();
        assert_eq!(remaining, [2, 1, 0]);
        let refused = limits.check(ann);
        assert!(!refused.allowed);
        let wait = refused.retry_after.unwrap();
        assert!(
            wait > Duration::from_secs(15) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(limits.check(Caller::Token("bob's token")).allowed);
        assert!(
            limits
                .check(Caller::Address("10.0.0.1".parse().unwrap()))
                .allowed
        );
    }

    #[test]
    fn no_limit_is_none() {
        assert!(RateLimits::new(0).is_none());
    }

    #[tokio::test]
    async fn headers_say_how_much_is_left_and_when_it_is_whole() {
        let limits = RateLimits::new(60).unwrap();
        let decision = limits.check(Caller::Token("t"));
        let mut headers = HeaderMap::new();
        decision.write_headers(&mut headers);
        assert_eq!(headers["ratelimit-limit"], "60");
        assert_eq!(headers["ratelimit-remaining"], "59");
        assert_eq!(headers["ratelimit-reset"], "1");
        assert!(headers.get("retry-after").is_none());
    }
}
