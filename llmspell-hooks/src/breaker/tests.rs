//! The breaker's state machine, driven call by call with chosen outcomes
//! and durations on a manual clock (admission and recording are internal:
//! components use `CircuitBreaker::guard`).

use std::sync::Arc;
use std::time::Duration;

use crate::{
    hook_fn, BreakerConfig, BreakerState, CallOutcome, CircuitBreaker, ComponentId, ComponentType,
    HookContext, HookError, HookExecutor, HookPoint, HookRegistry, HookResult, ManualClock,
    RegisterOptions, SlidingWindow,
};

fn tool_ctx(name: &str) -> HookContext {
    HookContext::new(
        HookPoint::BeforeToolExecution,
        ComponentId::new(ComponentType::Tool, name),
    )
}

const MS: Duration = Duration::from_millis(1);

fn breaker(config: BreakerConfig) -> (CircuitBreaker, ManualClock) {
    let clock = ManualClock::new();
    let b = CircuitBreaker::with_clock(config, Arc::new(clock.clone())).unwrap();
    (b, clock)
}

fn call(b: &CircuitBreaker, outcome: CallOutcome, elapsed: Duration) -> bool {
    match b.try_acquire() {
        Some(p) => {
            b.record(p, outcome, elapsed);
            true
        }
        None => false,
    }
}

fn config() -> BreakerConfig {
    BreakerConfig::default()
        .window(SlidingWindow::Count(10))
        .minimum_calls(5)
        .failure_rate_threshold(0.5)
        .open_wait(Duration::from_secs(1), Duration::from_secs(8))
        .half_open_trials(2)
}

#[test]
fn trips_on_failure_rate() {
    let (b, _) = breaker(config());
    for _ in 0..3 {
        call(&b, CallOutcome::Success, MS);
    }
    call(&b, CallOutcome::Error, MS);
    call(&b, CallOutcome::Error, MS);
    assert_eq!(b.state(), BreakerState::Closed, "2 of 5 failed: 40% < 50%");
    call(&b, CallOutcome::Panic, MS);
    assert_eq!(b.state(), BreakerState::Open, "3 of 6 failed: 50%");
    assert!(b.try_acquire().is_none());
}

#[test]
fn sliding_window_forgets_old_failures() {
    let (b, _) = breaker(config().failure_rate_threshold(0.6));
    for _ in 0..5 {
        call(&b, CallOutcome::Error, MS);
        if b.state() == BreakerState::Open {
            break;
        }
    }
    // with minimum 5 calls, 5 errors trip
    assert_eq!(b.state(), BreakerState::Open);
    let (b, _) = breaker(config().failure_rate_threshold(0.6));
    for _ in 0..4 {
        call(&b, CallOutcome::Error, MS);
    }
    for _ in 0..10 {
        call(&b, CallOutcome::Success, MS);
    }
    assert_eq!(
        b.window_totals(),
        (10, 0, 0),
        "old failures left the window"
    );
    call(&b, CallOutcome::Error, MS);
    assert_eq!(
        b.state(),
        BreakerState::Closed,
        "1 of 10 is not a lifetime count"
    );
}

#[test]
fn trips_on_slow_calls() {
    let cfg = config()
        .slow_call_duration(Duration::from_millis(100))
        .slow_call_rate_threshold(0.6);
    let (b, _) = breaker(cfg);
    for _ in 0..2 {
        call(&b, CallOutcome::Success, MS);
    }
    for _ in 0..2 {
        call(&b, CallOutcome::Success, Duration::from_millis(150));
    }
    assert_eq!(b.state(), BreakerState::Closed);
    assert_eq!(b.state(), BreakerState::Closed, "only 4 calls");
    call(&b, CallOutcome::Success, Duration::from_millis(150));
    assert_eq!(b.state(), BreakerState::Open, "3 of 5 slow = 60%");
    assert_eq!(b.window_totals(), (5, 0, 3));
}

#[test]
fn trips_on_slow_calls_exactly_at_threshold() {
    let cfg = config()
        .slow_call_duration(Duration::from_millis(100))
        .slow_call_rate_threshold(0.5);
    let (b, _) = breaker(cfg);
    call(&b, CallOutcome::Success, MS);
    call(&b, CallOutcome::Success, MS);
    call(&b, CallOutcome::Success, Duration::from_millis(100));
    call(&b, CallOutcome::Success, Duration::from_millis(100));
    assert_eq!(b.state(), BreakerState::Closed, "only 4 calls");
    call(&b, CallOutcome::Success, Duration::from_millis(500));
    assert_eq!(b.state(), BreakerState::Open, "3 of 5 slow >= 50%");
}

#[test]
fn does_not_trip_before_minimum_calls() {
    let (b, _) = breaker(config().minimum_calls(5));
    for _ in 0..4 {
        call(&b, CallOutcome::Error, MS);
    }
    assert_eq!(
        b.state(),
        BreakerState::Closed,
        "4 failures < 5 minimum calls"
    );
    call(&b, CallOutcome::Error, MS);
    assert_eq!(b.state(), BreakerState::Open);
}

fn open(b: &CircuitBreaker) {
    while b.state() != BreakerState::Open {
        assert!(call(b, CallOutcome::Error, MS));
    }
}

#[test]
fn half_open_success_closes() {
    let (b, clock) = breaker(config());
    open(&b);
    clock.advance(Duration::from_millis(999));
    assert!(b.try_acquire().is_none(), "still waiting");
    clock.advance(MS);
    let p1 = b.try_acquire().unwrap();
    assert_eq!(b.state(), BreakerState::HalfOpen);
    let p2 = b.try_acquire().unwrap();
    assert!(b.try_acquire().is_none(), "only 2 trials");
    b.record(p1, CallOutcome::Success, MS);
    assert_eq!(b.state(), BreakerState::HalfOpen);
    b.record(p2, CallOutcome::Success, MS);
    assert_eq!(b.state(), BreakerState::Closed);
    assert_eq!(b.window_totals(), (0, 0, 0));
}

#[test]
fn half_open_failure_reopens_with_doubled_wait_up_to_cap() {
    let (b, clock) = breaker(config());
    open(&b);
    let mut wait = Duration::from_secs(1);
    for _ in 0..5 {
        clock.advance(wait - MS);
        assert!(b.try_acquire().is_none(), "open for {wait:?}");
        clock.advance(MS);
        let p = b.try_acquire().expect("half-open trial");
        b.record(p, CallOutcome::Error, MS);
        assert_eq!(b.state(), BreakerState::Open);
        wait = (wait * 2).min(Duration::from_secs(8));
    }
    // A slow trial also reopens.
    clock.advance(Duration::from_secs(8));
    let p = b.try_acquire().unwrap();
    b.record(p, CallOutcome::Success, Duration::from_secs(2));
    assert_eq!(b.state(), BreakerState::Open);
}

#[test]
fn transitions_are_published() {
    let registry = HookRegistry::with_clock(Arc::new(ManualClock::new()));
    let mut rx = registry.breaker_transitions();
    let h = registry
        .register_with(
            HookPoint::ToolError,
            Arc::new(hook_fn("x", |_| Ok(HookResult::Continue))),
            RegisterOptions::new(),
        )
        .unwrap();
    let hook = registry.get(&h).unwrap();
    hook.breaker().force_open();
    let t = rx.try_recv().unwrap();
    assert_eq!(
        (t.from, t.to),
        (BreakerState::Closed, BreakerState::ForcedOpen)
    );
    assert_eq!(t.hook, "x");
    assert_eq!(t.point, Some(HookPoint::ToolError));
    hook.breaker().reset();
    assert_eq!(rx.try_recv().unwrap().to, BreakerState::Closed);
}

#[test]
fn manual_overrides() {
    let (b, _) = breaker(config());
    b.force_open();
    assert!(b.try_acquire().is_none());
    b.force_closed();
    for _ in 0..20 {
        assert!(call(&b, CallOutcome::Error, MS));
    }
    assert_eq!(b.state(), BreakerState::ForcedClosed);
    b.disable();
    for _ in 0..20 {
        assert!(call(&b, CallOutcome::Error, MS));
    }
    assert_eq!(
        b.window_totals().1,
        0,
        "a disabled breaker records no failure"
    );
    assert_eq!(b.state(), BreakerState::Disabled);
    assert_eq!(b.total_calls(), 40);
    b.reset();
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn time_window_counts_only_recent_calls() {
    let cfg = config().window(SlidingWindow::Time(Duration::from_secs(10)));
    let (b, clock) = breaker(cfg);
    for _ in 0..4 {
        call(&b, CallOutcome::Error, MS);
    }
    assert_eq!(b.window_totals(), (4, 4, 0));
    clock.advance(Duration::from_secs(11));
    assert_eq!(b.window_totals(), (0, 0, 0));
    call(&b, CallOutcome::Error, MS);
    assert_eq!(b.state(), BreakerState::Closed, "old failures expired");
    for _ in 0..4 {
        call(&b, CallOutcome::Error, MS);
    }
    assert_eq!(b.state(), BreakerState::Open);
}

#[test]
fn invalid_configs_are_refused() {
    assert!(matches!(
        CircuitBreaker::new(BreakerConfig::default().failure_rate_threshold(1.5)),
        Err(HookError::InvalidConfig { .. })
    ));
    assert!(CircuitBreaker::new(BreakerConfig::default().window(SlidingWindow::Count(0))).is_err());
    assert!(CircuitBreaker::new(BreakerConfig::default().half_open_trials(0)).is_err());
}

#[tokio::test]
async fn open_breaker_skips_hook_and_counts_it() {
    let clock = ManualClock::new();
    let registry = Arc::new(HookRegistry::with_clock(Arc::new(clock.clone())));
    registry
        .set_breaker_config(HookPoint::BeforeToolExecution, config())
        .unwrap();
    let executor = HookExecutor::new(registry.clone());
    let h = registry
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("flaky", |_| Err(HookError::execution("flaky", "boom"))),
        )
        .unwrap();
    let p = HookPoint::BeforeToolExecution;
    for _ in 0..5 {
        let mut ctx = tool_ctx("t");
        assert!(
            executor.execute(&p, &mut ctx).await.is_continue(),
            "fail-open"
        );
    }
    let hook = registry.get(&h).unwrap();
    assert_eq!(hook.breaker().state(), BreakerState::Open);
    let mut ctx = tool_ctx("t");
    assert!(executor.execute(&p, &mut ctx).await.is_continue());
    let perf = hook.performance();
    assert_eq!(perf.calls, 5);
    assert_eq!(perf.errors, 5);
    assert_eq!(perf.skipped, 1);
    assert_eq!(registry.point_performance(&p).calls, 6);
}

#[tokio::test]
async fn executor_feeds_slow_calls_to_the_breaker() {
    let registry = Arc::new(HookRegistry::new());
    registry
        .set_default_breaker_config(
            config()
                .slow_call_duration(Duration::from_millis(5))
                .slow_call_rate_threshold(0.8),
        )
        .unwrap();
    let executor = HookExecutor::builder(registry.clone())
        .latency_sampling(1)
        .build();
    let h = registry
        .register(
            HookPoint::BeforeToolExecution,
            crate::async_hook_fn("slow", |_| async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    for _ in 0..5 {
        let mut ctx = tool_ctx("t");
        let _ = executor
            .execute(&HookPoint::BeforeToolExecution, &mut ctx)
            .await;
    }
    let hook = registry.get(&h).unwrap();
    assert_eq!(hook.breaker().state(), BreakerState::Open);
    let perf = hook.performance();
    assert_eq!((perf.calls, perf.samples, perf.failures), (5, 5, 0));
    assert!(perf.p50 >= Duration::from_millis(10));
}

/// Successes are reported to the breaker lazily by the executor; the
/// failure rate must still be over the last N calls.
#[tokio::test]
async fn executor_failure_rate_counts_successes_between_failures() {
    let registry = Arc::new(HookRegistry::with_clock(Arc::new(ManualClock::new())));
    registry.set_default_breaker_config(config()).unwrap();
    let executor = HookExecutor::new(registry.clone());
    let p = HookPoint::BeforeToolExecution;
    let h = registry
        .register(
            p.clone(),
            hook_fn("sometimes", |ctx| {
                if ctx.data.contains_key("fail") {
                    Err(HookError::execution("sometimes", "asked to fail"))
                } else {
                    Ok(HookResult::Continue)
                }
            }),
        )
        .unwrap();
    let run = |fail: bool| {
        let mut ctx = tool_ctx("t");
        if fail {
            ctx.insert("fail", serde_json::json!(true));
        }
        let executor = &executor;
        let p = p.clone();
        async move { executor.execute(&p, &mut ctx).await }
    };
    for _ in 0..6 {
        let _ = run(false).await;
    }
    for _ in 0..4 {
        let _ = run(true).await;
    }
    let hook = registry.get(&h).unwrap();
    assert_eq!(hook.breaker().state(), BreakerState::Closed, "4 of 10");
    assert_eq!(hook.breaker().window_totals(), (10, 4, 0));
    let _ = run(true).await;
    assert_eq!(
        hook.breaker().state(),
        BreakerState::Open,
        "5 of the last 10"
    );
    let perf = hook.performance();
    assert_eq!((perf.calls, perf.errors), (11, 5));
}

/// Per-hook call counts are exact although a call does no read-modify-write.
#[tokio::test]
async fn call_counts_are_exact_across_skips_and_stops() {
    let registry = Arc::new(HookRegistry::new());
    let executor = HookExecutor::new(registry.clone());
    let p = HookPoint::AfterToolExecution;
    let first = registry
        .register_with(
            p.clone(),
            Arc::new(hook_fn("stopper", |ctx| {
                Ok(if ctx.component.name == "stop" {
                    HookResult::cancel("stop")
                } else {
                    HookResult::Continue
                })
            })),
            RegisterOptions::new().priority(crate::Priority::HIGH),
        )
        .unwrap();
    let files = registry
        .register_with(
            p.clone(),
            Arc::new(hook_fn("files", |_| Ok(HookResult::Continue))),
            RegisterOptions::new().matcher("file_*"),
        )
        .unwrap();
    let ctx_for = |name: &str| {
        let mut c = tool_ctx(name);
        c.point = p.clone();
        c
    };
    for name in ["file_a", "calc", "stop", "file_b", "stop", "file_c"] {
        let mut c = ctx_for(name);
        let _ = executor.execute(&p, &mut c).await;
    }
    registry.set_enabled(&files, false).unwrap();
    let mut c = ctx_for("file_d");
    let _ = executor.execute(&p, &mut c).await;
    assert_eq!(registry.get(&first).unwrap().performance().calls, 7);
    assert_eq!(registry.get(&files).unwrap().performance().calls, 3);
    assert_eq!(registry.point_performance(&p).calls, 7);
}

/// The executor's fast path skips breaker bookkeeping for untimed
/// successes; half-open trials must still reach the breaker, or it would
/// never close again.
#[tokio::test]
async fn executor_reports_half_open_trial_successes() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let clock = ManualClock::new();
    let registry = Arc::new(HookRegistry::with_clock(Arc::new(clock.clone())));
    registry.set_default_breaker_config(config()).unwrap();
    let executor = HookExecutor::new(registry.clone());
    let failing = Arc::new(AtomicBool::new(true));
    let switch = failing.clone();
    let h = registry
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("recovers", move |_| {
                if switch.load(Ordering::Relaxed) {
                    Err(HookError::execution("recovers", "down"))
                } else {
                    Ok(HookResult::Continue)
                }
            }),
        )
        .unwrap();
    let p = HookPoint::BeforeToolExecution;
    for _ in 0..5 {
        let _ = executor.execute(&p, &mut tool_ctx("t")).await;
    }
    let hook = registry.get(&h).unwrap();
    let breaker = hook.breaker();
    assert_eq!(breaker.state(), BreakerState::Open);

    failing.store(false, Ordering::Relaxed);
    clock.advance(Duration::from_secs(1));
    // Two permitted trials (config: half_open_trials(2)), both succeed.
    for _ in 0..2 {
        assert!(executor.execute(&p, &mut tool_ctx("t")).await.is_continue());
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
}

/// A time-window breaker needs every call, including untimed successes
/// that the executor's fast path would otherwise not report.
#[tokio::test]
async fn executor_reports_every_call_to_a_time_window_breaker() {
    let clock = ManualClock::new();
    let registry = Arc::new(HookRegistry::with_clock(Arc::new(clock.clone())));
    registry
        .set_default_breaker_config(config().window(SlidingWindow::Time(Duration::from_secs(10))))
        .unwrap();
    let executor = HookExecutor::new(registry.clone());
    let h = registry
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("ok", |_| Ok(HookResult::Continue)),
        )
        .unwrap();
    for _ in 0..7 {
        let _ = executor
            .execute(&HookPoint::BeforeToolExecution, &mut tool_ctx("t"))
            .await;
    }
    let hook = registry.get(&h).unwrap();
    assert_eq!(hook.breaker().window_totals(), (7, 0, 0));
}
