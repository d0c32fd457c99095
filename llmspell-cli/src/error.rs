//! The CLI error type.

use std::path::PathBuf;

/// A CLI result.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// Everything that makes an `llmspell` command fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The script file could not be read.
    #[error("cannot read script `{path}`: {source}")]
    ReadScript {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The script failed or hit a limit (the message has the Lua traceback).
    #[error(transparent)]
    Bridge(#[from] llmspell_bridge::BridgeError),
    /// Several of the scripts of one run failed; each error names its
    /// script.
    #[error("{} scripts failed:\n{}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Scripts(Vec<llmspell_bridge::BridgeError>),
    /// The event bus or store refused an operation.
    #[error("events: {0}")]
    Events(#[from] llmspell_events::EventError),
    /// The event store could not be opened or read.
    #[error("event store: {0}")]
    Storage(#[from] llmspell_storage::StorageError),
    /// State or sessions refused an operation (unknown session, bad id).
    #[error(transparent)]
    State(#[from] llmspell_state::StateError),
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    /// The configuration (`llmspell.toml`, `LLMSPELL_...` variables) is
    /// invalid; the message names the key and where it came from.
    #[error("configuration: {0}")]
    Config(String),
    /// An argument was well-formed for the parser but unusable.
    #[error("{0}")]
    Usage(String),
    /// `llmspell run` was stopped by a signal (after flushing the event
    /// store and shutting the context down).
    #[error("stopped by {signal}; the event store was flushed")]
    Interrupted {
        /// The signal.
        signal: crate::Signal,
    },
}

impl CliError {
    /// The process exit status for this error: 2 for a usage error (as
    /// for arguments the parser refuses), 128 + the signal number for
    /// [`CliError::Interrupted`] (130 for SIGINT, 143 for SIGTERM),
    /// otherwise 1.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Interrupted { signal } => signal.exit_code(),
            _ => 1,
        }
    }
}
