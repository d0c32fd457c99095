//! [`Hooks`]: one cloneable handle over a registry, its executor and a
//! result cache — what components and applications hold.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::cache::DEFAULT_CACHE_CAPACITY;
use crate::scope::current_parent;
use crate::{
    Clock, ComponentId, Hook, HookCache, HookContext, HookData, HookExecutor, HookHandle,
    HookOutcome, HookPoint, HookRegistry, HookedOperation, RegisterOptions, Result, SystemClock,
    DEFAULT_HOOK_TIMEOUT, DEFAULT_LATENCY_SAMPLING,
};

/// A hook point given by value or by name: a [`HookPoint`], or a string
/// naming one (`"BeforeToolExecution"`, `"custom:audit"`). An unknown name
/// is an error listing the valid ones.
pub trait IntoHookPoint {
    /// The point.
    ///
    /// # Errors
    /// [`HookError::UnknownHookPoint`](crate::HookError::UnknownHookPoint).
    fn into_hook_point(self) -> Result<HookPoint>;
}

impl IntoHookPoint for HookPoint {
    fn into_hook_point(self) -> Result<HookPoint> {
        Ok(self)
    }
}

impl IntoHookPoint for &HookPoint {
    fn into_hook_point(self) -> Result<HookPoint> {
        Ok(self.clone())
    }
}

impl IntoHookPoint for &str {
    fn into_hook_point(self) -> Result<HookPoint> {
        self.parse()
    }
}

impl IntoHookPoint for String {
    fn into_hook_point(self) -> Result<HookPoint> {
        self.parse()
    }
}

/// The hooks of an application or of one script context: a registry, the
/// executor that runs it and the cache behind `Cache` results, behind one
/// cheap-to-clone handle (like an `EventBus`).
///
/// Register hooks with [`register`](Self::register); wrap an operation in
/// its hook points with [`operation`](Self::operation); fire a point that
/// wraps no operation (a notification such as `SecurityViolation`) with
/// [`notify`](Self::notify).
///
/// ```
/// use llmspell_hooks::{hook_fn, Hooks, HookPoint, HookResult};
///
/// let hooks = Hooks::new();
/// let handle = hooks.register("custom:audit", hook_fn("audit", |_| Ok(HookResult::Continue)))?;
/// assert_eq!(handle.point(), &HookPoint::custom("audit"));
/// assert!(hooks.register("BeforeNothing", hook_fn("x", |_| Ok(HookResult::Continue))).is_err());
/// assert!(hooks.unregister(&handle));
/// # Ok::<(), llmspell_hooks::HookError>(())
/// ```
#[derive(Clone)]
pub struct Hooks {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Arc<HookRegistry>,
    executor: Arc<HookExecutor>,
    cache: HookCache,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("registry", &self.inner.registry)
            .field("cache", &self.inner.cache)
            .finish_non_exhaustive()
    }
}

impl Default for Hooks {
    fn default() -> Self {
        Self::new()
    }
}

impl From<Arc<HookExecutor>> for Hooks {
    fn from(executor: Arc<HookExecutor>) -> Self {
        Self::from_executor(executor)
    }
}

impl From<&Hooks> for Hooks {
    fn from(hooks: &Hooks) -> Self {
        hooks.clone()
    }
}

impl Hooks {
    /// Fresh hooks on the system clock with default settings.
    #[must_use]
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder (clock, timeouts, sampling, cache size).
    pub fn builder() -> HooksBuilder {
        HooksBuilder::default()
    }

    /// Hooks over an existing executor (and its registry), with a fresh
    /// cache on the registry's clock.
    #[must_use]
    pub fn from_executor(executor: Arc<HookExecutor>) -> Self {
        let clock = Arc::clone(executor.registry().clock());
        Self {
            inner: Arc::new(Inner {
                registry: Arc::clone(executor.registry()),
                executor,
                cache: HookCache::with_clock(DEFAULT_CACHE_CAPACITY, clock),
            }),
        }
    }

    /// The registry.
    #[must_use]
    pub fn registry(&self) -> &Arc<HookRegistry> {
        &self.inner.registry
    }

    /// The executor.
    #[must_use]
    pub fn executor(&self) -> &Arc<HookExecutor> {
        &self.inner.executor
    }

    /// The cache that `Cache` results of operations use by default.
    #[must_use]
    pub fn cache(&self) -> &HookCache {
        &self.inner.cache
    }

    /// Registers `hook` at `point` (a [`HookPoint`] or its name).
    ///
    /// # Errors
    /// An unknown point name, or as [`HookRegistry::register_with`].
    pub fn register(
        &self,
        point: impl IntoHookPoint,
        hook: impl Hook + 'static,
    ) -> Result<HookHandle> {
        self.register_with(point, hook, RegisterOptions::default())
    }

    /// Registers `hook` at `point` with `options` (priority, component
    /// matcher, fail-closed, timeout, breaker).
    ///
    /// # Errors
    /// An unknown point name, or as [`HookRegistry::register_with`].
    pub fn register_with(
        &self,
        point: impl IntoHookPoint,
        hook: impl Hook + 'static,
        options: RegisterOptions,
    ) -> Result<HookHandle> {
        self.inner
            .registry
            .register_with(point.into_hook_point()?, Arc::new(hook), options)
    }

    /// Unregisters a hook; `false` if it was not registered.
    pub fn unregister(&self, handle: &HookHandle) -> bool {
        self.inner.registry.unregister(handle)
    }

    /// Whether `point` has any hook (one or two atomic loads).
    #[inline]
    #[must_use]
    pub fn has_hooks(&self, point: &HookPoint) -> bool {
        self.inner.registry.has_hooks(point)
    }

    /// Runs the hooks of `ctx.point` on `ctx`.
    pub async fn fire(&self, ctx: &mut HookContext) -> HookOutcome {
        self.inner.executor.execute_context(ctx).await
    }

    /// Fires a point that wraps no operation — a notification such as
    /// `SecurityViolation`, `SystemStartup` or a custom point — for
    /// `component` with `data`. The context inherits the correlation id and
    /// parent of the enclosing operation, if any. Returns the outcome (a
    /// `Cancelled` outcome lets the firing component refuse what it was
    /// about to do, where it documents that) and the data as hooks left it.
    ///
    /// With no hook at the point this costs one atomic check.
    pub async fn notify(
        &self,
        point: HookPoint,
        component: ComponentId,
        data: HookData,
    ) -> (HookOutcome, HookData) {
        if !self.has_hooks(&point) {
            return (HookOutcome::Continue, data);
        }
        let mut builder = HookContext::builder(point.clone(), component).data_map(data);
        if let Some(parent) = current_parent() {
            builder = builder
                .correlation_id(parent.correlation_id)
                .language(parent.language)
                .parent(parent);
        }
        let mut ctx = builder.build();
        let outcome = self.inner.executor.execute(&point, &mut ctx).await;
        (outcome, ctx.data)
    }

    /// Starts describing an operation of `component` to run between its
    /// hook points; see [`HookedOperation`].
    pub fn operation<E>(&self, component: ComponentId) -> HookedOperation<'_, E> {
        HookedOperation::new(self, component)
    }
}

/// Builds [`Hooks`].
#[derive(Debug)]
#[must_use]
pub struct HooksBuilder {
    clock: Arc<dyn Clock>,
    default_timeout: Option<Duration>,
    sampling: u32,
    cache_capacity: usize,
}

impl Default for HooksBuilder {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock::new()),
            default_timeout: Some(DEFAULT_HOOK_TIMEOUT),
            sampling: DEFAULT_LATENCY_SAMPLING,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
        }
    }
}

impl HooksBuilder {
    /// The clock of breakers and of the cache (a shared
    /// [`ManualClock`](crate::ManualClock) in tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The timeout of hooks without their own; `None` for none. Default
    /// [`DEFAULT_HOOK_TIMEOUT`].
    pub fn default_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.default_timeout = timeout;
        self
    }

    /// See [`HookExecutorBuilder::latency_sampling`](crate::HookExecutorBuilder::latency_sampling).
    pub fn latency_sampling(mut self, every: u32) -> Self {
        self.sampling = every.max(1);
        self
    }

    /// Most entries of the result cache. Default 1024.
    pub fn cache_capacity(mut self, entries: usize) -> Self {
        self.cache_capacity = entries;
        self
    }

    /// The hooks.
    pub fn build(self) -> Hooks {
        let registry = Arc::new(HookRegistry::with_clock(Arc::clone(&self.clock)));
        let executor = Arc::new(
            HookExecutor::builder(Arc::clone(&registry))
                .default_timeout(self.default_timeout)
                .latency_sampling(self.sampling)
                .build(),
        );
        Hooks {
            inner: Arc::new(Inner {
                registry,
                executor,
                cache: HookCache::with_clock(self.cache_capacity, self.clock),
            }),
        }
    }
}
