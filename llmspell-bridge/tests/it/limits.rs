use std::time::{Duration, Instant};

use llmspell_bridge::{BridgeError, LuaConfig};
use serde_json::json;

use super::engine_with;

fn limited(ms: u64) -> LuaConfig {
    LuaConfig::default().with_script_timeout(Some(Duration::from_millis(ms)))
}

#[tokio::test]
async fn infinite_loop_is_stopped() {
    let e = engine_with(limited(100));
    let start = Instant::now();
    let err = e.eval("while true do end").await.unwrap_err();
    assert!(matches!(err, BridgeError::Timeout { .. }), "{err}");
    assert!(start.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn pcall_wrapped_infinite_loop_is_stopped_and_state_stays_usable() {
    let e = engine_with(limited(100));
    let err = e
        .eval("while true do pcall(function() while true do end end) end")
        .await
        .unwrap_err();
    assert!(matches!(err, BridgeError::Timeout { .. }), "{err}");
    // The same state runs the next script normally.
    assert_eq!(e.eval("return 6 * 7").await.unwrap(), json!(42));
}

#[tokio::test]
async fn loop_inside_a_script_coroutine_is_stopped() {
    let e = engine_with(limited(100));
    let err = e
        .eval(
            "local co = coroutine.wrap(function() while true do end end)
             while true do pcall(co) end",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, BridgeError::Timeout { .. }), "{err}");
    assert_eq!(e.eval("return 1").await.unwrap(), json!(1));
}

#[tokio::test]
async fn loop_in_a_non_yieldable_place_is_stopped() {
    let e = engine_with(limited(100));
    let err = e
        .eval("local t = {3, 1, 2} table.sort(t, function(a, b) while true do end end)")
        .await
        .unwrap_err();
    assert!(matches!(err, BridgeError::Timeout { .. }), "{err}");
}

#[tokio::test]
async fn script_coroutines_are_not_disturbed_by_the_limit_hook() {
    let e = engine_with(limited(5_000));
    // A long-running coroutine must see only its own yields.
    let out = e
        .eval(
            "local co = coroutine.create(function()
                local s = 0
                for i = 1, 200000 do s = s + i end
                coroutine.yield(s)
                return 'done'
             end)
             local ok1, v1 = coroutine.resume(co)
             local ok2, v2 = coroutine.resume(co)
             return {ok1, v1, ok2, v2}",
        )
        .await
        .unwrap();
    assert_eq!(out, json!([true, 20000100000_i64, true, "done"]));
}

#[tokio::test]
async fn memory_limit_stops_allocation() {
    let e = engine_with(LuaConfig::default().with_memory_limit(Some(8 * 1024 * 1024)));
    let err = e
        .eval("local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1024) .. i end")
        .await
        .unwrap_err();
    assert!(matches!(err, BridgeError::MemoryLimit { .. }), "{err}");
    // pcall sees the memory error as an error value too, and the state recovers.
    let out = e
        .eval("collectgarbage() local ok = pcall(string.rep, 'x', 64 * 1024 * 1024) return ok")
        .await
        .unwrap();
    assert_eq!(out, json!(false));
    assert_eq!(
        e.eval("return 'still alive'").await.unwrap(),
        json!("still alive")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_callbacks_at_script_end_stops_at_the_drain_limit() {
    let e = engine_with(LuaConfig::default().with_drain_limit(Duration::from_millis(300)));
    let mut done = e.context().event_bus().subscribe("slow.done").unwrap();
    let start = Instant::now();
    e.eval(
        r#"
        Event.subscribe("slow.ev", function(ev)
            local t = os.clock()
            while os.clock() - t < 0.05 do end
            Event.publish("slow.done", {i = ev.data.i})
        end)
        for i = 1, 40 do Event.publish("slow.ev", {i = i}) end
    "#,
    )
    .await
    .unwrap();
    let elapsed = start.elapsed();
    let mut delivered = 0;
    while done.try_recv().is_some() {
        delivered += 1;
    }
    assert!(delivered >= 1, "some callbacks ran at script end");
    assert!(
        delivered < 40,
        "the drain limit stopped the drain: {delivered}"
    );
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

/// Records the data of every `ResourceLimitExceeded` of `engine`'s context.
fn limit_reports(
    engine: &llmspell_bridge::LuaEngine,
) -> std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>> {
    use llmspell_hooks::{hook_fn, HookPoint, HookResult};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    engine
        .context()
        .hooks()
        .register(
            HookPoint::ResourceLimitExceeded,
            hook_fn("record", move |ctx| {
                assert_eq!(ctx.component.name, "lua");
                s.lock().unwrap().push(serde_json::Value::Object(
                    ctx.data.clone().into_iter().collect(),
                ));
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    seen
}

#[tokio::test]
async fn every_limit_fires_resource_limit_exceeded() {
    let e = engine_with(limited(100).with_memory_limit(Some(16 * 1024 * 1024)));
    let seen = limit_reports(&e);
    e.eval("while true do end").await.unwrap_err();
    e.eval(
        r#"Hook.register("BeforeToolExecution", function() while true do end end,
                         {name = "spinner", timeout_ms = 50})"#,
    )
    .await
    .unwrap();
    let out = e
        .context()
        .tools()
        .invoke("calculator", json!({"expression": "1"}))
        .await
        .unwrap();
    assert_eq!(out["result"], json!(1));
    e.eval("local s = string.rep('x', 32 * 1024 * 1024)")
        .await
        .unwrap_err();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            json!({"resource": "script_time", "limit": 100, "what": "eval"}),
            json!({"resource": "hook_time", "limit": 50, "what": "hook `spinner`"}),
            json!({"resource": "script_memory", "limit": 16 * 1024 * 1024, "what": "eval"}),
        ]
    );
}

#[tokio::test]
async fn a_coroutine_pcall_loop_and_a_looping_message_handler_are_stopped() {
    // Issue 12, items 1 and 3: both ran forever before.
    for script in [
        "local co = coroutine.wrap(function() while true do pcall(function() while true do end end) end end) co()",
        "xpcall(error, function() while true do end end)",
        "xpcall(error, function() while true do pcall(function() while true do end end) end end)",
        "while true do pcall(error) end",
    ] {
        let e = engine_with(limited(100));
        let start = Instant::now();
        let err = e.eval(script).await.unwrap_err();
        assert!(matches!(err, BridgeError::Timeout { .. }), "{script}: {err}");
        assert!(start.elapsed() < Duration::from_secs(3), "{script}");
        assert_eq!(e.eval("return 1").await.unwrap(), json!(1), "{script}");
    }
}

#[tokio::test]
async fn guarded_pcall_and_xpcall_behave_as_the_originals() {
    let e = super::engine();
    let out = e
        .eval(
            r##"
            local a = {pcall(function(x, y) return x + y, "two" end, 1, 2)}
            local b = {pcall(error, {code = 7})}
            local c = {xpcall(function() error("boom", 0) end, function(m) return "handled: " .. m end)}
            local d = {xpcall(function(...) return select("#", ...) end, print, nil, nil)}
            local ok, err = pcall(xpcall, function() end, 42)
            return {a[1], a[2], a[3], b[1], b[2].code, c[1], c[2], d[1], d[2], ok, err}
            "##,
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        json!([
            true,
            3,
            "two",
            false,
            7,
            false,
            "handled: boom",
            true,
            2,
            false,
            "bad argument #2 to 'xpcall' (function expected, got number)"
        ])
    );
}

#[tokio::test]
async fn a_runaway_the_hook_cannot_reach_discards_the_engine_and_the_caller_gets_an_error() {
    // Lua runs `__gc` finalisers with the instruction hook off: this one
    // cannot be interrupted (it ends by itself after 3 s, so the test
    // leaves no thread spinning).
    let e = engine_with(limited(200).with_runaway_grace(Duration::from_millis(300)));
    let seen = limit_reports(&e);
    e.eval(r#"Hook.register("custom:mine", function() end) Event.subscribe("x.*")"#)
        .await
        .unwrap();
    let start = Instant::now();
    let err = e
        .eval(
            "setmetatable({}, {__gc = function()
                local t = os.clock() while os.clock() - t < 3 do end
             end})
             collectgarbage()
             while true do end",
        )
        .await
        .unwrap_err();
    let elapsed = start.elapsed();
    assert!(matches!(err, BridgeError::Runaway { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("exceeded its time limit of 200ms and could not be stopped within 300ms"),
        "{err}"
    );
    assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");
    assert!(e.is_discarded());
    let later = e.eval("return 1").await.unwrap_err();
    assert!(
        matches!(later, BridgeError::EngineDiscarded { .. }),
        "{later}"
    );
    // Its hooks and subscriptions are gone from the shared registry and bus.
    assert!(e
        .context()
        .hook_registry()
        .list(&Default::default())
        .iter()
        .all(|h| h.metadata().name == "record"));
    assert_eq!(e.context().event_bus().stats().active_subscriptions, 0);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.last(),
        Some(&json!({"resource": "script_time", "limit": 200, "what": "eval", "discarded": true}))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_fired_from_another_thread_while_lua_cannot_be_interrupted_keeps_its_time_limit() {
    // The script sits in a finaliser (instruction hook off) for 1.5 s. A tool
    // call on another thread fires the script's hook: it must wait for the
    // engine asynchronously and time out at its 200 ms, not block on the
    // Lua lock until the finaliser ends.
    let e = super::engine();
    let tools = std::sync::Arc::clone(e.context().tools());
    let mut ready = e.context().event_bus().subscribe("test.ready").unwrap();
    let rust_side = tokio::spawn(async move {
        ready.recv_timeout(Duration::from_secs(10)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let start = Instant::now();
        let r = tools
            .invoke("calculator", json!({"expression": "20 + 22"}))
            .await
            .unwrap();
        (r, start.elapsed())
    });
    let out = e
        .eval(
            r#"Hook.register("BeforeToolExecution", function() end, {name = "waiting", timeout_ms = 200})
               Event.publish("test.ready", {})
               setmetatable({}, {__gc = function()
                   local t = os.clock() while os.clock() - t < 1.5 do end
               end})
               collectgarbage()
               return Hook.list("BeforeToolExecution")[1].timeouts"#,
        )
        .await
        .unwrap();
    let (r, elapsed) = rust_side.await.unwrap();
    assert_eq!(r["result"], json!(42));
    assert!(elapsed < Duration::from_millis(1000), "{elapsed:?}");
    assert_eq!(out, json!(1), "the hook call timed out waiting");
}

#[tokio::test]
async fn dropping_a_call_stops_the_script() {
    // The script runs on the engine's runner thread; an application that
    // gives up on the call (its own timeout, a signal) must not leave it
    // running in the background.
    let e = engine_with(LuaConfig::default());
    let gave_up = tokio::time::timeout(
        Duration::from_millis(200),
        e.eval("n = 0 while true do n = n + 1 end"),
    )
    .await;
    assert!(gave_up.is_err(), "the loop never ends by itself");
    let read = || async {
        tokio::time::timeout(Duration::from_secs(10), e.eval("return n"))
            .await
            .expect("the engine stayed busy: the loop went on after its call was dropped")
            .unwrap()
    };
    let first = read().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = read().await;
    assert!(first.as_i64().unwrap() > 0, "{first}");
    assert_eq!(first, second, "the loop went on after its call was dropped");
}
