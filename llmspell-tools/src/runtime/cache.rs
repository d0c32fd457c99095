//! The result cache behind `HookResult::Cache`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_hooks::Clock;
use parking_lot::Mutex;
use serde_json::Value;

/// Results stored by key with a time to live, bounded in size. Only touched
/// when a hook returns `Cache`, so a plain mutex (never held across
/// `.await`) is enough.
#[derive(Debug)]
pub(crate) struct ResultCache {
    entries: Mutex<HashMap<String, Entry>>,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

#[derive(Debug)]
struct Entry {
    value: Value,
    /// `None`: the ttl reaches past what an `Instant` can hold (never
    /// expires).
    expires_at: Option<Instant>,
}

impl Entry {
    fn live_at(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|t| t > now)
    }
}

impl ResultCache {
    pub(crate) fn new(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            clock,
        }
    }

    /// The live value under `key`; an expired one is removed.
    pub(crate) fn get(&self, key: &str) -> Option<Value> {
        let now = self.clock.now();
        let mut entries = self.entries.lock();
        match entries.get(key) {
            Some(e) if e.live_at(now) => Some(e.value.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores `value` under `key` for `ttl`. When full, expired entries go
    /// first, then the one closest to expiry.
    pub(crate) fn insert(&self, key: String, value: Value, ttl: Duration) {
        let now = self.clock.now();
        let expires_at = now.checked_add(ttl);
        let mut entries = self.entries.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, e| e.live_at(now));
            if entries.len() >= self.capacity {
                if let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, e)| (e.expires_at.is_none(), e.expires_at))
                    .map(|(k, _)| k.clone())
                {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(key, Entry { value, expires_at });
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().len()
    }

    pub(crate) fn clear(&self) {
        self.entries.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmspell_hooks::ManualClock;
    use serde_json::json;

    #[test]
    fn expires_and_stays_bounded() {
        let clock = ManualClock::new();
        let cache = ResultCache::new(2, Arc::new(clock.clone()));
        cache.insert("a".into(), json!(1), Duration::from_secs(10));
        assert_eq!(cache.get("a"), Some(json!(1)));
        clock.advance(Duration::from_secs(11));
        assert_eq!(cache.get("a"), None);
        cache.insert("b".into(), json!(2), Duration::from_secs(5));
        cache.insert("c".into(), json!(3), Duration::from_secs(50));
        cache.insert("d".into(), json!(4), Duration::from_secs(50));
        assert_eq!(cache.len(), 2);
        assert_eq!(
            cache.get("b"),
            None,
            "the entry closest to expiry is evicted"
        );
        assert_eq!(cache.get("d"), Some(json!(4)));
    }

    #[test]
    fn a_ttl_beyond_any_instant_never_expires_and_is_evicted_last() {
        let clock = ManualClock::new();
        let cache = ResultCache::new(2, Arc::new(clock.clone()));
        cache.insert("forever".into(), json!(1), Duration::MAX);
        cache.insert("soon".into(), json!(2), Duration::from_secs(5));
        clock.advance(Duration::from_secs(3600));
        assert_eq!(cache.get("forever"), Some(json!(1)));
        cache.insert("x".into(), json!(3), Duration::from_secs(50));
        cache.insert("y".into(), json!(4), Duration::from_secs(50));
        assert_eq!(cache.get("forever"), Some(json!(1)));
    }
}
