//! Latency from a Lua `Event.publish` to a Rust subscriber, against a
//! native `EventBus::publish` to the same kind of subscriber.
//!
//! Each sample: take the time, call the script function
//! `publish(i)` (which runs `Event.publish("bench.lua", {i = i})`) from Rust,
//! then await the event on a Rust `Subscription`; the baseline publishes a
//! `UniversalEvent` with the same data from Rust and awaits it the same way.
//! Samples alternate between the two. p50 and p99 of both are printed, and
//! the ratio line compares the p50s.
//!
//! Budget: `ratio bridge/lua_event_p50 = lua p50 / native p50 <= 20`:
//! the Lua path adds the call into the script and the Lua-to-JSON
//! conversion of the payload to the native publish.

use std::time::{Duration, Instant};

use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};
use llmspell_events::UniversalEvent;
use serde_json::json;

const BUDGET: f64 = 20.0;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let samples = if bench_mode { 20_000 } else { 50 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let context = GlobalContext::new();
        let bus = context.event_bus().clone();
        let mut lua_sub = bus.subscribe("bench.lua").expect("subscribe");
        let mut native_sub = bus.subscribe("bench.native").expect("subscribe");
        let engine = LuaEngine::new(context, LuaConfig::default()).expect("engine");
        engine
            .eval(r#"function publish(i) Event.publish("bench.lua", {i = i}) end"#)
            .await
            .expect("define publish");

        let mut lua = Vec::with_capacity(samples);
        let mut native = Vec::with_capacity(samples);
        for i in 0..samples {
            let t = Instant::now();
            engine
                .call_function("publish", &json!(i))
                .await
                .expect("lua publish");
            let ev = lua_sub.recv().await.expect("lua event");
            lua.push(t.elapsed());
            assert_eq!(ev.data["i"], json!(i));

            let t = Instant::now();
            bus.publish(UniversalEvent::new("bench.native", json!({"i": i})))
                .await
                .expect("native publish");
            let ev = native_sub.recv().await.expect("native event");
            native.push(t.elapsed());
            assert_eq!(ev.data["i"], json!(i));
        }
        if !bench_mode {
            return;
        }
        lua.sort_unstable();
        native.sort_unstable();
        let (l50, l99) = (percentile(&lua, 0.50), percentile(&lua, 0.99));
        let (n50, n99) = (percentile(&native, 0.50), percentile(&native, 0.99));
        println!(
            "bridge/lua_event_latency: lua p50 {:.1} us p99 {:.1} us; native p50 {:.1} us p99 {:.1} us ({samples} samples each)",
            l50.as_secs_f64() * 1e6,
            l99.as_secs_f64() * 1e6,
            n50.as_secs_f64() * 1e6,
            n99.as_secs_f64() * 1e6,
        );
        llmspell_benches::report_ratio("bridge/lua_event_p50", l50, n50, BUDGET);
        println!(
            "bridge/lua_event_p99 ratio (informational) = {:.2}",
            l99.as_secs_f64() / n99.as_secs_f64().max(f64::MIN_POSITIVE)
        );
    });
}
