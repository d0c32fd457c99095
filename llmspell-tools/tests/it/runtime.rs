//! The hooked execution path: one test per HookResult on a real tool call,
//! the per-tool breaker, the per-call timeout, lifecycle events.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use llmspell_events::EventBus;
use llmspell_hooks::{
    hook_fn, BreakerConfig, BreakerState, ForkOperation, HookContext, HookExecutor, HookPoint,
    HookRegistry, HookResult, ManualClock, SlidingWindow,
};
use llmspell_tools::{
    InvokeOptions, ResultSource, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata,
    ToolRegistry, ToolRuntime, ToolsConfig, EVENT_COMPLETED, EVENT_FAILED, EVENT_STARTED,
};
use serde_json::{json, Value};

/// A tool that counts its calls, can fail its first `fail_first` calls or
/// fail while `failing` is set, and can sleep.
#[derive(Debug)]
struct Probe {
    meta: ToolMetadata,
    calls: AtomicU32,
    fail_first: u32,
    failing: AtomicBool,
    panicking: AtomicBool,
    sleep: Option<Duration>,
}

impl Probe {
    fn new(name: &str) -> Self {
        Self {
            meta: ToolMetadata::new(name, "test probe", ToolCategory::Custom("test".into())),
            calls: AtomicU32::new(0),
            fail_first: 0,
            failing: AtomicBool::new(false),
            panicking: AtomicBool::new(false),
            sleep: None,
        }
    }
}

#[async_trait]
impl Tool for Probe {
    fn metadata(&self) -> &ToolMetadata {
        &self.meta
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> llmspell_tools::Result<Value> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(d) = self.sleep {
            tokio::time::sleep(d).await;
        }
        assert!(
            !self.panicking.load(Ordering::SeqCst),
            "probe told to panic"
        );
        if n <= self.fail_first || self.failing.load(Ordering::SeqCst) {
            return Err(ToolError::execution(
                self.meta.name(),
                format!("failure {n}"),
            ));
        }
        Ok(json!({"call": n, "params": params}))
    }
}

struct Setup {
    hooks: Arc<HookRegistry>,
    runtime: ToolRuntime,
    probe: Arc<Probe>,
    bus: EventBus,
}

fn setup_with(
    probe: Probe,
    configure: impl FnOnce(llmspell_tools::ToolRuntimeBuilder) -> llmspell_tools::ToolRuntimeBuilder,
) -> Setup {
    let tools = ToolRegistry::with_standard_tools(&ToolsConfig::default()).unwrap();
    let probe = Arc::new(probe);
    tools.register_arc(probe.clone()).unwrap();
    let hooks = Arc::new(HookRegistry::new());
    let executor = Arc::new(HookExecutor::new(hooks.clone()));
    let bus = EventBus::new();
    let runtime = configure(ToolRuntime::builder(Arc::new(tools), executor).event_bus(bus.clone()))
        .build()
        .unwrap();
    Setup {
        hooks,
        runtime,
        probe,
        bus,
    }
}

fn setup() -> Setup {
    setup_with(Probe::new("probe"), |b| b)
}

fn calc() -> Value {
    json!({"expression": "2 + 2"})
}

#[tokio::test]
async fn invoke_takes_one_parameter_object() {
    let s = setup();
    assert_eq!(
        s.runtime.invoke("calculator", calc()).await.unwrap()["result"],
        4
    );
    let err = s
        .runtime
        .invoke("calculator", json!({"params": calc()}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ToolError::InvalidParameter { ref parameter, .. } if parameter == "params"),
        "{err}"
    );
    let err = s.runtime.invoke("nope", calc()).await.unwrap_err();
    assert!(matches!(err, ToolError::NotFound { .. }));
}

#[tokio::test]
async fn continue_and_skipped_see_the_fixed_data_keys() {
    let s = setup();
    let seen = Arc::new(Mutex::new(Vec::<(HookPoint, HookContext)>::new()));
    for point in [
        HookPoint::BeforeToolDiscovery,
        HookPoint::AfterToolDiscovery,
        HookPoint::ToolValidation,
        HookPoint::BeforeToolExecution,
        HookPoint::AfterToolExecution,
    ] {
        let seen = seen.clone();
        let p = point.clone();
        s.hooks
            .register(
                point,
                hook_fn("record", move |ctx| {
                    seen.lock().unwrap().push((p.clone(), ctx.clone()));
                    Ok(if p == HookPoint::ToolValidation {
                        HookResult::skipped("nothing to do")
                    } else {
                        HookResult::Continue
                    })
                }),
            )
            .unwrap();
    }
    let out = s.runtime.invoke("calculator", calc()).await.unwrap();
    assert_eq!(out["result"], 4);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 5);
    let corr = seen[0].1.correlation_id;
    for (point, ctx) in seen.iter() {
        assert_eq!(ctx.data["tool_name"], "calculator", "{point:?}");
        assert_eq!(ctx.data["parameters"], calc(), "{point:?}");
        assert_eq!(ctx.correlation_id, corr, "one correlation id per call");
        assert_eq!(ctx.component.name, "calculator");
    }
    assert_eq!(seen[4].1.data["result"]["result"], 4);
}

#[tokio::test]
async fn modified_parameters_are_what_the_tool_receives() {
    let s = setup();
    s.hooks
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("rewrite", |ctx| {
                let mut data = ctx.data.clone();
                data.insert("parameters".into(), json!({"expression": "3 * 3"}));
                Ok(HookResult::Modified(data))
            }),
        )
        .unwrap();
    assert_eq!(
        s.runtime.invoke("calculator", calc()).await.unwrap()["result"],
        9
    );
}

#[tokio::test]
async fn modified_parameters_at_validation_are_validated() {
    let s = setup();
    s.hooks
        .register(
            HookPoint::ToolValidation,
            hook_fn("fix", |ctx| {
                let mut data = ctx.data.clone();
                if let Some(Value::String(e)) = ctx.data["parameters"].get("expr") {
                    data.insert("parameters".into(), json!({"expression": e}));
                }
                Ok(HookResult::Modified(data))
            }),
        )
        .unwrap();
    let out = s
        .runtime
        .invoke("calculator", json!({"expr": "5 - 1"}))
        .await
        .unwrap();
    assert_eq!(out["result"], 4);
}

#[tokio::test]
async fn modified_result_is_what_the_caller_receives() {
    let s = setup();
    s.hooks
        .register(
            HookPoint::AfterToolExecution,
            hook_fn("annotate", |ctx| {
                let mut data = ctx.data.clone();
                let doubled = ctx.data["result"]["result"].as_i64().unwrap() * 2;
                data.insert(
                    "result".into(),
                    json!({"result": doubled, "annotated": true}),
                );
                Ok(HookResult::Modified(data))
            }),
        )
        .unwrap();
    let out = s.runtime.invoke("calculator", calc()).await.unwrap();
    assert_eq!(out, json!({"result": 8, "annotated": true}));
}

#[tokio::test]
async fn cancel_fails_with_the_reason_and_the_tool_does_not_run() {
    let s = setup();
    s.hooks
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("guard", |_| Ok(HookResult::cancel("not today"))),
        )
        .unwrap();
    let err = s.runtime.invoke("probe", json!({})).await.unwrap_err();
    match err {
        ToolError::Cancelled { tool, hook, reason } => {
            assert_eq!(
                (tool.as_str(), hook.as_str(), reason.as_str()),
                ("probe", "guard", "not today")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.probe.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn cancel_after_execution_fails_the_call() {
    let s = setup();
    s.hooks
        .register(
            HookPoint::AfterToolExecution,
            hook_fn("audit", |_| Ok(HookResult::cancel("result refused"))),
        )
        .unwrap();
    let err = s.runtime.invoke("probe", json!({})).await.unwrap_err();
    assert!(matches!(err, ToolError::Cancelled { ref reason, .. } if reason == "result refused"));
}

#[tokio::test]
async fn redirect_runs_the_named_tool() {
    let s = setup();
    s.hooks
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("reroute", |ctx| {
                Ok(if ctx.data["tool_name"] == "calculator" {
                    HookResult::redirect("probe")
                } else {
                    HookResult::Continue
                })
            }),
        )
        .unwrap();
    let inv = s
        .runtime
        .invoke_with("calculator", calc(), &InvokeOptions::new())
        .await
        .unwrap();
    assert_eq!(inv.tool, "probe");
    assert_eq!(inv.result["params"], calc());
    assert_eq!(s.probe.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn redirect_after_discovery_is_a_fallback_for_missing_tools() {
    let s = setup();
    s.hooks
        .register(
            HookPoint::AfterToolDiscovery,
            hook_fn("alias", |ctx| {
                Ok(
                    if ctx.data.contains_key("error") && ctx.data["tool_name"] == "calc" {
                        HookResult::redirect("calculator")
                    } else {
                        HookResult::Continue
                    },
                )
            }),
        )
        .unwrap();
    assert_eq!(s.runtime.invoke("calc", calc()).await.unwrap()["result"], 4);
}

#[tokio::test]
async fn redirect_loops_are_bounded() {
    let s = setup();
    s.hooks
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("pingpong", |ctx| {
                Ok(HookResult::redirect(if ctx.data["tool_name"] == "probe" {
                    "calculator"
                } else {
                    "probe"
                }))
            }),
        )
        .unwrap();
    let err = s.runtime.invoke("probe", calc()).await.unwrap_err();
    assert!(matches!(err, ToolError::TooManyRedirects { .. }), "{err}");
}

#[tokio::test]
async fn replace_before_skips_the_tool_and_after_replaces_the_result() {
    let s = setup();
    let handle = s
        .hooks
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("stub", |_| {
                Ok(HookResult::Replace(json!({"stubbed": true})))
            }),
        )
        .unwrap();
    let inv = s
        .runtime
        .invoke_with("probe", json!({}), &InvokeOptions::new())
        .await
        .unwrap();
    assert_eq!(inv.result, json!({"stubbed": true}));
    assert_eq!(inv.source, ResultSource::Replaced);
    assert_eq!(inv.attempts, 0);
    assert_eq!(s.probe.calls.load(Ordering::SeqCst), 0);
    s.hooks.unregister(&handle);
    s.hooks
        .register(
            HookPoint::AfterToolExecution,
            hook_fn("mask", |_| Ok(HookResult::Replace(json!("masked")))),
        )
        .unwrap();
    assert_eq!(
        s.runtime.invoke("probe", json!({})).await.unwrap(),
        json!("masked")
    );
    assert_eq!(s.probe.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn retry_on_error_reruns_the_tool_after_the_delay() {
    let mut probe = Probe::new("probe");
    probe.fail_first = 2;
    let s = setup_with(probe, |b| b);
    let errors = Arc::new(AtomicU32::new(0));
    let e2 = errors.clone();
    s.hooks
        .register(
            HookPoint::ToolError,
            hook_fn("retry", move |ctx| {
                assert!(ctx.data["error"].as_str().unwrap().contains("failure"));
                e2.fetch_add(1, Ordering::SeqCst);
                Ok(HookResult::retry(Duration::from_millis(20), 3))
            }),
        )
        .unwrap();
    let started = std::time::Instant::now();
    let inv = s
        .runtime
        .invoke_with("probe", json!({}), &InvokeOptions::new())
        .await
        .unwrap();
    assert_eq!(inv.attempts, 3);
    assert_eq!(inv.result["call"], 3);
    assert_eq!(errors.load(Ordering::SeqCst), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(40),
        "the delay was honoured"
    );
}

#[tokio::test]
async fn retry_gives_up_after_max_and_returns_the_error() {
    let mut probe = Probe::new("probe");
    probe.fail_first = 10;
    let s = setup_with(probe, |b| b);
    s.hooks
        .register(
            HookPoint::ToolError,
            hook_fn("retry", |_| {
                Ok(HookResult::retry(Duration::from_millis(1), 2))
            }),
        )
        .unwrap();
    let err = s.runtime.invoke("probe", json!({})).await.unwrap_err();
    assert!(
        matches!(err, ToolError::Execution { ref message, .. } if message == "failure 3"),
        "{err}"
    );
    assert_eq!(s.probe.calls.load(Ordering::SeqCst), 3);
    // Bad parameters are not retried.
    let err = s.runtime.invoke("calculator", json!({})).await.unwrap_err();
    assert!(matches!(err, ToolError::InvalidParameter { .. }));
}

#[tokio::test]
async fn retry_after_execution_reruns_the_tool() {
    let s = setup();
    s.hooks
        .register(
            HookPoint::AfterToolExecution,
            hook_fn("again", |ctx| {
                Ok(if ctx.data["result"]["call"].as_u64() < Some(3) {
                    HookResult::retry(Duration::from_millis(1), 5)
                } else {
                    HookResult::Continue
                })
            }),
        )
        .unwrap();
    let inv = s
        .runtime
        .invoke_with("probe", json!({}), &InvokeOptions::new())
        .await
        .unwrap();
    assert_eq!(inv.result["call"], 3);
    assert_eq!(inv.attempts, 3);
}

#[tokio::test]
async fn retry_before_execution_waits_then_gives_up() {
    let s = setup();
    let asked = Arc::new(AtomicU32::new(0));
    let a2 = asked.clone();
    s.hooks
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("rate", move |_| {
                a2.fetch_add(1, Ordering::SeqCst);
                Ok(HookResult::retry(Duration::from_millis(5), 1))
            }),
        )
        .unwrap();
    let err = s.runtime.invoke("probe", json!({})).await.unwrap_err();
    assert!(
        matches!(
            err,
            ToolError::RetriesExhausted {
                max_attempts: 1,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(asked.load(Ordering::SeqCst), 2);
    assert_eq!(s.probe.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn fork_runs_listed_calls_concurrently_and_attaches_results() {
    let s = setup();
    s.hooks
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("fanout", |ctx| {
                Ok(if ctx.data["tool_name"] == "calculator" {
                    HookResult::fork(vec![
                        ForkOperation::new(
                            "hash_calculator",
                            json!({"input": "abc", "algorithm": "md5"}),
                        ),
                        ForkOperation::new("probe", json!({"from": "fork"})),
                        ForkOperation::new("missing_tool", json!({})),
                    ])
                } else {
                    HookResult::Continue
                })
            }),
        )
        .unwrap();
    let after_saw = Arc::new(Mutex::new(Value::Null));
    let a2 = after_saw.clone();
    s.hooks
        .register(
            HookPoint::AfterToolExecution,
            hook_fn("see", move |ctx| {
                if ctx.data["tool_name"] == "calculator" {
                    *a2.lock().unwrap() = ctx.data.get("forks").cloned().unwrap_or(Value::Null);
                }
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    let inv = s
        .runtime
        .invoke_with("calculator", calc(), &InvokeOptions::new())
        .await
        .unwrap();
    assert_eq!(inv.result["result"], 4);
    assert_eq!(inv.forks.len(), 3);
    assert_eq!(
        inv.forks[0].outcome.as_ref().unwrap()["hash"],
        "900150983cd24fb0d6963f7d28e17f72"
    );
    assert_eq!(
        inv.forks[1].outcome.as_ref().unwrap()["params"]["from"],
        "fork"
    );
    assert!(matches!(
        inv.forks[2].outcome,
        Err(ToolError::NotFound { .. })
    ));
    let saw = after_saw.lock().unwrap().clone();
    assert_eq!(saw.as_array().unwrap().len(), 3, "{saw}");
    assert_eq!(saw[1]["target"], "probe");
}

#[tokio::test]
async fn fork_tasks_really_overlap_with_the_tool() {
    let mut probe = Probe::new("probe");
    probe.sleep = Some(Duration::from_millis(200));
    let s = setup_with(probe, |b| b);
    s.hooks
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("fanout", |ctx| {
                Ok(if ctx.data["parameters"].get("root").is_some() {
                    HookResult::fork(vec![
                        ForkOperation::new("probe", json!({})),
                        ForkOperation::new("probe", json!({})),
                    ])
                } else {
                    HookResult::Continue
                })
            }),
        )
        .unwrap();
    let started = std::time::Instant::now();
    let inv = s
        .runtime
        .invoke_with("probe", json!({"root": true}), &InvokeOptions::new())
        .await
        .unwrap();
    assert_eq!(inv.forks.len(), 2);
    assert_eq!(s.probe.calls.load(Ordering::SeqCst), 3);
    assert!(
        started.elapsed() < Duration::from_millis(550),
        "3 x 200 ms ran concurrently: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn cache_stores_and_a_later_hit_skips_the_tool() {
    let clock = ManualClock::new();
    let c2 = clock.clone();
    let s = setup_with(Probe::new("probe"), move |b| b.clock(Arc::new(c2)));
    s.hooks
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("cache", |ctx| {
                Ok(HookResult::cache(
                    format!("probe:{}", ctx.data["parameters"]),
                    Duration::from_secs(60),
                ))
            }),
        )
        .unwrap();
    let first = s
        .runtime
        .invoke_with("probe", json!({"q": 1}), &InvokeOptions::new())
        .await
        .unwrap();
    assert_eq!(first.source, ResultSource::Executed);
    let second = s
        .runtime
        .invoke_with("probe", json!({"q": 1}), &InvokeOptions::new())
        .await
        .unwrap();
    assert_eq!(second.source, ResultSource::Cached);
    assert_eq!(second.result, first.result);
    assert_eq!(
        s.probe.calls.load(Ordering::SeqCst),
        1,
        "the hit skipped the tool"
    );
    s.runtime.invoke("probe", json!({"q": 2})).await.unwrap();
    assert_eq!(
        s.probe.calls.load(Ordering::SeqCst),
        2,
        "another key misses"
    );
    clock.advance(Duration::from_secs(61));
    let third = s
        .runtime
        .invoke_with("probe", json!({"q": 1}), &InvokeOptions::new())
        .await
        .unwrap();
    assert_eq!(
        third.source,
        ResultSource::Executed,
        "expired after the ttl"
    );
    assert_eq!(third.result["call"], 3);
}

#[tokio::test]
async fn cache_after_execution_stores_and_serves_as_error_fallback() {
    let s = setup();
    s.hooks
        .register(
            HookPoint::AfterToolExecution,
            hook_fn("store", |_| {
                Ok(HookResult::cache("last-good", Duration::from_secs(60)))
            }),
        )
        .unwrap();
    s.hooks
        .register(
            HookPoint::ToolError,
            hook_fn("fallback", |_| {
                Ok(HookResult::cache("last-good", Duration::from_secs(60)))
            }),
        )
        .unwrap();
    let good = s.runtime.invoke("probe", json!({})).await.unwrap();
    s.probe.failing.store(true, Ordering::SeqCst);
    let inv = s
        .runtime
        .invoke_with("probe", json!({}), &InvokeOptions::new())
        .await
        .unwrap();
    assert_eq!(inv.source, ResultSource::Cached);
    assert_eq!(inv.result, good);
}

#[tokio::test]
async fn replace_at_tool_error_recovers() {
    let mut probe = Probe::new("probe");
    probe.fail_first = 1;
    let s = setup_with(probe, |b| b);
    s.hooks
        .register(
            HookPoint::ToolError,
            hook_fn("default", |_| {
                Ok(HookResult::Replace(json!({"default": true})))
            }),
        )
        .unwrap();
    assert_eq!(
        s.runtime.invoke("probe", json!({})).await.unwrap(),
        json!({"default": true})
    );
}

#[tokio::test]
async fn discovery_hooks_fire_on_lookup_and_listing() {
    let s = setup();
    let fired = Arc::new(Mutex::new(Vec::new()));
    for point in [
        HookPoint::BeforeToolDiscovery,
        HookPoint::AfterToolDiscovery,
    ] {
        let f = fired.clone();
        let p = point.clone();
        s.hooks
            .register(
                point,
                hook_fn("only-safe", move |ctx| {
                    f.lock().unwrap().push(p.clone());
                    let mut data = ctx.data.clone();
                    if let Some(Value::Array(tools)) = ctx.data.get("tools") {
                        let kept: Vec<Value> = tools
                            .iter()
                            .filter(|t| t.as_str().unwrap().ends_with("_calculator"))
                            .cloned()
                            .collect();
                        data.insert("tools".into(), Value::Array(kept));
                    }
                    if ctx.data["tool_name"] == "process_executor" {
                        return Ok(HookResult::cancel("hidden"));
                    }
                    Ok(HookResult::Modified(data))
                }),
            )
            .unwrap();
    }
    let names: Vec<String> = s
        .runtime
        .list()
        .await
        .unwrap()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    assert_eq!(names, ["diff_calculator", "hash_calculator"]);
    assert_eq!(
        s.runtime.lookup("calculator").await.unwrap().name(),
        "calculator"
    );
    assert!(matches!(
        s.runtime.lookup("process_executor").await,
        Err(ToolError::Cancelled { .. })
    ));
    assert!(matches!(
        s.runtime
            .invoke("process_executor", json!({"program": "echo"}))
            .await,
        Err(ToolError::Cancelled { .. })
    ));
    assert_eq!(fired.lock().unwrap().len(), 2 + 2 + 1 + 1);
}

#[tokio::test]
async fn breaker_trips_on_tool_failures_and_recovers() {
    let clock = ManualClock::new();
    let c2 = clock.clone();
    let config = BreakerConfig::default()
        .window(SlidingWindow::Count(10))
        .minimum_calls(3)
        .failure_rate_threshold(0.5)
        .open_wait(Duration::from_secs(1), Duration::from_secs(10))
        .half_open_trials(1);
    let s = setup_with(Probe::new("probe"), move |b| {
        b.clock(Arc::new(c2)).breaker_config(config)
    });
    s.probe.failing.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        assert!(matches!(
            s.runtime.invoke("probe", json!({})).await,
            Err(ToolError::Execution { .. })
        ));
    }
    assert_eq!(s.runtime.breaker_state("probe"), Some(BreakerState::Open));
    let err = s.runtime.invoke("probe", json!({})).await.unwrap_err();
    assert!(matches!(err, ToolError::CircuitOpen { .. }), "{err}");
    assert_eq!(
        s.probe.calls.load(Ordering::SeqCst),
        3,
        "an open breaker does not run the tool"
    );
    // Other tools are unaffected.
    assert_eq!(
        s.runtime.invoke("calculator", calc()).await.unwrap()["result"],
        4
    );
    // Bad parameters are the caller's fault and do not count.
    assert_eq!(
        s.runtime.breaker_state("calculator"),
        Some(BreakerState::Closed)
    );
    s.probe.failing.store(false, Ordering::SeqCst);
    clock.advance(Duration::from_secs(1));
    s.runtime.invoke("probe", json!({})).await.unwrap();
    assert_eq!(s.runtime.breaker_state("probe"), Some(BreakerState::Closed));
    s.runtime.invoke("probe", json!({})).await.unwrap();
}

#[tokio::test]
async fn per_call_timeout_fails_slow_tools() {
    let mut probe = Probe::new("probe");
    probe.sleep = Some(Duration::from_secs(30));
    let s = setup_with(probe, |b| b.timeout(Duration::from_secs(60)));
    let started = std::time::Instant::now();
    let err = s
        .runtime
        .invoke_with(
            "probe",
            json!({}),
            &InvokeOptions::new().timeout(Duration::from_millis(50)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ToolError::Timeout { timeout, .. } if timeout == Duration::from_millis(50)),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let s = setup_with(
        {
            let mut p = Probe::new("probe");
            p.sleep = Some(Duration::from_secs(30));
            p
        },
        |b| b.timeout(Duration::from_millis(50)),
    );
    assert!(matches!(
        s.runtime.invoke("probe", json!({})).await,
        Err(ToolError::Timeout { .. })
    ));
}

#[tokio::test]
async fn lifecycle_events_carry_the_hook_correlation_id() {
    let s = setup();
    let mut events = s.bus.subscribe("tool.execution.*").unwrap();
    let corr = Arc::new(Mutex::new(None));
    let c2 = corr.clone();
    s.hooks
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("corr", move |ctx| {
                *c2.lock().unwrap() = Some(ctx.correlation_id);
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    s.runtime.invoke("calculator", calc()).await.unwrap();
    let hook_corr = corr.lock().unwrap().unwrap();
    let started = events.recv_timeout(Duration::from_secs(1)).await.unwrap();
    let completed = events.recv_timeout(Duration::from_secs(1)).await.unwrap();
    assert_eq!(started.event_type, EVENT_STARTED);
    assert_eq!(completed.event_type, EVENT_COMPLETED);
    assert_eq!(started.metadata.correlation_id, Some(hook_corr));
    assert_eq!(completed.metadata.correlation_id, Some(hook_corr));
    assert_eq!(completed.data["tool_name"], "calculator");
    assert!(completed.data["duration_ms"].as_f64().unwrap() >= 0.0);

    s.probe.failing.store(true, Ordering::SeqCst);
    let explicit = uuid::Uuid::new_v4();
    s.runtime
        .invoke_with(
            "probe",
            json!({}),
            &InvokeOptions::new().correlation_id(explicit),
        )
        .await
        .unwrap_err();
    let started = events.recv_timeout(Duration::from_secs(1)).await.unwrap();
    let failed = events.recv_timeout(Duration::from_secs(1)).await.unwrap();
    assert_eq!(started.metadata.correlation_id, Some(explicit));
    assert_eq!(failed.event_type, EVENT_FAILED);
    assert_eq!(failed.metadata.correlation_id, Some(explicit));
    assert!(failed.data["error"].as_str().unwrap().contains("failure"));
    assert_eq!(*corr.lock().unwrap(), Some(explicit));
}

#[tokio::test]
async fn the_path_is_usable_from_spawned_tasks() {
    let s = setup();
    let runtime = Arc::new(s.runtime);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let rt = runtime.clone();
            tokio::spawn(async move {
                rt.invoke("calculator", json!({"expression": format!("{i} * 2")}))
                    .await
            })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap().unwrap()["result"], i as i64 * 2);
    }
    fn check<T: Send + Sync>() {}
    check::<ToolRuntime>();
}

#[tokio::test]
async fn a_panicking_tool_fails_its_call_and_counts_against_its_breaker() {
    let clock = ManualClock::new();
    let c2 = clock.clone();
    let config = BreakerConfig::default().minimum_calls(2);
    let s = setup_with(Probe::new("probe"), move |b| {
        b.clock(Arc::new(c2)).breaker_config(config)
    });
    s.probe.panicking.store(true, Ordering::SeqCst);
    for _ in 0..2 {
        let err = s.runtime.invoke("probe", json!({})).await.unwrap_err();
        assert!(
            matches!(err, ToolError::Execution { ref message, .. } if message.contains("panicked")),
            "{err}"
        );
    }
    assert_eq!(s.runtime.breaker_state("probe"), Some(BreakerState::Open));
}

#[tokio::test]
async fn invoke_with_ref_is_invoke_with_on_borrowed_parameters() {
    let s = setup();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    s.hooks
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("see", move |ctx| {
                log.lock().unwrap().push(ctx.data["parameters"].clone());
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    let params = calc();
    let inv = s
        .runtime
        .invoke_with_ref("calculator", &params, &InvokeOptions::new())
        .await
        .unwrap();
    assert_eq!(inv.result["result"], 4);
    assert_eq!(*seen.lock().unwrap(), vec![calc()]);
    // Borrowed parameters with no hook, a synonym to resolve, and an error.
    s.hooks.disable_all();
    let hashed = s
        .runtime
        .invoke_with_ref(
            "hash_calculator",
            &json!({"input": "abc", "algorithm": "sha256"}),
            &InvokeOptions::new(),
        )
        .await
        .unwrap();
    let owned = s
        .runtime
        .invoke_with(
            "hash_calculator",
            json!({"input": "abc", "algorithm": "sha256"}),
            &InvokeOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(hashed.result, owned.result);
    let err = s
        .runtime
        .invoke_with_ref("calculator", &json!({"nope": 1}), &InvokeOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::InvalidParameter { .. }), "{err}");
}

/// The runtime reuses a finished call's hook data map for its next call:
/// the next call's hooks see only the fixed keys, with their own values,
/// whatever the last call's hooks added (keys, a renamed tool, a result,
/// an error).
#[tokio::test]
async fn a_reused_data_map_carries_nothing_from_the_last_call() {
    let s = setup();
    let seen = Arc::new(Mutex::new(Vec::<HookContext>::new()));
    let seen2 = seen.clone();
    s.hooks
        .register(
            HookPoint::BeforeToolDiscovery,
            hook_fn("record", move |ctx| {
                seen2.lock().unwrap().push(ctx.clone());
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    s.hooks
        .register(
            HookPoint::AfterToolExecution,
            hook_fn("litter", |ctx| {
                ctx.insert("left_behind", json!("by the last call"));
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    s.hooks
        .register(
            HookPoint::ToolError,
            hook_fn("litter_error", |ctx| {
                ctx.insert("left_behind_error", json!(true));
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    assert_eq!(
        s.runtime.invoke("calculator", calc()).await.unwrap()["result"],
        4
    );
    // A failing call on another tool, then two more calls.
    s.probe.failing.store(true, Ordering::SeqCst);
    assert!(s.runtime.invoke("probe", json!({"x": 1})).await.is_err());
    s.probe.failing.store(false, Ordering::SeqCst);
    s.runtime.invoke("probe", json!({"x": 2})).await.unwrap();
    s.runtime.invoke("calculator", calc()).await.unwrap();
    let seen = seen.lock().unwrap();
    let expected = [
        ("calculator", calc()),
        ("probe", json!({"x": 1})),
        ("probe", json!({"x": 2})),
        ("calculator", calc()),
    ];
    assert_eq!(seen.len(), expected.len());
    for (ctx, (tool, params)) in seen.iter().zip(expected) {
        let keys: Vec<&str> = ctx.data.keys().map(String::as_str).collect();
        assert_eq!(keys, ["parameters", "tool_name"], "{tool}");
        assert_eq!(ctx.data["tool_name"], tool);
        assert_eq!(ctx.data["parameters"], params);
    }
}
