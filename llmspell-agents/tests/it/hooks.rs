//! Every agent hook point with its data keys, and every hook result's
//! effect on an agent, against a scripted server on loopback.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{json, Value};

use llmspell_agents::testing::{openai_text, openai_tools, LlmServer, Reply};
use llmspell_agents::{
    Agent, AgentConfig, AgentError, AgentRegistry, AgentState, LlmAgent, RetryPolicy,
};
use llmspell_events::EventBus;
use llmspell_hooks::builtin::{
    Budget, BudgetScope, CostTrackingConfig, ModelPricing, PricingTable,
};
use llmspell_hooks::{
    hook_fn, ForkOperation, HookContext, HookPoint, HookResult, Hooks, RegisterOptions,
};
use llmspell_tools::{ToolRegistry, ToolRuntime, ToolsConfig};

struct Fixture {
    server: LlmServer,
    hooks: Hooks,
    agents: Arc<AgentRegistry>,
    seen: Arc<Mutex<Vec<HookContext>>>,
}

impl Fixture {
    async fn new() -> Self {
        Self {
            server: LlmServer::start().await.unwrap(),
            hooks: Hooks::new(),
            agents: Arc::new(AgentRegistry::new()),
            seen: Arc::default(),
        }
    }

    /// Records every context of `point`, then answers with `f`.
    fn on(&self, point: HookPoint, f: impl Fn(&HookContext) -> HookResult + Send + Sync + 'static) {
        let seen = self.seen.clone();
        self.hooks
            .register(
                point,
                hook_fn("test", move |ctx| {
                    seen.lock().push(ctx.clone());
                    Ok(f(ctx))
                }),
            )
            .unwrap();
    }

    fn config(&self, name: &str) -> AgentConfig {
        AgentConfig::new(name, "openai/gpt-test")
            .base_url(format!("{}/v1", self.server.base()))
            .timeout(Duration::from_secs(5))
            .retry(RetryPolicy::none())
    }

    async fn agent_with(&self, config: AgentConfig) -> LlmAgent {
        let registry =
            Arc::new(ToolRegistry::with_standard_tools(&ToolsConfig::default()).unwrap());
        let tools = Arc::new(ToolRuntime::new(registry, &self.hooks));
        let agent = LlmAgent::builder(config)
            .factory(self.server.factory())
            .hooks(&self.hooks)
            .tools(tools)
            .agent_registry(&self.agents)
            .build()
            .await
            .unwrap();
        self.agents.register(Arc::new(agent.clone())).unwrap();
        agent
    }

    async fn agent(&self, name: &str) -> LlmAgent {
        self.agent_with(self.config(name)).await
    }

    fn points(&self) -> Vec<String> {
        self.seen
            .lock()
            .iter()
            .map(|c| c.point.to_string())
            .collect()
    }

    fn last(&self, point: &str) -> HookContext {
        self.seen
            .lock()
            .iter()
            .rev()
            .find(|c| c.point.to_string() == point)
            .cloned()
            .unwrap_or_else(|| panic!("no context at {point}"))
    }
}

fn modified(ctx: &HookContext, key: &str, value: Value) -> HookResult {
    let mut data = ctx.data.clone();
    data.insert(key.into(), value);
    HookResult::Modified(data)
}

#[tokio::test]
async fn building_an_agent_declares_the_agent_points_as_fired() {
    let f = Fixture::new().await;
    let registry = f.hooks.registry();
    assert_eq!(registry.fired_by(&HookPoint::AgentError), None);
    f.agent("declares").await;
    for point in llmspell_agents::AGENT_POINTS {
        assert_eq!(
            registry.fired_by(&point).as_deref(),
            Some("agents (llmspell-agents)"),
            "{point}"
        );
    }
}

#[tokio::test]
async fn creation_fires_init_points_and_a_cancel_refuses_it() {
    let f = Fixture::new().await;
    f.on(HookPoint::BeforeAgentInit, |ctx| {
        if ctx.data["agent_name"] == "refused" {
            HookResult::cancel("no agents named like that")
        } else {
            HookResult::Continue
        }
    });
    f.on(HookPoint::AfterAgentInit, |_| HookResult::Continue);
    let a = f.agent("writer").await;
    assert_eq!(a.state(), AgentState::Ready);
    assert_eq!(f.points(), ["BeforeAgentInit", "AfterAgentInit"]);
    let before = f.last("BeforeAgentInit");
    assert_eq!(before.data["agent_name"], "writer");
    assert_eq!(before.data["from_state"], "uninitialized");
    assert_eq!(before.data["to_state"], "ready");
    assert_eq!(before.data["config"]["model"], "openai/gpt-test");
    assert_eq!(before.component.name, "writer");
    assert_eq!(
        f.last("AfterAgentInit").correlation_id,
        before.correlation_id
    );

    let e = LlmAgent::builder(f.config("refused"))
        .factory(f.server.factory())
        .hooks(&f.hooks)
        .build()
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "agent `refused`: cancelled by hook `test` at BeforeAgentInit: no agents named like that"
    );
}

#[tokio::test]
async fn execution_points_carry_the_data_keys() {
    let f = Fixture::new().await;
    f.server.push(Reply::ok(openai_text("hi there", 7, 2)));
    for p in [
        HookPoint::BeforeAgentExecution,
        HookPoint::AfterAgentExecution,
    ] {
        f.on(p, |_| HookResult::Continue);
    }
    let a = f.agent("writer").await;
    let out = a.invoke("hello".into()).await.unwrap();
    assert_eq!(out.text, "hi there");
    let before = f.last("BeforeAgentExecution");
    assert_eq!(before.data["agent_name"], "writer");
    assert_eq!(before.data["input"], json!({"text": "hello"}));
    assert_eq!(before.data["gen_ai.request.model"], "gpt-test");
    let after = f.last("AfterAgentExecution");
    assert_eq!(after.data["output"]["text"], "hi there");
    assert_eq!(
        after.data["output"]["usage"],
        json!({"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9})
    );
    assert_eq!(after.data["output"]["gen_ai.usage.input_tokens"], 7);
    assert_eq!(after.correlation_id, out.correlation_id);
    assert_eq!(before.correlation_id, out.correlation_id);
    // The hook-only keys do not reach the caller.
    assert!(out.to_json().get("gen_ai.usage.input_tokens").is_none());
}

#[tokio::test]
async fn before_execution_modified_changes_what_the_model_receives() {
    let f = Fixture::new().await;
    f.server.push(Reply::ok(openai_text("ok", 1, 1)));
    f.on(HookPoint::BeforeAgentExecution, |ctx| {
        modified(ctx, "input", json!({"text": "rewritten by a hook"}))
    });
    let a = f.agent("writer").await;
    a.invoke("original".into()).await.unwrap();
    let body = &f.server.received()[0].body;
    assert_eq!(body["messages"][0]["content"], "rewritten by a hook");
}

#[tokio::test]
async fn before_execution_cancel_fails_with_the_reason_and_leaves_ready() {
    let f = Fixture::new().await;
    f.on(HookPoint::BeforeAgentExecution, |_| {
        HookResult::cancel("not on Sundays")
    });
    f.on(HookPoint::AgentError, |_| HookResult::Continue);
    let a = f.agent("writer").await;
    let e = a.invoke("x".into()).await.unwrap_err();
    assert!(matches!(e, AgentError::HookCancelled { .. }), "{e:?}");
    assert!(e.to_string().contains("not on Sundays"), "{e}");
    assert_eq!(a.state(), AgentState::Ready);
    assert!(f.server.received().is_empty(), "the model was not called");
}

#[tokio::test]
async fn before_execution_replace_answers_without_calling_the_model() {
    let f = Fixture::new().await;
    f.on(HookPoint::BeforeAgentExecution, |_| {
        HookResult::Replace(json!({"text": "canned answer", "finish_reason": "stop"}))
    });
    let a = f.agent("writer").await;
    let out = a.invoke("x".into()).await.unwrap();
    assert_eq!(out.text, "canned answer");
    assert_eq!(out.usage.total_tokens, 0);
    assert!(f.server.received().is_empty());
    // A bare string is the text.
    let f = Fixture::new().await;
    f.on(HookPoint::BeforeAgentExecution, |_| {
        HookResult::Replace(json!("plain"))
    });
    assert_eq!(
        f.agent("w").await.invoke("x".into()).await.unwrap().text,
        "plain"
    );
}

#[tokio::test]
async fn after_execution_modified_and_replace_change_what_the_caller_gets() {
    let f = Fixture::new().await;
    f.server.push(Reply::ok(openai_text("raw answer", 1, 1)));
    f.server.push(Reply::ok(openai_text("raw answer", 1, 1)));
    f.on(HookPoint::AfterAgentExecution, |ctx| {
        let mut out = ctx.data["output"].clone();
        if ctx.data["input"]["text"] == "modify" {
            out["text"] = json!(format!("[redacted] {}", out["text"].as_str().unwrap()));
            modified(ctx, "output", out)
        } else {
            HookResult::Replace(json!({"text": "replaced", "model": "hook"}))
        }
    });
    let a = f.agent("writer").await;
    let out = a.invoke("modify".into()).await.unwrap();
    assert_eq!(out.text, "[redacted] raw answer");
    assert_eq!(out.usage.total_tokens, 2);
    let out = a.invoke("replace".into()).await.unwrap();
    assert_eq!(out.text, "replaced");
    assert_eq!(out.model, "hook");
}

#[tokio::test]
async fn agent_error_fires_on_failure_and_retry_reruns_the_execution() {
    let f = Fixture::new().await;
    f.server
        .push(Reply::status(500, json!({"error": {"message": "flaky"}})));
    f.server
        .push(Reply::ok(openai_text("second time lucky", 1, 1)));
    f.on(HookPoint::AgentError, |_| {
        HookResult::retry(Duration::from_millis(10), 2)
    });
    let a = f.agent("writer").await;
    let out = a.invoke("x".into()).await.unwrap();
    assert_eq!(out.text, "second time lucky");
    let err = f.last("AgentError");
    assert_eq!(err.data["agent_name"], "writer");
    assert!(err.data["error"]
        .as_str()
        .unwrap()
        .contains("HTTP 500: flaky"));
    assert_eq!(err.data["input"]["text"], "x");
    assert_eq!(f.server.received().len(), 2);
}

#[tokio::test]
async fn a_retry_does_not_rerun_a_client_error() {
    let f = Fixture::new().await;
    f.server
        .push(Reply::status(401, json!({"error": {"message": "bad key"}})));
    f.on(HookPoint::AgentError, |_| {
        HookResult::retry(Duration::from_millis(1), 3)
    });
    let a = f.agent("writer").await;
    assert_eq!(a.invoke("x".into()).await.unwrap_err().status(), Some(401));
    assert_eq!(f.server.received().len(), 1);
}

#[tokio::test]
async fn agent_error_replace_recovers_with_a_value() {
    let f = Fixture::new().await;
    f.server
        .push(Reply::status(503, json!({"error": {"message": "down"}})));
    f.on(HookPoint::AgentError, |_| {
        HookResult::Replace(json!({"text": "fallback"}))
    });
    let bus = EventBus::new();
    let mut events = bus.subscribe("agent.execution.*").unwrap();
    let a = LlmAgent::builder(f.config("writer"))
        .factory(f.server.factory())
        .hooks(&f.hooks)
        .event_bus(bus)
        .build()
        .await
        .unwrap();
    assert_eq!(a.invoke("x".into()).await.unwrap().text, "fallback");
    assert_eq!(a.state(), AgentState::Ready);
    let _started = events.recv_timeout(Duration::from_secs(1)).await.unwrap();
    let done = events.recv_timeout(Duration::from_secs(1)).await.unwrap();
    assert_eq!(done.event_type, "agent.execution.completed");
}

#[tokio::test]
async fn agent_error_redirect_hands_the_input_to_another_agent() {
    let f = Fixture::new().await;
    f.server.push(Reply::status(
        500,
        json!({"error": {"message": "primary down"}}),
    ));
    f.server
        .push(Reply::ok(openai_text("backup answers", 3, 3)));
    f.on(HookPoint::AgentError, |ctx| {
        if ctx.data["agent_name"] == "primary" {
            HookResult::redirect("backup")
        } else {
            HookResult::Continue
        }
    });
    let primary = f.agent("primary").await;
    let backup = f
        .agent_with(f.config("backup").system_prompt("You are the backup."))
        .await;
    let out = primary.invoke("help".into()).await.unwrap();
    assert_eq!(out.text, "backup answers");
    let second = &f.server.received()[1].body;
    assert_eq!(second["messages"][0]["content"], "You are the backup.");
    assert_eq!(second["messages"][1]["content"], "help");
    assert_eq!(primary.state(), AgentState::Ready);
    assert_eq!(backup.state(), AgentState::Ready);
}

#[tokio::test]
async fn a_redirect_to_an_unknown_agent_fails_clearly() {
    let f = Fixture::new().await;
    f.on(HookPoint::BeforeAgentExecution, |ctx| {
        if ctx.data["agent_name"] == "a" {
            HookResult::redirect("ghost")
        } else {
            HookResult::Continue
        }
    });
    let a = f.agent("a").await;
    let e = a.invoke("x".into()).await.unwrap_err();
    assert_eq!(e.to_string(), "no agent named `ghost` is registered");
}

#[tokio::test]
async fn fork_runs_other_agents_and_joins_their_results() {
    let f = Fixture::new().await;
    f.server.push(Reply::ok(openai_text("main answer", 1, 1)));
    f.server
        .push(Reply::ok(openai_text("second opinion", 1, 1)));
    f.on(HookPoint::BeforeAgentExecution, |ctx| {
        if ctx.data["agent_name"] == "main" {
            HookResult::fork(vec![ForkOperation::new(
                "critic",
                json!({"text": "review this"}),
            )])
        } else {
            HookResult::Continue
        }
    });
    f.on(HookPoint::AfterAgentExecution, |_| HookResult::Continue);
    let main = f.agent("main").await;
    let _critic = f.agent("critic").await;
    let out = main.invoke("write".into()).await.unwrap();
    assert_eq!(out.text, "main answer");
    let after = f
        .seen
        .lock()
        .iter()
        .rev()
        .find(|c| c.point == HookPoint::AfterAgentExecution && c.data["agent_name"] == "main")
        .cloned()
        .unwrap();
    let forks = after.data["forks"].as_array().unwrap();
    assert_eq!(forks[0]["target"], "critic");
    assert_eq!(forks[0]["result"]["text"], "second opinion");
}

#[tokio::test]
async fn cache_answers_a_repeated_request_without_the_model() {
    let f = Fixture::new().await;
    f.server
        .push(Reply::ok(openai_text("expensive answer", 100, 50)));
    f.on(HookPoint::BeforeAgentExecution, |ctx| {
        HookResult::cache(
            format!("q:{}", ctx.data["input"]["text"].as_str().unwrap()),
            Duration::from_secs(60),
        )
    });
    let a = f.agent("writer").await;
    assert_eq!(
        a.invoke("same".into()).await.unwrap().text,
        "expensive answer"
    );
    assert_eq!(
        a.invoke("same".into()).await.unwrap().text,
        "expensive answer"
    );
    assert_eq!(f.server.received().len(), 1);
}

#[tokio::test]
async fn shutdown_fires_once_and_pause_resume_fire_custom_points() {
    let f = Fixture::new().await;
    for p in [
        HookPoint::BeforeAgentShutdown,
        HookPoint::AfterAgentShutdown,
        HookPoint::custom("agent_paused"),
        HookPoint::custom("agent_resumed"),
    ] {
        f.on(p, |_| HookResult::Continue);
    }
    let a = f.agent("writer").await;
    a.pause().await.unwrap();
    a.resume().await.unwrap();
    a.terminate().await.unwrap();
    a.terminate().await.unwrap();
    assert_eq!(
        f.points(),
        [
            "custom:agent_paused",
            "custom:agent_resumed",
            "BeforeAgentShutdown",
            "AfterAgentShutdown"
        ]
    );
    let paused = f.last("custom:agent_paused");
    assert_eq!(paused.data["agent_name"], "writer");
    assert_eq!(
        (&paused.data["from_state"], &paused.data["to_state"]),
        (&json!("ready"), &json!("paused"))
    );
    let shutdown = f.last("BeforeAgentShutdown");
    assert_eq!(shutdown.data["from_state"], "ready");
    assert_eq!(shutdown.data["to_state"], "terminated");
}

#[tokio::test]
async fn a_cancelled_shutdown_leaves_the_agent_alive() {
    let f = Fixture::new().await;
    let refuse = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let r = refuse.clone();
    f.on(HookPoint::BeforeAgentShutdown, move |_| {
        if r.load(std::sync::atomic::Ordering::SeqCst) {
            HookResult::cancel("still needed")
        } else {
            HookResult::Continue
        }
    });
    let a = f.agent("writer").await;
    let e = a.terminate().await.unwrap_err();
    assert!(e.to_string().contains("still needed"));
    assert_eq!(a.state(), AgentState::Ready);
    refuse.store(false, std::sync::atomic::Ordering::SeqCst);
    a.terminate().await.unwrap();
    assert_eq!(a.state(), AgentState::Terminated);
}

#[tokio::test]
async fn cancelling_a_running_execution_fires_agent_error_with_a_cancelled_error() {
    let f = Fixture::new().await;
    f.server.push(Reply::Hang);
    f.on(HookPoint::AgentError, |_| HookResult::Continue);
    let a = f.agent("writer").await;
    let r = tokio::time::timeout(Duration::from_millis(200), a.invoke("x".into())).await;
    assert!(r.is_err());
    for _ in 0..100 {
        if a.state() == AgentState::Ready && !f.seen.lock().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(a.state(), AgentState::Ready);
    let err = f.last("AgentError");
    assert!(
        err.data["error"].as_str().unwrap().contains("cancelled"),
        "{:?}",
        err.data
    );
}

#[tokio::test]
async fn tool_calls_are_children_of_the_execution() {
    let f = Fixture::new().await;
    f.server.push(Reply::ok(openai_tools(
        &[("c1", "calculator", json!({"expression": "1+1"}))],
        1,
        1,
    )));
    f.server.push(Reply::ok(openai_text("2", 1, 1)));
    f.on(HookPoint::BeforeToolExecution, |_| HookResult::Continue);
    let a = f.agent_with(f.config("mathy").tools(["calculator"])).await;
    let out = a.invoke("1+1".into()).await.unwrap();
    let tool = f.last("BeforeToolExecution");
    let parent = tool.parent.as_ref().expect("the tool call has a parent");
    assert_eq!(parent.component.name, "mathy");
    assert_eq!(parent.point, HookPoint::BeforeAgentExecution);
    assert_eq!(tool.correlation_id, out.correlation_id);
    assert_eq!(parent.correlation_id, out.correlation_id);
}

#[tokio::test]
async fn cost_tracking_budgets_work_end_to_end() {
    let f = Fixture::new().await;
    f.server.push(Reply::ok(openai_text("pricey", 1000, 1000)));
    f.server.push(Reply::ok(openai_text("never", 1, 1)));
    let cost = Arc::new(
        CostTrackingConfig::new()
            .pricing(PricingTable::empty().set("gpt-test", ModelPricing::new(10.0, 10.0)))
            .budget(Budget::new(BudgetScope::Global, 0.01, 0.015))
            .build()
            .unwrap(),
    );
    for p in [
        HookPoint::BeforeAgentExecution,
        HookPoint::AfterAgentExecution,
    ] {
        f.hooks
            .registry()
            .register_with(p, cost.clone(), RegisterOptions::default())
            .unwrap();
    }
    let a = f.agent("writer").await;
    a.invoke("first".into()).await.unwrap();
    // 2000 tokens at $10 per million: $0.02, over the $0.015 limit.
    assert!(
        (cost.summary().total_usd - 0.02).abs() < 1e-9,
        "{:?}",
        cost.summary()
    );
    let e = a.invoke("second".into()).await.unwrap_err();
    assert!(matches!(e, AgentError::HookCancelled { .. }), "{e:?}");
    assert_eq!(f.server.received().len(), 1);
}
