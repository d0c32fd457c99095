//! The engine's job queue (boa's [`JobExecutor`]) and host hooks: where
//! promise jobs wait for the engine thread, and how the scope of the call
//! that scheduled a job follows it.
//!
//! boa's own executor blocks (or busy-spins under tokio) to run jobs; this
//! one only queues them. The engine thread's loop runs promise jobs until
//! none is left after every step, turns module-loading (async) jobs into
//! tasks it polls, and sleeps in the tokio runtime when there is nothing to
//! do — so a bridge call's promise settles when its Rust future completes,
//! without polling.
//!
//! **Scopes.** Every activity on the engine (the main script, a hook call,
//! an event callback) has a [`Scope`]: the caller's scope to re-enter for
//! bridge calls it makes ([`CallerScope`]), the loop and recursion limits
//! that apply to it, and a slot for the uncatchable error that stopped it.
//! A promise reaction (the code after an `await`) runs later as a job; the
//! host hooks record the scope that was current when the reaction was
//! registered ([`HostHooks::make_job_callback`]) and make it current again
//! when the job runs ([`HostHooks::call_job_callback`]), so the code after
//! an `await` in a hook is still the hook's: its tool calls are children of
//! the hooked operation and it runs under the hook's limits.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use boa_engine::context::HostHooks;
use boa_engine::job::{
    GenericJob, Job, JobCallback, JobExecutor, NativeAsyncJob, PromiseJob, TimeoutJob,
};
use boa_engine::object::builtins::JsFunction;
use boa_engine::vm::RuntimeLimits;
use boa_engine::{Context, JsResult, JsValue};
use tokio::sync::Notify;

use crate::error::BridgeError;
use crate::scope::CallerScope;

/// Jobs waiting for the engine thread.
#[derive(Default)]
pub(super) struct JobQueue {
    promise: RefCell<VecDeque<PromiseJob>>,
    generic: RefCell<VecDeque<GenericJob>>,
    asynchronous: RefCell<Vec<NativeAsyncJob>>,
    timeouts: RefCell<Vec<TimeoutJob>>,
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobQueue")
            .field("promise", &self.promise.borrow().len())
            .finish_non_exhaustive()
    }
}

impl JobQueue {
    /// Whether a promise or generic job waits.
    pub(super) fn has_sync_jobs(&self) -> bool {
        !self.promise.borrow().is_empty() || !self.generic.borrow().is_empty()
    }

    /// Whether an async or timeout job waits to become a task.
    pub(super) fn has_tasks(&self) -> bool {
        !self.asynchronous.borrow().is_empty() || !self.timeouts.borrow().is_empty()
    }

    /// Runs promise and generic jobs in FIFO order until none is left
    /// (jobs may enqueue more). An error a job returns is one JavaScript
    /// could not catch (a limit); the job's scope has recorded it, so it is
    /// only logged here.
    pub(super) fn run_sync_jobs(&self, context: &mut Context) {
        loop {
            let next = self.promise.borrow_mut().pop_front();
            let result = match next {
                Some(job) => job.call(context),
                None => match self.generic.borrow_mut().pop_front() {
                    Some(job) => job.call(context),
                    None => return,
                },
            };
            if let Err(e) = result {
                tracing::debug!(target: "llmspell::script", error = %e, "a promise job stopped");
            }
        }
    }

    /// The async and timeout jobs that arrived since the last call.
    pub(super) fn take_tasks(&self) -> (Vec<NativeAsyncJob>, Vec<TimeoutJob>) {
        (
            std::mem::take(&mut *self.asynchronous.borrow_mut()),
            std::mem::take(&mut *self.timeouts.borrow_mut()),
        )
    }

    /// Drops every waiting job (at shutdown).
    pub(super) fn clear(&self) {
        self.promise.borrow_mut().clear();
        self.generic.borrow_mut().clear();
        self.asynchronous.borrow_mut().clear();
        self.timeouts.borrow_mut().clear();
    }
}

impl JobExecutor for JobQueue {
    fn enqueue_job(self: Rc<Self>, job: Job, _context: &mut Context) {
        match job {
            Job::PromiseJob(j) => self.promise.borrow_mut().push_back(j),
            Job::GenericJob(j) => self.generic.borrow_mut().push_back(j),
            Job::AsyncJob(j) => self.asynchronous.borrow_mut().push(j),
            Job::TimeoutJob(j) => self.timeouts.borrow_mut().push(j),
            // Optional by the specification ("implementations may omit
            // FinalizationRegistry callbacks"), and intervals are only
            // scheduled by host APIs this engine does not define.
            _ => {}
        }
    }

    fn run_jobs(self: Rc<Self>, context: &mut Context) -> JsResult<()> {
        self.run_sync_jobs(context);
        Ok(())
    }
}

/// One activity on the engine; see the module docs.
#[derive(Debug)]
pub(super) struct Scope {
    /// What runs, for messages (`hook \`audit\``, `script main.js`).
    pub(super) what: String,
    /// The caller's scope, re-entered by the bridge calls it makes.
    pub(super) caller: CallerScope,
    /// The loop and recursion limits of its JavaScript.
    pub(super) limits: RuntimeLimits,
    /// The uncatchable error that stopped a job of it.
    failure: RefCell<Option<BridgeError>>,
    /// Signalled when `failure` is set.
    pub(super) failed: Notify,
}

impl Scope {
    pub(super) fn new(what: String, caller: CallerScope, limits: RuntimeLimits) -> Self {
        Scope {
            what,
            caller,
            limits,
            failure: RefCell::new(None),
            failed: Notify::new(),
        }
    }

    /// Records the error that stopped this activity (the first one wins).
    pub(super) fn fail(&self, err: BridgeError) {
        let mut slot = self.failure.borrow_mut();
        if slot.is_none() {
            *slot = Some(err);
            self.failed.notify_one();
        }
    }

    /// The error that stopped this activity, if any.
    pub(super) fn failure(&self) -> Option<BridgeError> {
        self.failure.borrow().clone()
    }
}

/// The live scopes of one engine and the current one.
#[derive(Debug, Default)]
pub(super) struct Scopes {
    map: RefCell<HashMap<u64, Rc<Scope>>>,
    current: Cell<u64>,
    next: Cell<u64>,
    /// The limits outside any scope (the main script's).
    pub(super) base: Cell<Option<RuntimeLimits>>,
}

impl Scopes {
    /// Adds `scope`; returns its id.
    pub(super) fn add(&self, scope: Scope) -> (u64, Rc<Scope>) {
        let id = self.next.get() + 1;
        self.next.set(id);
        let scope = Rc::new(scope);
        self.map.borrow_mut().insert(id, Rc::clone(&scope));
        (id, scope)
    }

    /// Removes scope `id` (its activity ended; later jobs of it run with
    /// no scope).
    pub(super) fn remove(&self, id: u64) {
        self.map.borrow_mut().remove(&id);
    }

    /// The scope `id`, if live.
    pub(super) fn get(&self, id: u64) -> Option<Rc<Scope>> {
        self.map.borrow().get(&id).cloned()
    }

    /// The current scope's id (0: none).
    pub(super) fn current_id(&self) -> u64 {
        self.current.get()
    }

    /// The current scope, if any.
    pub(super) fn current(&self) -> Option<Rc<Scope>> {
        self.get(self.current.get())
    }

    /// Makes `id` current and applies its limits; returns what to restore.
    pub(super) fn enter(&self, id: u64, context: &mut Context) -> (u64, RuntimeLimits) {
        let saved = (self.current.replace(id), context.runtime_limits());
        let limits = self.get(id).map(|s| s.limits).or_else(|| self.base.get());
        if let Some(l) = limits {
            context.set_runtime_limits(l);
        }
        saved
    }

    /// Restores what [`enter`](Self::enter) returned.
    pub(super) fn leave(&self, saved: (u64, RuntimeLimits), context: &mut Context) {
        self.current.set(saved.0);
        context.set_runtime_limits(saved.1);
    }
}

/// The engine's host hooks: scope propagation through promise jobs, and
/// the `ArrayBuffer` size limit.
#[derive(Debug)]
pub(super) struct EngineHooks {
    pub(super) scopes: Rc<Scopes>,
    pub(super) buffer_limit: u64,
}

impl HostHooks for EngineHooks {
    fn make_job_callback(&self, callback: JsFunction, _context: &mut Context) -> JobCallback {
        JobCallback::new(callback, self.scopes.current_id())
    }

    fn call_job_callback(
        &self,
        job: &JobCallback,
        this: &JsValue,
        args: &[JsValue],
        context: &mut Context,
    ) -> JsResult<JsValue> {
        let id = job
            .host_defined()
            .as_any()
            .downcast_ref::<u64>()
            .copied()
            .unwrap_or(0);
        let saved = self.scopes.enter(id, context);
        let result = job.callback().call(this, args, context);
        if let Err(e) = &result {
            if let (Some(engine), Some(scope)) = (e.as_engine(), self.scopes.get(id)) {
                scope.fail(super::runtime::limit_error(
                    &scope.what,
                    engine,
                    &scope.limits,
                ));
            }
        }
        self.scopes.leave(saved, context);
        result
    }

    fn max_buffer_size(&self, _context: &mut Context) -> u64 {
        self.buffer_limit
    }
}
