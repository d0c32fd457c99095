//! The enclosing hooked operation of the running task, so that an
//! operation started inside another one (a tool call made by a hook, an
//! agent's tool call, a workflow step) inherits its correlation id and
//! records it as its parent — one tree per run, like LangChain's
//! `run_id` / `parent_run_id`.
//!
//! A running [`OperationRun`](crate::OperationRun) sets a tokio task-local
//! for the futures it drives (its hook dispatches and the operation
//! itself); [`current_parent`] reads it. Code that hops to another task or
//! thread (a script engine on its own thread, a spawned task) carries the
//! context explicitly and re-enters it with [`with_parent`].
//!
//! A point whose hooks all run synchronously (the first pass of the
//! executor) lends the run's scope to a thread-local for the pass instead:
//! no future to wrap, no reference count to take. It is the innermost
//! scope unless a task-local scope was entered inside the pass (a hook
//! that blocks on another operation), which is told by the task-local
//! scope the pass started under.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use uuid::Uuid;

use crate::{ComponentId, HookContext, HookPoint, Language};

tokio::task_local! {
    static CURRENT: Arc<Scope>;
}

thread_local! {
    /// The scope lent by a synchronous pass running on this thread, and
    /// the task-local scope (its address, 0 for none) it runs under.
    static SYNC: RefCell<Option<(Arc<Scope>, usize)>> = const { RefCell::new(None) };
}

thread_local! {
    /// Scopes of finished runs on this thread that nothing else held, for
    /// the next runs (a run's scope is then neither allocated nor freed).
    static SPARE: RefCell<Vec<Arc<Scope>>> = const { RefCell::new(Vec::new()) };
}

/// How many spare scopes a thread keeps.
const MAX_SPARE: usize = 4;

/// The address of the task-local scope, 0 outside any.
fn task_scope() -> usize {
    CURRENT.try_with(|s| Arc::as_ptr(s) as usize).unwrap_or(0)
}

/// Calls `f` with the innermost scope, if any.
fn with_innermost<R>(f: impl FnOnce(&Scope) -> R) -> Option<R> {
    let task = task_scope();
    let lent = SYNC
        .try_with(|cell| {
            cell.borrow()
                .as_ref()
                .filter(|(_, under)| *under == task)
                .map(|(scope, _)| Arc::clone(scope))
        })
        .ok()
        .flatten();
    match lent {
        Some(scope) => Some(f(&scope)),
        None => CURRENT.try_with(|s| f(s)).ok(),
    }
}

/// What nested operations see of the enclosing one: its identity, not its
/// data. Built once per operation (an `Arc` and a clone of the component);
/// the `HookContext` a nested operation gets as its parent is made only
/// when one asks.
#[derive(Debug)]
pub(crate) struct Scope {
    component: ComponentId,
    correlation_id: Uuid,
    language: Language,
    metadata: HashMap<String, String>,
    /// The named point the enclosing operation is at (the point whose
    /// hooks are running, or the operation's own point while it runs): 1 +
    /// its index in [`HookPoint::ALL`], or 0 for a custom point (in `at`).
    /// An atomic: the point changes at every point of a run.
    named: AtomicUsize,
    /// The custom point the operation is at (when `named` is 0), and its
    /// current target's name (it changes on a redirect).
    at: Mutex<(HookPoint, String)>,
}

/// `named`'s value for `point`.
fn named_index(point: &HookPoint) -> usize {
    point.index().map_or(0, |i| i + 1)
}

impl Scope {
    /// A scope for an operation whose context is `ctx` (its data, parent
    /// and operation are not kept).
    pub(crate) fn new(ctx: &HookContext) -> Arc<Self> {
        Self::of(
            ctx.point.clone(),
            ctx.component.clone(),
            ctx.correlation_id,
            ctx.language,
            ctx.metadata.clone(),
        )
    }

    /// A scope from the parts of an operation's identity.
    pub(crate) fn of(
        point: HookPoint,
        mut component: ComponentId,
        correlation_id: Uuid,
        language: Language,
        metadata: HashMap<String, String>,
    ) -> Arc<Self> {
        // The name lives in `at` (it follows redirects); `context` puts it
        // back into the component.
        let name = std::mem::take(&mut component.name);
        Arc::new(Self {
            component,
            correlation_id,
            language,
            metadata,
            named: AtomicUsize::new(named_index(&point)),
            at: Mutex::new((point, name)),
        })
    }

    /// A scope for an operation at `point` of `component` (whose name is
    /// `name`): a spare one refilled in place when the thread has one.
    pub(crate) fn build(
        point: &HookPoint,
        component: &ComponentId,
        name: &str,
        correlation_id: Uuid,
        language: Language,
        metadata: &HashMap<String, String>,
    ) -> Arc<Self> {
        let spare = SPARE.try_with(|s| s.borrow_mut().pop()).ok().flatten();
        if let Some(mut scope) = spare {
            if let Some(s) = Arc::get_mut(&mut scope) {
                s.component
                    .component_type
                    .clone_from(&component.component_type);
                s.component.id = component.id;
                s.correlation_id = correlation_id;
                s.language = language;
                s.metadata.clone_from(metadata);
                let named = named_index(point);
                *s.named.get_mut() = named;
                let at = s.at.get_mut();
                if named == 0 {
                    at.0 = point.clone();
                }
                name.clone_into(&mut at.1);
                return scope;
            }
        }
        Self::of(
            point.clone(),
            ComponentId {
                component_type: component.component_type.clone(),
                name: name.to_owned(),
                id: component.id,
            },
            correlation_id,
            language,
            metadata.clone(),
        )
    }

    /// Keeps a finished run's scope for the next run on this thread, unless
    /// something else still holds it.
    pub(crate) fn recycle(mut scope: Arc<Self>) {
        if Arc::get_mut(&mut scope).is_none() {
            return;
        }
        let _ = SPARE.try_with(|s| {
            let mut spare = s.borrow_mut();
            if spare.len() < MAX_SPARE {
                spare.push(scope);
            }
        });
    }

    /// Records the point the operation is at.
    pub(crate) fn set_point(&self, point: &HookPoint) {
        let named = named_index(point);
        if named != 0 {
            self.named.store(named, Ordering::Relaxed);
            return;
        }
        let mut at = self.at.lock();
        if at.0 != *point {
            at.0 = point.clone();
        }
        self.named.store(0, Ordering::Relaxed);
    }

    /// Follows a renamed target (a redirect).
    pub(crate) fn set_component_name(&self, name: &str) {
        let mut at = self.at.lock();
        if at.1 != name {
            name.clone_into(&mut at.1);
        }
    }

    /// Writes this scope's context into `out` as [`context`](Self::context)
    /// builds it, reusing `out`'s allocations.
    fn context_into(&self, out: &mut HookContext) {
        {
            let at = self.at.lock();
            let named = self.named.load(Ordering::Relaxed);
            match named.checked_sub(1).and_then(|i| HookPoint::ALL.get(i)) {
                Some(p) => out.point.clone_from(p),
                None => out.point.clone_from(&at.0),
            }
            out.component.name.clone_from(&at.1);
        }
        out.component
            .component_type
            .clone_from(&self.component.component_type);
        out.component.id = self.component.id;
        out.correlation_id = self.correlation_id;
        out.language = self.language;
        out.data.clear();
        out.metadata.clone_from(&self.metadata);
        out.timestamp = crate::context::wall_now();
        out.operation = None;
        out.parent = None;
    }

    fn context(&self) -> HookContext {
        let (point, name) = {
            let at = self.at.lock();
            let named = self.named.load(Ordering::Relaxed);
            let point = match named.checked_sub(1).and_then(|i| HookPoint::ALL.get(i)) {
                Some(p) => p.clone(),
                None => at.0.clone(),
            };
            (point, at.1.clone())
        };
        let mut component = self.component.clone();
        component.name = name;
        // Built whole: `HookContext::new` would draw a correlation id only
        // to have it replaced.
        HookContext {
            point,
            component,
            correlation_id: self.correlation_id,
            language: self.language,
            data: serde_json::Map::new(),
            metadata: self.metadata.clone(),
            timestamp: crate::context::wall_now(),
            operation: None,
            parent: None,
        }
    }

    /// Runs `fut` with this scope as the enclosing operation.
    pub(crate) fn enter<F: Future>(self: &Arc<Self>, fut: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(Arc::clone(self), fut)
    }

    /// Runs `f` with `scope` (taken out of the slot and put back after)
    /// as the enclosing operation, for a synchronous pass through a point's
    /// hooks: no future to wrap, no reference count taken.
    pub(crate) fn sync_enter<R>(slot: &mut Option<Arc<Self>>, f: impl FnOnce() -> R) -> R {
        /// Puts the scope back in the slot and the thread-local as it was,
        /// even if `f` unwinds.
        struct Restore<'a> {
            slot: &'a mut Option<Arc<Scope>>,
            outer: Option<(Arc<Scope>, usize)>,
        }
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                let outer = self.outer.take();
                if let Ok(Some((scope, _))) = SYNC.try_with(|cell| cell.replace(outer)) {
                    *self.slot = Some(scope);
                }
            }
        }
        // The thread-local is gone only while the thread exits.
        if SYNC.try_with(|_| ()).is_err() {
            return f();
        }
        let Some(scope) = slot.take() else {
            return f();
        };
        let under = task_scope();
        let outer = SYNC.with(|cell| cell.replace(Some((scope, under))));
        let _restore = Restore { slot, outer };
        f()
    }

    /// [`enter`](Self::enter) with a reference the caller gives up (one
    /// reference count fewer to take and drop).
    pub(crate) fn enter_owned<F: Future>(
        self: Arc<Self>,
        fut: F,
    ) -> impl Future<Output = F::Output> {
        CURRENT.scope(self, fut)
    }
}

/// The context of the hooked operation the current task is running inside
/// (the point it is at, its component, correlation id and language; no
/// data), or `None` outside any.
///
/// Operations built with [`Hooks::operation`](crate::Hooks::operation) use
/// it as their parent and take its correlation id unless told otherwise.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use llmspell_hooks::{current_parent, with_parent, ComponentId, ComponentType, HookContext, HookPoint};
///
/// assert!(current_parent().is_none());
/// let parent = HookContext::new(
///     HookPoint::BeforeAgentExecution,
///     ComponentId::new(ComponentType::Agent, "writer"),
/// );
/// let corr = parent.correlation_id;
/// let seen = with_parent(parent, async { current_parent().map(|p| p.correlation_id) }).await;
/// assert_eq!(seen, Some(corr));
/// # });
/// ```
#[must_use]
pub fn current_parent() -> Option<HookContext> {
    with_innermost(Scope::context)
}

/// Sets `ctx.parent` to the context of the hooked operation the current
/// task is running inside, as [`current_parent`] returns it, or to `None`
/// outside any; returns whether there was one. The parent `ctx` already
/// holds is overwritten in place: a component that fires many points from
/// a context it keeps (a notification point per step, say) allocates no
/// parent for each.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use llmspell_hooks::{set_current_parent, with_parent, ComponentId, ComponentType, HookContext, HookPoint};
///
/// let mut ctx = HookContext::new(HookPoint::custom("step"), ComponentId::new(ComponentType::Workflow, "wf"));
/// assert!(!set_current_parent(&mut ctx) && ctx.parent.is_none());
/// let parent = HookContext::new(HookPoint::BeforeWorkflowStart, ComponentId::new(ComponentType::Workflow, "outer"));
/// let corr = parent.correlation_id;
/// with_parent(parent, async {
///     assert!(set_current_parent(&mut ctx));
///     let p = ctx.parent.as_deref().unwrap();
///     assert_eq!((p.component.name.as_str(), p.correlation_id), ("outer", corr));
/// }).await;
/// # });
/// ```
pub fn set_current_parent(ctx: &mut HookContext) -> bool {
    let slot = &mut ctx.parent;
    let found = with_innermost(|s| match slot {
        Some(p) => s.context_into(p),
        None => *slot = Some(Box::new(s.context())),
    });
    if found.is_none() {
        *slot = None;
    }
    found.is_some()
}

/// The correlation id of the enclosing hooked operation, if any (cheaper
/// than [`current_parent`]).
#[must_use]
pub fn current_correlation_id() -> Option<Uuid> {
    with_innermost(|s| s.correlation_id)
}

/// Runs `fut` as if inside the operation whose context is `parent`:
/// operations started by `fut` become its children. For code that carries
/// a parent across a task or thread boundary (e.g. a script engine that
/// runs a hook's callback on its own thread).
pub async fn with_parent<F: Future>(parent: HookContext, fut: F) -> F::Output {
    Scope::new(&parent).enter(fut).await
}
