//! [`UniversalEvent`]: the one event type every llmspell component speaks.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{EventError, Language, Result};

/// The schema version written by this crate.
pub const SCHEMA_VERSION: u32 = 1;

/// An event: what happened (`event_type`, `data`), where it came from, and
/// how it should travel.
///
/// Build one with [`UniversalEvent::builder`]. The bus assigns
/// [`sequence`](Self::sequence) on publish (monotonic per bus, continuing
/// across restarts when the bus has a store). The JSON form round-trips
/// exactly, payload floats included.
///
/// ```
/// use llmspell_events::{Language, UniversalEvent};
/// use serde_json::json;
///
/// let correlation = uuid::Uuid::new_v4();
/// let event = UniversalEvent::builder("tool.execution.started")
///     .data(json!({"tool": "calculator"}))
///     .language(Language::Lua)
///     .correlation_id(correlation)
///     .tag("demo")
///     .build();
/// let json = serde_json::to_string(&event).unwrap();
/// assert_eq!(serde_json::from_str::<UniversalEvent>(&json).unwrap(), event);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UniversalEvent {
    /// Unique id.
    pub id: Uuid,
    /// Dotted type name, e.g. `tool.execution.started`; patterns match it.
    pub event_type: String,
    /// The payload.
    pub data: Value,
    /// The language the event was emitted from.
    pub language: Language,
    /// When the event was created.
    pub timestamp: DateTime<Utc>,
    /// Position in the bus's total order (0 until published).
    pub sequence: u64,
    /// Routing and lifetime metadata.
    pub metadata: EventMetadata,
    /// The schema version the event was written with.
    pub schema_version: u32,
}

/// Routing and lifetime metadata of a [`UniversalEvent`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// Groups events of one logical operation (a request, a workflow run).
    pub correlation_id: Option<Uuid>,
    /// Who emitted the event.
    pub source: Option<String>,
    /// Who the event is meant for, if anyone in particular.
    pub target: Option<String>,
    /// Free-form labels.
    pub tags: Vec<String>,
    /// Priority; higher is more important. Informational for consumers.
    pub priority: i32,
    /// Time to live, counted from `timestamp`. An expired event is never
    /// delivered. Serialized as whole milliseconds.
    #[serde(with = "ttl_millis")]
    pub ttl: Option<Duration>,
    /// The process (transport node id) an event came from when it arrived
    /// over a transport such as NATS; `None` for events published in this
    /// process. Set by the transport on import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

mod ttl_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        ttl: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match ttl {
            Some(d) => s.serialize_some(&u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

impl UniversalEvent {
    /// Starts building an event of type `event_type`.
    pub fn builder(event_type: impl Into<String>) -> UniversalEventBuilder {
        UniversalEventBuilder::new(event_type)
    }

    /// An event of type `event_type` carrying `data`, everything else default.
    #[must_use]
    pub fn new(event_type: impl Into<String>, data: Value) -> Self {
        Self::builder(event_type).data(data).build()
    }

    /// When the event expires, if it has a ttl.
    #[must_use]
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        let ttl = chrono::Duration::from_std(self.metadata.ttl?).ok()?;
        self.timestamp.checked_add_signed(ttl)
    }

    /// Whether the event's ttl has passed at `now`.
    #[must_use]
    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        match self.metadata.ttl {
            None => false,
            // An unrepresentably far expiry never passes.
            Some(_) => self.expires_at().is_some_and(|at| now >= at),
        }
    }

    /// Whether the event's ttl has passed now.
    #[inline]
    #[must_use]
    pub fn is_expired(&self) -> bool {
        self.metadata.ttl.is_some() && self.is_expired_at(Utc::now())
    }

    /// Checks that the event can be routed and stored.
    ///
    /// # Errors
    /// [`EventError::InvalidEvent`] when the type is empty or has a NUL.
    pub fn validate(&self) -> Result<()> {
        if self.event_type.is_empty() {
            return Err(EventError::InvalidEvent {
                reason: "the event type is empty".into(),
            });
        }
        if self.event_type.contains('\0') {
            return Err(EventError::InvalidEvent {
                reason: format!("the event type {:?} contains a NUL", self.event_type),
            });
        }
        Ok(())
    }
}

/// Builds a [`UniversalEvent`]; see [`UniversalEvent::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct UniversalEventBuilder {
    event: UniversalEvent,
}

impl UniversalEventBuilder {
    fn new(event_type: impl Into<String>) -> Self {
        Self {
            event: UniversalEvent {
                id: Uuid::new_v4(),
                event_type: event_type.into(),
                data: Value::Null,
                language: Language::Rust,
                timestamp: Utc::now(),
                sequence: 0,
                metadata: EventMetadata::default(),
                schema_version: SCHEMA_VERSION,
            },
        }
    }

    /// Sets the payload.
    pub fn data(mut self, data: Value) -> Self {
        self.event.data = data;
        self
    }

    /// Sets the language.
    pub fn language(mut self, language: Language) -> Self {
        self.event.language = language;
        self
    }

    /// Sets the id (a fresh v4 uuid by default).
    pub fn id(mut self, id: Uuid) -> Self {
        self.event.id = id;
        self
    }

    /// Sets the timestamp (now by default).
    pub fn timestamp(mut self, timestamp: DateTime<Utc>) -> Self {
        self.event.timestamp = timestamp;
        self
    }

    /// Sets the correlation id.
    pub fn correlation_id(mut self, id: Uuid) -> Self {
        self.event.metadata.correlation_id = Some(id);
        self
    }

    /// Sets the source.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.event.metadata.source = Some(source.into());
        self
    }

    /// Sets the target.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.event.metadata.target = Some(target.into());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.event.metadata.tags.push(tag.into());
        self
    }

    /// Sets the priority (0 by default; higher is more important).
    pub fn priority(mut self, priority: i32) -> Self {
        self.event.metadata.priority = priority;
        self
    }

    /// Sets the time to live, counted from the timestamp, truncated to whole
    /// milliseconds (the serialized precision).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self.event.metadata.ttl = Some(Duration::from_millis(millis));
        self
    }

    /// Replaces the whole metadata.
    pub fn metadata(mut self, metadata: EventMetadata) -> Self {
        self.event.metadata = metadata;
        self
    }

    /// The event.
    #[must_use]
    pub fn build(self) -> UniversalEvent {
        self.event
    }
}
