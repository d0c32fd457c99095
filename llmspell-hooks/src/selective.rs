//! [`SelectiveHookRegistry`]: hooks registered as factories under feature
//! names, built on first dispatch to their point, switched on and off by
//! feature.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::Mutex;

use crate::{
    Hook, HookContext, HookExecutor, HookHandle, HookOutcome, HookPoint, HookRegistry,
    RegisterOptions, Result,
};

/// Builds a hook when it is first needed.
pub type HookFactory = Arc<dyn Fn() -> Result<Arc<dyn Hook>> + Send + Sync>;

struct Factory {
    feature: String,
    point: HookPoint,
    factory: HookFactory,
    options: RegisterOptions,
    handle: Option<HookHandle>,
    failed: Option<String>,
}

struct Inner {
    factories: Vec<Factory>,
    /// Feature name → enabled.
    features: BTreeMap<String, bool>,
}

/// Counts of a [`SelectiveHookRegistry`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SelectiveStats {
    /// Factories registered.
    pub factories: usize,
    /// Hooks built so far.
    pub built: usize,
    /// Factories whose build failed (not retried until re-registered).
    pub failed: usize,
    /// Features and whether each is enabled.
    pub features: BTreeMap<String, bool>,
}

/// Hooks registered as factories under feature names.
///
/// A factory costs one small record until its point is first dispatched
/// through [`SelectiveHookRegistry::execute`]; then every pending factory of
/// an enabled feature at that point is built and registered in the
/// underlying [`HookRegistry`] (so ordering, breakers and filters work as
/// for any hook). Disabling a feature disables its built hooks and keeps its
/// factories from being built; enabling it turns them back on. Dispatch to a
/// point with nothing pending is one lock-free set lookup before the
/// ordinary [`HookExecutor`] path.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use llmspell_hooks::{ComponentId, ComponentType, HookContext, HookPoint, SelectiveHookRegistry};
/// use llmspell_hooks::builtin::MetricsHook;
///
/// let sel = SelectiveHookRegistry::new();
/// sel.register_factory("metrics", HookPoint::BeforeToolExecution, || Ok(Arc::new(MetricsHook::new())));
/// assert_eq!(sel.stats().built, 0);
/// let mut ctx = HookContext::new(HookPoint::BeforeToolExecution,
///     ComponentId::new(ComponentType::Tool, "calc"));
/// let _ = sel.execute(&HookPoint::BeforeToolExecution, &mut ctx).await;
/// assert_eq!(sel.stats().built, 1);
/// # });
/// ```
pub struct SelectiveHookRegistry {
    registry: Arc<HookRegistry>,
    executor: HookExecutor,
    inner: Mutex<Inner>,
    /// Points with factories waiting to be built (enabled features only).
    pending: ArcSwap<HashSet<HookPoint>>,
    /// Set when factories or features changed and `pending` must be
    /// recomputed; registering many factories stays O(n) overall because the
    /// recomputation happens once, at the next dispatch.
    dirty: AtomicBool,
}

impl fmt::Debug for SelectiveHookRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectiveHookRegistry")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Default for SelectiveHookRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl SelectiveHookRegistry {
    /// A selective registry over a new [`HookRegistry`].
    #[must_use]
    pub fn new() -> Self {
        Self::with_registry(Arc::new(HookRegistry::new()))
    }

    /// A selective registry over `registry` (which may also hold ordinary
    /// hooks).
    #[must_use]
    pub fn with_registry(registry: Arc<HookRegistry>) -> Self {
        Self {
            executor: HookExecutor::new(registry.clone()),
            registry,
            inner: Mutex::new(Inner {
                factories: Vec::new(),
                features: BTreeMap::new(),
            }),
            pending: ArcSwap::from_pointee(HashSet::new()),
            dirty: AtomicBool::new(false),
        }
    }

    /// The underlying registry.
    #[must_use]
    pub fn registry(&self) -> &Arc<HookRegistry> {
        &self.registry
    }

    /// Registers a factory for `point` under `feature` with default
    /// options. A feature seen for the first time is enabled.
    pub fn register_factory<F>(&self, feature: impl Into<String>, point: HookPoint, factory: F)
    where
        F: Fn() -> Result<Arc<dyn Hook>> + Send + Sync + 'static,
    {
        self.register_factory_with(feature, point, Arc::new(factory), RegisterOptions::new());
    }

    /// Registers a factory with registration options.
    pub fn register_factory_with(
        &self,
        feature: impl Into<String>,
        point: HookPoint,
        factory: HookFactory,
        options: RegisterOptions,
    ) {
        let feature = feature.into();
        let mut inner = self.inner.lock();
        inner.features.entry(feature.clone()).or_insert(true);
        inner.factories.push(Factory {
            feature,
            point,
            factory,
            options,
            handle: None,
            failed: None,
        });
        self.mark_dirty();
    }

    /// Enables `feature`: its built hooks run again and its factories are
    /// built on the next dispatch to their points.
    pub fn enable_feature(&self, feature: &str) {
        self.set_feature(feature, true);
    }

    /// Disables `feature`: its built hooks stop running and its factories
    /// are not built.
    pub fn disable_feature(&self, feature: &str) {
        self.set_feature(feature, false);
    }

    /// Whether `feature` is enabled (unknown features are not).
    #[must_use]
    pub fn is_feature_enabled(&self, feature: &str) -> bool {
        self.inner
            .lock()
            .features
            .get(feature)
            .copied()
            .unwrap_or(false)
    }

    fn set_feature(&self, feature: &str, enabled: bool) {
        let mut inner = self.inner.lock();
        inner.features.insert(feature.to_owned(), enabled);
        for f in inner.factories.iter().filter(|f| f.feature == feature) {
            if let Some(h) = &f.handle {
                // The handle came from this registry; it can only be missing
                // if someone unregistered it directly, which leaves nothing
                // to switch.
                let _ = self.registry.set_enabled(h, enabled);
            }
        }
        self.mark_dirty();
        drop(inner);
    }

    fn mark_dirty(&self) {
        // Called with `inner` locked. Release: pairs with the Acquire load
        // in `ensure_built`; the data itself is read under the mutex.
        self.dirty.store(true, Ordering::Release);
    }

    fn refresh_pending(&self, inner: &Inner) {
        let points: HashSet<HookPoint> = inner
            .factories
            .iter()
            .filter(|f| f.handle.is_none() && f.failed.is_none())
            .filter(|f| inner.features.get(&f.feature).copied().unwrap_or(false))
            .map(|f| f.point.clone())
            .collect();
        self.pending.store(Arc::new(points));
    }

    /// Builds every pending factory of an enabled feature at `point`.
    /// Returns how many hooks were built.
    pub fn ensure_built(&self, point: &HookPoint) -> usize {
        if self.dirty.load(Ordering::Acquire) {
            // Every change marks the flag with `inner` locked, so none is
            // missed; it is cleared only once the new pending set is
            // stored, so a caller that reads it clear sees that set (a
            // caller racing the refresh used to read the old one).
            let inner = self.inner.lock();
            if self.dirty.load(Ordering::Acquire) {
                self.refresh_pending(&inner);
                self.dirty.store(false, Ordering::Release);
            }
        }
        if !self.pending.load().contains(point) {
            return 0;
        }
        let mut inner = self.inner.lock();
        let Inner {
            factories,
            features,
        } = &mut *inner;
        let mut built = 0;
        for f in factories.iter_mut() {
            if f.point != *point
                || f.handle.is_some()
                || f.failed.is_some()
                || !features.get(&f.feature).copied().unwrap_or(false)
            {
                continue;
            }
            let registered = (f.factory)().and_then(|hook| {
                self.registry
                    .register_with(f.point.clone(), hook, f.options.clone())
            });
            match registered {
                Ok(handle) => {
                    f.handle = Some(handle);
                    built += 1;
                }
                Err(e) => {
                    tracing::warn!(
                        target: "llmspell_hooks::selective",
                        feature = %f.feature,
                        point = %f.point,
                        error = %e,
                        "hook factory failed; it will not be retried"
                    );
                    f.failed = Some(e.to_string());
                }
            }
        }
        self.refresh_pending(&inner);
        built
    }

    /// Builds what is pending at `point`, then runs its hooks through the
    /// executor.
    pub async fn execute(&self, point: &HookPoint, ctx: &mut HookContext) -> HookOutcome {
        self.ensure_built(point);
        self.executor.execute(point, ctx).await
    }

    /// Counts of factories, built hooks and features.
    #[must_use]
    pub fn stats(&self) -> SelectiveStats {
        let inner = self.inner.lock();
        SelectiveStats {
            factories: inner.factories.len(),
            built: inner
                .factories
                .iter()
                .filter(|f| f.handle.is_some())
                .count(),
            failed: inner
                .factories
                .iter()
                .filter(|f| f.failed.is_some())
                .count(),
            features: inner.features.clone(),
        }
    }
}
