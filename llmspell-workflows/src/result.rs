//! What a run returns: [`WorkflowResult`] and its [`StepRecord`]s.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::Pattern;

/// Where a step's output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StepSource {
    /// The step ran (its output possibly modified by a hook).
    Executed,
    /// A hook supplied the output instead of running the step.
    Replaced,
    /// A hook's cache supplied the output.
    Cached,
    /// A hook skipped the step (`Skipped` at `BeforeWorkflowStage`).
    Skipped,
    /// A hook redirected the step to another step of its list; this step
    /// produced no output.
    Redirected,
    /// The step completed before the run was resumed; its output was read
    /// from the checkpoint.
    Checkpoint,
}

/// One step run, in the order steps finished (loops: one record per
/// iteration; parallel: every branch's steps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StepRecord {
    /// The step's name.
    pub name: String,
    /// Whether it succeeded.
    pub success: bool,
    /// Its output (`null` when it failed).
    pub output: Value,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Wall time, hooks included, in milliseconds.
    pub duration_ms: f64,
    /// Its position in its step list, from 0.
    pub step_index: usize,
    /// The loop iteration it ran in, from 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration: Option<u64>,
    /// The branch it ran in (conditional and parallel workflows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Where the output came from.
    pub source: StepSource,
}

/// A compensation that ran after the workflow failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CompensationRecord {
    /// The step it undid.
    pub step: String,
    /// The tool it called.
    pub tool: String,
    /// Whether the tool succeeded.
    pub success: bool,
    /// The tool's error, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The outcome of a run: `{success, data, error, steps, duration_ms,
/// run_id}` plus the workflow's name and pattern and the compensations.
///
/// - `data` holds each step's output by name. A conditional workflow's
///   holds the steps of the branches taken; a loop's holds each body step's
///   outputs aggregated over the iterations (`collect_all`: an array per
///   step; `last`: the last iteration's; `none`: nothing); a parallel
///   workflow's holds, per successful branch name, that branch's outputs by
///   step name.
/// - On failure (a step failed, a condition could not be evaluated, a hook
///   cancelled) `success` is false and `error` names the failing step and
///   the cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorkflowResult {
    /// Whether the workflow succeeded.
    pub success: bool,
    /// Step outputs by name (see above).
    pub data: Map<String, Value>,
    /// Why it failed.
    pub error: Option<String>,
    /// Every step run.
    pub steps: Vec<StepRecord>,
    /// Wall time of the run (of this process's part of it, for a resumed
    /// run), in milliseconds.
    pub duration_ms: f64,
    /// The run's id (a UUID v7: run ids sort by start time).
    pub run_id: Uuid,
    /// The workflow's name.
    pub workflow_name: String,
    /// The workflow's pattern.
    #[serde(with = "pattern_serde")]
    pub pattern: Pattern,
    /// Compensations run after a failure, in the order they ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compensations: Vec<CompensationRecord>,
}

impl WorkflowResult {
    /// The result as JSON (what script bindings return as a table).
    #[must_use]
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The output of step `name` in `data`.
    #[must_use]
    pub fn output(&self, name: &str) -> Option<&Value> {
        self.data.get(name)
    }
}

mod pattern_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::Pattern;

    pub(super) fn serialize<S: Serializer>(p: &Pattern, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(p.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Pattern, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
