//! Black-box tests of the built-in hooks, recorder, distributed context and
//! selective registry (one module per area). Hooks run through a real
//! `HookRegistry` + `HookExecutor`, driven by a small tool-like harness that
//! acts on the outcome the way components do.

mod caching;
mod command;
mod cost;
mod debugging;
mod distributed;
mod invariants;
mod logging;
mod metrics;
mod options;
mod rate_limit;
mod recorder;
mod redaction;
mod retry;
mod security;
mod selective;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use llmspell_hooks::{
    ComponentId, ComponentType, Hook, HookContext, HookExecutor, HookOutcome, HookPoint,
    HookRegistry, OperationContext,
};
use serde_json::{json, Value};

/// What a harness call ended in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Call {
    /// The operation ran and returned this.
    Ran(Value),
    /// The operation failed with this error; the outcome of the error
    /// point.
    Failed(String, HookOutcome),
    /// A hook replaced the operation with this value.
    Replaced(Value),
    /// A hook cancelled the operation.
    Cancelled(String),
}

/// A registry and executor, plus a counter of operations really run.
pub(crate) struct Harness {
    pub(crate) registry: Arc<HookRegistry>,
    pub(crate) executor: HookExecutor,
    pub(crate) runs: Arc<AtomicUsize>,
    pub(crate) component: ComponentId,
}

impl Harness {
    pub(crate) fn new(tool: &str) -> Self {
        let registry = Arc::new(HookRegistry::new());
        Self {
            executor: HookExecutor::new(registry.clone()),
            registry,
            runs: Arc::new(AtomicUsize::new(0)),
            component: ComponentId::new(ComponentType::Tool, tool),
        }
    }

    /// Registers `hook` at the tool's Before, After and Error points.
    pub(crate) fn attach(&self, hook: Arc<dyn Hook>) {
        for p in [
            HookPoint::BeforeToolExecution,
            HookPoint::AfterToolExecution,
            HookPoint::ToolError,
        ] {
            self.registry
                .register_with(p, hook.clone(), llmspell_hooks::RegisterOptions::new())
                .unwrap();
        }
    }

    pub(crate) fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    pub(crate) fn before_ctx(&self, params: &Value, user: Option<&str>) -> HookContext {
        let mut b = HookContext::builder(HookPoint::BeforeToolExecution, self.component.clone())
            .data("tool_name", json!(self.component.name))
            .data("parameters", params.clone())
            .operation(OperationContext::new("tool_execution", params.clone()));
        if let Some(u) = user {
            b = b.metadata("user_id", u);
        }
        b.build()
    }

    /// Runs one tool call: Before hooks, the operation (unless cancelled or
    /// replaced), then After or Error hooks.
    pub(crate) async fn call(
        &self,
        params: Value,
        user: Option<&str>,
        op: impl FnOnce(&Value) -> Result<Value, String>,
    ) -> Call {
        let mut ctx = self.before_ctx(&params, user);
        self.call_ctx(&mut ctx, op).await
    }

    pub(crate) async fn call_ctx(
        &self,
        ctx: &mut HookContext,
        op: impl FnOnce(&Value) -> Result<Value, String>,
    ) -> Call {
        match self.executor.execute_context(ctx).await {
            HookOutcome::Cancelled { reason, .. } => return Call::Cancelled(reason),
            HookOutcome::Replace { value, .. } => return Call::Replaced(value),
            _ => {}
        }
        self.runs.fetch_add(1, Ordering::SeqCst);
        let params = ctx.data.get("parameters").cloned().unwrap_or(Value::Null);
        match op(&params) {
            Ok(v) => {
                let mut after = ctx.child(HookPoint::AfterToolExecution);
                after.insert("result", v.clone());
                if let Some(op) = after.operation.as_mut() {
                    op.result = Some(v.clone());
                }
                let _ = self.executor.execute_context(&mut after).await;
                Call::Ran(v)
            }
            Err(e) => {
                let mut err = ctx.child(HookPoint::ToolError);
                err.insert("error", json!(e));
                if let Some(op) = err.operation.as_mut() {
                    op.error = Some(e.clone());
                }
                let outcome = self.executor.execute_context(&mut err).await;
                Call::Failed(e, outcome)
            }
        }
    }
}
