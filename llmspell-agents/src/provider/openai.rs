//! The OpenAI chat-completions protocol (OpenAI, Ollama's `/v1`, vLLM,
//! llama.cpp server, LM Studio, ...).

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderName, AUTHORIZATION};
use serde_json::{json, Map, Value};

use super::http::HttpClient;
use super::stream::{parse_arguments, CompletionAccumulator, SseFold};
use super::{
    ChatRequest, Completion, CompletionStream, LlmProvider, Message, RetryPolicy, Role,
    StreamEvent, ToolCall, Usage,
};
use crate::{AgentError, Result};

/// Most tool calls accepted in one streamed answer (a guard against a
/// server sending absurd indices).
const MAX_STREAMED_CALLS: usize = 128;

/// A model behind `POST {base}/chat/completions`.
#[derive(Debug, Clone)]
pub struct OpenAiProvider {
    name: String,
    model: String,
    url: String,
    api_key: Option<String>,
    http: HttpClient,
}

impl OpenAiProvider {
    /// A provider called `name` for `model` at `base_url` (e.g.
    /// `https://api.openai.com/v1`), sending `api_key` as a bearer token
    /// when given.
    ///
    /// # Errors
    /// [`AgentError::Connection`] if the HTTP client cannot be built.
    pub fn new(
        name: &str,
        model: &str,
        base_url: &str,
        api_key: Option<String>,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<Self> {
        Ok(Self {
            name: name.to_owned(),
            model: model.to_owned(),
            url: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            api_key,
            http: HttpClient::new(name, timeout, retry)?,
        })
    }

    /// The request body for `request`.
    #[must_use]
    pub fn body(&self, request: &ChatRequest, stream: bool) -> Value {
        let mut body = Map::new();
        body.insert("model".into(), json!(self.model));
        body.insert(
            "messages".into(),
            Value::Array(request.messages.iter().map(wire_message).collect()),
        );
        if !request.tools.is_empty() {
            body.insert(
                "tools".into(),
                Value::Array(
                    request
                        .tools
                        .iter()
                        .map(|t| {
                            json!({"type": "function", "function": {
                                "name": t.name,
                                "description": t.description,
                                "parameters": t.parameters,
                            }})
                        })
                        .collect(),
                ),
            );
        }
        if let Some(t) = request.temperature {
            body.insert("temperature".into(), json!(t));
        }
        if let Some(m) = request.max_tokens {
            body.insert("max_tokens".into(), json!(m));
        }
        if stream {
            body.insert("stream".into(), json!(true));
            body.insert("stream_options".into(), json!({"include_usage": true}));
        }
        Value::Object(body)
    }

    fn headers(&self) -> Vec<(HeaderName, String)> {
        self.api_key
            .iter()
            .map(|k| (AUTHORIZATION, format!("Bearer {k}")))
            .collect()
    }

    fn invalid(&self, message: impl Into<String>) -> AgentError {
        AgentError::InvalidResponse {
            provider: self.name.clone(),
            message: message.into(),
        }
    }

    fn parse_completion(&self, v: &Value) -> Result<Completion> {
        let choice = v
            .pointer("/choices/0")
            .ok_or_else(|| self.invalid(format!("no `choices` in {v}")))?;
        let message = &choice["message"];
        let mut tool_calls = Vec::new();
        if let Some(calls) = message["tool_calls"].as_array() {
            for (i, c) in calls.iter().enumerate() {
                let name = c
                    .pointer("/function/name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| self.invalid(format!("tool call {i} has no function name")))?;
                let arguments = match c.pointer("/function/arguments") {
                    Some(Value::String(s)) => parse_arguments(s),
                    Some(Value::Null) | None => json!({}),
                    Some(other) => other.clone(),
                };
                tool_calls.push(ToolCall {
                    id: c["id"]
                        .as_str()
                        .map_or_else(|| format!("call_{i}"), str::to_owned),
                    name: name.to_owned(),
                    arguments,
                });
            }
        }
        Ok(Completion {
            text: message["content"].as_str().unwrap_or_default().to_owned(),
            finish_reason: choice["finish_reason"].as_str().map_or_else(
                || {
                    if tool_calls.is_empty() {
                        "stop".into()
                    } else {
                        "tool_calls".into()
                    }
                },
                str::to_owned,
            ),
            tool_calls,
            usage: parse_usage(&v["usage"]).unwrap_or_default(),
            model: v["model"].as_str().unwrap_or(&self.model).to_owned(),
        })
    }
}

fn parse_usage(u: &Value) -> Option<Usage> {
    let prompt = u["prompt_tokens"].as_u64()?;
    let completion = u["completion_tokens"].as_u64().unwrap_or(0);
    Some(Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: u["total_tokens"].as_u64().unwrap_or(prompt + completion),
    })
}

fn wire_message(m: &Message) -> Value {
    match m.role {
        Role::Tool => json!({
            "role": "tool",
            "tool_call_id": m.tool_call_id.clone().unwrap_or_default(),
            "content": m.content,
        }),
        Role::Assistant if !m.tool_calls.is_empty() => json!({
            "role": "assistant",
            "content": if m.content.is_empty() { Value::Null } else { json!(m.content) },
            "tool_calls": m.tool_calls.iter().map(|c| json!({
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments.to_string()},
            })).collect::<Vec<_>>(),
        }),
        role => json!({"role": role, "content": m.content}),
    }
}

#[async_trait]
impl LlmProvider for OpenAiProvider {
    fn name(&self) -> &str {
        &self.name
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
        let fold = OpenAiFold {
            acc: CompletionAccumulator::new(),
            provider: self.name.clone(),
            model: self.model.clone(),
        };
        self.http
            .post_stream(&self.url, &self.headers(), &self.body(request, true), fold)
            .await
    }
}

/// Reads chat-completion chunks (`data: {chunk}` ... `data: [DONE]`).
struct OpenAiFold {
    acc: CompletionAccumulator,
    provider: String,
    model: String,
}

impl SseFold for OpenAiFold {
    fn event(
        &mut self,
        _kind: &str,
        data: &str,
        out: &mut Vec<Result<StreamEvent>>,
    ) -> Result<bool> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(false);
        }
        if data == "[DONE]" {
            return Ok(true);
        }
        let chunk: Value = serde_json::from_str(data).map_err(|e| AgentError::InvalidResponse {
            provider: self.provider.clone(),
            message: format!("a stream chunk is not JSON ({e}): {data}"),
        })?;
        if let Some(err) = chunk.get("error") {
            let message = err["message"]
                .as_str()
                .map_or_else(|| err.to_string(), str::to_owned);
            return Err(AgentError::InvalidResponse {
                provider: self.provider.clone(),
                message: format!("error in the stream: {message}"),
            });
        }
        chunk_events(&chunk, &mut self.acc, out, &self.provider)?;
        Ok(false)
    }

    fn finish(&mut self) -> Result<Completion> {
        std::mem::take(&mut self.acc).finish(&self.provider, &self.model)
    }

    fn unfinished(&self) -> AgentError {
        AgentError::Connection {
            provider: self.provider.clone(),
            message: "the connection closed before `data: [DONE]` (dropped mid-stream)".into(),
        }
    }
}

/// The events of one chunk, folded into `acc` too.
fn chunk_events(
    chunk: &Value,
    acc: &mut CompletionAccumulator,
    out: &mut Vec<Result<StreamEvent>>,
    provider: &str,
) -> Result<()> {
    if let Some(m) = chunk["model"].as_str() {
        acc.set_model(m);
    }
    if let Some(usage) = parse_usage(&chunk["usage"]) {
        let e = StreamEvent::Usage(usage);
        acc.push(&e);
        out.push(Ok(e));
    }
    let Some(choice) = chunk.pointer("/choices/0") else {
        return Ok(());
    };
    let delta = &choice["delta"];
    if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
        let e = StreamEvent::Text(text.to_owned());
        acc.push(&e);
        out.push(Ok(e));
    }
    if let Some(calls) = delta["tool_calls"].as_array() {
        for (pos, c) in calls.iter().enumerate() {
            let index = c["index"]
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .unwrap_or(pos);
            if index >= MAX_STREAMED_CALLS {
                return Err(AgentError::InvalidResponse {
                    provider: provider.to_owned(),
                    message: format!("tool call index {index} is out of range (at most {MAX_STREAMED_CALLS} calls)"),
                });
            }
            let arguments = match c.pointer("/function/arguments") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            let e = StreamEvent::ToolCallFragment {
                index,
                id: c["id"].as_str().map(str::to_owned),
                name: c
                    .pointer("/function/name")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                arguments,
            };
            acc.push(&e);
            out.push(Ok(e));
        }
    }
    if let Some(reason) = choice["finish_reason"].as_str() {
        acc.set_finish_reason(reason);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ToolSpec;

    fn provider() -> OpenAiProvider {
        OpenAiProvider::new(
            "openai",
            "gpt-x",
            "http://127.0.0.1:9/v1/",
            Some("k".into()),
            Duration::from_secs(1),
            RetryPolicy::none(),
        )
        .unwrap()
    }

    #[test]
    fn request_body_shape() {
        let p = provider();
        assert_eq!(p.url, "http://127.0.0.1:9/v1/chat/completions");
        let request = ChatRequest {
            messages: vec![
                Message::system("be brief"),
                Message::user("2+2?"),
                Message {
                    role: Role::Assistant,
                    content: String::new(),
                    tool_calls: vec![ToolCall {
                        id: "c1".into(),
                        name: "calculator".into(),
                        arguments: json!({"expression": "2+2"}),
                    }],
                    tool_call_id: None,
                },
                Message::tool_result("c1", "{\"result\":4}"),
            ],
            tools: vec![ToolSpec {
                name: "calculator".into(),
                description: "math".into(),
                parameters: json!({"type": "object"}),
            }],
            temperature: Some(0.5),
            max_tokens: Some(10),
        };
        let body = p.body(&request, true);
        assert_eq!(body["model"], "gpt-x");
        assert_eq!(
            body["messages"][0],
            json!({"role": "system", "content": "be brief"})
        );
        assert_eq!(body["messages"][2]["content"], Value::Null);
        assert_eq!(
            body["messages"][2]["tool_calls"][0]["function"]["arguments"],
            "{\"expression\":\"2+2\"}"
        );
        assert_eq!(body["messages"][3]["tool_call_id"], "c1");
        assert_eq!(body["tools"][0]["function"]["name"], "calculator");
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["max_tokens"], 10);
        assert!(p.body(&request, false).get("stream").is_none());
    }

    #[test]
    fn a_completion_with_tool_calls_parses() {
        let c = provider()
            .parse_completion(&json!({
                "model": "gpt-x-2024",
                "choices": [{"message": {"content": null, "tool_calls": [
                    {"id": "a", "type": "function", "function": {"name": "calc", "arguments": "{\"x\":1}"}}
                ]}, "finish_reason": "tool_calls"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
            }))
            .unwrap();
        assert_eq!(c.text, "");
        assert_eq!(c.tool_calls[0].arguments, json!({"x": 1}));
        assert_eq!(c.usage, Usage::new(5, 2));
        assert_eq!(c.model, "gpt-x-2024");
        assert!(provider().parse_completion(&json!({})).is_err());
    }
}
