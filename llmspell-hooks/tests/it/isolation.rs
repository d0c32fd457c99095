use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use llmspell_hooks::{
    async_hook_fn, hook_fn, Hook, HookContext, HookError, HookExecutor, HookMetadata, HookPoint,
    HookRegistry, HookResult, RegisterOptions, Result,
};

use crate::{setup, tool_ctx};

const P: HookPoint = HookPoint::BeforeToolExecution;

struct Panics;

#[async_trait]
impl Hook for Panics {
    async fn execute(&self, _ctx: &mut HookContext) -> Result<HookResult> {
        tokio::task::yield_now().await;
        panic!("hook bug");
    }
    fn metadata(&self) -> HookMetadata {
        HookMetadata::new("panics")
    }
}

fn marker() -> impl Hook + 'static {
    hook_fn("marker", |ctx| {
        ctx.insert("after", serde_json::json!(true));
        Ok(HookResult::Continue)
    })
}

#[tokio::test]
async fn panicking_hook_is_isolated_and_the_chain_goes_on() {
    let (registry, executor) = setup();
    let h = registry.register(P, Panics).unwrap();
    registry
        .register(P, hook_fn("sync_panic", |_| panic!("sync")))
        .unwrap();
    registry.register(P, marker()).unwrap();
    for _ in 0..3 {
        let mut ctx = tool_ctx("t");
        assert!(executor.execute(&P, &mut ctx).await.is_continue());
        assert_eq!(ctx.data["after"], true);
    }
    let perf = registry.get(&h).unwrap().performance();
    assert_eq!(perf.panics, 3);
    // Nothing is poisoned: the registry still works.
    assert!(registry.unregister(&h));
    registry.register(P, marker()).unwrap();
}

#[tokio::test]
async fn fail_closed_panic_cancels() {
    let (registry, executor) = setup();
    registry
        .register_with(
            P,
            Arc::new(Panics),
            RegisterOptions::new().fail_closed(true),
        )
        .unwrap();
    let mut ctx = tool_ctx("t");
    let outcome = executor.execute(&P, &mut ctx).await;
    match outcome {
        llmspell_hooks::HookOutcome::Cancelled { reason, hook } => {
            assert_eq!(hook, "panics");
            assert!(reason.contains("hook bug"), "{reason}");
        }
        other => panic!("expected cancelled, got {other:?}"),
    }
}

#[tokio::test]
async fn error_is_fail_open_by_default_and_fail_closed_on_request() {
    let (registry, executor) = setup();
    registry
        .register(
            P,
            hook_fn("errs", |_| Err(HookError::execution("errs", "bad"))),
        )
        .unwrap();
    let mut ctx = tool_ctx("t");
    assert!(executor.execute(&P, &mut ctx).await.is_continue());
    registry
        .register_with(
            P,
            Arc::new(hook_fn("strict", |_| {
                Err(HookError::execution("strict", "bad"))
            })),
            RegisterOptions::new().fail_closed(true),
        )
        .unwrap();
    assert!(executor.execute(&P, &mut ctx).await.is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn slow_hook_times_out_per_point_and_per_hook() {
    let registry = Arc::new(HookRegistry::new());
    let executor = HookExecutor::builder(registry.clone())
        .point_timeout(P, Some(Duration::from_millis(50)))
        .build();
    assert_eq!(executor.timeout_for(&P), Some(Duration::from_millis(50)));
    assert_eq!(
        executor.timeout_for(&HookPoint::AfterToolExecution),
        Some(llmspell_hooks::DEFAULT_HOOK_TIMEOUT)
    );
    let slow = registry
        .register(
            P,
            async_hook_fn("sleepy", |_| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(HookResult::cancel("too late"))
            }),
        )
        .unwrap();
    registry.register(P, marker()).unwrap();
    let mut ctx = tool_ctx("t");
    assert!(executor.execute(&P, &mut ctx).await.is_continue());
    assert_eq!(ctx.data["after"], true);
    assert_eq!(registry.get(&slow).unwrap().performance().timeouts, 1);

    // A per-hook timeout overrides; fail-closed turns it into a cancel.
    registry
        .register_with(
            P,
            Arc::new(async_hook_fn("strict_sleepy", |_| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(HookResult::Continue)
            })),
            RegisterOptions::new()
                .timeout(Duration::from_millis(10))
                .fail_closed(true),
        )
        .unwrap();
    let outcome = executor.execute(&P, &mut ctx).await;
    assert!(outcome.is_cancelled(), "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executor_future_is_send_and_survives_panics_in_spawned_tasks() {
    let (registry, executor) = setup();
    registry.register(P, Panics).unwrap();
    let executor = Arc::new(executor);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let e = executor.clone();
        tasks.push(tokio::spawn(async move {
            let mut ctx = tool_ctx("t");
            e.execute(&P, &mut ctx).await
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().is_continue());
    }
}
