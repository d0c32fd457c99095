//! Built-ins configured from options (`Hook.use`, `[hooks.builtin.*]`),
//! each with its real effect on a hooked operation.

use std::sync::atomic::{AtomicUsize, Ordering};

use llmspell_hooks::builtin::{BuiltinHook, BuiltinKind, PricingTable};
use llmspell_hooks::{ComponentId, ComponentType, HookPoint, Hooks, OperationError};
use serde_json::{json, Value};

fn build(name: &str, options: Value) -> BuiltinHook {
    BuiltinHook::from_options(name, &options, &PricingTable::default()).unwrap()
}

fn error(name: &str, options: Value) -> String {
    BuiltinHook::from_options(name, &options, &PricingTable::default())
        .unwrap_err()
        .to_string()
}

/// One hooked tool call of `tool` with `params`; counts real runs.
async fn call(
    hooks: &Hooks,
    tool: &str,
    params: Value,
    runs: &AtomicUsize,
    output: Value,
) -> Result<Value, OperationError<String>> {
    hooks
        .operation::<String>(ComponentId::new(ComponentType::Tool, tool))
        .points(
            HookPoint::BeforeToolExecution,
            HookPoint::AfterToolExecution,
            HookPoint::ToolError,
        )
        .name_key("tool_name")
        .input("parameters", params)
        .output_key("result")
        .run(|_| {
            runs.fetch_add(1, Ordering::SeqCst);
            let output = output.clone();
            async move { Ok::<_, String>(output) }
        })
        .await
        .map(|c| c.value)
}

#[test]
fn every_builtin_builds_with_its_defaults() {
    for kind in BuiltinKind::ALL {
        let hook = build(kind.name(), Value::Null);
        assert_eq!(hook.kind(), kind);
        assert_eq!(hook.points().len(), 6, "{kind}");
        assert!(hook.is_enabled());
    }
}

#[test]
fn bad_options_are_named() {
    let e = error("rate_limit", json!({"per_secnd": 2}));
    assert!(
        e.contains("`per_secnd` is not an option of the rate_limit hook"),
        "{e}"
    );
    assert!(e.contains("`per_second`") && e.contains("`points`"), "{e}");
    let e = error("rate_limit", json!({"burst": "many"}));
    assert!(e.contains("option `burst`"), "{e}");
    let e = error("rate_limit", json!({"action": "shout"}));
    assert!(e.contains("`action` must be \"cancel\" or \"wait\""), "{e}");
    let e = error("rate_limit", json!({"per_second": 1, "per_minute": 1}));
    assert!(e.contains("not both"), "{e}");
    let e = error("caching", json!({"points": ["BeforeToolExecutin"]}));
    assert!(
        e.contains("points") && e.contains("BeforeToolExecutin"),
        "{e}"
    );
    let e = error("retry", json!({"backoff": "random"}));
    assert!(e.contains("`backoff` must be"), "{e}");
    let e = error(
        "cost_tracking",
        json!({"budgets": [{"scope": "user", "limit": 1}]}),
    );
    assert!(e.contains("needs `name`"), "{e}");
    let e = error("security", json!({"deny_patterns": ["("]}));
    assert!(e.contains("deny_patterns"), "{e}");
    let e = error("logging", json!({"level": "loud"}));
    assert!(e.contains("`level` must be"), "{e}");
    let e = error("caching", json!({"priority": true}));
    assert!(e.contains("`priority`"), "{e}");
    let e = error("cachin", Value::Null);
    assert!(
        e.contains("no built-in hook `cachin`") && e.contains("cost_tracking"),
        "{e}"
    );
    let e = error("caching", json!([1]));
    assert!(e.contains("must be a table"), "{e}");
}

#[tokio::test]
async fn a_rate_limit_from_options_refuses() {
    let hooks = Hooks::new();
    let rl = build(
        "rate_limit",
        json!({"per_minute": 2, "burst": 2, "points": ["BeforeToolExecution"]}),
    );
    let handles = rl.register(&hooks).unwrap();
    assert_eq!(handles.len(), 1);
    let runs = AtomicUsize::new(0);
    for _ in 0..2 {
        call(&hooks, "calc", json!({}), &runs, json!(1))
            .await
            .unwrap();
    }
    let err = call(&hooks, "calc", json!({}), &runs, json!(1))
        .await
        .unwrap_err();
    assert!(matches!(err, OperationError::Cancelled { .. }), "{err}");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    // Unregistered, it limits nothing.
    for h in &handles {
        hooks.unregister(h);
    }
    call(&hooks, "calc", json!({}), &runs, json!(1))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_cache_from_options_hits() {
    let hooks = Hooks::new();
    let cache = build("caching", json!({"ttl_ms": 60000, "match": "calc"}));
    cache.register(&hooks).unwrap();
    let runs = AtomicUsize::new(0);
    let a = call(&hooks, "calc", json!({"x": 1}), &runs, json!(41))
        .await
        .unwrap();
    let b = call(&hooks, "calc", json!({"x": 1}), &runs, json!(42))
        .await
        .unwrap();
    assert_eq!((a, b), (json!(41), json!(41)));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(cache.stats()["hits"], json!(1));
    // Another component is not matched, so not cached.
    call(&hooks, "other", json!({"x": 1}), &runs, json!(1))
        .await
        .unwrap();
    call(&hooks, "other", json!({"x": 1}), &runs, json!(1))
        .await
        .unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_cost_budget_from_options_blocks() {
    let hooks = Hooks::new();
    // Prices from the configuration (here an empty table plus the option).
    let cost = BuiltinHook::from_options(
        "cost_tracking",
        &json!({
            "prices": {"test-model": {"input_per_million": 1000000, "output_per_million": 0}},
            "budgets": [{"scope": "global", "limit": 2.0}],
        }),
        &PricingTable::empty(),
    )
    .unwrap();
    cost.register(&hooks).unwrap();
    let runs = AtomicUsize::new(0);
    let usage = json!({"gen_ai.request.model": "test-model", "gen_ai.usage.input_tokens": 1, "gen_ai.usage.output_tokens": 0});
    call(&hooks, "llm", json!({}), &runs, usage.clone())
        .await
        .unwrap();
    call(&hooks, "llm", json!({}), &runs, usage.clone())
        .await
        .unwrap();
    let err = call(&hooks, "llm", json!({}), &runs, usage)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("budget"), "{err}");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(cost.stats()["total_usd"], json!(2.0));
}

#[tokio::test]
async fn a_disabled_builtin_is_registered_off() {
    let hooks = Hooks::new();
    let rl = build("rate_limit", json!({"per_minute": 1, "enabled": false}));
    rl.register(&hooks).unwrap();
    let runs = AtomicUsize::new(0);
    for _ in 0..3 {
        call(&hooks, "calc", json!({}), &runs, json!(1))
            .await
            .unwrap();
    }
}
