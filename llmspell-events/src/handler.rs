//! Callback subscriptions: sync and async event handlers run by a task the
//! bus owns.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use futures::future::BoxFuture;
use futures::FutureExt;

use crate::bus::BusInner;
use crate::queue::Shared;
use crate::{Subscription, SubscriptionId, UniversalEvent};

/// What a handler reports on failure.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// What a handler returns.
pub type HandlerResult = Result<(), HandlerError>;

type SyncFn = dyn Fn(&UniversalEvent) -> HandlerResult + Send + Sync;
type AsyncFn = dyn Fn(Arc<UniversalEvent>) -> BoxFuture<'static, HandlerResult> + Send + Sync;

/// A callback for [`EventBus::subscribe_handler`](crate::EventBus::subscribe_handler).
///
/// The bus runs it on a task it owns, one event at a time in delivery
/// order. An error or a panic is isolated: it is counted in
/// [`BusStats`](crate::BusStats) (`handler_errors`, `handler_panics`),
/// logged, and the handler carries on with the next event.
///
/// ```
/// use llmspell_events::EventHandler;
///
/// let sync = EventHandler::from_fn(|event| {
///     println!("{}", event.event_type);
///     Ok(())
/// });
/// let asynchronous = EventHandler::from_async_fn(|event| async move {
///     if event.data.is_null() {
///         return Err("no payload".into());
///     }
///     Ok(())
/// });
/// # drop((sync, asynchronous));
/// ```
#[derive(Clone)]
pub struct EventHandler(Kind);

#[derive(Clone)]
enum Kind {
    Sync(Arc<SyncFn>),
    Async(Arc<AsyncFn>),
}

impl fmt::Debug for EventHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.0 {
            Kind::Sync(_) => "sync",
            Kind::Async(_) => "async",
        };
        f.debug_tuple("EventHandler").field(&kind).finish()
    }
}

impl EventHandler {
    /// A synchronous handler. It runs on the handler task, so it should be
    /// quick; use [`from_async_fn`](Self::from_async_fn) for I/O.
    pub fn from_fn<F>(f: F) -> Self
    where
        F: Fn(&UniversalEvent) -> HandlerResult + Send + Sync + 'static,
    {
        Self(Kind::Sync(Arc::new(f)))
    }

    /// An asynchronous handler.
    pub fn from_async_fn<F, Fut>(f: F) -> Self
    where
        F: Fn(Arc<UniversalEvent>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        Self(Kind::Async(Arc::new(move |e| f(e).boxed())))
    }

    /// Runs the handler on one event, catching errors and panics.
    async fn call(&self, event: Arc<UniversalEvent>) -> Outcome {
        let result = match &self.0 {
            Kind::Sync(f) => std::panic::catch_unwind(AssertUnwindSafe(|| f(&event))),
            Kind::Async(f) => match std::panic::catch_unwind(AssertUnwindSafe(|| f(event))) {
                Ok(fut) => AssertUnwindSafe(fut).catch_unwind().await,
                Err(panic) => Err(panic),
            },
        };
        match result {
            Ok(Ok(())) => Outcome::Ok,
            Ok(Err(e)) => Outcome::Failed(e),
            Err(_) => Outcome::Panicked,
        }
    }
}

enum Outcome {
    Ok,
    Failed(HandlerError),
    Panicked,
}

/// The body of a handler task: feeds every event of `sub` to `handler`
/// until the subscription ends.
pub(crate) async fn run(mut sub: Subscription, handler: EventHandler, shared: Arc<Shared>) {
    while let Some(event) = sub.recv().await {
        match handler.call(Arc::clone(&event)).await {
            Outcome::Ok => {}
            Outcome::Failed(e) => {
                // Relaxed: independent statistics counters.
                shared.handler_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(subscription = %sub.id(), event_type = %event.event_type, error = %e, "event handler failed");
            }
            Outcome::Panicked => {
                shared.handler_panics.fetch_add(1, Ordering::Relaxed);
                tracing::error!(subscription = %sub.id(), event_type = %event.event_type, "event handler panicked");
            }
        }
    }
}

/// A running handler subscription, from
/// [`EventBus::subscribe_handler`](crate::EventBus::subscribe_handler).
///
/// Dropping it unsubscribes: the handler task stops and the queued events
/// are freed. Keep it as long as the handler should run, or
/// [`detach`](Self::detach) it to run until
/// [`EventBus::unsubscribe`](crate::EventBus::unsubscribe) with its id or
/// the bus closes.
///
/// ```
/// use llmspell_events::{EventBus, EventHandler};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> llmspell_events::Result<()> {
/// let bus = EventBus::new();
/// let guard = bus.subscribe_handler("tool.*", EventHandler::from_fn(|_| Ok(())))?;
/// assert_eq!(bus.subscription_count(), 1);
/// drop(guard);
/// assert_eq!(bus.subscription_count(), 0);
///
/// let id = bus.subscribe_handler("tool.*", EventHandler::from_fn(|_| Ok(())))?.detach();
/// assert_eq!(bus.subscription_count(), 1);
/// assert!(bus.unsubscribe(id));
/// # Ok(())
/// # }
/// ```
#[must_use = "dropping the guard unsubscribes the handler at once; keep it, or call `detach`"]
pub struct HandlerSubscription {
    id: SubscriptionId,
    bus: Weak<BusInner>,
    armed: bool,
}

impl fmt::Debug for HandlerSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerSubscription")
            .field("id", &self.id)
            .field("detached", &!self.armed)
            .finish()
    }
}

impl HandlerSubscription {
    pub(crate) fn new(id: SubscriptionId, bus: Weak<BusInner>) -> Self {
        Self {
            id,
            bus,
            armed: true,
        }
    }

    /// The subscription's id.
    #[must_use]
    pub fn id(&self) -> SubscriptionId {
        self.id
    }

    /// Ends the subscription now; returns whether it was still registered.
    pub fn unsubscribe(mut self) -> bool {
        self.armed = false;
        self.bus
            .upgrade()
            .is_some_and(|bus| bus.unregister(self.id))
    }

    /// Lets the handler run on after the guard is gone; returns the id to
    /// unsubscribe it with later.
    #[must_use = "the id is the only way left to unsubscribe the handler"]
    pub fn detach(mut self) -> SubscriptionId {
        self.armed = false;
        self.id
    }
}

impl Drop for HandlerSubscription {
    fn drop(&mut self) {
        if self.armed {
            if let Some(bus) = self.bus.upgrade() {
                bus.unregister(self.id);
            }
        }
    }
}
