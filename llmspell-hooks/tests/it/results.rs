//! The effect of every HookResult through the executor.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use llmspell_hooks::{
    hook_fn, ForkOperation, HookOutcome, HookPoint, HookResult, Priority, RegisterOptions,
};
use serde_json::json;

use crate::{returns, setup, tool_ctx};

const P: HookPoint = HookPoint::BeforeToolExecution;

/// Registers `first` (high priority) then a counting hook; returns the
/// outcome and whether the second hook ran.
async fn chain(first: HookResult) -> (HookOutcome, bool, llmspell_hooks::HookContext) {
    let (registry, executor) = setup();
    let ran = Arc::new(AtomicUsize::new(0));
    let seen = ran.clone();
    registry
        .register_with(
            P,
            Arc::new(returns("first", first)),
            RegisterOptions::new().priority(Priority::HIGH),
        )
        .unwrap();
    registry
        .register(
            P,
            hook_fn("second", move |_| {
                seen.fetch_add(1, Ordering::SeqCst);
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    let mut ctx = tool_ctx("calc");
    let outcome = executor.execute(&P, &mut ctx).await;
    (outcome, ran.load(Ordering::SeqCst) == 1, ctx)
}

#[tokio::test]
async fn continue_runs_next_hook_and_continues() {
    let (o, second, _) = chain(HookResult::Continue).await;
    assert_eq!(o, HookOutcome::Continue);
    assert!(second);
}

#[tokio::test]
async fn skipped_runs_next_hook_and_continues() {
    let (o, second, _) = chain(HookResult::skipped("nothing to do")).await;
    assert_eq!(o, HookOutcome::Continue);
    assert!(second);
}

#[tokio::test]
async fn modified_replaces_data_for_later_hooks_and_caller() {
    let (registry, executor) = setup();
    let mut data = serde_json::Map::new();
    data.insert("parameters".into(), json!({"x": 2}));
    registry
        .register_with(
            P,
            Arc::new(returns("rewrite", HookResult::Modified(data))),
            RegisterOptions::new().priority(Priority::HIGH),
        )
        .unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    registry
        .register(
            P,
            hook_fn("observer", move |ctx| {
                s.store(
                    ctx.data["parameters"]["x"].as_u64().unwrap_or(0) as usize,
                    Ordering::SeqCst,
                );
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    let mut ctx = tool_ctx("calc");
    ctx.insert("parameters", json!({"x": 1}));
    ctx.insert("other", json!(true));
    let o = executor.execute(&P, &mut ctx).await;
    assert_eq!(o, HookOutcome::Continue);
    assert_eq!(
        seen.load(Ordering::SeqCst),
        2,
        "later hook sees modified data"
    );
    assert_eq!(ctx.data["parameters"], json!({"x": 2}));
    assert!(
        !ctx.data.contains_key("other"),
        "Modified replaces the data"
    );
}

#[tokio::test]
async fn cancel_stops_the_chain() {
    let (o, second, _) = chain(HookResult::cancel("denied")).await;
    assert_eq!(
        o,
        HookOutcome::Cancelled {
            reason: "denied".into(),
            hook: "first".into()
        }
    );
    assert!(!second);
}

#[tokio::test]
async fn redirect_stops_the_chain_with_target() {
    let (o, second, _) = chain(HookResult::redirect("safe_tool")).await;
    assert_eq!(
        o,
        HookOutcome::Redirect {
            target: "safe_tool".into(),
            hook: "first".into()
        }
    );
    assert!(!second);
}

#[tokio::test]
async fn replace_stops_the_chain_with_value() {
    let (o, second, _) = chain(HookResult::Replace(json!(42))).await;
    assert_eq!(
        o,
        HookOutcome::Replace {
            value: json!(42),
            hook: "first".into()
        }
    );
    assert!(!second);
}

#[tokio::test]
async fn retry_is_handed_to_the_caller() {
    let (o, second, _) = chain(HookResult::retry(Duration::from_millis(10), 3)).await;
    assert_eq!(
        o,
        HookOutcome::Retry {
            delay: Duration::from_millis(10),
            max_attempts: 3,
            hook: "first".into()
        }
    );
    assert!(!second);
}

#[tokio::test]
async fn fork_is_handed_to_the_caller() {
    let ops = vec![ForkOperation::new("audit", json!({"a": 1}))];
    let (o, _, _) = chain(HookResult::fork(ops.clone())).await;
    assert_eq!(
        o,
        HookOutcome::Fork {
            operations: ops,
            hook: "first".into()
        }
    );
}

#[tokio::test]
async fn cache_is_handed_to_the_caller() {
    let (o, _, _) = chain(HookResult::cache("k1", Duration::from_secs(60))).await;
    assert_eq!(
        o,
        HookOutcome::Cache {
            key: "k1".into(),
            ttl: Duration::from_secs(60),
            hook: "first".into()
        }
    );
    assert_eq!(
        o.clone().into_result(),
        HookResult::cache("k1", Duration::from_secs(60))
    );
}

#[tokio::test]
async fn no_hooks_is_continue_and_cheap_check_is_false() {
    let (registry, executor) = setup();
    assert!(!executor.has_hooks(&P));
    let mut ctx = tool_ctx("x");
    assert_eq!(executor.execute(&P, &mut ctx).await, HookOutcome::Continue);
    registry
        .register(P, returns("a", HookResult::Continue))
        .unwrap();
    assert!(executor.has_hooks(&P));
    registry.disable_all();
    assert!(!executor.has_hooks(&P));
}

#[tokio::test]
async fn matcher_limits_hooks_to_matching_components() {
    let (registry, executor) = setup();
    registry
        .register_with(
            P,
            Arc::new(returns("files_only", HookResult::cancel("no files"))),
            RegisterOptions::new().matcher("file_*"),
        )
        .unwrap();
    let mut ctx = tool_ctx("calculator");
    assert!(executor.execute(&P, &mut ctx).await.is_continue());
    let mut ctx = tool_ctx("file_reader");
    assert!(executor.execute(&P, &mut ctx).await.is_cancelled());
    assert!(registry
        .register_with(
            P,
            Arc::new(returns("bad", HookResult::Continue)),
            RegisterOptions::new().matcher("[")
        )
        .is_err());
}

#[tokio::test]
async fn disabled_hook_does_not_run() {
    let (registry, executor) = setup();
    let h = registry
        .register(P, returns("deny", HookResult::cancel("no")))
        .unwrap();
    registry.set_enabled(&h, false).unwrap();
    let mut ctx = tool_ctx("t");
    assert!(executor.execute(&P, &mut ctx).await.is_continue());
    registry.set_enabled(&h, true).unwrap();
    assert!(executor.execute(&P, &mut ctx).await.is_cancelled());
    registry.disable_all();
    assert!(executor.execute(&P, &mut ctx).await.is_continue());
    registry.enable_all();
    assert!(executor.execute(&P, &mut ctx).await.is_cancelled());
}

#[tokio::test]
async fn execute_sets_context_point_and_custom_points_work() {
    let (registry, executor) = setup();
    let custom = HookPoint::custom("my_point");
    registry
        .register(
            custom.clone(),
            hook_fn("c", |ctx| {
                assert_eq!(ctx.point, HookPoint::custom("my_point"));
                Ok(HookResult::cancel("custom ran"))
            }),
        )
        .unwrap();
    let mut ctx = tool_ctx("t");
    assert!(executor.execute(&custom, &mut ctx).await.is_cancelled());
    assert_eq!(ctx.point, custom);
    assert!(executor
        .execute(&HookPoint::custom("other"), &mut ctx)
        .await
        .is_continue());
}
