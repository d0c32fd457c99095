//! [`RateLimitHook`]: GCRA rate limits per key, with burst.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::{millis, phase, user_of, Phase};
use crate::{
    Clock, Hook, HookContext, HookError, HookMetadata, HookResult, Priority, Result, SystemClock,
};

/// What a limit is counted per.
#[derive(Clone)]
#[non_exhaustive]
pub enum RateLimitKey {
    /// One limit for everything.
    Global,
    /// One limit per component (`type:name`).
    Component,
    /// One limit per user (metadata `user_id` / `user`; contexts without a
    /// user share the key `anonymous`).
    User,
    /// One limit per value of a metadata entry (missing → `none`).
    Metadata(String),
    /// One limit per key computed by a function.
    Custom(Arc<dyn Fn(&HookContext) -> String + Send + Sync>),
}

impl fmt::Debug for RateLimitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateLimitKey::Global => f.write_str("Global"),
            RateLimitKey::Component => f.write_str("Component"),
            RateLimitKey::User => f.write_str("User"),
            RateLimitKey::Metadata(k) => f.debug_tuple("Metadata").field(k).finish(),
            RateLimitKey::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl RateLimitKey {
    /// A key computed by `f`.
    pub fn custom(f: impl Fn(&HookContext) -> String + Send + Sync + 'static) -> Self {
        RateLimitKey::Custom(Arc::new(f))
    }

    fn key(&self, ctx: &HookContext) -> String {
        match self {
            RateLimitKey::Global => "global".to_owned(),
            RateLimitKey::Component => {
                format!("{}:{}", ctx.component.component_type, ctx.component.name)
            }
            RateLimitKey::User => user_of(ctx).unwrap_or("anonymous").to_owned(),
            RateLimitKey::Metadata(k) => ctx.get_metadata(k).unwrap_or("none").to_owned(),
            RateLimitKey::Custom(f) => f(ctx),
        }
    }
}

/// What happens to a call over the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitAction {
    /// `Cancel` it, saying when to retry (metadata `ratelimit.retry_after_ms`).
    Cancel,
    /// Wait until the limit admits it, at most `max_wait`; cancel if that
    /// is not enough. Waiting sleeps on the tokio timer while the limiter
    /// reads the configured clock: with a manual clock, advance it from
    /// elsewhere or the call is cancelled after `max_wait`.
    Wait {
        /// The longest a call waits.
        max_wait: Duration,
    },
}

/// Configuration of a [`RateLimitHook`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RateLimitConfig {
    requests: u32,
    per: Duration,
    burst: Option<u32>,
    key: RateLimitKey,
    action: LimitAction,
    clock: Arc<dyn Clock>,
}

impl Default for RateLimitConfig {
    /// 100 calls per second per component, burst 100, cancel over the
    /// limit, the system clock.
    fn default() -> Self {
        Self {
            requests: 100,
            per: Duration::from_secs(1),
            burst: None,
            key: RateLimitKey::Component,
            action: LimitAction::Cancel,
            clock: Arc::new(SystemClock::new()),
        }
    }
}

impl RateLimitConfig {
    /// `requests` calls per `per`, burst `requests`, per component.
    pub fn new(requests: u32, per: Duration) -> Self {
        Self {
            requests,
            per,
            ..Self::default()
        }
    }

    /// `requests` calls per second.
    pub fn per_second(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(1))
    }

    /// `requests` calls per minute.
    pub fn per_minute(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(60))
    }

    /// How many calls may arrive at once (defaults to `requests`).
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
        self
    }

    /// What the limit is counted per.
    pub fn key(mut self, key: RateLimitKey) -> Self {
        self.key = key;
        self
    }

    /// What happens over the limit.
    pub fn action(mut self, action: LimitAction) -> Self {
        self.action = action;
        self
    }

    /// The clock the limiter runs on.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The hook.
    ///
    /// # Errors
    /// [`HookError::InvalidConfig`] for zero requests, zero burst or a
    /// period too short to give each request at least a nanosecond.
    pub fn build(self) -> Result<RateLimitHook> {
        let bad = |field, reason: &str| HookError::InvalidConfig {
            field,
            reason: reason.to_owned(),
        };
        let Some(requests) = NonZeroU32::new(self.requests) else {
            return Err(bad("requests", "must be at least 1"));
        };
        let Some(burst) = NonZeroU32::new(self.burst.unwrap_or(self.requests)) else {
            return Err(bad("burst", "must be at least 1"));
        };
        let Some(quota) = Quota::with_period(self.per / requests.get()) else {
            return Err(bad("per", "must give each request at least 1ns"));
        };
        Ok(self.assemble(quota.allow_burst(burst)))
    }

    /// The hook for a valid quota.
    fn assemble(self, quota: Quota) -> RateLimitHook {
        let limiter: Limiter =
            RateLimiter::<_, _, _, governor::middleware::NoOpMiddleware<Instant>>::new(
                quota,
                DefaultKeyedStateStore::default(),
                GovernorClock(self.clock.clone()),
            )
            .with_middleware::<StateInformationMiddleware>();
        RateLimitHook {
            limiter,
            burst: quota.burst_size().get(),
            config: self,
            checks: AtomicU64::new(0),
        }
    }
}

/// Adapts the crate's [`Clock`] to `governor`'s.
#[derive(Debug, Clone)]
struct GovernorClock(Arc<dyn Clock>);

impl governor::clock::Clock for GovernorClock {
    type Instant = Instant;
    fn now(&self) -> Instant {
        self.0.now()
    }
}

type Limiter =
    RateLimiter<String, DefaultKeyedStateStore<String>, GovernorClock, StateInformationMiddleware>;

/// How many keys may be tracked before idle ones are pruned.
const PRUNE_ABOVE_KEYS: usize = 10_000;

/// Limits calls per key with the generic cell rate algorithm (`governor`).
///
/// Acts at Before* and non-operation points (After*/Error points are not
/// counted, so one operation costs one cell). Each admitted call gets the
/// metadata `ratelimit.key`, `ratelimit.limit` (the burst) and
/// `ratelimit.remaining` (calls admitted right now, like rate-limit
/// headers). A call over the limit is cancelled with the time to wait
/// (`ratelimit.retry_after_ms`), or waits for it (see [`LimitAction`]).
pub struct RateLimitHook {
    config: RateLimitConfig,
    limiter: Limiter,
    burst: u32,
    checks: AtomicU64,
}

impl fmt::Debug for RateLimitHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitHook")
            .field("config", &self.config)
            .field("keys", &self.limiter.len())
            .finish_non_exhaustive()
    }
}

impl Default for RateLimitHook {
    fn default() -> Self {
        // The default quota: 100 per second, burst 100.
        const HUNDRED: NonZeroU32 = NonZeroU32::new(100).expect("100 is not zero");
        RateLimitConfig::default().assemble(Quota::per_second(HUNDRED))
    }
}

impl RateLimitHook {
    /// A rate limiter with the default configuration.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many keys are tracked.
    #[must_use]
    pub fn tracked_keys(&self) -> usize {
        self.limiter.len()
    }

    /// Forgets keys whose limit has fully recovered.
    pub fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    fn admit(&self, key: &String) -> std::result::Result<u32, Duration> {
        match self.limiter.check_key(key) {
            Ok(snapshot) => Ok(snapshot.remaining_burst_capacity()),
            Err(not_until) => Err(not_until.wait_time_from(self.config.clock.now())),
        }
    }

    fn cancelled(ctx: &mut HookContext, key: &str, wait: Duration) -> HookResult {
        let ms = millis(wait).max(1);
        ctx.insert_metadata("ratelimit.remaining", "0");
        ctx.insert_metadata("ratelimit.retry_after_ms", ms.to_string());
        HookResult::Cancel(format!(
            "rate limit exceeded for key `{key}`; retry after {ms} ms"
        ))
    }
}

#[async_trait]
impl Hook for RateLimitHook {
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
        if !self.should_execute(ctx) {
            return Ok(HookResult::Continue);
        }
        // Relaxed: only a pruning heuristic.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095
            && self.limiter.len() > PRUNE_ABOVE_KEYS
        {
            self.limiter.retain_recent();
        }
        let key = self.config.key.key(ctx);
        ctx.insert_metadata("ratelimit.limit", self.burst.to_string());
        ctx.insert_metadata("ratelimit.key", key.clone());
        let remaining = match (self.admit(&key), self.config.action) {
            (Ok(remaining), _) => remaining,
            (Err(wait), LimitAction::Cancel) => return Ok(Self::cancelled(ctx, &key, wait)),
            (Err(mut wait), LimitAction::Wait { max_wait }) => {
                let mut waited = Duration::ZERO;
                loop {
                    if waited + wait > max_wait {
                        return Ok(Self::cancelled(ctx, &key, wait));
                    }
                    tokio::time::sleep(wait).await;
                    waited += wait;
                    match self.admit(&key) {
                        Ok(remaining) => break remaining,
                        Err(w) => wait = w.max(Duration::from_millis(1)),
                    }
                }
            }
        };
        ctx.insert_metadata("ratelimit.remaining", remaining.to_string());
        Ok(HookResult::Continue)
    }

    fn metadata(&self) -> HookMetadata {
        HookMetadata::new("builtin.rate_limit")
            .with_priority(Priority::HIGH)
            .with_tag("builtin")
            .with_tag("protection")
            .with_description("limits calls per key (GCRA) with burst")
    }

    fn should_execute(&self, ctx: &HookContext) -> bool {
        matches!(phase(&ctx.point), Phase::Before | Phase::Other)
    }
}
