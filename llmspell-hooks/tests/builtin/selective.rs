//! SelectiveHookRegistry: lazy factories per feature, runtime switching.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use llmspell_hooks::{
    hook_fn, ComponentId, ComponentType, Hook, HookContext, HookError, HookOutcome, HookPoint,
    HookResult, SelectiveHookRegistry,
};
use serde_json::json;

fn tool_ctx() -> HookContext {
    HookContext::new(
        HookPoint::BeforeToolExecution,
        ComponentId::new(ComponentType::Tool, "t"),
    )
}

/// A factory counting builds and calls, adding `key` to the data.
fn counting(
    builds: &Arc<AtomicUsize>,
    calls: &Arc<AtomicUsize>,
    key: &'static str,
) -> impl Fn() -> llmspell_hooks::Result<Arc<dyn Hook>> + Send + Sync + 'static {
    let builds = builds.clone();
    let calls = calls.clone();
    move || {
        builds.fetch_add(1, Ordering::SeqCst);
        let calls = calls.clone();
        Ok(Arc::new(hook_fn(key, move |ctx| {
            calls.fetch_add(1, Ordering::SeqCst);
            ctx.insert(key, json!(true));
            Ok(HookResult::Continue)
        })) as Arc<dyn Hook>)
    }
}

#[tokio::test]
async fn factories_are_built_once_on_first_dispatch_to_their_point() {
    let sel = SelectiveHookRegistry::new();
    let (builds, calls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    sel.register_factory(
        "audit",
        HookPoint::BeforeToolExecution,
        counting(&builds, &calls, "audit"),
    );
    sel.register_factory(
        "audit",
        HookPoint::AfterToolExecution,
        counting(&builds, &calls, "audit_after"),
    );
    assert_eq!(builds.load(Ordering::SeqCst), 0);
    assert!(sel.registry().is_empty());

    let mut ctx = tool_ctx();
    assert!(sel
        .execute(&HookPoint::BeforeToolExecution, &mut ctx)
        .await
        .is_continue());
    assert_eq!(ctx.data["audit"], true);
    assert_eq!(
        builds.load(Ordering::SeqCst),
        1,
        "only the dispatched point's factory"
    );
    for _ in 0..5 {
        let _ = sel
            .execute(&HookPoint::BeforeToolExecution, &mut tool_ctx())
            .await;
    }
    assert_eq!(builds.load(Ordering::SeqCst), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 6);
    let s = sel.stats();
    assert_eq!((s.factories, s.built), (2, 1));
}

#[tokio::test]
async fn features_switch_on_and_off_at_runtime() {
    let sel = SelectiveHookRegistry::new();
    let (builds, calls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let p = HookPoint::BeforeToolExecution;
    sel.register_factory("a", p.clone(), counting(&builds, &calls, "a"));
    sel.register_factory("b", p.clone(), counting(&builds, &calls, "b"));

    sel.disable_feature("b");
    let mut ctx = tool_ctx();
    let _ = sel.execute(&p, &mut ctx).await;
    assert!(ctx.data.contains_key("a") && !ctx.data.contains_key("b"));
    assert_eq!(
        builds.load(Ordering::SeqCst),
        1,
        "a disabled feature is not built"
    );

    sel.enable_feature("b");
    sel.disable_feature("a");
    let mut ctx = tool_ctx();
    let _ = sel.execute(&p, &mut ctx).await;
    assert!(!ctx.data.contains_key("a") && ctx.data.contains_key("b"));
    assert_eq!(builds.load(Ordering::SeqCst), 2);
    assert!(!sel.is_feature_enabled("a") && sel.is_feature_enabled("b"));
    assert!(!sel.is_feature_enabled("never-registered"));

    sel.enable_feature("a");
    let mut ctx = tool_ctx();
    let _ = sel.execute(&p, &mut ctx).await;
    assert!(ctx.data.contains_key("a") && ctx.data.contains_key("b"));
    assert_eq!(
        builds.load(Ordering::SeqCst),
        2,
        "re-enabling does not rebuild"
    );
}

#[tokio::test]
async fn unused_factories_stay_unbuilt_and_a_failing_factory_is_isolated() {
    let sel = SelectiveHookRegistry::new();
    let (builds, calls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    for i in 0..10_000 {
        sel.register_factory(
            format!("f{}", i % 10),
            HookPoint::custom(format!("p{i}")),
            counting(&builds, &calls, "x"),
        );
    }
    let _ = sel
        .execute(&HookPoint::BeforeToolExecution, &mut tool_ctx())
        .await;
    assert_eq!(builds.load(Ordering::SeqCst), 0);
    assert!(sel.registry().is_empty());
    assert_eq!(sel.stats().factories, 10_000);

    sel.register_factory("broken", HookPoint::AgentError, || {
        Err(HookError::execution("factory", "no config"))
    });
    let mut ctx = HookContext::new(
        HookPoint::AgentError,
        ComponentId::new(ComponentType::Agent, "a"),
    );
    assert_eq!(
        sel.execute(&HookPoint::AgentError, &mut ctx).await,
        HookOutcome::Continue
    );
    assert_eq!(sel.stats().failed, 1);
}
