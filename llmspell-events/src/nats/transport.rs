//! [`NatsTransport`]: an [`EventBus`] bridged to NATS core or JetStream.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, message::PublishMessage as Publish, stream};
use async_nats::Subject;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::cloudevent as wire;
use super::subject::{check_prefix, disjoint_filters, subject_for, DEFAULT_PREFIX};
use crate::{EventBus, EventError, EventPattern, Result, Subscription, UniversalEvent};

/// How events travel.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DeliveryMode {
    /// NATS core: at most once, to whoever is connected now; nothing is
    /// stored. The lowest latency.
    Core,
    /// JetStream: every exported event is stored in a stream and
    /// acknowledged by the server; imports can resume and replay.
    JetStream(JetStreamConfig),
}

/// The JetStream stream of a namespace (one per subject prefix) and the
/// durable consumer of this process.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JetStreamConfig {
    /// The stream name (default: the prefix in capitals, other characters
    /// than letters, digits, `-` and `_` as `_`: `LLMSPELL`).
    pub stream: Option<String>,
    /// The subjects the stream stores (default: `<prefix>.>`).
    pub subjects: Vec<String>,
    /// At most this many messages are kept (oldest go first; `None`:
    /// unlimited).
    pub max_messages: Option<i64>,
    /// At most this many bytes are kept (`None`: unlimited).
    pub max_bytes: Option<i64>,
    /// Messages older than this are removed (`None`: kept).
    pub max_age: Option<Duration>,
    /// How long the server remembers message ids to drop duplicates
    /// (default 2 minutes).
    pub duplicate_window: Duration,
    /// Keep the stream in memory instead of files.
    pub memory: bool,
    /// The durable consumer this process imports through: a restarted
    /// process with the same name resumes after the last event it
    /// acknowledged. `None`: imports start with new events and nothing is
    /// remembered.
    pub consumer: Option<String>,
}

impl Default for JetStreamConfig {
    fn default() -> Self {
        Self {
            stream: None,
            subjects: Vec::new(),
            max_messages: None,
            max_bytes: None,
            max_age: None,
            duplicate_window: Duration::from_secs(120),
            memory: false,
            consumer: None,
        }
    }
}

impl JetStreamConfig {
    /// The defaults (see the fields).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the durable consumer name.
    #[must_use]
    pub fn consumer(mut self, name: impl Into<String>) -> Self {
        self.consumer = Some(name.into());
        self
    }

    /// Sets the stream name.
    #[must_use]
    pub fn stream(mut self, name: impl Into<String>) -> Self {
        self.stream = Some(name.into());
        self
    }

    /// Sets the retention limits (`None`: unlimited).
    #[must_use]
    pub fn limits(
        mut self,
        max_messages: Option<i64>,
        max_bytes: Option<i64>,
        max_age: Option<Duration>,
    ) -> Self {
        self.max_messages = max_messages;
        self.max_bytes = max_bytes;
        self.max_age = max_age;
        self
    }

    /// Keeps the stream in memory.
    #[must_use]
    pub fn memory(mut self, memory: bool) -> Self {
        self.memory = memory;
        self
    }
}

/// How a [`NatsTransport`] connects and what it bridges.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NatsConfig {
    /// The server, e.g. `nats://127.0.0.1:4222` (several: comma-separated).
    pub url: String,
    /// The subject prefix (default `llmspell`): events travel on
    /// `<prefix>.<event type>`.
    pub prefix: String,
    /// This process's id, recorded as the origin of what it sends
    /// (default: `node-` and 12 random hex digits).
    pub node_id: String,
    /// Local event types sent to NATS (globs; none by default).
    pub export: Vec<String>,
    /// Remote event types delivered into the local bus (globs; none by
    /// default).
    pub import: Vec<String>,
    /// Core or JetStream.
    pub mode: DeliveryMode,
    /// How long a durable publish waits for the server's acknowledgement,
    /// retrying through disconnections, before it fails (default 10 s).
    pub publish_timeout: Duration,
    /// How many durable publishes of the bridge await their
    /// acknowledgement at once (default 256).
    pub max_in_flight: usize,
}

impl NatsConfig {
    /// Core mode on `url`, prefix `llmspell`, nothing exported or imported.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Self {
            url: url.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            node_id: format!("node-{}", &id[..12]),
            export: Vec::new(),
            import: Vec::new(),
            mode: DeliveryMode::Core,
            publish_timeout: Duration::from_secs(10),
            max_in_flight: 256,
        }
    }

    /// Sets the subject prefix.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the node id.
    #[must_use]
    pub fn node_id(mut self, id: impl Into<String>) -> Self {
        self.node_id = id.into();
        self
    }

    /// Adds an export pattern.
    #[must_use]
    pub fn export(mut self, pattern: impl Into<String>) -> Self {
        self.export.push(pattern.into());
        self
    }

    /// Adds an import pattern.
    #[must_use]
    pub fn import(mut self, pattern: impl Into<String>) -> Self {
        self.import.push(pattern.into());
        self
    }

    /// Uses JetStream.
    #[must_use]
    pub fn jetstream(mut self, config: JetStreamConfig) -> Self {
        self.mode = DeliveryMode::JetStream(config);
        self
    }

    /// Sets the durable publish timeout.
    #[must_use]
    pub fn publish_timeout(mut self, timeout: Duration) -> Self {
        self.publish_timeout = timeout;
        self
    }
}

/// Where a replay starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayStart {
    /// The first stored event.
    All,
    /// The stream sequence number (from 1).
    Sequence(u64),
    /// The first event stored at or after this time.
    Time(DateTime<Utc>),
}

/// What a [`NatsTransport::publish`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Published {
    /// The JetStream sequence (`None` in core mode).
    pub stream_sequence: Option<u64>,
    /// Whether JetStream had the event's id already (dropped as a
    /// duplicate).
    pub duplicate: bool,
}

/// One event read from a JetStream stream.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StoredEvent {
    /// Its stream sequence.
    pub stream_sequence: u64,
    /// The event.
    pub event: UniversalEvent,
}

/// Counters of a transport; see [`NatsTransport::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TransportStats {
    /// Local events sent to NATS (acknowledged, in JetStream mode).
    pub exported: u64,
    /// Exports that failed (JetStream did not acknowledge in time).
    pub export_failures: u64,
    /// Remote events delivered into the local bus.
    pub imported: u64,
    /// Messages this process had sent itself, not delivered again.
    pub own_skipped: u64,
    /// Messages that were not CloudEvents, or whose type the import
    /// patterns do not match.
    pub ignored: u64,
    /// Redeliveries of events already delivered (a lost acknowledgement).
    pub redelivered_skipped: u64,
    /// Times the NATS client reported this connection as a slow consumer
    /// (messages dropped by the client, core mode).
    pub slow_consumer: u64,
}

#[derive(Debug, Default)]
struct Counters {
    exported: AtomicU64,
    export_failures: AtomicU64,
    imported: AtomicU64,
    own_skipped: AtomicU64,
    ignored: AtomicU64,
    redelivered_skipped: AtomicU64,
    slow_consumer: Arc<AtomicU64>,
}

struct Inner {
    client: async_nats::Client,
    js: Option<jetstream::Context>,
    stream_name: Option<String>,
    config: NatsConfig,
    counters: Counters,
}

/// A connection to NATS that publishes, reads and, once
/// [`attach`](Self::attach)ed, bridges a local [`EventBus`].
///
/// See the module docs of [`crate::nats`] for the subject mapping, the
/// wire format and the guarantees of each mode. The bridge's tasks are
/// owned by the transport and stop when it is dropped.
pub struct NatsTransport {
    inner: Arc<Inner>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    flush: Mutex<Option<mpsc::Sender<oneshot::Sender<()>>>>,
    /// Set by [`close`](NatsTransport::close).
    closed: AtomicBool,
}

impl fmt::Debug for NatsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsTransport")
            .field("url", &self.inner.config.url)
            .field("prefix", &self.inner.config.prefix)
            .field("node_id", &self.inner.config.node_id)
            .field("mode", &self.inner.config.mode)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Drop for NatsTransport {
    fn drop(&mut self) {
        for t in self.tasks.get_mut().drain(..) {
            t.abort();
        }
    }
}

fn transport_err(operation: impl Into<String>, reason: impl fmt::Display) -> EventError {
    EventError::Transport {
        operation: operation.into(),
        reason: reason.to_string(),
    }
}

fn patterns(list: &[String]) -> Result<Vec<EventPattern>> {
    list.iter().map(|p| EventPattern::new(p)).collect()
}

fn default_stream_name(prefix: &str) -> String {
    prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

impl NatsTransport {
    /// Connects to the server of `config` and, in JetStream mode, creates
    /// the namespace's stream if it does not exist.
    ///
    /// # Errors
    /// [`EventError::InvalidConfig`] for a bad prefix or pattern;
    /// [`EventError::Transport`] when the server cannot be reached (it
    /// names the URL) or JetStream is not enabled on it.
    pub async fn connect(config: NatsConfig) -> Result<Self> {
        check_prefix(&config.prefix)?;
        patterns(&config.export)?;
        patterns(&config.import)?;
        if config.node_id.is_empty() {
            return Err(EventError::InvalidConfig(
                "the NATS node id is empty; give a non-empty id or keep the random default".into(),
            ));
        }
        let counters = Counters::default();
        let slow = Arc::clone(&counters.slow_consumer);
        let client = async_nats::ConnectOptions::new()
            .name(format!("llmspell {}", config.node_id))
            .connection_timeout(Duration::from_secs(5))
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis((50 * attempts as u64).min(1000))
            })
            .event_callback(move |event| {
                let slow = Arc::clone(&slow);
                async move {
                    match event {
                        async_nats::Event::SlowConsumer(_) => {
                            slow.fetch_add(1, Ordering::Relaxed);
                        }
                        other => tracing::debug!(event = %other, "NATS connection event"),
                    }
                }
            })
            .connect(config.url.as_str())
            .await
            .map_err(|e| {
                transport_err(
                    format!("connect to {}", config.url),
                    format!(
                        "{e}; is nats-server running there (`nats-server -js` for JetStream mode)?"
                    ),
                )
            })?;
        let (js, stream_name) = match &config.mode {
            DeliveryMode::Core => (None, None),
            DeliveryMode::JetStream(jsc) => {
                let js = jetstream::ContextBuilder::new()
                    .timeout(Duration::from_secs(2).min(config.publish_timeout))
                    .max_ack_inflight(config.max_in_flight.max(1) * 2)
                    .backpressure_on_inflight(true)
                    .build(client.clone());
                let name = jsc
                    .stream
                    .clone()
                    .unwrap_or_else(|| default_stream_name(&config.prefix));
                let subjects = if jsc.subjects.is_empty() {
                    vec![format!("{}.>", config.prefix)]
                } else {
                    jsc.subjects.clone()
                };
                let stream_config = stream::Config {
                    name: name.clone(),
                    subjects,
                    max_messages: jsc.max_messages.unwrap_or(-1),
                    max_bytes: jsc.max_bytes.unwrap_or(-1),
                    max_age: jsc.max_age.unwrap_or_default(),
                    duplicate_window: jsc.duplicate_window,
                    storage: if jsc.memory {
                        stream::StorageType::Memory
                    } else {
                        stream::StorageType::File
                    },
                    ..Default::default()
                };
                js.get_or_create_stream(stream_config).await.map_err(|e| {
                    transport_err(
                        format!("create JetStream stream `{name}` on {}", config.url),
                        format!("{e}; is the server started with JetStream (`nats-server -js`)?"),
                    )
                })?;
                (Some(js), Some(name))
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                js,
                stream_name,
                config,
                counters,
            }),
            tasks: Mutex::new(Vec::new()),
            flush: Mutex::new(None),
            closed: AtomicBool::new(false),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &NatsConfig {
        &self.inner.config
    }

    /// The JetStream stream name (`None` in core mode).
    #[must_use]
    pub fn stream_name(&self) -> Option<&str> {
        self.inner.stream_name.as_deref()
    }

    /// The underlying client (for request/reply on the same connection,
    /// e.g. remote hooks).
    #[must_use]
    pub fn client(&self) -> &async_nats::Client {
        &self.inner.client
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> TransportStats {
        let c = &self.inner.counters;
        TransportStats {
            exported: c.exported.load(Ordering::Relaxed),
            export_failures: c.export_failures.load(Ordering::Relaxed),
            imported: c.imported.load(Ordering::Relaxed),
            own_skipped: c.own_skipped.load(Ordering::Relaxed),
            ignored: c.ignored.load(Ordering::Relaxed),
            redelivered_skipped: c.redelivered_skipped.load(Ordering::Relaxed),
            slow_consumer: c.slow_consumer.load(Ordering::Relaxed),
        }
    }

    /// Sends `event` to NATS on `<prefix>.<event type>` (not through a
    /// bus). In JetStream mode this returns only once the server
    /// acknowledged the event (with its id as `Nats-Msg-Id`, so a retried
    /// publish is stored once), retrying through a lost connection for up
    /// to [`NatsConfig::publish_timeout`].
    ///
    /// # Errors
    /// [`EventError::InvalidEvent`]; [`EventError::Transport`] when the
    /// transport or its connection is closed or, in JetStream mode, no
    /// acknowledgement came in time (the message says so: the event may
    /// not be stored).
    pub async fn publish(&self, event: &UniversalEvent) -> Result<Published> {
        if self.closed.load(Ordering::Acquire) {
            return Err(transport_err(
                format!("publish event {}", event.id),
                "the NATS transport is closed",
            ));
        }
        event.validate()?;
        let subject = self.inner.subject(&event.event_type);
        let payload = self.inner.payload(event);
        self.inner.send(subject, payload, event).await
    }

    /// Waits until every event the bridge has taken from the bus so far is
    /// sent and the server has received it (in JetStream mode,
    /// acknowledged or counted as failed): a round trip on the connection
    /// after them. Without a bridge: the round trip alone.
    ///
    /// # Errors
    /// [`EventError::Transport`] when the server does not answer within
    /// [`NatsConfig::publish_timeout`] or the connection is closed.
    pub async fn flush(&self) -> Result<()> {
        let sender = self.flush.lock().clone();
        if let Some(sender) = sender {
            let (tx, rx) = oneshot::channel();
            if sender.send(tx).await.is_ok() {
                let _ = rx.await;
            }
        }
        self.inner.round_trip().await
    }

    /// Stops the bridge and closes the connection, after draining it: the
    /// events the bridge took from the bus before the call are sent (in
    /// JetStream mode, acknowledged or counted as failed), and the server
    /// has received every publish of this connection, before the bridge's
    /// tasks stop and the connection closes. Events published into the
    /// bus afterwards are not exported. The connection is shared with
    /// [`client`](Self::client): its other users are closed too, and
    /// every later operation of the transport fails. Closing again is a
    /// no-op.
    ///
    /// # Errors
    /// [`EventError::Transport`] when the pending publishes could not be
    /// confirmed within [`NatsConfig::publish_timeout`] (the bridge is
    /// stopped and the connection closed all the same).
    pub async fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let sent = self.flush().await;
        let tasks: Vec<_> = self.tasks.lock().drain(..).collect();
        for t in tasks {
            t.abort();
        }
        *self.flush.lock() = None;
        // Unsubscribes, writes what is buffered and closes; the round trip
        // above already confirmed what the bridge sent.
        let _ = self.inner.client.drain().await;
        sent
    }

    /// Bridges `bus`: local events matching the export patterns are sent to
    /// NATS, remote ones matching the import patterns are published into
    /// `bus` with `metadata.origin` set to the sending node. Events that
    /// came in from NATS are never sent out again, and messages this node
    /// sent are never delivered back to it.
    ///
    /// # Errors
    /// [`EventError::InvalidConfig`] when already attached or closed;
    /// [`EventError::NoRuntime`]; [`EventError::Transport`] when a NATS
    /// subscription or the durable consumer cannot be created.
    pub async fn attach(&self, bus: &EventBus) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(EventError::InvalidConfig(
                "the NATS transport is closed; connect a new one".into(),
            ));
        }
        if !self.tasks.lock().is_empty() {
            return Err(EventError::InvalidConfig(
                "the NATS transport is already attached to a bus; create another transport for another bus".into(),
            ));
        }
        tokio::runtime::Handle::try_current().map_err(|_| EventError::NoRuntime)?;
        // Everything that can fail comes first, so a failed attach leaves
        // no task running.
        let export = patterns(&self.inner.config.export)?;
        let import = patterns(&self.inner.config.import)?;
        let mut loops: Vec<futures::future::BoxFuture<'static, ()>> = Vec::new();
        if !import.is_empty() {
            let (filters, _) = disjoint_filters(&self.inner.config.prefix, &import);
            match &self.inner.config.mode {
                DeliveryMode::Core => {
                    let mut subs = Vec::new();
                    for f in &filters {
                        subs.push(
                            self.inner
                                .client
                                .subscribe(f.clone())
                                .await
                                .map_err(|e| transport_err(format!("subscribe to `{f}`"), e))?,
                        );
                    }
                    // The subscriptions are live at the server when attach
                    // returns: events published after it are delivered.
                    self.inner.round_trip().await?;
                    loops.push(Box::pin(core_import_loop(
                        Arc::clone(&self.inner),
                        bus.clone(),
                        subs,
                        import,
                    )));
                }
                DeliveryMode::JetStream(jsc) => {
                    let filter = if filters.len() == 1 {
                        filters[0].clone()
                    } else {
                        format!("{}.>", self.inner.config.prefix)
                    };
                    let consumer = self.inner.import_consumer(jsc, filter).await?;
                    loops.push(Box::pin(jetstream_import_loop(
                        Arc::clone(&self.inner),
                        bus.clone(),
                        consumer,
                        import,
                    )));
                }
            }
        }
        if !export.is_empty() {
            // One subscription, so an event matching two patterns is sent once.
            let (sub, filter) = if export.len() == 1 {
                (bus.subscribe(export[0].as_str())?, Vec::new())
            } else {
                (bus.subscribe("*")?, export)
            };
            let (tx, rx) = mpsc::channel(8);
            *self.flush.lock() = Some(tx);
            loops.push(Box::pin(export_loop(
                Arc::clone(&self.inner),
                sub,
                filter,
                rx,
            )));
        }
        let tasks = loops.into_iter().map(tokio::spawn).collect();
        *self.tasks.lock() = tasks;
        Ok(())
    }

    /// Follows live events matching `pattern` (core subscription: what is
    /// published from now on, by anyone, whatever the mode).
    ///
    /// # Errors
    /// [`EventError::InvalidPattern`]; [`EventError::Transport`].
    pub async fn subscribe(&self, pattern: &str) -> Result<RemoteEvents> {
        let pattern = EventPattern::new(pattern)?;
        let (filters, _) =
            disjoint_filters(&self.inner.config.prefix, std::slice::from_ref(&pattern));
        let filter = filters
            .into_iter()
            .next()
            .unwrap_or_else(|| format!("{}.>", self.inner.config.prefix));
        let sub = self
            .inner
            .client
            .subscribe(filter.clone())
            .await
            .map_err(|e| transport_err(format!("subscribe to `{filter}`"), e))?;
        self.inner.round_trip().await?;
        Ok(RemoteEvents { sub, pattern })
    }

    /// Reads the stored events matching `pattern` (all when `None`) from
    /// `start` to the end of the stream as it is now, at most `limit`.
    ///
    /// # Errors
    /// [`EventError::InvalidConfig`] in core mode (nothing is stored);
    /// [`EventError::Transport`].
    pub async fn read(
        &self,
        start: ReplayStart,
        pattern: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<StoredEvent>> {
        let (js, name) = self.inner.jetstream("read stored events")?;
        let pattern = pattern.map(EventPattern::new).transpose()?;
        let filter = match &pattern {
            None => String::new(),
            Some(p) => disjoint_filters(&self.inner.config.prefix, std::slice::from_ref(p))
                .0
                .into_iter()
                .next()
                .unwrap_or_default(),
        };
        let op = || format!("read stream `{name}`");
        let stream = js
            .get_stream(name)
            .await
            .map_err(|e| transport_err(op(), e))?;
        let deliver_policy = match start {
            ReplayStart::All => consumer::DeliverPolicy::All,
            ReplayStart::Sequence(s) => consumer::DeliverPolicy::ByStartSequence {
                start_sequence: s.max(1),
            },
            ReplayStart::Time(t) => consumer::DeliverPolicy::ByStartTime {
                start_time: to_time(t)?,
            },
        };
        let mut consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: filter,
                deliver_policy,
                ..Default::default()
            })
            .await
            .map_err(|e| transport_err(op(), e))?;
        let mut pending = consumer
            .info()
            .await
            .map_err(|e| transport_err(op(), e))?
            .num_pending;
        let limit = limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        if pending == 0 || limit == 0 {
            return Ok(out);
        }
        let mut messages = consumer
            .messages()
            .await
            .map_err(|e| transport_err(op(), e))?;
        while let Some(msg) = messages.next().await {
            let msg = msg.map_err(|e| transport_err(op(), e))?;
            let info = msg.info().map_err(|e| transport_err(op(), e))?;
            let seq = info.stream_sequence;
            pending = info.pending;
            if let Ok(event) = wire::decode(&msg.payload) {
                if pattern
                    .as_ref()
                    .is_none_or(|p| p.matches(&event.event_type))
                {
                    out.push(StoredEvent {
                        stream_sequence: seq,
                        event,
                    });
                }
            }
            if pending == 0 || out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Publishes the stored events matching `pattern` from `start` into
    /// `bus` (each gets a local sequence; `metadata.origin` keeps the
    /// sending node). Returns how many.
    ///
    /// # Errors
    /// As [`read`](Self::read); the bus's publish errors (a subscriber that
    /// refused an event does not stop the replay).
    pub async fn replay(
        &self,
        bus: &EventBus,
        start: ReplayStart,
        pattern: Option<&str>,
    ) -> Result<usize> {
        let events = self.read(start, pattern, None).await?;
        let n = events.len();
        for e in events {
            match bus.publish(e.event).await {
                Ok(_) | Err(EventError::Rejected { .. } | EventError::BlockTimeout { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }
}

fn to_time(t: DateTime<Utc>) -> Result<time::OffsetDateTime> {
    let nanos = t
        .timestamp_nanos_opt()
        .ok_or_else(|| EventError::InvalidConfig(format!("replay time {t} is out of range")))?;
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .map_err(|e| EventError::InvalidConfig(format!("replay time {t}: {e}")))
}

impl Inner {
    /// Waits until the server has processed everything this connection
    /// sent so far, subscriptions included: a message to a fresh inbox,
    /// sent after them on the same connection, comes back (the server
    /// handles a connection's messages in order). `Client::flush` only
    /// writes the socket, so a subscription it "flushed" may not be
    /// registered yet when another connection publishes, and NATS core
    /// delivers those events to no one. Bounded by `publish_timeout`.
    async fn round_trip(&self) -> Result<()> {
        let op = || format!("round trip to {}", self.config.url);
        let probe = async {
            let inbox = self.client.new_inbox();
            let mut sub = self
                .client
                .subscribe(inbox.clone())
                .await
                .map_err(|e| transport_err(op(), e))?;
            self.client
                .publish(inbox, Bytes::new())
                .await
                .map_err(|e| transport_err(op(), e))?;
            match sub.next().await {
                Some(_) => Ok(()),
                None => Err(transport_err(op(), "the connection was closed")),
            }
        };
        tokio::time::timeout(self.config.publish_timeout, probe)
            .await
            .unwrap_or_else(|_| {
                Err(transport_err(
                    op(),
                    format!(
                        "the server did not answer within {:?}",
                        self.config.publish_timeout
                    ),
                ))
            })
    }

    fn jetstream(&self, what: &str) -> Result<(&jetstream::Context, &str)> {
        match (&self.js, &self.stream_name) {
            (Some(js), Some(name)) => Ok((js, name)),
            _ => Err(EventError::InvalidConfig(format!(
                "cannot {what}: the NATS transport is in core mode, which stores nothing; use JetStream mode"
            ))),
        }
    }

    /// The subject of an event type.
    fn subject(&self, event_type: &str) -> Subject {
        Subject::from(subject_for(&self.config.prefix, event_type))
    }

    /// The CloudEvent bytes of a local event, stamped with this node as
    /// its origin when it has none.
    fn payload(&self, event: &UniversalEvent) -> Bytes {
        let origin = event
            .metadata
            .origin
            .as_deref()
            .unwrap_or(&self.config.node_id);
        Bytes::from(wire::encode_with_origin(event, origin))
    }

    async fn send(
        &self,
        subject: Subject,
        payload: Bytes,
        event: &UniversalEvent,
    ) -> Result<Published> {
        match &self.js {
            None => {
                self.client
                    .publish(subject.clone(), payload)
                    .await
                    .map_err(|e| transport_err(format!("publish to `{subject}`"), e))?;
                Ok(Published {
                    stream_sequence: None,
                    duplicate: false,
                })
            }
            Some(js) => {
                let ack = self
                    .publish_durable(js, &subject, payload, &event.id.to_string())
                    .await?;
                Ok(Published {
                    stream_sequence: Some(ack.sequence),
                    duplicate: ack.duplicate,
                })
            }
        }
    }

    /// One acknowledged JetStream publish, retried (same message id) until
    /// `publish_timeout`.
    async fn publish_durable(
        &self,
        js: &jetstream::Context,
        subject: &Subject,
        payload: Bytes,
        id: &str,
    ) -> Result<jetstream::publish::PublishAck> {
        let timeout = self.config.publish_timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let attempt = async {
                js.send_publish(
                    subject.clone(),
                    Publish::build().payload(payload.clone()).message_id(id),
                )
                .await
                .map_err(|e| e.to_string())?
                .await
                .map_err(|e| e.to_string())
            };
            let last = match tokio::time::timeout_at(deadline, attempt).await {
                Ok(Ok(ack)) => return Ok(ack),
                Ok(Err(e)) => e,
                Err(_) => "timed out waiting for the acknowledgement".to_owned(),
            };
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(transport_err(
                    format!("durable publish of event {id} to `{subject}`"),
                    format!(
                        "JetStream did not acknowledge it within {timeout:?} (last error: {last}); the event may not be stored. Check that nats-server is running with -js at {} and the stream exists",
                        self.config.url
                    ),
                ));
            }
            tokio::time::sleep((deadline - now).min(Duration::from_millis(100))).await;
        }
    }

    async fn import_consumer(
        &self,
        jsc: &JetStreamConfig,
        filter: String,
    ) -> Result<consumer::Consumer<consumer::pull::Config>> {
        let (js, name) = self.jetstream("import")?;
        let op = || format!("create the import consumer on stream `{name}`");
        let stream = js
            .get_stream(name)
            .await
            .map_err(|e| transport_err(op(), e))?;
        let config = consumer::pull::Config {
            durable_name: jsc.consumer.clone(),
            filter_subject: filter,
            deliver_policy: if jsc.consumer.is_some() {
                consumer::DeliverPolicy::All
            } else {
                consumer::DeliverPolicy::New
            },
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: Duration::from_secs(30),
            max_ack_pending: 4096,
            ..Default::default()
        };
        match &jsc.consumer {
            Some(durable) => stream
                .get_or_create_consumer(durable, config)
                .await
                .map_err(|e| {
                    transport_err(
                        op(),
                        format!("{e}; a durable consumer `{durable}` with another filter may exist (delete it, or use another name)"),
                    )
                }),
            None => stream
                .create_consumer(config)
                .await
                .map_err(|e| transport_err(op(), e)),
        }
    }

    /// Whether a remote event should go into the local bus (counted
    /// otherwise).
    fn admit(&self, event: &UniversalEvent, import: &[EventPattern]) -> bool {
        if event.metadata.origin.as_deref() == Some(self.config.node_id.as_str()) {
            self.counters.own_skipped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        if !import.iter().any(|p| p.matches(&event.event_type)) {
            self.counters.ignored.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Publishes an imported event into the bus; `false` when the bus is
    /// closed or failed (the event was not delivered). The event comes
    /// behind an `Arc` straight from the decoder, so the bus does not move
    /// it again.
    async fn deliver(&self, bus: &EventBus, event: Arc<UniversalEvent>) -> bool {
        match bus.publish_shared(event).await {
            Ok(_) | Err(EventError::Rejected { .. } | EventError::BlockTimeout { .. }) => {
                self.counters.imported.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(e) => {
                if !matches!(e, EventError::Closed) {
                    tracing::error!(error = %e, "cannot deliver a NATS event into the local bus");
                }
                false
            }
        }
    }
}

/// Sends the bus's matching local events to NATS. Core: queued on the
/// connection (written in batches by the client). JetStream: pipelined,
/// up to `max_in_flight` acknowledgements awaited at once.
async fn export_loop(
    inner: Arc<Inner>,
    mut sub: Subscription,
    filter: Vec<EventPattern>,
    mut flush: mpsc::Receiver<oneshot::Sender<()>>,
) {
    type Ack = (
        Arc<UniversalEvent>,
        Subject,
        Bytes,
        std::result::Result<jetstream::context::PublishAckFuture, String>,
    );
    let mut in_flight: VecDeque<Ack> = VecDeque::new();
    let wanted = |e: &UniversalEvent| {
        // Events that came from NATS are not sent back out.
        e.metadata.origin.is_none()
            && (filter.is_empty() || filter.iter().any(|p| p.matches(&e.event_type)))
    };
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    let mut subjects = Subjects::default();
    loop {
        // Take what is ready without waiting; when nothing is, settle one
        // acknowledgement, or wait for the next event or flush request.
        let next = match sub.try_recv() {
            Some(e) => Some(e),
            None if !in_flight.is_empty() => {
                if let Some(ack) = in_flight.pop_front() {
                    settle(&inner, ack).await;
                }
                continue;
            }
            None => {
                for w in waiting.drain(..) {
                    let _ = w.send(());
                }
                tokio::select! {
                    biased;
                    Some(w) = flush.recv() => {
                        waiting.push(w);
                        continue;
                    }
                    e = sub.recv() => e,
                }
            }
        };
        let Some(event) = next else { break };
        if !wanted(&event) {
            continue;
        }
        let subject = subjects.get(&inner, &event.event_type);
        let payload = inner.payload(&event);
        match &inner.js {
            None => {
                if let Err(e) = inner.client.publish(subject.clone(), payload).await {
                    inner
                        .counters
                        .export_failures
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::error!(%subject, error = %e, "cannot send an event to NATS");
                } else {
                    inner.counters.exported.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some(js) => {
                let ack = js
                    .send_publish(
                        subject.clone(),
                        Publish::build()
                            .payload(payload.clone())
                            .message_id(event.id.to_string()),
                    )
                    .await
                    .map_err(|e| e.to_string());
                in_flight.push_back((event, subject, payload, ack));
                if in_flight.len() >= inner.config.max_in_flight.max(1) {
                    if let Some(ack) = in_flight.pop_front() {
                        settle(&inner, ack).await;
                    }
                }
            }
        }
        if let Ok(w) = flush.try_recv() {
            waiting.push(w);
        }
    }
    while let Some(ack) = in_flight.pop_front() {
        settle(&inner, ack).await;
    }
    for w in waiting.drain(..) {
        let _ = w.send(());
    }
    let _ = inner.client.flush().await;
}

/// The subjects of the event types the export task has seen (a subject
/// is shared by reference, not built and copied for every event).
#[derive(Default)]
struct Subjects {
    known: HashMap<String, Subject>,
}

impl Subjects {
    /// At most this many types are remembered; past it the map starts over.
    const MAX: usize = 1024;

    fn get(&mut self, inner: &Inner, event_type: &str) -> Subject {
        if let Some(s) = self.known.get(event_type) {
            return s.clone();
        }
        let subject = inner.subject(event_type);
        if self.known.len() >= Self::MAX {
            self.known.clear();
        }
        self.known.insert(event_type.to_owned(), subject.clone());
        subject
    }
}

/// Awaits one pipelined acknowledgement; a failed one is published again
/// with its message id until `publish_timeout`.
async fn settle(
    inner: &Inner,
    (event, subject, payload, ack): (
        Arc<UniversalEvent>,
        Subject,
        Bytes,
        std::result::Result<jetstream::context::PublishAckFuture, String>,
    ),
) {
    let acked = match ack {
        Ok(fut) => fut.await.is_ok(),
        Err(_) => false,
    };
    if acked {
        inner.counters.exported.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let Some(js) = &inner.js else { return };
    match inner
        .publish_durable(js, &subject, payload, &event.id.to_string())
        .await
    {
        Ok(_) => {
            inner.counters.exported.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            inner
                .counters
                .export_failures
                .fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "an exported event was not acknowledged by JetStream");
        }
    }
}

async fn core_import_loop(
    inner: Arc<Inner>,
    bus: EventBus,
    subs: Vec<async_nats::Subscriber>,
    import: Vec<EventPattern>,
) {
    // One subscription (one import pattern, or patterns NATS covers with
    // one filter) is read directly: `select_all` re-queues its stream in a
    // freshly allocated node after every message.
    let mut messages = match <[async_nats::Subscriber; 1]>::try_from(subs) {
        Ok([one]) => futures::future::Either::Left(one),
        Err(subs) => futures::future::Either::Right(futures::stream::select_all(subs)),
    };
    while let Some(msg) = messages.next().await {
        let event = match wire::decode(&msg.payload) {
            Ok(e) => Arc::new(e),
            Err(e) => {
                inner.counters.ignored.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(subject = %msg.subject, error = %e, "ignoring a NATS message that is not an llmspell CloudEvent");
                continue;
            }
        };
        if inner.admit(&event, &import) && !inner.deliver(&bus, event).await && bus.is_closed() {
            break;
        }
    }
}

async fn jetstream_import_loop(
    inner: Arc<Inner>,
    bus: EventBus,
    consumer: consumer::Consumer<consumer::pull::Config>,
    import: Vec<EventPattern>,
) {
    // Stream sequences are delivered in order; one at or below this was
    // delivered already and its acknowledgement was lost.
    let mut delivered_upto = 0u64;
    let mut backoff = Duration::from_millis(50);
    'outer: loop {
        let mut messages = match consumer
            .stream()
            .heartbeat(Duration::from_secs(1))
            .expires(Duration::from_secs(5))
            .messages()
            .await
        {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "JetStream import: cannot pull; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        while let Some(msg) = messages.next().await {
            let msg = match msg {
                Ok(m) => m,
                Err(e) => {
                    // Missed heartbeats or a lost connection: pull again.
                    tracing::debug!(error = %e, "JetStream import: pull interrupted; resuming");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue 'outer;
                }
            };
            backoff = Duration::from_millis(50);
            let seq = msg.info().map(|i| i.stream_sequence).unwrap_or(0);
            if seq != 0 && seq <= delivered_upto {
                inner
                    .counters
                    .redelivered_skipped
                    .fetch_add(1, Ordering::Relaxed);
                let _ = msg.ack().await;
                continue;
            }
            match wire::decode(&msg.payload) {
                Ok(event) => {
                    let event = Arc::new(event);
                    if inner.admit(&event, &import) && !inner.deliver(&bus, event).await {
                        if bus.is_closed() {
                            break 'outer;
                        }
                        // Not delivered: leave it unacknowledged (redelivered).
                        continue;
                    }
                }
                Err(e) => {
                    inner.counters.ignored.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(subject = %msg.subject, error = %e, "ignoring a stored message that is not an llmspell CloudEvent");
                }
            }
            delivered_upto = delivered_upto.max(seq);
            // Sent on the connection (not waited for): a lost one makes the
            // server deliver the event again, skipped above while this
            // process runs.
            if let Err(e) = msg.ack().await {
                tracing::warn!(error = %e, seq, "JetStream import: cannot send the acknowledgement");
            }
        }
    }
}

/// Live events from NATS; see [`NatsTransport::subscribe`].
#[derive(Debug)]
pub struct RemoteEvents {
    sub: async_nats::Subscriber,
    pattern: EventPattern,
}

impl RemoteEvents {
    /// The next matching event; `None` when the connection closed.
    /// Messages that are not CloudEvents are returned as errors.
    pub async fn next(&mut self) -> Option<Result<UniversalEvent>> {
        loop {
            let msg = self.sub.next().await?;
            match wire::decode(&msg.payload) {
                Ok(e) if self.pattern.matches(&e.event_type) => return Some(Ok(e)),
                Ok(_) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
