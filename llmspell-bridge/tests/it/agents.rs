//! `tests/lua/agents.lua` against a scripted LLM server on loopback.

use std::time::Duration;

use llmspell_agents::testing::{openai_stream, openai_text, openai_tools, LlmServer, Reply};
use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};
use serde_json::json;

use crate::scripts::run;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_script_covers_the_whole_agent_api() {
    let server = LlmServer::start().await.unwrap();
    server
        .push(Reply::ok(openai_text("Hello from the model", 12, 4)))
        .push(Reply::ok(openai_text("Hello again", 1, 1)))
        .push(Reply::Sse {
            chunks: openai_stream(&["One", ", two", ", three"], 6, 3),
            delay: Duration::from_millis(20),
            drop_after: None,
        })
        .push(Reply::Sse {
            chunks: openai_stream(&["One", ", two", ", three"], 6, 3),
            delay: Duration::from_millis(20),
            drop_after: None,
        })
        .push(Reply::status(
            401,
            json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}),
        ))
        .push(Reply::ok(openai_tools(
            &[
                ("c1", "calculator", json!({"expression": "6*7"})),
                ("c2", "uuid_generator", json!({})),
            ],
            10,
            5,
        )))
        .push(Reply::ok(openai_text("It is 42.", 12, 3)));
    for i in 0..3 {
        server.push(Reply::ok(openai_tools(
            &[(&format!("l{i}"), "calculator", json!({"expression": "1+1"}))],
            1,
            1,
        )));
    }
    let ctx = GlobalContext::builder()
        .provider_factory(server.factory())
        .build()
        .unwrap();
    let engine = LuaEngine::new(ctx.clone(), LuaConfig::default()).unwrap();
    assert_eq!(run(&engine, "agents.lua").await, json!("ok"));

    // What the model was sent.
    let received = server.received();
    let first = &received[0].body;
    assert_eq!(
        first["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(first["temperature"], 0.2);
    assert_eq!(first["max_tokens"], 50);
    let tools = &received[5].body["tools"];
    assert_eq!(tools[0]["function"]["name"], "calculator");
    assert_eq!(received.len(), 10);
    assert_eq!(ctx.agents().names(), ["calc", "writer"]);
}
