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
    /// The call was refused by the tool's security policy (sandbox escape,
    /// program not allow-listed, archive bomb, ...).
    #[error("tool `{tool}` refused the call: {reason}")]
    SecurityViolation {
        /// The tool.
        tool: String,
        /// Why it was refused and how to allow it, if it can be.
        reason: String,
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
