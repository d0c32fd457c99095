//! The bridge error type.

use std::sync::Arc;
use std::time::Duration;

/// A bridge result.
pub type Result<T, E = BridgeError> = std::result::Result<T, E>;

/// Everything that can go wrong in `llmspell-bridge`.
///
/// It is `Clone + Send + Sync` (causes are behind [`Arc`]) so that it can
/// cross the script-engine boundary in both directions: a bridge error raised
/// inside a Lua callback comes back out of the script as the same value.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// A script failed: a syntax error, a runtime error or an error raised by
    /// a bridge function it called. `message` includes the Lua traceback.
    #[error("`{chunk}` failed: {message}")]
    Script {
        /// The chunk name (usually the script path).
        chunk: String,
        /// The error message with its traceback.
        message: String,
    },
    /// A value could not be converted between the script and JSON.
    #[error("cannot convert {direction} at `{path}`: {reason}")]
    Conversion {
        /// `Lua value to JSON` or `JSON to Lua value`.
        direction: &'static str,
        /// Where in the value (`$`, `$.a[2].b`).
        path: String,
        /// What was wrong and what is valid.
        reason: String,
    },
    /// A script call ran longer than its time limit and was stopped.
    #[error("{what} exceeded its time limit of {limit:?} and was stopped")]
    Timeout {
        /// What was running (a hook name, `script main.lua`).
        what: String,
        /// The limit that was exceeded.
        limit: Duration,
    },
    /// The script state ran out of its memory limit.
    #[error("{what} exceeded the memory limit of {limit} bytes")]
    MemoryLimit {
        /// What was running.
        what: String,
        /// The configured limit in bytes.
        limit: usize,
    },
    /// A bridge function was called with a bad argument.
    #[error("{function}: {message}")]
    InvalidArgument {
        /// The script-visible function name, e.g. `Hook.register`.
        function: String,
        /// What was wrong and what is valid.
        message: String,
    },
    /// A script hook returned a value that is not a hook result.
    #[error("hook `{hook}` returned {problem}; expected nil, \"continue\", \"skip\", or a table {{type = \"continue\"|\"modified\"|\"cancel\"|\"redirect\"|\"replace\"|\"retry\"|\"fork\"|\"cache\"|\"skipped\", ...}}")]
    InvalidHookResult {
        /// The hook's name.
        hook: String,
        /// What was wrong with the value.
        problem: String,
    },
    /// The event bus refused an operation.
    #[error(transparent)]
    Event(#[from] llmspell_events::EventError),
    /// The hook system refused an operation.
    #[error(transparent)]
    Hook(#[from] llmspell_hooks::HookError),
    /// A `BeforeEventEmit` hook refused a publish.
    #[error("publishing `{event_type}` was cancelled by hook `{hook}`: {reason}")]
    EventCancelled {
        /// The event type.
        event_type: String,
        /// The hook that cancelled.
        hook: String,
        /// Its reason.
        reason: String,
    },
    /// A tool call failed (not found, bad parameters, cancelled by a hook,
    /// timed out, or the tool's own error).
    #[error(transparent)]
    Tool(#[from] llmspell_tools::ToolError),
    /// State or sessions refused an operation (a bad key, a value over the
    /// limit, a hook's cancel, a failed migration, ...).
    #[error(transparent)]
    State(#[from] llmspell_state::StateError),
    /// An agent operation failed (bad options, the provider's error with
    /// its HTTP status and message, a lifecycle refusal, ...).
    #[error("{0}")]
    Agent(Arc<llmspell_agents::AgentError>),
    /// A script used a subscription id that is not (or no longer) its own.
    #[error("unknown subscription `{0}`; use an id returned by Event.subscribe that was not unsubscribed")]
    UnknownSubscription(String),
    /// A script hook or callback fired after the engine that registered it
    /// was dropped.
    #[error("the {language} engine that registered this hook or callback no longer exists")]
    EngineDropped {
        /// The engine's language.
        language: &'static str,
    },
    /// The script engine could not be set up.
    #[error("cannot set up the script engine: {0}")]
    Setup(String),
    /// An error from the underlying Lua VM that fits no other variant.
    #[error("Lua error: {0}")]
    Lua(Arc<mlua::Error>),
}

impl BridgeError {
    /// A [`BridgeError::InvalidArgument`].
    pub(crate) fn invalid(function: impl Into<String>, message: impl Into<String>) -> Self {
        BridgeError::InvalidArgument {
            function: function.into(),
            message: message.into(),
        }
    }
}

impl From<llmspell_agents::AgentError> for BridgeError {
    fn from(err: llmspell_agents::AgentError) -> Self {
        BridgeError::Agent(Arc::new(err))
    }
}

impl From<mlua::Error> for BridgeError {
    fn from(err: mlua::Error) -> Self {
        // A bridge error that travelled through Lua comes back as itself.
        if let Some(inner) = find_bridge_error(&err) {
            return inner;
        }
        BridgeError::Lua(Arc::new(err))
    }
}

impl From<BridgeError> for mlua::Error {
    fn from(err: BridgeError) -> Self {
        mlua::Error::external(err)
    }
}

/// The bridge error wrapped (possibly inside callback errors) in a Lua error.
pub(crate) fn find_bridge_error(err: &mlua::Error) -> Option<BridgeError> {
    match err {
        mlua::Error::ExternalError(e) => e.downcast_ref::<BridgeError>().cloned(),
        mlua::Error::CallbackError { cause, .. } => find_bridge_error(cause),
        mlua::Error::WithContext { cause, .. } => find_bridge_error(cause),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_error_survives_a_trip_through_lua() {
        let original = BridgeError::invalid("Hook.register", "bad point");
        let lua_err: mlua::Error = original.into();
        let wrapped = mlua::Error::CallbackError {
            traceback: String::new(),
            cause: Arc::new(lua_err),
        };
        let back = BridgeError::from(wrapped);
        assert!(
            matches!(back, BridgeError::InvalidArgument { ref function, .. } if function == "Hook.register")
        );
    }

    #[test]
    fn errors_are_send_sync_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<BridgeError>();
    }
}
