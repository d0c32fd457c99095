//! [`HookRegistry`]: which hooks run at which point, in which order.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::{Deref, RangeInclusive};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use arc_swap::{ArcSwap, ArcSwapOption, Guard};
use llmspell_events::EventPattern;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::{
    BreakerConfig, BreakerState, BreakerTransition, CircuitBreaker, Clock, Hook, HookError,
    HookPoint, Language, PerformanceMonitor, PerformanceSnapshot, Priority, Result, SystemClock,
};

mod entry;

pub(crate) use entry::Entry;
pub use entry::{HookHandle, RegisterOptions, RegisteredHook};

/// The ordered hooks of one point, as the executor iterates them.
pub(crate) type Snapshot = Vec<Arc<Entry>>;

/// Order key: priority, then registration sequence (= handle id).
type Key = (Priority, u64);

/// One point's hooks: an ordered map written under a mutex, and a flat
/// snapshot for readers, rebuilt on the first read after a change.
pub(crate) struct Slot {
    /// `None` when the map changed since the snapshot was built.
    snapshot: ArcSwapOption<Snapshot>,
    /// Number of registered hooks (enabled or not); the executor's
    /// "anything here?" check.
    len: AtomicUsize,
    entries: Mutex<BTreeMap<Key, Arc<Entry>>>,
    pub(crate) monitor: PerformanceMonitor,
    /// The executor's latency-sampling counter for whole dispatches.
    pub(crate) sampler: crate::LatencySampler,
    /// Dispatches of this point; shared with its entries, which derive
    /// their call counts from it.
    pub(crate) dispatches: Arc<AtomicU64>,
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot")
            .field("len", &self.len.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Slot {
    fn new() -> Self {
        Self {
            snapshot: ArcSwapOption::const_empty(),
            len: AtomicUsize::new(0),
            entries: Mutex::new(BTreeMap::new()),
            monitor: PerformanceMonitor::new(),
            sampler: crate::LatencySampler::new(),
            dispatches: Arc::new(AtomicU64::new(0)),
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        // Relaxed: a racing registration may or may not be seen by a
        // dispatch that starts at the same time, either is correct.
        self.len.load(Ordering::Relaxed)
    }

    /// The current snapshot; lock-free unless the point changed since the
    /// last read.
    #[inline]
    pub(crate) fn snapshot(&self) -> Guard<Option<Arc<Snapshot>>> {
        let guard = self.snapshot.load();
        if guard.is_some() {
            return guard;
        }
        self.rebuild();
        self.snapshot.load()
    }

    #[cold]
    fn rebuild(&self) {
        let entries = self.entries.lock();
        // Writers clear the snapshot while holding this lock, so what is
        // built here reflects every write that cleared it.
        if self.snapshot.load().is_none() {
            let snap: Snapshot = entries.values().cloned().collect();
            self.snapshot.store(Some(Arc::new(snap)));
        }
    }

    fn insert(&self, key: Key, entry: Arc<Entry>) {
        let mut entries = self.entries.lock();
        entries.insert(key, entry);
        self.len.store(entries.len(), Ordering::Relaxed);
        self.snapshot.store(None);
    }

    fn remove(&self, key: &Key) -> bool {
        let mut entries = self.entries.lock();
        let removed = entries.remove(key).is_some();
        if removed {
            self.len.store(entries.len(), Ordering::Relaxed);
            self.snapshot.store(None);
        }
        removed
    }

    fn remove_named(&self, name: &str) -> usize {
        let mut entries = self.entries.lock();
        let before = entries.len();
        entries.retain(|_, e| e.metadata.name != name);
        let removed = before - entries.len();
        if removed > 0 {
            self.len.store(entries.len(), Ordering::Relaxed);
            self.snapshot.store(None);
        }
        removed
    }

    fn get(&self, key: &Key) -> Option<Arc<Entry>> {
        self.entries.lock().get(key).cloned()
    }

    fn all(&self) -> Vec<Arc<Entry>> {
        self.entries.lock().values().cloned().collect()
    }
}

/// A borrowed named slot or a shared custom one.
pub(crate) enum SlotRef<'a> {
    Named(&'a Slot),
    Custom(Arc<Slot>),
}

impl Deref for SlotRef<'_> {
    type Target = Slot;
    #[inline]
    fn deref(&self) -> &Slot {
        match self {
            SlotRef::Named(s) => s,
            SlotRef::Custom(s) => s,
        }
    }
}

/// Selects hooks for [`HookRegistry::list`]; every set criterion must hold.
///
/// ```
/// use llmspell_hooks::{HookFilter, HookPoint, Language, Priority};
/// let f = HookFilter::new()
///     .point(HookPoint::BeforeToolExecution)
///     .language(Language::Lua)
///     .priority_range(Priority::HIGH..=Priority::NORMAL)
///     .tag("security");
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct HookFilter {
    point: Option<HookPoint>,
    language: Option<Language>,
    priority: Option<RangeInclusive<Priority>>,
    tag: Option<String>,
    enabled: Option<bool>,
}

impl HookFilter {
    /// Matches every hook.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only hooks at `point`.
    pub fn point(mut self, point: HookPoint) -> Self {
        self.point = Some(point);
        self
    }
    /// Only hooks in `language`.
    pub fn language(mut self, language: Language) -> Self {
        self.language = Some(language);
        self
    }
    /// Only hooks with a priority in `range`.
    pub fn priority_range(mut self, range: RangeInclusive<Priority>) -> Self {
        self.priority = Some(range);
        self
    }
    /// Only hooks carrying `tag`.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }
    /// Only enabled (`true`) or disabled (`false`) hooks.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = Some(enabled);
        self
    }

    fn accepts(&self, e: &Entry) -> bool {
        self.language.is_none_or(|l| e.metadata.language == l)
            && self
                .priority
                .as_ref()
                .is_none_or(|r| r.contains(&e.priority))
            && self.tag.as_deref().is_none_or(|t| e.metadata.has_tag(t))
            && self.enabled.is_none_or(|en| e.is_enabled() == en)
    }
}

/// A change of a [`HookRegistry`]'s configuration (see
/// [`HookRegistry::changes`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RegistryChange {
    /// A hook was registered.
    Registered {
        /// Its handle.
        handle: HookHandle,
        /// Its name.
        name: String,
    },
    /// A hook was unregistered.
    Unregistered {
        /// Its handle.
        handle: HookHandle,
    },
    /// Hooks were unregistered by name.
    UnregisteredByName {
        /// The point.
        point: HookPoint,
        /// The name.
        name: String,
        /// How many.
        count: usize,
    },
    /// A hook was enabled or disabled.
    Enabled {
        /// Its handle.
        handle: HookHandle,
        /// Its new state.
        enabled: bool,
    },
    /// All hooks were switched on or off.
    GloballyEnabled {
        /// The new state.
        enabled: bool,
    },
}

/// A hook call that took at least its slow-call threshold (see
/// [`HookRegistry::slow_calls`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SlowHookCall {
    /// The hook.
    pub hook: String,
    /// Where it ran.
    pub point: HookPoint,
    /// How long it took.
    pub elapsed: std::time::Duration,
    /// Its breaker's `slow_call_duration`.
    pub threshold: std::time::Duration,
}

/// Who fires which point (see [`HookRegistry::declare_fired`]).
#[derive(Debug, Default)]
struct Firers {
    by_point: HashMap<HookPoint, Vec<String>>,
    warned: std::collections::HashSet<HookPoint>,
}

/// Counts of registered hooks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegistryStats {
    /// All registered hooks.
    pub total: usize,
    /// Of which enabled.
    pub enabled: usize,
    /// Hooks per point (string form).
    pub by_point: BTreeMap<String, usize>,
    /// Hooks per language.
    pub by_language: BTreeMap<String, usize>,
    /// Breakers per state.
    pub by_breaker_state: BTreeMap<String, usize>,
    /// Whether hooks are globally enabled.
    pub globally_enabled: bool,
}

/// The registry of hooks, shared (`Arc`) between the code that registers
/// hooks and the [`crate::HookExecutor`]s that run them.
///
/// - Order at a point: [`Priority`] (lower first), then registration order.
/// - Reads: the executor gets a per-point snapshot (`arc-swap`) without a
///   lock or an allocation; the first read after a change rebuilds that
///   point's snapshot once.
/// - Writes: O(log n) in the point's hook count (an ordered map under a
///   per-point mutex); unregistering frees the entry once in-flight
///   dispatches finish with it.
/// - Each registration owns its [`CircuitBreaker`] (configured per point)
///   and performance counters ([`RegisteredHook::performance`]).
pub struct HookRegistry {
    named: Box<[Slot]>,
    custom: ArcSwap<HashMap<String, Arc<Slot>>>,
    custom_write: Mutex<()>,
    next_id: AtomicU64,
    enabled: AtomicBool,
    clock: Arc<dyn Clock>,
    breaker_default: Mutex<BreakerConfig>,
    breaker_per_point: Mutex<HashMap<HookPoint, BreakerConfig>>,
    /// Who fires each named point in this process (declared by
    /// components), and the points already warned about.
    firers: Mutex<Firers>,
    changes: broadcast::Sender<RegistryChange>,
    slow_calls: broadcast::Sender<SlowHookCall>,
    transitions: broadcast::Sender<BreakerTransition>,
}

impl fmt::Debug for HookRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookRegistry")
            .field("len", &self.len())
            .field("enabled", &self.is_globally_enabled())
            .finish_non_exhaustive()
    }
}

impl Default for HookRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl HookRegistry {
    /// An empty registry on the system clock.
    #[must_use]
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock::new()))
    }

    /// An empty registry whose breakers use `clock`.
    #[must_use]
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            named: (0..HookPoint::NAMED_COUNT).map(|_| Slot::new()).collect(),
            custom: ArcSwap::from_pointee(HashMap::new()),
            custom_write: Mutex::new(()),
            next_id: AtomicU64::new(1),
            enabled: AtomicBool::new(true),
            clock,
            breaker_default: Mutex::new(BreakerConfig::default()),
            breaker_per_point: Mutex::new(HashMap::new()),
            transitions: broadcast::channel(256).0,
            firers: Mutex::new(Firers::default()),
            changes: broadcast::channel(256).0,
            slow_calls: broadcast::channel(256).0,
        }
    }

    /// Sets the breaker configuration of hooks registered from now on
    /// (at points without their own configuration).
    ///
    /// # Errors
    /// [`HookError::InvalidConfig`] when `config` does not validate.
    pub fn set_default_breaker_config(&self, config: BreakerConfig) -> Result<()> {
        config.validate()?;
        *self.breaker_default.lock() = config;
        Ok(())
    }

    /// Sets the breaker configuration of hooks registered from now on at
    /// `point`.
    ///
    /// # Errors
    /// [`HookError::InvalidConfig`] when `config` does not validate.
    pub fn set_breaker_config(&self, point: HookPoint, config: BreakerConfig) -> Result<()> {
        config.validate()?;
        self.breaker_per_point.lock().insert(point, config);
        Ok(())
    }

    /// A stream of every breaker transition of every hook in this registry
    /// (a `tokio` broadcast receiver; a slow receiver loses the oldest).
    #[must_use]
    pub fn breaker_transitions(&self) -> broadcast::Receiver<BreakerTransition> {
        self.transitions.subscribe()
    }

    /// A stream of every change of the registry's configuration: hooks
    /// registered, unregistered, enabled or disabled (a `tokio` broadcast
    /// receiver; a slow receiver loses the oldest). The script context
    /// fires `ConfigurationChange` from it.
    #[must_use]
    pub fn changes(&self) -> broadcast::Receiver<RegistryChange> {
        self.changes.subscribe()
    }

    /// A stream of hook calls that took at least their breaker's
    /// `slow_call_duration` (among the calls the executor timed: every call
    /// that suspends and a sample of the others). The script context fires
    /// `PerformanceThresholdExceeded` from it.
    #[must_use]
    pub fn slow_calls(&self) -> broadcast::Receiver<SlowHookCall> {
        self.slow_calls.subscribe()
    }

    /// Reports a slow call to listeners, if any.
    #[cold]
    pub(crate) fn report_slow(&self, call: SlowHookCall) {
        if self.slow_calls.receiver_count() > 0 {
            let _ = self.slow_calls.send(call);
        }
    }

    fn changed(&self, change: RegistryChange) {
        // No receiver is not an error: nobody is watching.
        let _ = self.changes.send(change);
    }

    /// The slot of a point, if it exists (custom points are created by
    /// their first registration).
    #[inline]
    pub(crate) fn slot(&self, point: &HookPoint) -> Option<SlotRef<'_>> {
        match point.index() {
            Some(i) => self.named.get(i).map(SlotRef::Named),
            None => self.custom_slot(point),
        }
    }

    #[cold]
    fn custom_slot(&self, point: &HookPoint) -> Option<SlotRef<'_>> {
        let HookPoint::Custom(name) = point else {
            return None;
        };
        self.custom.load().get(name).cloned().map(SlotRef::Custom)
    }

    fn slot_or_create(&self, point: &HookPoint) -> SlotRef<'_> {
        if let Some(slot) = self.slot(point) {
            return slot;
        }
        let name = match point {
            HookPoint::Custom(name) => name.clone(),
            other => other.to_string(),
        };
        let _write = self.custom_write.lock();
        let current = self.custom.load_full();
        if let Some(slot) = current.get(&name) {
            return SlotRef::Custom(slot.clone());
        }
        let slot = Arc::new(Slot::new());
        let mut map = (*current).clone();
        map.insert(name, slot.clone());
        self.custom.store(Arc::new(map));
        SlotRef::Custom(slot)
    }

    /// Whether any hook is registered (and hooks are globally enabled) at
    /// `point`: one or two atomic loads for a named point.
    #[inline]
    #[must_use]
    pub fn has_hooks(&self, point: &HookPoint) -> bool {
        self.is_globally_enabled() && self.slot(point).is_some_and(|s| s.len() > 0)
    }

    /// Registers `hook` at `point` with its own metadata's priority and the
    /// default options.
    ///
    /// # Errors
    /// As [`HookRegistry::register_with`].
    pub fn register<H: Hook + 'static>(&self, point: HookPoint, hook: H) -> Result<HookHandle> {
        self.register_with(point, Arc::new(hook), RegisterOptions::default())
    }

    /// Registers `hook` at `point` with `options` (priority override,
    /// component matcher, fail-closed, timeout, breaker config).
    ///
    /// # Errors
    /// [`HookError::InvalidMatcher`] for a bad component glob,
    /// [`HookError::InvalidConfig`] for a bad breaker config.
    pub fn register_with(
        &self,
        point: HookPoint,
        hook: Arc<dyn Hook>,
        options: RegisterOptions,
    ) -> Result<HookHandle> {
        let prepared = self.prepare(point, hook, options)?;
        Ok(self.insert(prepared))
    }

    /// Registers several hooks: either all are registered, or (when one is
    /// invalid) none.
    ///
    /// # Errors
    /// The first invalid registration's error.
    pub fn register_many(
        &self,
        hooks: impl IntoIterator<Item = (HookPoint, Arc<dyn Hook>, RegisterOptions)>,
    ) -> Result<Vec<HookHandle>> {
        let prepared = hooks
            .into_iter()
            .map(|(p, h, o)| self.prepare(p, h, o))
            .collect::<Result<Vec<_>>>()?;
        Ok(prepared.into_iter().map(|p| self.insert(p)).collect())
    }

    fn prepare(
        &self,
        point: HookPoint,
        hook: Arc<dyn Hook>,
        options: RegisterOptions,
    ) -> Result<(HookPoint, Arc<Entry>)> {
        let metadata = hook.metadata();
        let priority = options.priority.unwrap_or(metadata.priority);
        let matcher = options
            .matcher
            .as_deref()
            .map(EventPattern::new)
            .transpose()?;
        let config = match options.breaker {
            Some(c) => {
                c.validate()?;
                c
            }
            None => self
                .breaker_per_point
                .lock()
                .get(&point)
                .copied()
                .unwrap_or_else(|| *self.breaker_default.lock()),
        };
        // Relaxed: ids only need to be unique and increasing per thread;
        // the order between points does not matter.
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let breaker = CircuitBreaker::with_clock(config, self.clock.clone())?.with_listener(
            self.transitions.clone(),
            metadata.name.clone(),
            Some(point.clone()),
        );
        let dispatches = self.slot_or_create(&point).dispatches.clone();
        // Relaxed: a statistic; dispatches racing with this registration may
        // be counted as calls of the new hook or not.
        let base = dispatches.load(Ordering::Relaxed);
        let entry = Entry {
            dispatches,
            base,
            not_run: AtomicU64::new(0),
            reported: AtomicU64::new(0),
            id,
            priority,
            hook,
            metadata,
            matcher,
            enabled: AtomicBool::new(options.enabled),
            fail_closed: options.fail_closed,
            timeout: options.timeout,
            breaker,
            monitor: PerformanceMonitor::new(),
        };
        Ok((point, Arc::new(entry)))
    }

    /// Declares that `by` fires `points` in this process (components do
    /// this when they are built: the tool runtime for the tool points, the
    /// script context for the system points, ...). A hook registered at a
    /// named point that nobody declared is accepted, but logs one warning
    /// per point naming what would fire it, and listings mark it.
    pub fn declare_fired(&self, points: impl IntoIterator<Item = HookPoint>, by: &str) {
        let mut firers = self.firers.lock();
        for point in points {
            let list = firers.by_point.entry(point).or_default();
            if !list.iter().any(|b| b == by) {
                list.push(by.to_owned());
            }
        }
    }

    /// Who fires `point` in this process: the declared components (comma
    /// separated), `Some` for every custom point (scripts and applications
    /// fire those), `None` when nothing was declared.
    #[must_use]
    pub fn fired_by(&self, point: &HookPoint) -> Option<String> {
        if point.is_custom() {
            return Some(point.firer().to_owned());
        }
        self.firers
            .lock()
            .by_point
            .get(point)
            .filter(|l| !l.is_empty())
            .map(|l| l.join(", "))
    }

    /// Warns once per point when a hook is registered where nothing fires.
    fn warn_if_unfired(&self, point: &HookPoint, hook: &str) {
        if point.is_custom() {
            return;
        }
        let mut firers = self.firers.lock();
        if firers.by_point.get(point).is_some_and(|l| !l.is_empty()) {
            return;
        }
        if firers.warned.insert(point.clone()) {
            tracing::warn!(
                %point,
                hook,
                "hook registered at {point}, which nothing in this process fires (yet); it is fired by {}",
                point.firer()
            );
        }
    }

    fn insert(&self, (point, entry): (HookPoint, Arc<Entry>)) -> HookHandle {
        self.warn_if_unfired(&point, &entry.metadata.name);
        let handle = HookHandle {
            id: entry.id,
            point,
            priority: entry.priority,
        };
        let name = entry.metadata.name.clone();
        self.slot_or_create(&handle.point)
            .insert((entry.priority, entry.id), entry);
        self.changed(RegistryChange::Registered {
            handle: handle.clone(),
            name,
        });
        handle
    }

    /// Unregisters the hook of `handle`; `false` if it was not registered.
    pub fn unregister(&self, handle: &HookHandle) -> bool {
        let removed = self
            .slot(&handle.point)
            .is_some_and(|s| s.remove(&(handle.priority, handle.id)));
        if removed {
            self.changed(RegistryChange::Unregistered {
                handle: handle.clone(),
            });
        }
        removed
    }

    /// Unregisters every hook named `name` at `point`; returns how many.
    pub fn unregister_by_name(&self, point: &HookPoint, name: &str) -> usize {
        let n = self.slot(point).map_or(0, |s| s.remove_named(name));
        if n > 0 {
            self.changed(RegistryChange::UnregisteredByName {
                point: point.clone(),
                name: name.to_owned(),
                count: n,
            });
        }
        n
    }

    /// The registration of `handle`, if still registered.
    #[must_use]
    pub fn get(&self, handle: &HookHandle) -> Option<RegisteredHook> {
        self.slot(&handle.point)?
            .get(&(handle.priority, handle.id))
            .map(|entry| RegisteredHook::new(handle.point.clone(), entry))
    }

    /// Enables or disables one hook (takes effect for the next dispatch).
    ///
    /// # Errors
    /// [`HookError::NotFound`] when the handle is not registered.
    pub fn set_enabled(&self, handle: &HookHandle, enabled: bool) -> Result<()> {
        let hook = self.get(handle).ok_or_else(|| HookError::NotFound {
            what: handle.to_string(),
        })?;
        hook.set_enabled(enabled);
        self.changed(RegistryChange::Enabled {
            handle: handle.clone(),
            enabled,
        });
        Ok(())
    }

    /// Enables every hook (the global switch; per-hook switches keep their
    /// values).
    pub fn enable_all(&self) {
        self.enabled.store(true, Ordering::Relaxed);
        self.changed(RegistryChange::GloballyEnabled { enabled: true });
    }

    /// Disables every hook: dispatch returns `Continue` at once.
    pub fn disable_all(&self) {
        self.enabled.store(false, Ordering::Relaxed);
        self.changed(RegistryChange::GloballyEnabled { enabled: false });
    }

    /// The global switch.
    #[inline]
    #[must_use]
    pub fn is_globally_enabled(&self) -> bool {
        // Relaxed: a flag with no data published through it.
        self.enabled.load(Ordering::Relaxed)
    }

    fn all_slots(&self) -> Vec<(HookPoint, SlotRef<'_>)> {
        let mut out: Vec<(HookPoint, SlotRef<'_>)> = HookPoint::ALL
            .iter()
            .zip(self.named.iter())
            .map(|(p, s)| (p.clone(), SlotRef::Named(s)))
            .collect();
        let custom = self.custom.load();
        let mut names: Vec<&String> = custom.keys().collect();
        names.sort();
        for name in names {
            if let Some(slot) = custom.get(name) {
                out.push((
                    HookPoint::Custom(name.clone()),
                    SlotRef::Custom(slot.clone()),
                ));
            }
        }
        out
    }

    /// The hooks selected by `filter`, by point then in execution order.
    #[must_use]
    pub fn list(&self, filter: &HookFilter) -> Vec<RegisteredHook> {
        let mut out = Vec::new();
        for (point, slot) in self.all_slots() {
            if filter.point.as_ref().is_some_and(|p| *p != point) || slot.len() == 0 {
                continue;
            }
            for entry in slot.all() {
                if filter.accepts(&entry) {
                    out.push(RegisteredHook::new(point.clone(), entry));
                }
            }
        }
        out
    }

    /// The hooks at `point`, in execution order.
    #[must_use]
    pub fn hooks_at(&self, point: &HookPoint) -> Vec<RegisteredHook> {
        self.list(&HookFilter::new().point(point.clone()))
    }

    /// The number of hooks at `point`.
    #[must_use]
    pub fn len_at(&self, point: &HookPoint) -> usize {
        self.slot(point).map_or(0, |s| s.len())
    }

    /// The number of registered hooks.
    #[must_use]
    pub fn len(&self) -> usize {
        self.all_slots().iter().map(|(_, s)| s.len()).sum()
    }

    /// Whether no hook is registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts by point, language and breaker state.
    #[must_use]
    pub fn stats(&self) -> RegistryStats {
        let mut stats = RegistryStats {
            globally_enabled: self.is_globally_enabled(),
            ..RegistryStats::default()
        };
        for hook in self.list(&HookFilter::new()) {
            stats.total += 1;
            if hook.is_enabled() {
                stats.enabled += 1;
            }
            *stats
                .by_point
                .entry(hook.handle().point.to_string())
                .or_default() += 1;
            *stats
                .by_language
                .entry(hook.metadata().language.to_string())
                .or_default() += 1;
            *stats
                .by_breaker_state
                .entry(hook.breaker().state().to_string())
                .or_default() += 1;
        }
        stats
    }

    /// Counts and latency percentiles of whole dispatches at `point`.
    #[must_use]
    pub fn point_performance(&self, point: &HookPoint) -> PerformanceSnapshot {
        self.slot(point)
            .map(|s| {
                s.monitor
                    .snapshot_with_calls(s.dispatches.load(Ordering::Relaxed))
            })
            .unwrap_or_default()
    }

    /// The breaker states of every hook, for metrics.
    #[must_use]
    pub fn breaker_states(&self) -> Vec<(HookHandle, String, BreakerState)> {
        self.list(&HookFilter::new())
            .into_iter()
            .map(|h| {
                let state = h.breaker().state();
                (h.handle().clone(), h.metadata().name.clone(), state)
            })
            .collect()
    }

    /// The registry's clock.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}
