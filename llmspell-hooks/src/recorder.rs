//! [`HookRecorder`] and [`HookReplayer`]: record hook executions (context
//! in, result out) to a [`StorageBackend`] and replay them later against the
//! same or a changed hook.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use llmspell_storage::{StorageBackend, StorageExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::redact::Redactor;
use crate::{
    Hook, HookContext, HookData, HookError, HookMetadata, HookResult, ReplayableHook, Result,
};

/// The key prefix of every recording.
const PREFIX: &str = "hook_replay/";

/// What a recorded execution returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum RecordedOutcome {
    /// The hook returned a result.
    Result(HookResult),
    /// The hook failed with this message.
    Error(String),
}

/// One recorded hook execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RecordedExecution {
    /// Unique id of the recording.
    pub id: Uuid,
    /// The hook's [`ReplayableHook::replay_id`].
    pub hook_id: String,
    /// When it ran.
    pub recorded_at: DateTime<Utc>,
    /// How long the hook took, in microseconds.
    pub duration_us: u64,
    /// The context as [`ReplayableHook::serialize_context`] encoded it
    /// (redacted when it is JSON and the recorder redacts), hex in storage.
    #[serde(with = "hex_bytes")]
    pub context: Vec<u8>,
    /// What the hook returned.
    pub outcome: RecordedOutcome,
    /// The context data after the hook ran (it may change it).
    pub data_out: HookData,
}

/// Records hook executions into a [`StorageBackend`] under
/// `hook_replay/<hook id>/<time>-<uuid>` (JSON values), in time order.
///
/// Secrets are redacted from the recorded context, result and data with
/// the default [`Redactor`] unless configured otherwise; a replay then sees
/// `[REDACTED]` where a secret was.
#[derive(Clone)]
pub struct HookRecorder {
    storage: Arc<dyn StorageBackend>,
    redactor: Option<Redactor>,
}

impl fmt::Debug for HookRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookRecorder")
            .field("storage", &self.storage.kind())
            .field("redacts", &self.redactor.is_some())
            .finish()
    }
}

fn storage_err(e: llmspell_storage::StorageError) -> HookError {
    HookError::Storage(e.to_string())
}

/// `hook_id` made safe as one key segment.
fn segment(hook_id: &str) -> String {
    hook_id.replace('%', "%25").replace('/', "%2F")
}

impl HookRecorder {
    /// A recorder writing to `storage`, with default redaction.
    #[must_use]
    pub fn new(storage: Arc<dyn StorageBackend>) -> Self {
        Self {
            storage,
            redactor: Some(Redactor::new()),
        }
    }

    /// Uses `redactor` (`None` records everything verbatim).
    #[must_use]
    pub fn with_redactor(mut self, redactor: Option<Redactor>) -> Self {
        self.redactor = redactor;
        self
    }

    /// Runs `hook` on `ctx`, records the execution and returns what the hook
    /// returned.
    ///
    /// # Errors
    /// The hook's own error (after it was recorded), or
    /// [`HookError::Serialization`] / [`HookError::Storage`] when recording
    /// fails.
    pub async fn record<H: ReplayableHook + ?Sized>(
        &self,
        hook: &H,
        ctx: &mut HookContext,
    ) -> Result<HookResult> {
        let context = hook.serialize_context(ctx)?;
        let recorded_at = Utc::now();
        let start = Instant::now();
        let result = hook.execute(ctx).await;
        let duration_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        let outcome = match &result {
            Ok(r) => RecordedOutcome::Result(r.clone()),
            Err(e) => RecordedOutcome::Error(e.to_string()),
        };
        let execution = RecordedExecution {
            id: Uuid::new_v4(),
            hook_id: hook.replay_id(),
            recorded_at,
            duration_us,
            context,
            outcome,
            data_out: ctx.data.clone(),
        };
        self.store(execution).await?;
        result
    }

    /// Stores one execution (redacted first when the recorder redacts).
    ///
    /// # Errors
    /// [`HookError::Serialization`] or [`HookError::Storage`].
    pub async fn store(&self, mut execution: RecordedExecution) -> Result<()> {
        if let Some(r) = &self.redactor {
            redact_execution(r, &mut execution)?;
        }
        let nanos = execution
            .recorded_at
            .timestamp_nanos_opt()
            .map_or(0, |n| u64::try_from(n).unwrap_or(0));
        let key = format!(
            "{PREFIX}{}/{nanos:020}-{}",
            segment(&execution.hook_id),
            execution.id
        );
        self.storage
            .set_json(key.as_bytes(), &execution)
            .await
            .map_err(storage_err)
    }

    /// The recorded executions of `hook_id`, oldest first.
    ///
    /// # Errors
    /// [`HookError::Storage`], or [`HookError::Serialization`] for a
    /// corrupt record.
    pub async fn executions(&self, hook_id: &str) -> Result<Vec<RecordedExecution>> {
        let prefix = format!("{PREFIX}{}/", segment(hook_id));
        let entries = self
            .storage
            .scan_prefix(prefix.as_bytes(), None)
            .await
            .map_err(storage_err)?;
        entries
            .iter()
            .map(|(_, v)| serde_json::from_slice(v).map_err(HookError::from))
            .collect()
    }

    /// Deletes the recordings of `hook_id`; returns how many there were.
    ///
    /// # Errors
    /// [`HookError::Storage`].
    pub async fn clear(&self, hook_id: &str) -> Result<usize> {
        let prefix = format!("{PREFIX}{}/", segment(hook_id));
        let keys = self
            .storage
            .keys(prefix.as_bytes())
            .await
            .map_err(storage_err)?;
        for k in &keys {
            self.storage.delete(k).await.map_err(storage_err)?;
        }
        Ok(keys.len())
    }

    /// Wraps `hook` so that every execution (e.g. through a
    /// [`crate::HookExecutor`]) is recorded here.
    #[must_use]
    pub fn recording<H: ReplayableHook>(&self, hook: H) -> RecordingHook<H> {
        RecordingHook {
            inner: hook,
            recorder: self.clone(),
        }
    }
}

fn redact_execution(r: &Redactor, e: &mut RecordedExecution) -> Result<()> {
    if let Ok(mut v) = serde_json::from_slice::<Value>(&e.context) {
        if r.redact_value(&mut v) > 0 {
            e.context = serde_json::to_vec(&v)?;
        }
    }
    let mut data = Value::Object(std::mem::take(&mut e.data_out));
    r.redact_value(&mut data);
    if let Value::Object(m) = data {
        e.data_out = m;
    }
    match &mut e.outcome {
        RecordedOutcome::Result(res) => {
            let mut v = serde_json::to_value(&*res)?;
            if r.redact_value(&mut v) > 0 {
                *res = serde_json::from_value(v)?;
            }
        }
        RecordedOutcome::Error(msg) => *msg = r.redact_str(msg).into_owned(),
    }
    Ok(())
}

/// A hook that records every execution of `H` into a [`HookRecorder`];
/// see [`HookRecorder::recording`].
#[derive(Debug)]
pub struct RecordingHook<H> {
    inner: H,
    recorder: HookRecorder,
}

#[async_trait]
impl<H: ReplayableHook> Hook for RecordingHook<H> {
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
        self.recorder.record(&self.inner, ctx).await
    }
    fn metadata(&self) -> HookMetadata {
        self.inner.metadata()
    }
    fn should_execute(&self, ctx: &HookContext) -> bool {
        self.inner.should_execute(ctx)
    }
}

/// Where a replayed execution differs from its recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReplayDifference {
    /// The recording's id.
    pub execution_id: Uuid,
    /// Its position in the replayed list.
    pub index: usize,
    /// What was recorded.
    pub recorded: RecordedOutcome,
    /// What the hook returned now.
    pub replayed: RecordedOutcome,
    /// Whether the results differ.
    pub result_differs: bool,
    /// Whether the data after the hook differs.
    pub data_differs: bool,
}

/// The result of a replay.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReplayReport {
    /// Executions replayed.
    pub total: usize,
    /// Executions whose result and data matched.
    pub matched: usize,
    /// The others.
    pub differences: Vec<ReplayDifference>,
}

impl ReplayReport {
    /// Whether every replay matched its recording.
    #[must_use]
    pub fn is_identical(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Re-runs recorded contexts against a hook and reports differences.
#[derive(Debug, Clone, Copy, Default)]
pub struct HookReplayer;

impl HookReplayer {
    /// Replays `executions` against `hook` in order.
    ///
    /// # Errors
    /// [`HookError::Serialization`] when a recorded context cannot be
    /// decoded by `hook`.
    pub async fn replay<H: ReplayableHook + ?Sized>(
        hook: &H,
        executions: &[RecordedExecution],
    ) -> Result<ReplayReport> {
        let mut report = ReplayReport {
            total: executions.len(),
            ..ReplayReport::default()
        };
        for (index, rec) in executions.iter().enumerate() {
            let mut ctx = hook.deserialize_context(&rec.context)?;
            let replayed = match hook.execute(&mut ctx).await {
                Ok(r) => RecordedOutcome::Result(r),
                Err(e) => RecordedOutcome::Error(e.to_string()),
            };
            let result_differs = replayed != rec.outcome;
            let data_differs = ctx.data != rec.data_out;
            if result_differs || data_differs {
                report.differences.push(ReplayDifference {
                    execution_id: rec.id,
                    index,
                    recorded: rec.outcome.clone(),
                    replayed,
                    result_differs,
                    data_differs,
                });
            } else {
                report.matched += 1;
            }
        }
        Ok(report)
    }

    /// Replays everything `recorder` holds for `hook`'s replay id.
    ///
    /// # Errors
    /// As [`HookRecorder::executions`] and [`HookReplayer::replay`].
    pub async fn replay_recorded<H: ReplayableHook + ?Sized>(
        recorder: &HookRecorder,
        hook: &H,
    ) -> Result<ReplayReport> {
        let executions = recorder.executions(&hook.replay_id()).await?;
        Self::replay(hook, &executions).await
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        hex::decode(s.as_bytes()).map_err(serde::de::Error::custom)
    }
}
