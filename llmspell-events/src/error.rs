//! The events error type.

use std::sync::Arc;
use std::time::Duration;

use crate::SubscriptionId;

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
    /// had a full queue; the event was still delivered to every other subscriber.
    #[error("subscriber {subscriber} (pattern `{pattern}`) rejected the event: its queue is full ({capacity} events); it must receive faster, or use a larger capacity or a dropping overflow strategy")]
    Rejected {
        /// The subscriber that refused the event.
        subscriber: SubscriptionId,
        /// Its pattern.
        pattern: String,
        /// Its queue capacity.
        capacity: usize,
    },
    /// A subscriber with [`OverflowStrategy::Block`](crate::OverflowStrategy::Block)
    /// had no room before the timeout; the event was not delivered to it.
    #[error("subscriber {subscriber} (pattern `{pattern}`) had no room for the event within {timeout:?}; it must receive faster, or use a longer timeout or a larger capacity")]
    BlockTimeout {
        /// The subscriber that had no room.
        subscriber: SubscriptionId,
        /// Its pattern.
        pattern: String,
        /// How long the publisher waited.
        timeout: Duration,
    },
    /// A non-waiting operation (`try_publish`) would have had to wait.
    #[error("the operation would have to wait for {what}; use the async `publish` to wait")]
    WouldBlock {
        /// What it would have waited for.
        what: String,
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
