//! One `ManualClock` drives an event bus, a hook registry and a tool
//! runtime: advancing it once is seen by the bus rate limiter, a hook
//! circuit breaker's open -> half-open wait and the tool result cache ttl.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use llmspell_events::{Clock, EventBus, EventError, RateLimit, UniversalEvent};
use llmspell_hooks::{
    hook_fn, BreakerConfig, BreakerState, ComponentId, ComponentType, HookContext, HookError,
    HookExecutor, HookPoint, HookRegistry, HookResult, ManualClock, SlidingWindow,
};
use llmspell_tools::{InvokeOptions, ResultSource, ToolRegistry, ToolRuntime, ToolsConfig};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

fn event() -> UniversalEvent {
    UniversalEvent::new("clock.test", json!(null))
}

#[tokio::test]
async fn one_manual_clock_moves_bus_hooks_and_tools_together() {
    let clock = ManualClock::new();
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());

    // The bus: one event per second, no burst beyond it.
    let bus = EventBus::builder()
        .clock(Arc::clone(&shared))
        .rate_limit(RateLimit::per_second(1).unwrap().burst(1))
        .build();
    bus.try_publish(event()).unwrap();
    let limited = bus.try_publish(event()).unwrap_err();
    assert!(
        matches!(limited, EventError::RateLimited { .. }),
        "{limited}"
    );

    // The hook registry: a failing hook whose breaker opens for 10 s.
    let failing = Arc::new(AtomicBool::new(true));
    let registry = Arc::new(HookRegistry::with_clock(Arc::clone(&shared)));
    registry
        .set_breaker_config(
            HookPoint::BeforeAgentExecution,
            BreakerConfig::default()
                .window(SlidingWindow::Count(4))
                .minimum_calls(2)
                .failure_rate_threshold(0.5)
                .open_wait(WAIT, WAIT * 4)
                .half_open_trials(1),
        )
        .unwrap();
    let f = Arc::clone(&failing);
    let flaky = registry
        .register(
            HookPoint::BeforeAgentExecution,
            hook_fn("flaky", move |_| {
                if f.load(Ordering::SeqCst) {
                    Err(HookError::execution("flaky", "down"))
                } else {
                    Ok(HookResult::Continue)
                }
            }),
        )
        .unwrap();
    let executor = Arc::new(HookExecutor::new(Arc::clone(&registry)));
    let fire = || async {
        let mut ctx = HookContext::builder(
            HookPoint::BeforeAgentExecution,
            ComponentId::new(ComponentType::Agent, "writer"),
        )
        .build();
        let _ = executor
            .execute(&HookPoint::BeforeAgentExecution, &mut ctx)
            .await;
    };
    fire().await;
    fire().await;
    let hook = registry.get(&flaky).unwrap();
    let breaker = hook.breaker();
    assert_eq!(breaker.state(), BreakerState::Open);
    // From here on the hook would succeed: only the breaker keeps it out.
    failing.store(false, Ordering::SeqCst);
    let calls = || registry.get(&flaky).unwrap().performance().calls;
    let calls_while_open = calls();

    // The tool runtime: results cached for 10 s by a hook.
    let tools = ToolRegistry::with_standard_tools(&ToolsConfig::default()).unwrap();
    let runtime = ToolRuntime::builder(Arc::new(tools), Arc::clone(&executor))
        .clock(Arc::clone(&shared))
        .build()
        .unwrap();
    registry
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("cache", |_| Ok(HookResult::cache("calc", WAIT))),
        )
        .unwrap();
    let call = || async {
        runtime
            .invoke_with(
                "calculator",
                json!({"expression": "1 + 1"}),
                &InvokeOptions::new(),
            )
            .await
            .unwrap()
            .source
    };
    assert_eq!(call().await, ResultSource::Executed);
    assert_eq!(call().await, ResultSource::Cached);

    // Just short of the wait the breaker and the cache have not moved on.
    clock.advance(WAIT - Duration::from_millis(1));
    assert_eq!(call().await, ResultSource::Cached);
    fire().await;
    assert_eq!(breaker.state(), BreakerState::Open, "still open");
    assert_eq!(
        calls(),
        calls_while_open,
        "the open breaker skipped the hook"
    );

    // One advance, seen by all three.
    clock.advance(Duration::from_millis(1));
    bus.try_publish(event())
        .expect("the rate limiter saw the clock move");
    fire().await;
    assert_eq!(
        calls(),
        calls_while_open + 1,
        "the breaker's open wait is over: a half-open trial ran the hook"
    );
    assert_eq!(breaker.state(), BreakerState::Closed, "the trial succeeded");
    assert_eq!(
        call().await,
        ResultSource::Executed,
        "the cached result expired"
    );
}
