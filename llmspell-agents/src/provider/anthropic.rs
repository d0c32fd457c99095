//! The Anthropic Messages API (`POST {base}/v1/messages`), with tool use
//! and streaming.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::HeaderName;
use serde_json::{json, Map, Value};

use super::http::HttpClient;
use super::stream::{CompletionAccumulator, SseFold};
use super::{
    ChatRequest, Completion, CompletionStream, LlmProvider, Message, RetryPolicy, Role,
    StreamEvent, ToolCall, Usage,
};
use crate::{AgentError, Result};

/// The API version sent in `anthropic-version`.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// `max_tokens` is required by the Messages API; sent when the agent sets
/// none.
const DEFAULT_MAX_TOKENS: u32 = 4096;

const MAX_STREAMED_BLOCKS: usize = 256;

/// A Claude model behind the Messages API.
#[derive(Debug, Clone)]
pub struct AnthropicProvider {
    model: String,
    url: String,
    api_key: String,
    http: HttpClient,
}

impl AnthropicProvider {
    /// A provider for `model` at `base_url` (e.g. `https://api.anthropic.com`).
    ///
    /// # Errors
    /// [`AgentError::Connection`] if the HTTP client cannot be built.
    pub fn new(
        model: &str,
        base_url: &str,
        api_key: String,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<Self> {
        let base = base_url.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        Ok(Self {
            model: model.to_owned(),
            url: format!("{base}/v1/messages"),
            api_key,
            http: HttpClient::new("anthropic", timeout, retry)?,
        })
    }

    /// The request body for `request`: system messages go to `system`,
    /// tool results become `tool_result` blocks of a user message.
    #[must_use]
    pub fn body(&self, request: &ChatRequest, stream: bool) -> Value {
        let mut system = Vec::new();
        let mut messages: Vec<Value> = Vec::new();
        for m in &request.messages {
            match m.role {
                Role::System => system.push(m.content.clone()),
                Role::User => messages.push(json!({"role": "user", "content": m.content})),
                Role::Assistant => messages.push(assistant(m)),
                Role::Tool => {
                    let block = json!({
                        "type": "tool_result",
                        "tool_use_id": m.tool_call_id.clone().unwrap_or_default(),
                        "content": m.content,
                    });
                    // Consecutive results answer one assistant turn: one
                    // user message holds them all.
                    match messages.last_mut() {
                        Some(last)
                            if last["role"] == "user"
                                && last["content"].as_array().is_some_and(|b| {
                                    b.iter().all(|b| b["type"] == "tool_result")
                                }) =>
                        {
                            if let Some(blocks) = last["content"].as_array_mut() {
                                blocks.push(block);
                            }
                        }
                        _ => messages.push(json!({"role": "user", "content": [block]})),
                    }
                }
            }
        }
        let mut body = Map::new();
        body.insert("model".into(), json!(self.model));
        body.insert(
            "max_tokens".into(),
            json!(request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)),
        );
        if !system.is_empty() {
            body.insert("system".into(), json!(system.join("\n\n")));
        }
        body.insert("messages".into(), Value::Array(messages));
        if !request.tools.is_empty() {
            body.insert(
                "tools".into(),
                Value::Array(
                    request
                        .tools
                        .iter()
                        .map(|t| {
                            json!({"name": t.name, "description": t.description, "input_schema": t.parameters})
                        })
                        .collect(),
                ),
            );
        }
        if let Some(t) = request.temperature {
            body.insert("temperature".into(), json!(t));
        }
        if stream {
            body.insert("stream".into(), json!(true));
        }
        Value::Object(body)
    }

    fn headers(&self) -> Vec<(HeaderName, String)> {
        vec![
            (HeaderName::from_static("x-api-key"), self.api_key.clone()),
            (
                HeaderName::from_static("anthropic-version"),
                ANTHROPIC_VERSION.to_owned(),
            ),
        ]
    }

    fn invalid(&self, message: impl Into<String>) -> AgentError {
        AgentError::InvalidResponse {
            provider: "anthropic".into(),
            message: message.into(),
        }
    }

    fn parse_completion(&self, v: &Value) -> Result<Completion> {
        let blocks = v["content"]
            .as_array()
            .ok_or_else(|| self.invalid(format!("no `content` in {v}")))?;
        let mut text = String::new();
        let mut tool_calls = Vec::new();
        for b in blocks {
            match b["type"].as_str() {
                Some("text") => text.push_str(b["text"].as_str().unwrap_or_default()),
                Some("tool_use") => tool_calls.push(ToolCall {
                    id: b["id"].as_str().unwrap_or_default().to_owned(),
                    name: b["name"]
                        .as_str()
                        .ok_or_else(|| self.invalid("a tool_use block has no name"))?
                        .to_owned(),
                    arguments: b.get("input").cloned().unwrap_or_else(|| json!({})),
                }),
                _ => {}
            }
        }
        let usage = Usage::new(
            v.pointer("/usage/input_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            v.pointer("/usage/output_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(0),
        );
        Ok(Completion {
            text,
            tool_calls,
            usage,
            model: v["model"].as_str().unwrap_or(&self.model).to_owned(),
            finish_reason: finish_reason(v["stop_reason"].as_str()),
        })
    }
}

fn assistant(m: &Message) -> Value {
    if m.tool_calls.is_empty() {
        return json!({"role": "assistant", "content": m.content});
    }
    let mut blocks = Vec::new();
    if !m.content.is_empty() {
        blocks.push(json!({"type": "text", "text": m.content}));
    }
    for c in &m.tool_calls {
        let input = if c.arguments.is_object() {
            c.arguments.clone()
        } else {
            json!({})
        };
        blocks.push(json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}));
    }
    json!({"role": "assistant", "content": blocks})
}

/// Anthropic's stop reasons in OpenAI's words.
fn finish_reason(reason: Option<&str>) -> String {
    match reason {
        Some("end_turn" | "stop_sequence") | None => "stop".into(),
        Some("tool_use") => "tool_calls".into(),
        Some("max_tokens") => "length".into(),
        Some("refusal") => "content_filter".into(),
        Some(other) => other.into(),
    }
}

#[async_trait]
impl LlmProvider for AnthropicProvider {
    fn name(&self) -> &str {
        "anthropic"
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn complete(&self, request: &ChatRequest) -> Result<Completion> {
        let v = self
            .http
            .post_json(&self.url, &self.headers(), &self.body(request, false))
            .await?;
        self.parse_completion(&v)
    }

    async fn stream(&self, request: &ChatRequest) -> Result<CompletionStream> {
        let fold = Folder {
            model: self.model.clone(),
            ..Folder::default()
        };
        self.http
            .post_stream(&self.url, &self.headers(), &self.body(request, true), fold)
            .await
    }
}

/// Folds Messages API stream events into our events.
#[derive(Debug, Default)]
struct Folder {
    model: String,
    acc: CompletionAccumulator,
    /// For each content block index, the tool call index it is.
    calls: Vec<Option<usize>>,
    next_call: usize,
    prompt_tokens: Option<u64>,
}

impl SseFold for Folder {
    fn finish(&mut self) -> Result<Completion> {
        std::mem::take(&mut self.acc).finish("anthropic", &self.model)
    }

    fn unfinished(&self) -> AgentError {
        AgentError::Connection {
            provider: "anthropic".into(),
            message: "the connection closed before `message_stop` (dropped mid-stream)".into(),
        }
    }

    /// `Ok(true)` at `message_stop`.
    fn event(
        &mut self,
        kind: &str,
        data: &str,
        out: &mut Vec<Result<StreamEvent>>,
    ) -> Result<bool> {
        let invalid = |message: String| AgentError::InvalidResponse {
            provider: "anthropic".into(),
            message,
        };
        if data.trim().is_empty() {
            return Ok(false);
        }
        let v: Value = serde_json::from_str(data)
            .map_err(|e| invalid(format!("a stream event is not JSON ({e}): {data}")))?;
        let kind = if kind.is_empty() || kind == "message" {
            v["type"].as_str().unwrap_or_default()
        } else {
            kind
        };
        match kind {
            "message_start" => {
                if let Some(m) = v.pointer("/message/model").and_then(Value::as_str) {
                    self.acc.set_model(m);
                }
                self.prompt_tokens = v
                    .pointer("/message/usage/input_tokens")
                    .and_then(Value::as_u64);
                let out_tokens = v
                    .pointer("/message/usage/output_tokens")
                    .and_then(Value::as_u64);
                self.acc.add_usage(self.prompt_tokens, out_tokens);
            }
            "content_block_start" => {
                let index = block_index(&v)
                    .ok_or_else(|| invalid("content_block_start without an index".into()))?;
                if index >= MAX_STREAMED_BLOCKS {
                    return Err(invalid(format!(
                        "content block index {index} is out of range"
                    )));
                }
                if self.calls.len() <= index {
                    self.calls.resize(index + 1, None);
                }
                let block = &v["content_block"];
                match block["type"].as_str() {
                    Some("tool_use") => {
                        let call = self.next_call;
                        self.next_call += 1;
                        self.calls[index] = Some(call);
                        let e = StreamEvent::ToolCallFragment {
                            index: call,
                            id: block["id"].as_str().map(str::to_owned),
                            name: block["name"].as_str().map(str::to_owned),
                            arguments: String::new(),
                        };
                        self.acc.push(&e);
                        out.push(Ok(e));
                    }
                    Some("text") => {
                        if let Some(t) = block["text"].as_str().filter(|t| !t.is_empty()) {
                            let e = StreamEvent::Text(t.to_owned());
                            self.acc.push(&e);
                            out.push(Ok(e));
                        }
                    }
                    _ => {}
                }
            }
            "content_block_delta" => {
                let index = block_index(&v)
                    .ok_or_else(|| invalid("content_block_delta without an index".into()))?;
                let delta = &v["delta"];
                match delta["type"].as_str() {
                    Some("text_delta") => {
                        if let Some(t) = delta["text"].as_str().filter(|t| !t.is_empty()) {
                            let e = StreamEvent::Text(t.to_owned());
                            self.acc.push(&e);
                            out.push(Ok(e));
                        }
                    }
                    Some("input_json_delta") => {
                        let call = self.calls.get(index).copied().flatten().ok_or_else(|| {
                            invalid(format!(
                                "input_json_delta for block {index}, which is not a tool_use block"
                            ))
                        })?;
                        let e = StreamEvent::ToolCallFragment {
                            index: call,
                            id: None,
                            name: None,
                            arguments: delta["partial_json"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                        };
                        self.acc.push(&e);
                        out.push(Ok(e));
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(r) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.acc.set_finish_reason(&finish_reason(Some(r)));
                }
                if let Some(o) = v.pointer("/usage/output_tokens").and_then(Value::as_u64) {
                    let prompt = v
                        .pointer("/usage/input_tokens")
                        .and_then(Value::as_u64)
                        .or(self.prompt_tokens);
                    self.acc.add_usage(prompt, Some(o));
                    let usage = Usage::new(prompt.unwrap_or(0), o);
                    out.push(Ok(StreamEvent::Usage(usage)));
                }
            }
            "message_stop" => return Ok(true),
            "error" => {
                let kind = v
                    .pointer("/error/type")
                    .and_then(Value::as_str)
                    .unwrap_or("error");
                let message = v
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or(data)
                    .to_owned();
                let status = match kind {
                    "overloaded_error" => 529,
                    "rate_limit_error" => 429,
                    "api_error" => 500,
                    "authentication_error" => 401,
                    "permission_error" => 403,
                    "not_found_error" => 404,
                    "request_too_large" => 413,
                    _ => 400,
                };
                return Err(AgentError::Api {
                    provider: "anthropic".into(),
                    status,
                    message: format!("{kind} in the stream: {message}"),
                    retry_after: None,
                });
            }
            _ => {} // ping, content_block_stop, future event types
        }
        Ok(false)
    }
}

fn block_index(v: &Value) -> Option<usize> {
    v["index"].as_u64().and_then(|i| usize::try_from(i).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ToolSpec;

    fn provider() -> AnthropicProvider {
        AnthropicProvider::new(
            "claude-x",
            "http://127.0.0.1:9/v1",
            "k".into(),
            Duration::from_secs(1),
            RetryPolicy::none(),
        )
        .unwrap()
    }

    #[test]
    fn request_shape_moves_system_and_groups_tool_results() {
        let p = provider();
        assert_eq!(p.url, "http://127.0.0.1:9/v1/messages");
        let call = |id: &str| ToolCall {
            id: id.into(),
            name: "calc".into(),
            arguments: json!({"x": 1}),
        };
        let request = ChatRequest {
            messages: vec![
                Message::system("be brief"),
                Message::user("hi"),
                Message {
                    role: Role::Assistant,
                    content: "let me see".into(),
                    tool_calls: vec![call("a"), call("b")],
                    tool_call_id: None,
                },
                Message::tool_result("a", "1"),
                Message::tool_result("b", "2"),
            ],
            tools: vec![ToolSpec {
                name: "calc".into(),
                description: "d".into(),
                parameters: json!({"type": "object"}),
            }],
            temperature: None,
            max_tokens: None,
        };
        let body = p.body(&request, true);
        assert_eq!(body["system"], "be brief");
        assert_eq!(body["max_tokens"], 4096);
        assert_eq!(body["stream"], true);
        let msgs = body["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 3);
        assert_eq!(
            msgs[1]["content"][1],
            json!({"type": "tool_use", "id": "a", "name": "calc", "input": {"x": 1}})
        );
        assert_eq!(msgs[2]["content"].as_array().unwrap().len(), 2);
        assert_eq!(msgs[2]["content"][1]["tool_use_id"], "b");
        assert_eq!(body["tools"][0]["input_schema"], json!({"type": "object"}));
    }

    #[test]
    fn stream_events_fold_into_a_completion() {
        let mut f = Folder::default();
        let mut out = Vec::new();
        let events = [
            (
                "message_start",
                r#"{"type":"message_start","message":{"model":"claude-x-1","usage":{"input_tokens":10,"output_tokens":1}}}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
            ),
            ("ping", r#"{"type":"ping"}"#),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t1","name":"calc","input":{}}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"x\":"}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"2}"}}"#,
            ),
            (
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":7}}"#,
            ),
        ];
        for (k, d) in events {
            assert!(!f.event(k, d, &mut out).unwrap());
        }
        assert!(f
            .event("message_stop", r#"{"type":"message_stop"}"#, &mut out)
            .unwrap());
        let c = f.acc.finish("anthropic", "m").unwrap();
        assert_eq!(c.text, "Hi");
        assert_eq!(c.tool_calls[0].arguments, json!({"x": 2}));
        assert_eq!(c.usage, Usage::new(10, 7));
        assert_eq!(c.finish_reason, "tool_calls");
        assert_eq!(c.model, "claude-x-1");
        let err = Folder::default()
            .event(
                "error",
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
                &mut out,
            )
            .unwrap_err();
        assert_eq!(err.status(), Some(529));
        assert!(err.is_transient());
    }

    #[test]
    fn a_message_parses() {
        let c = provider()
            .parse_completion(&json!({
                "model": "claude-x",
                "content": [{"type": "text", "text": "ok"}, {"type": "tool_use", "id": "t", "name": "calc", "input": {"a": 1}}],
                "stop_reason": "tool_use",
                "usage": {"input_tokens": 3, "output_tokens": 4}
            }))
            .unwrap();
        assert_eq!(c.text, "ok");
        assert_eq!(c.tool_calls[0].name, "calc");
        assert_eq!(c.finish_reason, "tool_calls");
        assert_eq!(c.usage.total_tokens, 7);
    }
}
