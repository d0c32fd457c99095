//! Script functions called from any thread: [`JsHookCallback`] (a function
//! registered with `Hook.register`, as the neutral [`HookCallback`] behind
//! a script hook in the shared registry), [`JsMigration`] (a function
//! given to `State.migrate`, as the neutral [`MigrationCallback`]) and
//! [`JsStepFunction`] (a function in a workflow definition, as the
//! workflows' [`ScriptFunction`]).

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Weak;
use std::time::Duration;

use async_trait::async_trait;
use llmspell_hooks::HookContext;
use llmspell_workflows::{BoxError, FunctionCall, FunctionReturn, ScriptFunction};
use serde_json::{json, Value};
use tokio::sync::oneshot::{self, error::TryRecvError};

use super::engine::{HookRequest, Request, Shared};
use super::runtime::{on_engine_thread, reporting_limit};
use super::spin::{Spin, CALLER_SPIN};
use crate::error::{BridgeError, Result};
use crate::globals::{HookCallback, MigrationCallback};
use crate::hook_result::context_to_json;
use crate::scope::CallerScope;

/// A function the engine keeps (by id), held weakly through the engine:
/// once every handle is dropped a call fails with a clear error.
struct KeptFunction {
    shared: Weak<Shared>,
    fn_id: u64,
    /// Calls left to make without spinning for the reply (see `spin`):
    /// set after a call outlasted the spin window, so that a slow function
    /// does not cost a window of CPU time on every call.
    no_spin: AtomicU32,
}

/// Calls made without spinning after one outlasted the window, before the
/// next try (unless one of them is quick anyway).
const NO_SPIN_CALLS: u32 = 16;

impl KeptFunction {
    fn new(shared: Weak<Shared>, fn_id: u64) -> Self {
        KeptFunction {
            shared,
            fn_id,
            no_spin: AtomicU32::new(0),
        }
    }

    /// Sends the call to the engine thread with `arg` and the caller's
    /// scope (so tool calls the function makes join the caller's
    /// correlation tree), and waits for the answer at most `limit`
    /// (`step`: a workflow function's call, see [`HookRequest::step`]).
    async fn call(
        &self,
        arg: Value,
        limit: Duration,
        what: String,
        resource: &'static str,
        step: bool,
    ) -> Result<Value> {
        let dropped = || BridgeError::EngineDropped {
            language: "JavaScript",
        };
        let shared = self.shared.upgrade().ok_or_else(dropped)?;
        let started = tokio::time::Instant::now();
        let deadline = started + limit;
        let (reply, mut rx) = oneshot::channel();
        shared.send(Request::Hook(Box::new(HookRequest {
            fn_id: self.fn_id,
            ctx: arg,
            caller: CallerScope::capture(),
            deadline,
            limit,
            what: what.clone(),
            resource,
            reporting: reporting_limit(),
            step,
            reply,
        })))?;
        // The engine keeps no handle alive while it works on the call.
        drop(shared);
        // A caller on an engine thread must not spin: when that engine is
        // the callee, it answers only once the caller returns.
        let may_spin = !on_engine_thread();
        let spin = may_spin && self.no_spin.load(Ordering::Relaxed) == 0;
        if spin {
            let mut window = Spin::new(CALLER_SPIN.min(limit));
            loop {
                match rx.try_recv() {
                    Ok(out) => return out,
                    Err(TryRecvError::Closed) => return Err(dropped()),
                    Err(TryRecvError::Empty) => {}
                }
                if !window.snooze() {
                    break;
                }
            }
            self.no_spin.store(NO_SPIN_CALLS, Ordering::Relaxed);
        } else if may_spin {
            // Saturating: another caller may have reset it meanwhile.
            let _ = self
                .no_spin
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
        let out = match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(out)) => out,
            Ok(Err(_)) => Err(dropped()),
            Err(_) => Err(BridgeError::Timeout { what, limit }),
        };
        // Answered within the window even with the wake-ups of a parked
        // wait: spin for the next call again.
        if may_spin && !spin && started.elapsed() < CALLER_SPIN {
            self.no_spin.store(0, Ordering::Relaxed);
        }
        out
    }
}

/// A JavaScript hook function: each call gets the context in JSON form.
pub(crate) struct JsHookCallback(KeptFunction);

impl JsHookCallback {
    pub(crate) fn new(shared: Weak<Shared>, fn_id: u64) -> Self {
        Self(KeptFunction::new(shared, fn_id))
    }
}

impl fmt::Debug for JsHookCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsHookCallback")
            .field("fn_id", &self.0.fn_id)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl HookCallback for JsHookCallback {
    async fn call(&self, ctx: &HookContext, limit: Duration, hook: &str) -> Result<Value> {
        self.0
            .call(
                context_to_json(ctx),
                limit,
                format!("hook `{hook}`"),
                "hook_time",
                false,
            )
            .await
    }
}

/// A JavaScript migration function: called with the old value, returns
/// (or resolves to) the new one.
pub(crate) struct JsMigration(KeptFunction);

impl JsMigration {
    pub(crate) fn new(shared: Weak<Shared>, fn_id: u64) -> Self {
        Self(KeptFunction::new(shared, fn_id))
    }
}

impl fmt::Debug for JsMigration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsMigration")
            .field("fn_id", &self.0.fn_id)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl MigrationCallback for JsMigration {
    async fn call(&self, value: &Value, limit: Duration) -> Result<Value> {
        self.0
            .call(
                value.clone(),
                limit,
                "State.migrate function".to_owned(),
                "call_time",
                false,
            )
            .await
    }
}

/// The time a workflow function may take when the main script has no time
/// limit (a year: in effect none, as for the main script).
const UNLIMITED: Duration = Duration::from_secs(365 * 24 * 3600);

/// A JavaScript function in a workflow definition (a `fn` step, a function
/// condition): called as `fn(input, state, ctx)` on the engine that defined
/// it, under the main script's time and loop limits; the state object as
/// the function leaves it is written back, as in Lua. A returned promise is
/// awaited.
pub(crate) struct JsStepFunction {
    kept: KeptFunction,
    what: String,
    limit: Duration,
}

impl JsStepFunction {
    /// `what` names it in errors (`workflow function $.steps[0].fn`);
    /// `limit` is the main script's time limit, if any.
    pub(crate) fn new(
        shared: Weak<Shared>,
        fn_id: u64,
        what: String,
        limit: Option<Duration>,
    ) -> Self {
        Self {
            kept: KeptFunction::new(shared, fn_id),
            what,
            limit: limit.unwrap_or(UNLIMITED),
        }
    }
}

impl fmt::Debug for JsStepFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsStepFunction")
            .field("what", &self.what)
            .field("fn_id", &self.kept.fn_id)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl ScriptFunction for JsStepFunction {
    async fn call(&self, call: FunctionCall) -> std::result::Result<FunctionReturn, BoxError> {
        let arg = json!({
            "input": call.input,
            "state": Value::Object(call.state),
            "context": call.context,
        });
        let out = self
            .kept
            .call(arg, self.limit, self.what.clone(), "script_time", true)
            .await
            .map_err(|e| match e {
                // The step record says which step failed; keep the message
                // and leave the JavaScript stack out of the result.
                BridgeError::Script { message, .. } => message
                    .split("\n    at ")
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                other => other.to_string(),
            })?;
        let Value::Object(mut out) = out else {
            return Err(format!("{}: the engine's reply has no output", self.what).into());
        };
        let output = out.remove("output").unwrap_or(Value::Null);
        Ok(match out.remove("state") {
            Some(Value::Object(state)) => FunctionReturn::with_state(output, state),
            _ => FunctionReturn::output(output),
        })
    }
}
