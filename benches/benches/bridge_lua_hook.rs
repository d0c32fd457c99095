//! One Lua hook through `HookExecutor` against one native no-op hook
//! through the same kind of executor.
//!
//! Subject: a Lua function registered with `Hook.register` at
//! `BeforeToolExecution`; one dispatch converts the tool context (tool
//! name, parameters) to a Lua table, runs the function on a fresh coroutine
//! under the watchdog and the per-call time limit, and converts its `nil`
//! back to `Continue`. Baseline: a `hook_fn` no-op registered in its own
//! registry. Both are timed interleaved in one `iter_custom`; the absolute
//! figures are printed too.
//!
//! Budget: `ratio bridge/lua_hook_round_trip = lua / native <= 40`. The
//! baseline is tiny (a native no-op dispatch is ~60 ns on the 2-core CI
//! machine). The Lua side builds the context table lazily (a table, a
//! snapshot userdata and a shared metatable; fields are converted only when
//! the hook reads them), runs the function on a coroutine reused from the
//! engine's pool under the watchdog and converts the result back. The
//! absolute figures are printed next to the ratio.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::Criterion;
use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};
use llmspell_hooks::{
    hook_fn, ComponentId, ComponentType, HookContext, HookExecutor, HookOutcome, HookPoint,
    HookRegistry, HookResult,
};
use serde_json::json;

const BUDGET: f64 = 40.0;

fn tool_context(point: &HookPoint) -> HookContext {
    HookContext::builder(
        point.clone(),
        ComponentId::new(ComponentType::Tool, "calculator"),
    )
    .data("tool_name", json!("calculator"))
    .data("parameters", json!({"expression": "6 * 7"}))
    .build()
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let point = HookPoint::BeforeToolExecution;

    let lua_registry = Arc::new(HookRegistry::new());
    let context = GlobalContext::builder()
        .hook_registry(Arc::clone(&lua_registry))
        .build()
        .expect("context");
    let lua_executor = Arc::clone(context.hook_executor());
    let engine = LuaEngine::new(context, LuaConfig::default()).expect("engine");
    rt.block_on(
        engine.eval(r#"Hook.register("BeforeToolExecution", function(ctx) return nil end)"#),
    )
    .expect("register the Lua hook");

    let native_registry = Arc::new(HookRegistry::new());
    native_registry
        .register(point.clone(), hook_fn("noop", |_| Ok(HookResult::Continue)))
        .expect("register");
    let native_executor = HookExecutor::new(native_registry);

    let mut lua_ctx = tool_context(&point);
    let mut native_ctx = tool_context(&point);
    // Sanity: the Lua hook really runs and continues.
    assert_eq!(
        rt.block_on(lua_executor.execute(&point, &mut lua_ctx)),
        HookOutcome::Continue
    );
    assert_eq!(
        lua_registry.list(&Default::default())[0]
            .performance()
            .calls,
        1
    );

    if !bench_mode {
        rt.block_on(async {
            for _ in 0..10 {
                let _ = lua_executor.execute(&point, &mut lua_ctx).await;
                let _ = native_executor.execute(&point, &mut native_ctx).await;
            }
        });
        return;
    }

    let tally = llmspell_benches::Tally::new();
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("bridge/lua_hook_round_trip", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    let _ = black_box(lua_executor.execute(black_box(&point), &mut lua_ctx).await);
                }
                let s = t.elapsed();
                let t = Instant::now();
                for _ in 0..iters {
                    let _ = black_box(
                        native_executor
                            .execute(black_box(&point), &mut native_ctx)
                            .await,
                    );
                }
                let base = t.elapsed();
                tally.add_subject(s);
                tally.add_baseline(base);
                tally.add_count(iters);
                s
            })
        });
    });
    c.final_summary();
    let n = tally.count().max(1) as f64;
    println!(
        "bridge/lua_hook_round_trip: lua {:.0} ns, native {:.0} ns per dispatch",
        tally.subject().as_nanos() as f64 / n,
        tally.baseline().as_nanos() as f64 / n
    );
    tally.report("bridge/lua_hook_round_trip", BUDGET);
}
