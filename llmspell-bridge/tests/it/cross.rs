//! Hooks and events crossing Lua, JavaScript and Rust in one process: one
//! `GlobalContext`, a Lua engine and a JavaScript engine (on its own
//! thread), and Rust code.

use std::time::Duration;

use llmspell_bridge::{GlobalContext, JsConfig, JsEngine, LuaConfig, LuaEngine};
use llmspell_events::Language;
use serde_json::json;

fn engines() -> (GlobalContext, LuaEngine, JsEngine) {
    let context = GlobalContext::new();
    let lua = LuaEngine::new(context.clone(), LuaConfig::default()).unwrap();
    let js = JsEngine::new(context.clone(), JsConfig::default()).unwrap();
    (context, lua, js)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_javascript_hook_changes_the_parameters_of_a_lua_tool_call() {
    let (_, lua, js) = engines();
    js.eval(
        r#"globalThis.SEEN = [];
        Hook.register("BeforeToolExecution", (ctx) => {
            SEEN.push(ctx.language);
            return {type: "modified", data: {tool_name: ctx.data.tool_name,
                                             parameters: {expression: "20 + 22"}}};
        }, {name: "js-rewriter"})"#,
    )
    .await
    .unwrap();
    let out = lua
        .eval(r#"return Tool.invoke("calculator", {expression = "1 + 1"}).result"#)
        .await
        .unwrap();
    assert_eq!(out, json!(42));
    assert_eq!(
        js.eval("SEEN").await.unwrap(),
        json!(["lua"]),
        "the hook saw the Lua caller"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lua_hook_fires_when_javascript_invokes_a_tool() {
    let (_, lua, js) = engines();
    lua.eval(
        r#"CALLS = 0
        Hook.register("AfterToolExecution", function(ctx)
            CALLS = CALLS + 1
            local data = ctx.data
            data.result = {result = data.result.result + 1000, by = ctx.language}
            return {type = "modified", data = data}
        end)"#,
    )
    .await
    .unwrap();
    let out = js
        .eval(r#"(async () => await Tool.invoke("calculator", {expression: "1 + 2"}))()"#)
        .await
        .unwrap();
    assert_eq!(out, json!({"result": 1003, "by": "javascript"}));
    assert_eq!(lua.eval("return CALLS").await.unwrap(), json!(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_cross_both_ways_with_correlation_id_and_language() {
    let (context, lua, js) = engines();
    let mut rust_sub = context.event_bus().subscribe("cross.*").unwrap();
    let cid = "67e55044-10b1-426f-9247-bb680e5fe0c8";
    // Lua → JavaScript callback (and Rust)
    js.eval(
        r#"globalThis.GOT = [];
        Event.subscribe("cross.from_lua", (ev) => { GOT.push([ev.data.n, ev.language, ev.metadata.correlation_id]); });"#,
    )
    .await
    .unwrap();
    lua.eval(&format!(
        r#"for n = 1, 3 do Event.publish("cross.from_lua", {{n = n}}, {{correlation_id = "{cid}"}}) end"#
    ))
    .await
    .unwrap();
    js.run_pending_callbacks().await;
    assert_eq!(
        js.eval("GOT").await.unwrap(),
        json!([[1, "lua", cid], [2, "lua", cid], [3, "lua", cid]])
    );
    for n in 1..=3 {
        let ev = rust_sub.recv_timeout(Duration::from_secs(1)).await.unwrap();
        assert_eq!(ev.data["n"], json!(n));
        assert_eq!(ev.language, Language::Lua);
        assert_eq!(ev.metadata.correlation_id.unwrap().to_string(), cid);
    }
    // JavaScript → Lua callback (and Rust)
    lua.eval(
        r#"GOT = {}
        Event.subscribe("cross.from_js", function(ev)
            GOT[#GOT + 1] = ev.data.n .. ":" .. ev.language .. ":" .. ev.metadata.correlation_id
        end)"#,
    )
    .await
    .unwrap();
    js.eval(&format!(
        r#"(async () => {{ for (let n = 1; n <= 3; n++) await Event.publish("cross.from_js", {{n}}, {{correlation_id: "{cid}"}}); }})()"#
    ))
    .await
    .unwrap();
    lua.run_pending_callbacks().await;
    assert_eq!(
        lua.eval("return GOT").await.unwrap(),
        json!([
            format!("1:javascript:{cid}"),
            format!("2:javascript:{cid}"),
            format!("3:javascript:{cid}")
        ])
    );
    for n in 1..=3 {
        let ev = rust_sub.recv_timeout(Duration::from_secs(1)).await.unwrap();
        assert_eq!(ev.data["n"], json!(n));
        assert_eq!(ev.language, Language::JavaScript);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_of_both_languages_run_in_one_priority_order() {
    let (context, lua, js) = engines();
    lua.eval(
        r#"Hook.register("custom:order", function(ctx)
            local d = ctx.data; d.trail = (d.trail or "") .. "lua-high,"; return {type = "modified", data = d}
        end, "high")
        Hook.register("custom:order", function(ctx)
            local d = ctx.data; d.trail = d.trail .. "lua-low,"; return {type = "modified", data = d}
        end, "low")"#,
    )
    .await
    .unwrap();
    js.eval(
        r#"Hook.register("custom:order", (ctx) => ({type: "modified", data: {trail: ctx.data.trail + "js-highest,"}}), "highest");
        Hook.register("custom:order", async (ctx) => ({type: "modified", data: {trail: ctx.data.trail + "js-normal,"}}));"#,
    )
    .await
    .unwrap();
    // the first hook (highest) starts the trail from nothing
    let out = context
        .hooks()
        .notify(
            llmspell_hooks::HookPoint::custom("order"),
            llmspell_hooks::ComponentId::system(),
            llmspell_hooks::HookData::from_iter([("trail".to_owned(), json!(""))]),
        )
        .await;
    assert_eq!(
        out.1["trail"],
        json!("js-highest,lua-high,js-normal,lua-low,")
    );
    // the same from a script's Hook.fire
    let fired = lua
        .eval(r#"return Hook.fire("custom:order", {trail = ""}).data.trail"#)
        .await
        .unwrap();
    assert_eq!(fired, json!("js-highest,lua-high,js-normal,lua-low,"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_entrant_hooks_across_languages_do_not_deadlock() {
    let (_, lua, js) = engines();
    // A JS hook on calculator calls uuid_generator; a Lua hook on
    // uuid_generator calls the calculator again (guarded), whose JS hook
    // runs again — nested three levels across both engines.
    js.eval(
        r#"globalThis.DEPTH = 0;
        Hook.register("BeforeToolExecution", async (ctx) => {
            DEPTH += 1;
            if (DEPTH < 3) await Tool.invoke("uuid_generator", {});
        }, {match: "calculator", name: "js-nested"})"#,
    )
    .await
    .unwrap();
    lua.eval(
        r#"LUA_CALLS = 0
        Hook.register("BeforeToolExecution", function(ctx)
            LUA_CALLS = LUA_CALLS + 1
            Tool.invoke("calculator", {expression = "1"})
        end, {match = "uuid_generator", name = "lua-nested"})"#,
    )
    .await
    .unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        lua.eval(r#"return Tool.invoke("calculator", {expression = "2 + 2"}).result"#),
    )
    .await
    .expect("no deadlock")
    .unwrap();
    assert_eq!(out, json!(4));
    assert_eq!(js.eval("DEPTH").await.unwrap(), json!(3));
    assert_eq!(lua.eval("return LUA_CALLS").await.unwrap(), json!(2));
    // and started from JavaScript
    js.eval("DEPTH = 0").await.unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        js.eval(
            r#"(async () => (await Tool.invoke("calculator", {expression: "3 + 3"})).result)()"#,
        ),
    )
    .await
    .expect("no deadlock")
    .unwrap();
    assert_eq!(out, json!(6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_lua_events_reach_javascript_without_loss() {
    let (_, lua, js) = engines();
    js.eval(
        r#"globalThis.COUNT = 0; globalThis.LAST = 0; globalThis.ORDERED = true;
        Event.subscribe("bulk.*", (ev) => { COUNT++; if (ev.data.i !== LAST + 1) ORDERED = false; LAST = ev.data.i; });"#,
    )
    .await
    .unwrap();
    lua.eval(r#"for i = 1, 10000 do Event.publish("bulk.tick", {i = i}) end"#)
        .await
        .unwrap();
    // Each drain stops at the drain limit (5 s); a loaded machine may need
    // several. Nothing may be lost meanwhile.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        js.run_pending_callbacks().await;
        let count = js.eval("COUNT").await.unwrap();
        if count == json!(10000) || std::time::Instant::now() > deadline {
            break;
        }
    }
    assert_eq!(
        js.eval("[COUNT, ORDERED]").await.unwrap(),
        json!([10000, true])
    );
    assert_eq!(js.events().stats().dropped.total(), 0, "events dropped");
}
