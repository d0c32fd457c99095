//! [`Checkpoint`]: a named snapshot of a session's scope.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{SessionId, StoredValue};

/// A snapshot of a session's scope, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The session.
    pub session: SessionId,
    /// Position among the session's checkpoints (from 1).
    pub seq: u32,
    /// The name (given, or `checkpoint-<seq>`).
    pub name: String,
    /// When it was taken.
    pub created_at: DateTime<Utc>,
    /// The scope's values at that moment.
    pub values: Vec<StoredValue>,
}

impl Checkpoint {
    /// The summary without the values.
    #[must_use]
    pub fn info(&self) -> CheckpointInfo {
        CheckpointInfo {
            session: self.session,
            seq: self.seq,
            name: self.name.clone(),
            created_at: self.created_at,
            keys: self.values.len(),
        }
    }
}

/// A checkpoint without its values: what listings show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CheckpointInfo {
    /// The session.
    pub session: SessionId,
    /// Position among the session's checkpoints (from 1).
    pub seq: u32,
    /// The name.
    pub name: String,
    /// When it was taken.
    pub created_at: DateTime<Utc>,
    /// How many keys it holds.
    pub keys: usize,
}

/// Checks a checkpoint name: 1 to 128 characters, no control characters.
pub(crate) fn validate_name(name: &str) -> crate::Result<()> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.chars().count() > 128 {
        "it is longer than 128 characters"
    } else if name.chars().any(char::is_control) {
        "it contains a control character"
    } else {
        return Ok(());
    };
    Err(crate::StateError::InvalidCheckpointName {
        name: crate::key::shorten(name),
        reason: reason.to_owned(),
    })
}
