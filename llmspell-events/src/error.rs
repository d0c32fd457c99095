//! The events error type.

use std::sync::Arc;
use std::time::Duration;

use crate::{PublishReport, SubscriptionId};

/// An events result.
pub type Result<T, E = EventError> = std::result::Result<T, E>;

/// Everything that can go wrong in `llmspell-events`.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// An event pattern could not be parsed.
    #[error("invalid event pattern `{pattern}`: {reason}; patterns are globs where `*` matches any run of characters, `?` one character, `[abc]`/`[a-z]`/`[^a]` a class, and `\\` escapes the next character")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An event cannot be published or stored as it is.
    #[error(
        "invalid event: {reason}; an event type must be non-empty and contain no NUL character"
    )]
    InvalidEvent {
        /// What is wrong with it.
        reason: String,
    },
    /// A subscriber with [`OverflowStrategy::Reject`](crate::OverflowStrategy::Reject)
    /// had a full queue. The event itself was published: stored (when the
    /// bus has a store) and queued for every other subscriber, as `report`
    /// says. Do not publish it again to "retry": with a store, a second
    /// publish of the same event id is de-duplicated; without one, the other
    /// subscribers would get it twice.
    #[error("subscriber {subscriber} (pattern `{pattern}`) rejected the event: its queue is full ({capacity} events); it must receive faster, or use a larger capacity or a dropping overflow strategy. {}", published_note(report))]
    Rejected {
        /// The subscriber that refused the event.
        subscriber: SubscriptionId,
        /// Its pattern.
        pattern: String,
        /// Its queue capacity.
        capacity: usize,
        /// What happened to the event everywhere else.
        report: PublishReport,
    },
    /// A subscriber with [`OverflowStrategy::Block`](crate::OverflowStrategy::Block)
    /// had no room before the timeout; the event was not delivered to it,
    /// but was published everywhere else, as `report` says (see
    /// [`Rejected`](Self::Rejected)).
    #[error("subscriber {subscriber} (pattern `{pattern}`) had no room for the event within {timeout:?}; it must receive faster, or use a longer timeout or a larger capacity. {}", published_note(report))]
    BlockTimeout {
        /// The subscriber that had no room.
        subscriber: SubscriptionId,
        /// Its pattern.
        pattern: String,
        /// How long the publisher waited.
        timeout: Duration,
        /// What happened to the event everywhere else.
        report: PublishReport,
    },
    /// A non-waiting operation (`try_publish`) would have had to wait.
    /// With a `report`, the event was published anyway (a full Block queue
    /// was skipped); without one, nothing happened.
    #[error("the operation would have to wait for {what}; use the async `publish` to wait{}", report.as_ref().map(|r| format!(". {}", published_note(r))).unwrap_or_default())]
    WouldBlock {
        /// What it would have waited for.
        what: String,
        /// What happened to the event, when it was published anyway.
        report: Option<PublishReport>,
    },
    /// The bus's rate limit refused the event (only from `try_publish`;
    /// `publish` waits for a token instead).
    #[error(
        "the bus rate limit is exhausted; retry in {retry_after:?} or use `publish`, which waits"
    )]
    RateLimited {
        /// When a token is next available.
        retry_after: Duration,
    },
    /// The bus was closed.
    #[error("the event bus is closed")]
    Closed,
    /// A handler subscription needs a tokio runtime to run its task.
    #[error(
        "no tokio runtime is running; handler subscriptions must be created inside a tokio runtime"
    )]
    NoRuntime,
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The event store's backend failed.
    #[error("event store: {0}")]
    Storage(#[from] llmspell_storage::StorageError),
    /// A message is not a CloudEvents 1.0 structured-mode JSON event.
    #[error("not a CloudEvent: {reason}; expected a CloudEvents 1.0 JSON object with string `specversion` (\"1.0\"), `id`, `source` and `type`")]
    CloudEvent {
        /// What is wrong with it.
        reason: String,
    },
    /// The NATS transport could not do what was asked.
    #[error("NATS {operation} failed: {reason}")]
    Transport {
        /// What it was doing (`connect to nats://...`, `publish to subject ...`).
        operation: String,
        /// Why it failed, and what to check.
        reason: String,
    },
    /// A stored record could not be encoded or decoded.
    #[error("event store record `{key}` is not valid: {source}")]
    Corrupt {
        /// The record's key, printed lossily.
        key: String,
        /// The decoding error.
        #[source]
        source: Arc<serde_json::Error>,
    },
}

impl EventError {
    /// For an error of a publish that went ahead anyway (one subscriber
    /// rejected the event or had no room), what happened to the event: its
    /// id, its sequence, whether it was stored, and how many subscribers
    /// queued it.
    #[must_use]
    pub fn publish_report(&self) -> Option<&PublishReport> {
        match self {
            Self::Rejected { report, .. } | Self::BlockTimeout { report, .. } => Some(report),
            Self::WouldBlock { report, .. } => report.as_ref(),
            _ => None,
        }
    }

    pub(crate) fn would_block(what: impl Into<String>) -> Self {
        Self::WouldBlock {
            what: what.into(),
            report: None,
        }
    }
}

/// The second half of a partial-delivery error: the event was published.
fn published_note(r: &PublishReport) -> String {
    let others = format!(
        "queued for {} of {} matching subscribers",
        r.queued, r.matched
    );
    if r.stored {
        format!(
            "The event ({}) was still stored under sequence {} and {others}; do not publish it again (a second publish of the same event id is de-duplicated)",
            r.event_id, r.sequence
        )
    } else {
        format!(
            "The event ({}, sequence {}) was still {others} (the bus has no store); publishing it again would deliver it twice to those",
            r.event_id, r.sequence
        )
    }
}
