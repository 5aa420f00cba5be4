//! Recently seen bearer tokens and the callers they stand for. Looking a
//! token up costs two queries; a busy client sends the same token on every
//! request. Entries live for a short TTL, so a change of role or team, or a
//! revoked token, takes effect within that time in every process without
//! any process needing to tell another.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::domain::Principal;

/// Entries beyond this are dropped wholesale: a flood of distinct tokens
/// must not grow memory without bound.
const MAX_ENTRIES: usize = 10_000;

pub struct TokenCache {
    ttl: Duration,
    entries: RwLock<HashMap<String, (Principal, Instant)>>,
}

impl TokenCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub fn get(&self, token: &str) -> Option<Principal> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.read().ok()?;
        let (principal, stored) = entries.get(token)?;
        (stored.elapsed() < self.ttl).then(|| principal.clone())
    }

    /// Only tokens that resolved to a caller are kept; unknown tokens are
    /// looked up every time, so a new token works at once.
    pub fn insert(&self, token: &str, principal: Principal) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, stored)| stored.elapsed() < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(token.to_owned(), (principal, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    fn principal() -> Principal {
        Principal {
            user_id: 1,
            role: Role::Admin,
            team_ids: vec![],
        }
    }

    #[test]
    fn entries_expire() {
        let cache = TokenCache::new(Duration::from_millis(20));
        cache.insert("t", principal());
        assert_eq!(cache.get("t"), Some(principal()));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(cache.get("t"), None);
    }

    #[test]
    fn zero_ttl_disables_the_cache() {
        let cache = TokenCache::new(Duration::ZERO);
        cache.insert("t", principal());
        assert_eq!(cache.get("t"), None);
    }
}
