//! One registration: the hook, its options, breaker and monitor.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use llmspell_events::EventPattern;
use serde::{Deserialize, Serialize};

use crate::{
    BreakerConfig, CircuitBreaker, Hook, HookMetadata, HookPoint, LatencyBucket,
    PerformanceMonitor, PerformanceSnapshot, Priority,
};

/// Identifies one registration; returned by `register*`, used to
/// unregister, enable/disable and inspect it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HookHandle {
    pub(crate) id: u64,
    pub(crate) point: HookPoint,
    pub(crate) priority: Priority,
}

impl HookHandle {
    /// A unique, increasing registration id.
    #[must_use]
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The point the hook is registered at.
    #[must_use]
    pub fn point(&self) -> &HookPoint {
        &self.point
    }

    /// The priority it runs with.
    #[must_use]
    pub fn priority(&self) -> Priority {
        self.priority
    }
}

impl fmt::Display for HookHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}@{}", self.id, self.point)
    }
}

/// How a hook is registered.
///
/// ```
/// use std::time::Duration;
/// use llmspell_hooks::{Priority, RegisterOptions};
/// let o = RegisterOptions::new()
///     .priority(Priority::HIGH)
///     .matcher("file_*")
///     .fail_closed(true)
///     .timeout(Duration::from_millis(200));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RegisterOptions {
    pub(crate) priority: Option<Priority>,
    pub(crate) matcher: Option<String>,
    pub(crate) fail_closed: bool,
    pub(crate) timeout: Option<Duration>,
    pub(crate) breaker: Option<BreakerConfig>,
    pub(crate) enabled: bool,
}

impl Default for RegisterOptions {
    fn default() -> Self {
        Self {
            priority: None,
            matcher: None,
            fail_closed: false,
            timeout: None,
            breaker: None,
            enabled: true,
        }
    }
}

impl RegisterOptions {
    /// The defaults: the hook's own priority, every component, fail-open,
    /// the executor's timeout for the point, the registry's breaker config
    /// for the point, enabled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Overrides the priority of the hook's metadata.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Runs the hook only for components whose name matches this glob
    /// (`*`, `?`, `[a-z]`, `\` escapes; see `llmspell_events::EventPattern`).
    pub fn matcher(mut self, glob: impl Into<String>) -> Self {
        self.matcher = Some(glob.into());
        self
    }

    /// When `true`, an error, panic or timeout of this hook cancels the
    /// operation instead of being ignored.
    pub fn fail_closed(mut self, fail_closed: bool) -> Self {
        self.fail_closed = fail_closed;
        self
    }

    /// This hook's timeout, overriding the executor's for the point.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// This hook's breaker configuration, overriding the registry's.
    pub fn breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = Some(config);
        self
    }

    /// Registers the hook disabled (`false`) or enabled (`true`, default).
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }
}

/// A registration as stored in the registry.
///
/// Its call count is derived, so that a call costs no read-modify-write:
/// calls = dispatches of its point since registration − dispatches in which
/// it did not run (disabled, not matching, declined, breaker open, or the
/// chain stopped before it).
pub(crate) struct Entry {
    pub(crate) dispatches: Arc<AtomicU64>,
    pub(crate) base: u64,
    pub(crate) not_run: AtomicU64,
    /// The call count last reported to the breaker.
    pub(crate) reported: AtomicU64,
    pub(crate) id: u64,
    pub(crate) priority: Priority,
    pub(crate) hook: Arc<dyn Hook>,
    pub(crate) metadata: HookMetadata,
    pub(crate) matcher: Option<EventPattern>,
    pub(crate) enabled: AtomicBool,
    pub(crate) fail_closed: bool,
    pub(crate) timeout: Option<Duration>,
    pub(crate) breaker: CircuitBreaker,
    pub(crate) monitor: PerformanceMonitor,
}

impl Entry {
    /// Calls so far (in-flight dispatches included).
    pub(crate) fn calls(&self) -> u64 {
        // Relaxed: statistics.
        self.dispatches
            .load(Ordering::Relaxed)
            .saturating_sub(self.base)
            .saturating_sub(self.not_run.load(Ordering::Relaxed))
    }

    /// Counts a dispatch in which this hook did not run.
    #[inline]
    pub(crate) fn did_not_run(&self) {
        self.not_run.fetch_add(1, Ordering::Relaxed);
    }

    /// Reports to the breaker the successful calls made since the last
    /// report, except the current one (recorded by the caller).
    pub(crate) fn sync_breaker(&self) {
        let calls = self.calls();
        let previous = self.reported.swap(calls, Ordering::Relaxed);
        self.breaker
            .record_successes(calls.saturating_sub(previous).saturating_sub(1));
    }

    #[inline]
    pub(crate) fn is_enabled(&self) -> bool {
        // Relaxed: a flag with no data published through it.
        self.enabled.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("id", &self.id)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

/// A view of one registration: metadata, switches, breaker, performance.
#[derive(Clone)]
pub struct RegisteredHook {
    handle: HookHandle,
    entry: Arc<Entry>,
}

impl fmt::Debug for RegisteredHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredHook")
            .field("handle", &self.handle)
            .field("metadata", &self.entry.metadata)
            .field("enabled", &self.is_enabled())
            .finish_non_exhaustive()
    }
}

impl RegisteredHook {
    pub(crate) fn new(point: HookPoint, entry: Arc<Entry>) -> Self {
        Self {
            handle: HookHandle {
                id: entry.id,
                point,
                priority: entry.priority,
            },
            entry,
        }
    }

    /// The registration's handle.
    #[must_use]
    pub fn handle(&self) -> &HookHandle {
        &self.handle
    }

    /// The hook's metadata (as read at registration).
    #[must_use]
    pub fn metadata(&self) -> &HookMetadata {
        &self.entry.metadata
    }

    /// The hook itself.
    #[must_use]
    pub fn hook(&self) -> &Arc<dyn Hook> {
        &self.entry.hook
    }

    /// Whether the hook is enabled.
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.entry.is_enabled()
    }

    /// Enables or disables the hook.
    pub fn set_enabled(&self, enabled: bool) {
        self.entry.enabled.store(enabled, Ordering::Relaxed);
    }

    /// The component glob, if any.
    #[must_use]
    pub fn matcher(&self) -> Option<&str> {
        self.entry.matcher.as_ref().map(EventPattern::as_str)
    }

    /// Whether a failure of this hook cancels the operation.
    #[must_use]
    pub fn is_fail_closed(&self) -> bool {
        self.entry.fail_closed
    }

    /// The hook's circuit breaker (force open/closed, disable, reset).
    #[must_use]
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.entry.breaker
    }

    /// The hook's counts and latency percentiles.
    #[must_use]
    pub fn performance(&self) -> PerformanceSnapshot {
        self.entry.monitor.snapshot_with_calls(self.entry.calls())
    }

    /// The hook's latency histogram: its non-empty buckets in order and the
    /// sum of the latencies measured. Latency is sampled (every call that
    /// suspends, one in N of those that finish at once; see
    /// [`HookExecutorBuilder::latency_sampling`](crate::HookExecutorBuilder::latency_sampling)),
    /// so the counts add up to [`PerformanceSnapshot::samples`], not `calls`.
    #[must_use]
    pub fn latency_buckets(&self) -> (Vec<LatencyBucket>, Duration) {
        self.entry.monitor.buckets()
    }
}
