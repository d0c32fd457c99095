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
pub(crate) mod data;
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
use llmspell_hooks::{
    ComponentId, ComponentType, HookContext, HookData, HookOutcome, HookPoint, OperationError,
};

/// Most redirects (jumps) a hook may cause in one run of a step list.
const MAX_JUMPS: u32 = 64;
use crate::error::{BoxError, WorkflowError};
use crate::events::{self, Publisher};
use crate::result::{CompensationRecord, StepRecord};
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
    Cancelled(String),
    /// A hook redirected a step to another step of its list.
    Jump {
        /// The step to go on with.
        target: String,
        /// The hook that asked.
        hook: String,
    },
    /// The run store failed: the run cannot go on (raised to the caller).
    Store(WorkflowError),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Failed(m) | Stop::Cancelled(m) => f.write_str(m),
            Stop::Jump { target, hook } => {
                write!(f, "hook `{hook}` redirected to step `{target}`")
            }
            Stop::Store(e) => e.fmt(f),
        }
    }
}

impl Stop {
    /// The same stop with `context` before its message.
    pub(crate) fn context(self, context: impl std::fmt::Display) -> Self {
        match self {
            Stop::Failed(m) => Stop::Failed(format!("{context}: {m}")),
            Stop::Cancelled(m) => Stop::Cancelled(format!("{context}: {m}")),
            s => s,
        }
    }

    /// A failure as the failure of step `name`.
    pub(crate) fn failed_step(self, name: &str) -> Self {
        match self {
            Stop::Failed(m) => Stop::Failed(format!("step `{name}` failed: {m}")),
            s => s,
        }
    }

    /// The message, for records and events.
    pub(crate) fn cause(&self) -> Option<String> {
        Some(self.to_string())
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
    /// The run id as hook data, formatted once, when a hook first needs it.
    run_id_value: std::sync::OnceLock<Value>,
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
            run_id_value: std::sync::OnceLock::new(),
        }
    }

    /// The run id as a JSON string (hook data).
    pub(crate) fn run_id_value(&self) -> Value {
        self.run_id_value
            .get_or_init(|| Value::String(self.run_id.to_string()))
            .clone()
    }

    /// The run id as a string, formatted once (hook data).
    pub(crate) fn run_id_str(&self) -> &str {
        self.run_id_value
            .get_or_init(|| Value::String(self.run_id.to_string()))
            .as_str()
            .unwrap_or_default()
    }

    /// Runs `def` on `input` inside `parent` (for a nested workflow) with
    /// checkpoint paths under `prefix`, between `BeforeWorkflowStart` and
    /// `AfterWorkflowComplete`; publishes its start and end.
    pub(crate) fn workflow<'a>(
        &'a self,
        def: &'a Definition,
        input: Arc<Value>,
        parent: Option<&'a Frame<'a>>,
        prefix: String,
        parent_name: Option<&'a str>,
    ) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            const BEFORE: HookPoint = HookPoint::BeforeWorkflowStart;
            const AFTER: HookPoint = HookPoint::AfterWorkflowComplete;
            let started = Instant::now();
            let resumed = !self.resume.steps.is_empty();
            if self.events.enabled() {
                self.events
                    .publish(
                        events::EVENT_STARTED,
                        json!({
                            "workflow_name": def.name,
                            "pattern": def.pattern().as_str(),
                            "run_id": self.run_id,
                            "resumed": resumed,
                            "parent": parent_name,
                        }),
                    )
                    .await;
            }
            let hooks = &self.rt.hooks;
            // The value hooks see (and a `Cache` result stores) is only
            // built when a hook can see it.
            let after_hooked = hooks.has_hooks(&AFTER);
            let summarize = after_hooked || hooks.has_hooks(&BEFORE);
            let mut op = hooks
                .operation::<Stop>(ComponentId::with_id(
                    ComponentType::Workflow,
                    def.name.clone(),
                    self.run_id,
                ))
                .before(BEFORE)
                .after(AFTER)
                .name_key("workflow_name")
                .input("input", Value::clone(&input))
                .output_key("output")
                .language(self.language)
                .correlation_id(self.events.correlation_id)
                .operation_type("workflow_execution")
                // The run reads only the value, not the context data.
                .completed_data(false);
            if summarize {
                // A spare map (see `data`), handed back when the run is done.
                use data::Val::{Json, Keep, OptStr, Str};
                // The operation sets the name, input, output and error.
                let d = self
                    .rt
                    .hook_data
                    .take(data::Kind::Workflow, |key| match key {
                        "parent" => OptStr(parent_name),
                        "pattern" => Str(def.pattern().as_str()),
                        "resumed" => Json(Value::Bool(resumed)),
                        "run_id" => Str(self.run_id_str()),
                        _ => Keep,
                    });
                op = op.data_map(d).spare_data(true);
            }
            drop(input);
            // The body's outcome (steps, data) travels beside the value the
            // hooks see.
            let cell: Mutex<Option<Outcome>> = Mutex::new(None);
            let result = run_boxed(op, |call| {
                let (cell, prefix, summarize) = (&cell, &prefix, summarize);
                async move {
                    let mut out = self
                        .body_boxed(def, Arc::new(call.input), parent, prefix)
                        .await;
                    if let Some(Stop::Store(e)) = &out.stop {
                        return Err(Stop::Store(e.clone()));
                    }
                    let summary = if summarize {
                        // A spare map (see `data`). The data moves into it:
                        // the result is what the hooks leave (`apply_final`
                        // takes it back), not a copy beside theirs.
                        use data::Val::{Json, Keep};
                        let (data, stop) = (&mut out.data, &out.stop);
                        Value::Object(self.rt.hook_data.take(data::Kind::Summary, |key| {
                            match key {
                                "data" => Json(Value::Object(std::mem::take(data))),
                                "error" => Json(
                                    stop.as_ref()
                                        .map_or(Value::Null, |s| Value::String(s.to_string())),
                                ),
                                "success" => Json(Value::Bool(stop.is_none())),
                                _ => Keep,
                            }
                        }))
                    } else {
                        Value::Null
                    };
                    *cell.lock() = Some(out);
                    Ok(summary)
                }
            })
            .await;
            let mut outcome = cell.into_inner().unwrap_or(Outcome {
                data: Map::new(),
                steps: Vec::new(),
                stop: None,
            });
            match result {
                Ok(mut done) => {
                    if let Some(d) = done.spare_data.take() {
                        self.rt.hook_data.give(data::Kind::Workflow, d);
                    }
                    if summarize {
                        if let Some(m) = apply_final(&mut outcome, done.value) {
                            self.rt.hook_data.give(data::Kind::Summary, m);
                        }
                    }
                }
                Err(OperationError::Failed(stop)) => outcome.stop = Some(stop),
                Err(OperationError::Cancelled {
                    point,
                    hook,
                    reason,
                }) => {
                    outcome.stop = Some(Stop::Cancelled(format!(
                        "workflow `{}` cancelled by hook `{hook}` at {point}: {reason}",
                        def.name
                    )));
                }
                Err(other) => {
                    outcome.stop = Some(Stop::Failed(format!("workflow `{}`: {other}", def.name)));
                }
            }
            if self.events.enabled() {
                let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
                let kind = if outcome.stop.is_none() {
                    events::EVENT_COMPLETED
                } else {
                    events::EVENT_FAILED
                };
                let mut data = json!({
                    "workflow_name": def.name,
                    "pattern": def.pattern().as_str(),
                    "run_id": self.run_id,
                    "duration_ms": duration_ms,
                });
                if let Some(stop) = &outcome.stop {
                    data["error"] = Value::String(stop.to_string());
                }
                self.events.publish(kind, data).await;
            }
            outcome
        })
    }

    /// [`body`](Self::body), boxed (see [`run_boxed`]).
    #[inline(never)]
    fn body_boxed<'a>(
        &'a self,
        def: &'a Definition,
        input: Arc<Value>,
        parent: Option<&'a Frame<'a>>,
        prefix: &'a str,
    ) -> BoxFuture<'a, Outcome> {
        Box::pin(self.body(def, input, parent, prefix))
    }

    /// Runs the pattern of `def`.
    async fn body(
        &self,
        def: &Definition,
        input: Arc<Value>,
        parent: Option<&Frame<'_>>,
        prefix: &str,
    ) -> Outcome {
        let mut frame = Frame::root(input, parent);
        let at = Position {
            prefix: prefix.to_owned(),
            iteration: None,
            branch: None,
        };
        match &def.body {
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
        }
    }

    /// Runs `steps` in order in `frame`, adding each output to it. A
    /// hook's Redirect at a step jumps to the named step of the list
    /// (fires `WorkflowStageTransition` between steps).
    pub(crate) async fn steps(
        &self,
        def: &Definition,
        steps: &[Step],
        frame: &mut Frame<'_>,
        at: &Position,
        records: &mut Vec<StepRecord>,
    ) -> Result<(), Stop> {
        let mut visits = vec![0u32; steps.len()];
        let mut jumps = 0u32;
        let mut index = 0;
        let mut previous: Option<usize> = None;
        while let Some(step) = steps.get(index) {
            if let Some(p) = previous {
                self.transition(def, &steps[p], step, index, &mut *frame, at)
                    .await?;
            }
            let visit = visits[index];
            visits[index] += 1;
            match self.step(def, step, index, visit, frame, at, records).await {
                Ok(output) => {
                    frame.outputs.insert(step.name.clone(), output);
                    previous = Some(index);
                    index += 1;
                }
                Err(Stop::Jump { target, hook }) => {
                    jumps += 1;
                    let Some(to) = steps.iter().position(|s| s.name == target) else {
                        return Err(Stop::Failed(format!(
                            "step `{}` failed: hook `{hook}` redirected it to `{target}`, which is not a step of this list (steps: [{}])",
                            step.name,
                            steps.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
                        )));
                    };
                    if jumps > MAX_JUMPS {
                        return Err(Stop::Failed(format!(
                            "step `{}` failed: more than {MAX_JUMPS} redirects in one step list (the last by hook `{hook}` to `{target}`); a hook is probably redirecting in a loop",
                            step.name
                        )));
                    }
                    previous = Some(index);
                    index = to;
                }
                Err(stop) => return Err(stop),
            }
        }
        Ok(())
    }

    /// Fires `WorkflowStageTransition` from `from` to `to`; a Cancel stops
    /// the workflow. The `output` hooks see is `from`'s output itself, lent
    /// for the point (a copy cost a hooked run of small steps more than the
    /// rest of the point): what they leave there is that output from then
    /// on, and null if they removed it.
    async fn transition(
        &self,
        def: &Definition,
        from: &Step,
        to: &Step,
        index: usize,
        frame: &mut Frame<'_>,
        at: &Position,
    ) -> Result<(), Stop> {
        const POINT: HookPoint = HookPoint::WorkflowStageTransition;
        if !self.rt.hooks.has_hooks(&POINT) {
            return Ok(());
        }
        use data::Val::{Json, Keep, OptStr, Str};
        let d = self
            .rt
            .hook_data
            .take(data::Kind::Transition, |key| match key {
                "branch" => OptStr(at.branch.as_deref()),
                "from_step" => Str(&from.name),
                "iteration" => Json(at.iteration.map_or(Value::Null, Value::from)),
                "output" => Json(
                    frame
                        .outputs
                        .get_mut(&from.name)
                        .map(std::mem::take)
                        .unwrap_or(Value::Null),
                ),
                "pattern" => Str(def.pattern().as_str()),
                "run_id" => Str(self.run_id_str()),
                "step_index" => Json(Value::from(index)),
                "step_name" | "to_step" => Str(&to.name),
                "workflow_name" => Str(&def.name),
                _ => Keep,
            });
        let (outcome, mut d) = self.notify(POINT, &def.name, d).await;
        if let Some(slot) = frame.outputs.get_mut(&from.name) {
            *slot = d
                .get_mut("output")
                .map(std::mem::take)
                .unwrap_or(Value::Null);
        }
        self.rt.hook_data.give(data::Kind::Transition, d);
        match outcome {
            HookOutcome::Cancelled { reason, hook } => Err(Stop::Cancelled(format!(
                "cancelled by hook `{hook}` at WorkflowStageTransition from `{}` to `{}`: {reason}",
                from.name, to.name
            ))),
            _ => Ok(()),
        }
    }

    /// Fires a notification point of the workflow `name` (this run's
    /// component) with the run's correlation id and language (and the
    /// enclosing operation as parent); returns the outcome and the data as
    /// the hooks left it. The context is a spare one of the runtime's,
    /// every field set afresh (see `data`).
    pub(crate) async fn notify(
        &self,
        point: HookPoint,
        name: &str,
        data: HookData,
    ) -> (HookOutcome, HookData) {
        let mut ctx = self.rt.hook_data.take_context();
        ctx.point = point;
        ctx.component.component_type = ComponentType::Workflow;
        name.clone_into(&mut ctx.component.name);
        ctx.component.id = self.run_id;
        ctx.correlation_id = self.events.correlation_id;
        ctx.language = self.language;
        ctx.data = data;
        ctx.metadata.clear();
        ctx.timestamp = HookContext::now();
        ctx.operation = None;
        llmspell_hooks::set_current_parent(&mut ctx);
        let outcome = self.rt.hooks.fire(&mut ctx).await;
        let data = std::mem::take(&mut ctx.data);
        self.rt.hook_data.give_context(ctx);
        (outcome, data)
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

    /// Writes a completed step to the run store, then fires
    /// `WorkflowCheckpoint`.
    pub(crate) async fn checkpoint(
        &self,
        def: &Definition,
        entry: LogEntry,
        step: &str,
        index: usize,
        path: &str,
    ) -> Result<(), Stop> {
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
        let completed = {
            let mut rec = record.lock().await;
            rec.steps_completed += 1;
            rec.last_step = Some(path.to_owned());
            rec.updated_at = chrono::Utc::now();
            self.copy_state(&mut rec);
            store
                .checkpoint(&mut rec, vec![entry])
                .await
                .map_err(Stop::Store)?;
            rec.steps_completed
        };
        const POINT: HookPoint = HookPoint::WorkflowCheckpoint;
        if self.rt.hooks.has_hooks(&POINT) {
            // A spare map of the kind (see `data`): its keys and name
            // values are reused.
            use data::Val::{Json, Keep, Str};
            let d = self
                .rt
                .hook_data
                .take(data::Kind::Checkpoint, |key| match key {
                    "path" => Str(path),
                    "pattern" => Str(def.pattern().as_str()),
                    "run_id" => Str(self.run_id_str()),
                    "step_index" => Json(Value::from(index)),
                    "step_name" => Str(step),
                    "steps_completed" => Json(Value::from(completed)),
                    "store" => Str(store.backend_kind()),
                    "workflow_name" => Str(&def.name),
                    _ => Keep,
                });
            let (_, d) = self.notify(POINT, &def.name, d).await;
            self.rt.hook_data.give(data::Kind::Checkpoint, d);
        }
        Ok(())
    }

    fn copy_state(&self, rec: &mut RunRecord) {
        let w = self.state_writes.lock();
        rec.state_set.clone_from(&w.set);
        rec.state_deleted.clone_from(&w.deleted);
    }

    /// Runs the compensations of completed steps, newest first. Each fires
    /// `WorkflowRollback` first (data `workflow_name`, `run_id`,
    /// `step_name`, `tool`, `input`): a Cancel skips that compensation, a
    /// modified `input` is what the tool gets.
    pub(crate) async fn compensate(&self, def: &Definition) -> Vec<CompensationRecord> {
        const POINT: HookPoint = HookPoint::WorkflowRollback;
        let pending = std::mem::take(&mut *self.compensations.lock());
        let mut out = Vec::with_capacity(pending.len());
        for mut c in pending.into_iter().rev() {
            if self.rt.hooks.has_hooks(&POINT) {
                let mut data = HookData::new();
                data.insert("workflow_name".into(), json!(def.name));
                data.insert("pattern".into(), json!(def.pattern().as_str()));
                data.insert("run_id".into(), self.run_id_value());
                data.insert("step_name".into(), json!(c.step));
                data.insert("tool".into(), json!(c.tool));
                data.insert("input".into(), c.input.clone());
                let component =
                    ComponentId::with_id(ComponentType::Workflow, def.name.clone(), self.run_id);
                let parent = llmspell_hooks::current_parent();
                let mut ctx = HookContext::builder(POINT, component)
                    .data_map(data)
                    .correlation_id(self.events.correlation_id)
                    .language(self.language);
                if let Some(p) = parent {
                    ctx = ctx.parent(p);
                }
                let mut ctx = ctx.build();
                if let HookOutcome::Cancelled { reason, hook } = self.rt.hooks.fire(&mut ctx).await
                {
                    out.push(CompensationRecord {
                        step: c.step,
                        tool: c.tool,
                        success: false,
                        error: Some(format!(
                            "not run: cancelled by hook `{hook}` at WorkflowRollback: {reason}"
                        )),
                    });
                    continue;
                }
                if let Some(input) = ctx.data.remove("input") {
                    c.input = input;
                }
            }
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

/// Applies the value `AfterWorkflowComplete` hooks left (or a `Replace` at
/// `BeforeWorkflowStart` supplied): an object with `success`, `data` or
/// `error` sets those parts of the result (a missing `success` or `error`
/// keeps the run's; the run's data moved into the summary the hooks saw,
/// so a value without `data` leaves the result without data); any other
/// object becomes the data, and any other value `data.output`; either
/// makes the run a success.
///
/// Returns the summary map, emptied of its data and error, for the pool.
fn apply_final(outcome: &mut Outcome, value: Value) -> Option<HookData> {
    let mut m = match value {
        Value::Object(m)
            if ["success", "data", "error"]
                .iter()
                .any(|k| m.contains_key(*k)) =>
        {
            m
        }
        Value::Object(m) => {
            outcome.data = m;
            outcome.stop = None;
            return None;
        }
        other => {
            let mut m = Map::new();
            m.insert("output".into(), other);
            outcome.data = m;
            outcome.stop = None;
            return None;
        }
    };
    // Taken rather than removed: the keys stay for the map's next use.
    if let Some(Value::Object(data)) = m.get_mut("data").map(std::mem::take) {
        outcome.data = data;
    }
    let error = m.get_mut("error").map(std::mem::take);
    let success = match m.get("success") {
        Some(Value::Bool(b)) => *b,
        _ => match &error {
            Some(Value::String(_)) => false,
            Some(Value::Null) => true,
            _ => outcome.stop.is_none(),
        },
    };
    if success {
        outcome.stop = None;
        return Some(m);
    }
    match error {
        // The error the run had: keep the stop (a cancel stays a cancel).
        Some(Value::String(e)) if outcome.stop.as_ref().is_some_and(|s| s.to_string() == e) => {}
        Some(Value::String(e)) => outcome.stop = Some(Stop::Failed(e)),
        _ if outcome.stop.is_some() => {}
        _ => {
            outcome.stop = Some(Stop::Failed(
                "an AfterWorkflowComplete hook marked the run as failed".into(),
            ));
        }
    }
    Some(m)
}

/// Runs `op` with `f` as its operation, its future built and boxed here.
///
/// Nested workflows recurse through these futures. In a debug build the
/// poll function of an async fn reserves stack for every temporary it
/// builds, so a large future built inline (an operation's state, a pattern
/// body) would cost that much stack at every nesting level; built in a
/// function of its own it costs it once, while it is moved to the heap.
#[inline(never)]
pub(crate) fn run_boxed<'a, F, Fut>(
    op: llmspell_hooks::HookedOperation<'a, Stop>,
    f: F,
) -> BoxFuture<'a, Result<llmspell_hooks::Completed<Stop>, OperationError<Stop>>>
where
    F: Fn(llmspell_hooks::Call) -> Fut + Send + Sync + 'a,
    Fut: std::future::Future<Output = Result<Value, Stop>> + Send + 'a,
{
    Box::pin(op.run(f))
}
