//! Universal events, glob-pattern routing, a flow-controlled event bus and an
//! event store for llmspell.
//!
//! # Concepts
//!
//! - [`UniversalEvent`]: one event type for every component and language
//!   (id, type, JSON data, language, timestamp, sequence, metadata with
//!   correlation id, source, target, tags, priority and ttl). Build it with
//!   [`UniversalEvent::builder`]; its JSON form round-trips exactly.
//! - [`EventPattern`]: Redis-`PSUBSCRIBE`-style globs over event types
//!   (`tool.*`, `*.error`, `agent.*.failed`, `a?c`, `[abc]`, `\*`).
//! - [`EventBus`]: [`publish`](EventBus::publish) /
//!   [`try_publish`](EventBus::try_publish);
//!   [`subscribe`](EventBus::subscribe) returns a [`Subscription`] (also a
//!   `Stream`) that unsubscribes when dropped;
//!   [`subscribe_handler`](EventBus::subscribe_handler) runs an
//!   [`EventHandler`] on a task the bus owns until its
//!   [`HandlerSubscription`] guard is dropped. Routing is indexed (exact and
//!   prefix patterns are found by a tree walk, not a scan) and lock-free for
//!   publishers: an atomically swapped snapshot of the routing table.
//! - Flow control: each subscription has a bounded queue with an
//!   [`OverflowStrategy`] (drop oldest, drop newest, block with a timeout,
//!   reject); watermarks raise [`BackpressureNotice`]s on
//!   [`EventBus::backpressure`]; an optional token-bucket [`RateLimit`]
//!   (off by default). Queues are bounded by a count and, optionally, by
//!   bytes ([`SubscriptionConfig::max_bytes`],
//!   [`EventBusBuilder::max_queue_bytes`]). Every dropped event is counted
//!   in [`BusStats`]. A publish that one subscriber refused still reached
//!   the others: its error carries the [`PublishReport`].
//! - [`EventStore`]: persistence on any `llmspell_storage::StorageBackend`,
//!   queried by pattern, time range, correlation id and sequence range
//!   ([`EventQuery`]), replayed as a stream or into a bus
//!   ([`EventBus::replay`]). A bus built with a store persists each event
//!   before `publish` returns (flushed to disk first with
//!   [`Durability::Flushed`], which shares one flush among concurrent
//!   publishes), and de-duplicates events by id.
//! - [`EventStreamExt`]: batching, filtering and throttling of event streams.
//! - [`EventBus::metrics`]: sliding-window events/s and p50/p99 delivery
//!   latency.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use llmspell_events::{EventBus, EventHandler, Language, UniversalEvent};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> llmspell_events::Result<()> {
//! let bus = EventBus::new();
//! let mut tools = bus.subscribe("tool.*")?;
//!
//! // A handler runs on a task owned by the bus while its guard lives.
//! let errors = bus.subscribe_handler("*.error", EventHandler::from_fn(|event| {
//!     eprintln!("error event: {}", event.data);
//!     Ok(())
//! }))?;
//!
//! let correlation = uuid::Uuid::new_v4();
//! let report = bus
//!     .publish(
//!         UniversalEvent::builder("tool.execution.started")
//!             .data(json!({"tool": "calculator"}))
//!             .language(Language::Lua)
//!             .correlation_id(correlation)
//!             .build(),
//!     )
//!     .await?;
//! assert_eq!(report.queued, 1);
//!
//! let event = tools.recv_timeout(Duration::from_secs(1)).await.unwrap();
//! assert_eq!(event.event_type, "tool.execution.started");
//! assert_eq!(event.metadata.correlation_id, Some(correlation));
//! assert_eq!(event.sequence, report.sequence);
//!
//! assert_eq!(bus.subscription_ids().len(), 2);
//! drop(errors); // unsubscribes (or `bus.unsubscribe(errors.detach())`)
//! drop(tools); // unsubscribes
//! assert_eq!(bus.stats().active_subscriptions, 0);
//! # Ok(())
//! # }
//! ```
//!
//! See `docs/technical/events.md` in the repository for the architecture,
//! the store's key layout and the invariants.

mod bus;
mod clock;
mod config;
mod error;
mod event;
mod flow;
mod handler;
mod language;
mod metrics;
#[cfg(feature = "nats")]
pub mod nats;
#[cfg(feature = "nats")]
pub use nats::cloudevent;
mod pattern;
mod query;
mod queue;
mod routing;
mod store;
mod stream;
mod subscription;

pub use bus::{BusStats, EventBus, EventBusBuilder, PublishReport};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{OverflowStrategy, SubscriptionConfig, SubscriptionId, DEFAULT_CAPACITY};
pub use error::{EventError, Result};
pub use event::{EventMetadata, UniversalEvent, UniversalEventBuilder, SCHEMA_VERSION};
pub use flow::{BackpressureNotice, BackpressureStream, DropReason, RateLimit};
pub use handler::{EventHandler, HandlerError, HandlerResult, HandlerSubscription};
pub use language::{Language, ParseLanguageError};
pub use metrics::MetricsSnapshot;
pub use pattern::{EventPattern, PatternKind};
pub use query::EventQuery;
pub use queue::DropCounts;
pub use store::{Appended, Durability, EventStore};
pub use stream::EventStreamExt;
pub use subscription::{Subscription, SubscriptionInfo};
