//! LLM providers: the [`LlmProvider`] trait, the wire-neutral request and
//! answer types, and the providers `openai/…`, `ollama/…`, `anthropic/…`
//! and `replay/…`.

mod anthropic;
mod factory;
mod http;
mod openai;
mod replay;
mod stream;

use std::fmt;
use std::ops::{Add, AddAssign};

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Result;

pub use anthropic::{AnthropicProvider, ANTHROPIC_VERSION};
pub use factory::{
    ProviderConfig, ProviderConstructor, ProviderFactory, RetryPolicy, DEFAULT_REQUEST_TIMEOUT,
};
pub use openai::OpenAiProvider;
pub use replay::{
    RecordingProvider, ReplayProvider, Transcript, TranscriptExchange, TRANSCRIPT_VERSION,
};
pub use stream::{collect_stream, CompletionAccumulator};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The user's words.
    User,
    /// The model's answer (text and/or tool calls).
    Assistant,
    /// A tool's result, answering one tool call.
    Tool,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its text (a tool result's JSON text for [`Role::Tool`]).
    #[serde(default)]
    pub content: String,
    /// The tool calls an assistant message made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The call a [`Role::Tool`] message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Self::text(Role::System, text)
    }

    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        Self::text(Role::User, text)
    }

    /// An assistant message with text only.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::text(Role::Assistant, text)
    }

    /// The result of tool call `call_id`.
    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: Role::Tool,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: Some(call_id.into()),
        }
    }

    fn text(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            content: text.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
}

/// A tool offered to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// The JSON Schema of its parameter object.
    pub parameters: Value,
}

/// A tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id of the call (answered by a tool message).
    pub id: String,
    /// The tool.
    pub name: String,
    /// Its arguments (the parsed JSON object; the raw text as a string if
    /// the model sent text that is not JSON).
    pub arguments: Value,
}

/// Token usage of one or more model calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens of the answer.
    pub completion_tokens: u64,
    /// Their sum.
    pub total_tokens: u64,
}

impl Usage {
    /// Usage of `prompt` and `completion` tokens (the total is their sum).
    #[must_use]
    pub fn new(prompt: u64, completion: u64) -> Self {
        Self {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
        }
    }
}

impl Add for Usage {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        Self {
            prompt_tokens: self.prompt_tokens + rhs.prompt_tokens,
            completion_tokens: self.completion_tokens + rhs.completion_tokens,
            total_tokens: self.total_tokens + rhs.total_tokens,
        }
    }
}

impl AddAssign for Usage {
    fn add_assign(&mut self, rhs: Self) {
        *self = *self + rhs;
    }
}

/// What is sent to a model: the conversation, the tools it may call and
/// sampling settings. The model itself is the provider's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Most tokens of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

/// One answer of a model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// Its text (may be empty when it only calls tools).
    pub text: String,
    /// The tool calls it asks for.
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
    /// Tokens used.
    #[serde(default)]
    pub usage: Usage,
    /// The model that answered, as the provider names it.
    #[serde(default)]
    pub model: String,
    /// Why it stopped, in OpenAI's words: `stop`, `tool_calls`, `length`,
    /// `content_filter` (Anthropic's `end_turn` is `stop`, `tool_use` is
    /// `tool_calls`, `max_tokens` is `length`).
    #[serde(default)]
    pub finish_reason: String,
}

/// One item of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamEvent {
    /// A fragment of the answer's text, as it arrived.
    Text(String),
    /// A fragment of a tool call: the first of a call carries its `id` and
    /// `name`, every one a piece of the arguments' JSON text.
    ToolCallFragment {
        /// Which call of the answer (0-based).
        index: usize,
        /// The call's id (first fragment).
        id: Option<String>,
        /// The tool (first fragment).
        name: Option<String>,
        /// A piece of the arguments' JSON text.
        arguments: String,
    },
    /// Token usage (OpenAI sends it in a last chunk when asked).
    Usage(Usage),
    /// The whole answer, assembled from the fragments; always the last item
    /// of a stream that did not fail.
    Completed(Completion),
}

/// A streamed answer: fragments, then [`StreamEvent::Completed`]. An
/// answer cut short (a dropped connection, an error event) ends with an
/// error instead.
pub type CompletionStream = BoxStream<'static, Result<StreamEvent>>;

/// A chat model behind some API.
///
/// Implementations keep the model name and connection settings; a request
/// carries only the conversation. They must be cheap to share (`Arc`) and
/// safe to call concurrently.
#[async_trait]
pub trait LlmProvider: Send + Sync + fmt::Debug {
    /// The provider's name (`openai`, `ollama`, `anthropic`, `replay`, ...).
    fn name(&self) -> &str;

    /// The model asked for.
    fn model(&self) -> &str;

    /// Sends `request` and returns the whole answer.
    ///
    /// # Errors
    /// [`AgentError::Api`](crate::AgentError::Api) (with the HTTP status and
    /// the provider's message), `Timeout`, `Connection`, `InvalidResponse`.
    async fn complete(&self, request: &ChatRequest) -> Result<Completion>;

    /// Sends `request` and streams the answer as it arrives.
    ///
    /// # Errors
    /// As [`complete`](Self::complete), for the request; the stream's items
    /// carry errors that happen later (a dropped connection mid-stream).
    async fn stream(&self, request: &ChatRequest) -> Result<CompletionStream>;
}
