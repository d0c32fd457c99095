//! The hook-result table through the hooked-operation API, on a plain async
//! function (no tool, agent or workflow): one test per result and point.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use llmspell_hooks::{
    current_parent, hook_fn, Call, ComponentId, ComponentType, ForkError, ForkOperation, HookCache,
    HookContext, HookPoint, HookResult, Hooks, ManualClock, OperationError, ResultSource,
};
use serde_json::{json, Value};

const BEFORE: HookPoint = HookPoint::BeforeAgentExecution;
const AFTER: HookPoint = HookPoint::AfterAgentExecution;
const ERROR: HookPoint = HookPoint::AgentError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum TestError {
    #[error("transient failure {0}")]
    Transient(usize),
    #[error("permanent failure")]
    Permanent,
}

/// An operation that doubles `input.n` and counts its runs; it fails its
/// first `fail_first` runs (with `error`).
#[derive(Clone)]
struct Doubler {
    runs: Arc<AtomicUsize>,
    targets: Arc<Mutex<Vec<String>>>,
    fail_first: usize,
    error: TestError,
}

impl Doubler {
    fn new() -> Self {
        Self {
            runs: Arc::new(AtomicUsize::new(0)),
            targets: Arc::new(Mutex::new(Vec::new())),
            fail_first: 0,
            error: TestError::Permanent,
        }
    }

    fn failing(n: usize, error: TestError) -> Self {
        Self {
            fail_first: n,
            error,
            ..Self::new()
        }
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    async fn call(&self, call: Call) -> Result<Value, TestError> {
        let n = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
        self.targets.lock().unwrap().push(call.target.clone());
        if n <= self.fail_first {
            return Err(match self.error {
                TestError::Transient(_) => TestError::Transient(n),
                TestError::Permanent => TestError::Permanent,
            });
        }
        let x = call.input["n"].as_i64().unwrap_or(0);
        Ok(json!({"n": x * 2, "target": call.target, "attempt": call.attempt}))
    }
}

fn agent() -> ComponentId {
    ComponentId::new(ComponentType::Agent, "doubler")
}

async fn run(
    hooks: &Hooks,
    op: &Doubler,
    input: Value,
) -> Result<llmspell_hooks::Completed<TestError>, OperationError<TestError>> {
    hooks
        .operation(agent())
        .points(BEFORE, AFTER, ERROR)
        .name_key("agent_name")
        .input("input", input)
        .output_key("output")
        .redirects(3)
        .retryable(|e: &TestError| matches!(e, TestError::Transient(_)))
        .run(|call| op.call(call))
        .await
}

fn returns(hooks: &Hooks, point: HookPoint, result: HookResult) {
    hooks
        .register(point, hook_fn("h", move |_| Ok(result.clone())))
        .unwrap();
}

#[tokio::test]
async fn continue_runs_the_operation_and_the_data_keys_are_fixed() {
    let hooks = Hooks::new();
    let seen = Arc::new(Mutex::new(Vec::<HookContext>::new()));
    for point in [BEFORE, AFTER] {
        let seen = seen.clone();
        hooks
            .register(
                point,
                hook_fn("record", move |ctx| {
                    seen.lock().unwrap().push(ctx.clone());
                    Ok(HookResult::Continue)
                }),
            )
            .unwrap();
    }
    let op = Doubler::new();
    let done = run(&hooks, &op, json!({"n": 21})).await.unwrap();
    assert_eq!(done.value["n"], 42);
    assert_eq!(done.source, ResultSource::Executed);
    assert_eq!(done.attempts, 1);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].point, BEFORE);
    assert_eq!(seen[0].data["agent_name"], "doubler");
    assert_eq!(seen[0].data["input"], json!({"n": 21}));
    assert!(!seen[0].data.contains_key("output"));
    assert_eq!(seen[1].data["output"]["n"], 42);
    assert_eq!(seen[0].correlation_id, seen[1].correlation_id);
    assert_eq!(done.correlation_id, seen[0].correlation_id);
    assert_eq!(seen[0].component.name, "doubler");
}

#[tokio::test]
async fn no_hooks_no_context() {
    let hooks = Hooks::new();
    let op = Doubler::new();
    let done = run(&hooks, &op, json!({"n": 1})).await.unwrap();
    assert_eq!(done.value["n"], 2);
    assert!(done.data.is_empty(), "no hook ran, no context was built");
}

#[tokio::test]
async fn completed_data_holds_input_and_output_unless_turned_off() {
    let hooks = Hooks::new();
    let seen = Arc::new(Mutex::new(Vec::<Value>::new()));
    let s = seen.clone();
    hooks
        .register(
            AFTER,
            hook_fn("record", move |ctx| {
                s.lock().unwrap().push(ctx.data["output"].clone());
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    let op = Doubler::new();
    let done = run(&hooks, &op, json!({"n": 2})).await.unwrap();
    assert_eq!(done.data["input"], json!({"n": 2}));
    assert_eq!(done.data["output"], done.value);
    assert_eq!(done.data["agent_name"], "doubler");

    let done = hooks
        .operation(agent())
        .points(BEFORE, AFTER, ERROR)
        .name_key("agent_name")
        .input("input", json!({"n": 3}))
        .completed_data(false)
        .run(|call| op.call(call))
        .await
        .unwrap();
    assert_eq!(done.value["n"], 6);
    assert!(done.data.is_empty(), "turned off");
    // The hooks saw the same data either way.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1]["n"], 6);
}

#[tokio::test]
async fn spare_data_hands_the_map_back_for_the_next_operation() {
    let hooks = Hooks::new();
    let seen = Arc::new(Mutex::new(Vec::<Value>::new()));
    let s = seen.clone();
    hooks
        .register(
            BEFORE,
            hook_fn("record", move |ctx| {
                s.lock().unwrap().push(Value::Object(ctx.data.clone()));
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    let op = Doubler::new();
    let mut fixed = llmspell_hooks::HookData::new();
    fixed.insert("step".into(), json!("a"));
    let done = hooks
        .operation(agent())
        .points(BEFORE, AFTER, ERROR)
        .input("input", json!({"n": 1}))
        .data_map(fixed)
        .completed_data(false)
        .spare_data(true)
        .run(|call| op.call(call))
        .await
        .unwrap();
    assert_eq!(done.value["n"], 2);
    assert!(done.data.is_empty());
    let mut spare = done.spare_data.expect("the map");
    assert_eq!(spare["step"], "a");
    assert!(
        spare.contains_key("input"),
        "the input key stays, its value stale, for the caller to reset"
    );
    assert!(
        spare.get("output").is_none_or(Value::is_null),
        "the output was taken out (a key left for reuse holds null)"
    );
    // Reused with new values: the hooks see them as in a fresh map.
    spare.insert("step".into(), json!("b"));
    let done = hooks
        .operation(agent())
        .points(BEFORE, AFTER, ERROR)
        .input("input", json!({"n": 4}))
        .data_map(spare)
        .completed_data(false)
        .run(|call| op.call(call))
        .await
        .unwrap();
    assert_eq!(done.value["n"], 8);
    assert!(done.spare_data.is_none(), "not asked for");
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0], json!({"step": "a", "input": {"n": 1}}));
    assert_eq!(seen[1], json!({"step": "b", "input": {"n": 4}}));
}

#[tokio::test]
async fn modified_changes_the_input_and_the_output() {
    let hooks = Hooks::new();
    hooks
        .register(
            BEFORE,
            hook_fn("input", |ctx| {
                let mut data = ctx.data.clone();
                data.insert("input".into(), json!({"n": 5}));
                Ok(HookResult::Modified(data))
            }),
        )
        .unwrap();
    let op = Doubler::new();
    let done = run(&hooks, &op, json!({"n": 1})).await.unwrap();
    assert_eq!(done.value["n"], 10, "the operation saw the modified input");

    hooks
        .register(
            AFTER,
            hook_fn("output", |ctx| {
                ctx.insert("output", json!("rewritten"));
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    let done = run(&hooks, &op, json!({"n": 1})).await.unwrap();
    assert_eq!(done.value, json!("rewritten"));
}

#[tokio::test]
async fn cancel_before_does_not_run_and_after_fails() {
    let hooks = Hooks::new();
    returns(&hooks, BEFORE, HookResult::cancel("not today"));
    let op = Doubler::new();
    let err = run(&hooks, &op, json!({})).await.unwrap_err();
    assert_eq!(
        err,
        OperationError::Cancelled {
            point: BEFORE,
            hook: "h".into(),
            reason: "not today".into()
        }
    );
    assert_eq!(op.runs(), 0);
    assert!(err.to_string().contains("not today"), "{err}");

    let hooks = Hooks::new();
    returns(&hooks, AFTER, HookResult::cancel("bad output"));
    let op = Doubler::new();
    let err = run(&hooks, &op, json!({})).await.unwrap_err();
    assert!(matches!(
        err,
        OperationError::Cancelled { point: AFTER, .. }
    ));
    assert_eq!(op.runs(), 1);
}

#[tokio::test]
async fn redirect_reruns_on_the_target_with_its_hooks() {
    let hooks = Hooks::new();
    let befores = Arc::new(AtomicUsize::new(0));
    let b = befores.clone();
    hooks
        .register(
            BEFORE,
            hook_fn("route", move |ctx| {
                b.fetch_add(1, Ordering::SeqCst);
                Ok(if ctx.data["agent_name"] == "doubler" {
                    HookResult::redirect("backup")
                } else {
                    HookResult::Continue
                })
            }),
        )
        .unwrap();
    let op = Doubler::new();
    let done = run(&hooks, &op, json!({"n": 2})).await.unwrap();
    assert_eq!(done.target, "backup");
    assert_eq!(done.value["target"], "backup");
    assert_eq!(done.data["agent_name"], "backup");
    assert_eq!(
        befores.load(Ordering::SeqCst),
        2,
        "the target's hooks fired"
    );
    assert_eq!(*op.targets.lock().unwrap(), vec!["backup".to_owned()]);
}

#[tokio::test]
async fn redirect_loops_are_bounded_and_redirects_can_be_refused() {
    let hooks = Hooks::new();
    returns(&hooks, BEFORE, HookResult::redirect("again"));
    let op = Doubler::new();
    let err = run(&hooks, &op, json!({})).await.unwrap_err();
    assert_eq!(
        err,
        OperationError::TooManyRedirects {
            target: "again".into(),
            limit: 3
        }
    );
    // Without `.redirects(n)` a redirect is refused.
    let err = hooks
        .operation::<TestError>(agent())
        .points(BEFORE, AFTER, ERROR)
        .run(|call| op.call(call))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OperationError::RedirectRefused { target, .. } if target == "again"),
        "{err:?}"
    );
    assert_eq!(op.runs(), 0);
}

#[tokio::test]
async fn replace_before_skips_after_replaces_and_error_recovers() {
    let hooks = Hooks::new();
    returns(&hooks, BEFORE, HookResult::Replace(json!("canned")));
    let op = Doubler::new();
    let done = run(&hooks, &op, json!({})).await.unwrap();
    assert_eq!(
        (done.value, done.source),
        (json!("canned"), ResultSource::Replaced)
    );
    assert_eq!(op.runs(), 0);

    let hooks = Hooks::new();
    returns(&hooks, AFTER, HookResult::Replace(json!("after")));
    let done = run(&hooks, &op, json!({})).await.unwrap();
    assert_eq!(
        (done.value, done.source),
        (json!("after"), ResultSource::Replaced)
    );

    let hooks = Hooks::new();
    returns(&hooks, ERROR, HookResult::Replace(json!("fallback")));
    let failing = Doubler::failing(10, TestError::Permanent);
    let done = run(&hooks, &failing, json!({})).await.unwrap();
    assert_eq!(done.value, json!("fallback"));
}

#[tokio::test]
async fn error_point_sees_the_error_and_a_modified_output_recovers() {
    let hooks = Hooks::new();
    let errors = Arc::new(Mutex::new(Vec::new()));
    let e2 = errors.clone();
    hooks
        .register(
            ERROR,
            hook_fn("recover", move |ctx| {
                e2.lock().unwrap().push(ctx.data["error"].clone());
                ctx.insert("output", json!({"recovered": true}));
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    let op = Doubler::failing(1, TestError::Permanent);
    let done = run(&hooks, &op, json!({})).await.unwrap();
    assert_eq!(done.value, json!({"recovered": true}));
    assert_eq!(*errors.lock().unwrap(), vec![json!("permanent failure")]);
}

#[tokio::test(start_paused = true)]
async fn retry_before_asks_again_then_gives_up() {
    let hooks = Hooks::new();
    let asked = Arc::new(AtomicUsize::new(0));
    let a = asked.clone();
    hooks
        .register(
            BEFORE,
            hook_fn("wait", move |_| {
                a.fetch_add(1, Ordering::SeqCst);
                Ok(HookResult::retry(Duration::from_millis(100), 2))
            }),
        )
        .unwrap();
    let op = Doubler::new();
    let started = tokio::time::Instant::now();
    let err = run(&hooks, &op, json!({})).await.unwrap_err();
    assert!(matches!(
        err,
        OperationError::RetriesExhausted {
            max_attempts: 2,
            ..
        }
    ));
    assert_eq!(asked.load(Ordering::SeqCst), 3);
    assert_eq!(op.runs(), 0);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test(start_paused = true)]
async fn retry_after_and_at_error_reruns_the_operation() {
    let hooks = Hooks::new();
    hooks
        .register(
            AFTER,
            hook_fn("again", |ctx| {
                Ok(if ctx.data["output"]["attempt"].as_u64() < Some(3) {
                    HookResult::retry(Duration::from_millis(10), 5)
                } else {
                    HookResult::Continue
                })
            }),
        )
        .unwrap();
    let op = Doubler::new();
    let done = run(&hooks, &op, json!({"n": 1})).await.unwrap();
    assert_eq!(done.attempts, 3);
    assert_eq!(done.value["attempt"], 3);

    let hooks = Hooks::new();
    returns(
        &hooks,
        ERROR,
        HookResult::retry(Duration::from_millis(10), 3),
    );
    let op = Doubler::failing(2, TestError::Transient(0));
    let done = run(&hooks, &op, json!({"n": 4})).await.unwrap();
    assert_eq!(done.attempts, 3);
    assert_eq!(done.value["n"], 8);

    // Too many failures: the last error comes back.
    let op = Doubler::failing(10, TestError::Transient(0));
    let err = run(&hooks, &op, json!({})).await.unwrap_err();
    assert_eq!(err, OperationError::Failed(TestError::Transient(4)));

    // Not retryable: no re-run at all.
    let op = Doubler::failing(10, TestError::Permanent);
    let err = run(&hooks, &op, json!({})).await.unwrap_err();
    assert_eq!(err, OperationError::Failed(TestError::Permanent));
    assert_eq!(op.runs(), 1);
}

struct Echo;

impl llmspell_hooks::ForkRunner<TestError> for Echo {
    fn run_fork(&self, op: ForkOperation, depth: u32) -> BoxFuture<'_, Result<Value, TestError>> {
        Box::pin(async move {
            if op.target == "broken" {
                return Err(TestError::Permanent);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(json!({"target": op.target, "params": op.parameters, "depth": depth}))
        })
    }
}

#[tokio::test]
async fn fork_runs_concurrently_and_results_are_joined() {
    let hooks = Hooks::new();
    returns(
        &hooks,
        BEFORE,
        HookResult::fork(vec![
            ForkOperation::new("audit", json!({"x": 1})),
            ForkOperation::new("broken", json!({})),
        ]),
    );
    let seen_forks = Arc::new(Mutex::new(Value::Null));
    let s2 = seen_forks.clone();
    hooks
        .register(
            AFTER,
            hook_fn("see", move |ctx| {
                *s2.lock().unwrap() = ctx.data["forks"].clone();
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    let runner = Echo;
    let op = Doubler::new();
    let slow = |call: Call| {
        let op = op.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            op.call(call).await
        }
    };
    let started = std::time::Instant::now();
    let done = hooks
        .operation(agent())
        .points(BEFORE, AFTER, ERROR)
        .input("input", json!({"n": 1}))
        .fork_runner(&runner)
        .run(slow)
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(95),
        "the forks ran concurrently with the operation"
    );
    assert_eq!(done.forks.len(), 2);
    assert_eq!(done.forks[0].outcome.as_ref().unwrap()["depth"], 1);
    assert_eq!(
        done.forks[1].outcome,
        Err(ForkError::Failed(TestError::Permanent))
    );
    let seen = seen_forks.lock().unwrap().clone();
    assert_eq!(seen[0]["target"], "audit");
    assert_eq!(seen[1]["error"], "permanent failure");

    // Without a runner the forks are reported, not silently dropped.
    let done = run(&hooks, &op, json!({})).await.unwrap();
    assert!(done
        .forks
        .iter()
        .all(|f| f.outcome == Err(ForkError::NoRunner)));
}

#[tokio::test]
async fn cache_stores_hits_expires_and_recovers_errors() {
    let clock = ManualClock::new();
    let hooks = Hooks::builder().clock(Arc::new(clock.clone())).build();
    returns(
        &hooks,
        BEFORE,
        HookResult::cache("doubler:21", Duration::from_secs(60)),
    );
    let op = Doubler::new();
    let first = run(&hooks, &op, json!({"n": 21})).await.unwrap();
    assert_eq!(first.source, ResultSource::Executed);
    let second = run(&hooks, &op, json!({"n": 21})).await.unwrap();
    assert_eq!(
        (second.source, second.value),
        (ResultSource::Cached, first.value)
    );
    assert_eq!(op.runs(), 1);
    clock.advance(Duration::from_secs(61));
    let third = run(&hooks, &op, json!({"n": 21})).await.unwrap();
    assert_eq!(third.source, ResultSource::Executed);
    assert_eq!(op.runs(), 2);

    // At the error point a live entry recovers; an own cache can be given.
    let cache = HookCache::new(8);
    cache.insert("k".into(), json!("cached"), Duration::from_secs(60));
    let hooks = Hooks::new();
    returns(
        &hooks,
        ERROR,
        HookResult::cache("k", Duration::from_secs(1)),
    );
    let failing = Doubler::failing(10, TestError::Permanent);
    let done = hooks
        .operation(agent())
        .points(BEFORE, AFTER, ERROR)
        .cache(&cache)
        .run(|call| failing.call(call))
        .await
        .unwrap();
    assert_eq!(
        (done.value, done.source),
        (json!("cached"), ResultSource::Cached)
    );
}

#[tokio::test]
async fn skipped_goes_on_unless_the_operation_gives_it_a_meaning() {
    let hooks = Hooks::new();
    returns(&hooks, BEFORE, HookResult::skipped("nothing to do"));
    let op = Doubler::new();
    let done = run(&hooks, &op, json!({"n": 1})).await.unwrap();
    assert_eq!(done.source, ResultSource::Executed);
    let done = hooks
        .operation::<TestError>(agent())
        .points(BEFORE, AFTER, ERROR)
        .skip_on_skipped(true)
        .run(|call| op.call(call))
        .await
        .unwrap();
    assert_eq!(
        (done.value, done.source),
        (Value::Null, ResultSource::Skipped)
    );
    assert_eq!(op.runs(), 1);
}

#[tokio::test]
async fn nested_operations_inherit_the_correlation_id_and_record_their_parent() {
    let hooks = Hooks::new();
    let inner_parent = Arc::new(Mutex::new(None::<HookContext>));
    let p2 = inner_parent.clone();
    hooks
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("see", move |ctx| {
                *p2.lock().unwrap() = Some(ctx.clone());
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    let outer = hooks
        .operation::<TestError>(agent())
        .points(BEFORE, AFTER, ERROR)
        .run(|call| {
            let hooks = hooks.clone();
            async move {
                // A "tool call" made by the agent.
                let inner = hooks
                    .operation::<TestError>(ComponentId::new(ComponentType::Tool, "calc"))
                    .points(
                        HookPoint::BeforeToolExecution,
                        HookPoint::AfterToolExecution,
                        HookPoint::ToolError,
                    )
                    .run(|_| async { Ok(json!(1)) })
                    .await
                    .map_err(|_| TestError::Permanent)?;
                assert_eq!(inner.correlation_id, call.correlation_id);
                Ok(json!("outer"))
            }
        })
        .await
        .unwrap();
    let ctx = inner_parent
        .lock()
        .unwrap()
        .clone()
        .expect("the inner hook ran");
    assert_eq!(ctx.correlation_id, outer.correlation_id);
    let parent = ctx.parent.expect("the inner context has a parent");
    assert_eq!(parent.point, BEFORE);
    assert_eq!(parent.component.name, "doubler");
    assert_eq!(parent.correlation_id, outer.correlation_id);
    assert!(
        current_parent().is_none(),
        "the scope ends with the operation"
    );
}

#[tokio::test]
async fn a_call_made_inside_a_hook_is_a_child_of_the_hooks_point() {
    let hooks = Hooks::new();
    let seen = Arc::new(Mutex::new(None::<HookContext>));
    let s2 = seen.clone();
    let h2 = hooks.clone();
    hooks
        .register(
            BEFORE,
            llmspell_hooks::async_hook_fn("nested", move |_ctx| {
                let hooks = h2.clone();
                let seen = s2.clone();
                async move {
                    let (_, _) = hooks
                        .notify(
                            HookPoint::custom("probe"),
                            ComponentId::new(ComponentType::Custom("test".into()), "probe"),
                            Default::default(),
                        )
                        .await;
                    *seen.lock().unwrap() = current_parent();
                    Ok(HookResult::Continue)
                }
            }),
        )
        .unwrap();
    let op = Doubler::new();
    let done = run(&hooks, &op, json!({})).await.unwrap();
    let parent = seen.lock().unwrap().clone().expect("inside the hook");
    assert_eq!(parent.point, BEFORE);
    assert_eq!(parent.correlation_id, done.correlation_id);
}

#[tokio::test]
async fn notify_fires_a_point_without_an_operation() {
    let hooks = Hooks::new();
    returns(
        &hooks,
        HookPoint::SecurityViolation,
        HookResult::cancel("blocked"),
    );
    let mut data = llmspell_hooks::HookData::new();
    data.insert("rule".into(), json!("path_escape"));
    let (outcome, data) = hooks
        .notify(
            HookPoint::SecurityViolation,
            ComponentId::new(ComponentType::Tool, "file_operations"),
            data,
        )
        .await;
    assert!(outcome.is_cancelled());
    assert_eq!(data["rule"], "path_escape");
    // No hooks: nothing happens.
    let (outcome, _) = Hooks::new()
        .notify(
            HookPoint::SecurityViolation,
            ComponentId::system(),
            Default::default(),
        )
        .await;
    assert!(outcome.is_continue());
}

#[test]
fn points_nobody_fires_are_known_and_declared_ones_are_not() {
    let hooks = Hooks::new();
    assert_eq!(hooks.registry().fired_by(&HookPoint::MemoryUsageHigh), None);
    hooks
        .registry()
        .declare_fired([HookPoint::MemoryUsageHigh], "the resource monitor");
    assert_eq!(
        hooks
            .registry()
            .fired_by(&HookPoint::MemoryUsageHigh)
            .as_deref(),
        Some("the resource monitor")
    );
    assert!(hooks.registry().fired_by(&HookPoint::custom("x")).is_some());
    assert!(HookPoint::AgentError.firer().contains("agents"));
}

/// A `MakeWriter` into a shared buffer, to read what was logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn registering_where_nothing_fires_warns_once_per_point() {
    // Another test thread can hit the warning's callsite while this
    // subscriber is being set, and `tracing` then caches an interest that
    // leaves it out (a race of its scoped dispatchers that
    // `rebuild_interest_cache` narrows but does not close). The warning is
    // once per point per registry, so a fresh registry can try again; a
    // registry that never warns fails all three tries.
    let mut text = String::new();
    for _ in 0..3 {
        text = warnings_of_one_registry();
        if !text.is_empty() {
            break;
        }
    }
    assert_eq!(
        text.matches("nothing in this process fires").count(),
        1,
        "{text}"
    );
    assert!(text.contains("MemoryUsageHigh"), "{text}");
    assert!(
        text.contains("the resource monitor, when it is enabled"),
        "{text}"
    );
    assert!(!text.contains("CpuUsageHigh"), "{text}");
}

/// What a fresh registry logs while hooks are registered at unfired
/// points (twice at one), at a custom point, and at a declared one.
fn warnings_of_one_registry() -> String {
    let out = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(out.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
        let hooks = Hooks::new();
        let noop = || hook_fn("watcher", |_| Ok(HookResult::Continue));
        hooks.register(HookPoint::MemoryUsageHigh, noop()).unwrap();
        hooks.register(HookPoint::MemoryUsageHigh, noop()).unwrap();
        hooks.register(HookPoint::custom("mine"), noop()).unwrap();
        hooks
            .registry()
            .declare_fired([HookPoint::CpuUsageHigh], "the resource monitor");
        hooks.register(HookPoint::CpuUsageHigh, noop()).unwrap();
    });
    let bytes = out.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

/// Reads the lent input in place and counts its attempts.
struct LentDoubler {
    seen: Mutex<Vec<(Value, bool)>>,
}

impl llmspell_hooks::LentOperation<TestError> for LentDoubler {
    fn call<'a>(
        &'a self,
        call: llmspell_hooks::LentCall<'a>,
    ) -> BoxFuture<'a, Result<Value, TestError>> {
        Box::pin(async move {
            let copies = call.into_input_copies();
            self.seen
                .lock()
                .unwrap()
                .push((call.input().clone(), copies));
            let x = call.input()["n"].as_i64().unwrap_or(0);
            Ok(json!({"n": x * 2, "attempt": call.attempt}))
        })
    }
}

#[tokio::test(start_paused = true)]
async fn run_lent_keeps_the_input_for_hooks_and_reruns() {
    let hooks = Hooks::new();
    let after_inputs = Arc::new(Mutex::new(Vec::new()));
    let seen = after_inputs.clone();
    hooks
        .register(
            AFTER,
            hook_fn("again", move |ctx| {
                seen.lock().unwrap().push(ctx.data["input"].clone());
                Ok(if ctx.data["output"]["attempt"].as_u64() < Some(2) {
                    HookResult::retry(Duration::from_millis(10), 5)
                } else {
                    HookResult::Continue
                })
            }),
        )
        .unwrap();
    let op = LentDoubler {
        seen: Mutex::new(Vec::new()),
    };
    let done = hooks
        .operation::<TestError>(agent())
        .points(BEFORE, AFTER, ERROR)
        .input("input", json!({"n": 5}))
        .run_lent(&op)
        .await
        .unwrap();
    assert_eq!(done.value, json!({"n": 10, "attempt": 2}));
    assert_eq!(done.attempts, 2);
    assert_eq!(done.data["input"], json!({"n": 5}));
    // Both attempts read the same input; it is kept (a re-run may come).
    let seen = op.seen.lock().unwrap().clone();
    assert_eq!(seen, vec![(json!({"n": 5}), true); 2]);
    assert_eq!(*after_inputs.lock().unwrap(), vec![json!({"n": 5}); 2]);

    // No After*/error hooks: the input may be taken, and a borrowed input
    // (`input_ref`) is read in place.
    let plain = Hooks::new();
    let op = LentDoubler {
        seen: Mutex::new(Vec::new()),
    };
    let input = json!({"n": 7});
    let done = plain
        .operation::<TestError>(agent())
        .points(BEFORE, AFTER, ERROR)
        .input_ref("input", &input)
        .run_lent(&op)
        .await
        .unwrap();
    assert_eq!(done.value["n"], 14);
    assert_eq!(op.seen.lock().unwrap()[0], (json!({"n": 7}), true));
    let op = LentDoubler {
        seen: Mutex::new(Vec::new()),
    };
    plain
        .operation::<TestError>(agent())
        .input("input", json!({"n": 1}))
        .run_lent(&op)
        .await
        .unwrap();
    assert_eq!(op.seen.lock().unwrap()[0], (json!({"n": 1}), false));
}

/// Closure hooks run in the synchronous first pass of each point: they see
/// the run as their enclosing operation (`current_parent`), in both scope
/// modes (`nested` on: one scope for the run; off: entered per point).
#[tokio::test]
async fn closure_hooks_in_the_first_pass_see_the_enclosing_operation() {
    for nested in [true, false] {
        let hooks = Hooks::new();
        let seen = Arc::new(Mutex::new(Vec::<(HookPoint, HookContext)>::new()));
        for point in [BEFORE, AFTER] {
            let s = seen.clone();
            hooks
                .register(
                    point.clone(),
                    hook_fn("see", move |ctx| {
                        let parent = current_parent().expect("inside the run");
                        s.lock().unwrap().push((ctx.point.clone(), parent));
                        Ok(HookResult::Continue)
                    }),
                )
                .unwrap();
        }
        let op = Doubler::new();
        let done = hooks
            .operation::<TestError>(agent())
            .points(BEFORE, AFTER, ERROR)
            .input("input", json!({"n": 2}))
            .nested(nested)
            .run(|call| op.call(call))
            .await
            .unwrap();
        assert_eq!(done.value["n"], 4);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "nested {nested}");
        for (point, parent) in seen.iter() {
            assert_eq!(&parent.point, point, "nested {nested}");
            assert_eq!(parent.correlation_id, done.correlation_id);
            assert_eq!(parent.component.name, "doubler");
        }
        assert!(current_parent().is_none());
    }
}

/// The scope a closure hook's first pass lends is the innermost one only
/// until another operation enters its own: an operation a closure hook
/// runs to completion in place is the parent of
/// its own hooks, and the outer run is the parent of the closure hook
/// again afterwards; the outer run's own parent is the enclosing scope.
#[tokio::test]
async fn an_operation_run_inside_a_closure_hook_is_the_innermost_scope() {
    let hooks = Hooks::new();
    let inner_point = HookPoint::custom("inner_before");
    let seen = Arc::new(Mutex::new(Vec::<(&'static str, String)>::new()));
    let s = seen.clone();
    hooks
        .register(
            inner_point.clone(),
            hook_fn("inner_see", move |_| {
                let parent = current_parent().expect("inside the inner run");
                s.lock().unwrap().push(("inner", parent.component.name));
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    let s = seen.clone();
    let h = hooks.clone();
    hooks
        .register(
            BEFORE,
            hook_fn("outer_see", move |_| {
                let before = current_parent().expect("inside the outer run");
                s.lock().unwrap().push(("outer", before.component.name));
                // Polled to completion in place (nothing in it waits).
                let done = futures::FutureExt::now_or_never(
                    h.operation::<TestError>(ComponentId::new(
                        ComponentType::Custom("test".into()),
                        "inner",
                    ))
                    .before(inner_point.clone())
                    .run(|call| async move { Ok::<_, TestError>(call.input) }),
                )
                .expect("nothing in the inner run waits")
                .expect("the inner run");
                assert!(done.value.is_null());
                let after = current_parent().expect("inside the outer run");
                s.lock().unwrap().push(("outer", after.component.name));
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    let enclosing = HookContext::new(
        HookPoint::custom("enclosing"),
        ComponentId::new(ComponentType::Custom("test".into()), "enclosing"),
    );
    for nested in [false, true] {
        seen.lock().unwrap().clear();
        let op = Doubler::new();
        let run = hooks
            .operation::<TestError>(agent())
            .points(BEFORE, AFTER, ERROR)
            .input("input", json!({"n": 1}))
            .nested(nested)
            .run(|call| op.call(call));
        let done = llmspell_hooks::with_parent(enclosing.clone(), run)
            .await
            .unwrap();
        assert_eq!(done.value["n"], 2);
        assert_eq!(done.correlation_id, enclosing.correlation_id);
        assert_eq!(
            *seen.lock().unwrap(),
            vec![
                ("outer", "doubler".to_owned()),
                ("inner", "inner".to_owned()),
                ("outer", "doubler".to_owned()),
            ],
            "nested {nested}"
        );
    }
    assert!(current_parent().is_none());
}

/// A point whose chain mixes closure hooks with one that suspends: the
/// closure hooks run in the first pass, the suspending one is awaited
/// (under its timeout) with the rest of the chain after it, and the
/// operation goes on with every change the hooks made.
#[tokio::test]
async fn a_suspending_hook_between_closure_hooks_runs_and_times_out() {
    let hooks = Hooks::builder()
        .default_timeout(Some(Duration::from_millis(40)))
        .build();
    hooks
        .register(
            BEFORE,
            hook_fn("first", |ctx| {
                ctx.data["input"]["n"] = json!(5);
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    let waited = Arc::new(AtomicUsize::new(0));
    let w = waited.clone();
    hooks
        .register(
            BEFORE,
            llmspell_hooks::async_hook_fn("waits", move |mut ctx| {
                let w = w.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    w.fetch_add(1, Ordering::SeqCst);
                    // Still inside the run while suspended.
                    assert!(current_parent().is_some());
                    ctx.data["input"]["m"] = json!(1);
                    Ok(HookResult::Modified(ctx.data))
                }
            }),
        )
        .unwrap();
    hooks
        .register(
            BEFORE,
            llmspell_hooks::async_hook_fn("too_slow", |_ctx| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(HookResult::cancel("never"))
            }),
        )
        .unwrap();
    hooks
        .register(
            BEFORE,
            hook_fn("last", |ctx| {
                let n = ctx.data["input"]["n"].as_i64().unwrap_or(0);
                ctx.data["input"]["n"] = json!(n + 1);
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    let op = Doubler::new();
    for nested in [true, false] {
        let started = std::time::Instant::now();
        let done = hooks
            .operation::<TestError>(agent())
            .points(BEFORE, AFTER, ERROR)
            .input("input", json!({"n": 1}))
            .nested(nested)
            .run(|call| op.call(call))
            .await
            .unwrap();
        // 5 from `first`, kept by `waits`' Modified data, +1 from `last`;
        // `too_slow` timed out (fail-open) instead of cancelling.
        assert_eq!(done.value["n"], 12, "nested {nested}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    assert_eq!(waited.load(Ordering::SeqCst), 2);
}

/// Between points that run back to back the input stays in the context:
/// an in-place change at one point is what the next point and the
/// operation see; data a `Modified` result gives without the input makes
/// it null; a name a hook writes is reported once, and the target the
/// component then sets is what the next point sees.
#[tokio::test]
async fn the_input_and_name_carry_from_point_to_point_as_hooks_left_them() {
    let (p1, p2, p3, p4) = (
        HookPoint::BeforeToolDiscovery,
        HookPoint::AfterToolDiscovery,
        HookPoint::ToolValidation,
        HookPoint::BeforeToolExecution,
    );
    let hooks = Hooks::new();
    let seen = Arc::new(Mutex::new(Vec::<(HookPoint, Value)>::new()));
    let record = |point: HookPoint| {
        let seen = seen.clone();
        hook_fn("record", move |ctx| {
            seen.lock()
                .unwrap()
                .push((point.clone(), Value::Object(ctx.data.clone())));
            Ok(HookResult::Continue)
        })
    };
    for p in [&p1, &p2, &p3, &p4] {
        hooks.register(p.clone(), record(p.clone())).unwrap();
    }
    hooks
        .register(
            p1.clone(),
            hook_fn("edit", |ctx| {
                ctx.data.insert("parameters".into(), json!({"n": 2}));
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    hooks
        .register(
            p2.clone(),
            hook_fn("rename", |ctx| {
                ctx.data.insert("tool_name".into(), json!("other"));
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    hooks
        .register(
            p3.clone(),
            hook_fn("drop", |ctx| {
                let mut data = ctx.data.clone();
                data.remove("parameters");
                Ok(HookResult::Modified(data))
            }),
        )
        .unwrap();
    let tool = ComponentId::new(ComponentType::Tool, "first");
    let mut run = hooks
        .operation::<TestError>(tool)
        .before(p1.clone())
        .name_key("tool_name")
        .input("parameters", json!({"n": 1}))
        .output_key("result")
        .start();

    assert!(matches!(
        run.before(&p1).await,
        Ok(llmspell_hooks::Step::Go)
    ));
    assert_eq!(run.input(), &json!({"n": 2}));
    assert_eq!(run.take_renamed(), None);

    assert!(run.before(&p2).await.is_ok());
    assert_eq!(run.input(), &json!({"n": 2}));
    assert_eq!(run.take_renamed().as_deref(), Some("other"));
    run.set_target("second");

    assert!(run.before(&p3).await.is_ok());
    assert_eq!(run.input(), &Value::Null);
    assert_eq!(run.take_renamed(), None);

    assert!(run.before(&p4).await.is_ok());
    assert_eq!(run.input_for_attempt(), Value::Null);

    let seen = seen.lock().unwrap();
    let at = |p: &HookPoint| &seen.iter().find(|(q, _)| q == p).unwrap().1;
    assert_eq!(at(&p1)["parameters"], json!({"n": 1}));
    assert_eq!(at(&p1)["tool_name"], "first");
    assert_eq!(at(&p2)["parameters"], json!({"n": 2}));
    assert_eq!(at(&p2)["tool_name"], "first");
    // The component followed the rename with another target.
    assert_eq!(at(&p3)["tool_name"], "second");
    assert_eq!(at(&p3)["parameters"], json!({"n": 2}));
    // The key is there, null, after a `Modified` without it.
    assert_eq!(at(&p4)["parameters"], Value::Null);
    assert!(at(&p4).as_object().unwrap().contains_key("parameters"));
    assert_eq!(at(&p4)["tool_name"], "second");
}
