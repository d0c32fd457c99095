//! The storage error type.

use std::path::PathBuf;
use std::sync::Arc;

/// A storage result.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Everything that can go wrong in `llmspell-storage`.
///
/// Causes are kept behind `Arc` so the error is `Clone + Send + Sync` and can
/// cross task and script-engine boundaries.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A configuration string was not one of the accepted forms.
    #[error("invalid storage configuration `{input}`: {reason}; valid forms are `memory` and `sled:<path>`")]
    InvalidConfig {
        /// The string that was given.
        input: String,
        /// What was wrong with it.
        reason: String,
    },

    /// The database at `path` is held: by another process, or (rarely) by
    /// this process's sled threads still closing it.
    #[error("{}", locked_message(path, *holder))]
    Locked {
        /// The database path.
        path: PathBuf,
        /// Who holds it.
        holder: LockHolder,
    },

    /// The database at `path` is damaged: sled reported corrupted data or
    /// failed inside (a panic, caught at the storage boundary). The handle
    /// that saw it refuses every later operation.
    #[error("sled database at `{path}` is damaged ({operation}: {detail}); restore it from a backup, or move it aside to start a new one")]
    Corrupt {
        /// The database path.
        path: PathBuf,
        /// The operation that found it (`open`, `get`, `scan`, ...).
        operation: &'static str,
        /// What sled reported.
        detail: String,
    },

    /// The database at `path` could not be opened.
    #[error("cannot open sled database at `{path}`: {source}")]
    Open {
        /// The database path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Arc<sled::Error>,
    },

    /// An operation on an open backend failed.
    #[error("storage {operation} failed: {source}")]
    Backend {
        /// The operation (`get`, `set`, `flush`, ...).
        operation: &'static str,
        /// The cause.
        #[source]
        source: Arc<sled::Error>,
    },

    /// A stored value could not be decoded as the requested type.
    #[error("value under key {key} is not a valid {type_name}: {source}")]
    Deserialize {
        /// The key, escaped for display.
        key: String,
        /// The requested Rust type.
        type_name: &'static str,
        /// The decoding error.
        #[source]
        source: Arc<serde_json::Error>,
    },

    /// A value could not be encoded.
    #[error("cannot encode value for key {key} as JSON: {source}")]
    Serialize {
        /// The key, escaped for display.
        key: String,
        /// The encoding error.
        #[source]
        source: Arc<serde_json::Error>,
    },
}

/// Who holds a database lock; see [`StorageError::Locked`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockHolder {
    /// Another process has the database open.
    OtherProcess,
    /// This process closed the database, and sled's background threads had
    /// not released it within the wait.
    ThisProcess,
}

fn locked_message(path: &std::path::Path, holder: LockHolder) -> String {
    match holder {
        LockHolder::OtherProcess => format!(
            "sled database at `{}` is locked by another process; close that process or choose another path",
            path.display()
        ),
        LockHolder::ThisProcess => format!(
            "sled database at `{}` is still held by this process: it was closed, but sled had not released its lock after waiting; retry later",
            path.display()
        ),
    }
}

impl StorageError {
    pub(crate) fn backend(operation: &'static str, source: sled::Error) -> Self {
        Self::Backend {
            operation,
            source: Arc::new(source),
        }
    }
}

/// Renders a byte key for error messages: UTF-8 keys as quoted text, other
/// bytes escaped.
pub(crate) fn display_key(key: &[u8]) -> String {
    format!("\"{}\"", key.escape_ascii())
}
