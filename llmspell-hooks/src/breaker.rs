//! [`CircuitBreaker`]: stops calling a hook that keeps failing or is slow.

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::{Clock, HookError, HookPoint, Result, SystemClock};

#[cfg(test)]
mod tests;
mod window;

use window::Window;

/// The window over which failure and slow-call rates are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SlidingWindow {
    /// The last `n` calls.
    Count(u32),
    /// The calls of the last `duration` (kept in 10 buckets).
    Time(Duration),
}

/// Circuit breaker thresholds; see [`CircuitBreaker`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// The window rates are computed over. Default: the last 100 calls.
    pub window: SlidingWindow,
    /// Open when at least this fraction of calls in the window failed
    /// (0.0..=1.0). Default 0.5.
    pub failure_rate_threshold: f64,
    /// Open when at least this fraction of calls in the window were slow
    /// (0.0..=1.0). Default 0.8.
    pub slow_call_rate_threshold: f64,
    /// A call taking at least this long is slow. Default 1 s.
    pub slow_call_duration: Duration,
    /// The breaker never opens before the window holds this many calls.
    /// Default 10.
    pub minimum_calls: u32,
    /// The wait before the first half-open trial; doubled on each
    /// consecutive opening. Default 1 s.
    pub open_wait: Duration,
    /// The cap on the doubled wait. Default 60 s.
    pub max_open_wait: Duration,
    /// Trial calls let through when half-open; all must succeed (and be
    /// fast) to close. Default 3.
    pub half_open_trials: u32,
    /// The slow-call rate is evaluated once the window holds this many
    /// calls whose duration was measured (the executor samples latency).
    /// Default 5.
    pub minimum_timed_calls: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            window: SlidingWindow::Count(100),
            failure_rate_threshold: 0.5,
            slow_call_rate_threshold: 0.8,
            slow_call_duration: Duration::from_secs(1),
            minimum_calls: 10,
            open_wait: Duration::from_secs(1),
            max_open_wait: Duration::from_secs(60),
            half_open_trials: 3,
            minimum_timed_calls: 5,
        }
    }
}

impl BreakerConfig {
    /// Sets the window.
    #[must_use]
    pub fn window(mut self, window: SlidingWindow) -> Self {
        self.window = window;
        self
    }
    /// Sets the failure-rate threshold.
    #[must_use]
    pub fn failure_rate_threshold(mut self, rate: f64) -> Self {
        self.failure_rate_threshold = rate;
        self
    }
    /// Sets the slow-call-rate threshold.
    #[must_use]
    pub fn slow_call_rate_threshold(mut self, rate: f64) -> Self {
        self.slow_call_rate_threshold = rate;
        self
    }
    /// Sets the duration from which a call is slow.
    #[must_use]
    pub fn slow_call_duration(mut self, d: Duration) -> Self {
        self.slow_call_duration = d;
        self
    }
    /// Sets the minimum number of calls.
    #[must_use]
    pub fn minimum_calls(mut self, n: u32) -> Self {
        self.minimum_calls = n;
        self
    }
    /// Sets the first open wait and its cap.
    #[must_use]
    pub fn open_wait(mut self, first: Duration, max: Duration) -> Self {
        self.open_wait = first;
        self.max_open_wait = max;
        self
    }
    /// Sets the minimum number of timed calls for the slow-call rate.
    #[must_use]
    pub fn minimum_timed_calls(mut self, n: u32) -> Self {
        self.minimum_timed_calls = n;
        self
    }
    /// Sets the number of half-open trial calls.
    #[must_use]
    pub fn half_open_trials(mut self, n: u32) -> Self {
        self.half_open_trials = n;
        self
    }

    /// Checks every value is in range.
    ///
    /// # Errors
    /// [`HookError::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, reason: &str| {
            Err(HookError::InvalidConfig {
                field,
                reason: reason.to_owned(),
            })
        };
        match self.window {
            SlidingWindow::Count(0) => {
                return bad("window", "a count window needs at least 1 call")
            }
            SlidingWindow::Time(d) if d < Duration::from_millis(10) => {
                return bad("window", "a time window must be at least 10 ms")
            }
            _ => {}
        }
        for (field, rate) in [
            ("failure_rate_threshold", self.failure_rate_threshold),
            ("slow_call_rate_threshold", self.slow_call_rate_threshold),
        ] {
            if !(rate > 0.0 && rate <= 1.0) {
                return bad(field, "must be in (0.0, 1.0]");
            }
        }
        if self.half_open_trials == 0 {
            return bad("half_open_trials", "must be at least 1");
        }
        if self.open_wait.is_zero() || self.max_open_wait < self.open_wait {
            return bad("open_wait", "must be non-zero and at most max_open_wait");
        }
        Ok(())
    }
}

/// A breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through; outcomes are recorded.
    Closed,
    /// Calls are refused until the wait is over.
    Open,
    /// A limited number of trial calls go through.
    HalfOpen,
    /// Forced open by an operator: every call is refused.
    ForcedOpen,
    /// Forced closed by an operator: every call goes through, nothing trips.
    ForcedClosed,
    /// Disabled: every call goes through, nothing is recorded.
    Disabled,
}

impl BreakerState {
    const ALL: [BreakerState; 6] = [
        BreakerState::Closed,
        BreakerState::Open,
        BreakerState::HalfOpen,
        BreakerState::ForcedOpen,
        BreakerState::ForcedClosed,
        BreakerState::Disabled,
    ];

    fn from_u8(v: u8) -> BreakerState {
        Self::ALL
            .get(usize::from(v))
            .copied()
            .unwrap_or(BreakerState::Closed)
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
            BreakerState::ForcedOpen => "forced_open",
            BreakerState::ForcedClosed => "forced_closed",
            BreakerState::Disabled => "disabled",
        })
    }
}

/// A change of a breaker's state, published to listeners.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BreakerTransition {
    /// The hook the breaker guards (empty for a standalone breaker).
    pub hook: String,
    /// The point the hook is registered at, if any.
    pub point: Option<HookPoint>,
    /// The state before.
    pub from: BreakerState,
    /// The state after.
    pub to: BreakerState,
    /// When the change happened: the time since the breaker was created,
    /// read on its clock.
    pub at: Duration,
    /// For a change to Open: how long it stays open.
    pub open_for: Option<Duration>,
}

/// Permission to make one call, from `CircuitBreaker::try_acquire`; given
/// back with the outcome to `CircuitBreaker::record`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) struct Permit {
    trial: bool,
    record: bool,
}

impl Permit {
    /// Whether the call is a half-open trial.
    #[must_use]
    pub(crate) fn is_trial(&self) -> bool {
        self.trial
    }

    /// Whether the breaker records the call's outcome (not when forced
    /// closed or disabled).
    #[must_use]
    pub(crate) fn is_recorded(&self) -> bool {
        self.record
    }
}

/// A circuit breaker with a sliding window (count- or time-based),
/// failure-rate and slow-call-rate thresholds, a minimum number of calls,
/// an exponentially growing open wait with a cap, N half-open trials, and
/// manual overrides.
///
/// Closed → Open when, after a failed or slow call, the window holds at
/// least `minimum_calls` calls and the failure rate or the slow-call rate
/// reaches its threshold. Open → HalfOpen on the first admission check
/// after the wait (`open_wait * 2^(consecutive openings - 1)`, capped at
/// `max_open_wait`). HalfOpen lets `half_open_trials` calls through: one
/// failed or slow trial reopens (with the doubled wait), all succeeding
/// closes and resets the wait.
///
/// The closed-state admission check is one atomic load; recording a
/// success in a count window is one `fetch_add`. The slow-call rate is
/// computed over the calls that were timed (every call that suspends, and a
/// sample of those that finish at once; see [`Guarded::sample`](crate::Guarded::sample)),
/// once there are `minimum_timed_calls` of them in the window; untimed
/// calls count only toward the failure rate. State changes take a small
/// mutex (never held across `.await`) and are sent to listeners.
///
/// Components run calls through [`CircuitBreaker::guard`].
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use llmspell_hooks::{BreakerConfig, BreakerState, CircuitBreaker, GuardError, ManualClock};
///
/// let clock = ManualClock::new();
/// let b = CircuitBreaker::with_clock(
///     BreakerConfig::default().minimum_calls(4),
///     Arc::new(clock.clone()),
/// ).unwrap();
/// for _ in 0..4 {
///     let _ = b.guard().run(async { Err::<(), _>("down") }, |_| true).await;
/// }
/// assert_eq!(b.state(), BreakerState::Open);
/// let refused = b.guard().run(async { Ok::<_, &str>(()) }, |_| true).await;
/// assert_eq!(refused, Err(GuardError::Open));
/// clock.advance(Duration::from_secs(1));
/// assert!(b.guard().run(async { Ok::<_, &str>(()) }, |_| true).await.is_ok()); // a half-open trial
/// # });
/// ```
pub struct CircuitBreaker {
    state: AtomicU8,
    /// Every call recorded, in any state; numbers calls for the window.
    total: AtomicU64,
    /// Clock nanos at which an Open breaker may go half-open.
    open_until: AtomicU64,
    trials_started: AtomicU32,
    trials_succeeded: AtomicU32,
    window: Window,
    config: BreakerConfig,
    clock: Arc<dyn Clock>,
    /// The clock's reading at creation; times kept in atomics count from it.
    origin: Instant,
    transitions: Mutex<Transitions>,
    listener: Option<(
        broadcast::Sender<BreakerTransition>,
        String,
        Option<HookPoint>,
    )>,
}

#[derive(Debug, Default)]
struct Transitions {
    consecutive_openings: u32,
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("state", &self.state())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

const CLOSED: u8 = 0;
const OPEN: u8 = 1;
const HALF_OPEN: u8 = 2;
const FORCED_OPEN: u8 = 3;
const FORCED_CLOSED: u8 = 4;
const DISABLED: u8 = 5;

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl CircuitBreaker {
    /// A breaker on the system clock.
    ///
    /// # Errors
    /// [`HookError::InvalidConfig`] when the config does not validate.
    pub fn new(config: BreakerConfig) -> Result<Self> {
        Self::with_clock(config, Arc::new(SystemClock::new()))
    }

    /// A breaker on the given clock.
    ///
    /// # Errors
    /// [`HookError::InvalidConfig`] when the config does not validate.
    pub fn with_clock(config: BreakerConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        config.validate()?;
        let origin = clock.now();
        Ok(Self {
            state: AtomicU8::new(CLOSED),
            total: AtomicU64::new(0),
            open_until: AtomicU64::new(0),
            trials_started: AtomicU32::new(0),
            trials_succeeded: AtomicU32::new(0),
            window: Window::new(config.window),
            config,
            clock,
            origin,
            transitions: Mutex::new(Transitions::default()),
            listener: None,
        })
    }

    /// Sends every transition to `sender`, labelled with a hook name and
    /// point.
    #[must_use]
    pub fn with_listener(
        mut self,
        sender: broadcast::Sender<BreakerTransition>,
        hook: impl Into<String>,
        point: Option<HookPoint>,
    ) -> Self {
        self.listener = Some((sender, hook.into(), point));
        self
    }

    /// Time since the breaker was created, on its clock.
    #[inline]
    fn elapsed(&self) -> Duration {
        self.clock.now().saturating_duration_since(self.origin)
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> BreakerState {
        BreakerState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Asks to make a call: `Some` when it may go through (record its
    /// outcome with the permit), `None` when the breaker refuses it.
    #[inline]
    pub(crate) fn try_acquire(&self) -> Option<Permit> {
        // Acquire pairs with the Release stores of `transition`, so a caller
        // that sees a state also sees the window reset that preceded it.
        match self.state.load(Ordering::Acquire) {
            CLOSED => Some(Permit {
                trial: false,
                record: true,
            }),
            FORCED_CLOSED => Some(Permit {
                trial: false,
                record: false,
            }),
            DISABLED => Some(Permit {
                trial: false,
                record: false,
            }),
            _ => self.try_acquire_slow(),
        }
    }

    #[cold]
    fn try_acquire_slow(&self) -> Option<Permit> {
        let mut guard = self.transitions.lock();
        match self.state.load(Ordering::Acquire) {
            OPEN => {
                if nanos(self.elapsed()) < self.open_until.load(Ordering::Acquire) {
                    return None;
                }
                self.trials_started.store(1, Ordering::Relaxed);
                self.trials_succeeded.store(0, Ordering::Relaxed);
                self.transition(&mut guard, HALF_OPEN, None);
                Some(Permit {
                    trial: true,
                    record: true,
                })
            }
            HALF_OPEN => {
                if self.trials_started.load(Ordering::Relaxed) >= self.config.half_open_trials {
                    return None;
                }
                self.trials_started.fetch_add(1, Ordering::Relaxed);
                Some(Permit {
                    trial: true,
                    record: true,
                })
            }
            FORCED_OPEN => None,
            // The state changed while we waited for the lock.
            _ => {
                drop(guard);
                self.try_acquire()
            }
        }
    }

    /// Records the outcome of a call made with `permit` that took
    /// `elapsed` (compared with `slow_call_duration`).
    #[inline]
    pub(crate) fn record(&self, permit: Permit, outcome: crate::CallOutcome, elapsed: Duration) {
        self.record_call(permit, outcome, Some(elapsed));
    }

    /// Records the outcome of a call whose duration was not measured: it
    /// counts toward the failure rate but not the slow-call rate.
    #[inline]
    pub(crate) fn record_untimed(&self, permit: Permit, outcome: crate::CallOutcome) {
        self.record_call(permit, outcome, None);
    }

    #[inline]
    fn record_call(&self, permit: Permit, outcome: crate::CallOutcome, elapsed: Option<Duration>) {
        // Relaxed: a statistic; it numbers calls for the window.
        let index = self.total.fetch_add(1, Ordering::Relaxed) + 1;
        if !permit.record {
            return;
        }
        let failed = outcome.is_failure();
        let slow = elapsed.map(|e| e >= self.config.slow_call_duration);
        let bad = failed || slow == Some(true);
        if permit.trial {
            self.record_trial(bad);
            return;
        }
        let now = if self.window.needs_time() {
            self.elapsed()
        } else {
            Duration::ZERO
        };
        self.window.record(index, failed, slow, now);
        if bad {
            self.maybe_trip(now);
        }
    }

    /// Records `n` successful, untimed calls at once, for callers that count
    /// calls elsewhere and report them lazily (the executor reports them
    /// when a call fails or is timed). Only for count windows: a time
    /// window would put them all in the current bucket.
    pub(crate) fn record_successes(&self, n: u64) {
        if n > 0 {
            self.total.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Whether the window needs every call recorded as it happens (time
    /// windows), rather than successes reported in bulk.
    #[must_use]
    pub(crate) fn needs_every_call(&self) -> bool {
        self.window.needs_time()
    }

    /// Every call recorded since the breaker was created, in any state.
    #[must_use]
    pub fn total_calls(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    #[cold]
    fn maybe_trip(&self, now: Duration) {
        let t = self.window.totals(self.total.load(Ordering::Relaxed), now);
        let min = u64::from(self.config.minimum_calls).max(1);
        if t.calls < min {
            return;
        }
        let failure_rate = t.failures as f64 / t.calls as f64;
        // The slow-call rate is over the calls whose duration was measured,
        // once there are enough of them.
        let slow_rate = if t.timed >= u64::from(self.config.minimum_timed_calls).max(1) {
            t.slow as f64 / t.timed as f64
        } else {
            0.0
        };
        if failure_rate >= self.config.failure_rate_threshold
            || slow_rate >= self.config.slow_call_rate_threshold
        {
            let mut guard = self.transitions.lock();
            if self.state.load(Ordering::Acquire) == CLOSED {
                self.open(&mut guard);
            }
        }
    }

    #[cold]
    fn record_trial(&self, bad: bool) {
        let mut guard = self.transitions.lock();
        if self.state.load(Ordering::Acquire) != HALF_OPEN {
            return;
        }
        if bad {
            self.open(&mut guard);
        } else {
            let ok = self.trials_succeeded.fetch_add(1, Ordering::Relaxed) + 1;
            if ok >= self.config.half_open_trials {
                guard.consecutive_openings = 0;
                self.reset_window();
                self.transition(&mut guard, CLOSED, None);
            }
        }
    }

    fn open(&self, guard: &mut Transitions) {
        guard.consecutive_openings = guard.consecutive_openings.saturating_add(1);
        let wait = self.open_wait_for(guard.consecutive_openings);
        self.open_until.store(
            nanos(self.elapsed()).saturating_add(nanos(wait)),
            Ordering::Release,
        );
        self.transition(guard, OPEN, Some(wait));
    }

    /// The wait for the `n`-th consecutive opening (n >= 1).
    fn open_wait_for(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.config
            .open_wait
            .checked_mul(factor)
            .unwrap_or(self.config.max_open_wait)
            .min(self.config.max_open_wait)
    }

    fn transition(&self, _guard: &mut Transitions, to: u8, open_for: Option<Duration>) {
        // Release: publishes `open_until`, trial counters and window resets
        // written before it to threads that load the state with Acquire.
        let from = self.state.swap(to, Ordering::AcqRel);
        if from == to {
            return;
        }
        tracing::debug!(
            from = %BreakerState::from_u8(from),
            to = %BreakerState::from_u8(to),
            "circuit breaker transition"
        );
        if let Some((sender, hook, point)) = &self.listener {
            // No receiver is fine: nobody is listening.
            let _ = sender.send(BreakerTransition {
                hook: hook.clone(),
                point: point.clone(),
                from: BreakerState::from_u8(from),
                to: BreakerState::from_u8(to),
                at: self.elapsed(),
                open_for,
            });
        }
    }

    fn set_manual(&self, to: u8) {
        let mut guard = self.transitions.lock();
        guard.consecutive_openings = 0;
        self.reset_window();
        self.transition(&mut guard, to, None);
    }

    /// Refuses every call until [`CircuitBreaker::reset`].
    pub fn force_open(&self) {
        self.set_manual(FORCED_OPEN);
    }

    /// Lets every call through and never trips until
    /// [`CircuitBreaker::reset`].
    pub fn force_closed(&self) {
        self.set_manual(FORCED_CLOSED);
    }

    /// Lets every call through and records nothing until
    /// [`CircuitBreaker::reset`].
    pub fn disable(&self) {
        self.set_manual(DISABLED);
    }

    /// Back to Closed with an empty window and the initial wait.
    pub fn reset(&self) {
        self.set_manual(CLOSED);
    }

    fn reset_window(&self) {
        self.window
            .reset(self.total.load(Ordering::Relaxed), self.elapsed());
    }

    /// Calls, failed calls and slow calls currently in the window (slow
    /// among the calls whose duration was measured).
    #[must_use]
    pub fn window_totals(&self) -> (u64, u64, u64) {
        let t = self
            .window
            .totals(self.total.load(Ordering::Relaxed), self.elapsed());
        (t.calls, t.failures, t.slow)
    }
}
