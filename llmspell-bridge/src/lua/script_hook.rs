//! [`LuaHookCallback`]: a Lua function registered with `Hook.register`, as
//! the neutral [`HookCallback`] behind a script hook in the shared registry.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use llmspell_hooks::HookContext;
use mlua::Function;

use std::sync::Arc;

use super::engine::{LuaEngine, WeakEngine};
use super::limits::{CallKind, Mode, Watchdog};
use crate::error::{BridgeError, Result};
use crate::globals::HookCallback;

/// Calls its Lua function with the context as a table, under the engine's
/// per-call time limit, and returns what it returned as JSON.
///
/// It holds the engine weakly: once the engine is dropped the hook fails
/// with a clear error (and the engine unregisters its hooks when dropped).
pub(crate) struct LuaHookCallback {
    engine: WeakEngine,
    /// Taken only by `Drop`.
    func: Option<Function>,
    watchdog: Watchdog,
}

impl LuaHookCallback {
    pub(crate) fn new(engine: &LuaEngine, func: Function) -> Self {
        Self {
            engine: engine.downgrade(),
            func: Some(func),
            watchdog: engine.watchdog().clone(),
        }
    }
}

impl Drop for LuaHookCallback {
    /// Dropping a Lua function takes the Lua lock. Once the engine is
    /// closing (its state is closed on another thread, where a finaliser
    /// may hold the lock for good) or discarded (a runaway holds it), the
    /// function is left to the state instead.
    fn drop(&mut self) {
        if self.watchdog.mode() != Mode::Normal {
            std::mem::forget(self.func.take());
        }
    }
}

impl fmt::Debug for LuaHookCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LuaHookCallback").finish_non_exhaustive()
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
        engine.check_discarded()?;
        let Some(func) = self.func.as_ref() else {
            return Err(BridgeError::EngineDropped { language: "Lua" });
        };
        // Wait for the engine (asynchronously, so the executor's timeout
        // for this hook still holds) if another thread is running Lua.
        let gate = Arc::clone(engine.gate());
        gate.hold(async {
            engine.check_discarded()?;
            let input = engine.lazy_context().table(engine.lua(), ctx)?;
            engine
                .call_value(
                    func,
                    mlua::Value::Table(input),
                    Some(limit),
                    CallKind::Hook,
                    hook,
                )
                .await
        })
        .await
    }
}
