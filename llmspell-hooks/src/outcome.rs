//! [`HookOutcome`]: the one decision a component acts on after a dispatch.

use std::time::Duration;

use serde_json::Value;

use crate::{ForkOperation, HookResult};

/// What a component does after [`crate::HookExecutor::execute`].
///
/// The chain of hooks at a point stops at the first hook returning
/// something other than `Continue`, `Modified` or `Skipped`; that result
/// becomes the outcome (with the name of the hook that decided). Otherwise
/// the outcome is `Continue` and `ctx.data` holds every `Modified` change.
///
/// | outcome | the component |
/// |---|---|
/// | `Continue` | runs the operation with `ctx.data` (maybe modified) |
/// | `Cancelled` | does not run it; fails with a cancelled error carrying `reason` |
/// | `Redirect` | runs `target` (another tool / agent / step) instead |
/// | `Replace` | Before*: skips the operation and uses `value` as its result; After*: uses `value` instead of the result |
/// | `Retry` | re-runs the operation after `delay`, at most `max_attempts` times |
/// | `Fork` | runs the operation and also `operations` concurrently; joins their results into the context |
/// | `Cache` | stores the result under `key` for `ttl` |
#[derive(Debug, Clone, PartialEq)]
#[must_use]
#[non_exhaustive]
pub enum HookOutcome {
    /// Go on with the operation.
    Continue,
    /// Do not run the operation.
    Cancelled {
        /// Why (from the hook, or the error of a fail-closed hook).
        reason: String,
        /// The hook that cancelled.
        hook: String,
    },
    /// Run `target` instead.
    Redirect {
        /// The tool / agent / step to run.
        target: String,
        /// The hook that redirected.
        hook: String,
    },
    /// Use `value` instead of running the operation (or of its result).
    Replace {
        /// The replacement.
        value: Value,
        /// The hook that replaced.
        hook: String,
    },
    /// Re-run the operation.
    Retry {
        /// How long to wait first.
        delay: Duration,
        /// How many re-runs at most.
        max_attempts: u32,
        /// The hook that asked.
        hook: String,
    },
    /// Also run these operations.
    Fork {
        /// The extra operations.
        operations: Vec<ForkOperation>,
        /// The hook that asked.
        hook: String,
    },
    /// Cache the result.
    Cache {
        /// The cache key.
        key: String,
        /// How long to keep it.
        ttl: Duration,
        /// The hook that asked.
        hook: String,
    },
}

impl HookOutcome {
    /// Whether this is `Continue`.
    #[inline]
    #[must_use]
    pub fn is_continue(&self) -> bool {
        matches!(self, HookOutcome::Continue)
    }

    /// Whether this is `Cancelled`.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        matches!(self, HookOutcome::Cancelled { .. })
    }

    /// The hook that decided, unless `Continue`.
    #[must_use]
    pub fn hook(&self) -> Option<&str> {
        match self {
            HookOutcome::Continue => None,
            HookOutcome::Cancelled { hook, .. }
            | HookOutcome::Redirect { hook, .. }
            | HookOutcome::Replace { hook, .. }
            | HookOutcome::Retry { hook, .. }
            | HookOutcome::Fork { hook, .. }
            | HookOutcome::Cache { hook, .. } => Some(hook),
        }
    }

    /// The outcome for a stopping result; `None` for the results that let
    /// the chain go on (`Continue`, `Modified`, `Skipped`).
    pub(crate) fn from_stopping(result: HookResult, hook: &str) -> Option<Self> {
        let hook = hook.to_owned();
        Some(match result {
            HookResult::Continue | HookResult::Modified(_) | HookResult::Skipped(_) => return None,
            HookResult::Cancel(reason) => HookOutcome::Cancelled { reason, hook },
            HookResult::Redirect(target) => HookOutcome::Redirect { target, hook },
            HookResult::Replace(value) => HookOutcome::Replace { value, hook },
            HookResult::Retry {
                delay,
                max_attempts,
            } => HookOutcome::Retry {
                delay,
                max_attempts,
                hook,
            },
            HookResult::Fork { operations } => HookOutcome::Fork { operations, hook },
            HookResult::Cache { key, ttl } => HookOutcome::Cache { key, ttl, hook },
        })
    }

    /// The outcome as a [`HookResult`] (for composites and bridges).
    pub fn into_result(self) -> HookResult {
        match self {
            HookOutcome::Continue => HookResult::Continue,
            HookOutcome::Cancelled { reason, .. } => HookResult::Cancel(reason),
            HookOutcome::Redirect { target, .. } => HookResult::Redirect(target),
            HookOutcome::Replace { value, .. } => HookResult::Replace(value),
            HookOutcome::Retry {
                delay,
                max_attempts,
                ..
            } => HookResult::Retry {
                delay,
                max_attempts,
            },
            HookOutcome::Fork { operations, .. } => HookResult::Fork { operations },
            HookOutcome::Cache { key, ttl, .. } => HookResult::Cache { key, ttl },
        }
    }
}
