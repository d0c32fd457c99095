//! The crate's error type.

use std::sync::Arc;
use std::time::Duration;

/// Errors from registering, validating and running tools.
///
/// Every message says what was wrong and, where there is a fixed set of valid
/// choices, what is valid. The type is `Clone + Send + Sync` so it can cross
/// task and script-engine boundaries; I/O causes are kept in an [`Arc`].
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// No tool with this name is registered.
    #[error("no tool named `{name}` is registered; registered tools: [{available}]")]
    NotFound {
        /// The name that was looked up.
        name: String,
        /// Comma-separated names of the registered tools.
        available: String,
    },
    /// A tool with this name is already registered.
    #[error(
        "a tool named `{name}` is already registered; unregister it first or pick another name"
    )]
    AlreadyRegistered {
        /// The duplicate name.
        name: String,
    },
    /// A tool's declared parameter schema is not a valid JSON Schema.
    #[error("tool `{tool}` declares an invalid parameter schema: {message}")]
    InvalidSchema {
        /// The tool.
        tool: String,
        /// What the schema compiler reported.
        message: String,
    },
    /// A parameter is missing, of the wrong type, or out of range.
    #[error("invalid parameter `{parameter}` for tool `{tool}`: {message}")]
    InvalidParameter {
        /// The tool.
        tool: String,
        /// The offending parameter (top-level property name; `params` for the
        /// whole object).
        parameter: String,
        /// What was wrong and what is valid.
        message: String,
    },
    /// The tool ran but could not do its job (bad input data, a failed
    /// operation).
    #[error("tool `{tool}` failed: {message}")]
    Execution {
        /// The tool.
        tool: String,
        /// What went wrong.
        message: String,
    },
    /// The call was refused for security reasons that name no policy rule
    /// (for custom tools; the standard tools return
    /// [`ToolError::PolicyViolation`]).
    #[error("tool `{tool}` refused the call: {reason}")]
    SecurityViolation {
        /// The tool.
        tool: String,
        /// Why it was refused and how to allow it, if it can be.
        reason: String,
    },
    /// The call was refused by a rule of the tool's security policy (a path
    /// outside the file roots, a program not allow-listed, a secret
    /// variable, an archive bomb, ...). `rule` is a stable snake_case name
    /// (e.g. `path_outside_roots`, `program_not_allowed`; the list is in
    /// `docs/technical/tools.md`); `detail` says what was refused and how to
    /// allow it, if it can be. Not a failure of the tool and not retryable.
    #[error("tool `{tool}` refused the call ({rule}): {detail}")]
    PolicyViolation {
        /// The tool.
        tool: String,
        /// The policy rule that refused the call.
        rule: String,
        /// What was refused, and how to allow it if it can be.
        detail: String,
    },
    /// The tool (or a process it ran) did not finish in time.
    #[error("tool `{tool}` timed out after {timeout:?}")]
    Timeout {
        /// The tool.
        tool: String,
        /// The limit that was exceeded.
        timeout: Duration,
    },
    /// An I/O operation failed.
    #[error("tool `{tool}`: {context}: {source}")]
    Io {
        /// The tool.
        tool: String,
        /// What the tool was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A hook cancelled the call.
    #[error("call to tool `{tool}` was cancelled by hook `{hook}`: {reason}")]
    Cancelled {
        /// The tool.
        tool: String,
        /// The hook that cancelled.
        hook: String,
        /// The hook's reason.
        reason: String,
    },
    /// The tool's circuit breaker is open after repeated failures.
    #[error(
        "tool `{tool}` is failing repeatedly and its circuit breaker is open; try again later"
    )]
    CircuitOpen {
        /// The tool.
        tool: String,
    },
    /// Hooks redirected the call too many times (a redirect loop?).
    #[error("a tool call was redirected more than {limit} times (a redirect loop?); last target `{tool}`")]
    TooManyRedirects {
        /// The last target.
        tool: String,
        /// The limit.
        limit: u32,
    },
    /// A hook kept asking to retry before the tool could run.
    #[error("hook `{hook}` asked to retry the call to `{tool}` more than {max_attempts} times")]
    RetriesExhausted {
        /// The tool.
        tool: String,
        /// The hook.
        hook: String,
        /// The retries the hook allowed.
        max_attempts: u32,
    },
    /// The configuration given to the tools is unusable.
    #[error("invalid tool configuration: {0}")]
    Config(String),
}

impl ToolError {
    /// An [`ToolError::InvalidParameter`].
    pub fn invalid_parameter(
        tool: impl Into<String>,
        parameter: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::InvalidParameter {
            tool: tool.into(),
            parameter: parameter.into(),
            message: message.into(),
        }
    }

    /// An [`ToolError::Execution`].
    pub fn execution(tool: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Execution {
            tool: tool.into(),
            message: message.into(),
        }
    }

    /// A [`ToolError::SecurityViolation`].
    pub fn security(tool: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::SecurityViolation {
            tool: tool.into(),
            reason: reason.into(),
        }
    }

    /// Whether running the tool again might succeed: execution failures,
    /// I/O errors, timeouts and an open breaker; not bad parameters,
    /// refusals (security or policy), cancellations or a missing tool.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Execution { .. }
                | Self::Io { .. }
                | Self::Timeout { .. }
                | Self::CircuitOpen { .. }
        )
    }

    /// Whether this error counts against the tool's circuit breaker: the
    /// tool failed (execution, I/O, timeout), not the caller (a policy or
    /// security refusal is the caller's doing).
    #[must_use]
    pub(crate) fn is_tool_failure(&self) -> bool {
        matches!(
            self,
            Self::Execution { .. } | Self::Io { .. } | Self::Timeout { .. }
        )
    }

    /// A [`ToolError::PolicyViolation`].
    pub fn policy(
        tool: impl Into<String>,
        rule: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self::PolicyViolation {
            tool: tool.into(),
            rule: rule.into(),
            detail: detail.into(),
        }
    }

    /// An [`ToolError::Io`].
    pub fn io(tool: impl Into<String>, context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            tool: tool.into(),
            context: context.into(),
            source: Arc::new(source),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = ToolError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_refusal_is_neither_a_tool_failure_nor_retryable() {
        let e = ToolError::policy("t", "path_outside_roots", "`/etc` is outside");
        assert!(!e.is_tool_failure());
        assert!(!e.is_retryable());
        assert_eq!(
            e.to_string(),
            "tool `t` refused the call (path_outside_roots): `/etc` is outside"
        );
    }
}
