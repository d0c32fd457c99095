//! Flow control: the optional token-bucket rate limit and backpressure
//! notifications.

use std::fmt;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use serde::Serialize;
use tokio_stream::wrappers::BroadcastStream;

use crate::queue::Shared;
use crate::{Clock, EventError, Result, SubscriptionId};

/// Why an event was dropped for a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DropReason {
    /// Evicted by DropOldest.
    Oldest,
    /// Discarded by DropNewest.
    Newest,
    /// Refused by Reject (or a full Block queue under `try_publish`).
    Rejected,
    /// No room within the Block timeout.
    BlockTimeout,
    /// Its ttl passed before it was received.
    Expired,
    /// Still queued when the subscription ended.
    Unsubscribed,
    /// A publish waiting for room was cancelled.
    Cancelled,
    /// Larger than the subscriber's whole byte budget.
    TooLarge,
}

/// A change in backpressure, published on [`EventBus::backpressure`](crate::EventBus::backpressure).
///
/// Notices are edge-triggered: `Started` when a queue reaches its high
/// watermark, `Relieved` when it drains to its low watermark, `Dropped` on
/// the first drop since the queue was last at or below its low watermark
/// (not on every drop; per-reason totals are in the stats), `RateLimited` when the rate limit first makes a publisher wait
/// or fail after a period without limiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BackpressureNotice {
    /// A queue reached its high watermark.
    Started {
        /// The subscriber.
        subscriber: SubscriptionId,
        /// Its queue depth.
        depth: usize,
        /// Its capacity.
        capacity: usize,
    },
    /// A queue drained to its low watermark.
    Relieved {
        /// The subscriber.
        subscriber: SubscriptionId,
        /// Its queue depth.
        depth: usize,
    },
    /// A queue started dropping events.
    Dropped {
        /// The subscriber.
        subscriber: SubscriptionId,
        /// Why.
        reason: DropReason,
        /// Everything it has dropped so far.
        dropped_total: u64,
    },
    /// The bus rate limit started holding publishers back.
    RateLimited {
        /// How long until the next token.
        retry_after: Duration,
    },
}

/// The notices of one listener; see [`EventBus::backpressure`](crate::EventBus::backpressure).
///
/// Backed by a bounded broadcast channel: a listener that falls more than
/// 1,024 notices behind skips the oldest ones. Ends when the bus is dropped.
pub struct BackpressureStream {
    inner: BroadcastStream<BackpressureNotice>,
}

impl fmt::Debug for BackpressureStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackpressureStream").finish_non_exhaustive()
    }
}

impl BackpressureStream {
    pub(crate) fn new(shared: &Shared) -> Self {
        Self {
            inner: BroadcastStream::new(shared.notices.subscribe()),
        }
    }
}

impl Stream for BackpressureStream {
    type Item = BackpressureNotice;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(n))) => return Poll::Ready(Some(n)),
                // Lagged: the skipped notices are gone; carry on.
                Poll::Ready(Some(Err(_))) => continue,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// A token-bucket rate limit: `per_second` tokens refill continuously, up to
/// `burst` saved. Off unless set with
/// [`EventBusBuilder::rate_limit`](crate::EventBusBuilder::rate_limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    per_second: NonZeroU32,
    burst: NonZeroU32,
}

impl RateLimit {
    /// `per_second` events per second with a burst of the same size.
    ///
    /// # Errors
    /// [`EventError::InvalidConfig`] when `per_second` is 0.
    pub fn per_second(per_second: u32) -> Result<Self> {
        let n = NonZeroU32::new(per_second).ok_or_else(|| {
            EventError::InvalidConfig("a rate limit must allow at least 1 event per second".into())
        })?;
        Ok(Self {
            per_second: n,
            burst: n,
        })
    }

    /// Sets the burst size (at least 1).
    #[must_use]
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        self
    }
}

#[derive(Debug, Clone)]
struct GovernorClock(Arc<dyn Clock>);

impl governor::clock::Clock for GovernorClock {
    type Instant = Instant;

    fn now(&self) -> Instant {
        self.0.now()
    }
}

/// The bus's rate limiter: lock-free (GCRA from the `governor` crate) on
/// the injectable clock.
pub(crate) struct FlowController {
    limiter: RateLimiter<NotKeyed, InMemoryState, GovernorClock, NoOpMiddleware<Instant>>,
    clock: Arc<dyn Clock>,
    /// Whether the last check was limited (for edge-triggered notices).
    limited: AtomicBool,
}

impl fmt::Debug for FlowController {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowController").finish_non_exhaustive()
    }
}

impl FlowController {
    pub(crate) fn new(limit: RateLimit, clock: Arc<dyn Clock>) -> Self {
        let quota = Quota::per_second(limit.per_second).allow_burst(limit.burst);
        Self {
            limiter: RateLimiter::direct_with_clock(quota, GovernorClock(Arc::clone(&clock))),
            clock,
            limited: AtomicBool::new(false),
        }
    }

    /// Takes a token now, or says how long until one is available.
    pub(crate) fn try_acquire(&self, shared: &Shared) -> std::result::Result<(), Duration> {
        match self.limiter.check() {
            Ok(()) => {
                // Relaxed: an advisory flag for notice de-duplication.
                self.limited.store(false, Ordering::Relaxed);
                Ok(())
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                if !self.limited.swap(true, Ordering::Relaxed) {
                    shared.notify(BackpressureNotice::RateLimited { retry_after: wait });
                }
                Err(wait)
            }
        }
    }

    /// Waits (on tokio time) until a token is taken.
    pub(crate) async fn acquire(&self, shared: &Shared) {
        while let Err(wait) = self.try_acquire(shared) {
            tokio::time::sleep(wait.max(Duration::from_micros(50))).await;
        }
    }
}
