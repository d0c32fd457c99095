//! The crate's error type.

use std::time::Duration;

use crate::AgentState;

/// Everything that can go wrong in this crate: lifecycle, providers, the
/// tool loop and replay transcripts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// A lifecycle transition the transition table does not allow.
    #[error("agent `{agent}`: illegal state transition from {from} to {to}")]
    IllegalTransition {
        /// The agent.
        agent: String,
        /// The state it was in.
        from: AgentState,
        /// The state that was asked for.
        to: AgentState,
    },
    /// The agent was terminated and accepts no more work.
    #[error("agent `{agent}` is terminated and accepts no more work")]
    Terminated {
        /// The agent.
        agent: String,
    },
    /// The agent cannot take this call in its current state (e.g. paused).
    #[error("agent `{agent}` cannot {action} while {state} (it can when ready)")]
    NotReady {
        /// The agent.
        agent: String,
        /// What was asked (`invoke`, `pause`, ...).
        action: &'static str,
        /// The state it is in.
        state: AgentState,
    },
    /// An execution of the agent called the agent again from inside itself
    /// (e.g. from a stream callback); it would wait for itself forever.
    #[error("agent `{agent}` was invoked from inside its own execution")]
    Reentrant {
        /// The agent.
        agent: String,
    },
    /// The execution was cancelled (explicitly, by dropping its future, or
    /// by a hook).
    #[error("agent `{agent}`: execution cancelled: {reason}")]
    Cancelled {
        /// The agent.
        agent: String,
        /// Why.
        reason: String,
    },
    /// A hook cancelled the operation (`Cancel` at an agent point).
    #[error("agent `{agent}`: cancelled by hook `{hook}` at {point}: {reason}")]
    HookCancelled {
        /// The agent.
        agent: String,
        /// The hook point.
        point: String,
        /// The hook.
        hook: String,
        /// The hook's reason.
        reason: String,
    },
    /// A hook's result could not be carried out (retries exhausted, too
    /// many redirects, a redirect where none is allowed).
    #[error("agent `{agent}`: {message}")]
    Hook {
        /// The agent.
        agent: String,
        /// What happened.
        message: String,
    },
    /// The agent's circuit breaker is open after repeated provider failures.
    #[error(
        "agent `{agent}`: circuit breaker open after repeated provider failures; try again later"
    )]
    CircuitOpen {
        /// The agent.
        agent: String,
    },
    /// The model kept asking for tools for more than `max_turns` turns.
    #[error(
        "agent `{agent}`: the model was still calling tools after max_turns = {max_turns} turns"
    )]
    MaxTurns {
        /// The agent.
        agent: String,
        /// The limit.
        max_turns: u32,
    },
    /// No agent with this name is registered.
    #[error("no agent named `{0}` is registered")]
    NotFound(String),
    /// An agent with this name is already registered.
    #[error("an agent named `{0}` is already registered")]
    AlreadyExists(String),
    /// A configuration value is invalid.
    #[error("invalid agent configuration: {0}")]
    Config(String),
    /// The model string names no known provider.
    #[error("unknown provider `{provider}` in model `{model}`; valid providers: openai, ollama, anthropic, replay (write `provider/model`)")]
    UnknownProvider {
        /// The provider part.
        provider: String,
        /// The whole model string.
        model: String,
    },
    /// The provider needs an API key and the variable holding it is unset.
    #[error("{provider}: no API key: set the environment variable {env} (or name another variable with api_key_env)")]
    MissingApiKey {
        /// The provider.
        provider: String,
        /// The variable that was read.
        env: String,
    },
    /// The provider answered with an HTTP error status.
    #[error("{provider} returned HTTP {status}: {message}")]
    Api {
        /// The provider.
        provider: String,
        /// The HTTP status.
        status: u16,
        /// The provider's own error message (or the body).
        message: String,
        /// What the provider's `Retry-After` asked for, if it sent one.
        retry_after: Option<Duration>,
    },
    /// The provider did not answer within the request timeout.
    #[error("{provider}: no answer within the request timeout of {timeout:?}")]
    Timeout {
        /// The provider.
        provider: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The connection failed or dropped (before or during a response).
    #[error("{provider}: connection failed: {message}")]
    Connection {
        /// The provider.
        provider: String,
        /// What happened.
        message: String,
    },
    /// The provider's answer could not be understood.
    #[error("{provider}: invalid response: {message}")]
    InvalidResponse {
        /// The provider.
        provider: String,
        /// What was wrong.
        message: String,
    },
    /// A replay transcript could not be read, written or matched.
    #[error("replay transcript {path}: {message}")]
    Replay {
        /// The transcript file.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// A tool call made directly by the agent failed.
    #[error(transparent)]
    Tool(#[from] llmspell_tools::ToolError),
}

impl AgentError {
    /// The HTTP status of a provider error, if it had one.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether retrying the same request later may succeed: rate limits
    /// (429), server errors (5xx), 408, timeouts and connection failures.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Api { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            Self::Timeout { .. } | Self::Connection { .. } => true,
            _ => false,
        }
    }

    /// Whether this error is the provider's (and counts against the
    /// agent's circuit breaker): HTTP errors other than the client's own
    /// mistakes, timeouts, connection failures and unreadable answers.
    #[must_use]
    pub fn is_provider_failure(&self) -> bool {
        match self {
            Self::Api { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            Self::Timeout { .. } | Self::Connection { .. } | Self::InvalidResponse { .. } => true,
            _ => false,
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, AgentError>;
