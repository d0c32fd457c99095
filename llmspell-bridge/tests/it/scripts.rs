//! Lua test scripts under `tests/lua/` of the repository, each asserting
//! with `assert`, plus the Rust side they need.

use std::path::PathBuf;
use std::time::Duration;

use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};
use serde_json::json;

pub(crate) fn script(name: &str) -> (String, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/lua")
        .join(name);
    let source = std::fs::read_to_string(&path).unwrap();
    (source, path.display().to_string())
}

pub(crate) async fn run(engine: &LuaEngine, name: &str) -> serde_json::Value {
    let (source, chunk) = script(name);
    match engine.run_script(&source, &chunk, &[]).await {
        Ok(v) => v,
        Err(e) => panic!("{name} failed:\n{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_script() {
    let ctx = GlobalContext::new();
    let bus = ctx.event_bus().clone();
    let mut rust_sub = bus.subscribe("demo.*").unwrap();
    let engine = LuaEngine::new(ctx, LuaConfig::default()).unwrap();
    assert_eq!(run(&engine, "events.lua").await, json!("ok"));
    // A Rust subscriber got the Lua-published events too.
    let first = rust_sub.recv_timeout(Duration::from_secs(1)).await.unwrap();
    assert_eq!(first.event_type, "demo.created");
    assert_eq!(first.language, llmspell_events::Language::Lua);
    // Late callbacks were drained at script end.
    let seen = engine.eval("return RESULT_SEEN").await.unwrap();
    assert_eq!(seen, json!([1, 2, 3]));
    // Only the script's one remaining subscription and the Rust one remain.
    assert_eq!(bus.subscription_count(), 2);
    drop(engine);
    assert_eq!(
        bus.subscription_count(),
        1,
        "dropping the engine frees its subscriptions"
    );
}
