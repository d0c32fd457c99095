//! [`RetryHook`]: turns retryable errors into `Retry` with backoff and
//! jitter, and honours circuit breakers.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::sync::Cache;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use regex::Regex;
use uuid::Uuid;

use super::{error_message, family, millis, phase, Phase};
use crate::{
    BreakerState, CircuitBreaker, Clock, Hook, HookContext, HookError, HookMetadata, HookResult,
    Priority, Result, SystemClock,
};

/// How the delay grows with the attempt number `n` (1 for the first retry).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Backoff {
    /// Always `delay`.
    Fixed(Duration),
    /// `initial + step * (n - 1)`.
    Linear {
        /// The first delay.
        initial: Duration,
        /// Added per attempt.
        step: Duration,
    },
    /// `initial * multiplier^(n - 1)`.
    Exponential {
        /// The first delay.
        initial: Duration,
        /// Growth factor (at least 1).
        multiplier: f64,
    },
    /// `initial * fib(n)` with fib = 1, 1, 2, 3, 5, 8, ...
    Fibonacci {
        /// The unit delay.
        initial: Duration,
    },
}

impl Backoff {
    fn initial(&self) -> Duration {
        match *self {
            Backoff::Fixed(d)
            | Backoff::Linear { initial: d, .. }
            | Backoff::Exponential { initial: d, .. }
            | Backoff::Fibonacci { initial: d } => d,
        }
    }

    fn raw(&self, n: u32, cap: Duration) -> Duration {
        let n = n.max(1);
        match *self {
            Backoff::Fixed(d) => d,
            Backoff::Linear { initial, step } => initial.saturating_add(step.saturating_mul(n - 1)),
            Backoff::Exponential {
                initial,
                multiplier,
            } => {
                let exp = i32::try_from(n - 1).unwrap_or(i32::MAX);
                let secs = initial.as_secs_f64() * multiplier.max(1.0).powi(exp);
                Duration::try_from_secs_f64(secs).unwrap_or(cap)
            }
            Backoff::Fibonacci { initial } => {
                let (mut a, mut b) = (1u32, 1u32);
                for _ in 2..n {
                    (a, b) = (b, a.saturating_add(b));
                }
                initial.saturating_mul(if n <= 2 { 1 } else { b })
            }
        }
        .min(cap)
    }
}

/// How a delay is randomised, so that many callers do not retry in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Jitter {
    /// The backoff delay as is.
    None,
    /// Uniform in `[0, delay]`.
    Full,
    /// Uniform in `[delay / 2, delay]`.
    Equal,
    /// Uniform in `[initial, previous * 3]`, capped ("decorrelated
    /// jitter"); ignores the backoff's growth rule except its initial delay.
    Decorrelated,
}

/// Backoff, jitter and cap: the delay before each attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// How the delay grows.
    pub backoff: Backoff,
    /// How it is randomised.
    pub jitter: Jitter,
    /// The longest delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Exponential from 100 ms doubling, full jitter, at most 30 s.
    fn default() -> Self {
        Self {
            backoff: Backoff::Exponential {
                initial: Duration::from_millis(100),
                multiplier: 2.0,
            },
            jitter: Jitter::Full,
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The delay of attempt `n` before jitter.
    #[must_use]
    pub fn base_delay(&self, n: u32) -> Duration {
        self.backoff.raw(n, self.max_delay)
    }

    /// The range the jittered delay of attempt `n` falls in, given the
    /// previous delay (for decorrelated jitter).
    #[must_use]
    pub fn bounds(&self, n: u32, previous: Option<Duration>) -> (Duration, Duration) {
        let base = self.base_delay(n);
        match self.jitter {
            Jitter::None => (base, base),
            Jitter::Full => (Duration::ZERO, base),
            Jitter::Equal => (base / 2, base),
            Jitter::Decorrelated => {
                let initial = self.backoff.initial().min(self.max_delay);
                let prev = previous.unwrap_or(initial);
                let hi = prev.saturating_mul(3).clamp(initial, self.max_delay);
                (initial, hi)
            }
        }
    }

    /// A delay for attempt `n` drawn from [`RetryPolicy::bounds`].
    pub fn delay(&self, n: u32, previous: Option<Duration>, rng: &mut impl Rng) -> Duration {
        let (lo, hi) = self.bounds(n, previous);
        if lo >= hi {
            return lo;
        }
        let lo_ns = u64::try_from(lo.as_nanos()).unwrap_or(u64::MAX);
        let hi_ns = u64::try_from(hi.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.random_range(lo_ns..=hi_ns))
    }
}

/// Decides whether an error message is worth retrying.
#[derive(Clone)]
#[non_exhaustive]
pub enum ErrorMatcher {
    /// The message contains this text (case-insensitive).
    Contains(String),
    /// The message matches this regular expression.
    Pattern(Regex),
    /// Every error.
    Any,
    /// A predicate on the message.
    Custom(Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

impl fmt::Debug for ErrorMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorMatcher::Contains(s) => f.debug_tuple("Contains").field(s).finish(),
            ErrorMatcher::Pattern(r) => f.debug_tuple("Pattern").field(&r.as_str()).finish(),
            ErrorMatcher::Any => f.write_str("Any"),
            ErrorMatcher::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl ErrorMatcher {
    /// Matches messages containing `text` (case-insensitive).
    #[must_use]
    pub fn contains(text: impl Into<String>) -> Self {
        ErrorMatcher::Contains(text.into().to_lowercase())
    }

    /// Matches messages matching `pattern`.
    ///
    /// # Errors
    /// [`HookError::InvalidConfig`] when the pattern does not compile.
    pub fn pattern(pattern: &str) -> Result<Self> {
        Regex::new(pattern)
            .map(ErrorMatcher::Pattern)
            .map_err(|e| HookError::InvalidConfig {
                field: "retry error pattern",
                reason: format!("`{pattern}` is not a valid regular expression: {e}"),
            })
    }

    /// Matches messages for which `f` is true.
    pub fn custom(f: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        ErrorMatcher::Custom(Arc::new(f))
    }

    /// Whether `message` matches.
    #[must_use]
    pub fn matches(&self, message: &str) -> bool {
        match self {
            ErrorMatcher::Contains(s) => message.to_lowercase().contains(s.as_str()),
            ErrorMatcher::Pattern(r) => r.is_match(message),
            ErrorMatcher::Any => true,
            ErrorMatcher::Custom(f) => f(message),
        }
    }
}

/// Transient failures retried by default.
const DEFAULT_RETRYABLE: &[&str] = &[
    "timeout",
    "timed out",
    "temporarily",
    "unavailable",
    "rate limit",
    "too many requests",
    "429",
    "502",
    "503",
    "504",
    "connection reset",
    "connection refused",
    "try again",
];

/// Tells a [`RetryHook`] whether the thing it would retry is shielded by an
/// open circuit breaker (then retrying only adds load, so it does not).
///
/// Implemented for the crate's [`CircuitBreaker`] (open or forced open) and
/// for closures `Fn(&HookContext) -> bool`.
pub trait BreakerProbe: Send + Sync {
    /// Whether the breaker guarding this context's operation is open.
    fn is_open(&self, ctx: &HookContext) -> bool;
}

impl BreakerProbe for CircuitBreaker {
    fn is_open(&self, _ctx: &HookContext) -> bool {
        matches!(self.state(), BreakerState::Open | BreakerState::ForcedOpen)
    }
}

impl<F: Fn(&HookContext) -> bool + Send + Sync> BreakerProbe for F {
    fn is_open(&self, ctx: &HookContext) -> bool {
        self(ctx)
    }
}

/// Configuration of a [`RetryHook`].
#[derive(Clone)]
#[must_use]
pub struct RetryConfig {
    policy: RetryPolicy,
    max_attempts: u32,
    max_total: Duration,
    matchers: Vec<ErrorMatcher>,
    breaker: Option<Arc<dyn BreakerProbe>>,
    clock: Arc<dyn Clock>,
    seed: Option<u64>,
}

impl fmt::Debug for RetryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryConfig")
            .field("policy", &self.policy)
            .field("max_attempts", &self.max_attempts)
            .field("max_total", &self.max_total)
            .field("matchers", &self.matchers)
            .field("breaker", &self.breaker.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for RetryConfig {
    /// The default [`RetryPolicy`], 3 attempts within 60 s, transient
    /// errors (timeouts, 429/502/503/504, unavailable, connection
    /// reset/refused, rate limit, try again), no breaker, the system clock,
    /// OS-seeded randomness.
    fn default() -> Self {
        Self {
            policy: RetryPolicy::default(),
            max_attempts: 3,
            max_total: Duration::from_secs(60),
            matchers: DEFAULT_RETRYABLE
                .iter()
                .map(|s| ErrorMatcher::contains(*s))
                .collect(),
            breaker: None,
            clock: Arc::new(SystemClock::new()),
            seed: None,
        }
    }
}

impl RetryConfig {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The backoff policy.
    pub fn policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The backoff (keeping jitter and cap).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.policy.backoff = backoff;
        self
    }

    /// The jitter (keeping backoff and cap).
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.policy.jitter = jitter;
        self
    }

    /// The longest single delay.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.policy.max_delay = d;
        self
    }

    /// How many retries one operation gets at most.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// The longest time from the first failure to the last retry.
    pub fn max_total(mut self, d: Duration) -> Self {
        self.max_total = d;
        self
    }

    /// Replaces the retryable-error matchers.
    pub fn retry_on(mut self, matchers: Vec<ErrorMatcher>) -> Self {
        self.matchers = matchers;
        self
    }

    /// Adds a retryable-error matcher.
    pub fn also_retry_on(mut self, matcher: ErrorMatcher) -> Self {
        self.matchers.push(matcher);
        self
    }

    /// The breaker to consult before retrying.
    pub fn breaker(mut self, breaker: Arc<dyn BreakerProbe>) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// The clock total retry time is measured with.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Seeds the jitter randomness (deterministic delays, for tests).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The hook.
    pub fn build(self) -> RetryHook {
        let rng = match self.seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        };
        RetryHook {
            rng: Mutex::new(rng),
            attempts: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(self.max_total.saturating_mul(2).max(Duration::from_secs(1)))
                .build(),
            config: self,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Attempts {
    count: u32,
    first_failure: Instant,
    last_delay: Duration,
}

type Key = (Uuid, &'static str, Uuid);

/// Asks for a retry of operations that failed with a retryable error.
///
/// Acts at Error points and at After* points whose context carries an
/// error (see the [module docs](crate::builtin)). Attempts are counted per
/// operation (correlation id, point family and component instance); a
/// success at an After* point forgets them. For attempt `n` it returns
/// `Retry { delay, max_attempts }` with `delay` from the [`RetryPolicy`]
/// and sets metadata `retry.attempt` / `retry.delay_ms`. It returns
/// `Continue` (and sets `retry.outcome`) when the error is not retryable
/// (`not_retryable`), the breaker is open (`circuit_open`), the attempts
/// are used up or the next delay would pass `max_total` (`exhausted`).
#[derive(Debug)]
pub struct RetryHook {
    config: RetryConfig,
    rng: Mutex<StdRng>,
    attempts: Cache<Key, Attempts>,
}

impl Default for RetryHook {
    fn default() -> Self {
        RetryConfig::default().build()
    }
}

impl RetryHook {
    /// A retry hook with the default configuration.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> &RetryPolicy {
        &self.config.policy
    }

    fn key(ctx: &HookContext) -> Key {
        (ctx.correlation_id, family(&ctx.point), ctx.component.id)
    }

    fn give_up(&self, ctx: &mut HookContext, key: &Key, why: &str) -> HookResult {
        self.attempts.invalidate(key);
        ctx.insert_metadata("retry.outcome", why);
        HookResult::Continue
    }
}

#[async_trait]
impl Hook for RetryHook {
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
        if !matches!(phase(&ctx.point), Phase::After | Phase::Error) {
            return Ok(HookResult::Continue);
        }
        let key = Self::key(ctx);
        let Some(error) = error_message(ctx) else {
            self.attempts.invalidate(&key);
            return Ok(HookResult::Continue);
        };
        if !self.config.matchers.iter().any(|m| m.matches(&error)) {
            return Ok(self.give_up(ctx, &key, "not_retryable"));
        }
        if self.config.breaker.as_ref().is_some_and(|b| b.is_open(ctx)) {
            return Ok(self.give_up(ctx, &key, "circuit_open"));
        }
        let now = self.config.clock.now();
        let prev = self.attempts.get(&key);
        let attempt = prev.map_or(1, |a| a.count.saturating_add(1));
        if attempt > self.config.max_attempts {
            return Ok(self.give_up(ctx, &key, "exhausted"));
        }
        let delay = {
            let mut rng = self.rng.lock();
            self.config
                .policy
                .delay(attempt, prev.map(|a| a.last_delay), &mut *rng)
        };
        let first_failure = prev.map_or(now, |a| a.first_failure);
        if now
            .saturating_duration_since(first_failure)
            .saturating_add(delay)
            > self.config.max_total
        {
            return Ok(self.give_up(ctx, &key, "exhausted"));
        }
        self.attempts.insert(
            key,
            Attempts {
                count: attempt,
                first_failure,
                last_delay: delay,
            },
        );
        ctx.insert_metadata("retry.outcome", "retry");
        ctx.insert_metadata("retry.attempt", attempt.to_string());
        ctx.insert_metadata("retry.delay_ms", millis(delay).to_string());
        Ok(HookResult::Retry {
            delay,
            max_attempts: self.config.max_attempts,
        })
    }

    fn metadata(&self) -> HookMetadata {
        HookMetadata::new("builtin.retry")
            .with_priority(Priority::NORMAL)
            .with_tag("builtin")
            .with_tag("resilience")
            .with_description("retries transient failures with backoff and jitter")
    }

    fn should_execute(&self, ctx: &HookContext) -> bool {
        matches!(phase(&ctx.point), Phase::After | Phase::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn backoff_shapes() {
        let cap = Duration::from_secs(100);
        let cases: [(Backoff, [u64; 5]); 4] = [
            (Backoff::Fixed(ms(50)), [50, 50, 50, 50, 50]),
            (
                Backoff::Linear {
                    initial: ms(10),
                    step: ms(20),
                },
                [10, 30, 50, 70, 90],
            ),
            (
                Backoff::Exponential {
                    initial: ms(10),
                    multiplier: 2.0,
                },
                [10, 20, 40, 80, 160],
            ),
            (Backoff::Fibonacci { initial: ms(10) }, [10, 10, 20, 30, 50]),
        ];
        for (b, want) in cases {
            let got: Vec<u64> = (1..=5).map(|n| millis(b.raw(n, cap))).collect();
            assert_eq!(got, want, "{b:?}");
        }
        let capped = Backoff::Exponential {
            initial: ms(10),
            multiplier: 10.0,
        };
        assert_eq!(capped.raw(30, ms(500)), ms(500));
    }
}
