//! Running one step, and evaluating conditions.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Map, Value};

use futures::future::BoxFuture;
use llmspell_hooks::{
    ComponentId, ComponentType, ForkOperation, ForkRunner, HookData, HookPoint, LentCall,
    LentOperation, OperationError, ResultSource,
};

use super::scope::{Frame, View};
use super::{data, Position, Run, Stop};
use crate::condition::truthy;
use crate::definition::{Body, Condition, Definition, Step, StepKind};
use crate::events;
use crate::function::{FunctionCall, ScriptFunction};
use crate::result::{StepRecord, StepSource};
use crate::store::{LogEntry, PendingCompensation};

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// The points of a step.
const BEFORE: HookPoint = HookPoint::BeforeWorkflowStage;
const AFTER: HookPoint = HookPoint::AfterWorkflowStage;
const ERROR: HookPoint = HookPoint::WorkflowError;

impl From<ResultSource> for StepSource {
    fn from(s: ResultSource) -> Self {
        match s {
            ResultSource::Cached => StepSource::Cached,
            ResultSource::Replaced => StepSource::Replaced,
            ResultSource::Skipped => StepSource::Skipped,
            _ => StepSource::Executed,
        }
    }
}

/// Runs the operations of a `Fork` result at a stage: a step of the
/// workflow (by name, with the fork's parameters as its input) or a tool.
struct StageForks<'a, 'r> {
    run: &'a Run<'r>,
    def: &'a Definition,
    frame: &'a Frame<'a>,
    at: &'a Position,
    step: &'a str,
}

impl ForkRunner<Stop> for StageForks<'_, '_> {
    fn run_fork(&self, op: ForkOperation, _depth: u32) -> BoxFuture<'_, Result<Value, Stop>> {
        Box::pin(async move {
            let path = format!("{}/{}!{}", self.at.prefix, self.step, op.target);
            match find_step(self.def, &op.target) {
                Some(step) => {
                    self.run
                        .execute(self.def, step, op.parameters, self.frame, self.at, &path)
                        .await
                }
                None if self.run.rt.tools.registry().contains(&op.target) => {
                    let opts = llmspell_tools::InvokeOptions::new()
                        .language(self.run.language)
                        .correlation_id(self.run.events.correlation_id)
                        .caller(format!("workflow:{}", self.def.name));
                    self.run
                        .rt
                        .tools
                        .invoke_with(&op.target, op.parameters, &opts)
                        .await
                        .map(|inv| inv.result)
                        .map_err(|e| Stop::Failed(e.to_string()))
                }
                None => Err(Stop::Failed(format!(
                    "`{}` is neither a step of workflow `{}` nor a tool",
                    op.target, self.def.name
                ))),
            }
        })
    }
}

/// One attempt of a step: what the step names, run on the input the
/// stage operation lends. When the stage keeps its input (its After* or
/// error point has hooks, which see the input and may ask for a re-run), a
/// tool step lends it on to the tool runtime, which copies what it needs
/// (it copies the parameters it resolves synonyms in anyway): the stage
/// does not copy the input for every attempt. Otherwise, and for the other
/// step kinds, the step takes the input (a copy only when it is kept).
struct StageAttempt<'a, 'r, 'f> {
    run: &'a Run<'r>,
    def: &'a Definition,
    step: &'a Step,
    frame: &'a Frame<'f>,
    at: &'a Position,
    path: &'a str,
}

impl LentOperation<Stop> for StageAttempt<'_, '_, '_> {
    fn call<'s>(&'s self, call: LentCall<'s>) -> BoxFuture<'s, Result<Value, Stop>> {
        if let StepKind::Tool(tool) = &self.step.kind {
            if call.into_input_copies() {
                return Box::pin(async move {
                    self.run
                        .tool_step(self.def, tool, Cow::Borrowed(call.input()))
                        .await
                });
            }
        }
        Box::pin(self.run.execute(
            self.def,
            self.step,
            call.into_input(),
            self.frame,
            self.at,
            self.path,
        ))
    }
}

/// The step named `name` anywhere in `def`'s own lists.
fn find_step<'d>(def: &'d Definition, name: &str) -> Option<&'d Step> {
    let lists: Vec<&[Step]> = match &def.body {
        Body::Sequential { steps } | Body::Loop { body: steps, .. } => vec![steps],
        Body::Conditional { branches, .. } => branches.iter().map(|b| &b.steps[..]).collect(),
        Body::Parallel { branches, .. } => branches.iter().map(|b| &b.steps[..]).collect(),
    };
    lists.into_iter().flatten().find(|s| s.name == name)
}

impl Run<'_> {
    /// A hook data map for a stage of `step` (the `index`-th of its list)
    /// at `at`: the fixed keys set, the input, output and error keys left
    /// to the operation (see `data`).
    pub(crate) fn stage_data(
        &self,
        def: &Definition,
        step: &str,
        index: usize,
        at: &Position,
    ) -> HookData {
        use data::Val::{Json, Keep, OptStr, Str};
        // The operation sets the input, output and error.
        self.rt.hook_data.take(data::Kind::Stage, |key| match key {
            "branch" => OptStr(at.branch.as_deref()),
            "iteration" => Json(at.iteration.map_or(Value::Null, Value::from)),
            "pattern" => Str(def.pattern().as_str()),
            "run_id" => Str(self.run_id_str()),
            "step_index" => Json(Value::from(index)),
            "step_name" => Str(step),
            "workflow_name" => Str(&def.name),
            _ => Keep,
        })
    }

    /// Runs `step` (the `index`-th of its list, its `visit`-th run in this
    /// list) in `frame` between `BeforeWorkflowStage` and
    /// `AfterWorkflowStage` / `WorkflowError`; pushes its record (and its
    /// forks') to `records`; returns its output, or why the list must
    /// stop or jump.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn step(
        &self,
        def: &Definition,
        step: &Step,
        index: usize,
        visit: u32,
        frame: &Frame<'_>,
        at: &Position,
        records: &mut Vec<StepRecord>,
    ) -> Result<Value, Stop> {
        let path = if visit == 0 {
            format!("{}/{}", at.prefix, step.name)
        } else {
            format!("{}/{}@{visit}", at.prefix, step.name)
        };
        let record =
            |success: bool, output: Value, error: Option<String>, ms: f64, source| StepRecord {
                name: step.name.clone(),
                success,
                output,
                error,
                duration_ms: ms,
                step_index: index,
                iteration: at.iteration,
                branch: at.branch.clone(),
                source,
            };
        if let Some(LogEntry::Step {
            output,
            duration_ms,
            ..
        }) = self.resume.steps.get(&path)
        {
            records.push(record(
                true,
                output.clone(),
                None,
                *duration_ms,
                StepSource::Checkpoint,
            ));
            return Ok(output.clone());
        }

        let started = Instant::now();
        let input = match &step.input {
            Some(t) => match self.resolve(t, frame, None).await {
                Ok(v) => v,
                Err(stop) => {
                    records.push(record(
                        false,
                        Value::Null,
                        stop.cause(),
                        ms(started),
                        StepSource::Executed,
                    ));
                    return Err(stop.failed_step(&step.name));
                }
            },
            None => match step.kind {
                StepKind::Tool(_) | StepKind::Agent(_) => Value::Object(Map::new()),
                StepKind::Workflow(_) | StepKind::Function(_) => (*frame.input).clone(),
            },
        };

        let event_data = self.events.enabled().then(|| {
            let mut d = json!({
                "workflow_name": def.name,
                "run_id": self.run_id,
                "step_name": step.name,
                "step_index": index,
                "kind": step.kind.as_str(),
            });
            if let Some(i) = at.iteration {
                d["iteration"] = json!(i);
            }
            if let Some(b) = &at.branch {
                d["branch"] = json!(b);
            }
            d
        });
        if let Some(d) = &event_data {
            self.events
                .publish(events::EVENT_STEP_STARTED, d.clone())
                .await;
        }

        let hooks = &self.rt.hooks;
        let forks = StageForks {
            run: self,
            def,
            frame,
            at,
            step: &step.name,
        };
        let mut op = hooks
            .operation::<Stop>(ComponentId::with_id(
                ComponentType::Workflow,
                def.name.clone(),
                self.run_id,
            ))
            .points(BEFORE, AFTER, ERROR)
            .input("input", input)
            .output_key("output")
            .language(self.language)
            .correlation_id(self.events.correlation_id)
            .operation_type("workflow_stage")
            // The step reads only the value, not the context data.
            .completed_data(false)
            // Children (tool and agent hooks) see the step in their
            // parent's metadata.
            .metadata("step_name", step.name.as_str())
            .skip_on_skipped(true)
            .retryable(|e: &Stop| matches!(e, Stop::Failed(_)))
            .fork_runner(&forks);
        if hooks.has_hooks(&BEFORE) || hooks.has_hooks(&AFTER) || hooks.has_hooks(&ERROR) {
            // A spare map (see `data`), handed back when the step is done.
            let d = self.stage_data(def, &step.name, index, at);
            op = op.data_map(d).spare_data(true);
        }
        // Boxed: the operation's state is large, and inline it would make
        // every step list's future (and the stack that polls nested
        // workflows) that much larger.
        let attempt = StageAttempt {
            run: self,
            def,
            step,
            frame,
            at,
            path: &path,
        };
        let outcome = run_lent_boxed(op, &attempt).await;
        let duration_ms = ms(started);

        let (output, source, fork_results) = match outcome {
            Ok(mut done) => {
                if let Some(d) = done.spare_data.take() {
                    self.rt.hook_data.give(data::Kind::Stage, d);
                }
                (done.value, StepSource::from(done.source), done.forks)
            }
            Err(e) => {
                let (cause, stop) = match e {
                    OperationError::Failed(stop) => (stop.cause(), stop.failed_step(&step.name)),
                    OperationError::RedirectRefused { hook, target, .. } => {
                        (None, Stop::Jump { target, hook })
                    }
                    OperationError::Cancelled {
                        point,
                        hook,
                        reason,
                    } => {
                        let why = format!("cancelled by hook `{hook}` at {point}: {reason}");
                        let stop = Stop::Cancelled(format!("step `{}` {why}", step.name));
                        (Some(why), stop)
                    }
                    other => (
                        Some(other.to_string()),
                        Stop::Failed(format!("step `{}` failed: {other}", step.name)),
                    ),
                };
                if let Some(mut d) = event_data {
                    d["error"] = json!(cause.as_deref().unwrap_or("redirected"));
                    d["duration_ms"] = json!(duration_ms);
                    self.events.publish(events::EVENT_STEP_FAILED, d).await;
                }
                records.push(match &stop {
                    Stop::Jump { .. } => {
                        record(true, Value::Null, None, duration_ms, StepSource::Redirected)
                    }
                    _ => record(false, Value::Null, cause, duration_ms, StepSource::Executed),
                });
                return Err(stop);
            }
        };
        for f in fork_results {
            let (success, output, error) = match f.outcome {
                Ok(v) => (true, v, None),
                Err(e) => (false, Value::Null, Some(e.to_string())),
            };
            records.push(StepRecord {
                name: f.target,
                success,
                output,
                error,
                duration_ms,
                step_index: index,
                iteration: at.iteration,
                branch: Some(format!("fork:{}", step.name)),
                source: StepSource::Executed,
            });
        }

        let compensation = match &step.compensate {
            None => None,
            Some(c) => match self
                .resolve(&c.input, frame, Some((&step.name, &output)))
                .await
            {
                Ok(input) => Some(PendingCompensation {
                    step: step.name.clone(),
                    tool: c.tool.clone(),
                    input,
                }),
                Err(stop) => {
                    let stop = match stop {
                        Stop::Failed(cause) => Stop::Failed(format!(
                            "step `{}` failed: its compensation input: {cause}",
                            step.name
                        )),
                        other => other,
                    };
                    records.push(record(
                        false,
                        Value::Null,
                        stop.cause(),
                        duration_ms,
                        source,
                    ));
                    return Err(stop);
                }
            },
        };
        let entry = LogEntry::Step {
            path: path.clone(),
            name: step.name.clone(),
            output: output.clone(),
            duration_ms,
            step_index: index,
            iteration: at.iteration,
            branch: at.branch.clone(),
            source,
            compensation,
        };
        if let Err(stop) = self.checkpoint(def, entry, &step.name, index, &path).await {
            records.push(record(
                false,
                Value::Null,
                stop.cause(),
                duration_ms,
                source,
            ));
            return Err(stop);
        }
        if let Some(mut d) = event_data {
            d["duration_ms"] = json!(duration_ms);
            self.events.publish(events::EVENT_STEP_COMPLETED, d).await;
        }
        records.push(record(true, output.clone(), None, duration_ms, source));
        Ok(output)
    }

    /// Runs what the step names (one attempt of the stage operation).
    pub(crate) async fn execute(
        &self,
        def: &Definition,
        step: &Step,
        input: Value,
        frame: &Frame<'_>,
        at: &Position,
        path: &str,
    ) -> Result<Value, Stop> {
        match &step.kind {
            StepKind::Tool(tool) => self.tool_step(def, tool, Cow::Owned(input)).await,
            StepKind::Agent(agent) => {
                let Some(agents) = &self.rt.agents else {
                    return Err(Stop::Failed(format!(
                        "agent `{agent}`: no agent runtime is configured"
                    )));
                };
                agents
                    .invoke(agent, input, self.events.correlation_id, self.language)
                    .await
                    .map_err(|e| Stop::Failed(format!("agent `{agent}`: {e}")))
            }
            StepKind::Workflow(child) => {
                let out = self
                    .workflow(
                        &child.def,
                        Arc::new(input),
                        Some(frame),
                        path.to_owned(),
                        Some(&def.name),
                    )
                    .await;
                match out.stop {
                    None => Ok(Value::Object(out.data)),
                    Some(stop) => Err(stop.context(format!("workflow `{}`", child.name()))),
                }
            }
            StepKind::Function(f) => {
                let context = self.function_context(def, Some(&step.name), frame, at);
                self.call_function(f.as_ref(), input, context).await
            }
        }
    }

    /// Calls the tool of a tool step.
    async fn tool_step(
        &self,
        def: &Definition,
        tool: &str,
        input: Cow<'_, Value>,
    ) -> Result<Value, Stop> {
        let opts = llmspell_tools::InvokeOptions::new()
            .language(self.language)
            .correlation_id(self.events.correlation_id)
            .caller(format!("workflow:{}", def.name));
        // Boxed: the tool call's future is large, and inline it would make
        // every stage operation's future that large.
        invoke_boxed(&self.rt.tools, tool, input, opts)
            .await
            .map(|inv| inv.result)
            .map_err(|e| Stop::Failed(e.to_string()))
    }

    fn function_context(
        &self,
        def: &Definition,
        step: Option<&str>,
        frame: &Frame<'_>,
        at: &Position,
    ) -> Value {
        let steps: Map<String, Value> = frame
            .visible()
            .into_iter()
            .map(|(k, v)| (k, json!({ "output": v })))
            .collect();
        let mut ctx = json!({
            "workflow_name": def.name,
            "run_id": self.run_id,
            "steps": steps,
        });
        if let Some(s) = step {
            ctx["step_name"] = json!(s);
        }
        if let Some(i) = at.iteration {
            ctx["iteration"] = json!(i);
        }
        if let Some(b) = &at.branch {
            ctx["branch"] = json!(b);
        }
        if let Some((v, i)) = frame.loop_vars() {
            ctx["loop"] = json!({"index": i, "current_value": v});
        }
        ctx
    }

    async fn call_function(
        &self,
        f: &dyn ScriptFunction,
        input: Value,
        context: Value,
    ) -> Result<Value, Stop> {
        let before = self.state_snapshot().await?;
        let ret = f
            .call(FunctionCall::new(input, before.clone(), context))
            .await
            .map_err(|e| Stop::Failed(e.to_string()))?;
        if let Some(after) = ret.state {
            self.apply_state(&before, after).await?;
        }
        Ok(ret.output)
    }

    /// Evaluates `condition` in `frame`; `what` names it in errors
    /// (`branch `high` condition`).
    pub(crate) async fn condition(
        &self,
        def: &Definition,
        condition: &Condition,
        frame: &Frame<'_>,
        at: &Position,
        what: &str,
    ) -> Result<bool, Stop> {
        let result = match condition {
            Condition::Expression(expr) => {
                let state: HashMap<String, Value> = self.state_for(expr.state_keys()).await?;
                let view = View {
                    frame,
                    state: &state,
                    extra: None,
                };
                expr.eval(&view).map_err(Stop::Failed)
            }
            Condition::Tool { tool, input } => {
                let input = self.resolve(input, frame, None).await?;
                let opts = llmspell_tools::InvokeOptions::new()
                    .language(self.language)
                    .correlation_id(self.events.correlation_id)
                    .caller(format!("workflow:{}", def.name));
                self.rt
                    .tools
                    .invoke_with(tool, input, &opts)
                    .await
                    .map(|inv| truthy(&inv.result))
                    .map_err(|e| Stop::Failed(e.to_string()))
            }
            Condition::Function(f) => {
                let context = self.function_context(def, None, frame, at);
                self.call_function(f.as_ref(), (*frame.input).clone(), context)
                    .await
                    .map(|v| truthy(&v))
            }
            Condition::Constant(b) => Ok(*b),
            Condition::StateEquals { key, value } => self
                .state_for(std::iter::once(key.as_str()))
                .await
                .map(|state| state.get(key).is_some_and(|v| same_value(v, value))),
            Condition::StateExists { key } => self
                .state_for(std::iter::once(key.as_str()))
                .await
                .map(|state| state.get(key).is_some_and(|v| !v.is_null())),
            Condition::StepOutputContains { step, substring } => match frame.output(step) {
                Some(Value::String(s)) => Ok(s.contains(substring.as_str())),
                Some(other) => Ok(other.to_string().contains(substring.as_str())),
                None => Err(Stop::Failed(format!(
                    "step `{step}` has not run (step_output_contains)"
                ))),
            },
        };
        result.map_err(|stop| stop.context(what))
    }
}

/// A tool call, its (large) future built and boxed here (see
/// [`run_boxed`](super::run_boxed)).
#[inline(never)]
fn invoke_boxed<'a>(
    tools: &'a llmspell_tools::ToolRuntime,
    tool: &'a str,
    input: Cow<'a, Value>,
    opts: llmspell_tools::InvokeOptions,
) -> BoxFuture<'a, llmspell_tools::Result<llmspell_tools::ToolInvocation>> {
    Box::pin(async move {
        match input {
            Cow::Borrowed(v) => tools.invoke_with_ref(tool, v, &opts).await,
            Cow::Owned(v) => tools.invoke_with(tool, v, &opts).await,
        }
    })
}

/// A stage operation run with its input lent (see
/// [`run_boxed`](super::run_boxed) for why it is boxed here).
#[inline(never)]
fn run_lent_boxed<'a>(
    op: llmspell_hooks::HookedOperation<'a, Stop>,
    attempt: &'a StageAttempt<'_, '_, '_>,
) -> BoxFuture<'a, Result<llmspell_hooks::Completed<Stop>, OperationError<Stop>>> {
    Box::pin(op.run_lent(attempt))
}

/// JSON equality, with numbers compared by value (`1` equals `1.0`, as a
/// script's integer and float do).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}
