//! The per-subscriber bounded queue (the raw internals behind
//! [`Subscription`](crate::Subscription)).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::{broadcast, Notify};

use crate::flow::{BackpressureNotice, DropReason};
use crate::metrics::Metrics;
use crate::{EventPattern, OverflowStrategy, SubscriptionConfig, SubscriptionId, UniversalEvent};

/// State shared by a bus and all its queues.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) metrics: Metrics,
    pub(crate) notices: broadcast::Sender<BackpressureNotice>,
    /// Queues alive in memory (registered or not yet freed).
    pub(crate) live_queues: AtomicUsize,
    pub(crate) handler_errors: AtomicU64,
    pub(crate) handler_panics: AtomicU64,
}

impl Shared {
    pub(crate) fn notify(&self, notice: BackpressureNotice) {
        // Only build and send when someone listens; a send without
        // receivers is an error we ignore by design.
        if self.notices.receiver_count() > 0 {
            let _ = self.notices.send(notice);
        }
    }
}

/// Dropped events of one subscriber (or a whole bus), by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DropCounts {
    /// Evicted by [`OverflowStrategy::DropOldest`].
    pub oldest: u64,
    /// Discarded by [`OverflowStrategy::DropNewest`].
    pub newest: u64,
    /// Refused by [`OverflowStrategy::Reject`], or by a full
    /// [`OverflowStrategy::Block`] queue under `try_publish`.
    pub rejected: u64,
    /// No room within the [`OverflowStrategy::Block`] timeout.
    pub block_timeout: u64,
    /// The event's ttl passed before it was received.
    pub expired: u64,
    /// Still queued when the subscription ended.
    pub unsubscribed: u64,
    /// The publish waiting for room in a Block queue was cancelled (its
    /// future dropped).
    pub cancelled: u64,
    /// Larger than the queue's whole byte budget, so it could never be
    /// queued (whatever the overflow strategy).
    pub too_large: u64,
}

impl DropCounts {
    /// Every dropped event.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.oldest
            + self.newest
            + self.rejected
            + self.block_timeout
            + self.expired
            + self.unsubscribed
            + self.cancelled
            + self.too_large
    }

    pub(crate) fn add(&mut self, other: &DropCounts) {
        self.oldest += other.oldest;
        self.newest += other.newest;
        self.rejected += other.rejected;
        self.block_timeout += other.block_timeout;
        self.expired += other.expired;
        self.unsubscribed += other.unsubscribed;
        self.cancelled += other.cancelled;
        self.too_large += other.too_large;
    }

    fn bump(&mut self, reason: DropReason, n: u64) {
        let slot = match reason {
            DropReason::Oldest => &mut self.oldest,
            DropReason::Newest => &mut self.newest,
            DropReason::Rejected => &mut self.rejected,
            DropReason::BlockTimeout => &mut self.block_timeout,
            DropReason::Expired => &mut self.expired,
            DropReason::Unsubscribed => &mut self.unsubscribed,
            DropReason::Cancelled => &mut self.cancelled,
            DropReason::TooLarge => &mut self.too_large,
        };
        *slot += n;
    }
}

/// Counters of one queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct QueueCounts {
    pub(crate) enqueued: u64,
    pub(crate) delivered: u64,
    pub(crate) dropped: DropCounts,
}

/// A queued event: the event, when it was queued, and the bytes it counts
/// against the queue's byte budget (0 when the queue has none).
type Slot = (Arc<UniversalEvent>, Instant, usize);

#[derive(Debug, Default)]
struct State {
    buf: VecDeque<Slot>,
    /// The bytes counted for the events in `buf`.
    bytes: usize,
    waker: Option<Waker>,
    closed: bool,
    blocked_publishers: usize,
    pressured: bool,
    drop_reported: bool,
    counts: QueueCounts,
}

/// The outcome of offering an event to a queue without waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    /// Queued (possibly after evicting the oldest event).
    Queued,
    /// Dropped by DropNewest.
    Dropped,
    /// Full, and the strategy is Block or Reject: the caller decides.
    Full,
    /// The subscription has ended.
    Closed,
    /// Larger than the whole byte budget: dropped (counted).
    TooLarge,
}

/// An event's serialized size, computed at most once per publish and only
/// when a queue with a byte budget needs it.
#[derive(Debug)]
pub(crate) struct EventSize<'a> {
    event: &'a UniversalEvent,
    bytes: Option<usize>,
}

impl<'a> EventSize<'a> {
    /// `known`: the size when the caller already has it (the store
    /// serialized the event).
    pub(crate) fn new(event: &'a UniversalEvent, known: Option<usize>) -> Self {
        Self {
            event,
            bytes: known,
        }
    }

    pub(crate) fn get(&mut self) -> usize {
        *self.bytes.get_or_insert_with(|| serialized_len(self.event))
    }
}

/// The length of the event's JSON form, counted without building it.
fn serialized_len(event: &UniversalEvent) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Serializing a `UniversalEvent` cannot fail (string keys, finite
    // numbers); an error would leave the count so far, still a bound.
    let _ = serde_json::to_writer(&mut count, event);
    count.0
}

/// One subscriber: its pattern, configuration and queue.
#[derive(Debug)]
pub(crate) struct Queue {
    pub(crate) id: SubscriptionId,
    pub(crate) pattern: EventPattern,
    pub(crate) config: SubscriptionConfig,
    pub(crate) handler: bool,
    shared: Arc<Shared>,
    state: Mutex<State>,
    space: Notify,
}

impl Drop for Queue {
    fn drop(&mut self) {
        // Relaxed: a diagnostic count, not used to order other memory.
        self.shared.live_queues.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Queue {
    pub(crate) fn new(
        id: SubscriptionId,
        pattern: EventPattern,
        config: SubscriptionConfig,
        handler: bool,
        shared: Arc<Shared>,
    ) -> Self {
        shared.live_queues.fetch_add(1, Ordering::Relaxed);
        Self {
            id,
            pattern,
            config,
            handler,
            shared,
            state: Mutex::new(State::default()),
            space: Notify::new(),
        }
    }

    /// The bytes `event` counts against this queue (0 without a byte
    /// budget), or `None` when it is larger than the whole budget.
    #[inline]
    pub(crate) fn cost(&self, size: &mut EventSize<'_>) -> Option<usize> {
        match self.config.max_bytes {
            None => Some(0),
            Some(max) => {
                let bytes = size.get();
                (bytes <= max).then_some(bytes)
            }
        }
    }

    /// Whether one more event of `bytes` fits now.
    #[inline]
    fn fits(&self, st: &State, bytes: usize) -> bool {
        st.buf.len() < self.config.capacity
            && self
                .config
                .max_bytes
                .is_none_or(|max| st.bytes.saturating_add(bytes) <= max)
    }

    /// Offers an event without waiting.
    #[inline]
    pub(crate) fn offer(
        &self,
        event: &Arc<UniversalEvent>,
        now: Instant,
        size: &mut EventSize<'_>,
    ) -> Offer {
        let Some(bytes) = self.cost(size) else {
            return self.drop_too_large();
        };
        let mut st = self.state.lock();
        if st.closed {
            return Offer::Closed;
        }
        let outcome = if self.fits(&st, bytes) {
            Offer::Queued
        } else {
            match self.config.overflow {
                OverflowStrategy::DropOldest => {
                    // The event fits the budget alone, so evicting ends.
                    while !self.fits(&st, bytes) {
                        let Some((_, _, freed)) = st.buf.pop_front() else {
                            break;
                        };
                        st.bytes -= freed;
                        self.record_drop(&mut st, DropReason::Oldest, 1);
                    }
                    Offer::Queued
                }
                OverflowStrategy::DropNewest => {
                    self.record_drop(&mut st, DropReason::Newest, 1);
                    return Offer::Dropped;
                }
                OverflowStrategy::Block { .. } | OverflowStrategy::Reject => return Offer::Full,
            }
        };
        self.enqueue(st, event, now, bytes);
        outcome
    }

    #[cold]
    fn drop_too_large(&self) -> Offer {
        let mut st = self.state.lock();
        if st.closed {
            return Offer::Closed;
        }
        self.record_drop(&mut st, DropReason::TooLarge, 1);
        Offer::TooLarge
    }

    #[inline]
    fn enqueue(
        &self,
        mut st: parking_lot::MutexGuard<'_, State>,
        event: &Arc<UniversalEvent>,
        now: Instant,
        bytes: usize,
    ) {
        st.buf.push_back((Arc::clone(event), now, bytes));
        st.bytes += bytes;
        st.counts.enqueued += 1;
        if !st.pressured && st.buf.len() >= self.config.high {
            st.pressured = true;
            self.shared.notify(BackpressureNotice::Started {
                subscriber: self.id,
                depth: st.buf.len(),
                capacity: self.config.capacity,
            });
        }
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Counts an event the caller decided not to deliver (Reject, a Block
    /// timeout, or a Block queue under `try_publish`).
    pub(crate) fn count_drop(&self, reason: DropReason) {
        let mut st = self.state.lock();
        self.record_drop(&mut st, reason, 1);
    }

    fn record_drop(&self, st: &mut State, reason: DropReason, n: u64) {
        st.counts.dropped.bump(reason, n);
        if !st.drop_reported && reason != DropReason::Unsubscribed {
            st.drop_reported = true;
            self.shared.notify(BackpressureNotice::Dropped {
                subscriber: self.id,
                reason,
                dropped_total: st.counts.dropped.total(),
            });
        }
    }

    /// Waits (at most until `deadline`) for room, then queues the event.
    /// Returns `Queued`, `Closed` (the subscription ended meanwhile: the
    /// event goes nowhere) or `Full` after the timeout (counted).
    /// Cancel-safe: a publish dropped while waiting is counted as
    /// `cancelled` and leaves no waiter registered.
    pub(crate) async fn offer_blocking(
        &self,
        event: &Arc<UniversalEvent>,
        bytes: usize,
        deadline: tokio::time::Instant,
    ) -> Offer {
        /// Unregisters the waiting publisher however the wait ends.
        struct Waiting<'a> {
            queue: &'a Queue,
            registered: bool,
            settled: bool,
        }
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                if !self.registered && self.settled {
                    return;
                }
                let mut st = self.queue.state.lock();
                if self.registered {
                    st.blocked_publishers -= 1;
                }
                if !self.settled {
                    self.queue.record_drop(&mut st, DropReason::Cancelled, 1);
                }
            }
        }
        let mut waiting = Waiting {
            queue: self,
            registered: false,
            settled: false,
        };
        loop {
            let notified = self.space.notified();
            tokio::pin!(notified);
            // Register before checking, so a wake between the check and the
            // await is not lost.
            notified.as_mut().enable();
            {
                let mut st = self.state.lock();
                if waiting.registered {
                    st.blocked_publishers -= 1;
                    waiting.registered = false;
                }
                if st.closed {
                    waiting.settled = true;
                    return Offer::Closed;
                }
                if self.fits(&st, bytes) {
                    let now = self.shared.metrics.clock().now();
                    waiting.settled = true;
                    self.enqueue(st, event, now, bytes);
                    return Offer::Queued;
                }
                st.blocked_publishers += 1;
                waiting.registered = true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let mut st = self.state.lock();
                st.blocked_publishers -= 1;
                waiting.registered = false;
                waiting.settled = true;
                self.record_drop(&mut st, DropReason::BlockTimeout, 1);
                return Offer::Full;
            }
        }
    }

    /// Takes the next live event, registering `cx`'s waker when empty.
    pub(crate) fn poll_pop(
        &self,
        cx: Option<&mut Context<'_>>,
    ) -> Poll<Option<Arc<UniversalEvent>>> {
        let mut st = self.state.lock();
        loop {
            let Some((event, enqueued, bytes)) = st.buf.pop_front() else {
                if st.closed {
                    return Poll::Ready(None);
                }
                if let Some(cx) = cx {
                    match &st.waker {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => st.waker = Some(cx.waker().clone()),
                    }
                }
                return Poll::Pending;
            };
            st.bytes -= bytes;
            let wake_publishers = st.blocked_publishers > 0;
            // Draining to the low watermark ends a pressure episode (and a
            // drop episode: the next drop is reported again).
            if st.buf.len() <= self.config.low {
                st.drop_reported = false;
                if st.pressured {
                    st.pressured = false;
                    self.shared.notify(BackpressureNotice::Relieved {
                        subscriber: self.id,
                        depth: st.buf.len(),
                    });
                }
            }
            if event.metadata.ttl.is_some() && event.is_expired() {
                self.record_drop(&mut st, DropReason::Expired, 1);
                if wake_publishers {
                    self.space.notify_waiters();
                }
                continue;
            }
            st.counts.delivered += 1;
            drop(st);
            if wake_publishers {
                self.space.notify_waiters();
            }
            let metrics = &self.shared.metrics;
            metrics.record_delivered(enqueued, metrics.clock().now());
            return Poll::Ready(Some(event));
        }
    }

    /// Ends the subscription: frees queued events (counted as dropped),
    /// wakes the receiver and any blocked publisher.
    pub(crate) fn close(&self) {
        let mut st = self.state.lock();
        if st.closed {
            return;
        }
        st.closed = true;
        let left = st.buf.len() as u64;
        st.buf = VecDeque::new();
        st.bytes = 0;
        self.record_drop(&mut st, DropReason::Unsubscribed, left);
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        self.space.notify_waiters();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    pub(crate) fn depth(&self) -> usize {
        self.state.lock().buf.len()
    }

    pub(crate) fn counts(&self) -> (usize, QueueCounts) {
        let st = self.state.lock();
        (st.buf.len(), st.counts)
    }

    /// Queue depth, queued bytes and counters, read together.
    pub(crate) fn usage(&self) -> (usize, usize, QueueCounts) {
        let st = self.state.lock();
        (st.buf.len(), st.bytes, st.counts)
    }
}
