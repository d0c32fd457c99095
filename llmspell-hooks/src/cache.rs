//! [`HookCache`]: the result store behind [`HookResult::Cache`](crate::HookResult::Cache).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value;

use crate::{Clock, SystemClock};

/// The default number of entries a [`HookCache`] keeps.
pub const DEFAULT_CACHE_CAPACITY: usize = 1024;

/// Results stored by key with a time to live, bounded in entries, on an
/// injectable [`Clock`].
///
/// A `Cache{key, ttl}` result at a Before* point returns a live entry
/// instead of running the operation, or stores the operation's result
/// under `key` when there is none; at an After* point it stores the result;
/// at an error point a live entry recovers the failure. Keys are shared by
/// every operation that uses the same cache, so hooks should put the
/// component in the key (`"calculator:2+2"`).
///
/// When full, inserting removes expired entries first, then the entry
/// closest to expiry. The cache is only touched when a hook returns
/// `Cache`, so a plain mutex (never held across `.await`) is enough.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use llmspell_hooks::{HookCache, ManualClock};
/// use serde_json::json;
///
/// let clock = ManualClock::new();
/// let cache = HookCache::with_clock(2, Arc::new(clock.clone()));
/// cache.insert("k".into(), json!(1), Duration::from_secs(10));
/// assert_eq!(cache.get("k"), Some(json!(1)));
/// clock.advance(Duration::from_secs(11));
/// assert_eq!(cache.get("k"), None);
/// ```
pub struct HookCache {
    entries: Mutex<HashMap<String, Entry>>,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for HookCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookCache")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl Default for HookCache {
    fn default() -> Self {
        Self::new(DEFAULT_CACHE_CAPACITY)
    }
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

impl HookCache {
    /// A cache of at most `capacity` entries (0 is taken as 1) on the
    /// system clock.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self::with_clock(capacity, Arc::new(SystemClock::new()))
    }

    /// A cache of at most `capacity` entries on `clock`.
    #[must_use]
    pub fn with_clock(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            clock,
        }
    }

    /// The live value under `key`; an expired one is removed.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<Value> {
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

    /// Stores `value` under `key` for `ttl`.
    pub fn insert(&self, key: String, value: Value, ttl: Duration) {
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

    /// The number of entries (live or not yet swept).
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Whether there is no entry.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every entry.
    pub fn clear(&self) {
        self.entries.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use serde_json::json;

    #[test]
    fn expires_and_stays_bounded() {
        let clock = ManualClock::new();
        let cache = HookCache::with_clock(2, Arc::new(clock.clone()));
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
        let cache = HookCache::with_clock(2, Arc::new(clock.clone()));
        cache.insert("forever".into(), json!(1), Duration::MAX);
        cache.insert("soon".into(), json!(2), Duration::from_secs(5));
        clock.advance(Duration::from_secs(3600));
        assert_eq!(cache.get("forever"), Some(json!(1)));
        cache.insert("x".into(), json!(3), Duration::from_secs(50));
        cache.insert("y".into(), json!(4), Duration::from_secs(50));
        assert_eq!(cache.get("forever"), Some(json!(1)));
    }
}
