//! Running one step, and evaluating conditions.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Map, Value};

use super::scope::{Frame, View};
use super::{failed_record, Position, Run, Stop};
use crate::condition::truthy;
use crate::definition::{Condition, Definition, Step, StepKind};
use crate::events;
use crate::function::{FunctionCall, ScriptFunction};
use crate::result::{StepRecord, StepSource};
use crate::store::{LogEntry, PendingCompensation};

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

impl Run<'_> {
    /// Runs `step` (the `index`-th of its list) in `frame`; returns its
    /// record and its output, or why the list must stop.
    pub(crate) async fn step(
        &self,
        def: &Definition,
        step: &Step,
        index: usize,
        frame: &Frame<'_>,
        at: &Position,
    ) -> (StepRecord, Result<Value, Stop>) {
        let path = format!("{}/{}", at.prefix, step.name);
        if let Some(LogEntry::Step {
            output,
            duration_ms,
            ..
        }) = self.resume.steps.get(&path)
        {
            let record = StepRecord {
                name: step.name.clone(),
                success: true,
                output: output.clone(),
                error: None,
                duration_ms: *duration_ms,
                step_index: index,
                iteration: at.iteration,
                branch: at.branch.clone(),
                source: StepSource::Checkpoint,
            };
            return (record, Ok(output.clone()));
        }

        let started = Instant::now();
        let failed = |cause: String, started: Instant| {
            (
                failed_record(step, index, at, cause.clone(), ms(started)),
                Err(Stop::Failed(format!(
                    "step `{}` failed: {cause}",
                    step.name
                ))),
            )
        };
        let input = match &step.input {
            Some(t) => match self.resolve(t, frame, None).await {
                Ok(v) => v,
                Err(Stop::Failed(cause)) => return failed(cause, started),
                Err(other) => {
                    return (
                        failed_record(step, index, at, "stopped".into(), ms(started)),
                        Err(other),
                    )
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

        let result = self.execute(def, step, input, frame, at, &path).await;
        let duration_ms = ms(started);
        let output = match result {
            Ok(output) => output,
            Err(stop) => {
                if let Some(mut d) = event_data {
                    let cause = match &stop {
                        Stop::Failed(m) | Stop::Cancelled(m) => m.clone(),
                        Stop::Store(e) => e.to_string(),
                    };
                    d["error"] = json!(cause);
                    d["duration_ms"] = json!(duration_ms);
                    self.events.publish(events::EVENT_STEP_FAILED, d).await;
                }
                return match stop {
                    Stop::Failed(cause) => failed(cause, started),
                    other => {
                        let text = match &other {
                            Stop::Cancelled(m) => m.clone(),
                            Stop::Store(e) => e.to_string(),
                            Stop::Failed(_) => unreachable!("handled above"),
                        };
                        (
                            failed_record(step, index, at, text, duration_ms),
                            Err(other),
                        )
                    }
                };
            }
        };

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
                Err(Stop::Failed(cause)) => {
                    return failed(format!("its compensation input: {cause}"), started)
                }
                Err(other) => {
                    return (
                        failed_record(step, index, at, "stopped".into(), duration_ms),
                        Err(other),
                    )
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
            source: StepSource::Executed,
            compensation,
        };
        if let Err(stop) = self.checkpoint(entry, &path).await {
            return (
                failed_record(step, index, at, "checkpoint failed".into(), duration_ms),
                Err(stop),
            );
        }
        if let Some(mut d) = event_data {
            d["duration_ms"] = json!(duration_ms);
            self.events.publish(events::EVENT_STEP_COMPLETED, d).await;
        }
        let record = StepRecord {
            name: step.name.clone(),
            success: true,
            output: output.clone(),
            error: None,
            duration_ms,
            step_index: index,
            iteration: at.iteration,
            branch: at.branch.clone(),
            source: StepSource::Executed,
        };
        (record, Ok(output))
    }

    /// Runs what the step names.
    async fn execute(
        &self,
        def: &Definition,
        step: &Step,
        input: Value,
        frame: &Frame<'_>,
        at: &Position,
        path: &str,
    ) -> Result<Value, Stop> {
        match &step.kind {
            StepKind::Tool(tool) => {
                let opts = llmspell_tools::InvokeOptions::new()
                    .language(self.language)
                    .correlation_id(self.events.correlation_id)
                    .caller(format!("workflow:{}", def.name));
                self.rt
                    .tools
                    .invoke_with(tool, input, &opts)
                    .await
                    .map(|inv| inv.result)
                    .map_err(|e| Stop::Failed(e.to_string()))
            }
            StepKind::Agent(agent) => {
                let Some(agents) = &self.rt.agents else {
                    return Err(Stop::Failed(format!(
                        "agent `{agent}`: no agent runtime is configured"
                    )));
                };
                agents
                    .invoke(agent, input)
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
        };
        result.map_err(|stop| stop.context(what))
    }
}
