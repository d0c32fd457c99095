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

    /// The database at `path` is held by another process.
    #[error("sled database at `{path}` is locked by another process; close that process or choose another path")]
    Locked {
        /// The database path.
        path: PathBuf,
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
