//! [`HookExecutor`]: runs a point's hooks and returns one [`HookOutcome`].

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

// Latency timing reads the TSC through quanta: about 9 ns a read here
// against about 23 ns for `std::time::Instant::now`, which matters on a
// dispatch path whose whole budget is tens of ns. quanta falls back to the
// OS clock where the TSC is not invariant.
use quanta::Instant;

use futures::FutureExt;

use crate::guard::{panic_message, poll_once_caught};
use crate::registry::{Entry, Slot};
use crate::{
    CallOutcome, HookContext, HookError, HookOutcome, HookPoint, HookRegistry, HookResult, Permit,
    SlowHookCall,
};

/// The default per-hook timeout.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// By default the executor times one in this many dispatches of a point
/// (every hook of a timed dispatch is timed), and every hook call that
/// suspends.
pub const DEFAULT_LATENCY_SAMPLING: u32 = 64;

/// Runs hooks. Cheap to share (`Arc<HookExecutor>`), `Send + Sync`, usable
/// from many tasks at once.
///
/// For each hook in the point's snapshot, in order: skip it if disabled,
/// if its component matcher does not match `ctx.component.name`, or if its
/// `should_execute` says no; skip it (counted as skipped) if its breaker is
/// open; otherwise run it with panic isolation and its timeout, feed the
/// breaker and the monitor (latency: every call that suspends, and every
/// call of a 1-in-[`DEFAULT_LATENCY_SAMPLING`] sample of dispatches; see
/// [`HookExecutorBuilder::latency_sampling`]), and apply its result: `Modified` replaces
/// `ctx.data`, `Continue`/`Skipped` go on, anything else stops the chain and
/// becomes the [`HookOutcome`]. A hook that errors, panics or times out is
/// logged and ignored (fail-open) unless registered fail-closed, in which
/// case the outcome is `Cancelled` with the error as reason.
///
/// Timeouts use `tokio::time` and need a runtime with the time driver for
/// hooks that do not complete on their first poll (hooks that complete at
/// once never touch the timer).
pub struct HookExecutor {
    registry: Arc<HookRegistry>,
    named_timeouts: Box<[Option<Duration>]>,
    custom_timeouts: HashMap<String, Option<Duration>>,
    default_timeout: Option<Duration>,
    sample_every: u32,
}

impl fmt::Debug for HookExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookExecutor")
            .field("registry", &self.registry)
            .field("default_timeout", &self.default_timeout)
            .finish_non_exhaustive()
    }
}

/// Builds a [`HookExecutor`] with per-point timeouts.
#[derive(Debug)]
#[must_use]
pub struct HookExecutorBuilder {
    registry: Arc<HookRegistry>,
    default_timeout: Option<Duration>,
    per_point: HashMap<HookPoint, Option<Duration>>,
    sample_every: u32,
}

impl HookExecutorBuilder {
    /// The timeout of hooks at points without their own; `None` for no
    /// timeout. Default [`DEFAULT_HOOK_TIMEOUT`].
    pub fn default_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.default_timeout = timeout;
        self
    }

    /// The timeout of hooks at `point` (`None`: no timeout).
    pub fn point_timeout(mut self, point: HookPoint, timeout: Option<Duration>) -> Self {
        self.per_point.insert(point, timeout);
        self
    }

    /// Times one in `every` dispatches of a point (all hooks of a timed
    /// dispatch are timed; hook calls that suspend are always timed). `1`
    /// times everything; default [`DEFAULT_LATENCY_SAMPLING`]. Latency
    /// feeds the percentiles and the breakers' slow-call rates (over timed
    /// calls); call and failure counts are always exact. Reading the clock
    /// costs tens of ns on virtual machines, which is why it is sampled.
    pub fn latency_sampling(mut self, every: u32) -> Self {
        self.sample_every = every.max(1);
        self
    }

    /// The executor.
    pub fn build(self) -> HookExecutor {
        let mut named = vec![self.default_timeout; HookPoint::NAMED_COUNT].into_boxed_slice();
        let mut custom = HashMap::new();
        for (point, t) in self.per_point {
            match (point.index(), point) {
                (Some(i), _) => named[i] = t,
                (None, HookPoint::Custom(name)) => {
                    custom.insert(name, t);
                }
                (None, _) => {}
            }
        }
        HookExecutor {
            registry: self.registry,
            named_timeouts: named,
            custom_timeouts: custom,
            default_timeout: self.default_timeout,
            sample_every: self.sample_every,
        }
    }
}

impl HookExecutor {
    /// An executor over `registry` with the default timeout everywhere.
    #[must_use]
    pub fn new(registry: Arc<HookRegistry>) -> Self {
        Self::builder(registry).build()
    }

    /// A builder over `registry`.
    pub fn builder(registry: Arc<HookRegistry>) -> HookExecutorBuilder {
        HookExecutorBuilder {
            registry,
            default_timeout: Some(DEFAULT_HOOK_TIMEOUT),
            per_point: HashMap::new(),
            sample_every: DEFAULT_LATENCY_SAMPLING,
        }
    }

    /// The registry.
    #[must_use]
    pub fn registry(&self) -> &Arc<HookRegistry> {
        &self.registry
    }

    /// Whether `point` has any hook: a component can skip building a context
    /// when this is `false`. One or two atomic loads.
    #[inline]
    #[must_use]
    pub fn has_hooks(&self, point: &HookPoint) -> bool {
        self.registry.has_hooks(point)
    }

    /// The timeout of hooks at `point` (before per-hook overrides).
    #[must_use]
    pub fn timeout_for(&self, point: &HookPoint) -> Option<Duration> {
        match point {
            HookPoint::Custom(name) => *self
                .custom_timeouts
                .get(name)
                .unwrap_or(&self.default_timeout),
            named => named
                .index()
                .and_then(|i| self.named_timeouts.get(i).copied())
                .unwrap_or(self.default_timeout),
        }
    }

    /// Runs the hooks of `ctx.point`; see [`HookExecutor::execute`].
    pub async fn execute_context(&self, ctx: &mut HookContext) -> HookOutcome {
        let point = ctx.point.clone();
        self.execute(&point, ctx).await
    }

    /// Runs the hooks registered at `point` on `ctx` and returns what the
    /// caller must do. `ctx.point` is set to `point`.
    pub async fn execute(&self, point: &HookPoint, ctx: &mut HookContext) -> HookOutcome {
        self.dispatch(point, ctx).await.0
    }

    /// [`execute`](Self::execute), also returning the first `Skipped`
    /// result of a chain that went on to the end (for components that give
    /// `Skipped` a meaning of their own, e.g. skipping a workflow step).
    pub(crate) async fn dispatch(
        &self,
        point: &HookPoint,
        ctx: &mut HookContext,
    ) -> (HookOutcome, Option<Skip>) {
        if !self.registry.is_globally_enabled() {
            return (HookOutcome::Continue, None);
        }
        let Some(slot) = self.registry.slot(point) else {
            return (HookOutcome::Continue, None);
        };
        if slot.len() == 0 {
            return (HookOutcome::Continue, None);
        }
        self.run_chain(&slot, point, ctx).await
    }

    async fn run_chain(
        &self,
        slot: &Slot,
        point: &HookPoint,
        ctx: &mut HookContext,
    ) -> (HookOutcome, Option<Skip>) {
        if ctx.point != *point {
            ctx.point = point.clone();
        }
        // Counted before the snapshot is read: hooks derive their call
        // counts from it (see `Entry`).
        slot.dispatches.fetch_add(1, Ordering::Relaxed);
        let guard = slot.snapshot();
        let Some(snapshot) = guard.as_ref() else {
            return (HookOutcome::Continue, None);
        };
        let mut skipped = None;
        // A sampled dispatch times every hook, reading the clock once per
        // hook boundary (the end of one hook is the start of the next).
        let chain_start = slot.sampler.sample(self.sample_every).then(Instant::now);
        let mut mark = chain_start;
        let mut outcome = HookOutcome::Continue;
        let mut stopped_at = None;
        for (i, entry) in snapshot.iter().enumerate() {
            if !entry.is_enabled() {
                entry.did_not_run();
                continue;
            }
            if let Some(m) = &entry.matcher {
                if !m.matches(&ctx.component.name) {
                    entry.did_not_run();
                    continue;
                }
            }
            if !should_execute(entry, ctx) {
                entry.did_not_run();
                continue;
            }
            let Some(permit) = entry.breaker.try_acquire() else {
                entry.did_not_run();
                entry.monitor.record_skipped();
                continue;
            };
            // The fast path is written out here rather than in a helper
            // `async fn`: a nested future per hook costs its construction,
            // moves and drop on every call, which dominated the executor's
            // own overhead for hooks that complete at once.
            // One span per hook execution; disabled (and skipped below) when
            // no subscriber wants it, which keeps the fast path as it was.
            let span = crate::telemetry::hook_span(&entry.metadata, point);
            let traced = !span.is_disabled();
            let (result, suspended) = {
                let mut fut = (*entry.hook).execute(ctx);
                if traced {
                    fut = Box::pin(tracing::Instrument::instrument(fut, span.clone()));
                }
                // Poll once, in place, with the panic caught around the poll.
                let first = poll_once_caught(fut.as_mut()).await;
                match first {
                    // The common case: an untimed `Continue` with nothing for
                    // the breaker to record (count windows get successes in
                    // bulk, see `feed_breaker`): go straight to the next hook.
                    Ok(Poll::Ready(Ok(HookResult::Continue)))
                        if mark.is_none() && !traced && !needs_record(entry, permit) =>
                    {
                        continue;
                    }
                    Ok(Poll::Ready(result)) => (result, None),
                    Ok(Poll::Pending) => {
                        // Only a hook that suspends needs its timeout.
                        let timeout = entry.timeout.or_else(|| self.timeout_for(point));
                        // Boxed: held inline, its timer would make every
                        // dispatch's future (moved by each await above it)
                        // several hundred bytes larger.
                        Box::pin(finish(entry, fut, timeout, mark)).await
                    }
                    Err(payload) => (Err(panicked(entry, payload.as_ref())), None),
                }
            };
            let elapsed = match mark {
                Some(m) => {
                    let now = Instant::now();
                    mark = Some(now);
                    Some(now.saturating_duration_since(m))
                }
                None => suspended,
            };
            if traced {
                crate::telemetry::record_hook(&span, &result);
            }
            let call_outcome = match &result {
                Ok(_) => CallOutcome::Success,
                Err(HookError::Timeout { .. }) => CallOutcome::Timeout,
                Err(HookError::Panicked { .. }) => CallOutcome::Panic,
                Err(_) => CallOutcome::Error,
            };
            feed_breaker(entry, permit, call_outcome, elapsed);
            if let Some(e) = elapsed {
                entry.monitor.record_sample(e);
                let threshold = entry.breaker.config().slow_call_duration;
                if e >= threshold {
                    self.registry.report_slow(SlowHookCall {
                        hook: entry.metadata.name.clone(),
                        point: point.clone(),
                        elapsed: e,
                        threshold,
                    });
                }
            }
            match result {
                Ok(HookResult::Continue) => {}
                Ok(HookResult::Skipped(reason)) => {
                    if skipped.is_none() {
                        skipped = Some(Skip {
                            hook: entry.metadata.name.clone(),
                            reason,
                        });
                    }
                }
                Ok(HookResult::Modified(data)) => ctx.data = data,
                Ok(stop) => {
                    if let Some(o) = HookOutcome::from_stopping(stop, &entry.metadata.name) {
                        outcome = o;
                    }
                    stopped_at = Some(i);
                    break;
                }
                Err(error) => {
                    entry.monitor.record_failure(call_outcome);
                    if let Some(o) = failed(entry, point, error) {
                        outcome = o;
                        stopped_at = Some(i);
                        break;
                    }
                }
            }
        }
        if let Some(i) = stopped_at {
            for entry in snapshot.iter().skip(i + 1) {
                entry.did_not_run();
            }
        }
        if let Some(t) = chain_start {
            slot.monitor.record_sample(t.elapsed());
        }
        if outcome.is_continue() {
            (outcome, skipped)
        } else {
            (outcome, None)
        }
    }
}

/// A `Skipped` result in a chain that otherwise went on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Skip {
    /// The hook that skipped.
    pub(crate) hook: String,
    /// Its reason.
    pub(crate) reason: String,
}

/// Whether even an untimed success must be reported to the breaker now: a
/// half-open trial, or a breaker whose window needs every call.
#[inline]
fn needs_record(entry: &Entry, permit: Permit) -> bool {
    permit.is_recorded() && (permit.is_trial() || entry.breaker.needs_every_call())
}

/// Gives a call's outcome to the hook's breaker. With a count window, a
/// fast untimed success costs nothing here: successes are reported in bulk
/// (derived from the call count) before the next failed, timed or trial
/// call is recorded.
#[inline]
fn feed_breaker(entry: &Entry, permit: Permit, outcome: CallOutcome, elapsed: Option<Duration>) {
    if !permit.is_recorded() {
        return;
    }
    if entry.breaker.needs_every_call() {
        match elapsed {
            Some(e) => entry.breaker.record(permit, outcome, e),
            None => entry.breaker.record_untimed(permit, outcome),
        }
        return;
    }
    if elapsed.is_none() && !outcome.is_failure() && !permit.is_trial() {
        return;
    }
    entry.sync_breaker();
    match elapsed {
        Some(e) => entry.breaker.record(permit, outcome, e),
        None => entry.breaker.record_untimed(permit, outcome),
    }
}

/// Picks the calls to time: every `every`-th call counted by this
/// sampler. The hook executor keeps one per hook point; the tool runtime
/// one per tool.
///
/// The counter is a relaxed load and store, not a read-modify-write:
/// racing callers may repeat a tick, which only shifts the sample.
///
/// ```
/// let sampler = llmspell_hooks::LatencySampler::new();
/// let timed = (0..128).filter(|_| sampler.sample(64)).count();
/// assert_eq!(timed, 2);
/// assert!(sampler.sample(1));
/// ```
#[derive(Debug, Default)]
pub struct LatencySampler {
    tick: AtomicU32,
}

impl LatencySampler {
    /// A sampler whose `every`-th call is the first sampled.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            tick: AtomicU32::new(0),
        }
    }

    /// Counts a call; whether it is one to time (`every` 0 is taken as 1).
    #[inline]
    pub fn sample(&self, every: u32) -> bool {
        let t = self.tick.load(Ordering::Relaxed).wrapping_add(1);
        self.tick.store(t, Ordering::Relaxed);
        t.is_multiple_of(every.max(1))
    }
}

#[inline]
fn should_execute(entry: &Entry, ctx: &HookContext) -> bool {
    // A panicking predicate is isolated like a panicking hook: not run.
    std::panic::catch_unwind(AssertUnwindSafe(|| (*entry.hook).should_execute(ctx)))
        .unwrap_or(false)
}

/// The boxed future of one hook execution.
type HookFuture<'a> = Pin<Box<dyn Future<Output = Result<HookResult, HookError>> + Send + 'a>>;

/// The slow path of a hook call: the hook suspended on its first poll, so
/// it runs on under its timeout with panics caught. Returns its result and
/// how long it took from `started` (or from its first suspension when not
/// given).
#[cold]
async fn finish(
    entry: &Entry,
    fut: HookFuture<'_>,
    timeout: Option<Duration>,
    started: Option<Instant>,
) -> (Result<HookResult, HookError>, Option<Duration>) {
    let start = started.unwrap_or_else(Instant::now);
    let fut = AssertUnwindSafe(fut).catch_unwind();
    let caught = match timeout {
        None => fut.await,
        Some(limit) => {
            let left = limit.saturating_sub(start.elapsed());
            match tokio::time::timeout(left, fut).await {
                Ok(r) => r,
                Err(_) => {
                    let error = HookError::Timeout {
                        hook: entry.metadata.name.clone(),
                        timeout: limit,
                    };
                    return (Err(error), Some(start.elapsed()));
                }
            }
        }
    };
    let result = caught.unwrap_or_else(|payload| Err(panicked(entry, payload.as_ref())));
    (result, Some(start.elapsed()))
}

#[cold]
fn panicked(entry: &Entry, payload: &(dyn std::any::Any + Send)) -> HookError {
    HookError::Panicked {
        hook: entry.metadata.name.clone(),
        message: panic_message(payload),
    }
}

#[cold]
fn failed(entry: &Entry, point: &HookPoint, error: HookError) -> Option<HookOutcome> {
    if entry.fail_closed {
        tracing::warn!(hook = %entry.metadata.name, %point, %error, "fail-closed hook failed; cancelling");
        Some(HookOutcome::Cancelled {
            reason: error.to_string(),
            hook: entry.metadata.name.clone(),
        })
    } else {
        tracing::warn!(hook = %entry.metadata.name, %point, %error, "hook failed; continuing (fail-open)");
        None
    }
}
