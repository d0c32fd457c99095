//! The run store: run records and step checkpoints in a
//! `llmspell_storage::StorageBackend`.
//!
//! # Key layout
//!
//! | key | value (JSON) |
//! |---|---|
//! | `workflows/run/<run_id>` | the run record: workflow, fingerprint, status, input, the state the run wrote, timestamps, counters |
//! | `workflows/log/<run_id>/<seq, 16 hex digits>` | a checkpoint entry: a completed step (path, output, compensation) or a decision (branches taken, loop items) |
//!
//! Run ids are UUID v7, so run records list in start order; log entries of
//! a run list in the order they were written. A checkpoint writes its
//! entries and the updated run record in one atomic batch and, with
//! [`Durability::Flushed`] (the default), flushes before the next step
//! starts: a run killed at any point resumes from its last completed step.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use llmspell_events::Durability;
use llmspell_storage::{Batch, StorageBackend};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{Result, WorkflowError};
use crate::result::StepSource;
use crate::Pattern;

const RUN: &str = "workflows/run/";
const LOG: &str = "workflows/log/";

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunStatus {
    /// Started and not finished: in progress, or interrupted (the process
    /// died) and resumable.
    Running,
    /// Finished successfully.
    Completed,
    /// Finished with a failed step (resumable unless compensated).
    Failed,
    /// Stopped by a hook's Cancel (resumable unless compensated).
    Cancelled,
}

impl RunStatus {
    /// `running`, `completed`, `failed` or `cancelled`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run as listed by [`WorkflowRuntime::runs`](crate::WorkflowRuntime::runs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunInfo {
    /// The run's id.
    pub run_id: Uuid,
    /// The workflow's name.
    pub workflow_name: String,
    /// The workflow's pattern.
    pub pattern: String,
    /// Where it stands.
    pub status: RunStatus,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When its record last changed.
    pub updated_at: DateTime<Utc>,
    /// How many steps completed (over every resume).
    pub steps_completed: u64,
    /// The path of the last completed step.
    pub last_step: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// Whether compensations ran (such a run is not resumed).
    pub compensated: bool,
}

/// The stored record of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RunRecord {
    pub(crate) run_id: Uuid,
    pub(crate) workflow_name: String,
    pub(crate) pattern: String,
    pub(crate) fingerprint: String,
    pub(crate) correlation_id: Uuid,
    pub(crate) status: RunStatus,
    /// The input the run started with (after `BeforeWorkflowStart` hooks).
    pub(crate) input: Value,
    /// State keys the run set, with their last values.
    pub(crate) state_set: Map<String, Value>,
    /// State keys the run deleted.
    pub(crate) state_deleted: Vec<String>,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) steps_completed: u64,
    pub(crate) last_step: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) compensated: bool,
    /// The sequence number of the next log entry.
    pub(crate) next_seq: u64,
}

impl RunRecord {
    pub(crate) fn info(&self) -> RunInfo {
        RunInfo {
            run_id: self.run_id,
            workflow_name: self.workflow_name.clone(),
            pattern: self.pattern.clone(),
            status: self.status,
            started_at: self.started_at,
            updated_at: self.updated_at,
            steps_completed: self.steps_completed,
            last_step: self.last_step.clone(),
            error: self.error.clone(),
            compensated: self.compensated,
        }
    }

    pub(crate) fn new(
        run_id: Uuid,
        workflow_name: &str,
        pattern: Pattern,
        fingerprint: &str,
        correlation_id: Uuid,
        input: Value,
    ) -> Self {
        let now = Utc::now();
        Self {
            run_id,
            workflow_name: workflow_name.to_owned(),
            pattern: pattern.as_str().to_owned(),
            fingerprint: fingerprint.to_owned(),
            correlation_id,
            status: RunStatus::Running,
            input,
            state_set: Map::new(),
            state_deleted: Vec::new(),
            started_at: now,
            updated_at: now,
            steps_completed: 0,
            last_step: None,
            error: None,
            compensated: false,
            next_seq: 0,
        }
    }
}

/// A compensation resolved when its step completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PendingCompensation {
    pub(crate) step: String,
    pub(crate) tool: String,
    pub(crate) input: Value,
}

/// A checkpoint log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum LogEntry {
    /// A completed step.
    Step {
        path: String,
        name: String,
        output: Value,
        duration_ms: f64,
        step_index: usize,
        #[serde(default)]
        iteration: Option<u64>,
        #[serde(default)]
        branch: Option<String>,
        source: StepSource,
        #[serde(default)]
        compensation: Option<PendingCompensation>,
    },
    /// A decision that must come out the same on resume.
    Decision { path: String, value: Value },
}

/// The run store over a backend.
#[derive(Debug, Clone)]
pub(crate) struct RunStore {
    backend: Arc<dyn StorageBackend>,
    durability: Durability,
}

fn run_key(id: Uuid) -> Vec<u8> {
    format!("{RUN}{id}").into_bytes()
}

fn log_prefix(id: Uuid) -> Vec<u8> {
    format!("{LOG}{id}/").into_bytes()
}

fn log_key(id: Uuid, seq: u64) -> Vec<u8> {
    format!("{LOG}{id}/{seq:016x}").into_bytes()
}

fn corrupt(key: &[u8], e: impl std::fmt::Display) -> WorkflowError {
    WorkflowError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    }
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| WorkflowError::Corrupt {
        key: String::new(),
        reason: format!("cannot encode a run record: {e}"),
    })
}

impl RunStore {
    pub(crate) fn new(backend: Arc<dyn StorageBackend>, durability: Durability) -> Self {
        Self {
            backend,
            durability,
        }
    }

    pub(crate) fn backend_kind(&self) -> &'static str {
        self.backend.kind()
    }

    async fn durable(&self) -> Result<()> {
        if self.durability == Durability::Flushed {
            self.backend.flush().await?;
        }
        Ok(())
    }

    /// Writes the run record.
    pub(crate) async fn put(&self, record: &RunRecord) -> Result<()> {
        self.backend
            .set(&run_key(record.run_id), &encode(record)?)
            .await?;
        self.durable().await
    }

    /// Writes log entries (numbered from `record.next_seq`, which is
    /// advanced) and the record, atomically.
    pub(crate) async fn checkpoint(
        &self,
        record: &mut RunRecord,
        entries: Vec<LogEntry>,
    ) -> Result<()> {
        let mut batch = Batch::new();
        for e in &entries {
            batch.set(log_key(record.run_id, record.next_seq), encode(e)?);
            record.next_seq += 1;
        }
        batch.set(run_key(record.run_id), encode(record)?);
        self.backend.apply_batch(batch).await?;
        self.durable().await
    }

    /// The record of `id`.
    pub(crate) async fn get(&self, id: Uuid) -> Result<Option<RunRecord>> {
        let key = run_key(id);
        match self.backend.get(&key).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| corrupt(&key, e)),
        }
    }

    /// The log entries of `id`, in order.
    pub(crate) async fn entries(&self, id: Uuid) -> Result<Vec<LogEntry>> {
        self.backend
            .scan_prefix(&log_prefix(id), None)
            .await?
            .into_iter()
            .map(|(k, v)| serde_json::from_slice(&v).map_err(|e| corrupt(&k, e)))
            .collect()
    }

    /// Every run, oldest first.
    pub(crate) async fn list(&self) -> Result<Vec<RunInfo>> {
        self.backend
            .scan_prefix(RUN.as_bytes(), None)
            .await?
            .into_iter()
            .map(|(k, v)| {
                serde_json::from_slice::<RunRecord>(&v)
                    .map(|r| r.info())
                    .map_err(|e| corrupt(&k, e))
            })
            .collect()
    }

    /// Removes a run and its log. Returns whether it existed.
    pub(crate) async fn delete(&self, id: Uuid) -> Result<bool> {
        let existed = self.backend.exists(&run_key(id)).await?;
        let mut batch = Batch::new();
        for k in self.backend.keys(&log_prefix(id)).await? {
            batch.delete(k);
        }
        batch.delete(run_key(id));
        self.backend.apply_batch(batch).await?;
        self.durable().await?;
        Ok(existed)
    }
}
