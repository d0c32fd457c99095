//! [`EventBus`]: publish, subscribe, flow control and statistics.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use futures::FutureExt;
use parking_lot::Mutex;
use serde::Serialize;
use smallvec::SmallVec;
use tokio::sync::broadcast;
use tokio::task::AbortHandle;

use crate::flow::{BackpressureStream, FlowController, RateLimit};
use crate::handler::{self, EventHandler};
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::queue::{DropCounts, Offer, Queue, QueueCounts, Shared};
use crate::routing::RoutingTable;
use crate::{
    Clock, Durability, EventError, EventPattern, EventStore, OverflowStrategy, Result,
    Subscription, SubscriptionConfig, SubscriptionId, SubscriptionInfo, SystemClock,
    UniversalEvent,
};

/// What happened to one published event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PublishReport {
    /// The sequence number the bus gave the event.
    pub sequence: u64,
    /// Subscriptions whose pattern matched.
    pub matched: usize,
    /// Subscriptions that queued the event.
    pub queued: usize,
    /// Subscriptions that dropped it (full queue, or expired ttl).
    pub dropped: usize,
    /// Whether the event's ttl had already passed, so it went nowhere.
    pub expired: bool,
}

/// Bus-wide counters; see [`EventBus::stats`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct BusStats {
    /// Events accepted by `publish`/`try_publish` (persisted first when
    /// the bus has a store) and routed.
    pub published: u64,
    /// Events handed to receivers and handlers (one per subscriber).
    pub delivered: u64,
    /// Events dropped for subscribers, by reason.
    pub dropped: DropCounts,
    /// Events whose ttl had passed when published (never routed).
    pub expired_before_routing: u64,
    /// Handler calls that returned an error.
    pub handler_errors: u64,
    /// Handler calls that panicked.
    pub handler_panics: u64,
    /// Registered subscriptions.
    pub active_subscriptions: usize,
    /// Subscriber queues still allocated (registered, or awaiting the next
    /// routing-table swap to be freed).
    pub live_queues: usize,
    /// Every registered subscription with its queue depth and counters.
    pub subscriptions: Vec<SubscriptionInfo>,
}

#[derive(Debug, Default)]
struct Registry {
    queues: HashMap<SubscriptionId, Arc<Queue>>,
    /// Counters of removed subscriptions, so bus totals never go backwards.
    retired: QueueCounts,
}

/// The shared core of a bus. Subscriptions point back at it weakly.
pub(crate) struct BusInner {
    shared: Arc<Shared>,
    default_config: SubscriptionConfig,
    registry: Mutex<Registry>,
    /// Set when `registry` changed since `table` was built.
    dirty: AtomicBool,
    table: ArcSwap<RoutingTable>,
    next_id: AtomicU64,
    next_sequence: AtomicU64,
    published: AtomicU64,
    expired: AtomicU64,
    flow: Option<FlowController>,
    store: Option<EventStore>,
    handlers: Mutex<HashMap<SubscriptionId, AbortHandle>>,
    closed: AtomicBool,
}

impl fmt::Debug for BusInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventBus")
            .field("subscriptions", &self.registry.lock().queues.len())
            .field("next_sequence", &self.next_sequence.load(Ordering::Relaxed))
            .field("rate_limited", &self.flow.is_some())
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Drop for BusInner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl BusInner {
    /// The current routing table, rebuilt first if subscriptions changed.
    #[inline]
    fn table(&self) -> arc_swap::Guard<Arc<RoutingTable>> {
        // Acquire pairs with the Release stores in `register`/`unregister`:
        // a publish that happens after a subscribe returned sees the flag.
        if self.dirty.load(Ordering::Acquire) {
            self.rebuild();
        }
        self.table.load()
    }

    #[cold]
    fn rebuild(&self) {
        let reg = self.registry.lock();
        // Cleared under the registry lock, which every change also holds,
        // so no change is missed between the swap and the build.
        if self.dirty.swap(false, Ordering::AcqRel) {
            self.table
                .store(Arc::new(RoutingTable::build(reg.queues.values())));
        }
    }

    fn register(
        self: &Arc<Self>,
        pattern: &str,
        config: SubscriptionConfig,
        handler: bool,
    ) -> Result<Arc<Queue>> {
        let pattern = EventPattern::new(pattern)?;
        if self.closed.load(Ordering::Acquire) {
            return Err(EventError::Closed);
        }
        // Relaxed: ids only need to be unique.
        let id = SubscriptionId::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed));
        let queue = Arc::new(Queue::new(
            id,
            pattern,
            config,
            handler,
            Arc::clone(&self.shared),
        ));
        let mut reg = self.registry.lock();
        reg.queues.insert(id, Arc::clone(&queue));
        self.dirty.store(true, Ordering::Release);
        Ok(queue)
    }

    /// Removes a subscription: closes its queue and stops its handler task.
    pub(crate) fn unregister(&self, id: SubscriptionId) -> bool {
        let removed = {
            let mut reg = self.registry.lock();
            let removed = reg.queues.remove(&id);
            if let Some(q) = &removed {
                q.close();
                let (_, counts) = q.counts();
                reg.retired.enqueued += counts.enqueued;
                reg.retired.delivered += counts.delivered;
                reg.retired.dropped.add(&counts.dropped);
                self.dirty.store(true, Ordering::Release);
            }
            removed
        };
        let task = self.handlers.lock().remove(&id);
        if let Some(task) = task {
            task.abort();
        }
        removed.is_some()
    }

    fn shutdown(&self) {
        self.closed.store(true, Ordering::Release);
        let ids: Vec<_> = self.registry.lock().queues.keys().copied().collect();
        for id in ids {
            self.unregister(id);
        }
        let tasks: Vec<_> = self.handlers.lock().drain().map(|(_, t)| t).collect();
        for task in tasks {
            task.abort();
        }
        self.rebuild();
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(EventError::Closed)
        } else {
            Ok(())
        }
    }

    fn sequence(&self, mut event: UniversalEvent) -> UniversalEvent {
        // Relaxed: the counter only has to hand out distinct, increasing
        // numbers; the event itself is published through the queues' locks.
        event.sequence = self.next_sequence.fetch_add(1, Ordering::Relaxed);
        event
    }

    /// Offers `event` to every matching queue without waiting. Full Block
    /// queues are returned when `may_wait`, else counted and reported.
    fn route(
        &self,
        event: &Arc<UniversalEvent>,
        may_wait: bool,
        replayed: bool,
    ) -> (PublishReport, SmallVec<[Arc<Queue>; 2]>, Option<EventError>) {
        let mut report = PublishReport {
            sequence: event.sequence,
            ..PublishReport::default()
        };
        let mut waiting = SmallVec::new();
        let mut error = None;
        let metrics = &self.shared.metrics;
        let now = metrics.clock().now();
        if !replayed {
            // Relaxed: a statistics counter.
            self.published.fetch_add(1, Ordering::Relaxed);
            metrics.record_published(now);
        }
        if event.metadata.ttl.is_some() && event.is_expired() {
            self.expired.fetch_add(1, Ordering::Relaxed);
            report.expired = true;
            return (report, waiting, error);
        }
        let table = self.table();
        table.for_each_match(&event.event_type, |q| {
            report.matched += 1;
            match q.offer(event, now) {
                Offer::Queued => report.queued += 1,
                Offer::Dropped => report.dropped += 1,
                Offer::Closed => report.matched -= 1,
                Offer::Full => match q.config.overflow {
                    OverflowStrategy::Block { .. } if may_wait => waiting.push(Arc::clone(q)),
                    OverflowStrategy::Block { .. } => {
                        q.count_drop(crate::DropReason::Rejected);
                        report.dropped += 1;
                        error.get_or_insert_with(|| EventError::WouldBlock {
                            what: format!(
                                "room in the queue of subscriber {} (pattern `{}`)",
                                q.id, q.pattern
                            ),
                        });
                    }
                    _ => {
                        q.count_drop(crate::DropReason::Rejected);
                        report.dropped += 1;
                        error.get_or_insert_with(|| EventError::Rejected {
                            subscriber: q.id,
                            pattern: q.pattern.as_str().to_owned(),
                            capacity: q.config.capacity,
                        });
                    }
                },
            }
        });
        (report, waiting, error)
    }

    /// Routes an event, waiting on full Block queues.
    pub(crate) async fn deliver(
        &self,
        event: Arc<UniversalEvent>,
        replayed: bool,
    ) -> Result<PublishReport> {
        let (mut report, waiting, mut error) = self.route(&event, true, replayed);
        for q in waiting {
            let timeout = match q.config.overflow {
                OverflowStrategy::Block { timeout } => timeout,
                _ => Duration::ZERO,
            };
            let deadline = tokio::time::Instant::now() + timeout;
            match q.offer_blocking(&event, deadline).await {
                Offer::Queued => report.queued += 1,
                Offer::Closed => report.matched -= 1,
                Offer::Full | Offer::Dropped => {
                    report.dropped += 1;
                    error.get_or_insert_with(|| EventError::BlockTimeout {
                        subscriber: q.id,
                        pattern: q.pattern.as_str().to_owned(),
                        timeout,
                    });
                }
            }
        }
        match error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }
}

/// An in-process publish/subscribe bus for [`UniversalEvent`]s.
///
/// Cheap to clone (clones share one bus) and `Send + Sync`; wrap it in an
/// `Arc` or clone it freely. See the [crate docs](crate) for an overview.
///
/// - Publishing never takes a bus-wide lock: it reads an atomically swapped
///   routing snapshot and locks only each matching subscriber's queue.
/// - Each subscriber has a bounded queue with its own
///   [`OverflowStrategy`]; the default bus has no rate limit and queues of
///   [`DEFAULT_CAPACITY`](crate::DEFAULT_CAPACITY) events that drop the
///   oldest event when full.
/// - Events from one publisher reach every subscriber in sequence order.
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<BusInner>,
}

impl fmt::Debug for EventBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// A bus with defaults: no rate limit, no store, generous queues.
    #[must_use]
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Configures a bus.
    pub fn builder() -> EventBusBuilder {
        EventBusBuilder::default()
    }

    /// Publishes `event`: gives it the next sequence number, persists it
    /// first when the bus has a store, and queues it for every matching
    /// subscription. Waits for a rate-limit token (when a limit is set) and
    /// for room in full [`OverflowStrategy::Block`] queues.
    ///
    /// # Errors
    /// [`EventError::InvalidEvent`] for an empty type; [`EventError::Closed`]
    /// after [`close`](Self::close); [`EventError::Storage`] when persisting
    /// failed (nothing was delivered). [`EventError::Rejected`] or
    /// [`EventError::BlockTimeout`] name a subscriber that did not take the
    /// event; every other subscriber got it.
    pub async fn publish(&self, event: UniversalEvent) -> Result<PublishReport> {
        let inner = &*self.inner;
        inner.check_open()?;
        event.validate()?;
        if let Some(flow) = &inner.flow {
            flow.acquire(&inner.shared).await;
        }
        let event = inner.sequence(event);
        if let Some(store) = &inner.store {
            store.append(&event).await?;
        }
        inner.deliver(Arc::new(event), false).await
    }

    /// Publishes without ever waiting: a full Block queue is treated like
    /// Reject ([`EventError::WouldBlock`]), an exhausted rate limit fails
    /// with [`EventError::RateLimited`], and a store whose write does not
    /// complete at once fails with [`EventError::WouldBlock`] (the memory
    /// and sled backends always complete at once; a store with
    /// [`Durability::Flushed`] always waits for the disk, so it is refused
    /// up front).
    ///
    /// # Errors
    /// As [`publish`](Self::publish), plus the above.
    pub fn try_publish(&self, event: UniversalEvent) -> Result<PublishReport> {
        let inner = &*self.inner;
        inner.check_open()?;
        event.validate()?;
        if let Some(flow) = &inner.flow {
            flow.try_acquire(&inner.shared)
                .map_err(|retry_after| EventError::RateLimited { retry_after })?;
        }
        if let Some(store) = &inner.store {
            if store.durability() == Durability::Flushed {
                return Err(EventError::WouldBlock {
                    what: "a flush of the event store (Durability::Flushed)".into(),
                });
            }
        }
        let event = inner.sequence(event);
        if let Some(store) = &inner.store {
            store
                .append(&event)
                .now_or_never()
                .ok_or_else(|| EventError::WouldBlock {
                    what: "the event store".into(),
                })??;
        }
        let (report, _, error) = inner.route(&Arc::new(event), false, false);
        match error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Subscribes to `pattern` with the bus's default queue configuration.
    ///
    /// # Errors
    /// [`EventError::InvalidPattern`]; [`EventError::Closed`].
    pub fn subscribe(&self, pattern: &str) -> Result<Subscription> {
        self.subscribe_with(pattern, self.inner.default_config.clone())
    }

    /// Subscribes to `pattern` with its own queue configuration.
    ///
    /// # Errors
    /// [`EventError::InvalidPattern`]; [`EventError::Closed`].
    pub fn subscribe_with(
        &self,
        pattern: &str,
        config: SubscriptionConfig,
    ) -> Result<Subscription> {
        let queue = self.inner.register(pattern, config, false)?;
        Ok(Subscription::new(queue, Arc::downgrade(&self.inner)))
    }

    /// Runs `handler` for every event matching `pattern`, on a task the
    /// bus owns until [`unsubscribe`](Self::unsubscribe) or
    /// [`close`](Self::close) (or the bus is dropped).
    ///
    /// # Errors
    /// [`EventError::NoRuntime`] outside a tokio runtime;
    /// [`EventError::InvalidPattern`]; [`EventError::Closed`].
    pub fn subscribe_handler(
        &self,
        pattern: &str,
        handler: EventHandler,
    ) -> Result<SubscriptionId> {
        self.subscribe_handler_with(pattern, self.inner.default_config.clone(), handler)
    }

    /// [`subscribe_handler`](Self::subscribe_handler) with its own queue
    /// configuration.
    ///
    /// # Errors
    /// As [`subscribe_handler`](Self::subscribe_handler).
    pub fn subscribe_handler_with(
        &self,
        pattern: &str,
        config: SubscriptionConfig,
        handler: EventHandler,
    ) -> Result<SubscriptionId> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| EventError::NoRuntime)?;
        let queue = self.inner.register(pattern, config, true)?;
        let id = queue.id;
        let sub = Subscription::new(queue, Arc::downgrade(&self.inner));
        // Hold the handler map while spawning, so an `unsubscribe` racing
        // with this call finds the task to stop.
        let mut handlers = self.inner.handlers.lock();
        let task = runtime.spawn(handler::run(sub, handler, Arc::clone(&self.inner.shared)));
        handlers.insert(id, task.abort_handle());
        Ok(id)
    }

    /// Ends a subscription (a receiver's stream ends; a handler task
    /// stops). Returns whether it existed.
    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        self.inner.unregister(id)
    }

    /// The ids of every registered subscription, ascending.
    #[must_use]
    pub fn subscription_ids(&self) -> Vec<SubscriptionId> {
        let mut ids: Vec<_> = self.inner.registry.lock().queues.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Every registered subscription with its counters, by id.
    #[must_use]
    pub fn list_subscriptions(&self) -> Vec<SubscriptionInfo> {
        let queues: Vec<_> = self
            .inner
            .registry
            .lock()
            .queues
            .values()
            .cloned()
            .collect();
        let mut infos: Vec<_> = queues.iter().map(|q| SubscriptionInfo::of(q)).collect();
        infos.sort_unstable_by_key(|i| i.id);
        infos
    }

    /// The number of registered subscriptions.
    #[must_use]
    pub fn subscription_count(&self) -> usize {
        self.inner.registry.lock().queues.len()
    }

    /// Bus-wide counters and every subscription's queue.
    #[must_use]
    pub fn stats(&self) -> BusStats {
        let (retired, queues) = {
            let reg = self.inner.registry.lock();
            (
                reg.retired,
                reg.queues.values().cloned().collect::<Vec<_>>(),
            )
        };
        let mut subscriptions: Vec<_> = queues.iter().map(|q| SubscriptionInfo::of(q)).collect();
        subscriptions.sort_unstable_by_key(|i| i.id);
        let mut delivered = retired.delivered;
        let mut dropped = retired.dropped;
        for s in &subscriptions {
            delivered += s.delivered;
            dropped.add(&s.dropped);
        }
        let shared = &self.inner.shared;
        BusStats {
            published: self.inner.published.load(Ordering::Relaxed),
            delivered,
            dropped,
            expired_before_routing: self.inner.expired.load(Ordering::Relaxed),
            handler_errors: shared.handler_errors.load(Ordering::Relaxed),
            handler_panics: shared.handler_panics.load(Ordering::Relaxed),
            active_subscriptions: subscriptions.len(),
            live_queues: shared.live_queues.load(Ordering::Relaxed),
            subscriptions,
        }
    }

    /// Event rates and delivery-latency percentiles over the sliding window.
    #[must_use]
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.shared.metrics.snapshot()
    }

    /// A stream of backpressure notices (watermarks crossed, drops, rate
    /// limiting) from now on.
    #[must_use]
    pub fn backpressure(&self) -> BackpressureStream {
        BackpressureStream::new(&self.inner.shared)
    }

    /// The sequence number the next published event gets.
    #[must_use]
    pub fn next_sequence(&self) -> u64 {
        self.inner.next_sequence.load(Ordering::Relaxed)
    }

    /// The bus's event store, if it persists events.
    #[must_use]
    pub fn store(&self) -> Option<&EventStore> {
        self.inner.store.as_ref()
    }

    /// Closes the bus: every subscription ends, handler tasks stop, and
    /// further publishes and subscribes fail with [`EventError::Closed`].
    pub fn close(&self) {
        self.inner.shutdown();
    }

    /// Whether [`close`](Self::close) was called.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    pub(crate) fn inner(&self) -> &BusInner {
        &self.inner
    }
}

/// Configures an [`EventBus`]; see [`EventBus::builder`].
#[derive(Debug)]
#[must_use]
pub struct EventBusBuilder {
    config: SubscriptionConfig,
    rate_limit: Option<RateLimit>,
    store: Option<EventStore>,
    clock: Arc<dyn Clock>,
    window: Duration,
    slots: usize,
}

impl Default for EventBusBuilder {
    fn default() -> Self {
        Self {
            config: SubscriptionConfig::new(),
            rate_limit: None,
            store: None,
            clock: Arc::new(SystemClock),
            window: Duration::from_secs(10),
            slots: 10,
        }
    }
}

impl EventBusBuilder {
    /// The queue configuration of `subscribe` and `subscribe_handler`.
    pub fn default_subscription(mut self, config: SubscriptionConfig) -> Self {
        self.config = config;
        self
    }

    /// Limits publishing to a token bucket (off by default).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Persists every event to `store` before `publish` returns; sequence
    /// numbers continue after the store's last event.
    pub fn store(mut self, store: EventStore) -> Self {
        self.store = Some(store);
        self
    }

    /// The clock for rate limiting, latency and the metrics window.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The metrics window (10 s by default) and how many slots it slides
    /// by (10 by default).
    pub fn metrics_window(mut self, window: Duration, slots: usize) -> Self {
        self.window = window;
        self.slots = slots.max(1);
        self
    }

    /// The bus.
    pub fn build(self) -> EventBus {
        let (notices, _) = broadcast::channel(1024);
        let shared = Arc::new(Shared {
            metrics: Metrics::new(Arc::clone(&self.clock), self.window, self.slots),
            notices,
            live_queues: AtomicUsize::new(0),
            handler_errors: AtomicU64::new(0),
            handler_panics: AtomicU64::new(0),
        });
        let first_sequence = self.store.as_ref().map_or(1, EventStore::next_sequence);
        EventBus {
            inner: Arc::new(BusInner {
                shared,
                default_config: self.config,
                registry: Mutex::new(Registry::default()),
                dirty: AtomicBool::new(false),
                table: ArcSwap::from_pointee(RoutingTable::build(None)),
                next_id: AtomicU64::new(1),
                next_sequence: AtomicU64::new(first_sequence),
                published: AtomicU64::new(0),
                expired: AtomicU64::new(0),
                flow: self
                    .rate_limit
                    .map(|l| FlowController::new(l, Arc::clone(&self.clock))),
                store: self.store,
                handlers: Mutex::new(HashMap::new()),
                closed: AtomicBool::new(false),
            }),
        }
    }
}
