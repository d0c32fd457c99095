//! The state of one call on the hooked path and the steps it goes through.

use std::borrow::Cow;
use std::time::Duration;

use llmspell_hooks::{ForkOperation, HookData, HookOutcome, HookPoint};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{ForkResult, InvokeOptions, ResultSource, ToolRuntime};
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

/// What a hook point before execution decided.
enum Step {
    Go,
    Redirect(String),
    Finish(Value, ResultSource),
}

/// What the `ToolError` hooks decided.
enum Recovery {
    Fail(ToolError),
    Retry {
        delay: Duration,
        max: u32,
        error: ToolError,
    },
    Redirect(String),
    Finish(Value, ResultSource),
}

pub(super) struct Call<'a> {
    rt: &'a ToolRuntime,
    opts: &'a InvokeOptions,
    corr: Uuid,
    depth: u32,
    name: Cow<'a, str>,
    params: Value,
    redirects: u32,
    attempts: u32,
    forks: Vec<ForkResult>,
    pending_forks: Vec<ForkOperation>,
    cache_store: Option<(String, Duration)>,
}

impl<'a> Call<'a> {
    pub(super) fn new(
        rt: &'a ToolRuntime,
        name: Cow<'a, str>,
        params: Value,
        opts: &'a InvokeOptions,
        corr: Uuid,
        depth: u32,
    ) -> Self {
        Self {
            rt,
            opts,
            corr,
            depth,
            name,
            params,
            redirects: 0,
            attempts: 0,
            forks: Vec::new(),
            pending_forks: Vec::new(),
            cache_store: None,
        }
    }

    #[inline]
    fn hooked(&self, point: &HookPoint) -> bool {
        self.rt.hooks.has_hooks(point)
    }

    /// Drives the call to its end.
    pub(super) async fn drive(mut self) -> Result<Done> {
        let outcome = self.steps().await;
        // Forks asked for before a step that finished early still run.
        if !self.pending_forks.is_empty() {
            let ops = std::mem::take(&mut self.pending_forks);
            let results = self.run_forks(ops).await;
            self.forks.extend(results);
        }
        let (result, source) = outcome?;
        Ok(Done {
            tool: self.name.into_owned(),
            result,
            source,
            attempts: self.attempts,
            forks: self.forks,
        })
    }

    fn redirect(&mut self, target: String) -> Result<()> {
        self.redirects += 1;
        if self.redirects > self.rt.max_redirects {
            return Err(ToolError::TooManyRedirects {
                tool: target,
                limit: self.rt.max_redirects,
            });
        }
        self.name = Cow::Owned(target);
        Ok(())
    }

    async fn steps(&mut self) -> Result<(Value, ResultSource)> {
        'target: loop {
            // Discovery.
            if self.hooked(&HookPoint::BeforeToolDiscovery) {
                match self.before(HookPoint::BeforeToolDiscovery).await? {
                    Step::Go => {}
                    Step::Redirect(t) => {
                        self.redirect(t)?;
                        continue 'target;
                    }
                    Step::Finish(v, s) => return Ok((v, s)),
                }
            }
            let found = self.rt.table.bind(&self.rt.registry, &self.name);
            if self.hooked(&HookPoint::AfterToolDiscovery) {
                let error = found.as_ref().err().map(ToString::to_string);
                match self
                    .before_with(HookPoint::AfterToolDiscovery, error)
                    .await?
                {
                    Step::Go => {}
                    Step::Redirect(t) => {
                        self.redirect(t)?;
                        continue 'target;
                    }
                    Step::Finish(v, s) => return Ok((v, s)),
                }
            }
            let tool = match found {
                Ok(tool) => tool,
                Err(e) => match self.on_error(e).await {
                    // Not found is not retryable: `on_error` never asks to
                    // retry it.
                    Recovery::Fail(error) | Recovery::Retry { error, .. } => return Err(error),
                    Recovery::Redirect(t) => {
                        self.redirect(t)?;
                        continue 'target;
                    }
                    Recovery::Finish(v, s) => return Ok((v, s)),
                },
            };

            // Validation.
            if self.hooked(&HookPoint::ToolValidation) {
                match self.before(HookPoint::ToolValidation).await? {
                    Step::Go => {}
                    Step::Redirect(t) => {
                        self.redirect(t)?;
                        continue 'target;
                    }
                    Step::Finish(v, s) => return Ok((v, s)),
                }
            }
            if let Err(e) = tool.tool.validate(&self.params) {
                match self.on_error(e).await {
                    // Running the tool again cannot fix its parameters, and
                    // `on_error` never asks to retry a validation error.
                    Recovery::Fail(error) | Recovery::Retry { error, .. } => return Err(error),
                    Recovery::Redirect(t) => {
                        self.redirect(t)?;
                        continue 'target;
                    }
                    Recovery::Finish(v, s) => return Ok((v, s)),
                }
            }

            // Before execution.
            if self.hooked(&HookPoint::BeforeToolExecution) {
                match self.before(HookPoint::BeforeToolExecution).await? {
                    Step::Go => {}
                    Step::Redirect(t) => {
                        self.redirect(t)?;
                        continue 'target;
                    }
                    Step::Finish(v, s) => return Ok((v, s)),
                }
            }

            // Execution, with re-runs asked for by hooks.
            let ctx = ToolContext::for_call(self.corr, self.opts.caller.clone());
            let timeout = self.opts.timeout.unwrap_or(self.rt.timeout);
            let mut reruns = 0u32;
            loop {
                self.attempts += 1;
                let keep = self.hooked(&HookPoint::AfterToolExecution)
                    || self.hooked(&HookPoint::ToolError);
                let params = if keep {
                    self.params.clone()
                } else {
                    std::mem::take(&mut self.params)
                };
                let outcome = if self.pending_forks.is_empty() {
                    self.rt.execute_once(&tool, params, &ctx, timeout).await
                } else {
                    let ops = std::mem::take(&mut self.pending_forks);
                    let (outcome, forked) = futures::join!(
                        self.rt.execute_once(&tool, params, &ctx, timeout),
                        run_forks(self.rt, self.opts, self.corr, self.depth, ops)
                    );
                    self.forks.extend(forked);
                    outcome
                };
                match outcome {
                    Ok(result) => {
                        let mut result = result;
                        let mut source = ResultSource::Executed;
                        if self.hooked(&HookPoint::AfterToolExecution) {
                            let mut data = self.take_data();
                            data.insert("result".into(), result);
                            let (outcome, mut data) = self
                                .rt
                                .fire(
                                    HookPoint::AfterToolExecution,
                                    &self.name,
                                    self.corr,
                                    self.opts,
                                    data,
                                )
                                .await;
                            self.restore(&mut data);
                            result = data.remove("result").unwrap_or(Value::Null);
                            match outcome {
                                HookOutcome::Continue => {}
                                HookOutcome::Cancelled { reason, hook } => {
                                    return Err(self.cancelled(hook, reason));
                                }
                                HookOutcome::Redirect { target, .. } => {
                                    self.redirect(target)?;
                                    continue 'target;
                                }
                                HookOutcome::Replace { value, .. } => {
                                    result = value;
                                    source = ResultSource::Replaced;
                                }
                                HookOutcome::Retry {
                                    delay,
                                    max_attempts,
                                    ..
                                } => {
                                    if reruns < max_attempts {
                                        reruns += 1;
                                        tokio::time::sleep(delay).await;
                                        continue;
                                    }
                                }
                                HookOutcome::Fork { operations, .. } => {
                                    let forked = self.run_forks(operations).await;
                                    self.forks.extend(forked);
                                }
                                HookOutcome::Cache { key, ttl, .. } => {
                                    self.rt.cache.insert(key, result.clone(), ttl);
                                }
                            }
                        }
                        if let Some((key, ttl)) = self.cache_store.take() {
                            self.rt.cache.insert(key, result.clone(), ttl);
                        }
                        return Ok((result, source));
                    }
                    Err(e) => match self.on_error(e).await {
                        Recovery::Fail(e) => return Err(e),
                        Recovery::Retry { delay, max, error } => {
                            if reruns < max {
                                reruns += 1;
                                tokio::time::sleep(delay).await;
                                continue;
                            }
                            return Err(error);
                        }
                        Recovery::Redirect(t) => {
                            self.redirect(t)?;
                            continue 'target;
                        }
                        Recovery::Finish(v, s) => return Ok((v, s)),
                    },
                }
            }
        }
    }

    /// The fixed data keys every context of this call starts with. The
    /// parameters move into the data; [`restore`](Self::restore) takes them
    /// back (as a hook left them) after the hooks ran.
    fn take_data(&mut self) -> HookData {
        let mut data = HookData::new();
        data.insert(
            "tool_name".into(),
            Value::String(self.name.clone().into_owned()),
        );
        data.insert("parameters".into(), std::mem::take(&mut self.params));
        if !self.forks.is_empty() {
            data.insert("forks".into(), forks_json(&self.forks));
        }
        data
    }

    /// Takes the parameters back from hook data: a `Modified` result's
    /// parameters replace them (a result without them leaves none).
    fn restore(&mut self, data: &mut HookData) {
        self.params = data.remove("parameters").unwrap_or(Value::Null);
    }

    fn cancelled(&self, hook: String, reason: String) -> ToolError {
        ToolError::Cancelled {
            tool: self.name.clone().into_owned(),
            hook,
            reason,
        }
    }

    /// Fires a point before execution and applies its outcome.
    async fn before(&mut self, point: HookPoint) -> Result<Step> {
        self.before_with(point, None).await
    }

    /// [`before`](Self::before) with an `error` data key (discovery of a
    /// missing tool).
    async fn before_with(&mut self, point: HookPoint, error: Option<String>) -> Result<Step> {
        let mut retries = 0u32;
        loop {
            let mut data = self.take_data();
            if let Some(e) = &error {
                data.insert("error".into(), json!(e));
            }
            let (outcome, mut data) = self
                .rt
                .fire(point.clone(), &self.name, self.corr, self.opts, data)
                .await;
            self.restore(&mut data);
            if point == HookPoint::BeforeToolDiscovery {
                if let Some(Value::String(name)) = data.remove("tool_name") {
                    if name != self.name {
                        self.name = Cow::Owned(name);
                    }
                }
            }
            return Ok(match outcome {
                HookOutcome::Continue => Step::Go,
                HookOutcome::Cancelled { reason, hook } => {
                    return Err(self.cancelled(hook, reason));
                }
                HookOutcome::Redirect { target, .. } => Step::Redirect(target),
                HookOutcome::Replace { value, .. } => Step::Finish(value, ResultSource::Replaced),
                HookOutcome::Retry {
                    delay,
                    max_attempts,
                    hook,
                } => {
                    if retries >= max_attempts {
                        return Err(ToolError::RetriesExhausted {
                            tool: self.name.clone().into_owned(),
                            hook,
                            max_attempts,
                        });
                    }
                    retries += 1;
                    tokio::time::sleep(delay).await;
                    continue;
                }
                HookOutcome::Fork { operations, .. } => {
                    self.pending_forks.extend(operations);
                    Step::Go
                }
                HookOutcome::Cache { key, ttl, .. } => match self.rt.cache.get(&key) {
                    Some(hit) => Step::Finish(hit, ResultSource::Cached),
                    None => {
                        self.cache_store = Some((key, ttl));
                        Step::Go
                    }
                },
            });
        }
    }

    /// Fires `ToolError` for `error` and says what to do.
    async fn on_error(&mut self, error: ToolError) -> Recovery {
        if !self.hooked(&HookPoint::ToolError) {
            return Recovery::Fail(error);
        }
        let mut data = self.take_data();
        data.insert("error".into(), Value::String(error.to_string()));
        let (outcome, mut data) = self
            .rt
            .fire(HookPoint::ToolError, &self.name, self.corr, self.opts, data)
            .await;
        self.restore(&mut data);
        match outcome {
            HookOutcome::Continue => match data.remove("result") {
                // A `Modified` result recovers the call.
                Some(result) if !result.is_null() => {
                    Recovery::Finish(result, ResultSource::Replaced)
                }
                _ => Recovery::Fail(error),
            },
            HookOutcome::Cancelled { reason, hook } => Recovery::Fail(self.cancelled(hook, reason)),
            HookOutcome::Redirect { target, .. } => Recovery::Redirect(target),
            HookOutcome::Replace { value, .. } => Recovery::Finish(value, ResultSource::Replaced),
            HookOutcome::Retry {
                delay,
                max_attempts,
                ..
            } if error.is_retryable() => Recovery::Retry {
                delay,
                max: max_attempts,
                error,
            },
            HookOutcome::Retry { .. } => Recovery::Fail(error),
            HookOutcome::Fork { operations, .. } => {
                let forked = self.run_forks(operations).await;
                self.forks.extend(forked);
                Recovery::Fail(error)
            }
            HookOutcome::Cache { key, .. } => match self.rt.cache.get(&key) {
                Some(hit) => Recovery::Finish(hit, ResultSource::Cached),
                None => Recovery::Fail(error),
            },
        }
    }

    async fn run_forks(&self, ops: Vec<ForkOperation>) -> Vec<ForkResult> {
        run_forks(self.rt, self.opts, self.corr, self.depth, ops).await
    }
}

/// Runs forked calls concurrently through the hooked path.
async fn run_forks(
    rt: &ToolRuntime,
    opts: &InvokeOptions,
    corr: Uuid,
    depth: u32,
    ops: Vec<ForkOperation>,
) -> Vec<ForkResult> {
    if depth >= rt.max_fork_depth {
        return ops
            .into_iter()
            .map(|op| ForkResult {
                outcome: Err(ToolError::execution(
                    op.target.clone(),
                    format!(
                        "not run: forked calls may nest at most {} levels deep",
                        rt.max_fork_depth
                    ),
                )),
                target: op.target,
            })
            .collect();
    }
    let calls = ops.into_iter().map(|op| {
        let target = op.target.clone();
        let fut = rt.run_boxed(op.target, op.parameters, opts, corr, depth + 1);
        async move {
            ForkResult {
                target,
                outcome: fut.await.map(|done| done.result),
            }
        }
    });
    futures::future::join_all(calls).await
}

/// Fork results as hook data: `[{"target", "result"} | {"target", "error"}]`.
fn forks_json(forks: &[ForkResult]) -> Value {
    Value::Array(
        forks
            .iter()
            .map(|f| match &f.outcome {
                Ok(v) => json!({"target": f.target, "result": v}),
                Err(e) => json!({"target": f.target, "error": e.to_string()}),
            })
            .collect(),
    )
}
