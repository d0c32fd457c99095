//! One call on the hooked path: the tool points driven through the core
//! hooked-operation engine (`llmspell_hooks::OperationRun`), which applies
//! every hook result. This module only adds the tool's own stages between
//! the points: discovery, validation and the guarded execution.

use std::borrow::Cow;

use futures::future::BoxFuture;
use llmspell_hooks::{
    AfterStep, ComponentId, ComponentType, ForkError, ForkOperation, ForkRunner, HookPoint,
    OperationError, OperationRun, Recovery, ResultSource, Step,
};
use serde_json::Value;
use uuid::Uuid;

use super::{ForkResult, InvokeOptions, ToolRuntime};
use crate::{Result, ToolContext, ToolError};

/// A finished call.
#[derive(Debug)]
pub(super) struct Done {
    pub(super) tool: String,
    pub(super) result: Value,
    pub(super) source: ResultSource,
    pub(super) attempts: u32,
    pub(super) forks: Vec<ForkResult>,
}

/// Runs the calls of `Fork` results through this same path, one level
/// deeper, with the parent call's options and correlation id.
struct Forker<'a> {
    rt: &'a ToolRuntime,
    opts: &'a InvokeOptions,
    corr: Uuid,
}

impl ForkRunner<ToolError> for Forker<'_> {
    fn run_fork(&self, op: ForkOperation, depth: u32) -> BoxFuture<'_, Result<Value>> {
        Box::pin(async move {
            self.rt
                .run_boxed(op.target, op.parameters, self.opts, self.corr, depth)
                .await
                .map(|done| done.result)
        })
    }
}

type Flow = std::result::Result<(Value, ResultSource), OperationError<ToolError>>;

impl ToolRuntime {
    /// One call through the six tool points.
    pub(super) async fn call(
        &self,
        name: Cow<'_, str>,
        params: Cow<'_, Value>,
        opts: &InvokeOptions,
        corr: Uuid,
        depth: u32,
    ) -> Result<Done> {
        let forker = Forker {
            rt: self,
            opts,
            corr,
        };
        let mut op = self
            .hooks
            .operation::<ToolError>(ComponentId::new(ComponentType::Tool, name.into_owned()))
            .before(HookPoint::BeforeToolExecution)
            .after(HookPoint::AfterToolExecution)
            .on_error(HookPoint::ToolError)
            .name_key("tool_name")
            .output_key("result")
            .correlation_id(corr)
            .language(opts.language)
            .redirects(self.max_redirects)
            .retryable(ToolError::is_retryable)
            .fork_runner(&forker)
            .fork_depth(depth, self.max_fork_depth)
            .cache(&self.cache)
            // A tool does not start other hooked operations itself.
            .nested(false)
            // `Done` has no use for the final context data: not copying the
            // result into it saves a clone of every result.
            .completed_data(false)
            // The data map goes back to the runtime for the next call.
            .spare_data(true);
        if let Some(map) = self.spare_map() {
            op = op.data_map(map);
        }
        // Borrowed parameters are copied only when something needs them
        // owned: a hooked point, the synonym resolution (which copies them
        // anyway), a hook's change. The tool reads them in place.
        let lent = match params {
            Cow::Borrowed(p) => {
                op = op.input_ref("parameters", p);
                Some(p)
            }
            Cow::Owned(p) => {
                op = op.input("parameters", p);
                None
            }
        };
        if let Some(caller) = &opts.caller {
            op = op.metadata("caller", caller.clone());
        }
        if let Some(parent) = &opts.parent {
            op = op.parent(parent.clone());
        }
        let mut run = op.start();
        let flow = self.steps(&mut run, lent, opts).await;
        // Errors become tool errors naming the tool the call was at.
        let flow = flow.map_err(|e| OperationError::Failed(tool_error(e, run.target())));
        let mut done = run.complete(flow).await.map_err(|e| match e {
            OperationError::Failed(e) => e,
            other => tool_error(other, "?"),
        })?;
        if let Some(map) = done.spare_data.take() {
            self.keep_map(map);
        }
        Ok(Done {
            forks: done
                .forks
                .into_iter()
                .map(|f| ForkResult {
                    outcome: f.outcome.map_err(|e| fork_error(e, &f.target)),
                    target: f.target,
                })
                .collect(),
            tool: done.target,
            result: done.value,
            source: done.source,
            attempts: done.attempts,
        })
    }

    /// Discovery, validation and execution, with the hook decisions the
    /// engine returns at each point. `lent`: the parameters the caller
    /// lent (`invoke_with_ref`), if so.
    async fn steps(
        &self,
        run: &mut OperationRun<'_, ToolError>,
        lent: Option<&Value>,
        opts: &InvokeOptions,
    ) -> Flow {
        'target: loop {
            // Discovery: a hook may rename the tool (no redirect counted).
            match run.before(&HookPoint::BeforeToolDiscovery).await? {
                Step::Go => {}
                Step::Redirect(t) => {
                    run.redirect(t)?;
                    continue 'target;
                }
                Step::Finish(v, s) => return Ok((v, s)),
            }
            if let Some(name) = run.take_renamed() {
                run.set_target(name);
            }
            let found = self.table.bind(&self.registry, run.target());
            let missing = found.as_ref().err().map(ToString::to_string);
            match run
                .before_noting(&HookPoint::AfterToolDiscovery, missing)
                .await?
            {
                Step::Go => {}
                Step::Redirect(t) => {
                    run.redirect(t)?;
                    continue 'target;
                }
                Step::Finish(v, s) => return Ok((v, s)),
            }
            let tool = match found {
                Ok(tool) => tool,
                // Not found is not retryable: a `Retry` there cannot re-run.
                Err(e) => match run.error(&HookPoint::ToolError, e).await {
                    Recovery::Fail(e) => return Err(e),
                    Recovery::Rerun => continue 'target,
                    Recovery::Redirect(t) => {
                        run.redirect(t)?;
                        continue 'target;
                    }
                    Recovery::Finish(v, s) => return Ok((v, s)),
                },
            };

            // Validation (of the parameters as the hooks left them).
            match run.before(&HookPoint::ToolValidation).await? {
                Step::Go => {}
                Step::Redirect(t) => {
                    run.redirect(t)?;
                    continue 'target;
                }
                Step::Finish(v, s) => return Ok((v, s)),
            }
            // Synonyms resolved first: hooks from BeforeToolExecution on, and
            // the tool, see the canonical names.
            // Copied only when a synonym is there to resolve: otherwise the
            // parameters are checked in place.
            let checked = if !tool.tool.metadata().synonyms().appear_in(run.input()) {
                tool.tool.validate(run.input())
            } else {
                let mut params = run.input().clone();
                tool.tool
                    .prepare(&mut params)
                    .map(|()| run.set_input(params))
            };
            if let Err(e) = checked {
                // Validation errors are not retryable either.
                match run.error(&HookPoint::ToolError, e).await {
                    Recovery::Fail(e) => return Err(e),
                    Recovery::Redirect(t) => {
                        run.redirect(t)?;
                        continue 'target;
                    }
                    Recovery::Finish(v, s) => return Ok((v, s)),
                    Recovery::Rerun => continue 'target,
                }
            }

            match run.before(&HookPoint::BeforeToolExecution).await? {
                Step::Go => {}
                Step::Redirect(t) => {
                    run.redirect(t)?;
                    continue 'target;
                }
                Step::Finish(v, s) => return Ok((v, s)),
            }

            // Execution, re-run as hooks ask.
            let ctx = ToolContext::for_call(run.correlation_id(), opts.caller.clone());
            let timeout = opts.timeout.unwrap_or(self.timeout);
            loop {
                // While the run's input is still the caller's lent value
                // (no hook changed it, no synonym was resolved in a copy),
                // the tool borrows it too: `execute_ref`, no copy for the
                // attempt. Otherwise the run's own input, moved when the
                // run will not need it again.
                // When the run must keep its input for a re-run, the tool
                // borrows it for the attempt instead of getting a copy (a
                // tool that only has `execute` copies it in its default
                // `execute_ref`, as `input_for_attempt` would have); it is
                // given back to the run before the next point.
                let lent = lent.filter(|p| std::ptr::eq(*p, run.input()));
                let kept = match lent {
                    Some(_) => None,
                    None => run.take_input_to_lend(),
                };
                let attempt = match (lent, &kept) {
                    (Some(p), _) | (None, Some(p)) => tool.tool.tool().execute_ref(p, &ctx),
                    (None, None) => tool.tool.tool().execute(run.input_for_attempt(), &ctx),
                };
                let outcome = run
                    .execute(self.execute_once(&tool, attempt, &ctx, timeout))
                    .await;
                if let Some(input) = kept {
                    run.set_input(input);
                }
                match outcome {
                    Ok(value) => match run.after(&HookPoint::AfterToolExecution, value).await? {
                        AfterStep::Done(v, s) => return Ok((v, s)),
                        AfterStep::Rerun => continue,
                        AfterStep::Redirect(t) => {
                            run.redirect(t)?;
                            continue 'target;
                        }
                    },
                    Err(e) => match run.error(&HookPoint::ToolError, e).await {
                        Recovery::Fail(e) => return Err(e),
                        Recovery::Rerun => continue,
                        Recovery::Redirect(t) => {
                            run.redirect(t)?;
                            continue 'target;
                        }
                        Recovery::Finish(v, s) => return Ok((v, s)),
                    },
                }
            }
        }
    }
}

/// The tool error for an operation error at tool `tool`.
fn tool_error(e: OperationError<ToolError>, tool: &str) -> ToolError {
    match e {
        OperationError::Failed(e) => e,
        OperationError::Cancelled { hook, reason, .. } => ToolError::Cancelled {
            tool: tool.to_owned(),
            hook,
            reason,
        },
        OperationError::RetriesExhausted {
            hook, max_attempts, ..
        } => ToolError::RetriesExhausted {
            tool: tool.to_owned(),
            hook,
            max_attempts,
        },
        OperationError::TooManyRedirects { target, limit } => ToolError::TooManyRedirects {
            tool: target,
            limit,
        },
        other => ToolError::execution(tool, other.to_string()),
    }
}

/// The tool error of a fork that did not run or failed.
fn fork_error(e: ForkError<ToolError>, target: &str) -> ToolError {
    match e {
        ForkError::Failed(e) => e,
        ForkError::TooDeep { limit } => ToolError::execution(
            target,
            format!("not run: forked calls may nest at most {limit} levels deep"),
        ),
        other => ToolError::execution(target, other.to_string()),
    }
}
