//! Script functions called from any thread: [`JsHookCallback`] (a function
//! registered with `Hook.register`, as the neutral [`HookCallback`] behind
//! a script hook in the shared registry) and [`JsMigration`] (a function
//! given to `State.migrate`, as the neutral [`MigrationCallback`]).

use std::fmt;
use std::sync::Weak;
use std::time::Duration;

use async_trait::async_trait;
use llmspell_hooks::HookContext;
use serde_json::Value;
use tokio::sync::oneshot;

use super::engine::{HookRequest, Request, Shared};
use super::runtime::reporting_limit;
use crate::error::{BridgeError, Result};
use crate::globals::{HookCallback, MigrationCallback};
use crate::hook_result::context_to_json;
use crate::scope::CallerScope;

/// A function the engine keeps (by id), held weakly through the engine:
/// once every handle is dropped a call fails with a clear error.
struct KeptFunction {
    shared: Weak<Shared>,
    fn_id: u64,
}

impl KeptFunction {
    /// Sends the call to the engine thread with `arg` and the caller's
    /// scope (so tool calls the function makes join the caller's
    /// correlation tree), and waits for the answer at most `limit`.
    async fn call(
        &self,
        arg: Value,
        limit: Duration,
        what: String,
        resource: &'static str,
    ) -> Result<Value> {
        let dropped = || BridgeError::EngineDropped {
            language: "JavaScript",
        };
        let shared = self.shared.upgrade().ok_or_else(dropped)?;
        let deadline = tokio::time::Instant::now() + limit;
        let (reply, rx) = oneshot::channel();
        shared.send(Request::Hook(Box::new(HookRequest {
            fn_id: self.fn_id,
            ctx: arg,
            caller: CallerScope::capture(),
            deadline,
            limit,
            what: what.clone(),
            resource,
            reporting: reporting_limit(),
            reply,
        })))?;
        // The engine keeps no handle alive while it works on the call.
        drop(shared);
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(out)) => out,
            Ok(Err(_)) => Err(dropped()),
            Err(_) => Err(BridgeError::Timeout { what, limit }),
        }
    }
}

/// A JavaScript hook function: each call gets the context in JSON form.
pub(crate) struct JsHookCallback(KeptFunction);

impl JsHookCallback {
    pub(crate) fn new(shared: Weak<Shared>, fn_id: u64) -> Self {
        Self(KeptFunction { shared, fn_id })
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
            )
            .await
    }
}

/// A JavaScript migration function: called with the old value, returns
/// (or resolves to) the new one.
pub(crate) struct JsMigration(KeptFunction);

impl JsMigration {
    pub(crate) fn new(shared: Weak<Shared>, fn_id: u64) -> Self {
        Self(KeptFunction { shared, fn_id })
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
            )
            .await
    }
}
