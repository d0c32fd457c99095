//! The points the script context fires itself: each test registers a hook
//! at the point, triggers what fires it, and checks the hook ran with the
//! documented data keys.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use llmspell_bridge::{GlobalContext, ResourceMonitorConfig};
use llmspell_events::{OverflowStrategy, SubscriptionConfig, UniversalEvent};
use llmspell_hooks::{
    hook_fn, BreakerConfig, HookContext, HookError, HookPoint, HookResult, Hooks, RegisterOptions,
};
use serde_json::json;

type Seen = Arc<Mutex<Vec<HookContext>>>;

fn record(hooks: &Hooks, point: HookPoint) -> Seen {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    hooks
        .register(
            point,
            hook_fn("record", move |ctx| {
                s.lock().unwrap().push(ctx.clone());
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    seen
}

/// Waits (bounded) until `seen` has a context matching `f`.
async fn wait_for(seen: &Seen, f: impl Fn(&HookContext) -> bool) -> HookContext {
    for _ in 0..500 {
        if let Some(c) = seen.lock().unwrap().iter().find(|c| f(c)) {
            return c.clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "the hook did not run with the expected data: {:?}",
        seen.lock().unwrap()
    );
}

#[tokio::test]
async fn start_and_shutdown_fire_the_system_points_once() {
    let context = GlobalContext::new();
    let started = record(context.hooks(), HookPoint::SystemStartup);
    let stopped = record(context.hooks(), HookPoint::SystemShutdown);
    context.start().await;
    context.start().await;
    context.shutdown("completed").await;
    context.shutdown("again").await;
    let started = started.lock().unwrap();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].data["version"], env!("CARGO_PKG_VERSION"));
    assert!(started[0].data["globals"]
        .as_array()
        .unwrap()
        .contains(&json!("Hook")));
    let stopped = stopped.lock().unwrap();
    assert_eq!(stopped.len(), 1);
    assert_eq!(stopped[0].data["reason"], "completed");
    assert_eq!(stopped[0].component.name, "llmspell");
}

#[tokio::test]
async fn registering_a_hook_is_a_configuration_change() {
    let context = GlobalContext::new();
    let changes = record(context.hooks(), HookPoint::ConfigurationChange);
    context.start().await;
    let handle = context
        .hooks()
        .register("custom:x", hook_fn("late", |_| Ok(HookResult::Continue)))
        .unwrap();
    let c = wait_for(&changes, |c| {
        c.data["kind"] == "hook_registered" && c.data["hook"] == "late"
    })
    .await;
    assert_eq!(c.data["point"], "custom:x");
    context.hooks().unregister(&handle);
    wait_for(&changes, |c| c.data["kind"] == "hook_unregistered").await;
    let outcome = context
        .configuration_changed("limit", serde_json::Map::new())
        .await;
    assert!(outcome.is_continue());
    wait_for(&changes, |c| c.data["kind"] == "limit").await;
    context.shutdown("completed").await;
}

#[tokio::test]
async fn a_hook_breaker_opening_fires_the_point_and_publishes_its_event() {
    let context = GlobalContext::new();
    let perf = record(context.hooks(), HookPoint::PerformanceThresholdExceeded);
    let mut events = context.event_bus().subscribe("hook.breaker.*").unwrap();
    context
        .hooks()
        .register_with(
            "custom:flaky",
            hook_fn("flaky", |_| {
                Err(HookError::execution("flaky", "always fails"))
            }),
            RegisterOptions::new().breaker(BreakerConfig::default().minimum_calls(2)),
        )
        .unwrap();
    context.start().await;
    for _ in 0..3 {
        let mut ctx = HookContext::new(
            HookPoint::custom("flaky"),
            llmspell_hooks::ComponentId::system(),
        );
        let _ = context.hooks().fire(&mut ctx).await;
    }
    let event: Arc<UniversalEvent> = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("a breaker event")
        .unwrap();
    assert_eq!(event.event_type, "hook.breaker.opened");
    assert_eq!(event.data["hook"], "flaky");
    assert_eq!(event.data["point"], "custom:flaky");
    let c = wait_for(&perf, |c| c.data["kind"] == "breaker_opened").await;
    assert_eq!(c.data["component"], "hook");
    assert_eq!(c.data["hook"], "flaky");
    context.shutdown("completed").await;
}

/// A tool that always fails (counts against its breaker).
#[derive(Debug)]
struct Broken(llmspell_tools::ToolMetadata);

#[async_trait::async_trait]
impl llmspell_tools::Tool for Broken {
    fn metadata(&self) -> &llmspell_tools::ToolMetadata {
        &self.0
    }
    async fn execute(
        &self,
        _params: serde_json::Value,
        _ctx: &llmspell_tools::ToolContext,
    ) -> llmspell_tools::Result<serde_json::Value> {
        Err(llmspell_tools::ToolError::execution(
            "broken",
            "always fails",
        ))
    }
}

#[tokio::test]
async fn a_tool_breaker_opening_fires_the_point() {
    let tools = llmspell_tools::ToolRegistry::new();
    tools
        .register(Broken(llmspell_tools::ToolMetadata::new(
            "broken",
            "always fails",
            llmspell_tools::ToolCategory::Custom("test".into()),
        )))
        .unwrap();
    let context = GlobalContext::builder()
        .tool_registry(Arc::new(tools))
        .build()
        .unwrap();
    let perf = record(context.hooks(), HookPoint::PerformanceThresholdExceeded);
    let mut events = context.event_bus().subscribe("tool.breaker.*").unwrap();
    context.start().await;
    for _ in 0..40 {
        let _ = context.tools().invoke("broken", json!({})).await;
        if context.tools().breaker_state("broken") == Some(llmspell_hooks::BreakerState::Open) {
            break;
        }
    }
    let event = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("a tool breaker event")
        .unwrap();
    assert_eq!(event.event_type, "tool.breaker.opened");
    assert_eq!(event.data["tool"], "broken");
    let c = wait_for(&perf, |c| c.data["component"] == "tool").await;
    assert_eq!(c.data["tool"], "broken");
    context.shutdown("completed").await;
}

#[tokio::test]
async fn a_slow_hook_fires_the_point() {
    let context = GlobalContext::new();
    let perf = record(context.hooks(), HookPoint::PerformanceThresholdExceeded);
    context
        .hooks()
        .register_with(
            "custom:slow",
            llmspell_hooks::async_hook_fn("sleepy", |_| async {
                tokio::time::sleep(Duration::from_millis(30)).await;
                Ok(HookResult::Continue)
            }),
            RegisterOptions::new()
                .breaker(BreakerConfig::default().slow_call_duration(Duration::from_millis(10))),
        )
        .unwrap();
    context.start().await;
    let mut ctx = HookContext::new(
        HookPoint::custom("slow"),
        llmspell_hooks::ComponentId::system(),
    );
    let _ = context.hooks().fire(&mut ctx).await;
    let c = wait_for(&perf, |c| c.data["kind"] == "slow_hook").await;
    assert_eq!(c.data["hook"], "sleepy");
    assert!(c.data["elapsed_ms"].as_f64().unwrap() >= 10.0);
    assert_eq!(c.data["threshold_ms"], 10.0);
    context.shutdown("completed").await;
}

#[tokio::test]
async fn an_overflowing_event_queue_fires_resource_limit_exceeded() {
    let context = GlobalContext::new();
    let limits = record(context.hooks(), HookPoint::ResourceLimitExceeded);
    context.start().await;
    let _sub = context
        .event_bus()
        .subscribe_with(
            "job.*",
            SubscriptionConfig::new()
                .capacity(1)
                .overflow(OverflowStrategy::DropNewest),
        )
        .unwrap();
    for i in 0..3 {
        let _ = context
            .event_bus()
            .publish(UniversalEvent::builder("job.step").data(json!(i)).build())
            .await;
    }
    let c = wait_for(&limits, |c| c.data["resource"] == "event_queue").await;
    assert!(c.data["dropped_total"].as_u64().unwrap() >= 1);
    context.shutdown("completed").await;
}

#[tokio::test]
async fn the_resource_monitor_fires_when_a_threshold_is_crossed() {
    let context = GlobalContext::builder()
        .resource_monitor(
            ResourceMonitorConfig::new()
                .interval(Duration::from_millis(20))
                .memory_high_bytes(1)
                .cpu_high_percent(0.01),
        )
        .build()
        .unwrap();
    assert!(context
        .hook_registry()
        .fired_by(&HookPoint::MemoryUsageHigh)
        .is_some());
    let mem = record(context.hooks(), HookPoint::MemoryUsageHigh);
    let cpu = record(context.hooks(), HookPoint::CpuUsageHigh);
    context.start().await;
    let c = wait_for(&mem, |_| true).await;
    assert!(c.data["rss_bytes"].as_u64().unwrap() >= 1);
    assert_eq!(c.data["threshold_bytes"], 1);
    // Keep a core busy for a while so a sample sees CPU use.
    let spin = tokio::task::spawn_blocking(|| {
        let until = std::time::Instant::now() + Duration::from_millis(300);
        let mut x = 0u64;
        while std::time::Instant::now() < until {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    });
    let c = wait_for(&cpu, |_| true).await;
    assert!(c.data["cpu_percent"].as_f64().unwrap() >= 0.01);
    spin.await.unwrap();
    assert_eq!(mem.lock().unwrap().len(), 1, "once per crossing");
    context.shutdown("completed").await;
}

#[test]
fn the_monitor_points_are_unfired_without_the_monitor() {
    let context = GlobalContext::new();
    let registry = context.hook_registry();
    assert_eq!(registry.fired_by(&HookPoint::MemoryUsageHigh), None);
    assert!(registry.fired_by(&HookPoint::SystemStartup).is_some());
    assert!(registry.fired_by(&HookPoint::BeforeToolExecution).is_some());
    // scripts create agents later, often after registering their hooks
    for point in llmspell_agents::AGENT_POINTS {
        assert_eq!(
            registry.fired_by(&point).as_deref(),
            Some("agents (llmspell-agents)"),
            "{point}"
        );
    }
    assert!(GlobalContext::builder()
        .resource_monitor(ResourceMonitorConfig::new())
        .build()
        .is_err());
}

/// The run's session ends once: with the caller's outcome, or at shutdown
/// from its reason (a signal is an interruption), firing `SessionEnd`.
#[tokio::test]
async fn shutdown_ends_an_open_session_from_its_reason() {
    for (reason, status, code) in [
        ("SIGINT", "interrupted", Some(130)),
        ("SIGTERM", "interrupted", Some(143)),
        ("timeout", "limit_exceeded", Some(1)),
        ("completed", "completed", Some(0)),
        ("error", "failed", Some(1)),
    ] {
        let ctx = GlobalContext::new();
        let ends = record(ctx.hooks(), HookPoint::SessionEnd);
        let session = ctx.sessions().start(Some("x.lua")).await.unwrap();
        let id = session.id();
        ctx.set_session(Some(session));
        ctx.start().await;
        ctx.shutdown(reason).await;
        let record = ctx.sessions().get(id).await.unwrap().unwrap();
        assert_eq!(record.status.as_str(), status, "{reason}");
        assert_eq!(record.exit_code, code, "{reason}");
        let ends = ends.lock().unwrap();
        assert_eq!(ends.len(), 1, "{reason}");
        assert_eq!(ends[0].data["status"], json!(status));
        assert!(ctx.session().is_none());
    }
    // Ended explicitly first: shutdown does not end it again.
    let ctx = GlobalContext::new();
    let ends = record(ctx.hooks(), HookPoint::SessionEnd);
    let session = ctx.sessions().start(None).await.unwrap();
    let id = session.id();
    ctx.set_session(Some(session));
    let record = ctx
        .end_session(llmspell_state::SessionOutcome::failed("boom").with_exit_code(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.error.as_deref(), Some("boom"));
    assert!(ctx
        .end_session(llmspell_state::SessionOutcome::completed())
        .await
        .unwrap()
        .is_none());
    ctx.shutdown("completed").await;
    assert_eq!(ends.lock().unwrap().len(), 1);
    let record = ctx.sessions().get(id).await.unwrap().unwrap();
    assert_eq!(record.status.as_str(), "failed");
}
