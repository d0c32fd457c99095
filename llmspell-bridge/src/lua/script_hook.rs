//! [`LuaHook`]: a Lua function registered with `Hook.register`, as a real
//! [`Hook`] in the shared registry.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use llmspell_hooks::{Hook, HookContext, HookError, HookMetadata, HookResult};
use mlua::Function;

use super::engine::WeakEngine;
use crate::error::BridgeError;
use crate::hook_result::{context_to_json, result_from_json};

/// A script hook: calls its Lua function with the context as a table, under
/// the engine's per-call time limit, and converts what it returns.
///
/// It holds the engine weakly: once the engine is dropped the hook fails
/// with a clear error (and the engine unregisters its hooks when dropped).
pub(crate) struct LuaHook {
    pub(crate) engine: WeakEngine,
    pub(crate) func: Function,
    pub(crate) metadata: HookMetadata,
    pub(crate) timeout: Duration,
}

impl fmt::Debug for LuaHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LuaHook")
            .field("metadata", &self.metadata)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn to_hook_error(hook: &str, err: BridgeError) -> HookError {
    match err {
        BridgeError::Timeout { limit, .. } => HookError::Timeout {
            hook: hook.to_owned(),
            timeout: limit,
        },
        other => HookError::Execution {
            hook: hook.to_owned(),
            message: other.to_string(),
            source: Some(Arc::new(other)),
        },
    }
}

#[async_trait]
impl Hook for LuaHook {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_hooks::Result<HookResult> {
        let name = &self.metadata.name;
        let Some(engine) = self.engine.upgrade() else {
            return Err(HookError::Execution {
                hook: name.clone(),
                message: "the Lua engine that registered this hook no longer exists".to_owned(),
                source: None,
            });
        };
        let input = context_to_json(ctx);
        let output = engine
            .call_json(
                &self.func,
                &input,
                Some(self.timeout),
                &format!("hook `{name}`"),
            )
            .await
            .map_err(|e| to_hook_error(name, e))?;
        result_from_json(name, &output).map_err(|e| to_hook_error(name, e))
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}
