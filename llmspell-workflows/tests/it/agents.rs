//! Agent steps: `{name, agent = "<name>", input = {text = ...}}` run the
//! agents of an `AgentRegistry` through their hooked execution path, as
//! children of the step, against a scripted LLM server on loopback.

use std::sync::Arc;
use std::time::Duration;

use llmspell_agents::testing::{openai_text, LlmServer, Reply};
use llmspell_agents::{AgentConfig, AgentRegistry, LlmAgent, RetryPolicy};
use llmspell_hooks::{hook_fn, HookContext, HookPoint, HookResult};
use llmspell_workflows::AgentRunner;
use parking_lot::Mutex;
use serde_json::json;

use crate::common::Fixture;

/// A runtime whose agent steps run `registry`, and an agent `writer` in it
/// answering from `server`.
async fn fixture(server: &LlmServer) -> (Fixture, Arc<AgentRegistry>) {
    let registry = Arc::new(AgentRegistry::new());
    let runner = Arc::clone(&registry) as Arc<dyn AgentRunner>;
    let f = Fixture::with(move |b| b.agents(runner));
    let config = AgentConfig::new("writer", "openai/gpt-test")
        .base_url(format!("{}/v1", server.base()))
        .timeout(Duration::from_secs(5))
        .retry(RetryPolicy::none());
    let agent = LlmAgent::builder(config)
        .factory(server.factory())
        .hooks(f.hooks.clone())
        .build()
        .await
        .unwrap();
    registry.register(Arc::new(agent)).unwrap();
    (f, registry)
}

/// Records the contexts of `points` (Continue).
fn spy(f: &Fixture, points: &[HookPoint]) -> Arc<Mutex<Vec<HookContext>>> {
    let seen: Arc<Mutex<Vec<HookContext>>> = Arc::default();
    for point in points {
        let seen = Arc::clone(&seen);
        f.hooks
            .register(
                point.clone(),
                hook_fn("spy", move |ctx| {
                    seen.lock().push(ctx.clone());
                    Ok(HookResult::Continue)
                }),
            )
            .unwrap();
    }
    seen
}

#[tokio::test]
async fn agent_steps_run_through_the_agents_hooked_path_as_children_of_the_step() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::ok(openai_text("A poem about rust.", 7, 5)));
    let (f, _registry) = fixture(&server).await;
    let seen = spy(
        &f,
        &[
            HookPoint::BeforeWorkflowStage,
            HookPoint::BeforeAgentExecution,
            HookPoint::AfterAgentExecution,
        ],
    );
    let wf = f.create(json!({"type": "sequential", "name": "poet", "steps": [
        {"name": "topic", "tool": "probe", "input": {"result": "rust"}},
        {"name": "write", "agent": "writer", "input": {"text": "Write about {{step:topic:output}}"}},
        {"name": "keep", "tool": "probe", "input": {"poem": "{{step:write:output.text}}",
                                                    "tokens": "{{step:write:output.usage.total_tokens}}"}},
    ]}));
    let r = f.runtime.execute(&wf, json!({})).await.unwrap();
    assert!(r.success, "{:?}", r.error);

    // The reference reached the provider; the agent's output fed the next step.
    let request = &server.received()[0].body;
    let prompt = request["messages"].to_string();
    assert!(prompt.contains("Write about rust"), "{prompt}");
    assert_eq!(r.data["write"]["text"], "A poem about rust.");
    assert_eq!(
        f.calls("probe")[1],
        json!({"poem": "A poem about rust.", "tokens": 12})
    );

    // Agent hooks fired, in the run's correlation, under the step's stage.
    let seen = seen.lock();
    let before = seen
        .iter()
        .find(|c| c.point == HookPoint::BeforeAgentExecution)
        .expect("BeforeAgentExecution fired");
    assert_eq!(before.data["agent_name"], "writer");
    assert_eq!(before.data["input"]["text"], "Write about rust");
    assert_eq!(before.correlation_id, r.run_id);
    let parent = before.parent.as_deref().expect("the agent has a parent");
    assert_eq!(parent.point, HookPoint::BeforeWorkflowStage);
    assert_eq!(parent.component.name, "poet");
    assert_eq!(parent.metadata["step_name"], "write");
    assert_eq!(parent.correlation_id, r.run_id);
    let after = seen
        .iter()
        .find(|c| c.point == HookPoint::AfterAgentExecution)
        .expect("AfterAgentExecution fired");
    assert_eq!(after.data["output"]["text"], "A poem about rust.");
}

#[tokio::test]
async fn agent_hook_results_act_on_the_step() {
    let server = LlmServer::start().await.unwrap();
    server.always(Reply::ok(openai_text("from the model", 1, 1)));
    let (f, _registry) = fixture(&server).await;
    // Replace at BeforeAgentExecution answers without the provider;
    // Cancel fails the step (a result, not an error).
    f.hooks
        .register(
            HookPoint::BeforeAgentExecution,
            hook_fn("gate", |ctx| {
                Ok(match ctx.data["input"]["text"].as_str() {
                    Some("canned") => HookResult::Replace(json!({"text": "from the hook"})),
                    Some("refuse") => HookResult::cancel("agents are off today"),
                    _ => HookResult::Continue,
                })
            }),
        )
        .unwrap();
    let wf = f.create(json!({"type": "sequential", "name": "gated", "steps": [
        {"name": "a", "agent": "writer", "input": {"text": "{{input:first}}"}},
    ]}));

    let r = f
        .runtime
        .execute(&wf, json!({"first": "canned"}))
        .await
        .unwrap();
    assert!(r.success, "{:?}", r.error);
    assert_eq!(r.data["a"]["text"], "from the hook");
    assert!(server.received().is_empty(), "the provider was not called");

    let r = f
        .runtime
        .execute(&wf, json!({"first": "hello"}))
        .await
        .unwrap();
    assert!(r.success, "{:?}", r.error);
    assert_eq!(r.data["a"]["text"], "from the model");

    let r = f
        .runtime
        .execute(&wf, json!({"first": "refuse"}))
        .await
        .unwrap();
    assert!(!r.success);
    let error = r.error.unwrap();
    assert!(error.contains("`a`"), "{error}");
    assert!(error.contains("writer"), "{error}");
    assert!(error.contains("agents are off today"), "{error}");
}

#[tokio::test]
async fn a_failing_provider_fails_the_step_with_the_cause() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::status(
        500,
        json!({"error": {"message": "model overloaded"}}),
    ));
    let (f, _registry) = fixture(&server).await;
    let wf = f.create(json!({"type": "sequential", "name": "fails", "steps": [
        {"name": "ask", "agent": "writer", "input": {"text": "hi"}},
        {"name": "never", "tool": "probe"},
    ]}));
    let r = f.runtime.execute(&wf, json!({})).await.unwrap();
    assert!(!r.success);
    let error = r.error.unwrap();
    assert!(error.contains("`ask`"), "{error}");
    assert!(error.contains("model overloaded"), "{error}");
    assert!(f.calls("probe").is_empty());
}

#[tokio::test]
async fn unknown_agents_are_refused_when_the_workflow_is_created() {
    let server = LlmServer::start().await.unwrap();
    let (f, _registry) = fixture(&server).await;
    let err = f
        .runtime
        .create(&json!({"type": "sequential", "name": "x", "steps": [
            {"name": "a", "agent": "nobody", "input": {"text": "hi"}},
        ]}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("steps[1].agent"), "{err}");
    assert!(err.contains("no agent named `nobody`"), "{err}");
    assert!(err.contains("writer"), "{err}");
}
