//! The agent lifecycle, the tool loop, events, the breaker and
//! cancellation, against a real HTTP server on loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{json, Value};

use llmspell_agents::{
    Agent, AgentConfig, AgentError, AgentInput, AgentRegistry, AgentState, ExecOptions, LlmAgent,
    RetryPolicy,
};
use llmspell_events::{EventBus, Language};
use llmspell_hooks::{
    hook_fn, BreakerConfig, BreakerState, HookContext, HookExecutor, HookPoint, HookRegistry,
    HookResult, ManualClock, SlidingWindow,
};
use llmspell_tools::{ToolRegistry, ToolRuntime, ToolsConfig};

use llmspell_agents::testing::{openai_stream, openai_text, openai_tools, LlmServer, Reply};

fn config(server: &LlmServer, name: &str) -> AgentConfig {
    AgentConfig::new(name, "openai/gpt-test")
        .base_url(format!("{}/v1", server.base()))
        .api_key_env("TEST_KEY")
        .timeout(Duration::from_secs(5))
        .retry(RetryPolicy::none())
}

async fn agent(server: &LlmServer, cfg: AgentConfig) -> LlmAgent {
    LlmAgent::builder(cfg)
        .factory(
            server
                .factory()
                .with_env(|k| (k == "TEST_KEY").then(|| "sk".into())),
        )
        .build()
        .await
        .unwrap()
}

fn tools(hooks: Arc<HookRegistry>) -> Arc<ToolRuntime> {
    let registry = Arc::new(ToolRegistry::with_standard_tools(&ToolsConfig::default()).unwrap());
    Arc::new(ToolRuntime::new(
        registry,
        Arc::new(HookExecutor::new(hooks)),
    ))
}

#[tokio::test]
async fn an_execution_goes_ready_running_ready_and_publishes_its_events() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::ok(openai_text("4", 10, 1)));
    let bus = EventBus::new();
    let mut events = bus.subscribe("agent.*").unwrap();
    let a = LlmAgent::builder(config(&server, "calc").system_prompt("answer with a number"))
        .factory(
            server
                .factory()
                .with_env(|k| (k == "TEST_KEY").then(|| "sk".into())),
        )
        .event_bus(bus.clone())
        .build()
        .await
        .unwrap();
    assert_eq!(a.state(), AgentState::Ready);
    let corr = uuid::Uuid::new_v4();
    let out = a
        .execute(
            AgentInput::text("2+2?"),
            &ExecOptions::new()
                .correlation_id(corr)
                .language(Language::Lua),
            None,
        )
        .await
        .unwrap();
    assert_eq!(out.text, "4");
    assert_eq!(out.correlation_id, corr);
    assert_eq!(
        out.to_json()["usage"],
        json!({"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11})
    );
    assert_eq!(a.state(), AgentState::Ready);

    let mut seen = Vec::new();
    while let Some(e) = events.recv_timeout(Duration::from_millis(200)).await {
        seen.push(e);
    }
    let kinds: Vec<String> = seen
        .iter()
        .map(|e| match e.event_type.as_str() {
            "agent.state.changed" => format!(
                "{}->{}",
                e.data["from"].as_str().unwrap(),
                e.data["to"].as_str().unwrap()
            ),
            other => other.to_owned(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "uninitialized->initializing",
            "initializing->ready",
            "ready->running",
            "agent.execution.started",
            "running->ready",
            "agent.execution.completed",
        ]
    );
    for e in &seen[2..] {
        assert_eq!(e.metadata.correlation_id, Some(corr));
        assert_eq!(e.language, Language::Lua);
        assert_eq!(e.data["agent_name"], "calc");
    }
    assert_eq!(seen[3].data["input"], json!({"text": "2+2?"}));
    assert_eq!(seen[5].data["usage"]["total_tokens"], 11);
    assert!(seen[5].data["duration_ms"].is_u64());
    let body = &server.received()[0].body;
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "answer with a number"})
    );
}

#[tokio::test]
async fn a_failed_execution_goes_through_error_and_recovering_back_to_ready() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::status(500, json!({"error": {"message": "boom"}})));
    server.push(Reply::ok(openai_text("fine now", 1, 1)));
    let bus = EventBus::new();
    let a = LlmAgent::builder(config(&server, "flaky"))
        .factory(
            server
                .factory()
                .with_env(|k| (k == "TEST_KEY").then(|| "sk".into())),
        )
        .event_bus(bus.clone())
        .build()
        .await
        .unwrap();
    let mut events = bus.subscribe("agent.*").unwrap();
    let e = a.invoke("hi".into()).await.unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert!(e.to_string().contains("boom"));
    assert_eq!(a.state(), AgentState::Ready);
    let mut transitions = Vec::new();
    let mut failed = None;
    while let Some(e) = events.recv_timeout(Duration::from_millis(200)).await {
        if e.event_type == "agent.state.changed" {
            transitions.push(format!(
                "{}->{}",
                e.data["from"].as_str().unwrap(),
                e.data["to"].as_str().unwrap()
            ));
        } else if e.event_type == "agent.execution.failed" {
            failed = Some(e.data["error"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        transitions,
        [
            "ready->running",
            "running->error",
            "error->recovering",
            "recovering->ready"
        ]
    );
    assert!(failed.unwrap().contains("HTTP 500: boom"));
    assert_eq!(a.invoke("again".into()).await.unwrap().text, "fine now");
}

#[tokio::test]
async fn pause_resume_and_terminate() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::ok(openai_text("ok", 1, 1)));
    let a = agent(&server, config(&server, "p")).await;
    a.pause().await.unwrap();
    assert_eq!(a.state(), AgentState::Paused);
    let e = a.invoke("hi".into()).await.unwrap_err();
    assert!(
        matches!(
            e,
            AgentError::NotReady {
                state: AgentState::Paused,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "agent `p` cannot invoke while paused (it can when ready)"
    );
    let e = a.pause().await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "agent `p`: illegal state transition from paused to paused"
    );
    a.resume().await.unwrap();
    let e = a.resume().await.unwrap_err();
    assert!(e.to_string().contains("from ready to ready"), "{e}");
    assert_eq!(a.invoke("hi".into()).await.unwrap().text, "ok");
    a.terminate().await.unwrap();
    assert_eq!(a.state(), AgentState::Terminated);
    a.terminate().await.unwrap(); // once
    let e = a.invoke("hi".into()).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "agent `p` is terminated and accepts no more work"
    );
    assert!(a.resume().await.is_err());
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn state_is_consistent_under_concurrent_calls() {
    let server = LlmServer::start().await.unwrap();
    for i in 0..6 {
        server.push(Reply::ok(openai_text(&format!("r{i}"), 1, 1)));
    }
    let a = agent(&server, config(&server, "busy")).await;
    let watcher = {
        let a = a.clone();
        tokio::spawn(async move {
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..2000 {
                seen.insert(a.state());
                tokio::task::yield_now().await;
            }
            seen
        })
    };
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let a = a.clone();
            tokio::spawn(async move { a.invoke("x".into()).await })
        })
        .collect();
    let mut texts = Vec::new();
    for c in calls {
        texts.push(c.await.unwrap().unwrap().text);
    }
    texts.sort();
    assert_eq!(texts, ["r0", "r1", "r2", "r3", "r4", "r5"]);
    let seen = watcher.await.unwrap();
    assert!(
        seen.iter()
            .all(|s| matches!(s, AgentState::Ready | AgentState::Running)),
        "{seen:?}"
    );
    assert_eq!(a.state(), AgentState::Ready);
}

#[tokio::test]
async fn the_tool_loop_runs_calls_through_the_hooked_path_and_feeds_results_back() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::ok(openai_tools(
        &[
            ("c1", "calculator", json!({"expression": "6*7"})),
            ("c2", "calculator", json!({"expression": "2 +"})),
            ("c3", "uuid_generator", json!({})),
            (
                "c4",
                "file_operations",
                json!({"operation": "read", "path": "x"}),
            ),
        ],
        50,
        20,
    )));
    server.push(Reply::ok(openai_text("42, and the rest failed", 80, 10)));
    let hooks = Arc::new(HookRegistry::new());
    let seen: Arc<Mutex<Vec<HookContext>>> = Arc::default();
    let s = seen.clone();
    hooks
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("guard", move |ctx| {
                s.lock().push(ctx.clone());
                Ok(if ctx.data["tool_name"] == "uuid_generator" {
                    HookResult::cancel("no ids today")
                } else {
                    HookResult::Continue
                })
            }),
        )
        .unwrap();
    let runtime = tools(hooks);
    let a = LlmAgent::builder(config(&server, "mathy").tools(["calculator", "uuid_generator"]))
        .factory(
            server
                .factory()
                .with_env(|k| (k == "TEST_KEY").then(|| "sk".into())),
        )
        .tools(runtime)
        .build()
        .await
        .unwrap();
    let corr = uuid::Uuid::new_v4();
    let out = a
        .execute(
            AgentInput::text("6*7?"),
            &ExecOptions::new().correlation_id(corr),
            None,
        )
        .await
        .unwrap();
    assert_eq!(out.text, "42, and the rest failed");
    assert_eq!(
        out.usage.total_tokens, 160,
        "usage accumulates over the turns"
    );
    assert_eq!(out.tool_calls.len(), 4);
    assert_eq!(out.tool_calls[0].name, "calculator");
    assert_eq!(out.tool_calls[0].arguments, json!({"expression": "6*7"}));
    assert_eq!(out.tool_calls[0].result["result"], 42);
    assert!(
        out.tool_calls[1].result["error"].is_string(),
        "a failing tool: {:?}",
        out.tool_calls[1]
    );
    let cancelled = out.tool_calls[2].result["error"].as_str().unwrap();
    assert!(cancelled.contains("no ids today"), "{cancelled}");
    let refused = out.tool_calls[3].result["error"].as_str().unwrap();
    assert!(refused.contains("not available to this agent"), "{refused}");

    // The tool hooks saw the agent's execution as parent.
    let seen = seen.lock();
    assert_eq!(seen.len(), 3);
    for ctx in seen.iter() {
        assert_eq!(ctx.correlation_id, corr);
        let parent = ctx.parent.as_ref().expect("a parent context");
        assert_eq!(parent.component.name, "mathy");
        assert_eq!(parent.correlation_id, corr);
        assert_eq!(ctx.get_metadata("caller"), Some("mathy"));
    }
    drop(seen);

    // What the model got: the schemas, then the results.
    let received = server.received();
    let first = &received[0].body;
    let names: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["calculator", "uuid_generator"]);
    assert_eq!(
        first["tools"][0]["function"]["parameters"]["type"],
        "object"
    );
    let second = received[1].body["messages"].as_array().unwrap();
    assert_eq!(second[1]["tool_calls"].as_array().unwrap().len(), 4);
    assert_eq!(second[2]["role"], "tool");
    assert_eq!(second[2]["tool_call_id"], "c1");
    let result: Value = serde_json::from_str(second[2]["content"].as_str().unwrap()).unwrap();
    assert_eq!(result["result"], 42);
    assert_eq!(second.len(), 6);
}

#[tokio::test]
async fn the_tool_loop_stops_at_max_turns() {
    let server = LlmServer::start().await.unwrap();
    for i in 0..3 {
        server.push(Reply::ok(openai_tools(
            &[(&format!("c{i}"), "calculator", json!({"expression": "1+1"}))],
            1,
            1,
        )));
    }
    let a = LlmAgent::builder(config(&server, "loopy").tools(["calculator"]).max_turns(2))
        .factory(
            server
                .factory()
                .with_env(|k| (k == "TEST_KEY").then(|| "sk".into())),
        )
        .tools(tools(Arc::new(HookRegistry::new())))
        .build()
        .await
        .unwrap();
    let e = a.invoke("loop".into()).await.unwrap_err();
    assert!(matches!(e, AgentError::MaxTurns { max_turns: 2, .. }));
    assert_eq!(
        e.to_string(),
        "agent `loopy`: the model was still calling tools after max_turns = 2 turns"
    );
    assert_eq!(server.received().len(), 2);
    assert_eq!(a.state(), AgentState::Ready);
}

#[tokio::test]
async fn unknown_tools_and_tools_without_a_runtime_are_refused_at_creation() {
    let server = LlmServer::start().await.unwrap();
    let e = LlmAgent::builder(config(&server, "a").tools(["nope"]))
        .factory(
            server
                .factory()
                .with_env(|k| (k == "TEST_KEY").then(|| "sk".into())),
        )
        .tools(tools(Arc::new(HookRegistry::new())))
        .build()
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("tool `nope` is not registered; registered tools: "),
        "{e}"
    );
    let e = LlmAgent::builder(config(&server, "a").tools(["calculator"]))
        .factory(
            server
                .factory()
                .with_env(|k| (k == "TEST_KEY").then(|| "sk".into())),
        )
        .build()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no tool runtime"), "{e}");
}

#[tokio::test]
async fn invoke_tool_runs_one_tool_as_the_agent() {
    let server = LlmServer::start().await.unwrap();
    let hooks = Arc::new(HookRegistry::new());
    let parents: Arc<Mutex<Vec<String>>> = Arc::default();
    let p = parents.clone();
    hooks
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("who", move |ctx| {
                p.lock().push(
                    ctx.parent
                        .as_ref()
                        .map(|p| p.component.name.clone())
                        .unwrap_or_default(),
                );
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    let a = LlmAgent::builder(config(&server, "helper"))
        .factory(
            server
                .factory()
                .with_env(|k| (k == "TEST_KEY").then(|| "sk".into())),
        )
        .tools(tools(hooks))
        .build()
        .await
        .unwrap();
    let v = a
        .invoke_tool(
            "calculator",
            json!({"expression": "3*3"}),
            &ExecOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(v["result"], 9);
    assert_eq!(*parents.lock(), ["helper"]);
    let e = a
        .invoke_tool("nope", json!({}), &ExecOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(e, AgentError::Tool(_)));
}

#[tokio::test]
async fn streaming_delivers_chunks_as_they_arrive_and_returns_the_invoke_shape() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::Sse {
        chunks: openai_stream(&["Once", " upon", " a time"], 7, 5),
        delay: Duration::from_millis(100),
        drop_after: None,
    });
    let a = agent(&server, config(&server, "teller")).await;
    let start = Instant::now();
    let mut chunks = Vec::new();
    let mut cb = |c: &str| chunks.push((c.to_owned(), start.elapsed()));
    let out = a.stream("tell".into(), &mut cb).await.unwrap();
    assert_eq!(out.text, "Once upon a time");
    assert_eq!(out.usage.total_tokens, 12);
    assert_eq!(out.finish_reason, "stop");
    let texts: Vec<&str> = chunks.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(texts, ["Once", " upon", " a time"]);
    assert!(
        chunks[2].1 >= chunks[0].1 + Duration::from_millis(150),
        "{chunks:?}"
    );
}

#[tokio::test]
async fn an_explicit_cancel_mid_stream_ends_ready_quickly() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::Sse {
        chunks: openai_stream(&["a", "b", "c", "d"], 1, 1),
        delay: Duration::from_secs(2),
        drop_after: None,
    });
    server.push(Reply::ok(openai_text("after", 1, 1)));
    let bus = EventBus::new();
    let a = LlmAgent::builder(config(&server, "c"))
        .factory(
            server
                .factory()
                .with_env(|k| (k == "TEST_KEY").then(|| "sk".into())),
        )
        .event_bus(bus.clone())
        .build()
        .await
        .unwrap();
    let mut failed = bus.subscribe("agent.execution.failed").unwrap();
    let canceller = a.clone();
    let start = Instant::now();
    let mut first = true;
    let mut cb = move |_: &str| {
        if std::mem::take(&mut first) {
            assert!(canceller.cancel());
        }
    };
    let e = a.stream("go".into(), &mut cb).await.unwrap_err();
    assert!(matches!(e, AgentError::Cancelled { .. }), "{e:?}");
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(a.state(), AgentState::Ready);
    let ev = failed.recv_timeout(Duration::from_secs(1)).await.unwrap();
    assert!(ev.data["error"].as_str().unwrap().contains("cancelled"));
    assert!(!a.cancel(), "nothing runs now");
    assert_eq!(a.invoke("next".into()).await.unwrap().text, "after");
}

#[tokio::test]
async fn dropping_a_running_execution_cancels_it_and_the_agent_ends_ready() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::Hang);
    server.push(Reply::ok(openai_text("next", 1, 1)));
    let bus = EventBus::new();
    let a = LlmAgent::builder(config(&server, "d"))
        .factory(
            server
                .factory()
                .with_env(|k| (k == "TEST_KEY").then(|| "sk".into())),
        )
        .event_bus(bus.clone())
        .build()
        .await
        .unwrap();
    let mut failed = bus.subscribe("agent.execution.failed").unwrap();
    let r = tokio::time::timeout(Duration::from_millis(200), a.invoke("hang".into())).await;
    assert!(r.is_err(), "the call was still running");
    let ev = failed
        .recv_timeout(Duration::from_secs(2))
        .await
        .expect("a failed event");
    assert!(ev.data["error"].as_str().unwrap().contains("cancelled"));
    assert_eq!(a.state(), AgentState::Ready);
    assert_eq!(a.invoke("again".into()).await.unwrap().text, "next");
}

#[tokio::test]
async fn terminate_cancels_a_running_execution() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::Hang);
    let a = agent(&server, config(&server, "t")).await;
    let running = {
        let a = a.clone();
        tokio::spawn(async move { a.invoke("hang".into()).await })
    };
    while a.state() != AgentState::Running {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.terminate().await.unwrap();
    assert_eq!(a.state(), AgentState::Terminated);
    assert!(matches!(
        running.await.unwrap(),
        Err(AgentError::Cancelled { .. })
    ));
}

#[tokio::test]
async fn the_breaker_trips_on_provider_failures_and_recovers() {
    let server = LlmServer::start().await.unwrap();
    for _ in 0..3 {
        server.push(Reply::status(503, json!({"error": {"message": "down"}})));
    }
    server.push(Reply::ok(openai_text("back", 1, 1)));
    let clock = ManualClock::new();
    let breaker = BreakerConfig::default()
        .window(SlidingWindow::Count(4))
        .minimum_calls(3)
        .failure_rate_threshold(0.5)
        .open_wait(Duration::from_secs(10), Duration::from_secs(60))
        .half_open_trials(1);
    let a = LlmAgent::builder(config(&server, "b").breaker(breaker))
        .factory(
            server
                .factory()
                .with_env(|k| (k == "TEST_KEY").then(|| "sk".into())),
        )
        .clock(Arc::new(clock.clone()))
        .build()
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(a.invoke("x".into()).await.unwrap_err().status(), Some(503));
    }
    assert_eq!(a.breaker().state(), BreakerState::Open);
    let e = a.invoke("x".into()).await.unwrap_err();
    assert!(matches!(e, AgentError::CircuitOpen { .. }), "{e:?}");
    assert_eq!(server.received().len(), 3, "an open breaker sends nothing");
    assert_eq!(a.state(), AgentState::Ready);
    clock.advance(Duration::from_secs(10));
    assert_eq!(a.invoke("x".into()).await.unwrap().text, "back");
    assert_eq!(a.breaker().state(), BreakerState::Closed);
}

#[tokio::test]
async fn client_errors_do_not_trip_the_breaker() {
    let server = LlmServer::start().await.unwrap();
    for _ in 0..6 {
        server.push(Reply::status(
            400,
            json!({"error": {"message": "bad request"}}),
        ));
    }
    let breaker = BreakerConfig::default()
        .window(SlidingWindow::Count(4))
        .minimum_calls(2);
    let a = agent(&server, config(&server, "c").breaker(breaker)).await;
    for _ in 0..6 {
        assert_eq!(a.invoke("x".into()).await.unwrap_err().status(), Some(400));
    }
    assert_eq!(a.breaker().state(), BreakerState::Closed);
}

#[tokio::test]
async fn the_registry_lists_gets_and_replaces_terminated_agents() {
    let server = LlmServer::start().await.unwrap();
    let reg = AgentRegistry::new();
    let a = Arc::new(agent(&server, config(&server, "zed")).await);
    reg.register(a.clone()).unwrap();
    reg.register(Arc::new(agent(&server, config(&server, "amy")).await))
        .unwrap();
    assert_eq!(reg.names(), ["amy", "zed"]);
    let e = reg
        .register(Arc::new(agent(&server, config(&server, "zed")).await))
        .unwrap_err();
    assert_eq!(e.to_string(), "an agent named `zed` is already registered");
    assert_eq!(reg.get("zed").unwrap().name(), "zed");
    assert!(reg.get("nobody").is_none());
    assert!(matches!(
        reg.require("nobody"),
        Err(AgentError::NotFound(_))
    ));
    a.terminate().await.unwrap();
    reg.register(Arc::new(agent(&server, config(&server, "zed")).await))
        .unwrap();
    assert_eq!(reg.get("zed").unwrap().state(), AgentState::Ready);
}

#[tokio::test]
async fn an_agent_calling_itself_from_inside_its_execution_is_refused() {
    // A tool hook of the agent's own tool call invokes the same agent.
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::ok(openai_tools(
        &[("c1", "calculator", json!({"expression": "1"}))],
        1,
        1,
    )));
    server.push(Reply::ok(openai_text("done", 1, 1)));
    let hooks = Arc::new(HookRegistry::new());
    let slot: Arc<Mutex<Option<LlmAgent>>> = Arc::default();
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let (s, errs) = (slot.clone(), errors.clone());
    hooks
        .register(
            HookPoint::BeforeToolExecution,
            llmspell_hooks::async_hook_fn("reenter", move |_ctx| {
                let s = s.clone();
                let errs = errs.clone();
                async move {
                    let a = s.lock().clone();
                    if let Some(a) = a {
                        if let Err(e) = a.invoke("inner".into()).await {
                            errs.lock().push(e.to_string());
                        }
                    }
                    Ok(HookResult::Continue)
                }
            }),
        )
        .unwrap();
    let a = LlmAgent::builder(config(&server, "self").tools(["calculator"]))
        .factory(
            server
                .factory()
                .with_env(|k| (k == "TEST_KEY").then(|| "sk".into())),
        )
        .tools(tools(hooks))
        .build()
        .await
        .unwrap();
    *slot.lock() = Some(a.clone());
    let out = tokio::time::timeout(Duration::from_secs(5), a.invoke("outer".into()))
        .await
        .expect("no deadlock")
        .unwrap();
    assert_eq!(out.text, "done");
    assert_eq!(
        *errors.lock(),
        ["agent `self` was invoked from inside its own execution"]
    );
}
