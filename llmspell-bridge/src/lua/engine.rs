//! [`LuaEngine`]: one sandboxed Lua state with the context's globals.

use std::borrow::Cow;
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
use super::limits::{CallInfo, CallKind, Mode, Running, Watchdog};
use super::runner::{Gate, Runner};
use super::{sandbox, strlib, LuaBinding};
use crate::context::GlobalContext;
use crate::error::{find_bridge_error, BridgeError, Result};
use crate::event_bridge::EventBridge;
use crate::globals::event_to_json;
use crate::hook_bridge::HookBridge;
use crate::host::ScriptHost;
use llmspell_hooks::{ComponentId, ComponentType, HookPoint};
use serde_json::json;

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
    /// What could not be stopped, once the engine is discarded.
    discarded_what: Mutex<Option<String>>,
    /// Held by every poll that runs Lua (see `runner.rs`).
    gate: Arc<Gate>,
    /// Runs the top-level calls.
    runner: Runner,
    config: LuaConfig,
}

impl Drop for Inner {
    /// Closes the Lua state on the runner thread (or a thread of its own):
    /// closing runs the `__gc` finalisers, which Lua runs with the
    /// instruction hook off, so a finaliser that never returns must not
    /// keep the thread that drops the engine. A discarded engine leaves its
    /// state alone (the runaway still holds it).
    fn drop(&mut self) {
        if self.watchdog.mode() == Mode::Discarded {
            std::mem::forget(std::mem::take(self.callbacks.get_mut()));
            std::mem::forget(std::mem::take(self.threads.get_mut()));
            let clone = self.lua.clone();
            std::mem::forget(std::mem::replace(&mut self.lua, clone));
            return;
        }
        self.watchdog.set_mode(Mode::Closing);
        // The job holds a reference to every Lua value this struct holds,
        // so that dropping the fields here is never the last reference (the
        // last one takes the Lua lock, which the closing thread may hold
        // for good). It takes the original `Lua` handle, whose drop runs a
        // full collection (finalisers), and leaves a clone here.
        let clone = self.lua.clone();
        let lua = std::mem::replace(&mut self.lua, clone);
        let lazy = self.lazy.clone();
        let callbacks = std::mem::take(self.callbacks.get_mut());
        let threads = std::mem::take(self.threads.get_mut());
        self.runner.send(Box::new(move || {
            drop(callbacks);
            drop(threads);
            drop(lazy);
            drop(lua);
        }));
        self.runner.close();
    }
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

/// How often a caller of a top-level call checks for a runaway.
const SUPERVISE_EVERY: Duration = Duration::from_millis(50);

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
            .and_then(|()| sandbox::guard_error_handlers(&lua, &watchdog))
            .and_then(|()| strlib::install(&lua, &watchdog, config.pattern_steps))
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
                discarded_what: Mutex::new(None),
                gate: Arc::new(Gate::default()),
                runner: Runner::default(),
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
        let (source, chunk_name, args) = (source.to_owned(), chunk_name.to_owned(), args.to_vec());
        self.supervised(move |engine| async move {
            engine.run_script_here(&source, &chunk_name, &args).await
        })
        .await
    }

    async fn run_script_here(
        &self,
        source: &str,
        chunk_name: &str,
        args: &[String],
    ) -> Result<serde_json::Value> {
        let lua = &self.inner.lua;
        self.inner.host.set_script_name(chunk_name);
        let what = chunk_name.to_owned();
        let func = lua
            .load(&*script_text(source))
            .set_name(format!("@{chunk_name}"))
            .into_function()
            .map_err(|e| self.map_error(e, CallKind::Script, &what, None))?;
        let arg = lua
            .create_sequence_from(args.iter().map(String::as_str))
            .map_err(|e| self.map_error(e, CallKind::Script, &what, None))?;
        arg.raw_set(0, chunk_name)
            .map_err(|e| self.map_error(e, CallKind::Script, &what, None))?;
        lua.globals()
            .raw_set("arg", arg)
            .map_err(|e| self.map_error(e, CallKind::Script, &what, None))?;
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out: MultiValue = self
            .call(
                func,
                MultiValue::from_iter(
                    argv.iter()
                        .map(|a| lua.create_string(a).map(Value::String))
                        .collect::<mlua::Result<Vec<_>>>()
                        .map_err(|e| self.map_error(e, CallKind::Script, &what, None))?,
                ),
                self.inner.config.script_timeout,
                CallKind::Script,
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

    /// Whether the engine was discarded after a runaway call.
    #[must_use]
    pub fn is_discarded(&self) -> bool {
        self.inner.watchdog.mode() == Mode::Discarded
    }

    /// The error of a call on a discarded engine, if it is.
    pub(crate) fn check_discarded(&self) -> Result<()> {
        if self.is_discarded() {
            return Err(BridgeError::EngineDiscarded {
                what: self.inner.discarded_what.lock().clone().unwrap_or_default(),
            });
        }
        Ok(())
    }

    /// Runs a top-level call: on the runner thread (through the caller's
    /// tokio runtime) while the caller watches the running call, holding
    /// the gate. When the running call is past its deadline by more than
    /// the grace period (it runs where the instruction hook cannot stop
    /// it), the engine is discarded ([`discard`](Self::discard)) and the
    /// caller gets [`BridgeError::Runaway`] at once. Without a tokio
    /// runtime, or on the runner thread itself, the call runs inline.
    ///
    /// Dropping the returned future stops the call as dropping an inline
    /// one would: the runner drops the call's future at its next poll (a
    /// computing script yields for fairness every few thousand
    /// instructions), so the script does not go on in the background.
    async fn supervised<T, F>(&self, make: impl FnOnce(LuaEngine) -> F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.check_discarded()?;
        let gate = Arc::clone(&self.inner.gate);
        let handle = match tokio::runtime::Handle::try_current() {
            Ok(h) if !self.inner.runner.is_current() => h,
            _ => return gate.hold(make(self.clone())).await,
        };
        let parent = llmspell_hooks::current_parent();
        let job = make(self.clone());
        // Closed when this future ends or is dropped.
        let (_cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
        let job = async move {
            let job = gate.hold(job);
            let job = async move {
                match parent {
                    Some(p) => llmspell_hooks::with_parent(p, job).await,
                    None => job.await,
                }
            };
            tokio::select! {
                biased;
                _ = cancelled => None,
                out = job => Some(out),
            }
        };
        let mut done = self.inner.runner.spawn(handle, job);
        let grace = self.inner.config.runaway_grace;
        loop {
            tokio::select! {
                out = &mut done => {
                    return out.ok().flatten().unwrap_or_else(|| Err(BridgeError::EngineDiscarded {
                        what: "the call (its thread ended)".into(),
                    }));
                }
                () = tokio::time::sleep(SUPERVISE_EVERY) => {
                    if let Some(runaway) = self.inner.watchdog.overdue(grace) {
                        return Err(self.discard(&runaway, grace).await);
                    }
                }
            }
        }
    }

    /// Gives the engine up after `runaway` could not be stopped: every
    /// later call fails with [`BridgeError::EngineDiscarded`], the
    /// watchdog stops any Lua code it can still reach, the engine's hooks
    /// are unregistered and its subscriptions ended (without touching the
    /// Lua state, which the runaway holds), and `ResourceLimitExceeded`
    /// fires with `discarded = true`. Returns the runaway's error.
    async fn discard(&self, runaway: &Running, grace: Duration) -> BridgeError {
        let what = describe(runaway.kind, &runaway.what);
        *self.inner.discarded_what.lock() = Some(what.clone());
        self.inner.watchdog.set_mode(Mode::Discarded);
        tracing::error!(
            what,
            ?grace,
            "a script call could not be stopped at its time limit; the Lua engine is discarded"
        );
        self.inner.host.hooks().unregister_all();
        self.inner.host.events().unsubscribe_all();
        let limit = runaway.limit.unwrap_or_default();
        self.report(json!({
            "resource": runaway.kind.time_resource(),
            "limit": u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            "what": what,
            "discarded": true,
        }))
        .await;
        BridgeError::Runaway { what, limit, grace }
    }

    /// The engine's watchdog.
    pub(crate) fn watchdog(&self) -> &Watchdog {
        &self.inner.watchdog
    }

    /// The gate every poll that runs Lua holds.
    pub(crate) fn gate(&self) -> &Arc<Gate> {
        &self.inner.gate
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
        let _ = self
            .supervised(|engine| async move {
                engine.drain_callbacks().await;
                Ok(())
            })
            .await;
    }

    /// Awaits `fut` while running the script's event callbacks as their
    /// events arrive (in order, on the engine's runner thread, under the
    /// per-call limit), then runs the callbacks still queued as
    /// [`run_pending_callbacks`](Self::run_pending_callbacks) does. For an
    /// application that feeds events to a script: `llmspell events replay
    /// --script` publishes the stored events inside one such call, so each
    /// replayed event costs a publish and a callback, no wait.
    ///
    /// # Errors
    /// [`BridgeError::Runaway`] / [`BridgeError::EngineDiscarded`] when a
    /// callback could not be stopped at its limit.
    pub async fn run_while<F>(&self, fut: F) -> Result<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.supervised(move |engine| async move {
            let out = engine.wait_pumping(fut).await;
            engine.drain_callbacks().await;
            Ok(out)
        })
        .await
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
                self.call_json(
                    &func,
                    &input,
                    Some(self.inner.config.call_timeout),
                    CallKind::Callback,
                    &what,
                )
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
        kind: CallKind,
        what: &str,
    ) -> Result<serde_json::Value> {
        let out: Value = self.call(func.clone(), arg, limit, kind, what).await?;
        lua_to_json(&self.inner.lua, &out)
    }

    /// Calls `func` with one JSON argument converted to Lua and returns its
    /// first return value as JSON.
    pub(crate) async fn call_json(
        &self,
        func: &Function,
        input: &serde_json::Value,
        limit: Option<Duration>,
        kind: CallKind,
        what: &str,
    ) -> Result<serde_json::Value> {
        let arg = json_to_lua(&self.inner.lua, input)?;
        let out: Value = self.call(func.clone(), arg, limit, kind, what).await?;
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
        let arg = arg.clone();
        self.supervised(move |engine| async move {
            engine
                .wait_pumping(engine.call_json(
                    &func,
                    &arg,
                    engine.inner.config.script_timeout,
                    CallKind::Script,
                    &what,
                ))
                .await
        })
        .await
    }

    /// Calls `func` on a coroutine of its own under the watchdog with an
    /// optional time limit. `kind` and `what` name the call in errors and
    /// limit reports (`what` is the hook's name for a hook).
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
        kind: CallKind,
        what: &str,
    ) -> Result<R> {
        let lua = &self.inner.lua;
        let pooled = self.inner.threads.lock().pop();
        let thread = match pooled {
            Some(t) => match t.reset(func.clone()) {
                Ok(()) => t,
                Err(_) => lua
                    .create_thread(func)
                    .map_err(|e| self.map_error(e, kind, what, limit))?,
            },
            None => lua
                .create_thread(func)
                .map_err(|e| self.map_error(e, kind, what, limit))?,
        };
        let reuse = thread.clone();
        let info = CallInfo {
            thread: thread.to_pointer() as usize,
            deadline: limit.and_then(|l| Instant::now().checked_add(l)),
            limit,
            what: Arc::from(what),
            kind,
        };
        let fut = thread
            .into_async::<R>(args)
            .map_err(|e| self.map_error(e, kind, what, limit))?;
        let mut fut = std::pin::pin!(fut);
        let watchdog = &self.inner.watchdog;
        let tracked =
            std::future::poll_fn(|cx| watchdog.while_running(&info, || fut.as_mut().poll(cx)));
        let out = match limit {
            Some(l) => match tokio::time::timeout(l, tracked).await {
                Ok(r) => r,
                Err(_) => {
                    let err = BridgeError::Timeout {
                        what: describe(kind, what),
                        limit: l,
                    };
                    self.report_limit(kind, what, l).await;
                    return Err(err);
                }
            },
            None => tracked.await,
        };
        if out.is_ok() && reuse.status() == ThreadStatus::Finished {
            let mut pool = self.inner.threads.lock();
            if pool.len() < THREAD_POOL {
                pool.push(reuse);
            }
        }
        match out {
            Ok(v) => Ok(v),
            Err(e) => {
                let err = self.map_error(e, kind, what, limit);
                match &err {
                    BridgeError::Timeout { limit, .. } => {
                        self.report_limit(kind, what, *limit).await;
                    }
                    BridgeError::MemoryLimit { limit, .. } => {
                        self.report(json!({
                            "resource": "script_memory",
                            "limit": limit,
                            "what": describe(kind, what),
                        }))
                        .await;
                    }
                    _ => {}
                }
                Err(err)
            }
        }
    }

    /// Fires `ResourceLimitExceeded` for a call of `kind` stopped at its
    /// time limit.
    async fn report_limit(&self, kind: CallKind, what: &str, limit: Duration) {
        self.report(json!({
            "resource": kind.time_resource(),
            "limit": u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            "what": describe(kind, what),
        }))
        .await;
    }

    /// Fires `ResourceLimitExceeded` from the `lua` system component with
    /// `data` (`resource`, `limit`, `what`).
    async fn report(&self, data: serde_json::Value) {
        let hooks = self.context().hooks();
        if !hooks.has_hooks(&HookPoint::ResourceLimitExceeded) {
            return;
        }
        let serde_json::Value::Object(map) = data else {
            return;
        };
        let data: llmspell_hooks::HookData = map.into_iter().collect();
        let _ = hooks
            .notify(
                HookPoint::ResourceLimitExceeded,
                ComponentId::new(ComponentType::System, "lua"),
                data,
            )
            .await;
    }

    fn map_error(
        &self,
        err: mlua::Error,
        kind: CallKind,
        what: &str,
        limit: Option<Duration>,
    ) -> BridgeError {
        if is_time_limit(&err) {
            return BridgeError::Timeout {
                what: describe(kind, what),
                limit: limit.unwrap_or_default(),
            };
        }
        if is_memory_error(&err) {
            return BridgeError::MemoryLimit {
                what: describe(kind, what),
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
            chunk: describe(kind, what),
            message: err.to_string(),
        }
    }
}

/// How a call is named in errors: the script or callback as given, a hook
/// as "hook `name`".
fn describe(kind: CallKind, what: &str) -> String {
    match kind {
        CallKind::Hook => format!("hook `{what}`"),
        CallKind::Script | CallKind::Callback => what.to_owned(),
    }
}

/// The text Lua compiles for a script: without a UTF-8 byte order mark,
/// and with a first line that starts with `#` (a shebang such as
/// `#!/usr/bin/env llmspell run`) blanked, as the `lua` interpreter does.
/// Line numbers in errors stay those of the file.
fn script_text(source: &str) -> Cow<'_, str> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    if !source.starts_with('#') {
        return Cow::Borrowed(source);
    }
    match source.find('\n') {
        Some(end) => Cow::Owned(source[end..].to_owned()),
        None => Cow::Borrowed(""),
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

#[cfg(test)]
mod tests {
    use super::script_text;

    #[test]
    fn a_bom_and_a_shebang_line_are_skipped_keeping_line_numbers() {
        assert_eq!(script_text("return 1"), "return 1");
        assert_eq!(script_text("\u{feff}return 1"), "return 1");
        assert_eq!(
            script_text("#!/usr/bin/env llmspell\nreturn 1"),
            "\nreturn 1"
        );
        assert_eq!(script_text("\u{feff}#!x\r\nreturn 1"), "\nreturn 1");
        assert_eq!(script_text("#!only a shebang"), "");
        assert_eq!(script_text("x = 1 -- #"), "x = 1 -- #");
    }
}
