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

mod hooks {
    use std::sync::Arc;
    use std::time::Duration;

    use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};
    use llmspell_hooks::{ComponentId, ComponentType, HookContext, HookOutcome, HookPoint};
    use serde_json::json;

    use super::run;

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
        let engine = LuaEngine::new(context, LuaConfig::default()).unwrap();
        assert_eq!(run(&engine, "hooks.lua").await, json!(2));
        assert_eq!(registry.len(), 2, "unregistered hooks left the registry");

        // The Lua hook really runs, from Rust, with the matcher applied.
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

        // Dropping the engine removes its hooks from the shared registry.
        drop(engine);
        assert_eq!(registry.len(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lua_hook_fires_from_another_thread_while_the_script_waits() {
        let context = GlobalContext::new();
        let executor = Arc::clone(context.hook_executor());
        let bus = context.event_bus().clone();
        let engine = LuaEngine::new(context, LuaConfig::default()).unwrap();
        // A Rust task on another worker waits for the script's signal, fires
        // the hook (which runs Lua while the script is inside
        // Event.receive), then answers with the hook's outcome.
        let mut ready = bus.subscribe("test.ready").unwrap();
        let fire = tokio::spawn(async move {
            ready.recv_timeout(Duration::from_secs(5)).await.unwrap();
            let thread = std::thread::current().id();
            let mut c = ctx(HookPoint::BeforeToolExecution, "calculator");
            let outcome = executor
                .execute(&HookPoint::BeforeToolExecution, &mut c)
                .await;
            bus.publish(llmspell_events::UniversalEvent::new(
                "test.fired",
                json!({"outcome": format!("{outcome:?}"), "value": c.data["value"]}),
            ))
            .await
            .unwrap();
            thread
        });
        let out = engine
            .eval(
                r#"
                local calls = 0
                Hook.register("BeforeToolExecution", function(ctx)
                    calls = calls + 1
                    return {type = "modified", data = {value = ctx.data.value * 2}}
                end)
                local sub = Event.subscribe("test.fired")
                Event.publish("test.ready", {})
                local ev = Event.receive(sub, 5000)
                assert(ev, "the Rust task answered")
                return {calls = calls, value = ev.data.value, outcome = ev.data.outcome}
            "#,
            )
            .await
            .unwrap();
        let hook_thread = fire.await.unwrap();
        assert_ne!(
            hook_thread,
            std::thread::current().id(),
            "the hook ran on a runtime worker, not the script's thread"
        );
        assert_eq!(out["calls"], json!(1));
        assert_eq!(out["value"], json!(82));
        assert_eq!(out["outcome"], json!("Continue"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runaway_hook_is_stopped_reported_and_counted_by_its_breaker() {
        let context = GlobalContext::new();
        let registry = Arc::clone(context.hook_registry());
        let executor = Arc::clone(context.hook_executor());
        let engine = LuaEngine::new(context, LuaConfig::default()).unwrap();
        engine
            .eval(
                r#"
                Hook.register("BeforeToolExecution", function(ctx)
                    while true do pcall(function() while true do end end) end
                end, {name = "spinner", timeout_ms = 100})
                Hook.register("AfterToolExecution", function(ctx)
                    return 12345
                end, {name = "confused"})
                Hook.register("ToolError", function(ctx)
                    error("hook exploded")
                end, {name = "thrower", fail_closed = true})
            "#,
            )
            .await
            .unwrap();
        // Stopped: the operation goes on (fail-open) within the limit.
        let start = std::time::Instant::now();
        let mut c = ctx(HookPoint::BeforeToolExecution, "calculator");
        let outcome = executor
            .execute(&HookPoint::BeforeToolExecution, &mut c)
            .await;
        assert_eq!(outcome, HookOutcome::Continue);
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        let spinner = registry
            .list(&llmspell_hooks::HookFilter::new().point(HookPoint::BeforeToolExecution))
            .remove(0);
        let perf = spinner.performance();
        assert_eq!(perf.calls, 1);
        assert_eq!(perf.timeouts, 1, "{perf:?}");
        assert_eq!(
            spinner.breaker().window_totals().1,
            1,
            "the breaker saw a failure"
        );
        // The state is usable afterwards.
        assert_eq!(engine.eval("return 1 + 1").await.unwrap(), json!(2));

        // A malformed return value is an error naming the hook (fail-open).
        let mut c = ctx(HookPoint::AfterToolExecution, "calculator");
        assert_eq!(
            executor
                .execute(&HookPoint::AfterToolExecution, &mut c)
                .await,
            HookOutcome::Continue
        );
        let confused = registry
            .list(&llmspell_hooks::HookFilter::new().point(HookPoint::AfterToolExecution))
            .remove(0);
        assert_eq!(confused.performance().errors, 1);

        // A failing fail-closed hook cancels with its error as the reason.
        let mut c = ctx(HookPoint::ToolError, "calculator");
        match executor.execute(&HookPoint::ToolError, &mut c).await {
            HookOutcome::Cancelled { reason, hook } => {
                assert_eq!(hook, "thrower");
                assert!(reason.contains("hook exploded"), "{reason}");
            }
            other => panic!("expected a cancel, got {other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn malformed_result_error_names_the_hook_and_the_expectation() {
        let context = GlobalContext::new();
        let executor = Arc::clone(context.hook_executor());
        let engine = LuaEngine::new(context, LuaConfig::default()).unwrap();
        engine
            .eval(
                r#"Hook.register("SystemStartup", function() return {type = "modified"} end,
                    {name = "half_done", fail_closed = true})"#,
            )
            .await
            .unwrap();
        let mut c = HookContext::new(HookPoint::SystemStartup, ComponentId::system());
        match executor.execute(&HookPoint::SystemStartup, &mut c).await {
            HookOutcome::Cancelled { reason, .. } => {
                assert!(
                    reason.contains(
                        "hook `half_done` failed: returned {type=\"modified\"} without `data`"
                    ),
                    "{reason}"
                );
                assert!(reason.contains("expected nil"), "{reason}");
            }
            other => panic!("expected a cancel, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_results_script_replace_alias_and_malformed_results() {
    let engine = LuaEngine::new(GlobalContext::new(), LuaConfig::default()).unwrap();
    assert_eq!(run(&engine, "hook_results.lua").await, json!("ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_fire_script_custom_points_and_outcomes() {
    let engine = LuaEngine::new(GlobalContext::new(), LuaConfig::default()).unwrap();
    assert_eq!(run(&engine, "hook_fire.lua").await, json!("ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_parent_script_sees_the_parent_context() {
    use llmspell_hooks::{ComponentId, ComponentType, HookContext, HookPoint};

    let context = GlobalContext::new();
    let engine = LuaEngine::new(context.clone(), LuaConfig::default()).unwrap();
    assert_eq!(run(&engine, "hook_parent.lua").await, json!("registered"));

    // A Rust operation (an agent run) makes a tool call and fires a custom
    // point under it.
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
async fn tools_script_every_result_type_on_a_real_call() {
    let engine = LuaEngine::new(GlobalContext::new(), LuaConfig::default()).unwrap();
    assert_eq!(run(&engine, "tools.lua").await, json!("ok"));
}

/// `tests/lua/rs_llmspell_tools.lua`: the calls rs-llmspell's tool
/// examples make (its parameter names, operation names, `Tool.exists`,
/// `Tool.categories`, `Tool.get(name):execute`, `Tool.try`, `JSON.parse` /
/// `JSON.stringify`) run unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs_llmspell_tool_scripts_run_unchanged() {
    let (dir, root, ctx) = file_root_context();
    let engine = LuaEngine::new(ctx, LuaConfig::default()).unwrap();
    let (source, chunk) = script("rs_llmspell_tools.lua");
    let out = engine
        .run_script(&source, &chunk, &[root.display().to_string()])
        .await
        .unwrap_or_else(|e| panic!("rs_llmspell_tools.lua failed:\n{e}"));
    assert_eq!(out, json!("ok"));
    check_rs_llmspell_files(&root);
    drop(dir);
}

/// A temporary directory and a context whose file tools are rooted there.
pub(crate) fn file_root_context() -> (tempfile::TempDir, PathBuf, GlobalContext) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let config = llmspell_tools::ToolsConfig::builder()
        .file_root(&root)
        .build()
        .unwrap();
    let ctx = GlobalContext::builder()
        .tools_config(config)
        .build()
        .unwrap();
    (dir, root, ctx)
}

/// The file calls of `rs_llmspell_tools` really happened.
pub(crate) fn check_rs_llmspell_files(root: &std::path::Path) {
    assert!(root.join("llmspell_copy.md").is_file());
    assert!(root.join("sub").is_dir() && root.join("out").is_dir());
}

/// A 2x2 24-bit BMP (no compression, rows padded to 4 bytes).
fn bmp_2x2() -> Vec<u8> {
    let row = [0u8, 0, 255, 0, 255, 0, 0, 0]; // red, green, padding
    let pixels = 2 * row.len();
    let mut b = Vec::new();
    b.extend_from_slice(b"BM");
    b.extend_from_slice(&u32::try_from(54 + pixels).unwrap().to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&54u32.to_le_bytes());
    b.extend_from_slice(&40u32.to_le_bytes());
    b.extend_from_slice(&2i32.to_le_bytes());
    b.extend_from_slice(&2i32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&24u16.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&u32::try_from(pixels).unwrap().to_le_bytes());
    b.extend_from_slice(&[0; 16]);
    b.extend_from_slice(&row);
    b.extend_from_slice(&row);
    b
}

/// A mono 16-bit 8 kHz WAV of `frames` samples.
fn wav_mono_8k(frames: u32) -> Vec<u8> {
    let data = frames * 2;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&8000u32.to_le_bytes());
    b.extend_from_slice(&16_000u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data.to_le_bytes());
    for i in 0..frames {
        b.extend_from_slice(&i16::try_from(i % 100).unwrap().to_le_bytes());
    }
    b
}

/// What `all_tools.lua` and its JavaScript twin need: a file root with the
/// fixtures, a loopback web server (127.0.0.1 allowed) and a context whose
/// tools use both. The scripts' arguments are the root and the server's URL.
pub(crate) struct AllToolsFixture {
    _dir: tempfile::TempDir,
    pub(crate) root: PathBuf,
    pub(crate) server: llmspell_tools::testing::WebServer,
    pub(crate) context: GlobalContext,
}

impl AllToolsFixture {
    pub(crate) async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("needle.txt"), "a needle in here\n").unwrap();
        std::fs::write(root.join("crlf.txt"), "a\r\nb\r\n").unwrap();
        // An empty file is an empty SQLite database.
        std::fs::write(root.join("all.db"), "").unwrap();
        std::fs::write(root.join("dot.bmp"), bmp_2x2()).unwrap();
        std::fs::write(root.join("tone.wav"), wav_mono_8k(800)).unwrap();
        // The web tools' rows call this loopback server (127.0.0.1 allowed).
        let server = llmspell_tools::testing::WebServer::start().await.unwrap();
        let config = llmspell_tools::ToolsConfig::builder()
            .file_root(&root)
            .allow_host("127.0.0.1")
            .search_provider(llmspell_tools::SearchProviderConfig::searxng(
                server.url("/searxng"),
            ))
            .build()
            .unwrap();
        let context = GlobalContext::builder()
            .tools_config(config)
            .build()
            .unwrap();
        Self {
            _dir: dir,
            root,
            server,
            context,
        }
    }

    /// The scripts' arguments: the file root and the server's base URL.
    pub(crate) fn args(&self) -> Vec<String> {
        vec![self.root.display().to_string(), self.server.url("")]
    }

    /// What every run of the script leaves behind.
    pub(crate) fn check(&self) {
        assert_eq!(
            std::fs::read_to_string(self.root.join("lf.txt")).unwrap(),
            "a\nb\n"
        );
    }
}

/// `tests/lua/all_tools.lua`: every registered tool through `Tool.invoke`,
/// one `{name, params, check}` row each; the script fails if a tool has
/// no row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_tools_script_reaches_every_tool() {
    let fixture = AllToolsFixture::new().await;
    let engine = LuaEngine::new(fixture.context.clone(), LuaConfig::default()).unwrap();
    let (source, chunk) = script("all_tools.lua");
    let out = engine
        .run_script(&source, &chunk, &fixture.args())
        .await
        .unwrap_or_else(|e| panic!("all_tools.lua failed:\n{e}"));
    assert_eq!(out, json!("ok"));
    fixture.check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_script() {
    let engine = LuaEngine::new(GlobalContext::new(), LuaConfig::default()).unwrap();
    assert_eq!(run(&engine, "sandbox.lua").await, json!("ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_script_refuses_unknown_keys_and_out_of_range_values() {
    let engine = LuaEngine::new(GlobalContext::new(), LuaConfig::default()).unwrap();
    assert_eq!(run(&engine, "options.lua").await, json!("ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_script() {
    let config = LuaConfig::default().with_memory_limit(Some(64 * 1024 * 1024));
    let engine = LuaEngine::new(GlobalContext::new(), config).unwrap();
    assert_eq!(run(&engine, "limits.lua").await, json!("ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_tool_call_on_another_thread_fires_the_lua_hook_while_the_script_waits() {
    let context = GlobalContext::new();
    let tools = std::sync::Arc::clone(context.tools());
    let bus = context.event_bus().clone();
    let engine = LuaEngine::new(context, LuaConfig::default()).unwrap();
    let mut ready = bus.subscribe("test.ready").unwrap();
    let rust_side = tokio::spawn(async move {
        ready.recv_timeout(Duration::from_secs(5)).await.unwrap();
        let result = tools
            .invoke("calculator", json!({"expression": "1 + 1"}))
            .await
            .unwrap();
        bus.publish(llmspell_events::UniversalEvent::new("test.done", result))
            .await
            .unwrap();
        std::thread::current().id()
    });
    let out = engine
        .eval(
            r#"
            local fired = 0
            Hook.register("BeforeToolExecution", function(ctx)
                fired = fired + 1
                return {type = "modified", data = {tool_name = ctx.data.tool_name,
                                                   parameters = {expression = "20 + 22"}}}
            end)
            local done = Event.subscribe("test.done")
            Event.publish("test.ready", {})
            local ev = Event.receive(done, 5000)
            assert(ev, "the Rust call finished")
            return {fired = fired, result = ev.data.result}
        "#,
        )
        .await
        .unwrap();
    let thread = rust_side.await.unwrap();
    assert_ne!(thread, std::thread::current().id());
    assert_eq!(out, json!({"fired": 1, "result": 42}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_hooks_script() {
    let engine = LuaEngine::new(GlobalContext::new(), LuaConfig::default()).unwrap();
    assert_eq!(run(&engine, "event_hooks.lua").await, json!("ok"));
}

#[tokio::test]
async fn every_hook_point_name_is_accepted_by_hook_register() {
    use llmspell_hooks::HookPoint;
    let context = GlobalContext::new();
    let registry = std::sync::Arc::clone(context.hook_registry());
    let engine = LuaEngine::new(context, LuaConfig::default()).unwrap();
    let names: Vec<String> = HookPoint::ALL
        .iter()
        .map(ToString::to_string)
        .chain(["custom:anything".to_owned()])
        .collect();
    let script = format!(
        "for _, p in ipairs(JSON.decode('{}')) do
             local h = Hook.register(p, function() end)
             assert(h:hook_point() == p)
         end",
        serde_json::to_string(&names).unwrap()
    );
    engine.eval(&script).await.unwrap();
    assert_eq!(registry.len(), HookPoint::NAMED_COUNT + 1);
}

/// `tests/lua/state.lua`: every State and Session function and every state
/// hook point's effect from Lua, in a context with a session, as
/// `llmspell run` gives it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_script() {
    use llmspell_state::Scope;

    let ctx = GlobalContext::new();
    let session = ctx.sessions().start(Some("state.lua")).await.unwrap();
    ctx.set_session(Some(session.clone()));
    let engine = LuaEngine::new(ctx.clone(), LuaConfig::default()).unwrap();
    assert_eq!(run(&engine, "state.lua").await, json!("ok"));
    // The values are in the context's state, for Rust to read.
    let state = ctx.state();
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
    let checkpoints = ctx.sessions().checkpoints(session.id()).await.unwrap();
    assert_eq!(checkpoints.len(), 2);
    assert_eq!(checkpoints[0].name, "after step 1");
}

/// Without a session, `Session.id()` is nil and the session scope and
/// checkpoints are clear errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_without_a_session() {
    let engine = LuaEngine::new(GlobalContext::new(), LuaConfig::default()).unwrap();
    let out = engine
        .eval(
            r#"
            assert(Session.id() == nil and Session.info() == nil)
            local ok, err = pcall(State.set, "k", 1, "session")
            assert(not ok and tostring(err):find("needs an active session", 1, true), tostring(err))
            ok, err = pcall(Session.checkpoint)
            assert(not ok and tostring(err):find("no session is active", 1, true), tostring(err))
            return State.set("k", 1)
            "#,
        )
        .await
        .unwrap();
    assert_eq!(out, json!(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_hooks_from_hook_use() {
    let context = GlobalContext::new();
    let registry = std::sync::Arc::clone(context.hook_registry());
    let engine = LuaEngine::new(context, LuaConfig::default()).unwrap();
    assert_eq!(run(&engine, "builtin_hooks.lua").await, json!("ok"));
    assert_eq!(registry.len(), 0, "every Hook.use handle was unregistered");
}

/// What `network_tools.lua` and its JavaScript twin need: a loopback web
/// server and a context allowing 127.0.0.1 (only), with both search
/// providers pointing at the server.
pub(crate) async fn network_fixture() -> (llmspell_tools::testing::WebServer, GlobalContext) {
    use llmspell_tools::{SearchProviderConfig, ToolsConfig};
    let server = llmspell_tools::testing::WebServer::start().await.unwrap();
    let config = ToolsConfig::builder()
        .allow_host("127.0.0.1")
        .search_provider(SearchProviderConfig::searxng(server.url("/searxng")))
        .search_provider(SearchProviderConfig::brave_at(
            server.url("/brave"),
            "test-key",
        ))
        .build()
        .unwrap();
    let ctx = GlobalContext::builder()
        .tools_config(config)
        .build()
        .unwrap();
    (server, ctx)
}

/// The calls a run of `network_tools` made, seen by the server.
pub(crate) fn check_network_calls(server: &llmspell_tools::testing::WebServer) {
    assert_eq!(server.received_at("/webhook").len(), 1);
    assert_eq!(server.received_at("/counter").len(), 2);
    assert!(server.received_at("/searxng/search").len() == 1);
}

/// `tests/lua/network_tools.lua`: the nine web tools through `Tool.invoke`
/// against a web server on loopback, with 127.0.0.1 allowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_tools_script_calls_the_nine_web_tools() {
    let (server, ctx) = network_fixture().await;
    let engine = LuaEngine::new(ctx, LuaConfig::default()).unwrap();
    let (source, chunk) = script("network_tools.lua");
    let out = engine
        .run_script(&source, &chunk, &[server.url("")])
        .await
        .unwrap_or_else(|e| panic!("network_tools.lua failed:\n{e}"));
    assert_eq!(out, json!("ok"));
    // The script's calls really reached the server.
    check_network_calls(&server);
}
