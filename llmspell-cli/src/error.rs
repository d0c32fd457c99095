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
    /// The script failed or hit a limit (the message has the script's
    /// traceback, without the bridge's internal frames; memory sizes in
    /// MiB).
    #[error("{}", crate::traceback::render(.0))]
    Bridge(#[from] llmspell_bridge::BridgeError),
    /// Several of the scripts of one run failed; each error names its
    /// script.
    #[error("{} scripts failed:\n{}", .0.len(), .0.iter().map(crate::traceback::render).collect::<Vec<_>>().join("\n"))]
    Scripts(Vec<llmspell_bridge::BridgeError>),
    /// A read-only command was given a store that does not exist (it is
    /// never created).
    #[error("no event store at `{}`: `llmspell run` creates it when it persists events (default `sled:.llmspell/events`); give the store of a run with --store sled:<path>", path.display())]
    MissingStore {
        /// The directory given.
        path: PathBuf,
    },
    /// The store is held by another process that does not serve it on its
    /// socket.
    #[error("the event store `{}` is locked by another process, and no `llmspell run` serves it on `{}`; wait for that process to end", path.display(), socket.display())]
    StoreBusy {
        /// The store directory.
        path: PathBuf,
        /// The socket that was tried.
        socket: PathBuf,
    },
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

/// Exit status: a failure not listed below (a script error, a storage
/// error...).
pub const EXIT_FAILURE: u8 = 1;
/// Exit status: a usage error (bad or missing arguments, as clap reports
/// them too).
pub const EXIT_USAGE: u8 = 2;
/// Exit status: a script was refused before it ran: it cannot be read or
/// does not compile (a syntax error).
pub const EXIT_REFUSED: u8 = 3;
/// Exit status: a script hit a limit other than time: the memory limit
/// (`--memory-limit-mib`), or JavaScript's loop-iteration or recursion
/// limit.
pub const EXIT_LIMIT: u8 = 4;
/// Exit status: a script exceeded `--timeout-secs` (as `timeout(1)`).
pub const EXIT_TIMEOUT: u8 = 124;

/// The exit status of one script error.
fn bridge_exit_code(e: &llmspell_bridge::BridgeError) -> u8 {
    use llmspell_bridge::BridgeError as B;
    match e {
        B::Timeout { .. } | B::Runaway { .. } => EXIT_TIMEOUT,
        B::MemoryLimit { .. } | B::ResourceLimit { .. } => EXIT_LIMIT,
        B::Script { message, .. } if crate::traceback::is_syntax_error(message) => EXIT_REFUSED,
        _ => EXIT_FAILURE,
    }
}

impl CliError {
    /// The process exit status for this error: [`EXIT_USAGE`] (2) for a
    /// usage error, [`EXIT_TIMEOUT`] (124) for a script timeout,
    /// [`EXIT_LIMIT`] (4) for another limit, [`EXIT_REFUSED`] (3) for a
    /// script that cannot be read or compiled, 128 + the signal number for
    /// [`CliError::Interrupted`] (130 for SIGINT, 143 for SIGTERM),
    /// otherwise [`EXIT_FAILURE`] (1). When several scripts failed, the
    /// first one's status.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::ReadScript { .. } => EXIT_REFUSED,
            CliError::Bridge(e) => bridge_exit_code(e),
            CliError::Scripts(errors) => errors.first().map_or(EXIT_FAILURE, bridge_exit_code),
            CliError::Interrupted { signal } => signal.exit_code(),
            _ => EXIT_FAILURE,
        }
    }
}
