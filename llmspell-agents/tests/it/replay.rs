//! Record a live run, replay it offline.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use llmspell_agents::{
    Agent, AgentConfig, AgentError, AgentOutput, LlmAgent, ProviderFactory, RetryPolicy, Transcript,
};
use llmspell_hooks::{HookExecutor, HookRegistry};
use llmspell_tools::{ToolRegistry, ToolRuntime, ToolsConfig};

use llmspell_agents::testing::{openai_stream, openai_text, openai_tools, LlmServer, Reply};

fn runtime() -> Arc<ToolRuntime> {
    let registry = Arc::new(ToolRegistry::with_standard_tools(&ToolsConfig::default()).unwrap());
    Arc::new(ToolRuntime::new(
        registry,
        Arc::new(HookExecutor::new(Arc::new(HookRegistry::new()))),
    ))
}

async fn session(agent: &LlmAgent) -> Vec<AgentOutput> {
    let mut outs = vec![
        agent.invoke("What is 6*7?".into()).await.unwrap(),
        agent.invoke("Say hi".into()).await.unwrap(),
    ];
    let mut chunks = Vec::new();
    let mut cb = |c: &str| chunks.push(c.to_owned());
    outs.push(agent.stream("Tell a story".into(), &mut cb).await.unwrap());
    assert_eq!(chunks, ["Once", " upon", " a time"]);
    outs
}

#[tokio::test]
async fn a_recorded_run_replays_to_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");

    // Live, recorded.
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::ok(openai_tools(
        &[("c1", "calculator", json!({"expression": "6*7"}))],
        30,
        9,
    )));
    server.push(Reply::ok(openai_text("It is 42.", 45, 4)));
    server.push(Reply::ok(openai_text("Hi!", 12, 2)));
    server.push(Reply::sse(openai_stream(
        &["Once", " upon", " a time"],
        10,
        4,
    )));
    let live_config = AgentConfig::new("recorder", "openai/gpt-test")
        .system_prompt("You are terse.")
        .tools(["calculator"])
        .base_url(format!("{}/v1", server.base()))
        .timeout(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .record_to(&path);
    let live = LlmAgent::builder(live_config)
        .factory(server.factory())
        .tools(runtime())
        .build()
        .await
        .unwrap();
    let recorded = session(&live).await;
    assert_eq!(recorded[0].text, "It is 42.");
    assert_eq!(recorded[0].tool_calls[0].result["result"], 42);
    drop(live);

    let t = Transcript::load(&path).unwrap();
    assert_eq!(t.exchanges.len(), 4);
    assert_eq!(t.exchanges[3].chunks, ["Once", " upon", " a time"]);
    assert_eq!(t.exchanges[0].provider, "openai");
    drop(server); // offline from here

    // Replayed: same answers, tool calls re-run through the runtime.
    let replay_config = AgentConfig::new("recorder", "replay/gpt-test")
        .system_prompt("You are terse.")
        .tools(["calculator"])
        .transcript(&path);
    let replay = LlmAgent::builder(replay_config)
        .factory(ProviderFactory::new())
        .tools(runtime())
        .build()
        .await
        .unwrap();
    let replayed = session(&replay).await;
    for (r, l) in replayed.iter().zip(&recorded) {
        assert_eq!(r.to_json(), l.to_json());
    }

    // A request that was never recorded names the transcript.
    let e = replay.invoke("something new".into()).await.unwrap_err();
    assert!(matches!(e, AgentError::Replay { .. }), "{e:?}");
    assert!(e.to_string().contains("run.json"), "{e}");
    assert!(e.to_string().contains("something new"), "{e}");
    // A recorded request asked again gets the last recorded answer again.
    assert_eq!(replay.invoke("Say hi".into()).await.unwrap().text, "Hi!");
}

#[tokio::test]
async fn unreadable_transcripts_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let e = ProviderFactory::new()
        .create(&llmspell_agents::ProviderConfig::new("replay/x").transcript(&missing))
        .unwrap_err();
    assert!(
        e.to_string().contains("missing.json: cannot read it"),
        "{e}"
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"version\": 9, \"exchanges\": []}").unwrap();
    let e = ProviderFactory::new()
        .create(&llmspell_agents::ProviderConfig::new("replay/x").transcript(&bad))
        .unwrap_err();
    assert!(e.to_string().contains("version 9 is not supported"), "{e}");
}
