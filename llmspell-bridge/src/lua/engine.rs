//! [`LuaEngine`]: one sandboxed Lua state with the context's globals.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use llmspell_events::{Language, SubscriptionId, UniversalEvent};
use parking_lot::Mutex;
use std::time::Duration;

use mlua::thread::ThreadStatus;
use mlua::{FromLuaMulti, Function, IntoLuaMulti, Lua, MultiValue, Thread, Value};

use super::config::LuaConfig;
use super::convert::{json_to_lua, lua_to_json};
use super::hook_context::LazyContext;
use super::limits::Watchdog;
use super::{sandbox, LuaBinding};
use crate::context::GlobalContext;
use crate::error::{find_bridge_error, BridgeError, Result};
use crate::event_bridge::EventBridge;
use crate::globals::event_to_json;
use crate::hook_bridge::HookBridge;
use crate::host::ScriptHost;

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

/// A weak handle on a [`LuaEngine`], held by what the engine registers in
/// shared registries so that they do not keep the engine alive.
#[derive(Clone, Debug)]
pub(crate) struct WeakEngine(Weak<Inner>);

impl WeakEngine {
    pub(crate) fn upgrade(&self) -> Option<LuaEngine> {
        self.0.upgrade().map(|inner| LuaEngine { inner })
    }
}

struct Inner {
    /// Event callbacks by subscription (dropped before the state).
    callbacks: Mutex<HashMap<SubscriptionId, Function>>,
    callback_errors: AtomicU64,
    /// The neutral side: context, event and hook bridges, script name.
    host: ScriptHost,
    /// The metatables of lazily built hook context tables.
    lazy: LazyContext,
    /// Finished coroutines, reset and reused by the next calls.
    threads: Mutex<Vec<Thread>>,
    lua: Lua,
    watchdog: Watchdog,
    config: LuaConfig,
}

/// Lua app data: the engine a state belongs to, for the globals' functions.
struct EngineHandle(WeakEngine);

impl fmt::Debug for LuaEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LuaEngine")
            .field("config", &self.inner.config)
            .field("host", &self.inner.host)
            .finish_non_exhaustive()
    }
}

/// How many finished coroutines an engine keeps for reuse.
const THREAD_POOL: usize = 16;

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
        let mut binding = LuaBinding { lua: &lua };
        for global in context.globals() {
            global.inject(&mut binding).map_err(|e| {
                BridgeError::Setup(format!("global `{}`: {e}", global.metadata().name))
            })?;
        }
        if let Some(limit) = config.memory_limit {
            lua.set_memory_limit(limit)
                .map_err(|e| BridgeError::Setup(e.to_string()))?;
        }
        let lazy = LazyContext::new(&lua).map_err(|e| BridgeError::Setup(e.to_string()))?;
        lua.set_app_data(lazy.clone());
        let host = ScriptHost::new(context, Language::Lua, config.call_timeout);
        let inner = Arc::new_cyclic(|weak| {
            lua.set_app_data(EngineHandle(WeakEngine(weak.clone())));
            Inner {
                callbacks: Mutex::new(HashMap::new()),
                callback_errors: AtomicU64::new(0),
                host,
                lazy,
                threads: Mutex::new(Vec::with_capacity(THREAD_POOL)),
                lua,
                watchdog,
                config,
            }
        });
        Ok(LuaEngine { inner })
    }

    /// The configuration.
    pub fn config(&self) -> &LuaConfig {
        &self.inner.config
    }

    /// The shared context.
    #[must_use]
    pub fn context(&self) -> &GlobalContext {
        self.inner.host.context()
    }

    /// The neutral side of this engine, for the globals' functions.
    pub(crate) fn host(&self) -> &ScriptHost {
        &self.inner.host
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
        self.inner.host.set_script_name(chunk_name);
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
        self.drain_callbacks().await;
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

    /// The engine a Lua state belongs to (for the globals' functions).
    pub(crate) fn from_lua(lua: &Lua) -> mlua::Result<LuaEngine> {
        lua.app_data_ref::<EngineHandle>()
            .and_then(|h| h.0.upgrade())
            .ok_or_else(|| mlua::Error::runtime("this Lua state has no llmspell engine"))
    }

    /// The engine's event bridge.
    #[must_use]
    pub fn events(&self) -> &EventBridge {
        self.inner.host.events()
    }

    /// The engine's hook bridge.
    #[must_use]
    pub fn hooks(&self) -> &HookBridge {
        self.inner.host.hooks()
    }

    /// Event callbacks that failed (raised an error or hit a limit).
    #[must_use]
    pub fn callback_errors(&self) -> u64 {
        self.inner.callback_errors.load(Ordering::Relaxed)
    }

    /// Registers the Lua callback of subscription `id`.
    pub(crate) fn set_callback(&self, id: SubscriptionId, func: Function) {
        self.inner.callbacks.lock().insert(id, func);
    }

    /// Drops the Lua callback of subscription `id`, if any.
    pub(crate) fn forget_callback(&self, id: SubscriptionId) {
        self.inner.callbacks.lock().remove(&id);
    }

    /// Awaits `fut` while running event callbacks on this thread as their
    /// events arrive (when no other caller is already running them).
    pub(crate) async fn wait_pumping<F: Future>(&self, fut: F) -> F::Output {
        let events = self.inner.host.events();
        let Some(mut queue) = events.callback_queue() else {
            return fut.await;
        };
        tokio::pin!(fut);
        loop {
            let next = tokio::select! {
                biased;
                out = &mut fut => return out,
                Some(next) = queue.next() => next,
            };
            // Release the queue while the callback runs, so a bridge call
            // made by the callback can run callbacks too.
            drop(queue);
            self.run_callback(next.0, next.1).await;
            queue = match events.callback_queue() {
                Some(q) => q,
                None => return fut.await,
            };
        }
    }

    /// Runs the queued callbacks of the script's callback subscriptions, on
    /// the calling task, until the queues are empty or the configured drain
    /// limit passes. `run_script` does this when the script ends; an
    /// embedding application calls it to deliver events published later.
    pub async fn run_pending_callbacks(&self) {
        self.drain_callbacks().await;
    }

    /// Runs queued event callbacks until the queues are empty or the drain
    /// limit passes.
    pub(crate) async fn drain_callbacks(&self) {
        let events = self.inner.host.events();
        let deadline = Instant::now() + self.inner.config.drain_limit;
        loop {
            let Some(mut queue) = events.callback_queue() else {
                return;
            };
            let now = Instant::now();
            if now >= deadline {
                let left = events.callback_backlog() + queue.len();
                if left > 0 {
                    tracing::warn!(
                        left,
                        "drain limit reached: event callbacks left undelivered"
                    );
                }
                return;
            }
            let next = match queue.try_next() {
                Some(next) => Some(next),
                None => {
                    // Events still in a bus queue, or being forwarded by the
                    // bus's handler task: wait for them a little.
                    let wait = if events.callback_backlog() == 0 {
                        Duration::from_millis(2)
                    } else {
                        (deadline - now).min(Duration::from_millis(50))
                    };
                    match tokio::time::timeout(wait, queue.next()).await {
                        Ok(next) => next,
                        Err(_) if events.callback_backlog() == 0 => return,
                        Err(_) => continue,
                    }
                }
            };
            drop(queue);
            match next {
                Some((id, event)) => self.run_callback(id, event).await,
                None => return,
            }
        }
    }

    async fn run_callback(&self, id: SubscriptionId, event: Arc<UniversalEvent>) {
        let Some(func) = self.inner.callbacks.lock().get(&id).cloned() else {
            return;
        };
        let what = format!("event callback of {id}");
        let outcome = match event_to_json(&event) {
            Ok(input) => {
                self.call_json(&func, &input, Some(self.inner.config.call_timeout), &what)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            self.inner.callback_errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(target: "llmspell::script", subscription = %id, error = %e, "event callback failed");
            self.inner
                .host
                .events()
                .report_handler_error(id, &event, &e.to_string())
                .await;
        }
    }

    /// A weak handle on this engine.
    pub(crate) fn downgrade(&self) -> WeakEngine {
        WeakEngine(Arc::downgrade(&self.inner))
    }

    /// The Lua state (for the binding's own conversions).
    pub(crate) fn lua(&self) -> &Lua {
        &self.inner.lua
    }

    /// The lazy hook context tables of this state.
    pub(crate) fn lazy_context(&self) -> &LazyContext {
        &self.inner.lazy
    }

    /// Calls `func` with one Lua argument and returns its first return
    /// value as JSON.
    pub(crate) async fn call_value(
        &self,
        func: &Function,
        arg: Value,
        limit: Option<Duration>,
        what: &(dyn fmt::Display + Sync),
    ) -> Result<serde_json::Value> {
        let out: Value = self.call(func.clone(), arg, limit, what).await?;
        lua_to_json(&self.inner.lua, &out)
    }

    /// Calls `func` with one JSON argument converted to Lua and returns its
    /// first return value as JSON.
    pub(crate) async fn call_json(
        &self,
        func: &Function,
        input: &serde_json::Value,
        limit: Option<Duration>,
        what: &(dyn fmt::Display + Sync),
    ) -> Result<serde_json::Value> {
        let arg = json_to_lua(&self.inner.lua, input)?;
        let out: Value = self.call(func.clone(), arg, limit, what).await?;
        lua_to_json(&self.inner.lua, &out)
    }

    /// Calls the script's global function `name` with one JSON argument
    /// (converted to a Lua value; `null` passes `nil`) under the script time
    /// limit, running event callbacks that arrive meanwhile, and returns its
    /// first return value as JSON. For embedding applications that drive a
    /// script from Rust.
    ///
    /// # Errors
    /// [`BridgeError::InvalidArgument`] when `name` is not a global
    /// function; otherwise as [`LuaEngine::run_script`].
    pub async fn call_function(
        &self,
        name: &str,
        arg: &serde_json::Value,
    ) -> Result<serde_json::Value> {
        let func = match self.inner.lua.globals().get::<Value>(name) {
            Ok(Value::Function(f)) => f,
            Ok(other) => {
                return Err(BridgeError::invalid(
                    "LuaEngine::call_function",
                    format!(
                        "the global `{name}` is not a function (its type is {})",
                        other.type_name()
                    ),
                ))
            }
            Err(e) => return Err(BridgeError::from(e)),
        };
        let what = format!("function {name}");
        self.wait_pumping(self.call_json(&func, arg, self.inner.config.script_timeout, &what))
            .await
    }

    /// Calls `func` on a coroutine of its own under the watchdog with an
    /// optional time limit. `what` names the call in errors (formatted only
    /// then).
    ///
    /// The coroutine is a finished one reused from the pool (reset to run
    /// `func`) or a new one; one that finished normally goes back to the
    /// pool, so a hook call does not create (and later collect) a Lua
    /// thread.
    pub(crate) async fn call<R: FromLuaMulti>(
        &self,
        func: Function,
        args: impl IntoLuaMulti,
        limit: Option<Duration>,
        what: &(dyn fmt::Display + Sync),
    ) -> Result<R> {
        let lua = &self.inner.lua;
        let pooled = self.inner.threads.lock().pop();
        let thread = match pooled {
            Some(t) => match t.reset(func.clone()) {
                Ok(()) => t,
                Err(_) => lua
                    .create_thread(func)
                    .map_err(|e| self.map_error(e, what, limit))?,
            },
            None => lua
                .create_thread(func)
                .map_err(|e| self.map_error(e, what, limit))?,
        };
        let reuse = thread.clone();
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
                        what: what.to_string(),
                        limit: l,
                    })
                }
            },
            None => fut.await,
        };
        if out.is_ok() && reuse.status() == ThreadStatus::Finished {
            let mut pool = self.inner.threads.lock();
            if pool.len() < THREAD_POOL {
                pool.push(reuse);
            }
        }
        out.map_err(|e| self.map_error(e, what, limit))
    }

    fn map_error(
        &self,
        err: mlua::Error,
        what: &(dyn fmt::Display + Sync),
        limit: Option<Duration>,
    ) -> BridgeError {
        if is_time_limit(&err) {
            return BridgeError::Timeout {
                what: what.to_string(),
                limit: limit.unwrap_or_default(),
            };
        }
        if is_memory_error(&err) {
            return BridgeError::MemoryLimit {
                what: what.to_string(),
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
            chunk: what.to_string(),
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
