//! [`CachingHook`]: a TTL- and size-bounded cache of operation results.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::notification::RemovalCause;
use moka::sync::Cache;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::json::canonical_json;

use super::{error_message, family, parameters, phase, result_value, Phase};
use crate::{
    Clock, Hook, HookContext, HookError, HookMetadata, HookResult, Priority, Result, SystemClock,
};

/// Counters of a [`CachingHook`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CacheStats {
    /// Lookups that found a live entry (the operation was skipped).
    pub hits: u64,
    /// Lookups that found nothing (or an expired entry).
    pub misses: u64,
    /// Results stored.
    pub inserts: u64,
    /// Entries evicted to respect the size bound.
    pub evictions: u64,
    /// Entries found expired or dropped because their TTL passed.
    pub expirations: u64,
    /// Entries currently held (approximate while evictions are pending).
    pub entries: u64,
}

impl CacheStats {
    /// `hits / (hits + misses)`, or 0 before any lookup.
    #[must_use]
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            #[allow(clippy::cast_precision_loss)]
            let r = self.hits as f64 / total as f64;
            r
        }
    }
}

/// Configuration of a [`CachingHook`].
#[derive(Debug, Clone)]
#[must_use]
pub struct CachingConfig {
    ttl: Duration,
    max_entries: u64,
    cache_errors: bool,
    clock: Arc<dyn Clock>,
}

impl Default for CachingConfig {
    /// Five minutes TTL, 10 000 entries, successful results only, the
    /// system clock.
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            max_entries: 10_000,
            cache_errors: false,
            clock: Arc::new(SystemClock::new()),
        }
    }
}

impl CachingConfig {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long an entry lives.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How many entries are held at most (least recently used evicted
    /// first, as decided by `moka`'s TinyLFU policy).
    pub fn max_entries(mut self, n: u64) -> Self {
        self.max_entries = n;
        self
    }

    /// Whether failed operations are cached too (their error becomes the
    /// cached value `{"error": message}`).
    pub fn cache_errors(mut self, yes: bool) -> Self {
        self.cache_errors = yes;
        self
    }

    /// The clock entry ages are measured with.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The hook.
    ///
    /// # Errors
    /// [`HookError::InvalidConfig`] for a zero TTL or zero capacity.
    pub fn build(self) -> Result<CachingHook> {
        if self.ttl.is_zero() {
            return Err(HookError::InvalidConfig {
                field: "ttl",
                reason: "must be greater than zero".to_owned(),
            });
        }
        if self.max_entries == 0 {
            return Err(HookError::InvalidConfig {
                field: "max_entries",
                reason: "must be at least 1".to_owned(),
            });
        }
        Ok(self.assemble())
    }

    /// The hook, for a configuration already validated.
    fn assemble(self) -> CachingHook {
        let counters = Arc::new(Counters::default());
        let listener = counters.clone();
        let cache = Cache::builder()
            .max_capacity(self.max_entries)
            // moka's own (real-time) expiry reclaims memory; ages checked
            // against the injected clock decide hits.
            .time_to_live(self.ttl)
            .eviction_listener(move |_k, _v, cause| match cause {
                RemovalCause::Size => {
                    listener.evictions.fetch_add(1, Ordering::Relaxed);
                }
                RemovalCause::Expired => {
                    listener.expirations.fetch_add(1, Ordering::Relaxed);
                }
                RemovalCause::Explicit | RemovalCause::Replaced => {}
            })
            .build();
        CachingHook {
            config: self,
            cache,
            counters,
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    inserts: AtomicU64,
    evictions: AtomicU64,
    expirations: AtomicU64,
}

#[derive(Debug, Clone)]
struct Entry {
    value: Value,
    inserted: Instant,
}

/// Caches operation results and skips operations whose result is cached.
///
/// Attach it at a Before* point and its After* point. The key is derived
/// from the operation family (the Before* and After* points of one operation
/// share it), the component type and name, and the parameters in canonical
/// form (object keys sorted), hashed with SHA-256: `{family}:{type}:{name}:{hex}`.
///
/// - Before*: a live entry → `Replace(value)` (the operation is skipped and
///   the cached value used as its result; metadata `cache.hit = "true"`);
///   otherwise `Continue` (metadata `cache.hit = "false"`).
/// - After*: the result is stored, unless the operation failed (see
///   [`CachingConfig::cache_errors`]); returns `Continue`.
///
/// Statistics: [`CachingHook::stats`].
#[derive(Debug)]
pub struct CachingHook {
    config: CachingConfig,
    cache: Cache<String, Entry>,
    counters: Arc<Counters>,
}

impl Default for CachingHook {
    fn default() -> Self {
        // The defaults are valid (non-zero TTL and capacity).
        CachingConfig::default().assemble()
    }
}

impl CachingHook {
    /// A caching hook with the default configuration.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The cache key of the operation `ctx` belongs to.
    #[must_use]
    pub fn key_for(&self, ctx: &HookContext) -> String {
        let mut canon = String::new();
        canonical_json(parameters(ctx).unwrap_or(&Value::Null), &mut canon);
        let digest = Sha256::digest(canon.as_bytes());
        let mut key = format!(
            "{}:{}:{}:",
            family(&ctx.point),
            ctx.component.component_type,
            ctx.component.name
        );
        key.push_str(&hex::encode(digest));
        key
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> CacheStats {
        let c = &self.counters;
        CacheStats {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            inserts: c.inserts.load(Ordering::Relaxed),
            evictions: c.evictions.load(Ordering::Relaxed),
            expirations: c.expirations.load(Ordering::Relaxed),
            entries: self.cache.entry_count(),
        }
    }

    /// Runs `moka`'s pending maintenance (evictions, expiry, listener
    /// notifications) now instead of lazily.
    pub fn run_pending_tasks(&self) {
        self.cache.run_pending_tasks();
    }

    /// Drops every entry.
    pub fn clear(&self) {
        self.cache.invalidate_all();
    }

    fn lookup(&self, key: &str) -> Option<Value> {
        let entry = self.cache.get(key)?;
        if self
            .config
            .clock
            .now()
            .saturating_duration_since(entry.inserted)
            >= self.config.ttl
        {
            self.cache.invalidate(key);
            self.counters.expirations.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(entry.value)
    }
}

#[async_trait]
impl Hook for CachingHook {
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
        match phase(&ctx.point) {
            Phase::Before => {
                let key = self.key_for(ctx);
                if let Some(value) = self.lookup(&key) {
                    self.counters.hits.fetch_add(1, Ordering::Relaxed);
                    ctx.insert_metadata("cache.hit", "true");
                    return Ok(HookResult::Replace(value));
                }
                self.counters.misses.fetch_add(1, Ordering::Relaxed);
                ctx.insert_metadata("cache.hit", "false");
                ctx.insert_metadata("cache.key", key);
                Ok(HookResult::Continue)
            }
            Phase::After | Phase::Error => {
                let value = match error_message(ctx) {
                    Some(_) if !self.config.cache_errors => return Ok(HookResult::Continue),
                    Some(e) => serde_json::json!({ "error": e }),
                    None => match result_value(ctx) {
                        Some(v) => v.clone(),
                        None => return Ok(HookResult::Continue),
                    },
                };
                let key = self.key_for(ctx);
                self.cache.insert(
                    key,
                    Entry {
                        value,
                        inserted: self.config.clock.now(),
                    },
                );
                self.counters.inserts.fetch_add(1, Ordering::Relaxed);
                Ok(HookResult::Continue)
            }
            Phase::Other => Ok(HookResult::Continue),
        }
    }

    fn metadata(&self) -> HookMetadata {
        HookMetadata::new("builtin.caching")
            .with_priority(Priority::LOWEST)
            .with_tag("builtin")
            .with_tag("performance")
            .with_description("serves cached operation results")
    }
}
