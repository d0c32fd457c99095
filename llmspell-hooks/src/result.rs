//! [`HookResult`]: what a hook asks the caller to do.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::context::HookData;

/// An extra operation a [`HookResult::Fork`] asks the caller to run
/// concurrently with (or after) the main one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ForkOperation {
    /// The target to run: a tool, agent or workflow step name.
    pub target: String,
    /// Its input parameters.
    pub parameters: Value,
}

impl ForkOperation {
    /// A fork of `target` with `parameters`.
    #[must_use]
    pub fn new(target: impl Into<String>, parameters: Value) -> Self {
        Self {
            target: target.into(),
            parameters,
        }
    }
}

/// The decision a hook returns.
///
/// | result | effect |
/// |---|---|
/// | `Continue` | run the next hook, then the operation |
/// | `Modified(data)` | replace the context data and go on |
/// | `Cancel(reason)` | stop; the operation fails with a cancelled error carrying reason |
/// | `Redirect(target)` | run the named target instead |
/// | `Replace(value)` | skip the operation (before) or its result (after); use value |
/// | `Retry{delay,max_attempts}` | re-run the operation after delay, at most max times |
/// | `Fork{operations}` | also run the listed operations; join their results into the context |
/// | `Cache{key,ttl}` | store the result under key for ttl |
/// | `Skipped(reason)` | this hook did nothing; go on |
///
/// Serialised adjacently tagged with snake_case names, durations in
/// milliseconds: `{"type":"cancel","value":"no"}`,
/// `{"type":"retry","value":{"delay_ms":100,"max_attempts":3}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum HookResult {
    /// Go on.
    Continue,
    /// Replace the context data with this and go on.
    Modified(HookData),
    /// Stop; the operation fails as cancelled with this reason.
    Cancel(String),
    /// Run the named target instead of the operation.
    Redirect(String),
    /// Use this value instead of running the operation (or instead of its
    /// result).
    Replace(Value),
    /// Re-run the operation after `delay`, at most `max_attempts` times.
    Retry {
        /// How long to wait before re-running.
        #[serde(rename = "delay_ms", with = "duration_ms")]
        delay: Duration,
        /// How many re-runs at most.
        max_attempts: u32,
    },
    /// Also run these operations.
    Fork {
        /// The operations to run.
        operations: Vec<ForkOperation>,
    },
    /// Store the result under `key` for `ttl`.
    Cache {
        /// The cache key.
        key: String,
        /// How long the entry lives.
        #[serde(rename = "ttl_ms", with = "duration_ms")]
        ttl: Duration,
    },
    /// The hook did nothing (e.g. its breaker is open); go on.
    Skipped(String),
}

impl HookResult {
    /// `Cancel(reason)`.
    #[must_use]
    pub fn cancel(reason: impl Into<String>) -> Self {
        HookResult::Cancel(reason.into())
    }

    /// `Redirect(target)`.
    #[must_use]
    pub fn redirect(target: impl Into<String>) -> Self {
        HookResult::Redirect(target.into())
    }

    /// `Skipped(reason)`.
    #[must_use]
    pub fn skipped(reason: impl Into<String>) -> Self {
        HookResult::Skipped(reason.into())
    }

    /// `Retry { delay, max_attempts }`.
    #[must_use]
    pub fn retry(delay: Duration, max_attempts: u32) -> Self {
        HookResult::Retry {
            delay,
            max_attempts,
        }
    }

    /// `Cache { key, ttl }`.
    #[must_use]
    pub fn cache(key: impl Into<String>, ttl: Duration) -> Self {
        HookResult::Cache {
            key: key.into(),
            ttl,
        }
    }

    /// `Fork { operations }`.
    #[must_use]
    pub fn fork(operations: Vec<ForkOperation>) -> Self {
        HookResult::Fork { operations }
    }

    /// Whether the chain goes on to the next hook: `Continue`, `Modified`
    /// and `Skipped`.
    #[inline]
    #[must_use]
    pub fn should_continue(&self) -> bool {
        matches!(
            self,
            HookResult::Continue | HookResult::Modified(_) | HookResult::Skipped(_)
        )
    }

    /// Whether this is `Continue`.
    #[must_use]
    pub fn is_continue(&self) -> bool {
        matches!(self, HookResult::Continue)
    }

    /// Whether this is `Cancel`.
    #[must_use]
    pub fn is_cancel(&self) -> bool {
        matches!(self, HookResult::Cancel(_))
    }

    /// Whether this is `Skipped`.
    #[must_use]
    pub fn is_skipped(&self) -> bool {
        matches!(self, HookResult::Skipped(_))
    }

    /// The snake_case name of the variant (`"continue"`, `"modified"`, ...),
    /// as used in the serialised form and by script bridges.
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            HookResult::Continue => "continue",
            HookResult::Modified(_) => "modified",
            HookResult::Cancel(_) => "cancel",
            HookResult::Redirect(_) => "redirect",
            HookResult::Replace(_) => "replace",
            HookResult::Retry { .. } => "retry",
            HookResult::Fork { .. } => "fork",
            HookResult::Cache { .. } => "cache",
            HookResult::Skipped(_) => "skipped",
        }
    }
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}
