//! JavaScript test scripts under `tests/js/` of the repository (twins of
//! the `tests/lua/` scripts), each asserting, plus the Rust side they need.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use llmspell_bridge::{BridgeError, GlobalContext, JsConfig, JsEngine};
use llmspell_hooks::{ComponentId, ComponentType, HookContext, HookOutcome, HookPoint};
use serde_json::json;

pub(crate) fn script(name: &str) -> (String, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/js")
        .join(name);
    let source = std::fs::read_to_string(&path).unwrap();
    (source, path.display().to_string())
}

pub(crate) async fn run(engine: &JsEngine, name: &str) -> serde_json::Value {
    run_with(engine, name, &[]).await
}

/// Runs `tests/js/<name>` with `args` (the script's `scriptArgs.slice(1)`).
pub(crate) async fn run_with(engine: &JsEngine, name: &str, args: &[String]) -> serde_json::Value {
    let (source, path) = script(name);
    match engine.run_script(&source, &path, args).await {
        Ok(v) => v,
        Err(e) => panic!("{name} failed:\n{e}"),
    }
}

fn engine_on(context: GlobalContext) -> JsEngine {
    JsEngine::new(context, JsConfig::default()).unwrap()
}

fn ctx(point: HookPoint, component: &str) -> HookContext {
    HookContext::builder(point, ComponentId::new(ComponentType::Tool, component))
        .data("value", json!(41))
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_script_registers_real_hooks() {
    let context = GlobalContext::new();
    let registry = Arc::clone(context.hook_registry());
    let executor = Arc::clone(context.hook_executor());
    let engine = engine_on(context);
    assert_eq!(run(&engine, "hooks.js").await, json!(2));
    assert_eq!(registry.len(), 2, "unregistered hooks left the registry");

    // The JavaScript hook really runs, from Rust on another thread, with
    // the matcher applied.
    let point = HookPoint::custom("my_point");
    let mut c = ctx(point.clone(), "calculator");
    assert_eq!(
        executor.execute(&point, &mut c).await,
        HookOutcome::Continue
    );
    assert_eq!(c.data["value"], json!(42));
    assert_eq!(c.data["seen"], json!("custom:my_point"));
    let mut other = ctx(point.clone(), "web_fetch");
    let _ = executor.execute(&point, &mut other).await;
    assert_eq!(
        other.data["value"],
        json!(41),
        "matcher `calc*` excludes web_fetch"
    );

    // Dropping the engine removes its hooks from the shared registry at once.
    drop(engine);
    assert_eq!(registry.len(), 0);
    // A hook kept by a Rust caller fails cleanly once the engine is gone.
    assert_eq!(
        executor.execute(&point, &mut c).await,
        HookOutcome::Continue
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_script_runs() {
    for name in [
        "hook_results.js",
        "hook_fire.js",
        "tools.js",
        "sandbox.js",
        "event_hooks.js",
        "limits.js",
        "workflows.js",
        "options.js",
    ] {
        let engine = engine_on(GlobalContext::new());
        assert_eq!(run(&engine, name).await, json!("ok"), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_script() {
    let ctx = GlobalContext::new();
    let bus = ctx.event_bus().clone();
    let mut rust_sub = bus.subscribe("demo.*").unwrap();
    let engine = engine_on(ctx);
    assert_eq!(run(&engine, "events.js").await, json!("ok"));
    // A Rust subscriber got the JavaScript-published events too.
    let first = rust_sub.recv_timeout(Duration::from_secs(1)).await.unwrap();
    assert_eq!(first.event_type, "demo.created");
    assert_eq!(first.language, llmspell_events::Language::JavaScript);
    // Late callbacks (of publishes the script did not await) were drained.
    let seen = engine.eval("RESULT_SEEN").await.unwrap();
    assert_eq!(seen, json!([1, 2, 3]));
    assert_eq!(bus.subscription_count(), 2);
    drop(engine);
    assert_eq!(
        bus.subscription_count(),
        1,
        "dropping the engine frees its subscriptions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convert_script_integers_floats_dates_and_refusals() {
    let ctx = GlobalContext::new();
    let mut rust_sub = ctx.event_bus().subscribe("convert.values").unwrap();
    let engine = engine_on(ctx);
    let out = run(&engine, "convert.js").await;
    assert_eq!(
        out,
        json!({"int": 3, "float": 2.5, "list": [1, 2], "obj": {}})
    );
    assert!(out["int"].is_i64() && out["float"].is_f64());
    let ev = rust_sub.recv_timeout(Duration::from_secs(1)).await.unwrap();
    assert!(ev.data["int"].is_i64() && ev.data["whole"].is_i64() && ev.data["float"].is_f64());
    assert_eq!(ev.data["when"], json!("2026-11-25T10:00:00.000Z"));
    assert!(ev.data.get("skipped").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_parent_script_sees_the_parent_context() {
    let context = GlobalContext::new();
    let engine = engine_on(context.clone());
    assert_eq!(run(&engine, "hook_parent.js").await, json!("registered"));

    let parent = HookContext::builder(
        HookPoint::BeforeAgentExecution,
        ComponentId::new(ComponentType::Agent, "writer"),
    )
    .build();
    let options = llmspell_tools::InvokeOptions::new().parent(parent.clone());
    let r = context
        .tools()
        .invoke_with("calculator", json!({"expression": "2 * 3"}), &options)
        .await
        .unwrap();
    assert_eq!(r.result["result"], json!(6));
    let point = HookPoint::custom("child");
    let mut child = HookContext::builder(point.clone(), ComponentId::system())
        .parent(parent.clone())
        .build();
    let _ = context.hook_executor().execute(&point, &mut child).await;

    let expected = json!({
        "point": "BeforeAgentExecution",
        "component_type": "agent",
        "component_name": "writer",
        "component_id": parent.component.id.to_string(),
        "correlation_id": parent.correlation_id.to_string(),
    });
    assert_eq!(
        engine.call_function("check", &expected).await.unwrap(),
        json!("ok")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_the_javascript_stack_and_limits_their_kind() {
    let engine = engine_on(GlobalContext::new());
    let err = engine
        .run_script(
            "function f() { g() }\nfunction g() { null.x }\nf()",
            "stack.js",
            &[],
        )
        .await
        .unwrap_err();
    let BridgeError::Script { chunk, message } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(chunk, "stack.js");
    assert!(message.starts_with("TypeError"), "{message}");
    assert!(
        message.contains("at g") && message.contains("at f"),
        "{message}"
    );
    // an uncaught rejection of the top-level promise
    let err = engine
        .run_script(
            "await Promise.reject(new RangeError('nope'))",
            "reject.js",
            &[],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("RangeError: nope"), "{err}");
    // a syntax error names the place
    let err = engine
        .run_script("let = ;", "syntax.js", &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("syntax.js"), "{err}");
    // a runaway main script is stopped by the loop limit; the engine goes on
    let fast = JsEngine::new(
        GlobalContext::new(),
        JsConfig::default().with_script_loop_limit(100_000),
    )
    .unwrap();
    let err = fast.eval("for (;;) {}").await.unwrap_err();
    assert!(
        matches!(&err, BridgeError::ResourceLimit { resource, .. } if *resource == "loop_iterations"),
        "{err:?}"
    );
    assert_eq!(fast.eval("40 + 2").await.unwrap(), json!(42));
    // the script time limit applies where the script waits
    let timed = JsEngine::new(
        GlobalContext::new(),
        JsConfig::default().with_script_timeout(Some(Duration::from_millis(100))),
    )
    .unwrap();
    let err = timed.eval("new Promise(() => {})").await.unwrap_err();
    assert!(matches!(err, BridgeError::Timeout { .. }), "{err:?}");
    assert_eq!(
        timed.eval("'still usable'").await.unwrap(),
        json!("still usable")
    );
    // a missing function
    let err = engine
        .call_function("nope", &json!(null))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is not a function"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_imports_siblings_and_sees_args() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("lib.js"),
        "export const twice = (x) => x * 2;",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(
        dir.path().join("sub/more.js"),
        "export { twice } from '../lib.js';",
    )
    .unwrap();
    let main = dir.path().join("main.js");
    let source = "import { twice } from './sub/more.js';\nexport default { v: twice(21), args: scriptArgs.slice(1) };";
    std::fs::write(&main, source).unwrap();
    let engine = engine_on(GlobalContext::new());
    let out = engine
        .run_script(source, &main.display().to_string(), &["a".to_owned()])
        .await
        .unwrap();
    assert_eq!(out, json!({"v": 42, "args": ["a"]}));
    // a script without a directory cannot import
    let err = engine
        .run_script("import './lib.js';", "inline", &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no directory"), "{err}");
}

#[test]
fn js_engine_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<JsEngine>();
    assert_send_sync::<JsConfig>();
}

/// `tests/js/state.js`: every State and Session function and every state
/// hook point's effect from JavaScript, in a context with a session, as
/// `llmspell run` gives it (the twin of `state_script` for Lua).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_script() {
    use llmspell_state::Scope;

    let context = GlobalContext::new();
    let session = context.sessions().start(Some("state.js")).await.unwrap();
    context.set_session(Some(session.clone()));
    let engine = engine_on(context.clone());
    assert_eq!(run(&engine, "state.js").await, json!("ok"));
    // The values are in the context's state, for Rust (and Lua) to read.
    let state = context.state();
    assert_eq!(
        state.get(&Scope::Global, "cas").await.unwrap(),
        Some(json!("second"))
    );
    assert_eq!(
        state
            .get(&Scope::script("state").unwrap(), "shout")
            .await
            .unwrap(),
        Some(json!("HELLO"))
    );
    assert_eq!(
        state.get(&session.scope(), "step").await.unwrap(),
        Some(json!(1))
    );
    let checkpoints = context.sessions().checkpoints(session.id()).await.unwrap();
    assert_eq!(checkpoints.len(), 2);
    assert_eq!(checkpoints[0].name, "after step 1");
    // A migration function of a dropped engine fails cleanly.
    state.set(&Scope::Global, "late:1", json!(1)).await.unwrap();
    engine
        .eval(r#"State.migrate("late:", 1, 2, (v) => v + 1); null"#)
        .await
        .unwrap();
    drop(engine);
    let err = state.get(&Scope::Global, "late:1").await.unwrap_err();
    assert!(err.to_string().contains("JavaScript"), "{err}");
}

/// Without a session, `Session.id()` is null and the session scope and
/// checkpoints are clear errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_without_a_session() {
    let engine = engine_on(GlobalContext::new());
    let out = engine
        .eval(
            r#"(async () => {
                if (Session.id() !== null || (await Session.info()) !== null) throw new Error("a session");
                let msg = "";
                try { await State.set("k", 1, "session"); } catch (e) { msg = e.message; }
                if (!msg.includes("needs an active session")) throw new Error(msg);
                try { await Session.checkpoint(); } catch (e) { msg = e.message; }
                if (!msg.includes("no session is active")) throw new Error(msg);
                return State.set("k", 1);
            })()"#,
        )
        .await
        .unwrap();
    assert_eq!(out, json!(1));
}

/// `tests/js/all_tools.js`: every registered tool through `Tool.invoke`
/// from JavaScript, with the fixtures and loopback server of
/// `all_tools.lua`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_tools_script_reaches_every_tool() {
    let fixture = crate::scripts::AllToolsFixture::new().await;
    let engine = engine_on(fixture.context.clone());
    assert_eq!(
        run_with(&engine, "all_tools.js", &fixture.args()).await,
        json!("ok")
    );
    fixture.check();
}

/// `tests/js/network_tools.js`: the nine web tools from JavaScript against
/// the loopback server of `network_tools.lua`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_tools_script_calls_the_nine_web_tools() {
    let (server, ctx) = crate::scripts::network_fixture().await;
    let engine = engine_on(ctx);
    assert_eq!(
        run_with(&engine, "network_tools.js", &[server.url("")]).await,
        json!("ok")
    );
    crate::scripts::check_network_calls(&server);
}

/// `tests/js/rs_llmspell_tools.js`: rs-llmspell's tool calls from
/// JavaScript, results with the `text` / `success` view.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs_llmspell_tool_scripts_run_unchanged() {
    let (dir, root, ctx) = crate::scripts::file_root_context();
    let engine = engine_on(ctx);
    assert_eq!(
        run_with(
            &engine,
            "rs_llmspell_tools.js",
            &[root.display().to_string()]
        )
        .await,
        json!("ok")
    );
    crate::scripts::check_rs_llmspell_files(&root);
    drop(dir);
}

/// `tests/js/builtin_hooks.js`: `Hook.use` and the eight built-in hooks'
/// effects from JavaScript.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_hooks_from_hook_use() {
    let context = GlobalContext::new();
    let registry = Arc::clone(context.hook_registry());
    let engine = engine_on(context);
    assert_eq!(run(&engine, "builtin_hooks.js").await, json!("ok"));
    assert_eq!(registry.len(), 0, "every Hook.use handle was unregistered");
}
