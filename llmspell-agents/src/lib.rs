//! Agents for llmspell: the [`Agent`] trait with a 9-state lifecycle,
//! [`LlmAgent`] on real LLM providers with the tool-calling loop, and the
//! providers themselves.
//!
//! # Concepts
//!
//! - [`AgentState`]: Uninitialized, Initializing, Ready, Running, Paused,
//!   Terminating, Terminated, Error, Recovering; one transition table
//!   ([`AgentState::can_transition_to`]); an illegal transition is
//!   [`AgentError::IllegalTransition`] naming both states.
//! - [`Agent`]: `execute` / `invoke` / `stream`, `pause`, `resume`,
//!   `terminate`, `cancel`, `state`.
//! - [`LlmAgent`]: an agent on an [`LlmProvider`]; offers tools from a
//!   [`llmspell_tools::ToolRuntime`] and runs the calls the model asks for
//!   through the hooked tool path; a circuit breaker over provider
//!   failures; `agent.*` lifecycle events on an optional
//!   [`llmspell_events::EventBus`].
//! - [`LlmProvider`]: `complete` and `stream` over a [`ChatRequest`];
//!   [`ProviderFactory`] builds `openai/<model>`, `ollama/<model>`,
//!   `anthropic/<model>` and `replay/<model>` from the environment
//!   (`OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OLLAMA_HOST`,
//!   `ANTHROPIC_BASE_URL`, `ANTHROPIC_API_KEY`) and per-agent overrides.
//! - [`RecordingProvider`] writes a [`Transcript`] from a live run;
//!   [`ReplayProvider`] answers from it, offline.
//! - [`AgentRegistry`]: agents by name.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use llmspell_agents::{
//!     Agent, AgentConfig, AgentInput, LlmAgent, ReplayProvider, Transcript,
//!     TranscriptExchange, ChatRequest, Completion, Message, Usage,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> llmspell_agents::Result<()> {
//! // A recorded exchange (usually written by a RecordingProvider).
//! let transcript = Transcript {
//!     version: 1,
//!     exchanges: vec![TranscriptExchange {
//!         provider: "openai".into(),
//!         model: "gpt-4o-mini".into(),
//!         request: ChatRequest {
//!             messages: vec![Message::system("Be brief."), Message::user("Hi!")],
//!             ..ChatRequest::default()
//!         },
//!         completion: Completion {
//!             text: "Hello!".into(),
//!             usage: Usage::new(12, 3),
//!             model: "gpt-4o-mini".into(),
//!             finish_reason: "stop".into(),
//!             ..Completion::default()
//!         },
//!         chunks: vec![],
//!     }],
//! };
//! let provider = Arc::new(ReplayProvider::new("demo", "demo.json".as_ref(), transcript));
//!
//! let agent = LlmAgent::builder(AgentConfig::new("greeter", "replay/demo").system_prompt("Be brief."))
//!     .provider(provider)
//!     .build()
//!     .await?;
//! let out = agent.invoke(AgentInput::text("Hi!")).await?;
//! assert_eq!(out.text, "Hello!");
//! assert_eq!(out.usage.total_tokens, 15);
//! assert_eq!(agent.state().as_str(), "ready");
//! agent.terminate().await?;
//! assert!(agent.invoke("again".into()).await.is_err());
//! # Ok(())
//! # }
//! ```
//!
//! See `docs/user-guide/agents.md` for configuration, streaming, tools and
//! transcripts.

mod agent;
mod config;
mod error;
mod hook_data;
pub mod provider;
mod registry;
mod state;
#[cfg(feature = "testing")]
pub mod testing;

pub use agent::{
    declare_points, Agent, AgentInput, AgentOutput, ChunkCallback, ExecOptions, LlmAgent,
    LlmAgentBuilder, ToolCallRecord, AGENT_POINTS, EVENT_EXECUTION_COMPLETED,
    EVENT_EXECUTION_FAILED, EVENT_EXECUTION_STARTED, EVENT_STATE_CHANGED, MAX_FORK_DEPTH,
    MAX_REDIRECTS, POINT_AGENT_PAUSED, POINT_AGENT_RESUMED,
};
pub use config::{default_agent_breaker, AgentConfig, CONFIG_KEYS, DEFAULT_MAX_TURNS};
pub use error::{AgentError, Result};
pub use provider::{
    collect_stream, AnthropicProvider, ChatRequest, Completion, CompletionAccumulator,
    CompletionStream, LlmProvider, Message, OpenAiProvider, ProviderConfig, ProviderFactory,
    RecordingProvider, ReplayProvider, RetryPolicy, Role, StreamEvent, ToolCall, ToolSpec,
    Transcript, TranscriptExchange, Usage, DEFAULT_REQUEST_TIMEOUT,
};
pub use registry::AgentRegistry;
pub use state::AgentState;
