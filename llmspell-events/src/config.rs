//! Subscription identity and per-subscription queue configuration.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{EventError, Result};

/// Identifies one subscription on one bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SubscriptionId(u64);

impl SubscriptionId {
    /// The number behind the id.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The id for a number (as returned by [`get`](Self::get)).
    #[must_use]
    pub const fn from_u64(n: u64) -> Self {
        Self(n)
    }
}

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sub-{}", self.0)
    }
}

impl FromStr for SubscriptionId {
    type Err = EventError;

    /// Parses `sub-7` or `7`.
    fn from_str(s: &str) -> Result<Self> {
        let digits = s.strip_prefix("sub-").unwrap_or(s);
        digits.parse().map(Self).map_err(|_| {
            EventError::InvalidConfig(format!(
                "`{s}` is not a subscription id; ids look like `sub-7` or `7`"
            ))
        })
    }
}

/// What a full subscriber queue does with one more event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum OverflowStrategy {
    /// Evict the oldest queued event to make room (counted as dropped).
    DropOldest,
    /// Discard the incoming event (counted as dropped).
    DropNewest,
    /// The publisher waits for room, at most `timeout`, then gets
    /// [`EventError::BlockTimeout`] and the event is dropped for this
    /// subscriber. `try_publish` does not wait: it gets
    /// [`EventError::WouldBlock`].
    Block {
        /// The longest a publisher waits.
        timeout: Duration,
    },
    /// The publisher gets [`EventError::Rejected`] naming this subscriber;
    /// the event is dropped for it (other subscribers still get it).
    Reject,
}

/// The default queue capacity: generous, so a default bus never refuses or
/// drops work that a reasonably fast consumer keeps up with. Queues grow
/// on demand; the capacity is a bound, not an allocation.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// How one subscription's queue behaves: at most `capacity` events and,
/// optionally, at most `max_bytes` bytes of events (each counted with the
/// length of its JSON form); when either bound is reached, the overflow
/// strategy decides.
///
/// ```
/// use std::time::Duration;
/// use llmspell_events::{OverflowStrategy, SubscriptionConfig};
///
/// let config = SubscriptionConfig::new()
///     .capacity(1_000)
///     .max_bytes(64 * 1024 * 1024)
///     .overflow(OverflowStrategy::Block { timeout: Duration::from_secs(1) })
///     .watermarks(0.9, 0.5);
/// assert_eq!(config.get_capacity(), 1_000);
/// assert_eq!(config.get_max_bytes(), Some(64 * 1024 * 1024));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct SubscriptionConfig {
    pub(crate) capacity: usize,
    pub(crate) max_bytes: Option<usize>,
    pub(crate) overflow: OverflowStrategy,
    pub(crate) high: usize,
    pub(crate) low: usize,
    high_fraction: f64,
    low_fraction: f64,
}

impl Default for SubscriptionConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl SubscriptionConfig {
    /// Capacity [`DEFAULT_CAPACITY`], no byte budget (unless the bus sets
    /// one, see [`EventBusBuilder::max_queue_bytes`](crate::EventBusBuilder::max_queue_bytes)),
    /// [`OverflowStrategy::DropOldest`], watermarks at 80% (pressure
    /// starts) and 50% (pressure relieved).
    pub fn new() -> Self {
        let mut c = Self {
            capacity: DEFAULT_CAPACITY,
            max_bytes: None,
            overflow: OverflowStrategy::DropOldest,
            high: 0,
            low: 0,
            high_fraction: 0.8,
            low_fraction: 0.5,
        };
        c.recompute();
        c
    }

    /// The most events the queue holds (at least 1).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self.recompute();
        self
    }

    /// The most bytes of events the queue holds, each event counted with
    /// the length of its JSON form (at least 1). An event larger than the
    /// whole budget is never queued: it is dropped for this subscriber and
    /// counted as `too_large`, whatever the overflow strategy.
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = Some(bytes.max(1));
        self
    }

    /// What happens when the queue is full.
    pub fn overflow(mut self, overflow: OverflowStrategy) -> Self {
        self.overflow = overflow;
        self
    }

    /// The fill fractions at which backpressure starts (`high`) and is
    /// relieved (`low`); clamped to `0 < low <= high <= 1`.
    pub fn watermarks(mut self, high: f64, low: f64) -> Self {
        let high = if high.is_finite() {
            high.clamp(0.0, 1.0)
        } else {
            1.0
        };
        let low = if low.is_finite() {
            low.clamp(0.0, high)
        } else {
            high
        };
        self.high_fraction = high;
        self.low_fraction = low;
        self.recompute();
        self
    }

    fn recompute(&mut self) {
        let cap = self.capacity as f64;
        self.high = ((cap * self.high_fraction).ceil() as usize).clamp(1, self.capacity);
        self.low = ((cap * self.low_fraction).floor() as usize).min(self.high - 1);
    }

    /// The capacity.
    #[must_use]
    pub fn get_capacity(&self) -> usize {
        self.capacity
    }

    /// The byte budget, if any.
    #[must_use]
    pub fn get_max_bytes(&self) -> Option<usize> {
        self.max_bytes
    }

    /// The overflow strategy.
    #[must_use]
    pub fn get_overflow(&self) -> OverflowStrategy {
        self.overflow
    }

    /// The queue depths at which backpressure starts and ends.
    #[must_use]
    pub fn get_watermarks(&self) -> (usize, usize) {
        (self.high, self.low)
    }
}
