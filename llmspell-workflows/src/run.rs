//! One run of a workflow: its context ([`Run`]), the pattern executors and
//! the step executor.
//!
//! A run executes on the caller's task: parallel branches are futures
//! polled together (at most `max_concurrency` at a time), nested
//! workflows recurse. Every completed step is checkpointed before the next
//! step of its list starts; decisions that must come out the same on
//! resume (branches taken, loop items) are written before anything that
//! depends on them runs.

mod conditional;
mod looping;
mod parallel;
pub(crate) mod scope;
mod step;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use llmspell_events::Language;
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::definition::{Body, Definition, Step};
use crate::error::{BoxError, WorkflowError};
use crate::events::{self, Publisher};
use crate::result::{CompensationRecord, StepRecord, StepSource};
use crate::runtime::Inner;
use crate::store::{LogEntry, PendingCompensation, RunRecord};
use crate::template::{Reference, Template};

use scope::{Frame, View};

/// Why a step list stopped early.
#[derive(Debug)]
pub(crate) enum Stop {
    /// A step or condition failed; the message names it and the cause.
    Failed(String),
    /// A hook cancelled; the message names the hook and the reason.
    #[allow(dead_code)] // made by the hooked stage path
    Cancelled(String),
    /// The run store failed: the run cannot go on (raised to the caller).
    Store(WorkflowError),
}

impl Stop {
    /// The same stop with `context` before its message.
    pub(crate) fn context(self, context: impl std::fmt::Display) -> Self {
        match self {
            Stop::Failed(m) => Stop::Failed(format!("{context}: {m}")),
            Stop::Cancelled(m) => Stop::Cancelled(format!("{context}: {m}")),
            s @ Stop::Store(_) => s,
        }
    }
}

/// What a workflow (root or nested) produced.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) data: Map<String, Value>,
    pub(crate) steps: Vec<StepRecord>,
    pub(crate) stop: Option<Stop>,
}

/// Where a step list runs: its checkpoint path prefix, loop iteration and
/// branch.
#[derive(Debug, Clone)]
pub(crate) struct Position {
    pub(crate) prefix: String,
    pub(crate) iteration: Option<u64>,
    pub(crate) branch: Option<String>,
}

/// What a resumed run reads from its checkpoints.
#[derive(Debug, Default)]
pub(crate) struct Resume {
    /// Completed steps by path: (output, record fields).
    pub(crate) steps: HashMap<String, LogEntry>,
    /// Decisions by path.
    pub(crate) decisions: HashMap<String, Value>,
}

/// The state keys a run changed (written with every checkpoint).
#[derive(Debug, Default)]
pub(crate) struct StateWrites {
    pub(crate) set: Map<String, Value>,
    pub(crate) deleted: Vec<String>,
}

/// The context of one run, shared by every workflow and step in it.
pub(crate) struct Run<'r> {
    pub(crate) rt: &'r Inner,
    pub(crate) run_id: Uuid,
    pub(crate) language: Language,
    pub(crate) events: Publisher,
    pub(crate) resume: Resume,
    /// The run record, when runs are stored. An async lock: checkpoint
    /// writes of concurrent branches are serialised so that records are
    /// written in order.
    record: Option<tokio::sync::Mutex<RunRecord>>,
    state_writes: Mutex<StateWrites>,
    compensations: Mutex<Vec<PendingCompensation>>,
}

impl<'r> Run<'r> {
    pub(crate) fn new(
        rt: &'r Inner,
        record: RunRecord,
        language: Language,
        resume: Resume,
        compensations: Vec<PendingCompensation>,
    ) -> Self {
        let events = Publisher {
            bus: rt.bus.clone(),
            correlation_id: record.correlation_id,
            language,
        };
        let state_writes = StateWrites {
            set: record.state_set.clone(),
            deleted: record.state_deleted.clone(),
        };
        Self {
            rt,
            run_id: record.run_id,
            language,
            events,
            resume,
            record: rt.store.as_ref().map(|_| tokio::sync::Mutex::new(record)),
            state_writes: Mutex::new(state_writes),
            compensations: Mutex::new(compensations),
        }
    }

    /// Runs `def` on `input` inside `parent` (for a nested workflow) with
    /// checkpoint paths under `prefix`; publishes its start and end.
    pub(crate) fn workflow<'a>(
        &'a self,
        def: &'a Definition,
        input: Arc<Value>,
        parent: Option<&'a Frame<'a>>,
        prefix: String,
        parent_name: Option<&'a str>,
    ) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let started = Instant::now();
            if self.events.enabled() {
                self.events
                    .publish(
                        events::EVENT_STARTED,
                        json!({
                            "workflow_name": def.name,
                            "pattern": def.pattern().as_str(),
                            "run_id": self.run_id,
                            "resumed": !self.resume.steps.is_empty(),
                            "parent": parent_name,
                        }),
                    )
                    .await;
            }
            let mut frame = Frame::root(input, parent);
            let at = Position {
                prefix,
                iteration: None,
                branch: None,
            };
            let outcome = match &def.body {
                Body::Sequential { steps } => {
                    let mut records = Vec::new();
                    let stop = self
                        .steps(def, steps, &mut frame, &at, &mut records)
                        .await
                        .err();
                    Outcome {
                        data: frame.outputs,
                        steps: records,
                        stop,
                    }
                }
                Body::Conditional { branches, all } => {
                    self.conditional(def, branches, *all, &frame, &at).await
                }
                Body::Loop {
                    iterator,
                    body,
                    max_iterations,
                    break_condition,
                    aggregation,
                } => {
                    self.looping(
                        def,
                        looping::Spec {
                            iterator,
                            body,
                            max_iterations: *max_iterations,
                            break_condition: break_condition.as_deref(),
                            aggregation: *aggregation,
                        },
                        &frame,
                        &at,
                    )
                    .await
                }
                Body::Parallel {
                    branches,
                    max_concurrency,
                    join,
                    fail_fast,
                } => {
                    self.parallel(
                        def,
                        parallel::Spec {
                            branches,
                            max_concurrency: *max_concurrency,
                            join: *join,
                            fail_fast: *fail_fast,
                        },
                        &frame,
                        &at,
                    )
                    .await
                }
            };
            if self.events.enabled() {
                let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
                let (kind, error) = match &outcome.stop {
                    None => (events::EVENT_COMPLETED, None),
                    Some(Stop::Failed(e) | Stop::Cancelled(e)) => {
                        (events::EVENT_FAILED, Some(e.clone()))
                    }
                    Some(Stop::Store(e)) => (events::EVENT_FAILED, Some(e.to_string())),
                };
                let mut data = json!({
                    "workflow_name": def.name,
                    "pattern": def.pattern().as_str(),
                    "run_id": self.run_id,
                    "duration_ms": duration_ms,
                });
                if let Some(e) = error {
                    data["error"] = Value::String(e);
                }
                self.events.publish(kind, data).await;
            }
            outcome
        })
    }

    /// Runs `steps` in order in `frame`, adding each output to it.
    pub(crate) async fn steps(
        &self,
        def: &Definition,
        steps: &[Step],
        frame: &mut Frame<'_>,
        at: &Position,
        records: &mut Vec<StepRecord>,
    ) -> Result<(), Stop> {
        for (index, step) in steps.iter().enumerate() {
            let (record, result) = self.step(def, step, index, frame, at).await;
            records.push(record);
            let output = result?;
            frame.outputs.insert(step.name.clone(), output);
        }
        Ok(())
    }

    // ----- state -----

    /// Fetches the state keys `templates` refer to.
    pub(crate) async fn state_for<'t>(
        &self,
        refs: impl Iterator<Item = &'t str>,
    ) -> Result<HashMap<String, Value>, Stop> {
        let mut out = HashMap::new();
        for key in refs {
            if out.contains_key(key) {
                continue;
            }
            if let Some(v) = self
                .rt
                .state
                .get(key)
                .await
                .map_err(|e| Stop::Failed(format!("reading state `{key}`: {e}")))?
            {
                out.insert(key.to_owned(), v);
            }
        }
        Ok(out)
    }

    /// Resolves `template` in `frame` (`extra`: one more visible output).
    pub(crate) async fn resolve(
        &self,
        template: &Template,
        frame: &Frame<'_>,
        extra: Option<(&str, &Value)>,
    ) -> Result<Value, Stop> {
        if let Template::Literal(v) = template {
            return Ok(v.clone());
        }
        let refs = template.references();
        let state = self
            .state_for(refs.iter().filter_map(|r| match r {
                Reference::State { path } => Some(path[0].as_str()),
                _ => None,
            }))
            .await?;
        let view = View {
            frame,
            state: &state,
            extra,
        };
        template
            .resolve(&view)
            .map_err(|e| Stop::Failed(e.to_string()))
    }

    /// The whole state, for a script function.
    pub(crate) async fn state_snapshot(&self) -> Result<Map<String, Value>, Stop> {
        self.rt
            .state
            .snapshot()
            .await
            .map_err(|e| Stop::Failed(format!("reading the workflow state: {e}")))
    }

    /// Writes the difference between `before` and `after` to the state.
    pub(crate) async fn apply_state(
        &self,
        before: &Map<String, Value>,
        after: Map<String, Value>,
    ) -> Result<(), Stop> {
        let fail = |e: BoxError| Stop::Failed(format!("writing the workflow state: {e}"));
        let removed: Vec<&String> = before.keys().filter(|k| !after.contains_key(*k)).collect();
        for key in removed {
            self.rt.state.delete(key).await.map_err(fail)?;
            let mut w = self.state_writes.lock();
            w.set.remove(key);
            if !w.deleted.contains(key) {
                w.deleted.push(key.clone());
            }
        }
        for (key, value) in after {
            if before.get(&key) == Some(&value) {
                continue;
            }
            self.rt.state.set(&key, value.clone()).await.map_err(fail)?;
            let mut w = self.state_writes.lock();
            w.deleted.retain(|k| k != &key);
            w.set.insert(key, value);
        }
        Ok(())
    }

    // ----- checkpoints -----

    /// A decision recorded before (on resume), if any.
    pub(crate) fn decided(&self, path: &str) -> Option<&Value> {
        self.resume.decisions.get(path)
    }

    /// Records a decision before anything that depends on it runs.
    pub(crate) async fn decide(&self, path: String, value: Value) -> Result<(), Stop> {
        let (Some(store), Some(record)) = (&self.rt.store, &self.record) else {
            return Ok(());
        };
        let mut rec = record.lock().await;
        rec.updated_at = chrono::Utc::now();
        store
            .checkpoint(&mut rec, vec![LogEntry::Decision { path, value }])
            .await
            .map_err(Stop::Store)
    }

    /// Writes a completed step to the run store.
    pub(crate) async fn checkpoint(&self, entry: LogEntry, path: &str) -> Result<(), Stop> {
        if let LogEntry::Step {
            compensation: Some(c),
            ..
        } = &entry
        {
            self.compensations.lock().push(c.clone());
        }
        let (Some(store), Some(record)) = (&self.rt.store, &self.record) else {
            return Ok(());
        };
        let mut rec = record.lock().await;
        rec.steps_completed += 1;
        rec.last_step = Some(path.to_owned());
        rec.updated_at = chrono::Utc::now();
        self.copy_state(&mut rec);
        store
            .checkpoint(&mut rec, vec![entry])
            .await
            .map_err(Stop::Store)
    }

    fn copy_state(&self, rec: &mut RunRecord) {
        let w = self.state_writes.lock();
        rec.state_set.clone_from(&w.set);
        rec.state_deleted.clone_from(&w.deleted);
    }

    /// Runs the compensations of completed steps, newest first.
    pub(crate) async fn compensate(&self) -> Vec<CompensationRecord> {
        let pending = std::mem::take(&mut *self.compensations.lock());
        let mut out = Vec::with_capacity(pending.len());
        for c in pending.into_iter().rev() {
            let opts = llmspell_tools::InvokeOptions::new()
                .language(self.language)
                .correlation_id(self.events.correlation_id)
                .caller(format!("workflow-compensation:{}", c.step));
            let result = self.rt.tools.invoke_with(&c.tool, c.input, &opts).await;
            out.push(CompensationRecord {
                step: c.step,
                tool: c.tool,
                success: result.is_ok(),
                error: result.err().map(|e| e.to_string()),
            });
        }
        out
    }

    /// Writes the final record of the run.
    pub(crate) async fn finish(
        &self,
        status: crate::RunStatus,
        error: Option<String>,
        compensated: bool,
    ) -> Result<(), WorkflowError> {
        let (Some(store), Some(record)) = (&self.rt.store, &self.record) else {
            return Ok(());
        };
        let mut rec = record.lock().await;
        rec.status = status;
        rec.error = error;
        rec.compensated |= compensated;
        rec.updated_at = chrono::Utc::now();
        self.copy_state(&mut rec);
        store.put(&rec).await
    }
}

/// A step record for a step that did not produce an output.
pub(crate) fn failed_record(
    step: &Step,
    index: usize,
    at: &Position,
    error: String,
    duration_ms: f64,
) -> StepRecord {
    StepRecord {
        name: step.name.clone(),
        success: false,
        output: Value::Null,
        error: Some(error),
        duration_ms,
        step_index: index,
        iteration: at.iteration,
        branch: at.branch.clone(),
        source: StepSource::Executed,
    }
}
