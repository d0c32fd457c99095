//! [`JsHookCallback`]: a JavaScript function registered with
//! `Hook.register`, as the neutral [`HookCallback`] behind a script hook in
//! the shared registry.

use std::fmt;
use std::sync::Weak;
use std::time::Duration;

use async_trait::async_trait;
use llmspell_hooks::HookContext;
use tokio::sync::oneshot;

use super::engine::{HookRequest, Request, Shared};
use super::runtime::reporting_limit;
use crate::error::{BridgeError, Result};
use crate::globals::HookCallback;
use crate::hook_result::context_to_json;
use crate::scope::CallerScope;

/// Sends each call to the engine thread with the context in JSON form and
/// the caller's scope (so tool calls the hook makes join the caller's
/// correlation tree), and waits for the answer at most `limit`.
///
/// It holds the engine weakly: once every handle is dropped the hook fails
/// with a clear error (and the engine unregisters its hooks then).
pub(crate) struct JsHookCallback {
    shared: Weak<Shared>,
    fn_id: u64,
}

impl JsHookCallback {
    pub(crate) fn new(shared: Weak<Shared>, fn_id: u64) -> Self {
        Self { shared, fn_id }
    }
}

impl fmt::Debug for JsHookCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsHookCallback")
            .field("fn_id", &self.fn_id)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl HookCallback for JsHookCallback {
    async fn call(&self, ctx: &HookContext, limit: Duration, hook: &str) -> Result<serde_json::Value> {
        let dropped = || BridgeError::EngineDropped {
            language: "JavaScript",
        };
        let shared = self.shared.upgrade().ok_or_else(dropped)?;
        let deadline = tokio::time::Instant::now() + limit;
        let (reply, rx) = oneshot::channel();
        shared.send(Request::Hook(HookRequest {
            fn_id: self.fn_id,
            ctx: context_to_json(ctx),
            caller: CallerScope::capture(),
            deadline,
            limit,
            hook: hook.to_owned(),
            reporting: reporting_limit(),
            reply,
        }))?;
        // The engine keeps no handle alive while it works on the call.
        drop(shared);
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(out)) => out,
            Ok(Err(_)) => Err(dropped()),
            Err(_) => Err(BridgeError::Timeout {
                what: format!("hook `{hook}`"),
                limit,
            }),
        }
    }
}
