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
    // The hook section: a rewritten input, then a provider failure.
    server
        .push(Reply::ok(openai_text("model saw the rewrite", 2, 2)))
        .push(Reply::status(
            503,
            json!({"error": {"message": "overloaded"}}),
        ));
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
    assert_eq!(received.len(), 12);
    assert_eq!(received[10].body["messages"][1]["content"], "rewritten");
    assert_eq!(ctx.agents().names(), ["calc", "writer"]);
}

/// The answers the example scripts' transcripts hold, with the model name
/// they report.
fn as_model(mut v: serde_json::Value) -> serde_json::Value {
    v["model"] = json!("gpt-4o-mini");
    v
}

/// Re-records `examples/lua/transcripts/*.json` by running the examples
/// against the scripted server (not a real model: no key is available in
/// CI). Run it after changing what an example sends:
/// `cargo test -p llmspell-bridge --test it -- --ignored record_example_transcripts`.
/// With a real key, `LLMSPELL_RECORD_REPLAYS=openai/gpt-4o-mini llmspell
/// run <example>` records a live model instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "rewrites the example transcripts"]
async fn record_example_transcripts() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/lua");
    let stream = |pieces: &[&str], p, c| -> Vec<String> {
        openai_stream(pieces, p, c)
            .into_iter()
            .map(|chunk| chunk.replace("gpt-test", "gpt-4o-mini"))
            .collect()
    };
    let cases: Vec<(&str, Vec<Reply>)> = vec![
        (
            "agent_basics.lua",
            vec![
                Reply::ok(as_model(openai_text(
                    "A hook is a function that runs at a named point in an operation's life and can observe, change, redirect or cancel what happens there.",
                    24,
                    27,
                ))),
                Reply::ok(as_model(openai_text(
                    "An event is a record that something happened, published on a bus for any number of subscribers to react to later.",
                    21,
                    24,
                ))),
            ],
        ),
        (
            "agent_streaming.lua",
            vec![Reply::sse(stream(
                &["Messages", " queue up,", "\nsubscribers", " wake", " one by one", " —", "\nthe bus", " never sleeps."],
                22,
                19,
            ))],
        ),
        (
            "agent_hooks.lua",
            vec![Reply::ok(as_model(openai_text(
                "Unplug the router for 30 seconds, plug it back in, and wait for the lights to turn steady green.",
                38,
                22,
            )))],
        ),
        (
            "agent_tools.lua",
            vec![
                Reply::ok(as_model(openai_tools(
                    &[("call_1", "calculator", json!({"expression": "2480 * 17.5 / 100"}))],
                    96,
                    21,
                ))),
                Reply::ok(as_model(openai_text("17.5% of 2480 is 434.", 131, 11))),
            ],
        ),
    ];
    for (script, replies) in cases {
        let server = LlmServer::start().await.unwrap();
        for r in replies {
            server.push(r);
        }
        let ctx = GlobalContext::builder()
            .provider_factory(server.factory().record_replays("openai/gpt-4o-mini"))
            .build()
            .unwrap();
        let engine = LuaEngine::new(ctx, LuaConfig::default()).unwrap();
        let path = dir.join(script);
        let source = std::fs::read_to_string(&path).unwrap();
        if let Err(e) = engine
            .run_script(&source, &path.display().to_string(), &[])
            .await
        {
            panic!("{script} failed while recording:\n{e}");
        }
    }
}
