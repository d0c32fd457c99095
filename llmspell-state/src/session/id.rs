//! [`SessionId`]: a UUID v7 naming one session.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::StateError;

/// The id of a session: a UUID v7, so ids sort by creation time (and the
/// store lists sessions in the order they started).
///
/// ```
/// use llmspell_state::SessionId;
/// let id = SessionId::new();
/// assert_eq!(id.to_string().parse::<SessionId>().unwrap(), id);
/// assert!("not-a-uuid".parse::<SessionId>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(Uuid);

impl SessionId {
    /// A fresh id (UUID v7: the current time plus random bits).
    #[must_use]
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// The UUID.
    #[must_use]
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl Default for SessionId {
    fn default() -> Self {
        Self::new()
    }
}

impl From<Uuid> for SessionId {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl FromStr for SessionId {
    type Err = StateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::try_parse(s)
            .map(Self)
            .map_err(|e| StateError::InvalidSessionId {
                input: crate::key::shorten(s),
                reason: e.to_string(),
            })
    }
}
