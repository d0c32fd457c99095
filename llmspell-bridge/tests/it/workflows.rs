//! The `Workflow` global, from `tests/lua/workflows.lua`, and its effects
//! seen from Rust.

use llmspell_bridge::{GlobalContext, JsConfig, JsEngine, LuaConfig, LuaEngine};
use serde_json::json;

use crate::scripts::run;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflows_script() {
    let context = GlobalContext::new();
    let engine = LuaEngine::new(context.clone(), LuaConfig::default()).unwrap();
    assert_eq!(run(&engine, "workflows.lua").await, json!("ok"));
    // The workflows the script created are in the shared runtime.
    let wf = context.workflows().workflow("lua_seq").unwrap();
    let r = context
        .workflows()
        .execute(&wf, json!({"a": 40}))
        .await
        .unwrap();
    assert!(r.success, "{:?}", r.error);
    assert_eq!(r.data["shout"], json!("TOTAL 84"));
}

/// The server the workflow agent scripts talk to, and a context using it.
async fn agents_server() -> (llmspell_agents::testing::LlmServer, GlobalContext) {
    use llmspell_agents::testing::{openai_text, LlmServer, Reply};

    let server = LlmServer::start().await.unwrap();
    server
        .push(Reply::ok(openai_text("Otters are great.", 5, 2)))
        .push(Reply::ok(openai_text("Hi.", 1, 1)))
        .push(Reply::status(
            503,
            json!({"error": {"message": "overloaded"}}),
        ));
    let context = GlobalContext::builder()
        .provider_factory(server.factory())
        .build()
        .unwrap();
    (server, context)
}

/// `tests/lua/workflow_agents.lua`: agent steps created from Lua run the
/// context's agents against a scripted server on loopback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_agents_script() {
    let (server, context) = agents_server().await;
    let engine = LuaEngine::new(context.clone(), LuaConfig::default()).unwrap();
    assert_eq!(run(&engine, "workflow_agents.lua").await, json!("ok"));
    check_agents_received(&server);
}

/// `tests/js/workflow_agents.js`: the same agent steps from JavaScript
/// (a JavaScript function step, the agent object as `agent`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_agents_javascript_twin() {
    let (server, context) = agents_server().await;
    let engine = JsEngine::new(context, JsConfig::default()).unwrap();
    assert_eq!(
        crate::js::run(&engine, "workflow_agents.js").await,
        json!("ok")
    );
    check_agents_received(&server);
}

fn check_agents_received(server: &llmspell_agents::testing::LlmServer) {
    let received = server.received();
    assert_eq!(received.len(), 3);
    assert!(received[1].body["messages"].to_string().contains("Say hi"));
    assert!(received[0].body["messages"]
        .to_string()
        .contains("Write about otters"));
}

/// `tests/lua/workflow_builder.lua`: `Workflow.builder()` chains as
/// rs-llmspell scripts write them, over every pattern.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_builder_script() {
    let context = GlobalContext::new();
    let engine = LuaEngine::new(context.clone(), LuaConfig::default()).unwrap();
    assert_eq!(run(&engine, "workflow_builder.lua").await, json!("ok"));
    // The built workflows are the runtime's, runnable from Rust.
    let wf = context.workflows().workflow("b_range").unwrap();
    assert_eq!(wf.pattern().as_str(), "loop");
    let r = context.workflows().execute(&wf, json!({})).await.unwrap();
    assert!(r.success, "{:?}", r.error);
    assert_eq!(r.data["sq"][3]["result"], json!(25));
}

/// `tests/js/workflow_builder.js`: the same chains from JavaScript, with
/// JavaScript function steps and conditions; the workflows (functions
/// included) are the runtime's, runnable from Rust on another thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_builder_javascript_twin() {
    let context = GlobalContext::new();
    let engine = JsEngine::new(context.clone(), JsConfig::default()).unwrap();
    assert_eq!(
        crate::js::run(&engine, "workflow_builder.js").await,
        json!("ok")
    );
    let wf = context.workflows().workflow("b_range").unwrap();
    let r = context.workflows().execute(&wf, json!({})).await.unwrap();
    assert!(r.success, "{:?}", r.error);
    assert_eq!(r.data["sq"][3]["result"], json!(25));
    // A JavaScript function step run from Rust calls into the engine.
    let wf = context.workflows().workflow("b_capped").unwrap();
    let r = context.workflows().execute(&wf, json!({})).await.unwrap();
    assert!(r.success, "{:?}", r.error);
    assert_eq!(r.data["v"], json!([1, 2, 3]));
    // Once the engine is gone, its functions fail cleanly (a result).
    drop(engine);
    let r = context.workflows().execute(&wf, json!({})).await.unwrap();
    assert!(!r.success);
    assert!(
        r.error
            .as_deref()
            .unwrap_or_default()
            .contains("JavaScript"),
        "{:?}",
        r.error
    );
}
