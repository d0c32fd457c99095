//! JavaScript in the bridge: the hook round trip and cross-language events.
//!
//! 1. `bridge/js_hook_round_trip` (criterion): one JavaScript hook through
//!    `HookExecutor`, against a native no-op hook and against a Lua hook,
//!    timed interleaved in one `iter_custom`. A JavaScript dispatch sends
//!    the context (as JSON) to the engine's thread, converts it to a
//!    JavaScript object, calls the function, converts `undefined` back and
//!    replies over a oneshot channel: two thread hand-offs that neither the
//!    native nor the Lua hook (which runs on the caller's thread) pays.
//!    Budgets: `js / native <= 400` and `js / lua <= 15` (see
//!    docs/technical/javascript.md for the first measurements).
//! 2. `bridge/lua_to_js_event_p50`: a Lua `Event.publish` (called from Rust)
//!    reaching a JavaScript callback subscription, which publishes an
//!    acknowledgement that a Rust subscriber awaits. The same round trip
//!    with a Lua receiver is the baseline (`Lua → Lua`). p50 and p99 of
//!    both are printed; the acknowledgement makes each figure an upper
//!    bound of the one-way latency. Budget: p50 ratio <= 4.
//! 3. `bridge/lua_to_js_10k_events`: 10,000 events published by one Lua
//!    call and received by a JavaScript callback subscription with the
//!    default queue size, none lost (asserted: count, order, no drops),
//!    against the same 10,000 events into a Lua callback. Budget: time
//!    ratio <= 4.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use llmspell_bridge::{GlobalContext, JsConfig, JsEngine, LuaConfig, LuaEngine};
use llmspell_hooks::{
    hook_fn, ComponentId, ComponentType, HookContext, HookExecutor, HookOutcome, HookPoint,
    HookRegistry, HookResult,
};
use serde_json::json;

const HOOK_BUDGET_NATIVE: f64 = 400.0;
const HOOK_BUDGET_LUA: f64 = 15.0;
const EVENT_BUDGET: f64 = 4.0;
const BULK_BUDGET: f64 = 4.0;
const BULK: u64 = 10_000;

fn tool_context(point: &HookPoint) -> HookContext {
    HookContext::builder(
        point.clone(),
        ComponentId::new(ComponentType::Tool, "calculator"),
    )
    .data("tool_name", json!("calculator"))
    .data("parameters", json!({"expression": "6 * 7"}))
    .build()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// An executor with one hook of each kind, on registries of their own.
struct Hooks {
    js: Arc<HookExecutor>,
    lua: Arc<HookExecutor>,
    native: HookExecutor,
    _js_engine: JsEngine,
    _lua_engine: LuaEngine,
}

fn hooks(rt: &tokio::runtime::Runtime) -> Hooks {
    let js_context = GlobalContext::builder()
        .hook_registry(Arc::new(HookRegistry::new()))
        .build()
        .expect("context");
    let js = Arc::clone(js_context.hook_executor());
    let js_engine = JsEngine::new(js_context, JsConfig::default()).expect("js engine");
    rt.block_on(js_engine.eval(r#"Hook.register("BeforeToolExecution", (ctx) => undefined)"#))
        .expect("register the JavaScript hook");

    let lua_context = GlobalContext::builder()
        .hook_registry(Arc::new(HookRegistry::new()))
        .build()
        .expect("context");
    let lua = Arc::clone(lua_context.hook_executor());
    let lua_engine = LuaEngine::new(lua_context, LuaConfig::default()).expect("lua engine");
    rt.block_on(
        lua_engine.eval(r#"Hook.register("BeforeToolExecution", function(ctx) return nil end)"#),
    )
    .expect("register the Lua hook");

    let native_registry = Arc::new(HookRegistry::new());
    native_registry
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("noop", |_| Ok(HookResult::Continue)),
        )
        .expect("register");
    Hooks {
        js,
        lua,
        native: HookExecutor::new(native_registry),
        _js_engine: js_engine,
        _lua_engine: lua_engine,
    }
}

fn hook_round_trip(bench_mode: bool) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let point = HookPoint::BeforeToolExecution;
    let h = hooks(&rt);
    let (mut js_ctx, mut lua_ctx, mut native_ctx) = (
        tool_context(&point),
        tool_context(&point),
        tool_context(&point),
    );
    // Sanity: the JavaScript hook really runs and continues.
    assert_eq!(
        rt.block_on(h.js.execute(&point, &mut js_ctx)),
        HookOutcome::Continue
    );
    assert_eq!(
        h.js.registry().list(&Default::default())[0]
            .performance()
            .calls,
        1
    );
    if !bench_mode {
        rt.block_on(async {
            for _ in 0..10 {
                let _ = h.js.execute(&point, &mut js_ctx).await;
                let _ = h.lua.execute(&point, &mut lua_ctx).await;
                let _ = h.native.execute(&point, &mut native_ctx).await;
            }
        });
        return;
    }
    let vs_native = llmspell_benches::Tally::new();
    let vs_lua = llmspell_benches::Tally::new();
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("bridge/js_hook_round_trip", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    let _ = black_box(h.js.execute(black_box(&point), &mut js_ctx).await);
                }
                let js = t.elapsed();
                let t = Instant::now();
                for _ in 0..iters {
                    let _ = black_box(h.lua.execute(black_box(&point), &mut lua_ctx).await);
                }
                let lua = t.elapsed();
                let t = Instant::now();
                for _ in 0..iters {
                    let _ = black_box(h.native.execute(black_box(&point), &mut native_ctx).await);
                }
                let native = t.elapsed();
                vs_native.add_subject(js);
                vs_native.add_baseline(native);
                vs_native.add_count(iters);
                vs_lua.add_subject(js);
                vs_lua.add_baseline(lua);
                vs_lua.add_count(iters);
                js
            })
        });
    });
    c.final_summary();
    println!(
        "bridge/js_hook_round_trip: js {:.0} ns, lua {:.0} ns, native {:.0} ns per dispatch",
        vs_native.ns_per(vs_native.subject()),
        vs_lua.ns_per(vs_lua.baseline()),
        vs_native.ns_per(vs_native.baseline()),
    );
    vs_native.report("bridge/js_hook_round_trip", HOOK_BUDGET_NATIVE);
    vs_lua.report("bridge/js_hook_vs_lua_hook", HOOK_BUDGET_LUA);
}

/// A receiver of `bench.ping.<lang>` events that acknowledges each with
/// `bench.pong.<lang>` from its callback, and counts `bench.bulk.<lang>`
/// events (acknowledging the last with `bench.bulk_done.<lang>`: count,
/// order, drops) until `bench.stop` arrives.
const JS_RECEIVER: &str = r#"
let count = 0, last = 0, ordered = true;
Event.subscribe("bench.ping.js", async (ev) => { await Event.publish("bench.pong.js", { i: ev.data.i }); });
Event.subscribe("bench.bulk.js", async (ev) => {
    count++;
    if (ev.data.i !== last + 1) ordered = false;
    last = ev.data.i;
    if (ev.data.last) {
        await Event.publish("bench.bulk_done.js", { count, ordered });
        count = 0; last = 0; ordered = true;
    }
});
const stop = Event.subscribe("bench.stop");
await Event.publish("bench.ready.js", {});
await Event.receive(stop, 3600000);
"#;

const LUA_RECEIVER: &str = r#"
local count, last, ordered = 0, 0, true
Event.subscribe("bench.ping.lua", function(ev) Event.publish("bench.pong.lua", {i = ev.data.i}) end)
Event.subscribe("bench.bulk.lua", function(ev)
    count = count + 1
    if ev.data.i ~= last + 1 then ordered = false end
    last = ev.data.i
    if ev.data.last then
        Event.publish("bench.bulk_done.lua", {count = count, ordered = ordered})
        count, last, ordered = 0, 0, true
    end
end)
local stop = Event.subscribe("bench.stop")
Event.publish("bench.ready.lua", {})
Event.receive(stop, 3600000)
"#;

/// The publisher's functions, called from Rust.
const PUBLISHER: &str = r#"
function ping(a) Event.publish("bench.ping." .. a.to, {i = a.i}) end
function bulk(a)
    for i = 1, a.n do Event.publish("bench.bulk." .. a.to, {i = i, last = i == a.n}) end
end
"#;

fn cross_language_events(bench_mode: bool) {
    let samples = if bench_mode { 5_000 } else { 20 };
    let bulk = if bench_mode { BULK } else { 100 };
    let rounds = if bench_mode { 5 } else { 1 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let context = GlobalContext::new();
        let bus = context.event_bus().clone();
        let mut ready = bus.subscribe("bench.ready.*").expect("subscribe");
        let mut pong_js = bus.subscribe("bench.pong.js").expect("subscribe");
        let mut pong_lua = bus.subscribe("bench.pong.lua").expect("subscribe");
        let mut done_js = bus.subscribe("bench.bulk_done.js").expect("subscribe");
        let mut done_lua = bus.subscribe("bench.bulk_done.lua").expect("subscribe");

        let publisher = LuaEngine::new(context.clone(), LuaConfig::default()).expect("engine");
        publisher.eval(PUBLISHER).await.expect("publisher");
        let js = JsEngine::new(context.clone(), JsConfig::default()).expect("js engine");
        let lua = LuaEngine::new(context.clone(), LuaConfig::default()).expect("lua engine");
        let js_run = {
            let js = js.clone();
            tokio::spawn(async move { js.run_script(JS_RECEIVER, "receiver.js", &[]).await })
        };
        let lua_run = {
            let lua = lua.clone();
            tokio::spawn(async move { lua.run_script(LUA_RECEIVER, "receiver.lua", &[]).await })
        };
        for _ in 0..2 {
            ready.recv().await.expect("a receiver is ready");
        }

        // Latency: alternate Lua → JS and Lua → Lua samples.
        let (mut to_js, mut to_lua) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
        for i in 0..samples {
            let t = Instant::now();
            publisher.call_function("ping", &json!({"to": "js", "i": i})).await.expect("ping");
            let ev = pong_js.recv().await.expect("pong from js");
            to_js.push(t.elapsed());
            assert_eq!(ev.data["i"], json!(i));
            let t = Instant::now();
            publisher.call_function("ping", &json!({"to": "lua", "i": i})).await.expect("ping");
            let ev = pong_lua.recv().await.expect("pong from lua");
            to_lua.push(t.elapsed());
            assert_eq!(ev.data["i"], json!(i));
        }

        // Bulk: 10,000 events from one Lua call, into each receiver in turn.
        let (mut bulk_js, mut bulk_lua) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..rounds {
            let t = Instant::now();
            publisher.call_function("bulk", &json!({"to": "js", "n": bulk})).await.expect("bulk");
            let done = done_js.recv().await.expect("bulk done in js");
            bulk_js += t.elapsed();
            assert_eq!(done.data, json!({"count": bulk, "ordered": true}), "lost or reordered");
            let t = Instant::now();
            publisher.call_function("bulk", &json!({"to": "lua", "n": bulk})).await.expect("bulk");
            let done = done_lua.recv().await.expect("bulk done in lua");
            bulk_lua += t.elapsed();
            assert_eq!(done.data, json!({"count": bulk, "ordered": true}), "lost or reordered");
        }
        let dropped = js.events().stats().dropped.total();
        assert_eq!(dropped, 0, "the JavaScript subscriptions dropped events");

        bus.publish(llmspell_events::UniversalEvent::new("bench.stop", json!({})))
            .await
            .expect("stop");
        js_run.await.expect("js task").expect("js receiver");
        lua_run.await.expect("lua task").expect("lua receiver");
        if !bench_mode {
            return;
        }
        to_js.sort_unstable();
        to_lua.sort_unstable();
        let (j50, j99) = (percentile(&to_js, 0.50), percentile(&to_js, 0.99));
        let (l50, l99) = (percentile(&to_lua, 0.50), percentile(&to_lua, 0.99));
        println!(
            "bridge/lua_to_js_event: Lua → JS p50 {:.1} us p99 {:.1} us; Lua → Lua p50 {:.1} us p99 {:.1} us \
             (publish to acknowledgement, {samples} samples each)",
            us(j50), us(j99), us(l50), us(l99),
        );
        llmspell_benches::report_ratio("bridge/lua_to_js_event_p50", j50, l50, EVENT_BUDGET);
        println!(
            "bridge/lua_to_js_event_p99 ratio (informational) = {:.2}",
            j99.as_secs_f64() / l99.as_secs_f64().max(f64::MIN_POSITIVE)
        );
        let per = |d: Duration| d.as_secs_f64() * 1e3 / f64::from(rounds);
        println!(
            "bridge/lua_to_js_10k_events: {bulk} events Lua → JS {:.1} ms, Lua → Lua {:.1} ms per round \
             ({rounds} rounds; none lost, in order, 0 dropped)",
            per(bulk_js), per(bulk_lua),
        );
        llmspell_benches::report_ratio("bridge/lua_to_js_10k_events", bulk_js, bulk_lua, BULK_BUDGET);
    });
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    hook_round_trip(bench_mode);
    cross_language_events(bench_mode);
}
