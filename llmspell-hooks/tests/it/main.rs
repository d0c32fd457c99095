//! Black-box tests of llmspell-hooks.

mod composite;
mod concurrency;
mod isolation;
mod operation;
mod points;
mod registry;
mod results;
mod send_sync;

use std::sync::Arc;

use llmspell_hooks::{
    hook_fn, ComponentId, ComponentType, HookContext, HookExecutor, HookPoint, HookRegistry,
    HookResult,
};

/// A registry and an executor over it.
pub(crate) fn setup() -> (Arc<HookRegistry>, HookExecutor) {
    let registry = Arc::new(HookRegistry::new());
    let executor = HookExecutor::new(registry.clone());
    (registry, executor)
}

/// A context for a tool named `name` at BeforeToolExecution.
pub(crate) fn tool_ctx(name: &str) -> HookContext {
    HookContext::new(
        HookPoint::BeforeToolExecution,
        ComponentId::new(ComponentType::Tool, name),
    )
}

/// A hook that always returns `result`.
pub(crate) fn returns(name: &str, result: HookResult) -> impl llmspell_hooks::Hook + 'static {
    hook_fn(name, move |_| Ok(result.clone()))
}
