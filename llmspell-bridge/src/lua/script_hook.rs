//! [`LuaHookCallback`]: a Lua function registered with `Hook.register`, as
//! the neutral [`HookCallback`] behind a script hook in the shared registry.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use llmspell_hooks::HookContext;
use mlua::Function;

use super::engine::WeakEngine;
use crate::error::{BridgeError, Result};
use crate::globals::HookCallback;

/// Calls its Lua function with the context as a table, under the engine's
/// per-call time limit, and returns what it returned as JSON.
///
/// It holds the engine weakly: once the engine is dropped the hook fails
/// with a clear error (and the engine unregisters its hooks when dropped).
pub(crate) struct LuaHookCallback {
    engine: WeakEngine,
    func: Function,
}

impl LuaHookCallback {
    pub(crate) fn new(engine: WeakEngine, func: Function) -> Self {
        Self { engine, func }
    }
}

impl fmt::Debug for LuaHookCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LuaHookCallback").finish_non_exhaustive()
    }
}

/// "hook `name`", formatted only for an error message.
struct HookName<'a>(&'a str);

impl fmt::Display for HookName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hook `{}`", self.0)
    }
}

#[async_trait]
impl HookCallback for LuaHookCallback {
    async fn call(
        &self,
        ctx: &HookContext,
        limit: Duration,
        hook: &str,
    ) -> Result<serde_json::Value> {
        let Some(engine) = self.engine.upgrade() else {
            return Err(BridgeError::EngineDropped { language: "Lua" });
        };
        let input = engine.lazy_context().table(engine.lua(), ctx)?;
        engine
            .call_value(
                &self.func,
                mlua::Value::Table(input),
                Some(limit),
                &HookName(hook),
            )
            .await
    }
}
