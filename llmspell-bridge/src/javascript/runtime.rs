//! The engine thread: the boa `Context`, its job queue and the loop that
//! serves requests, settles bridge calls and runs event callbacks.
//!
//! # The loop
//!
//! The thread runs a current-thread tokio runtime. Its loop, in order:
//!
//! 1. runs every queued promise job (microtasks) until none is left;
//! 2. turns boa's async jobs (module loading) and timeout jobs into tasks,
//!    and moves the bridge calls JavaScript started into the set of
//!    pending operations;
//! 3. starts the next queued run (`run_script`, `eval`, `call_function`,
//!    `run_pending_callbacks`) when none is active;
//! 4. looks for new work for a short window (see `javascript/spin.rs`), then
//!    sleeps until something happens: a request in the inbox (a hook call
//!    from any thread, a run), a bridge call's Rust future completing (its
//!    promise is resolved or rejected), or a task making progress (a hook
//!    or run waiting for a promise, a callback).
//!
//! JavaScript runs only on this thread and only while the loop is not
//! waiting, so every bridge call is asynchronous: `Tool.invoke` returns a
//! promise at once and its future runs in step 4. A hook registered by this
//! engine and fired by that very tool call is a request in the inbox like
//! any other: the loop runs it while the tool call's future waits, so a
//! script's own tool call, a Lua hook calling back into a JavaScript hook,
//! or a Rust thread firing the hook never deadlock.
//!
//! Runs are served one at a time, in order; hook calls interleave with
//! them. Event callbacks run only inside an active run, in order, one at a
//! time (each awaited before the next), and after the run's main body until
//! the queues are empty or the drain limit passes.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::Duration;

use boa_engine::error::EngineError;
use boa_engine::object::builtins::JsFunction;
use boa_engine::object::builtins::JsPromise;
use boa_engine::vm::RuntimeLimits;
use boa_engine::{
    js_string, Context, JsError, JsNativeError, JsObject, JsResult, JsString, JsValue, Module,
    Script, Source,
};
use futures::stream::{FuturesUnordered, StreamExt};
use llmspell_events::{SubscriptionId, UniversalEvent};
use llmspell_hooks::{ComponentId, ComponentType, HookData, HookPoint};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::config::JsConfig;
use super::convert::{js_to_json, json_to_js};
use super::engine::{HookRequest, Request, RunKind, RunRequest, Shared};
use super::jobs::{EngineHooks, JobQueue, Scope, Scopes};
use super::modules::SiblingLoader;
use super::spin::{Spin, ENGINE_SPIN};
use crate::error::{BridgeError, Result};
use crate::globals::event_to_json;
use crate::host::ScriptHost;
use crate::scope::CallerScope;

mod callbacks;
mod calls;
mod errors;
mod runs;

use callbacks::{drain_callbacks, wait_pumping};
use calls::start_hook;
pub(super) use errors::{limit_error, script_error};
use runs::run_task;

/// A bridge call's Rust side: the id of its promise and its outcome.
type Op = Pin<Box<dyn Future<Output = (u64, Result<Value>)>>>;

/// What one engine thread holds besides the `Context` (reached by the
/// globals' native functions through [`with_state`]).
pub(super) struct EngineState {
    pub(super) host: Arc<ScriptHost>,
    pub(super) config: JsConfig,
    pub(super) scopes: Rc<Scopes>,
    pub(super) shared: Weak<Shared>,
    pub(super) callback_errors: Arc<AtomicU64>,
    loader: Rc<SiblingLoader>,
    next_id: Cell<u64>,
    new_ops: RefCell<Vec<Op>>,
    resolvers: RefCell<HashMap<u64, boa_engine::builtins::promise::ResolvingFunctions>>,
    hook_fns: RefCell<HashMap<u64, JsFunction>>,
    /// Registry id → function id of this engine's hooks.
    hook_regs: RefCell<HashMap<u64, u64>>,
    callbacks: RefCell<HashMap<SubscriptionId, JsFunction>>,
    /// Per activity (scope id), completes when its last `Event.publish`
    /// has: publishes of one activity run in call order.
    publish_lanes: RefCell<HashMap<u64, oneshot::Receiver<()>>>,
    /// Bridge calls started and not yet settled.
    in_flight: Cell<usize>,
    /// The prototype of hook handles.
    pub(super) hook_proto: RefCell<Option<JsObject>>,
    /// The prototype of `Hook.use` handles.
    pub(super) builtin_proto: RefCell<Option<JsObject>>,
    /// The prototype of agent objects.
    pub(super) agent_proto: RefCell<Option<JsObject>>,
    /// Agents handed to the script, by handle id.
    pub(super) agents: RefCell<HashMap<u64, Arc<dyn llmspell_agents::Agent>>>,
    /// Built-in hooks registered by `Hook.use`, by handle id.
    pub(super) builtins: RefCell<HashMap<u64, crate::globals::BuiltinRegistration>>,
    /// Script functions a bridge call asked to run (e.g. a stream's chunk
    /// callback), run by the loop in order.
    calls: RefCell<VecDeque<QueuedCall>>,
}

/// A script function a bridge call asked the loop to run.
pub(super) struct QueuedCall {
    /// The function (`None`: only signal `done`).
    pub(super) func: Option<JsFunction>,
    pub(super) arg: Value,
    /// Where a failure goes (the first one is kept).
    pub(super) error: Rc<RefCell<Option<BridgeError>>>,
    /// Signalled once the call ran.
    pub(super) done: Option<oneshot::Sender<()>>,
}

thread_local! {
    /// The engine of this thread (each engine has a thread of its own).
    static STATE: RefCell<Option<Rc<EngineState>>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's engine state.
///
/// # Errors
/// A JavaScript `Error` when the thread has no engine (a native function
/// kept and called after the engine shut down).
pub(super) fn with_state<R>(f: impl FnOnce(&Rc<EngineState>) -> R) -> JsResult<R> {
    let state = STATE.with(|s| s.borrow().clone());
    match state {
        Some(s) => Ok(f(&s)),
        None => Err(JsNativeError::error()
            .with_message("the llmspell engine of this thread has shut down")
            .into()),
    }
}

/// Whether this thread is a JavaScript engine's thread (where a caller
/// must never spin for an engine's reply: its own engine cannot answer
/// until the caller returns).
pub(super) fn on_engine_thread() -> bool {
    STATE
        .try_with(|s| match s.try_borrow() {
            Ok(state) => state.is_some(),
            // Borrowed while it is being set or cleared: an engine's thread.
            Err(_) => true,
        })
        .unwrap_or(false)
}

/// A JavaScript `Error` carrying a bridge error's message.
pub(super) fn js_error(err: &BridgeError) -> JsError {
    JsNativeError::error().with_message(err.to_string()).into()
}

impl EngineState {
    fn next_id(&self) -> u64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        id
    }

    /// A promise settled by `fut`, which runs in the scope of the current
    /// activity (its tool calls are children of the hooked operation that
    /// called the current hook, if any).
    pub(super) fn promise_op(
        &self,
        context: &mut Context,
        fut: impl Future<Output = Result<Value>> + 'static,
    ) -> JsValue {
        let (promise, resolvers) = JsPromise::new_pending(context);
        let id = self.next_id();
        self.resolvers.borrow_mut().insert(id, resolvers);
        self.in_flight.set(self.in_flight.get() + 1);
        let caller = self
            .scopes
            .current()
            .map(|s| s.caller.clone())
            .unwrap_or_default();
        self.new_ops
            .borrow_mut()
            .push(Box::pin(async move { (id, caller.enter(fut).await) }));
        promise.into()
    }

    /// [`promise_op`](Self::promise_op) for a publish: publishes of one
    /// activity (the main script, one hook call) run one after the other,
    /// in call order, so events keep the order the script published them
    /// in even when it does not await. (Per activity: a publish made by an
    /// emit hook must not wait for the publish that runs the hook.)
    pub(super) fn publish_op(
        &self,
        context: &mut Context,
        fut: impl Future<Output = Result<Value>> + 'static,
    ) -> JsValue {
        let (done_tx, done_rx) = oneshot::channel();
        let lane = self.scopes.current_id();
        let previous = {
            let mut lanes = self.publish_lanes.borrow_mut();
            lanes.retain(|id, _| *id == lane || self.scopes.get(*id).is_some());
            lanes.insert(lane, done_rx)
        };
        self.promise_op(context, async move {
            if let Some(p) = previous {
                let _ = p.await;
            }
            let out = fut.await;
            let _ = done_tx.send(());
            out
        })
    }

    /// A background operation with no promise (e.g. reporting a limit).
    fn background(&self, fut: impl Future<Output = ()> + 'static) {
        self.new_ops.borrow_mut().push(Box::pin(async move {
            fut.await;
            (0, Ok(Value::Null))
        }));
    }

    /// Keeps hook function `f`; returns its id.
    pub(super) fn keep_hook_fn(&self, f: JsFunction) -> u64 {
        let id = self.next_id();
        self.hook_fns.borrow_mut().insert(id, f);
        id
    }

    /// Links registry id `reg` to hook function `fn_id`.
    pub(super) fn link_hook(&self, reg: u64, fn_id: u64) {
        self.hook_regs.borrow_mut().insert(reg, fn_id);
    }

    /// Drops the function of hook `reg` (it was unregistered).
    pub(super) fn forget_hook(&self, reg: u64) {
        if let Some(fn_id) = self.hook_regs.borrow_mut().remove(&reg) {
            self.hook_fns.borrow_mut().remove(&fn_id);
        }
    }

    /// Drops hook function `fn_id` (its registration failed).
    pub(super) fn forget_hook_fn(&self, fn_id: u64) {
        self.hook_fns.borrow_mut().remove(&fn_id);
    }

    /// Keeps the callback of subscription `id`.
    pub(super) fn set_callback(&self, id: SubscriptionId, f: JsFunction) {
        self.callbacks.borrow_mut().insert(id, f);
    }

    /// Drops the callback of subscription `id`.
    pub(super) fn forget_callback(&self, id: SubscriptionId) {
        self.callbacks.borrow_mut().remove(&id);
    }

    fn settle(&self, id: u64, outcome: Result<Value>, context: &mut Context) {
        let Some(r) = self.resolvers.borrow_mut().remove(&id) else {
            return;
        };
        self.in_flight.set(self.in_flight.get().saturating_sub(1));
        let result = match outcome.and_then(|v| json_to_js(&v, context)) {
            Ok(v) => r.resolve.call(&JsValue::undefined(), &[v], context),
            Err(e) => {
                let err = js_error(&e)
                    .into_opaque(context)
                    .unwrap_or_else(|_| JsValue::from(JsString::from(e.to_string())));
                r.reject.call(&JsValue::undefined(), &[err], context)
            }
        };
        if let Err(e) = result {
            tracing::debug!(target: "llmspell::script", error = %e, "settling a bridge promise failed");
        }
    }

    /// Fires `ResourceLimitExceeded` for `what` in the background (never
    /// while a limit is already being reported, so a limit hook that itself
    /// overruns does not recurse).
    pub(super) fn report_limit(&self, resource: &str, limit: String, what: &str) {
        if REPORTING.try_with(|r| *r).unwrap_or(false) {
            return;
        }
        tracing::warn!(target: "llmspell::script", what, resource, limit = %limit, "JavaScript limit exceeded");
        let hooks = self.host.context().hooks().clone();
        let mut data = HookData::new();
        data.insert("resource".into(), resource.into());
        data.insert("limit".into(), limit.into());
        data.insert("what".into(), what.into());
        data.insert("language".into(), "javascript".into());
        self.background(REPORTING.scope(true, async move {
            let _ = hooks
                .notify(
                    HookPoint::ResourceLimitExceeded,
                    ComponentId::new(ComponentType::System, "javascript"),
                    data,
                )
                .await;
        }));
    }

    /// Keeps `agent` for the script; returns its handle id.
    pub(super) fn keep_agent(&self, agent: Arc<dyn llmspell_agents::Agent>) -> u64 {
        let id = self.next_id();
        self.agents.borrow_mut().insert(id, agent);
        id
    }

    /// Keeps the registration of a `Hook.use` built-in; returns its
    /// handle id.
    pub(super) fn keep_builtin(&self, reg: crate::globals::BuiltinRegistration) -> u64 {
        let id = self.next_id();
        self.builtins.borrow_mut().insert(id, reg);
        id
    }

    /// Asks the loop to run `call`.
    pub(super) fn queue_call(&self, call: QueuedCall) {
        self.calls.borrow_mut().push_back(call);
    }

    /// Runs the queued calls in order (on the loop, outside any poll).
    fn run_calls(&self, context: &mut Context) {
        loop {
            let Some(call) = self.calls.borrow_mut().pop_front() else {
                return;
            };
            if let Some(f) = &call.func {
                let failed = call.error.borrow().is_some();
                if !failed {
                    let limits = limits(&self.config, true);
                    let out = json_to_js(&call.arg, context).and_then(|arg| {
                        f.call(&JsValue::undefined(), &[arg], context)
                            .map(drop)
                            .map_err(|e| script_error("a stream callback", &e, &limits, context))
                    });
                    if let Err(e) = out {
                        *call.error.borrow_mut() = Some(e);
                    }
                }
            }
            if let Some(done) = call.done {
                let _ = done.send(());
            }
        }
    }

    fn clear(&self) {
        self.agents.borrow_mut().clear();
        self.builtins.borrow_mut().clear();
        self.calls.borrow_mut().clear();
        self.agent_proto.borrow_mut().take();
        self.resolvers.borrow_mut().clear();
        self.hook_fns.borrow_mut().clear();
        self.callbacks.borrow_mut().clear();
        self.new_ops.borrow_mut().clear();
        self.hook_proto.borrow_mut().take();
        self.builtin_proto.borrow_mut().take();
    }
}

tokio::task_local! {
    /// Set while `ResourceLimitExceeded` is being reported.
    static REPORTING: bool;
}

/// Whether the current task reports a limit (a hook called from there must
/// not report its own overrun again).
pub(super) fn reporting_limit() -> bool {
    REPORTING.try_with(|r| *r).unwrap_or(false)
}

/// What the thread needs to start.
pub(super) struct Setup {
    pub(super) host: Arc<ScriptHost>,
    pub(super) config: JsConfig,
    pub(super) shared: Weak<Shared>,
    pub(super) callback_errors: Arc<AtomicU64>,
    pub(super) inbox: mpsc::UnboundedReceiver<Request>,
    pub(super) ready: std::sync::mpsc::Sender<Result<()>>,
}

/// The thread's body: builds the runtime and the engine, then serves.
pub(super) fn main(setup: Setup) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = setup.ready.send(Err(BridgeError::Setup(format!(
                "cannot start the engine's runtime: {e}"
            ))));
            return;
        }
    };
    runtime.block_on(serve(setup));
}

/// The limits of code `kind` under `config`.
pub(super) fn limits(config: &JsConfig, call: bool) -> RuntimeLimits {
    let mut l = RuntimeLimits::default();
    l.set_loop_iteration_limit(if call {
        config.call_loop_limit
    } else {
        config.script_loop_limit
    });
    l.set_recursion_limit(config.recursion_limit);
    l
}

fn build(
    setup: &Setup,
    scopes: &Rc<Scopes>,
    queue: &Rc<JobQueue>,
    loader: &Rc<SiblingLoader>,
) -> Result<Context> {
    let hooks = Rc::new(EngineHooks {
        scopes: Rc::clone(scopes),
        buffer_limit: setup.config.buffer_limit,
    });
    let mut context = Context::builder()
        .job_executor(Rc::clone(queue))
        .module_loader(Rc::clone(loader))
        .host_hooks(hooks)
        .build()
        .map_err(|e| BridgeError::Setup(e.to_string()))?;
    let base = limits(&setup.config, false);
    scopes.base.set(Some(base));
    context.set_runtime_limits(base);
    Ok(context)
}

async fn serve(mut setup: Setup) {
    let scopes = Rc::new(Scopes::default());
    let queue = Rc::new(JobQueue::default());
    let loader = Rc::new(SiblingLoader::default());
    let mut context = match build(&setup, &scopes, &queue, &loader) {
        Ok(c) => c,
        Err(e) => {
            let _ = setup.ready.send(Err(e));
            return;
        }
    };
    let state = Rc::new(EngineState {
        host: Arc::clone(&setup.host),
        config: setup.config.clone(),
        scopes: Rc::clone(&scopes),
        shared: setup.shared.clone(),
        callback_errors: Arc::clone(&setup.callback_errors),
        loader,
        next_id: Cell::new(0),
        new_ops: RefCell::new(Vec::new()),
        resolvers: RefCell::new(HashMap::new()),
        hook_fns: RefCell::new(HashMap::new()),
        hook_regs: RefCell::new(HashMap::new()),
        callbacks: RefCell::new(HashMap::new()),
        publish_lanes: RefCell::new(HashMap::new()),
        in_flight: Cell::new(0),
        hook_proto: RefCell::new(None),
        agent_proto: RefCell::new(None),
        builtin_proto: RefCell::new(None),
        agents: RefCell::new(HashMap::new()),
        builtins: RefCell::new(HashMap::new()),
        calls: RefCell::new(VecDeque::new()),
    });
    STATE.with(|s| *s.borrow_mut() = Some(Rc::clone(&state)));
    let injected = super::globals::inject_all(&state, &mut context);
    let ok = injected.is_ok();
    let _ = setup.ready.send(injected);
    if ok {
        let cell = RefCell::new(&mut context);
        serve_loop(&cell, &state, &queue, &mut setup.inbox).await;
    }
    // Hooks and subscriptions go before the functions they call.
    state.host.hooks().unregister_all();
    state.host.events().unsubscribe_all();
    state.clear();
    queue.clear();
    STATE.with(|s| s.borrow_mut().take());
    drop(context);
}

/// What woke the loop.
enum Wake {
    Request(Option<Request>),
    Op(u64, Result<Value>),
    Progress,
}

type Task<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

async fn serve_loop<'a>(
    cell: &'a RefCell<&mut Context>,
    state: &'a Rc<EngineState>,
    queue: &'a Rc<JobQueue>,
    inbox: &mut mpsc::UnboundedReceiver<Request>,
) {
    let mut tasks: FuturesUnordered<Task<'a>> = FuturesUnordered::new();
    let mut ops: FuturesUnordered<Op> = FuturesUnordered::new();
    let mut runs: VecDeque<RunRequest> = VecDeque::new();
    let run_active = Rc::new(Cell::new(false));
    loop {
        state.run_calls(&mut cell.borrow_mut());
        queue.run_sync_jobs(&mut cell.borrow_mut());
        let (asyncs, timeouts) = queue.take_tasks();
        for job in asyncs {
            tasks.push(Box::pin(async move {
                if let Err(e) = job.call(cell).await {
                    tracing::debug!(target: "llmspell::script", error = %e, "an async job failed");
                }
            }));
        }
        for job in timeouts {
            let wait = Duration::from_millis(job.timeout().as_millis());
            tasks.push(Box::pin(async move {
                tokio::time::sleep(wait).await;
                if !job.cancelled() {
                    let _ = job.call(&mut cell.borrow_mut());
                }
            }));
        }
        ops.extend(state.new_ops.borrow_mut().drain(..));
        if queue.has_sync_jobs() || !state.calls.borrow().is_empty() {
            continue;
        }
        if !run_active.get() {
            if let Some(run) = runs.pop_front() {
                run_active.set(true);
                tasks.push(Box::pin(run_task(cell, state, run, Rc::clone(&run_active))));
            }
        }
        // Out of work: look for more for a short window before parking
        // (once per idle spell, see `spin`). Not when the coop budget is
        // spent: then the runtime must get control back at once.
        let mut spin = tokio::task::coop::has_budget_remaining();
        let wake = std::future::poll_fn(|cx| {
            if std::mem::take(&mut spin) {
                let mut noop = std::task::Context::from_waker(std::task::Waker::noop());
                let mut window = Spin::new(ENGINE_SPIN);
                loop {
                    match inbox.try_recv() {
                        Ok(r) => return Poll::Ready(Wake::Request(Some(r))),
                        Err(mpsc::error::TryRecvError::Disconnected) => {
                            return Poll::Ready(Wake::Request(None))
                        }
                        Err(mpsc::error::TryRecvError::Empty) => {}
                    }
                    if let Poll::Ready(Some((id, r))) = ops.poll_next_unpin(&mut noop) {
                        return Poll::Ready(Wake::Op(id, r));
                    }
                    if let Poll::Ready(Some(())) = tasks.poll_next_unpin(&mut noop) {
                        return Poll::Ready(Wake::Progress);
                    }
                    if queue.has_sync_jobs()
                        || queue.has_tasks()
                        || !state.new_ops.borrow().is_empty()
                        || !state.calls.borrow().is_empty()
                    {
                        return Poll::Ready(Wake::Progress);
                    }
                    if !window.snooze() {
                        break;
                    }
                }
            }
            // Registers this task's waker with every source.
            if let Poll::Ready(r) = inbox.poll_recv(cx) {
                return Poll::Ready(Wake::Request(r));
            }
            if let Poll::Ready(Some((id, r))) = ops.poll_next_unpin(cx) {
                return Poll::Ready(Wake::Op(id, r));
            }
            if let Poll::Ready(Some(())) = tasks.poll_next_unpin(cx) {
                return Poll::Ready(Wake::Progress);
            }
            if queue.has_sync_jobs()
                || queue.has_tasks()
                || !state.new_ops.borrow().is_empty()
                || !state.calls.borrow().is_empty()
            {
                return Poll::Ready(Wake::Progress);
            }
            Poll::Pending
        })
        .await;
        match wake {
            Wake::Request(None | Some(Request::Shutdown)) => break,
            Wake::Request(Some(Request::Hook(h))) => {
                if let Some(task) = start_hook(cell, state, h) {
                    tasks.push(task);
                }
            }
            Wake::Request(Some(Request::Run(r))) => runs.push_back(r),
            Wake::Op(id, r) => state.settle(id, r, &mut cell.borrow_mut()),
            Wake::Progress => {}
        }
    }
    for run in runs {
        let _ = run.reply.send(Err(BridgeError::EngineDropped {
            language: "JavaScript",
        }));
    }
}

/// Waits for `promise` until `deadline` or until `scope` fails.
async fn settle_promise(
    future: impl Future<Output = JsResult<JsValue>>,
    deadline: Option<Instant>,
    scope: &Scope,
) -> std::result::Result<JsResult<JsValue>, Stop> {
    let sleep = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        r = future => Ok(r),
        () = scope.failed.notified() => Err(Stop::Failed),
        () = sleep => Err(Stop::Deadline),
    }
}

/// The value of a promise wait, or why there is none: the rejection (with
/// its JavaScript stack or the limit that stopped the code), the failure
/// of `scope`, or the time `limit`.
fn settled(
    waited: std::result::Result<JsResult<JsValue>, Stop>,
    what: &str,
    limits: &RuntimeLimits,
    limit: Duration,
    scope: &Scope,
    cell: &RefCell<&mut Context>,
) -> Result<JsValue> {
    match waited {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(script_error(what, &e, limits, &mut cell.borrow_mut())),
        Err(Stop::Failed) => Err(scope.failure().unwrap_or_else(|| BridgeError::Script {
            chunk: what.to_owned(),
            message: "stopped".to_owned(),
        })),
        Err(Stop::Deadline) => Err(BridgeError::Timeout {
            what: what.to_owned(),
            limit,
        }),
    }
}

/// Why waiting for a promise ended without its value.
enum Stop {
    Failed,
    Deadline,
}
