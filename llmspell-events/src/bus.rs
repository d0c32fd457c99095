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

use futures::StreamExt;
use uuid::Uuid;

use crate::flow::{BackpressureStream, FlowController, RateLimit};
use crate::handler::{self, EventHandler, HandlerSubscription};
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::queue::{DropCounts, EventSize, Offer, Queue, QueueCounts, Shared};
use crate::routing::RoutingTable;
use crate::{
    Clock, Durability, EventError, EventPattern, EventQuery, EventStore, OverflowStrategy, Result,
    Subscription, SubscriptionConfig, SubscriptionId, SubscriptionInfo, SystemClock,
    UniversalEvent,
};

/// What happened to one published event. Also carried by the errors of a
/// publish that went ahead despite one subscriber
/// ([`EventError::publish_report`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PublishReport {
    /// The event's id.
    pub event_id: Uuid,
    /// The sequence number the bus gave the event (for a duplicate: the
    /// one it was stored under first).
    pub sequence: u64,
    /// Whether the event is in the bus's store (always false without one).
    pub stored: bool,
    /// Whether an event with this id was already stored, so this publish
    /// stored and delivered nothing.
    pub duplicate: bool,
    /// Subscriptions whose pattern matched.
    pub matched: usize,
    /// Subscriptions that queued the event.
    pub queued: usize,
    /// Subscriptions that dropped it (full queue, too large for its byte
    /// budget, or expired ttl).
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

/// Why one subscriber did not take an event (turned into the publish's
/// error once the report is complete).
enum Refusal {
    Rejected {
        subscriber: SubscriptionId,
        pattern: String,
        capacity: usize,
    },
    /// A full Block queue under `try_publish`.
    WouldBlock {
        subscriber: SubscriptionId,
        pattern: String,
    },
    TimedOut {
        subscriber: SubscriptionId,
        pattern: String,
        timeout: Duration,
    },
}

impl Refusal {
    fn into_error(self, report: PublishReport) -> EventError {
        match self {
            Refusal::Rejected {
                subscriber,
                pattern,
                capacity,
            } => EventError::Rejected {
                subscriber,
                pattern,
                capacity,
                report,
            },
            Refusal::WouldBlock {
                subscriber,
                pattern,
            } => EventError::WouldBlock {
                what: format!("room in the queue of subscriber {subscriber} (pattern `{pattern}`)"),
                report: Some(report),
            },
            Refusal::TimedOut {
                subscriber,
                pattern,
                timeout,
            } => EventError::BlockTimeout {
                subscriber,
                pattern,
                timeout,
                report,
            },
        }
    }
}

/// Full Block queues a publish waits on, with the bytes the event counts
/// in each.
type Waiting = SmallVec<[(Arc<Queue>, usize); 2]>;

/// An event ready to route: shared, with what is known about it.
struct Routed<'a> {
    event: &'a Arc<UniversalEvent>,
    /// Whether it is in the store.
    stored: bool,
    /// Its JSON length, when already known.
    size: Option<usize>,
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
    /// The byte budget of queues whose config sets none.
    default_max_bytes: Option<usize>,
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
        // Every change sets the flag under the registry lock, held here, so
        // none is missed. The flag is cleared only after the new table is
        // stored: a publisher that reads it clear (Acquire, pairing with
        // the Release below) then loads this table or a newer one. Clearing
        // it first let a concurrent publisher load the old table and route
        // its event past a subscriber that had just been added.
        if self.dirty.load(Ordering::Acquire) {
            self.table
                .store(Arc::new(RoutingTable::build(reg.queues.values())));
            self.dirty.store(false, Ordering::Release);
        }
    }

    fn register(
        self: &Arc<Self>,
        pattern: &str,
        mut config: SubscriptionConfig,
        handler: bool,
    ) -> Result<Arc<Queue>> {
        let pattern = EventPattern::new(pattern)?;
        if config.max_bytes.is_none() {
            config.max_bytes = self.default_max_bytes;
        }
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

    fn take_sequence(&self) -> u64 {
        // Relaxed: the counter only has to hand out distinct, increasing
        // numbers; the event itself is published through the queues' locks.
        self.next_sequence.fetch_add(1, Ordering::Relaxed)
    }

    /// Sequences the event and persists it when the bus has a store.
    /// `Ok(Err(report))` is a duplicate of a stored event: nothing to
    /// deliver.
    async fn persist(
        &self,
        mut event: UniversalEvent,
        durability: Option<Durability>,
    ) -> Result<std::result::Result<(UniversalEvent, bool, Option<usize>), PublishReport>> {
        let Some(store) = &self.store else {
            event.sequence = self.take_sequence();
            return Ok(Ok((event, false, None)));
        };
        let durability = durability.unwrap_or_else(|| store.durability());
        let (event, appended, size) = store
            .append_with(event, || self.take_sequence(), durability)
            .await?;
        if appended.duplicate {
            return Ok(Err(PublishReport {
                event_id: event.id,
                sequence: appended.sequence,
                stored: true,
                duplicate: true,
                ..PublishReport::default()
            }));
        }
        Ok(Ok((event, true, size)))
    }

    /// Offers the event to every matching queue without waiting. Full
    /// Block queues are returned with the bytes the event counts there
    /// when `may_wait`, else counted and reported.
    fn route(
        &self,
        routed: &Routed<'_>,
        may_wait: bool,
        replayed: bool,
    ) -> (PublishReport, Waiting, Option<Refusal>) {
        let event = routed.event;
        let mut report = PublishReport {
            event_id: event.id,
            sequence: event.sequence,
            stored: routed.stored,
            ..PublishReport::default()
        };
        let mut waiting = SmallVec::new();
        let mut refusal = None;
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
            return (report, waiting, refusal);
        }
        let mut size = EventSize::new(event, routed.size);
        let table = self.table();
        table.for_each_match(&event.event_type, |q| {
            report.matched += 1;
            match q.offer(event, now, &mut size) {
                Offer::Queued => report.queued += 1,
                Offer::Dropped | Offer::TooLarge => report.dropped += 1,
                Offer::Closed => report.matched -= 1,
                Offer::Full => match q.config.overflow {
                    OverflowStrategy::Block { .. } if may_wait => {
                        // `Full` means the event fits the budget alone.
                        let bytes = q.cost(&mut size).unwrap_or(0);
                        waiting.push((Arc::clone(q), bytes));
                    }
                    OverflowStrategy::Block { .. } => {
                        q.count_drop(crate::DropReason::Rejected);
                        report.dropped += 1;
                        refusal.get_or_insert_with(|| Refusal::WouldBlock {
                            subscriber: q.id,
                            pattern: q.pattern.as_str().to_owned(),
                        });
                    }
                    _ => {
                        q.count_drop(crate::DropReason::Rejected);
                        report.dropped += 1;
                        refusal.get_or_insert_with(|| Refusal::Rejected {
                            subscriber: q.id,
                            pattern: q.pattern.as_str().to_owned(),
                            capacity: q.config.capacity,
                        });
                    }
                },
            }
        });
        (report, waiting, refusal)
    }

    /// Routes an event, waiting on full Block queues.
    async fn deliver(&self, routed: Routed<'_>, replayed: bool) -> Result<PublishReport> {
        let (mut report, waiting, mut refusal) = self.route(&routed, true, replayed);
        for (q, bytes) in waiting {
            let timeout = match q.config.overflow {
                OverflowStrategy::Block { timeout } => timeout,
                _ => Duration::ZERO,
            };
            let deadline = tokio::time::Instant::now() + timeout;
            match q.offer_blocking(routed.event, bytes, deadline).await {
                Offer::Queued => report.queued += 1,
                Offer::Closed => report.matched -= 1,
                Offer::Full | Offer::Dropped | Offer::TooLarge => {
                    report.dropped += 1;
                    refusal.get_or_insert_with(|| Refusal::TimedOut {
                        subscriber: q.id,
                        pattern: q.pattern.as_str().to_owned(),
                        timeout,
                    });
                }
            }
        }
        match refusal {
            Some(r) => Err(r.into_error(report)),
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
    /// With a store, an event whose id is already stored is a duplicate
    /// (typically a retry after an error): nothing is stored or delivered,
    /// and the report has [`duplicate`](PublishReport::duplicate) set and
    /// the sequence it was first stored under.
    ///
    /// # Errors
    /// [`EventError::InvalidEvent`] for an empty type; [`EventError::Closed`]
    /// after [`close`](Self::close); [`EventError::Storage`] when persisting
    /// failed (nothing was delivered). [`EventError::Rejected`] or
    /// [`EventError::BlockTimeout`] name a subscriber that did not take the
    /// event: the event was still published (stored, and queued for every
    /// other subscriber), and the error carries the [`PublishReport`]
    /// ([`EventError::publish_report`]).
    pub async fn publish(&self, event: UniversalEvent) -> Result<PublishReport> {
        if self.inner.store.is_none() {
            return self.publish_shared(Arc::new(event)).await;
        }
        self.publish_inner(event, None).await
    }

    /// [`publish`](Self::publish) with its own durability instead of the
    /// store's: a component whose publishes are not acknowledgements
    /// anyone relies on (lifecycle notifications, say) can use
    /// [`Durability::Written`] on a [`Durability::Flushed`] store and not
    /// wait for the disk; the next flushed publish makes it durable too.
    /// Without a store the durability does not matter.
    ///
    /// # Errors
    /// As [`publish`](Self::publish).
    pub async fn publish_with(
        &self,
        event: UniversalEvent,
        durability: Durability,
    ) -> Result<PublishReport> {
        if self.inner.store.is_none() {
            return self.publish_shared(Arc::new(event)).await;
        }
        self.publish_inner(event, Some(durability)).await
    }

    /// [`publish`](Self::publish) on a bus without a store, of an event
    /// already behind an `Arc`: it is put on the heap once and travels by
    /// pointer (the NATS importer decodes straight into one), where the
    /// path through [`persist`](BusInner::persist) moves the whole event
    /// several times. An `Arc` shared elsewhere is cloned first (the bus
    /// gives the event its sequence number). On a bus with a store it
    /// takes the stored path.
    pub(crate) async fn publish_shared(
        &self,
        mut event: Arc<UniversalEvent>,
    ) -> Result<PublishReport> {
        let inner = &*self.inner;
        if inner.store.is_some() {
            let event = Arc::try_unwrap(event).unwrap_or_else(|shared| (*shared).clone());
            return self.publish_inner(event, None).await;
        }
        inner.check_open()?;
        event.validate()?;
        if let Some(flow) = &inner.flow {
            flow.acquire(&inner.shared).await;
        }
        Arc::make_mut(&mut event).sequence = inner.take_sequence();
        inner
            .deliver(
                Routed {
                    event: &event,
                    stored: false,
                    size: None,
                },
                false,
            )
            .await
    }

    async fn publish_inner(
        &self,
        event: UniversalEvent,
        durability: Option<Durability>,
    ) -> Result<PublishReport> {
        let inner = &*self.inner;
        inner.check_open()?;
        event.validate()?;
        if let Some(flow) = &inner.flow {
            flow.acquire(&inner.shared).await;
        }
        let (event, stored, size) = match inner.persist(event, durability).await? {
            Ok(persisted) => persisted,
            Err(duplicate) => return Ok(duplicate),
        };
        let event = Arc::new(event);
        inner
            .deliver(
                Routed {
                    event: &event,
                    stored,
                    size,
                },
                false,
            )
            .await
    }

    /// Publishes without ever waiting: a full Block queue is treated like
    /// Reject ([`EventError::WouldBlock`] carrying the report), an
    /// exhausted rate limit fails with [`EventError::RateLimited`], and a
    /// store whose write does not complete at once fails with
    /// [`EventError::WouldBlock`] (the memory and sled backends always
    /// complete at once; a store with [`Durability::Flushed`] always waits
    /// for the disk, so it is refused up front).
    ///
    /// # Errors
    /// As [`publish`](Self::publish), plus the above.
    pub fn try_publish(&self, event: UniversalEvent) -> Result<PublishReport> {
        let inner = &*self.inner;
        inner.check_open()?;
        event.validate()?;
        if let Some(store) = &inner.store {
            if store.durability() == Durability::Flushed {
                return Err(EventError::would_block(
                    "a flush of the event store (Durability::Flushed)",
                ));
            }
        }
        if let Some(flow) = &inner.flow {
            flow.try_acquire(&inner.shared)
                .map_err(|retry_after| EventError::RateLimited { retry_after })?;
        }
        let (event, stored, size) = match inner
            .persist(event, None)
            .now_or_never()
            .ok_or_else(|| EventError::would_block("the event store"))??
        {
            Ok(persisted) => persisted,
            Err(duplicate) => return Ok(duplicate),
        };
        let event = Arc::new(event);
        let routed = Routed {
            event: &event,
            stored,
            size,
        };
        let (report, _, refusal) = inner.route(&routed, false, false);
        match refusal {
            Some(r) => Err(r.into_error(report)),
            None => Ok(report),
        }
    }

    /// Delivers the events of `store` matching `query`, in sequence order,
    /// to the current subscribers, keeping their original sequence numbers
    /// and without storing them again (replayed events are not counted as
    /// published). Returns how many were replayed. A subscriber that
    /// rejects an event or times out is counted in the stats and does not
    /// stop the replay.
    ///
    /// # Errors
    /// [`EventError::Storage`]; [`EventError::Corrupt`]; [`EventError::Closed`]
    /// when the bus is (or gets) closed.
    pub async fn replay(&self, store: &EventStore, query: EventQuery) -> Result<usize> {
        let inner = &*self.inner;
        let mut stream = store.replay(query);
        let mut n = 0;
        while let Some(event) = stream.next().await {
            inner.check_open()?;
            let event = Arc::new(event?);
            let routed = Routed {
                event: &event,
                stored: true,
                size: None,
            };
            match inner.deliver(routed, true).await {
                Ok(_) | Err(EventError::Rejected { .. } | EventError::BlockTimeout { .. }) => {}
                Err(e) => return Err(e),
            }
            n += 1;
        }
        Ok(n)
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
    /// bus owns, until the returned guard is dropped (or
    /// [`HandlerSubscription::unsubscribe`]), or, once
    /// [`detach`](HandlerSubscription::detach)ed, until
    /// [`unsubscribe`](Self::unsubscribe) with its id; in every case at the
    /// latest when the bus is closed or dropped.
    ///
    /// # Errors
    /// [`EventError::NoRuntime`] outside a tokio runtime;
    /// [`EventError::InvalidPattern`]; [`EventError::Closed`].
    pub fn subscribe_handler(
        &self,
        pattern: &str,
        handler: EventHandler,
    ) -> Result<HandlerSubscription> {
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
    ) -> Result<HandlerSubscription> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| EventError::NoRuntime)?;
        let queue = self.inner.register(pattern, config, true)?;
        let id = queue.id;
        let sub = Subscription::new(queue, Arc::downgrade(&self.inner));
        // Hold the handler map while spawning, so an `unsubscribe` racing
        // with this call finds the task to stop.
        let mut handlers = self.inner.handlers.lock();
        let task = runtime.spawn(handler::run(sub, handler, Arc::clone(&self.inner.shared)));
        handlers.insert(id, task.abort_handle());
        Ok(HandlerSubscription::new(id, Arc::downgrade(&self.inner)))
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
}

/// Configures an [`EventBus`]; see [`EventBus::builder`].
#[derive(Debug)]
#[must_use]
pub struct EventBusBuilder {
    config: SubscriptionConfig,
    max_queue_bytes: Option<usize>,
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
            max_queue_bytes: None,
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

    /// The byte budget of every queue whose [`SubscriptionConfig`] sets
    /// none (see [`SubscriptionConfig::max_bytes`]); off by default. With a
    /// budget, each event is counted with the length of its JSON form
    /// (measured once per publish, and not at all when the store already
    /// serialized it).
    pub fn max_queue_bytes(mut self, bytes: usize) -> Self {
        self.max_queue_bytes = Some(bytes.max(1));
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
                default_max_bytes: self.max_queue_bytes,
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
