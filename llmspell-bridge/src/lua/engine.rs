//! [`LuaEngine`]: one sandboxed Lua state with the context's globals.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use mlua::{FromLuaMulti, Function, IntoLuaMulti, Lua, MultiValue, Value};

use super::config::LuaConfig;
use super::convert::lua_to_json;
use super::limits::Watchdog;
use super::{sandbox, ScriptName};
use crate::context::GlobalContext;
use crate::error::{find_bridge_error, BridgeError, Result};

/// A Lua 5.4 state with the globals of a [`GlobalContext`], its sandbox and
/// its limits.
///
/// Cheap to clone. The state is used by one thread at a time (mlua's
/// re-entrant lock); every call the engine makes runs as an async coroutine
/// that releases the lock whenever it waits, so a hook registered by the
/// script can fire from another thread while the script waits in a bridge
/// call, and re-entrantly from the script's own thread.
#[derive(Clone)]
pub struct LuaEngine {
    inner: Arc<Inner>,
}

struct Inner {
    lua: Lua,
    watchdog: Watchdog,
    config: LuaConfig,
    context: GlobalContext,
}

impl fmt::Debug for LuaEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LuaEngine")
            .field("config", &self.inner.config)
            .field("context", &self.inner.context)
            .finish_non_exhaustive()
    }
}

/// How often (in instruction slices) a bridge call yields to the runtime
/// even when no deadline is near, so other threads get the Lua lock.
const FAIR_EVERY: u64 = 16;

/// Raised by the instruction hook where it cannot yield.
#[derive(Debug, thiserror::Error)]
#[error("time limit exceeded: the call ran longer than its limit and was stopped")]
pub(crate) struct TimeLimitHit;

impl LuaEngine {
    /// Creates the state, applies sandbox and limits, and injects every
    /// global of `context`.
    ///
    /// # Errors
    /// [`BridgeError::Setup`] when the state cannot be created or a global
    /// cannot be injected.
    pub fn new(context: GlobalContext, config: LuaConfig) -> Result<Self> {
        let lua = sandbox::new_state(config.sandbox)?;
        let watchdog = Watchdog::default();
        watchdog
            .install(&lua, config.instruction_slice, FAIR_EVERY)
            .map_err(|e| BridgeError::Setup(e.to_string()))?;
        lua.set_app_data(ScriptName(String::from("<none>")));
        for global in context.globals() {
            global.inject_lua(&lua, &context).map_err(|e| {
                BridgeError::Setup(format!("global `{}`: {e}", global.metadata().name))
            })?;
        }
        if let Some(limit) = config.memory_limit {
            lua.set_memory_limit(limit)
                .map_err(|e| BridgeError::Setup(e.to_string()))?;
        }
        Ok(LuaEngine {
            inner: Arc::new(Inner {
                lua,
                watchdog,
                config,
                context,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &LuaConfig {
        &self.inner.config
    }

    /// The shared context.
    #[must_use]
    pub fn context(&self) -> &GlobalContext {
        &self.inner.context
    }

    /// Bytes currently allocated by the Lua state.
    #[must_use]
    pub fn used_memory(&self) -> usize {
        self.inner.lua.used_memory()
    }

    /// Runs a script: `args` are visible as `...` and in the global `arg`
    /// (`arg[0]` is `chunk_name`). Returns the script's first return value as
    /// JSON (`null` when it returns nothing).
    ///
    /// # Errors
    /// [`BridgeError::Script`] with the Lua traceback when the script fails,
    /// [`BridgeError::Timeout`] / [`BridgeError::MemoryLimit`] when it hits a
    /// limit, [`BridgeError::Conversion`] when its return value has no JSON
    /// form.
    pub async fn run_script(
        &self,
        source: &str,
        chunk_name: &str,
        args: &[String],
    ) -> Result<serde_json::Value> {
        let lua = &self.inner.lua;
        lua.set_app_data(ScriptName(chunk_name.to_owned()));
        let what = chunk_name.to_owned();
        let func = lua
            .load(source)
            .set_name(format!("@{chunk_name}"))
            .into_function()
            .map_err(|e| self.map_error(e, &what, None))?;
        let arg = lua
            .create_sequence_from(args.iter().map(String::as_str))
            .map_err(|e| self.map_error(e, &what, None))?;
        arg.raw_set(0, chunk_name)
            .map_err(|e| self.map_error(e, &what, None))?;
        lua.globals()
            .raw_set("arg", arg)
            .map_err(|e| self.map_error(e, &what, None))?;
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out: MultiValue = self
            .call(
                func,
                MultiValue::from_iter(
                    argv.iter()
                        .map(|a| lua.create_string(a).map(Value::String))
                        .collect::<mlua::Result<Vec<_>>>()
                        .map_err(|e| self.map_error(e, &what, None))?,
                ),
                self.inner.config.script_timeout,
                &what,
            )
            .await?;
        let first = out.into_iter().next().unwrap_or(Value::Nil);
        lua_to_json(lua, &first)
    }

    /// Evaluates a snippet (chunk name `eval`) with the script time limit and
    /// returns its first return value as JSON.
    ///
    /// # Errors
    /// As [`LuaEngine::run_script`].
    pub async fn eval(&self, source: &str) -> Result<serde_json::Value> {
        self.run_script(source, "eval", &[]).await
    }

    /// Calls `func` on a fresh coroutine under the watchdog with an optional
    /// time limit. `what` names the call in errors.
    pub(crate) async fn call<R: FromLuaMulti>(
        &self,
        func: Function,
        args: impl IntoLuaMulti,
        limit: Option<Duration>,
        what: &str,
    ) -> Result<R> {
        let lua = &self.inner.lua;
        let thread = lua
            .create_thread(func)
            .map_err(|e| self.map_error(e, what, limit))?;
        let _guard = self
            .inner
            .watchdog
            .enter(thread.to_pointer() as usize, limit);
        let fut = thread
            .into_async::<R>(args)
            .map_err(|e| self.map_error(e, what, limit))?;
        let out = match limit {
            Some(l) => match tokio::time::timeout(l, fut).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(BridgeError::Timeout {
                        what: what.to_owned(),
                        limit: l,
                    })
                }
            },
            None => fut.await,
        };
        out.map_err(|e| self.map_error(e, what, limit))
    }

    fn map_error(&self, err: mlua::Error, what: &str, limit: Option<Duration>) -> BridgeError {
        if is_time_limit(&err) {
            return BridgeError::Timeout {
                what: what.to_owned(),
                limit: limit.unwrap_or_default(),
            };
        }
        if is_memory_error(&err) {
            return BridgeError::MemoryLimit {
                what: what.to_owned(),
                limit: self.inner.config.memory_limit.unwrap_or(usize::MAX),
            };
        }
        if let Some(inner) = find_bridge_error(&err) {
            if !matches!(
                inner,
                BridgeError::InvalidArgument { .. } | BridgeError::Conversion { .. }
            ) {
                return inner;
            }
        }
        BridgeError::Script {
            chunk: what.to_owned(),
            message: err.to_string(),
        }
    }
}

fn is_time_limit(err: &mlua::Error) -> bool {
    match err {
        mlua::Error::ExternalError(e) => e.downcast_ref::<TimeLimitHit>().is_some(),
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => {
            is_time_limit(cause)
        }
        _ => false,
    }
}

fn is_memory_error(err: &mlua::Error) -> bool {
    match err {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => {
            is_memory_error(cause)
        }
        _ => false,
    }
}
