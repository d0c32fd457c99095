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
use crate::registry::{Entry, Slot, SlotRef, Snapshot};
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
        match self.first_pass(point, ctx) {
            FirstPass::Done(outcome, skipped) => (outcome, skipped),
            // Boxed: the rest of the chain is the rare path, and inline its
            // future would make every dispatch's that size.
            FirstPass::Resume(rest) => Box::pin(self.resume(point, ctx, rest)).await,
        }
    }

    /// The synchronous first pass through `point`'s chain: every hook that
    /// can run without a future ([`Hook::execute_now`]) runs here, in
    /// place, with no future built for the point or its hooks. It stops at
    /// the first hook that needs awaiting (before calling it) and returns
    /// where the chain must go on ([`resume`](Self::resume)); a chain of
    /// hooks that never wait (closure hooks, a no-op hook) completes here.
    ///
    /// [`Hook::execute_now`]: crate::Hook::execute_now
    pub(crate) fn first_pass<'s>(
        &'s self,
        point: &HookPoint,
        ctx: &mut HookContext,
    ) -> FirstPass<'s> {
        if !self.registry.is_globally_enabled() {
            return FirstPass::Done(HookOutcome::Continue, None);
        }
        let Some(slot) = self.registry.slot(point) else {
            return FirstPass::Done(HookOutcome::Continue, None);
        };
        if slot.len() == 0 {
            return FirstPass::Done(HookOutcome::Continue, None);
        }
        if ctx.point != *point {
            ctx.point = point.clone();
        }
        // Counted before the snapshot is read: hooks derive their call
        // counts from it (see `Entry`).
        slot.dispatches.fetch_add(1, Ordering::Relaxed);
        let guard = slot.snapshot();
        let Some(snapshot) = guard.as_ref() else {
            return FirstPass::Done(HookOutcome::Continue, None);
        };
        // A sampled dispatch times every hook, reading the clock once per
        // hook boundary (the end of one hook is the start of the next).
        let chain_start = slot.sampler.sample(self.sample_every).then(Instant::now);
        let mut chain = Chain {
            skipped: None,
            chain_start,
            mark: chain_start,
        };
        for (i, entry) in snapshot.iter().enumerate() {
            let Some(permit) = admit(entry, ctx) else {
                continue;
            };
            // A hook without a synchronous form, or one to trace (its span
            // wraps the future): the rest of the chain is awaited from here.
            let span = crate::telemetry::hook_span(&entry.metadata, point);
            if !span.is_disabled() {
                // The span goes with it: one made here and another in
                // `resume` would export two spans for one execution.
                return FirstPass::Resume(Resume {
                    snapshot: Arc::clone(snapshot),
                    at: i,
                    permit,
                    span: Some(Box::new(span)),
                    chain,
                    slot,
                });
            }
            let ran = std::panic::catch_unwind(AssertUnwindSafe(|| (*entry.hook).execute_now(ctx)));
            let result = match ran {
                Ok(Some(result)) => result,
                Ok(None) => {
                    return FirstPass::Resume(Resume {
                        snapshot: Arc::clone(snapshot),
                        at: i,
                        permit,
                        span: None,
                        chain,
                        slot,
                    });
                }
                Err(payload) => Err(panicked(entry, payload.as_ref())),
            };
            // The common case: an untimed `Continue` with nothing for the
            // breaker to record: straight to the next hook.
            if chain.mark.is_none()
                && matches!(result, Ok(HookResult::Continue))
                && !needs_record(entry, permit)
            {
                continue;
            }
            let elapsed = chain.lap(None);
            if let Some(outcome) =
                self.settle(entry, permit, point, ctx, result, elapsed, &mut chain)
            {
                return FirstPass::Done(self.stop(snapshot, i, &slot, chain, outcome), None);
            }
        }
        let skipped = chain.skipped.take().map(|s| *s);
        self.end(&slot, &chain);
        FirstPass::Done(HookOutcome::Continue, skipped)
    }

    /// The rest of a chain whose [`first_pass`](Self::first_pass) stopped
    /// at a hook that needs awaiting: that hook (admitted already) and the
    /// ones after it, each polled once in place and awaited under its
    /// timeout only if it suspends.
    pub(crate) async fn resume(
        &self,
        point: &HookPoint,
        ctx: &mut HookContext,
        rest: Resume<'_>,
    ) -> (HookOutcome, Option<Skip>) {
        let Resume {
            snapshot,
            at,
            permit: first_permit,
            span: mut first_span,
            mut chain,
            slot,
        } = rest;
        for (i, entry) in snapshot.iter().enumerate().skip(at) {
            let permit = if i == at {
                first_permit
            } else {
                match admit(entry, ctx) {
                    Some(p) => p,
                    None => continue,
                }
            };
            // One span per hook execution; disabled (and skipped below) when
            // no subscriber wants it.
            let span = match first_span.take() {
                Some(span) => *span,
                None => crate::telemetry::hook_span(&entry.metadata, point),
            };
            let traced = !span.is_disabled();
            if !traced {
                // A hook that can run without a future still does (only an
                // earlier one in the chain needed awaiting).
                let ran =
                    std::panic::catch_unwind(AssertUnwindSafe(|| (*entry.hook).execute_now(ctx)));
                let result = match ran {
                    Ok(Some(result)) => Some(result),
                    Ok(None) => None,
                    Err(payload) => Some(Err(panicked(entry, payload.as_ref()))),
                };
                if let Some(result) = result {
                    let elapsed = chain.lap(None);
                    if let Some(outcome) =
                        self.settle(entry, permit, point, ctx, result, elapsed, &mut chain)
                    {
                        return (self.stop(&snapshot, i, &slot, chain, outcome), None);
                    }
                    continue;
                }
            }
            let (result, suspended) = {
                let mut fut = (*entry.hook).execute(ctx);
                if traced {
                    fut = Box::pin(tracing::Instrument::instrument(fut, span.clone()));
                }
                // Poll once, in place, with the panic caught around the poll.
                let first = poll_once_caught(fut.as_mut()).await;
                match first {
                    Ok(Poll::Ready(result)) => (result, None),
                    Ok(Poll::Pending) => {
                        // Only a hook that suspends needs its timeout.
                        let timeout = entry.timeout.or_else(|| self.timeout_for(point));
                        // Boxed: held inline, its timer would make this
                        // future several hundred bytes larger.
                        Box::pin(finish(entry, fut, timeout, chain.mark)).await
                    }
                    Err(payload) => (Err(panicked(entry, payload.as_ref())), None),
                }
            };
            if traced {
                crate::telemetry::record_hook(&span, &result);
            }
            let elapsed = chain.lap(suspended);
            if let Some(outcome) =
                self.settle(entry, permit, point, ctx, result, elapsed, &mut chain)
            {
                return (self.stop(&snapshot, i, &slot, chain, outcome), None);
            }
        }
        let skipped = chain.skipped.take().map(|s| *s);
        self.end(&slot, &chain);
        (HookOutcome::Continue, skipped)
    }

    /// Feeds one hook call's result to its breaker and monitor and applies
    /// it to `ctx`; `Some` when the chain stops here with that outcome.
    #[allow(clippy::too_many_arguments)]
    fn settle(
        &self,
        entry: &Entry,
        permit: Permit,
        point: &HookPoint,
        ctx: &mut HookContext,
        result: Result<HookResult, HookError>,
        elapsed: Option<Duration>,
        chain: &mut Chain,
    ) -> Option<HookOutcome> {
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
            Ok(HookResult::Continue) => None,
            Ok(HookResult::Skipped(reason)) => {
                if chain.skipped.is_none() {
                    chain.skipped = Some(Box::new(Skip {
                        hook: entry.metadata.name.clone(),
                        reason,
                    }));
                }
                None
            }
            Ok(HookResult::Modified(data)) => {
                ctx.data = data;
                None
            }
            Ok(stop) => Some(
                HookOutcome::from_stopping(stop, &entry.metadata.name)
                    .unwrap_or(HookOutcome::Continue),
            ),
            Err(error) => {
                entry.monitor.record_failure(call_outcome);
                // A fail-open failure goes on; a fail-closed one stops the
                // chain with `Cancelled`.
                failed(entry, point, error)
            }
        }
    }

    /// A chain stopped at hook `i` with `outcome`: the hooks after it did
    /// not run.
    fn stop(
        &self,
        snapshot: &Snapshot,
        i: usize,
        slot: &Slot,
        chain: Chain,
        outcome: HookOutcome,
    ) -> HookOutcome {
        for entry in snapshot.iter().skip(i + 1) {
            entry.did_not_run();
        }
        self.end(slot, &chain);
        outcome
    }

    /// Records a timed dispatch's total.
    #[inline]
    fn end(&self, slot: &Slot, chain: &Chain) {
        if let Some(t) = chain.chain_start {
            slot.monitor.record_sample(t.elapsed());
        }
    }
}

/// Where a point's chain stands after [`HookExecutor::first_pass`].
pub(crate) enum FirstPass<'s> {
    /// The chain is done: its outcome and first `Skipped` (`None` unless
    /// the outcome is `Continue`).
    Done(HookOutcome, Option<Skip>),
    /// A hook needs awaiting: go on with [`HookExecutor::resume`].
    Resume(Resume<'s>),
}

/// The state of a chain handed from the first pass to
/// [`HookExecutor::resume`].
pub(crate) struct Resume<'s> {
    /// The snapshot the first pass iterated (a registration in between
    /// does not shift the hooks under the index).
    snapshot: Arc<Snapshot>,
    /// The hook to run next, admitted already under `permit`.
    at: usize,
    permit: Permit,
    /// The span the first pass made for that hook, when it is traced.
    // Boxed: this travels in the `Err` side of the point methods' results,
    // which the untraced fast path returns by value.
    span: Option<Box<tracing::Span>>,
    chain: Chain,
    slot: SlotRef<'s>,
}

/// The running state of one dispatch.
struct Chain {
    /// Boxed (a `Skipped` result is rare): the chain travels inside
    /// [`Resume`], in the `Err` side of the point methods' results.
    skipped: Option<Box<Skip>>,
    /// Set for a sampled (timed) dispatch.
    chain_start: Option<Instant>,
    /// The end of the last timed hook.
    mark: Option<Instant>,
}

impl Chain {
    /// How long the hook that just finished took: measured from the last
    /// mark in a timed dispatch, else what the slow path measured.
    #[inline]
    fn lap(&mut self, suspended: Option<Duration>) -> Option<Duration> {
        match self.mark {
            Some(m) => {
                let now = Instant::now();
                self.mark = Some(now);
                Some(now.saturating_duration_since(m))
            }
            None => suspended,
        }
    }
}

/// Whether `entry` runs on `ctx` (enabled, matching, willing, its breaker
/// closed); the breaker's permit if so. A hook that does not run is
/// counted as such.
#[inline]
fn admit(entry: &Entry, ctx: &HookContext) -> Option<Permit> {
    if !entry.is_enabled() {
        entry.did_not_run();
        return None;
    }
    if let Some(m) = &entry.matcher {
        if !m.matches(&ctx.component.name) {
            entry.did_not_run();
            return None;
        }
    }
    if !should_execute(entry, ctx) {
        entry.did_not_run();
        return None;
    }
    let Some(permit) = entry.breaker.try_acquire() else {
        entry.did_not_run();
        entry.monitor.record_skipped();
        return None;
    };
    Some(permit)
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use serde_json::json;

    use super::*;
    use crate::{async_hook_fn, hook_fn, ComponentId, ComponentType, RegisterOptions};

    const P: HookPoint = HookPoint::BeforeToolExecution;

    fn ctx() -> HookContext {
        HookContext::new(P, ComponentId::new(ComponentType::Tool, "t"))
    }

    fn setup() -> (Arc<HookRegistry>, HookExecutor) {
        let registry = Arc::new(HookRegistry::new());
        let executor = HookExecutor::builder(Arc::clone(&registry))
            .latency_sampling(1)
            .build();
        (registry, executor)
    }

    fn set(key: &'static str) -> impl crate::Hook {
        hook_fn(key, move |ctx| {
            ctx.insert(key, json!(true));
            Ok(HookResult::Continue)
        })
    }

    /// An async hook that counts its calls and waits `wait` (on the tokio
    /// timer) before setting `key`.
    fn waits(key: &'static str, wait: Duration, calls: Arc<AtomicUsize>) -> impl crate::Hook {
        async_hook_fn(key, move |mut ctx| {
            let calls = Arc::clone(&calls);
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(wait).await;
                ctx.insert(key, json!(true));
                Ok(HookResult::Modified(ctx.data))
            }
        })
    }

    #[test]
    fn a_chain_of_closure_hooks_completes_in_the_first_pass_without_a_runtime() {
        // No tokio runtime and no executor of futures: the whole chain runs
        // in the synchronous pass.
        let (registry, executor) = setup();
        registry.register(P, set("a")).unwrap();
        registry.register(P, set("b")).unwrap();
        let mut c = ctx();
        match executor.first_pass(&P, &mut c) {
            FirstPass::Done(outcome, skipped) => {
                assert!(outcome.is_continue());
                assert!(skipped.is_none());
            }
            FirstPass::Resume(_) => panic!("closure hooks need no awaiting"),
        }
        assert_eq!(c.data["a"], true);
        assert_eq!(c.data["b"], true);
        // Sampled every dispatch here: each hook was timed and counted.
        for h in registry.list(&crate::HookFilter::new()) {
            assert_eq!(h.performance().calls, 1, "{}", h.metadata().name);
        }
    }

    #[test]
    fn the_first_pass_stops_before_a_hook_that_needs_awaiting() {
        let (registry, executor) = setup();
        let calls = Arc::new(AtomicUsize::new(0));
        registry.register(P, set("a")).unwrap();
        registry
            .register(P, waits("w", Duration::ZERO, Arc::clone(&calls)))
            .unwrap();
        registry.register(P, set("c")).unwrap();
        let mut c = ctx();
        let rest = match executor.first_pass(&P, &mut c) {
            FirstPass::Resume(rest) => rest,
            FirstPass::Done(..) => panic!("an async hook must be awaited"),
        };
        // The hooks before it ran; it did not (it runs once, in `resume`).
        assert_eq!(rest.at, 1);
        assert_eq!(c.data["a"], true);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert!(!c.data.contains_key("c"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (outcome, _) = rt.block_on(executor.resume(&P, &mut c, rest));
        assert!(outcome.is_continue());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(c.data["w"], true);
        assert_eq!(c.data["c"], true);
    }

    #[tokio::test]
    async fn a_suspending_hook_after_closure_hooks_still_works_and_times_out() {
        let (registry, executor) = setup();
        let calls = Arc::new(AtomicUsize::new(0));
        registry.register(P, set("a")).unwrap();
        // Suspends, finishes in time.
        registry
            .register(
                P,
                waits("quick", Duration::from_millis(1), Arc::clone(&calls)),
            )
            .unwrap();
        // Suspends past its timeout: fail-open, the chain goes on.
        let slow = registry
            .register_with(
                P,
                Arc::new(waits("slow", Duration::from_secs(30), Arc::clone(&calls))),
                RegisterOptions::new().timeout(Duration::from_millis(30)),
            )
            .unwrap();
        registry.register(P, set("c")).unwrap();
        let mut c = ctx();
        let started = std::time::Instant::now();
        let outcome = executor.execute(&P, &mut c).await;
        assert!(outcome.is_continue());
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // `quick`'s Modified data kept `a`; `slow` never finished; `c` ran.
        assert_eq!(c.data["a"], true);
        assert_eq!(c.data["quick"], true);
        assert!(!c.data.contains_key("slow"));
        assert_eq!(c.data["c"], true);
        let perf = registry.get(&slow).unwrap().performance();
        assert_eq!(perf.timeouts, 1);

        // Fail-closed, the timeout cancels the chain and `c` does not run.
        let (registry, executor) = setup();
        registry.register(P, set("a")).unwrap();
        registry
            .register_with(
                P,
                Arc::new(waits("slow", Duration::from_secs(30), Arc::clone(&calls))),
                RegisterOptions::new()
                    .timeout(Duration::from_millis(30))
                    .fail_closed(true),
            )
            .unwrap();
        let c_hook = registry.register(P, set("c")).unwrap();
        let mut c = ctx();
        match executor.execute(&P, &mut c).await {
            HookOutcome::Cancelled { hook, reason } => {
                assert_eq!(hook, "slow");
                assert!(reason.contains("timed out"), "{reason}");
            }
            other => panic!("expected a cancel, got {other:?}"),
        }
        assert_eq!(c.data["a"], true);
        assert!(!c.data.contains_key("c"));
        assert_eq!(registry.get(&c_hook).unwrap().performance().calls, 0);
    }

    #[test]
    fn a_panic_or_error_in_the_first_pass_is_isolated() {
        let (registry, executor) = setup();
        let p = registry
            .register(P, hook_fn("boom", |_| panic!("sync bug")))
            .unwrap();
        let e = registry
            .register(
                P,
                hook_fn("err", |_| Err(HookError::execution("err", "bad"))),
            )
            .unwrap();
        registry.register(P, set("c")).unwrap();
        let mut c = ctx();
        let FirstPass::Done(outcome, _) = executor.first_pass(&P, &mut c) else {
            panic!("no hook needs awaiting");
        };
        assert!(outcome.is_continue());
        assert_eq!(c.data["c"], true);
        assert_eq!(registry.get(&p).unwrap().performance().panics, 1);
        assert_eq!(registry.get(&e).unwrap().performance().errors, 1);

        // Fail-closed: the panic cancels, the rest does not run.
        let (registry, executor) = setup();
        registry
            .register_with(
                P,
                Arc::new(hook_fn("boom", |_| panic!("sync bug"))),
                RegisterOptions::new().fail_closed(true),
            )
            .unwrap();
        let after = registry.register(P, set("c")).unwrap();
        let mut c = ctx();
        let FirstPass::Done(outcome, _) = executor.first_pass(&P, &mut c) else {
            panic!("no hook needs awaiting");
        };
        match outcome {
            HookOutcome::Cancelled { hook, reason } => {
                assert_eq!(hook, "boom");
                assert!(reason.contains("sync bug"), "{reason}");
            }
            other => panic!("expected a cancel, got {other:?}"),
        }
        assert!(!c.data.contains_key("c"));
        assert_eq!(registry.get(&after).unwrap().performance().calls, 0);
    }

    #[test]
    fn a_stopping_result_in_the_first_pass_ends_the_chain() {
        let (registry, executor) = setup();
        registry
            .register(P, hook_fn("skip", |_| Ok(HookResult::Skipped("no".into()))))
            .unwrap();
        registry
            .register(P, hook_fn("stop", |_| Ok(HookResult::Replace(json!(7)))))
            .unwrap();
        let after = registry.register(P, set("c")).unwrap();
        let mut c = ctx();
        let FirstPass::Done(outcome, skipped) = executor.first_pass(&P, &mut c) else {
            panic!("no hook needs awaiting");
        };
        assert_eq!(
            outcome,
            HookOutcome::Replace {
                value: json!(7),
                hook: "stop".into()
            }
        );
        // A stopped chain reports no skip.
        assert!(skipped.is_none());
        assert_eq!(registry.get(&after).unwrap().performance().calls, 0);
        // And a chain that goes on reports the first one.
        let (registry, executor) = setup();
        registry
            .register(P, hook_fn("skip", |_| Ok(HookResult::Skipped("no".into()))))
            .unwrap();
        let mut c = ctx();
        let FirstPass::Done(outcome, skipped) = executor.first_pass(&P, &mut c) else {
            panic!("no hook needs awaiting");
        };
        assert!(outcome.is_continue());
        assert_eq!(skipped.map(|s| s.hook), Some("skip".to_owned()));
    }
}
