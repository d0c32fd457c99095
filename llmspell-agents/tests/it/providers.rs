//! The providers against a real HTTP server on loopback.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;

use llmspell_agents::{
    collect_stream, AgentError, ChatRequest, Message, RetryPolicy, StreamEvent, ToolSpec, Usage,
};

use llmspell_agents::testing::{data, done, event, openai_stream, openai_text, LlmServer, Reply};

fn hello() -> ChatRequest {
    ChatRequest {
        messages: vec![Message::system("be brief"), Message::user("hello")],
        ..ChatRequest::default()
    }
}

#[tokio::test]
async fn openai_complete_sends_the_protocol_and_reads_usage() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::ok(openai_text("Hi there", 9, 3)));
    let p = server
        .factory()
        .create(&server.config("openai/gpt-test"))
        .unwrap();
    let c = p.complete(&hello()).await.unwrap();
    assert_eq!(c.text, "Hi there");
    assert_eq!(c.usage, Usage::new(9, 3));
    assert_eq!(c.finish_reason, "stop");
    let r = &server.received()[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.headers["authorization"], "Bearer sk-test");
    assert_eq!(r.body["model"], "gpt-test");
    assert_eq!(
        r.body["messages"][1],
        json!({"role": "user", "content": "hello"})
    );
}

#[tokio::test]
async fn per_agent_base_url_and_key_variable_override_the_environment() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::ok(openai_text("ok", 1, 1)));
    let base = server.base();
    let factory = llmspell_agents::ProviderFactory::new().with_env(|k| match k {
        "OPENAI_BASE_URL" => Some("http://127.0.0.1:1/v1".into()),
        "TEAM_KEY" => Some("sk-team".into()),
        _ => None,
    });
    let p = factory
        .create(
            &server
                .config("openai/gpt-test")
                .base_url(format!("{base}/v1"))
                .api_key_env("TEAM_KEY"),
        )
        .unwrap();
    p.complete(&hello()).await.unwrap();
    assert_eq!(
        server.received()[0].headers["authorization"],
        "Bearer sk-team"
    );
}

#[tokio::test]
async fn ollama_speaks_the_openai_protocol_at_its_host() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::ok(openai_text("llama says hi", 2, 2)));
    let p = server
        .factory()
        .create(&server.config("ollama/llama3.2"))
        .unwrap();
    assert_eq!(p.name(), "ollama");
    assert_eq!(p.complete(&hello()).await.unwrap().text, "llama says hi");
    let r = &server.received()[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert!(r.headers.get("authorization").is_none());
    assert_eq!(r.body["model"], "llama3.2");
}

#[tokio::test]
async fn openai_stream_delivers_fragments_tool_calls_and_the_final_usage_chunk() {
    let server = LlmServer::start().await.unwrap();
    let mut chunks = vec![
        data(
            &json!({"model": "gpt-test", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Let"}}]}),
        ),
        data(&json!({"model": "gpt-test", "choices": [{"index": 0, "delta": {"content": " me"}}]})),
        data(
            &json!({"model": "gpt-test", "choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": "call_a", "type": "function", "function": {"name": "calculator", "arguments": ""}}]}}]}),
        ),
        data(
            &json!({"model": "gpt-test", "choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": "{\"expression\":"}}]}}]}),
        ),
        data(
            &json!({"model": "gpt-test", "choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 1, "id": "call_b", "type": "function", "function": {"name": "uuid_generator", "arguments": "{}"}}]}}]}),
        ),
        data(
            &json!({"model": "gpt-test", "choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": "\"2+2\"}"}}]}}]}),
        ),
        data(
            &json!({"model": "gpt-test", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
        ),
    ];
    chunks.push(data(&json!({"model": "gpt-test", "choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28}})));
    chunks.push(done());
    server.push(Reply::sse(chunks));
    let p = server
        .factory()
        .create(&server.config("openai/gpt-test"))
        .unwrap();
    let mut request = hello();
    request.tools.push(ToolSpec {
        name: "calculator".into(),
        description: "math".into(),
        parameters: json!({"type": "object"}),
    });
    let events: Vec<_> = p.stream(&request).await.unwrap().collect().await;
    let events: Vec<StreamEvent> = events.into_iter().map(Result::unwrap).collect();
    assert_eq!(events[0], StreamEvent::Text("Let".into()));
    let fragments = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::ToolCallFragment { .. }))
        .count();
    assert_eq!(fragments, 4);
    assert!(events.contains(&StreamEvent::Usage(Usage::new(20, 8))));
    let StreamEvent::Completed(c) = events.last().unwrap() else {
        panic!("last event is not Completed: {events:?}");
    };
    assert_eq!(c.text, "Let me");
    assert_eq!(c.tool_calls.len(), 2);
    assert_eq!(c.tool_calls[0].id, "call_a");
    assert_eq!(c.tool_calls[0].arguments, json!({"expression": "2+2"}));
    assert_eq!(c.tool_calls[1].name, "uuid_generator");
    assert_eq!(c.usage.total_tokens, 28);
    assert_eq!(c.finish_reason, "tool_calls");
    let body = &server.received()[0].body;
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["tools"][0]["type"], "function");
}

#[tokio::test]
async fn stream_fragments_arrive_as_the_server_sends_them() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::Sse {
        chunks: openai_stream(&["one", "two", "three"], 1, 3),
        delay: Duration::from_millis(120),
        drop_after: None,
    });
    let p = server
        .factory()
        .create(&server.config("openai/gpt-test"))
        .unwrap();
    let start = Instant::now();
    let mut at = Vec::new();
    let c = collect_stream(p.stream(&hello()).await.unwrap(), "openai", |t| {
        at.push((t.to_owned(), start.elapsed()));
    })
    .await
    .unwrap();
    assert_eq!(c.text, "onetwothree");
    assert_eq!(at.len(), 3);
    // Each fragment is seen about when it was sent, not all at the end.
    assert!(at[1].1 >= at[0].1 + Duration::from_millis(80), "{at:?}");
    assert!(at[2].1 >= at[1].1 + Duration::from_millis(80), "{at:?}");
    assert!(start.elapsed() >= Duration::from_millis(240));
}

#[tokio::test]
async fn http_401_keeps_the_status_and_the_providers_message() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::status(
        401,
        json!({"error": {"message": "Incorrect API key provided: sk-test", "type": "invalid_request_error", "code": "invalid_api_key"}}),
    ));
    let p = server
        .factory()
        .create(&server.config("openai/gpt-test"))
        .unwrap();
    let e = p.complete(&hello()).await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert!(!e.is_transient());
    assert_eq!(
        e.to_string(),
        "openai returned HTTP 401: Incorrect API key provided: sk-test"
    );
}

#[tokio::test]
async fn http_500_is_transient_and_keeps_the_body() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::status(500, json!({"error": "the GPU caught fire"})));
    let p = server
        .factory()
        .create(&server.config("openai/gpt-test"))
        .unwrap();
    let e = p.complete(&hello()).await.unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert!(e.is_transient());
    assert!(e.to_string().contains("the GPU caught fire"), "{e}");
    assert_eq!(
        server.received().len(),
        1,
        "5xx is not retried by the provider"
    );
}

#[tokio::test]
async fn http_429_is_retried_after_the_wait_the_provider_asks_for() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::Json {
        status: 429,
        body: json!({"error": {"message": "Rate limit reached", "type": "requests"}}),
        headers: vec![("retry-after-ms", "150".into())],
    });
    server.push(Reply::ok(openai_text("finally", 1, 1)));
    let p = server
        .factory()
        .create(
            &server
                .config("openai/gpt-test")
                .retry(RetryPolicy::default()),
        )
        .unwrap();
    let start = Instant::now();
    assert_eq!(p.complete(&hello()).await.unwrap().text, "finally");
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert_eq!(server.received().len(), 2);
}

#[tokio::test]
async fn http_429_retries_are_bounded() {
    let server = LlmServer::start().await.unwrap();
    for _ in 0..3 {
        server.push(Reply::Json {
            status: 429,
            body: json!({"error": {"message": "slow down"}}),
            headers: vec![("retry-after", "0".into())],
        });
    }
    server.push(Reply::ok(openai_text("never reached", 1, 1)));
    let p = server
        .factory()
        .create(
            &server
                .config("openai/gpt-test")
                .retry(RetryPolicy::default().max_retries(2)),
        )
        .unwrap();
    let e = p.complete(&hello()).await.unwrap_err();
    assert_eq!(e.status(), Some(429));
    assert_eq!(server.received().len(), 3);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_cap_fails_at_once_with_the_wait() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::Json {
        status: 429,
        body: json!({"error": {"message": "quota"}}),
        headers: vec![("retry-after", "3600".into())],
    });
    let p = server
        .factory()
        .create(
            &server
                .config("openai/gpt-test")
                .retry(RetryPolicy::default()),
        )
        .unwrap();
    let start = Instant::now();
    let e = p.complete(&hello()).await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(matches!(
        e,
        AgentError::Api { status: 429, retry_after: Some(d), .. } if d == Duration::from_secs(3600)
    ));
}

#[tokio::test]
async fn a_connection_dropped_mid_stream_is_an_error_after_the_fragments_sent() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::Sse {
        chunks: openai_stream(&["par", "tial", "never"], 1, 1),
        delay: Duration::ZERO,
        drop_after: Some(2),
    });
    let p = server
        .factory()
        .create(&server.config("openai/gpt-test"))
        .unwrap();
    let mut seen = String::new();
    let e = collect_stream(p.stream(&hello()).await.unwrap(), "openai", |t| {
        seen.push_str(t)
    })
    .await
    .unwrap_err();
    assert_eq!(seen, "partial");
    assert!(matches!(e, AgentError::Connection { .. }), "{e:?}");
    assert!(e.is_transient());
}

#[tokio::test]
async fn a_stream_that_ends_without_done_is_an_error() {
    let server = LlmServer::start().await.unwrap();
    let mut chunks = openai_stream(&["a"], 1, 1);
    chunks.pop(); // no [DONE]
    server.push(Reply::sse(chunks));
    let p = server
        .factory()
        .create(&server.config("openai/gpt-test"))
        .unwrap();
    let e = collect_stream(p.stream(&hello()).await.unwrap(), "openai", |_| {})
        .await
        .unwrap_err();
    assert!(e.to_string().contains("[DONE]"), "{e}");
}

#[tokio::test]
async fn the_request_timeout_applies_to_the_answer_and_to_each_stream_piece() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::Hang);
    server.push(Reply::Sse {
        chunks: openai_stream(&["a", "b"], 1, 1),
        delay: Duration::from_secs(5),
        drop_after: None,
    });
    let config = server
        .config("openai/gpt-test")
        .timeout(Duration::from_millis(200));
    let p = server.factory().create(&config).unwrap();
    let start = Instant::now();
    let e = p.complete(&hello()).await.unwrap_err();
    assert!(matches!(e, AgentError::Timeout { .. }), "{e:?}");
    let e = collect_stream(p.stream(&hello()).await.unwrap(), "openai", |_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, AgentError::Timeout { .. }), "{e:?}");
    assert!(start.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_refused_connection_is_a_connection_error() {
    let p = llmspell_agents::ProviderFactory::new()
        .create(
            &llmspell_agents::ProviderConfig::new("openai/x")
                .base_url("http://127.0.0.1:1/v1")
                .retry(RetryPolicy::none()),
        )
        .unwrap();
    let e = p.complete(&hello()).await.unwrap_err();
    assert!(matches!(e, AgentError::Connection { .. }), "{e:?}");
}

#[tokio::test]
async fn anthropic_request_and_answer_shapes() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::ok(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
        "content": [{"type": "text", "text": "Sure."}, {"type": "tool_use", "id": "toolu_1", "name": "calculator", "input": {"expression": "1+1"}}],
        "stop_reason": "tool_use", "usage": {"input_tokens": 30, "output_tokens": 12}
    })));
    let p = server
        .factory()
        .create(&server.config("anthropic/claude-test"))
        .unwrap();
    let mut request = hello();
    request.max_tokens = Some(64);
    request.tools.push(ToolSpec {
        name: "calculator".into(),
        description: "math".into(),
        parameters: json!({"type": "object", "properties": {"expression": {"type": "string"}}}),
    });
    let c = p.complete(&request).await.unwrap();
    assert_eq!(c.text, "Sure.");
    assert_eq!(c.tool_calls[0].id, "toolu_1");
    assert_eq!(c.tool_calls[0].arguments, json!({"expression": "1+1"}));
    assert_eq!(c.finish_reason, "tool_calls");
    assert_eq!(c.usage, Usage::new(30, 12));
    let r = &server.received()[0];
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.headers["x-api-key"], "ak-test");
    assert_eq!(r.headers["anthropic-version"], "2023-06-01");
    assert_eq!(r.body["system"], "be brief");
    assert_eq!(r.body["max_tokens"], 64);
    assert_eq!(
        r.body["messages"],
        json!([{"role": "user", "content": "hello"}])
    );
    assert_eq!(
        r.body["tools"][0]["input_schema"]["properties"]["expression"]["type"],
        "string"
    );
}

#[tokio::test]
async fn anthropic_stream_with_tool_use_fragments() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::sse(vec![
        event("message_start", &json!({"type": "message_start", "message": {"id": "m", "model": "claude-test", "usage": {"input_tokens": 25, "output_tokens": 1}}})),
        event("content_block_start", &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})),
        event("ping", &json!({"type": "ping"})),
        event("content_block_delta", &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Checking"}})),
        event("content_block_delta", &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "..."}})),
        event("content_block_stop", &json!({"type": "content_block_stop", "index": 0})),
        event("content_block_start", &json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_9", "name": "calculator", "input": {}}})),
        event("content_block_delta", &json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"expression\": \"6*7"}})),
        event("content_block_delta", &json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"}"}})),
        event("content_block_stop", &json!({"type": "content_block_stop", "index": 1})),
        event("message_delta", &json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 40}})),
        event("message_stop", &json!({"type": "message_stop"})),
    ]));
    let p = server
        .factory()
        .create(&server.config("anthropic/claude-test"))
        .unwrap();
    let mut texts = Vec::new();
    let c = collect_stream(p.stream(&hello()).await.unwrap(), "anthropic", |t| {
        texts.push(t.to_owned())
    })
    .await
    .unwrap();
    assert_eq!(texts, ["Checking", "..."]);
    assert_eq!(c.tool_calls[0].id, "toolu_9");
    assert_eq!(c.tool_calls[0].arguments, json!({"expression": "6*7"}));
    assert_eq!(c.usage, Usage::new(25, 40));
    assert_eq!(c.model, "claude-test");
    assert_eq!(server.received()[0].body["stream"], true);
}

#[tokio::test]
async fn anthropic_errors_keep_status_and_message() {
    let server = LlmServer::start().await.unwrap();
    server.push(Reply::status(
        401,
        json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
    ));
    server.push(Reply::sse(vec![
        event("message_start", &json!({"type": "message_start", "message": {"model": "c", "usage": {"input_tokens": 1}}})),
        event("error", &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})),
    ]));
    let p = server
        .factory()
        .create(&server.config("anthropic/claude-test"))
        .unwrap();
    let e = p.complete(&hello()).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "anthropic returned HTTP 401: invalid x-api-key"
    );
    let e = collect_stream(p.stream(&hello()).await.unwrap(), "anthropic", |_| {})
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(529));
    assert!(e.to_string().contains("Overloaded"), "{e}");
}
