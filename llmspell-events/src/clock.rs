//! [`Clock`]: the one injectable monotonic time source of llmspell.
//!
//! The event bus (rate limit, delivery latency, metrics window), the hook
//! registry (circuit breakers, built-in hooks) and the tool runtime
//! (breakers, result cache) all read time through this trait;
//! `llmspell-hooks` re-exports it under the same names. One
//! [`ManualClock`] can be shared by all of them, so a test moves time for
//! every component with one call.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A monotonic time source: readings never go backwards.
///
/// Components that need a number (for example to keep a deadline in an
/// atomic) measure from an [`Instant`] they read once at construction, so
/// every reading of one clock is comparable with every other.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The real monotonic clock ([`Instant::now`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    /// The system clock (the same as `SystemClock` or
    /// `SystemClock::default()`).
    #[must_use]
    pub const fn new() -> Self {
        Self
    }
}

impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that only moves when told to. Clones share the same time, so
/// one clock can drive a bus, a hook registry and a tool runtime at once.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use llmspell_events::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let shared: Arc<dyn Clock> = Arc::new(clock.clone());
/// let t0 = shared.now();
/// clock.advance(Duration::from_millis(250));
/// assert_eq!(shared.now() - t0, Duration::from_millis(250));
/// assert_eq!(clock.elapsed(), Duration::from_millis(250));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    base: Instant,
    offset_nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock standing at the moment of creation.
    #[must_use]
    pub fn new() -> Self {
        Self {
            base: Instant::now(),
            offset_nanos: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Moves the clock forward by `by` (saturating at about 584 years).
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // Relaxed: the offset is a single independent value; readers need no
        // ordering with other memory. `fetch_update` saturates instead of
        // wrapping, so the clock never jumps backwards.
        let _ = self
            .offset_nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_add(nanos))
            });
    }

    /// Sets the time since creation to `since_creation`; ignored when that
    /// would move the clock backwards.
    pub fn set(&self, since_creation: Duration) {
        let nanos = u64::try_from(since_creation.as_nanos()).unwrap_or(u64::MAX);
        self.offset_nanos.fetch_max(nanos, Ordering::Relaxed);
    }

    /// How far the clock has been moved since creation.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.offset_nanos.load(Ordering::Relaxed))
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        let offset = self.elapsed();
        // `Instant` cannot represent every offset on every platform; past
        // the end the clock stands still rather than panicking.
        self.base
            .checked_add(offset)
            .unwrap_or_else(|| far_instant(self.base, offset))
    }
}

/// The latest instant reachable from `base` within `offset`, found by
/// halving (only reached after advancing by centuries).
#[cold]
fn far_instant(base: Instant, mut offset: Duration) -> Instant {
    let mut at = base;
    while !offset.is_zero() {
        match at.checked_add(offset) {
            Some(t) => at = t,
            None => offset /= 2,
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_forward_and_clones_share_it() {
        let c = ManualClock::new();
        let other = c.clone();
        let t0 = c.now();
        c.advance(Duration::from_secs(2));
        assert_eq!(other.now() - t0, Duration::from_secs(2));
        c.set(Duration::from_secs(1)); // backwards: ignored
        assert_eq!(c.elapsed(), Duration::from_secs(2));
        c.set(Duration::from_secs(5));
        assert_eq!(other.elapsed(), Duration::from_secs(5));
    }

    #[test]
    fn huge_advances_saturate_instead_of_panicking() {
        let c = ManualClock::new();
        c.advance(Duration::MAX);
        c.advance(Duration::MAX);
        let a = c.now();
        c.advance(Duration::from_secs(1));
        assert!(c.now() >= a);
        assert_eq!(c.elapsed(), Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn system_clock_is_monotonic() {
        let c = SystemClock::new();
        let a = c.now();
        assert!(c.now() >= a);
    }
}
