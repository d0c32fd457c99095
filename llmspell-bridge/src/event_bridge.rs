//! [`EventBridge`]: the language-neutral event API behind the `Event` global.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use llmspell_events::{
    BusStats, EventBus, EventHandler, Language, PublishReport, Subscription, SubscriptionConfig,
    SubscriptionId, SubscriptionInfo, UniversalEvent,
};
use llmspell_hooks::{
    ComponentId, ComponentType, HookContext, HookExecutor, HookOutcome, HookPoint,
};
use parking_lot::Mutex;
use serde_json::json;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::error::{BridgeError, Result};

tokio::task_local! {
    /// Set while the emit hooks of a publish run, so that a publish made by
    /// one of those hooks does not fire them again (no unbounded recursion).
    static IN_EMIT_HOOK: bool;
}

/// How many callback events may wait between the bus and the script before
/// the bus-side queue (with its overflow strategy) takes the backlog.
const CALLBACK_QUEUE: usize = 1024;

/// Options of [`EventBridge::publish`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublishOptions {
    /// The emitting language (default: the bridge's).
    pub language: Option<Language>,
    /// Groups the event with others of one operation.
    pub correlation_id: Option<Uuid>,
    /// Time to live.
    pub ttl: Option<Duration>,
    /// Free-form labels.
    pub tags: Vec<String>,
    /// Informational priority (higher is more important).
    pub priority: Option<i32>,
    /// Who emitted it.
    pub source: Option<String>,
    /// Who it is meant for.
    pub target: Option<String>,
}

type IdCell = Arc<OnceLock<SubscriptionId>>;
type CallbackEvent = (IdCell, Arc<UniversalEvent>);

/// The event side of one script engine: publishes on the shared bus and owns
/// the engine's subscriptions.
///
/// Two kinds of subscriptions: *receiver* subscriptions are read with
/// [`receive`](Self::receive); *callback* subscriptions forward their events
/// into one ordered queue that the script binding drains on the script's
/// own thread ([`callback_queue`](Self::callback_queue)).
/// Unsubscribing (or dropping the bridge) removes the subscription from the
/// bus for real.
pub struct EventBridge {
    bus: EventBus,
    language: Language,
    hooks: Option<Arc<HookExecutor>>,
    receivers: Mutex<HashMap<SubscriptionId, Arc<tokio::sync::Mutex<Subscription>>>>,
    callbacks: Mutex<HashSet<SubscriptionId>>,
    callback_tx: mpsc::Sender<CallbackEvent>,
    callback_rx: tokio::sync::Mutex<mpsc::Receiver<CallbackEvent>>,
}

impl fmt::Debug for EventBridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventBridge")
            .field("language", &self.language)
            .field("receivers", &self.receivers.lock().len())
            .field("callbacks", &self.callbacks.lock().len())
            .finish_non_exhaustive()
    }
}

impl EventBridge {
    /// A bridge publishing on `bus` as `language`.
    #[must_use]
    pub fn new(bus: EventBus, language: Language) -> Self {
        Self::build(bus, language, None)
    }

    /// A bridge whose publishes fire the `BeforeEventEmit` and
    /// `AfterEventEmit` hook points through `hooks` (and whose failed
    /// callbacks fire `EventHandlerError`, see
    /// [`report_handler_error`](Self::report_handler_error)).
    ///
    /// It declares those three points as fired (by "the event bridge") in
    /// the executor's registry, so hooks registered there are not reported
    /// as unfired.
    #[must_use]
    pub fn with_hooks(bus: EventBus, language: Language, hooks: Arc<HookExecutor>) -> Self {
        hooks.registry().declare_fired(
            [
                HookPoint::BeforeEventEmit,
                HookPoint::AfterEventEmit,
                HookPoint::EventHandlerError,
            ],
            HookPoint::BeforeEventEmit.firer(),
        );
        Self::build(bus, language, Some(hooks))
    }

    fn build(bus: EventBus, language: Language, hooks: Option<Arc<HookExecutor>>) -> Self {
        let (callback_tx, callback_rx) = mpsc::channel(CALLBACK_QUEUE);
        EventBridge {
            bus,
            language,
            hooks,
            receivers: Mutex::new(HashMap::new()),
            callbacks: Mutex::new(HashSet::new()),
            callback_tx,
            callback_rx: tokio::sync::Mutex::new(callback_rx),
        }
    }

    /// The shared bus.
    #[must_use]
    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// Publishes an event of `event_type` with `data`.
    ///
    /// With hooks (see [`with_hooks`](Self::with_hooks)), `BeforeEventEmit`
    /// runs first with data `{event_type, data}`: a `Modified` result's
    /// `event_type` / `data` are what gets published, `Cancel` refuses the
    /// publish ([`BridgeError::EventCancelled`]), other results go on.
    /// `AfterEventEmit` runs after it with `{event_type, data, sequence,
    /// matched}`. A publish made by one of those hooks (on the same task)
    /// does not fire them again.
    ///
    /// # Errors
    /// The bus's errors ([`BridgeError::Event`]): an empty type, a closed
    /// bus, a store failure, a rejecting subscriber; or a cancelling hook.
    pub async fn publish(
        &self,
        event_type: &str,
        data: serde_json::Value,
        options: PublishOptions,
    ) -> Result<PublishReport> {
        let hooks = match &self.hooks {
            Some(h) if !IN_EMIT_HOOK.try_with(|v| *v).unwrap_or(false) => Some(h),
            _ => None,
        };
        let language = options.language.unwrap_or(self.language);
        let component = || {
            ComponentId::new(
                ComponentType::Custom("script".into()),
                options
                    .source
                    .clone()
                    .unwrap_or_else(|| language.to_string()),
            )
        };
        let (mut event_type, mut data) = (event_type.to_owned(), data);
        if let Some(h) = hooks.filter(|h| h.has_hooks(&HookPoint::BeforeEventEmit)) {
            let mut ctx = HookContext::builder(HookPoint::BeforeEventEmit, component())
                .language(language)
                .data("event_type", json!(event_type))
                .data("data", data.clone())
                .build();
            if let Some(c) = options.correlation_id {
                ctx.correlation_id = c;
            }
            let outcome = IN_EMIT_HOOK
                .scope(true, h.execute(&HookPoint::BeforeEventEmit, &mut ctx))
                .await;
            if let HookOutcome::Cancelled { reason, hook } = outcome {
                return Err(BridgeError::EventCancelled {
                    event_type,
                    hook,
                    reason,
                });
            }
            if let Some(serde_json::Value::String(t)) = ctx.data.get("event_type") {
                event_type.clone_from(t);
            }
            if let Some(d) = ctx.data.get("data") {
                data = d.clone();
            }
        }
        let mut builder = UniversalEvent::builder(&event_type)
            .data(data.clone())
            .language(language);
        if let Some(id) = options.correlation_id {
            builder = builder.correlation_id(id);
        }
        if let Some(ttl) = options.ttl {
            builder = builder.ttl(ttl);
        }
        for tag in &options.tags {
            builder = builder.tag(tag.clone());
        }
        if let Some(p) = options.priority {
            builder = builder.priority(p);
        }
        if let Some(s) = &options.source {
            builder = builder.source(s.clone());
        }
        if let Some(t) = &options.target {
            builder = builder.target(t.clone());
        }
        let report = self.bus.publish(builder.build()).await?;
        if let Some(h) = hooks.filter(|h| h.has_hooks(&HookPoint::AfterEventEmit)) {
            let mut ctx = HookContext::builder(HookPoint::AfterEventEmit, component())
                .language(language)
                .data("event_type", json!(event_type))
                .data("data", data)
                .data("sequence", json!(report.sequence))
                .data("matched", json!(report.matched))
                .build();
            if let Some(c) = options.correlation_id {
                ctx.correlation_id = c;
            }
            let _ = IN_EMIT_HOOK
                .scope(true, h.execute(&HookPoint::AfterEventEmit, &mut ctx))
                .await;
        }
        Ok(report)
    }

    /// Fires `EventHandlerError` (with hooks) for a callback of
    /// subscription `id` that failed on `event` with `error`; data
    /// `{subscription, event_type, event, error}`.
    pub async fn report_handler_error(
        &self,
        id: SubscriptionId,
        event: &UniversalEvent,
        error: &str,
    ) {
        let Some(h) = self
            .hooks
            .as_ref()
            .filter(|h| h.has_hooks(&HookPoint::EventHandlerError))
        else {
            return;
        };
        let mut ctx = HookContext::builder(
            HookPoint::EventHandlerError,
            ComponentId::new(ComponentType::Custom("script".into()), id.to_string()),
        )
        .language(self.language)
        .data("subscription", json!(id.to_string()))
        .data("event_type", json!(event.event_type))
        .data("event", serde_json::to_value(event).unwrap_or_default())
        .data("error", json!(error))
        .build();
        if let Some(c) = event.metadata.correlation_id {
            ctx.correlation_id = c;
        }
        let _ = h.execute(&HookPoint::EventHandlerError, &mut ctx).await;
    }

    /// A receiver subscription to `pattern`, read with [`receive`](Self::receive).
    ///
    /// # Errors
    /// An invalid pattern or a closed bus.
    pub fn subscribe(
        &self,
        pattern: &str,
        config: Option<SubscriptionConfig>,
    ) -> Result<SubscriptionId> {
        let sub = match config {
            Some(c) => self.bus.subscribe_with(pattern, c)?,
            None => self.bus.subscribe(pattern)?,
        };
        let id = sub.id();
        self.receivers
            .lock()
            .insert(id, Arc::new(tokio::sync::Mutex::new(sub)));
        Ok(id)
    }

    /// A callback subscription to `pattern`: its events join the ordered
    /// callback queue. Needs a tokio runtime (the bus runs a forwarding task
    /// it owns until unsubscribe).
    ///
    /// # Errors
    /// An invalid pattern, a closed bus, or no runtime.
    pub fn subscribe_callback(
        &self,
        pattern: &str,
        config: Option<SubscriptionConfig>,
    ) -> Result<SubscriptionId> {
        // The handler is created before the bus assigns the id, so each
        // forwarded event carries a cell that is filled right after
        // subscribing (and always before the script reads the event).
        let cell: IdCell = Arc::new(OnceLock::new());
        let tx = self.callback_tx.clone();
        let handler_cell = Arc::clone(&cell);
        let handler = EventHandler::from_async_fn(move |event: Arc<UniversalEvent>| {
            let tx = tx.clone();
            let cell = Arc::clone(&handler_cell);
            async move {
                tx.send((cell, event))
                    .await
                    .map_err(|_| "the script engine that subscribed is gone".into())
            }
        });
        // The bridge ends the subscription by id (`unsubscribe`, or the bus
        // closing), so the guard is detached.
        let id = match config {
            Some(c) => self.bus.subscribe_handler_with(pattern, c, handler)?,
            None => self.bus.subscribe_handler(pattern, handler)?,
        }
        .detach();
        let _ = cell.set(id);
        self.callbacks.lock().insert(id);
        Ok(id)
    }

    /// The next event of receiver subscription `id`, waiting at most
    /// `timeout`; `None` when none arrived in time.
    ///
    /// # Errors
    /// [`BridgeError::UnknownSubscription`] when `id` is not a receiver
    /// subscription of this bridge.
    pub async fn receive(
        &self,
        id: SubscriptionId,
        timeout: Duration,
    ) -> Result<Option<Arc<UniversalEvent>>> {
        let sub = self
            .receivers
            .lock()
            .get(&id)
            .cloned()
            .ok_or_else(|| BridgeError::UnknownSubscription(id.to_string()))?;
        let mut sub = sub.lock().await;
        if timeout.is_zero() {
            return Ok(sub.try_recv());
        }
        Ok(sub.recv_timeout(timeout).await)
    }

    /// Ends subscription `id` (either kind) on the bus. Returns whether it
    /// was one of this bridge's.
    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        let receiver = self.receivers.lock().remove(&id).is_some();
        let callback = self.callbacks.lock().remove(&id);
        if receiver || callback {
            self.bus.unsubscribe(id);
        }
        receiver || callback
    }

    /// Whether `id` is a live callback subscription of this bridge.
    #[must_use]
    pub fn is_callback(&self, id: SubscriptionId) -> bool {
        self.callbacks.lock().contains(&id)
    }

    /// This bridge's subscriptions with their bus counters, by id.
    #[must_use]
    pub fn subscriptions(&self) -> Vec<SubscriptionInfo> {
        let own: HashSet<SubscriptionId> = self
            .receivers
            .lock()
            .keys()
            .copied()
            .chain(self.callbacks.lock().iter().copied())
            .collect();
        self.bus
            .list_subscriptions()
            .into_iter()
            .filter(|i| own.contains(&i.id))
            .collect()
    }

    /// The bus's counters.
    #[must_use]
    pub fn stats(&self) -> BusStats {
        self.bus.stats()
    }

    /// Exclusive access to the callback queue, for the one caller that
    /// runs callbacks (the script's thread); `None` while another caller
    /// holds it.
    pub fn callback_queue(&self) -> Option<CallbackQueue<'_>> {
        let rx = self.callback_rx.try_lock().ok()?;
        Some(CallbackQueue { bridge: self, rx })
    }

    /// Events of callback subscriptions still waiting in the bus's queues
    /// (not yet forwarded to the callback queue).
    #[must_use]
    pub fn callback_backlog(&self) -> usize {
        let callbacks = self.callbacks.lock().clone();
        self.bus
            .list_subscriptions()
            .iter()
            .filter(|i| callbacks.contains(&i.id))
            .map(|i| i.depth)
            .sum()
    }
}

/// The ordered queue of callback-subscription events; see
/// [`EventBridge::callback_queue`]. Events of subscriptions ended since they
/// were queued are skipped.
pub struct CallbackQueue<'a> {
    bridge: &'a EventBridge,
    rx: tokio::sync::MutexGuard<'a, mpsc::Receiver<CallbackEvent>>,
}

impl fmt::Debug for CallbackQueue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackQueue")
            .field("queued", &self.rx.len())
            .finish()
    }
}

impl CallbackQueue<'_> {
    /// Events waiting in the queue (including any of ended subscriptions).
    #[must_use]
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether no event is waiting.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// The next event without waiting.
    pub fn try_next(&mut self) -> Option<(SubscriptionId, Arc<UniversalEvent>)> {
        loop {
            let (cell, event) = self.rx.try_recv().ok()?;
            let Some(&id) = cell.get() else { continue };
            if self.bridge.is_callback(id) {
                return Some((id, event));
            }
        }
    }

    /// Waits for the next event.
    pub async fn next(&mut self) -> Option<(SubscriptionId, Arc<UniversalEvent>)> {
        loop {
            let (cell, event) = self.rx.recv().await?;
            let Some(&id) = cell.get() else { continue };
            if self.bridge.is_callback(id) {
                return Some((id, event));
            }
        }
    }
}

impl Drop for EventBridge {
    fn drop(&mut self) {
        for id in self.receivers.get_mut().keys() {
            self.bus.unsubscribe(*id);
        }
        for id in self.callbacks.get_mut().iter() {
            self.bus.unsubscribe(*id);
        }
    }
}
