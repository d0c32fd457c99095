//! [`Subscription`]: the receiving end of a pattern subscription.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use serde::Serialize;

use crate::bus::BusInner;
use crate::queue::Queue;
use crate::{DropCounts, EventPattern, OverflowStrategy, SubscriptionId, UniversalEvent};

/// A live subscription: receives every event whose type matches its
/// pattern, in publish order per publisher, as `Arc`s shared with the other
/// subscribers.
///
/// Receive with [`recv`](Self::recv), [`try_recv`](Self::try_recv),
/// [`recv_timeout`](Self::recv_timeout), or use it as a [`Stream`]. It ends
/// (yields `None`) when unsubscribed or when the bus closes or is dropped.
/// Dropping it unsubscribes and frees its queue at once.
pub struct Subscription {
    queue: Arc<Queue>,
    bus: Weak<BusInner>,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.queue.id)
            .field("pattern", &self.queue.pattern)
            .finish_non_exhaustive()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        match self.bus.upgrade() {
            Some(bus) => {
                bus.unregister(self.queue.id);
            }
            None => self.queue.close(),
        }
    }
}

impl Subscription {
    pub(crate) fn new(queue: Arc<Queue>, bus: Weak<BusInner>) -> Self {
        Self { queue, bus }
    }

    /// The subscription's id.
    #[must_use]
    pub fn id(&self) -> SubscriptionId {
        self.queue.id
    }

    /// The pattern it matches.
    #[must_use]
    pub fn pattern(&self) -> &EventPattern {
        &self.queue.pattern
    }

    /// The next event; `None` once the subscription has ended.
    pub async fn recv(&mut self) -> Option<Arc<UniversalEvent>> {
        futures::future::poll_fn(|cx| self.queue.poll_pop(Some(cx))).await
    }

    /// The next event if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Arc<UniversalEvent>> {
        match self.queue.poll_pop(None) {
            Poll::Ready(e) => e,
            Poll::Pending => None,
        }
    }

    /// The next event, waiting at most `timeout`; `None` on timeout or when
    /// the subscription has ended (see [`is_closed`](Self::is_closed)).
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Option<Arc<UniversalEvent>> {
        tokio::time::timeout(timeout, self.recv())
            .await
            .ok()
            .flatten()
    }

    /// Whether the subscription has ended (no more events will arrive).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    /// Events waiting in the queue.
    #[must_use]
    pub fn len(&self) -> usize {
        self.queue.depth()
    }

    /// Whether no event is waiting.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counters and configuration of this subscription.
    #[must_use]
    pub fn info(&self) -> SubscriptionInfo {
        SubscriptionInfo::of(&self.queue)
    }
}

impl Stream for Subscription {
    type Item = Arc<UniversalEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.queue.poll_pop(Some(cx))
    }
}

/// A subscription as seen in [`EventBus::list_subscriptions`](crate::EventBus::list_subscriptions).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SubscriptionInfo {
    /// Its id.
    pub id: SubscriptionId,
    /// Its pattern text.
    pub pattern: String,
    /// Whether a handler task (rather than a [`Subscription`]) receives.
    pub handler: bool,
    /// Queue capacity.
    pub capacity: usize,
    /// Byte budget of the queue, if any.
    pub max_bytes: Option<usize>,
    /// Overflow strategy.
    pub overflow: OverflowStrategy,
    /// Events queued now.
    pub depth: usize,
    /// Bytes counted for the events queued now (0 without a byte budget).
    pub bytes: usize,
    /// Events ever queued.
    pub enqueued: u64,
    /// Events handed to the receiver.
    pub delivered: u64,
    /// Events dropped, by reason.
    pub dropped: DropCounts,
}

impl SubscriptionInfo {
    pub(crate) fn of(q: &Queue) -> Self {
        let (depth, bytes, counts) = q.usage();
        Self {
            id: q.id,
            pattern: q.pattern.as_str().to_owned(),
            handler: q.handler,
            capacity: q.config.get_capacity(),
            max_bytes: q.config.get_max_bytes(),
            overflow: q.config.get_overflow(),
            depth,
            bytes,
            enqueued: counts.enqueued,
            delivered: counts.delivered,
            dropped: counts.dropped,
        }
    }
}
