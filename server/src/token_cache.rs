//! Recently seen bearer tokens and the callers they stand for. Looking a
//! token up costs two queries; a busy client sends the same token on every
//! request. An entry is trusted only while the token generation it was
//! stored under is current (`store::auth_generation`, read once per
//! request), so a revoked token, a deactivated user or a changed role
//! applies on the next request in every process; the TTL bounds how long an
//! entry lives at all, and an expired token is refused by its own clock.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::store::tokens::Authenticated;

/// Entries beyond this are dropped wholesale: a flood of distinct tokens
/// must not grow memory without bound.
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    caller: Authenticated,
    generation: i64,
    stored: Instant,
}

pub struct TokenCache {
    ttl: Duration,
    entries: RwLock<HashMap<String, Entry>>,
}

impl TokenCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The caller `token` stands for, if it was stored under `generation`
    /// and has not lived past the TTL.
    pub fn get(&self, token: &str, generation: i64) -> Option<Authenticated> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.read().ok()?;
        let entry = entries.get(token)?;
        (entry.generation == generation && entry.stored.elapsed() < self.ttl)
            .then(|| entry.caller.clone())
    }

    /// Only tokens that resolved to a caller are kept; unknown tokens are
    /// looked up every time, so a new token works at once.
    pub fn insert(&self, token: &str, caller: Authenticated, generation: i64) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, entry| entry.stored.elapsed() < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            token.to_owned(),
            Entry {
                caller,
                generation,
                stored: Instant::now(),
            },
        );
    }

    /// Whether this use of `token` (at `now`, microseconds) should be
    /// written as its `lastUsedAt`; if so, the entry notes it written, so
    /// other requests of this process do not write it again within
    /// `LAST_USED_EVERY`.
    pub fn claim_last_used(&self, token: &str, now: i64) -> bool {
        let Ok(mut entries) = self.entries.write() else {
            return false;
        };
        match entries.get_mut(token) {
            Some(entry) if entry.caller.last_used_due(now) => {
                entry.caller.last_used_at = Some(now);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Principal, Role};

    fn caller() -> Authenticated {
        Authenticated {
            principal: Principal::with_defaults(1, Role::Admin, vec![]),
            token_id: 7,
            expires_at: None,
            last_used_at: None,
        }
    }

    #[test]
    fn entries_expire() {
        let cache = TokenCache::new(Duration::from_millis(20));
        cache.insert("t", caller(), 0);
        assert_eq!(cache.get("t", 0), Some(caller()));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(cache.get("t", 0), None);
    }

    #[test]
    fn a_new_generation_drops_every_entry() {
        let cache = TokenCache::new(Duration::from_secs(30));
        cache.insert("t", caller(), 4);
        assert_eq!(cache.get("t", 5), None);
    }

    #[test]
    fn zero_ttl_disables_the_cache() {
        let cache = TokenCache::new(Duration::ZERO);
        cache.insert("t", caller(), 0);
        assert_eq!(cache.get("t", 0), None);
    }

    #[test]
    fn last_used_is_written_once_a_minute() {
        let cache = TokenCache::new(Duration::from_secs(30));
        cache.insert("t", caller(), 0);
        let now = 1_000_000_000;
        assert!(cache.claim_last_used("t", now));
        assert!(!cache.claim_last_used("t", now + 59_000_000));
        assert!(cache.claim_last_used("t", now + 60_000_000));
        assert!(!cache.claim_last_used("unknown", now));
    }
}
