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

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use parking_lot::Mutex;
use uuid::Uuid;

use crate::{ComponentId, HookContext, HookPoint, Language};

tokio::task_local! {
    static CURRENT: Arc<Scope>;
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
    /// The point the enclosing operation is at (the point whose hooks are
    /// running, or the operation's own point while it runs; named points
    /// clone without allocating) and its current target's name (it changes
    /// on a redirect).
    at: Mutex<(HookPoint, String)>,
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
            at: Mutex::new((point, name)),
        })
    }

    /// Records the point the operation is at.
    pub(crate) fn set_point(&self, point: &HookPoint) {
        let mut at = self.at.lock();
        if at.0 != *point {
            at.0 = point.clone();
        }
    }

    /// Follows a renamed target (a redirect).
    pub(crate) fn set_component_name(&self, name: &str) {
        let mut at = self.at.lock();
        if at.1 != name {
            name.clone_into(&mut at.1);
        }
    }

    fn context(&self) -> HookContext {
        let (point, name) = self.at.lock().clone();
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
            timestamp: chrono::Utc::now(),
            operation: None,
            parent: None,
        }
    }

    /// Runs `fut` with this scope as the enclosing operation.
    pub(crate) fn enter<F: Future>(self: &Arc<Self>, fut: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(Arc::clone(self), fut)
    }

    /// Runs `f` with this scope as the enclosing operation (for a
    /// synchronous pass through a point's hooks: no future to wrap).
    pub(crate) fn sync_enter<R>(self: Arc<Self>, f: impl FnOnce() -> R) -> R {
        CURRENT.sync_scope(self, f)
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
    CURRENT.try_with(|s| s.context()).ok()
}

/// The correlation id of the enclosing hooked operation, if any (cheaper
/// than [`current_parent`]).
#[must_use]
pub fn current_correlation_id() -> Option<Uuid> {
    CURRENT.try_with(|s| s.correlation_id).ok()
}

/// Runs `fut` as if inside the operation whose context is `parent`:
/// operations started by `fut` become its children. For code that carries
/// a parent across a task or thread boundary (e.g. a script engine that
/// runs a hook's callback on its own thread).
pub async fn with_parent<F: Future>(parent: HookContext, fut: F) -> F::Output {
    Scope::new(&parent).enter(fut).await
}
