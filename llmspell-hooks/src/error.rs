//! The hooks error type.

use std::sync::Arc;
use std::time::Duration;

/// A hooks result.
pub type Result<T, E = HookError> = std::result::Result<T, E>;

/// Everything that can go wrong in `llmspell-hooks`.
///
/// `Clone + Send + Sync` (causes are kept in `Arc`), so it can cross task and
/// script-engine boundaries.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum HookError {
    /// A hook point name could not be parsed.
    #[error("unknown hook point `{name}`; valid points are: {valid}")]
    UnknownHookPoint {
        /// The name as given.
        name: String,
        /// The valid names, comma separated.
        valid: String,
    },

    /// A component-name glob could not be compiled.
    #[error("invalid component matcher: {0}")]
    InvalidMatcher(#[from] llmspell_events::EventError),

    /// A hook's own code reported an error.
    #[error("hook `{hook}` failed: {message}")]
    Execution {
        /// The hook's name.
        hook: String,
        /// What went wrong.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },

    /// A hook ran longer than its timeout and was abandoned.
    #[error("hook `{hook}` timed out after {timeout:?}")]
    Timeout {
        /// The hook's name.
        hook: String,
        /// The timeout that was exceeded.
        timeout: Duration,
    },

    /// A hook panicked; the panic was caught and isolated.
    #[error("hook `{hook}` panicked: {message}")]
    Panicked {
        /// The hook's name.
        hook: String,
        /// The panic payload, if it was a string.
        message: String,
    },

    /// A hook was skipped because its circuit breaker is open.
    #[error("circuit breaker of hook `{hook}` is open")]
    CircuitOpen {
        /// The hook's name.
        hook: String,
    },

    /// No hook is registered under this handle or name.
    #[error("no hook {what} is registered")]
    NotFound {
        /// Which hook was looked for (handle id or `point/name`).
        what: String,
    },

    /// A configuration value is out of range.
    #[error("invalid configuration `{field}`: {reason}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// What is wrong and what is valid.
        reason: String,
    },

    /// A context, result or replay record could not be (de)serialised.
    #[error("serialization failed: {0}")]
    Serialization(Arc<serde_json::Error>),

    /// A value returned by a script hook is not a valid hook result.
    #[error("invalid hook result: {0}; return nil, \"continue\", or a table/object with type = continue, modified (data), cancel (reason), redirect (target), replace (value), retry (delay_ms, max_attempts), fork (operations), cache (key, ttl_ms) or skipped (reason)")]
    InvalidHookResult(String),

    /// A storage backend failed (replay records).
    #[error("storage failed: {0}")]
    Storage(String),
}

impl HookError {
    /// An [`HookError::Execution`] error for hook `hook` with a message.
    #[must_use]
    pub fn execution(hook: impl Into<String>, message: impl Into<String>) -> Self {
        HookError::Execution {
            hook: hook.into(),
            message: message.into(),
            source: None,
        }
    }

    /// An [`HookError::Execution`] error wrapping another error.
    #[must_use]
    pub fn from_source<E>(hook: impl Into<String>, source: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        HookError::Execution {
            hook: hook.into(),
            message: source.to_string(),
            source: Some(Arc::new(source)),
        }
    }
}

impl From<serde_json::Error> for HookError {
    fn from(e: serde_json::Error) -> Self {
        HookError::Serialization(Arc::new(e))
    }
}
