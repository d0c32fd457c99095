//! What the store keeps about a session: [`SessionRecord`], its
//! [`SessionStatus`], and the [`SessionOutcome`] a run ends with.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::SessionId;

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SessionStatus {
    /// A run is in progress, or its process died without ending it
    /// (SIGKILL, a crash): `--resume` continues such a session.
    Running,
    /// The script finished without error.
    Completed,
    /// The script raised an error.
    Failed,
    /// Stopped by Ctrl-C or a termination signal.
    Interrupted,
    /// Stopped by a limit (time, memory, instructions).
    LimitExceeded,
}

impl SessionStatus {
    /// The name used in the JSON form and the CLI (`limit_exceeded`).
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            SessionStatus::Running => "running",
            SessionStatus::Completed => "completed",
            SessionStatus::Failed => "failed",
            SessionStatus::Interrupted => "interrupted",
            SessionStatus::LimitExceeded => "limit_exceeded",
        }
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a run ended, recorded by [`Session::end`](crate::Session::end).
///
/// ```
/// use llmspell_state::{SessionOutcome, SessionStatus};
/// let o = SessionOutcome::failed("boom").with_exit_code(1);
/// assert_eq!(o.status, SessionStatus::Failed);
/// assert_eq!(o.exit_code, Some(1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionOutcome {
    /// The final status.
    pub status: SessionStatus,
    /// The process exit code, when known.
    pub exit_code: Option<i32>,
    /// The error message of a failed, interrupted or limited run.
    pub error: Option<String>,
}

impl SessionOutcome {
    /// A run that finished without error (exit code 0).
    #[must_use]
    pub fn completed() -> Self {
        Self {
            status: SessionStatus::Completed,
            exit_code: Some(0),
            error: None,
        }
    }

    /// A run whose script raised `error`.
    #[must_use]
    pub fn failed(error: impl Into<String>) -> Self {
        Self {
            status: SessionStatus::Failed,
            exit_code: None,
            error: Some(error.into()),
        }
    }

    /// A run stopped by a signal (`reason` names it).
    #[must_use]
    pub fn interrupted(reason: impl Into<String>) -> Self {
        Self {
            status: SessionStatus::Interrupted,
            exit_code: None,
            error: Some(reason.into()),
        }
    }

    /// A run stopped by a limit (`reason` names it).
    #[must_use]
    pub fn limit_exceeded(reason: impl Into<String>) -> Self {
        Self {
            status: SessionStatus::LimitExceeded,
            exit_code: None,
            error: Some(reason.into()),
        }
    }

    /// Sets the exit code.
    #[must_use]
    pub fn with_exit_code(mut self, code: i32) -> Self {
        self.exit_code = Some(code);
        self
    }
}

/// One session as the store records it (the JSON of
/// `llmspell sessions show --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionRecord {
    /// The id.
    pub id: SessionId,
    /// The script the session runs, as given on the command line.
    pub script: Option<String>,
    /// When the first run started.
    pub started_at: DateTime<Utc>,
    /// When the latest run (the first, or a resume) started.
    pub last_started_at: DateTime<Utc>,
    /// When the latest run ended (`None` while running, or after a crash).
    pub ended_at: Option<DateTime<Utc>>,
    /// Where the session stands.
    pub status: SessionStatus,
    /// The latest run's exit code.
    pub exit_code: Option<i32>,
    /// The latest run's error.
    pub error: Option<String>,
    /// How many runs: 1, plus one per resume.
    pub runs: u32,
    /// The process of the latest run.
    pub pid: Option<u32>,
    /// How many checkpoints were taken.
    pub checkpoints: u32,
    /// The name of the last checkpoint.
    pub last_checkpoint: Option<String>,
}
