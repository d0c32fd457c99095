//! Selecting a backend by configuration string.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use crate::{MemoryBackend, Result, SledBackend, StorageBackend, StorageError};

/// Which backend to open: `memory` or `sled:<path>`.
///
/// ```
/// use llmspell_storage::StorageConfig;
///
/// let cfg: StorageConfig = "sled:/var/lib/llmspell/events".parse().unwrap();
/// assert_eq!(cfg, StorageConfig::Sled("/var/lib/llmspell/events".into()));
/// assert_eq!(cfg.to_string(), "sled:/var/lib/llmspell/events");
///
/// let err = "redis://localhost".parse::<StorageConfig>().unwrap_err();
/// assert!(err.to_string().contains("valid forms are `memory` and `sled:<path>`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageConfig {
    /// An in-memory backend; contents are lost when it is dropped.
    Memory,
    /// A sled database in the given directory (created if missing).
    Sled(PathBuf),
}

impl StorageConfig {
    /// Opens the configured backend.
    ///
    /// # Errors
    /// The errors of [`SledBackend::open`] for `sled:` configurations.
    pub fn open(&self) -> Result<Arc<dyn StorageBackend>> {
        Ok(match self {
            Self::Memory => Arc::new(MemoryBackend::new()),
            Self::Sled(path) => Arc::new(SledBackend::open(path)?),
        })
    }
}

impl FromStr for StorageConfig {
    type Err = StorageError;

    fn from_str(input: &str) -> Result<Self> {
        let trimmed = input.trim();
        if trimmed == "memory" {
            return Ok(Self::Memory);
        }
        if let Some(path) = trimmed.strip_prefix("sled:") {
            if path.is_empty() {
                return Err(StorageError::InvalidConfig {
                    input: input.to_owned(),
                    reason: "the sled path is empty".to_owned(),
                });
            }
            return Ok(Self::Sled(PathBuf::from(path)));
        }
        Err(StorageError::InvalidConfig {
            input: input.to_owned(),
            reason: "unknown backend".to_owned(),
        })
    }
}

impl fmt::Display for StorageConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("memory"),
            Self::Sled(path) => write!(f, "sled:{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays() {
        for (input, expect) in [
            ("memory", Some(StorageConfig::Memory)),
            (" memory ", Some(StorageConfig::Memory)),
            ("sled:./data", Some(StorageConfig::Sled("./data".into()))),
            ("sled:", None),
            ("Memory", None),
            ("", None),
            ("postgres:x", None),
        ] {
            let got = input.parse::<StorageConfig>().ok();
            assert_eq!(got, expect, "input {input:?}");
            if let Some(cfg) = got {
                assert_eq!(cfg.to_string().parse::<StorageConfig>().ok(), Some(cfg));
            }
        }
    }
}
