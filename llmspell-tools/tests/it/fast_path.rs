//! The path a call takes when nothing observes it (no hook at any tool
//! point, no event bus): the same lookup, validation, breaker, timeout and
//! panic isolation as the hooked path, without building hook contexts.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use llmspell_hooks::{
    hook_fn, BreakerConfig, BreakerState, HookExecutor, HookPoint, HookRegistry, HookResult,
    SlidingWindow,
};
use llmspell_tools::{
    Tool, ToolCategory, ToolContext, ToolError, ToolMetadata, ToolRegistry, ToolRuntime,
    ToolRuntimeBuilder,
};
use serde_json::{json, Value};

/// A tool answering with its `tag`; it can block its thread (finishing on
/// the first poll), sleep asynchronously (suspending), fail or panic.
#[derive(Debug)]
struct Subject {
    meta: ToolMetadata,
    tag: &'static str,
    calls: AtomicU32,
    block: Option<Duration>,
    sleep: Option<Duration>,
    failing: AtomicBool,
    panicking: AtomicBool,
}

impl Subject {
    fn new(name: &str, tag: &'static str) -> Self {
        Self {
            meta: ToolMetadata::new(name, "test subject", ToolCategory::Custom("test".into()))
                .with_parameters(json!({
                    "type": "object",
                    "properties": {"n": {"type": "integer"}},
                    "additionalProperties": false
                })),
            tag,
            calls: AtomicU32::new(0),
            block: None,
            sleep: None,
            failing: AtomicBool::new(false),
            panicking: AtomicBool::new(false),
        }
    }
}

#[async_trait]
impl Tool for Subject {
    fn metadata(&self) -> &ToolMetadata {
        &self.meta
    }

    async fn execute(&self, _params: Value, ctx: &ToolContext) -> llmspell_tools::Result<Value> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(d) = self.block {
            std::thread::sleep(d);
        }
        if let Some(d) = self.sleep {
            tokio::time::sleep(d).await;
        }
        assert!(
            !self.panicking.load(Ordering::SeqCst),
            "subject told to panic"
        );
        if self.failing.load(Ordering::SeqCst) {
            return Err(ToolError::execution(self.meta.name(), "told to fail"));
        }
        // Asked twice: a lazily made id must not change once seen.
        let id = ctx.correlation_id();
        assert_eq!(id, ctx.correlation_id());
        Ok(json!({"tag": self.tag, "correlation_id": id.to_string()}))
    }
}

fn runtime(
    tools: Arc<ToolRegistry>,
    configure: impl FnOnce(ToolRuntimeBuilder) -> ToolRuntimeBuilder,
) -> (ToolRuntime, Arc<HookRegistry>) {
    let hooks = Arc::new(HookRegistry::new());
    let executor = Arc::new(HookExecutor::new(hooks.clone()));
    let rt = configure(ToolRuntime::builder(tools, executor))
        .build()
        .unwrap();
    (rt, hooks)
}

fn registry_with(subject: Subject) -> (Arc<ToolRegistry>, Arc<Subject>) {
    let tools = Arc::new(ToolRegistry::new());
    let subject = Arc::new(subject);
    tools.register_arc(subject.clone()).unwrap();
    (tools, subject)
}

#[tokio::test]
async fn unobserved_calls_validate_and_report_missing_tools() {
    let (tools, _) = registry_with(Subject::new("subject", "one"));
    let (rt, _) = runtime(tools, |b| b);
    assert_eq!(
        rt.invoke("subject", json!({"n": 1})).await.unwrap()["tag"],
        "one"
    );
    let err = rt.invoke("subject", json!({"m": 1})).await.unwrap_err();
    assert!(
        matches!(err, ToolError::InvalidParameter { ref parameter, .. } if parameter == "m"),
        "{err}"
    );
    let err = rt.invoke("nope", json!({})).await.unwrap_err();
    assert!(
        matches!(err, ToolError::NotFound { ref name, ref available } if name == "nope" && available == "subject"),
        "{err}"
    );
}

#[tokio::test]
async fn each_unobserved_call_gets_its_own_correlation_id() {
    let (tools, _) = registry_with(Subject::new("subject", "one"));
    let (rt, _) = runtime(tools, |b| b);
    let a = rt.invoke("subject", json!({})).await.unwrap();
    let b = rt.invoke("subject", json!({})).await.unwrap();
    assert_ne!(a["correlation_id"], b["correlation_id"]);
    assert_ne!(a["correlation_id"], json!(uuid::Uuid::nil().to_string()));
}

#[tokio::test]
async fn a_re_registered_tool_is_called_and_keeps_its_breaker() {
    let (tools, _) = registry_with(Subject::new("subject", "one"));
    let (rt, _) = runtime(tools.clone(), |b| b);
    assert_eq!(rt.invoke("subject", json!({})).await.unwrap()["tag"], "one");
    let breaker = rt.breaker("subject");

    tools.unregister("subject").unwrap();
    let err = rt.invoke("subject", json!({})).await.unwrap_err();
    assert!(matches!(err, ToolError::NotFound { .. }), "{err}");

    tools.register(Subject::new("subject", "two")).unwrap();
    assert_eq!(rt.invoke("subject", json!({})).await.unwrap()["tag"], "two");
    assert!(
        Arc::ptr_eq(&breaker, &rt.breaker("subject")),
        "the breaker belongs to the name, not to one registration"
    );

    // A tool registered later is found without touching the first one.
    tools.register(Subject::new("other", "three")).unwrap();
    assert_eq!(rt.invoke("other", json!({})).await.unwrap()["tag"], "three");
    assert_eq!(rt.invoke("subject", json!({})).await.unwrap()["tag"], "two");
}

#[tokio::test]
async fn unobserved_failures_and_panics_trip_the_breaker() {
    let (tools, subject) = registry_with(Subject::new("subject", "one"));
    let config = BreakerConfig::default()
        .window(SlidingWindow::Count(10))
        .minimum_calls(4)
        .failure_rate_threshold(0.5);
    let (rt, _) = runtime(tools, |b| b.breaker_config(config));
    subject.failing.store(true, Ordering::SeqCst);
    for _ in 0..2 {
        let err = rt.invoke("subject", json!({})).await.unwrap_err();
        assert!(matches!(err, ToolError::Execution { .. }), "{err}");
    }
    subject.failing.store(false, Ordering::SeqCst);
    subject.panicking.store(true, Ordering::SeqCst);
    for _ in 0..2 {
        let err = rt.invoke("subject", json!({})).await.unwrap_err();
        assert!(
            matches!(err, ToolError::Execution { ref message, .. } if message.contains("panicked")),
            "{err}"
        );
    }
    assert_eq!(rt.breaker_state("subject"), Some(BreakerState::Open));
    let err = rt.invoke("subject", json!({})).await.unwrap_err();
    assert!(matches!(err, ToolError::CircuitOpen { .. }), "{err}");
    assert_eq!(subject.calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn an_unobserved_call_that_suspends_is_timed_out() {
    let mut subject = Subject::new("subject", "one");
    subject.sleep = Some(Duration::from_secs(30));
    let (tools, _) = registry_with(subject);
    let (rt, _) = runtime(tools, |b| b.timeout(Duration::from_millis(50)));
    let started = std::time::Instant::now();
    let err = rt.invoke("subject", json!({})).await.unwrap_err();
    assert!(
        matches!(err, ToolError::Timeout { timeout, .. } if timeout == Duration::from_millis(50)),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

fn slow_config() -> BreakerConfig {
    BreakerConfig::default()
        .window(SlidingWindow::Count(20))
        .minimum_calls(4)
        .minimum_timed_calls(4)
        .slow_call_duration(Duration::from_millis(2))
        .slow_call_rate_threshold(0.5)
}

#[tokio::test]
async fn calls_that_suspend_are_always_timed() {
    let mut subject = Subject::new("subject", "one");
    subject.sleep = Some(Duration::from_millis(5));
    let (tools, _) = registry_with(subject);
    // The default sampling: suspending calls are timed regardless.
    let (rt, _) = runtime(tools, |b| b.breaker_config(slow_config()));
    for _ in 0..4 {
        rt.invoke("subject", json!({})).await.unwrap();
    }
    assert_eq!(rt.breaker_state("subject"), Some(BreakerState::Open));
}

#[tokio::test]
async fn latency_sampling_decides_which_immediate_calls_are_timed() {
    let mut subject = Subject::new("subject", "one");
    subject.block = Some(Duration::from_millis(5));
    let (tools, _) = registry_with(subject);

    // Every call timed: four slow calls open the breaker.
    let (rt, _) = runtime(tools.clone(), |b| {
        b.breaker_config(slow_config()).latency_sampling(1)
    });
    for _ in 0..4 {
        rt.invoke("subject", json!({})).await.unwrap();
    }
    assert_eq!(rt.breaker_state("subject"), Some(BreakerState::Open));

    // One call in 64 timed: four calls are not enough to judge the rate.
    let (rt, _) = runtime(tools, |b| b.breaker_config(slow_config()));
    for _ in 0..4 {
        rt.invoke("subject", json!({})).await.unwrap();
    }
    assert_eq!(rt.breaker_state("subject"), Some(BreakerState::Closed));
}

#[tokio::test]
async fn a_hook_anywhere_on_a_tool_point_takes_the_hooked_path() {
    let (tools, _) = registry_with(Subject::new("subject", "one"));
    let (rt, hooks) = runtime(tools, |b| b);
    let seen = Arc::new(AtomicU32::new(0));
    let s2 = seen.clone();
    hooks
        .register(
            HookPoint::ToolError,
            hook_fn("count", move |_| {
                s2.fetch_add(1, Ordering::SeqCst);
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    rt.invoke("subject", json!({"n": "x"})).await.unwrap_err();
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn calls_stay_correct_while_the_registry_changes() {
    let (tools, _) = registry_with(Subject::new("subject", "one"));
    let (rt, _) = runtime(tools.clone(), |b| b);
    let rt = Arc::new(rt);
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let rt = rt.clone();
            tokio::spawn(async move {
                for _ in 0..500 {
                    let out = rt.invoke("subject", json!({})).await.unwrap();
                    assert_eq!(out["tag"], "one");
                }
            })
        })
        .collect();
    // Every registration changes the generation each caller checks.
    for i in 0..200 {
        let name = format!("churn{}", i % 7);
        tools.unregister(&name);
        tools.register(Subject::new(&name, "churn")).unwrap();
        tokio::task::yield_now().await;
    }
    for c in callers {
        c.await.unwrap();
    }
    assert_eq!(
        rt.invoke("churn3", json!({})).await.unwrap()["tag"],
        "churn"
    );
}

#[tokio::test]
async fn the_timeout_counts_from_the_call_start_not_the_first_suspension() {
    // 500 ms of blocking work, then a long sleep, under a 600 ms timeout:
    // the deadline is 600 ms after the call started, so only ~100 ms of
    // the sleep is waited for (counting from the suspension would wait
    // 600 ms more, 1.1 s in all).
    let mut subject = Subject::new("subject", "one");
    subject.block = Some(Duration::from_millis(500));
    subject.sleep = Some(Duration::from_secs(30));
    let (tools, _) = registry_with(subject);
    let (rt, _) = runtime(tools, |b| b.timeout(Duration::from_millis(600)));
    let started = std::time::Instant::now();
    let err = rt.invoke("subject", json!({})).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, ToolError::Timeout { .. }), "{err}");
    assert!(took >= Duration::from_millis(600), "{took:?}");
    assert!(took < Duration::from_millis(1000), "{took:?}");
}
