//! The [`Agent`] trait and [`LlmAgent`], an agent on an [`LlmProvider`]
//! with the tool-calling loop.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::future::BoxFuture;
use futures::StreamExt;
use llmspell_events::{EventBus, Language, UniversalEvent};
use llmspell_hooks::{
    current_parent, CircuitBreaker, Clock, ComponentId, ComponentType, ForkOperation, ForkRunner,
    GuardError, HookContext, HookPoint, Hooks, LentCall, LentOperation, OperationError,
    SystemClock,
};
use llmspell_tools::{InvokeOptions, ToolRuntime};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::hook_data::{self, Kind};
use crate::provider::{
    ChatRequest, Completion, LlmProvider, Message, ProviderFactory, Role, StreamEvent, ToolSpec,
    Usage,
};
use crate::state::StateCell;
use crate::{AgentConfig, AgentError, AgentRegistry, AgentState, Result};

/// Event published on every state change (`agent_name`, `from`, `to`).
pub const EVENT_STATE_CHANGED: &str = "agent.state.changed";
/// Event published when an execution starts (`agent_name`, `input`).
pub const EVENT_EXECUTION_STARTED: &str = "agent.execution.started";
/// Event published when an execution succeeded (`agent_name`,
/// `duration_ms`, `usage`, `model`).
pub const EVENT_EXECUTION_COMPLETED: &str = "agent.execution.completed";
/// Event published when an execution failed (`agent_name`, `error`,
/// `duration_ms`).
pub const EVENT_EXECUTION_FAILED: &str = "agent.execution.failed";

/// The custom point fired after an agent is paused (`agent_name`,
/// `from_state`, `to_state`).
pub const POINT_AGENT_PAUSED: &str = "agent_paused";
/// The custom point fired after an agent is resumed.
pub const POINT_AGENT_RESUMED: &str = "agent_resumed";
/// Most redirects one execution may follow.
pub const MAX_REDIRECTS: u32 = 8;
/// How deep forked executions may nest.
pub const MAX_FORK_DEPTH: u32 = 2;

/// What an execution is asked: `{text}` plus any other fields (kept and
/// visible to hooks).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentInput {
    /// The user's message.
    pub text: String,
    /// Other fields of the input object.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AgentInput {
    /// An input with `text` only.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            extra: Map::new(),
        }
    }

    /// The input from its JSON form `{text = "..."}` (a bare string is
    /// taken as the text).
    ///
    /// # Errors
    /// [`AgentError::Config`] when there is no string `text`.
    pub fn from_json(v: Value) -> Result<Self> {
        match v {
            Value::String(s) => Ok(Self::text(s)),
            Value::Object(mut map) => match map.remove("text") {
                Some(Value::String(text)) => Ok(Self { text, extra: map }),
                _ => Err(missing_text()),
            },
            _ => Err(not_a_table()),
        }
    }

    /// The text of the JSON form, read in place, with the errors of
    /// [`from_json`](Self::from_json).
    fn text_of(v: &Value) -> Result<&str> {
        match v {
            Value::String(s) => Ok(s),
            Value::Object(map) => match map.get("text") {
                Some(Value::String(text)) => Ok(text),
                _ => Err(missing_text()),
            },
            _ => Err(not_a_table()),
        }
    }

    /// The JSON form.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut map = self.extra.clone();
        map.insert("text".into(), Value::String(self.text.clone()));
        Value::Object(map)
    }
}

fn missing_text() -> AgentError {
    AgentError::Config("the input needs a string field `text`, e.g. {text = \"hello\"}".into())
}

fn not_a_table() -> AgentError {
    AgentError::Config("the input must be a table {text = \"...\"}".into())
}

impl From<&str> for AgentInput {
    fn from(s: &str) -> Self {
        Self::text(s)
    }
}

impl From<String> for AgentInput {
    fn from(s: String) -> Self {
        Self::text(s)
    }
}

/// One tool call the model made during an execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallRecord {
    /// The tool.
    pub name: String,
    /// The arguments the model gave.
    pub arguments: Value,
    /// What the tool returned, or `{error = "..."}` when it failed (that is
    /// also what the model was told).
    pub result: Value,
}

/// What an execution returns. Its JSON form is the script shape `{text,
/// usage = {prompt_tokens, completion_tokens, total_tokens}, tool_calls =
/// {{name, arguments, result}}, model, finish_reason}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentOutput {
    /// The answer.
    pub text: String,
    /// Tokens used by all the execution's model calls.
    pub usage: Usage,
    /// The tool calls made, in order.
    pub tool_calls: Vec<ToolCallRecord>,
    /// The model that answered.
    pub model: String,
    /// Why the model stopped (`stop`, `length`, ...).
    pub finish_reason: String,
    /// The execution's correlation id (not part of the JSON form).
    #[serde(skip)]
    pub correlation_id: Uuid,
    /// How long the execution took (not part of the JSON form).
    #[serde(skip)]
    pub duration: Duration,
}

impl AgentOutput {
    /// The JSON form.
    #[must_use]
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The JSON form hooks see at `AfterAgentExecution`: [`to_json`]
    /// plus the OpenTelemetry GenAI usage keys
    /// (`gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`,
    /// `gen_ai.response.model`) that `CostTrackingHook` reads. Converting
    /// it back ignores them.
    ///
    /// [`to_json`]: Self::to_json
    #[must_use]
    pub fn to_hook_json(&self) -> Value {
        let mut v = self.to_json();
        if let Value::Object(map) = &mut v {
            map.insert(
                "gen_ai.usage.input_tokens".into(),
                json!(self.usage.prompt_tokens),
            );
            map.insert(
                "gen_ai.usage.output_tokens".into(),
                json!(self.usage.completion_tokens),
            );
            map.insert("gen_ai.response.model".into(), json!(self.model));
        }
        v
    }

    /// An output from its JSON form (a hook's replacement value); a bare
    /// string is the text, missing fields are empty.
    #[must_use]
    pub fn from_json(v: &Value) -> Self {
        match v {
            Value::String(s) => Self {
                text: s.clone(),
                finish_reason: "stop".into(),
                ..Self::default()
            },
            other => Self::deserialize(other).unwrap_or_else(|_| Self {
                text: other
                    .get("text")
                    .and_then(Value::as_str)
                    .map_or_else(|| other.to_string(), str::to_owned),
                ..Self::default()
            }),
        }
    }
}

/// Per-execution options.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    correlation_id: Option<Uuid>,
    language: Language,
    parent: Option<HookContext>,
    fork_depth: u32,
}

impl ExecOptions {
    /// Defaults: a fresh correlation id, language Rust.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses this correlation id for the execution's events, hooks and
    /// tool calls.
    #[must_use]
    pub fn correlation_id(mut self, id: Uuid) -> Self {
        self.correlation_id = Some(id);
        self
    }

    /// The language the call comes from.
    #[must_use]
    pub fn language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// Makes the execution a child of `parent` (its correlation id is used
    /// unless one is set).
    #[must_use]
    pub fn parent(mut self, parent: HookContext) -> Self {
        self.parent = Some(parent);
        self
    }

    fn correlation(&self) -> Uuid {
        self.correlation_id
            .or_else(|| self.parent.as_ref().map(|p| p.correlation_id))
            .unwrap_or_else(Uuid::new_v4)
    }
}

/// Receives each text fragment of a streamed answer as it arrives.
pub type ChunkCallback<'a> = &'a mut (dyn FnMut(&str) + Send);

/// An agent: a named component with a lifecycle that answers inputs.
///
/// Executions of one agent run one at a time, in call order; a call made
/// while one runs waits for it. Every method is safe to call concurrently.
#[async_trait]
pub trait Agent: Send + Sync + fmt::Debug {
    /// The agent's name.
    fn name(&self) -> &str;

    /// The current state (one of the nine, even under concurrent calls).
    fn state(&self) -> AgentState;

    /// Runs one execution; `on_chunk`, when given, gets each text fragment
    /// as the model streams it.
    ///
    /// # Errors
    /// [`AgentError::Terminated`], [`AgentError::NotReady`] (paused),
    /// [`AgentError::Cancelled`], [`AgentError::CircuitOpen`],
    /// [`AgentError::MaxTurns`], or the provider's error.
    async fn execute(
        &self,
        input: AgentInput,
        opts: &ExecOptions,
        on_chunk: Option<ChunkCallback<'_>>,
    ) -> Result<AgentOutput>;

    /// Runs one execution without streaming.
    ///
    /// # Errors
    /// As [`execute`](Self::execute).
    async fn invoke(&self, input: AgentInput) -> Result<AgentOutput> {
        self.execute(input, &ExecOptions::new(), None).await
    }

    /// Runs one execution, streaming the answer's text to `on_chunk`.
    ///
    /// # Errors
    /// As [`execute`](Self::execute).
    async fn stream(&self, input: AgentInput, on_chunk: ChunkCallback<'_>) -> Result<AgentOutput> {
        self.execute(input, &ExecOptions::new(), Some(on_chunk))
            .await
    }

    /// Ready → Paused (waits for a running execution to end first).
    ///
    /// # Errors
    /// [`AgentError::IllegalTransition`] from any state but Ready.
    async fn pause(&self) -> Result<()>;

    /// Paused → Ready.
    ///
    /// # Errors
    /// [`AgentError::IllegalTransition`] from any state but Paused.
    async fn resume(&self) -> Result<()>;

    /// Cancels a running execution, then Terminating → Terminated. A second
    /// call does nothing.
    ///
    /// # Errors
    /// None in practice; implementations may fail on hooks.
    async fn terminate(&self) -> Result<()>;

    /// Cancels the running execution, if any (it fails with
    /// [`AgentError::Cancelled`] and the agent goes back to Ready).
    /// Returns whether one was running.
    fn cancel(&self) -> bool;

    /// Runs one tool through the hooked tool path as this agent (the
    /// call's parent is the agent). The default refuses: the agent has no
    /// tools.
    ///
    /// # Errors
    /// [`AgentError::Config`] when the agent cannot call tools, or the
    /// tool's error.
    async fn invoke_tool(&self, name: &str, params: Value, opts: &ExecOptions) -> Result<Value> {
        let _ = (params, opts);
        Err(AgentError::Config(format!(
            "agent `{}` cannot call tools (asked for `{name}`)",
            self.name()
        )))
    }
}

tokio::task_local! {
    /// The agents whose executions enclose the current task.
    static ACTIVE: Arc<Vec<Uuid>>;
}

/// An agent answering through an [`LlmProvider`], offering tools from a
/// [`ToolRuntime`] to the model and running the calls it asks for through
/// the hooked tool path.
///
/// Cheap to clone (an [`Arc`]); clones are the same agent.
///
/// An execution: the state goes Ready → Running; the conversation (system
/// prompt, the input text) is sent with the tools' JSON Schemas; each tool
/// call the model asks for runs through [`ToolRuntime::invoke_with`] (with
/// the agent's correlation id and this execution as parent) and its result
/// (or `{error}`) is sent back; this repeats until the model answers
/// without tool calls or `max_turns` is reached ([`AgentError::MaxTurns`]).
/// Then Running → Ready, or on failure Running → Error → Recovering →
/// Ready. Provider failures feed the agent's circuit breaker. The
/// execution runs on a task of its own, so that dropping the caller's
/// future cancels it cleanly (the agent still ends Ready and the failure is
/// reported); it needs a Tokio runtime.
#[derive(Clone)]
pub struct LlmAgent {
    inner: Arc<Inner>,
}

impl fmt::Debug for LlmAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmAgent")
            .field("name", &self.inner.config.name)
            .field("model", &self.inner.config.provider.model)
            .field("state", &self.inner.state.get())
            .finish_non_exhaustive()
    }
}

struct Inner {
    id: Uuid,
    config: AgentConfig,
    provider: Arc<dyn LlmProvider>,
    tools: Option<Arc<ToolRuntime>>,
    tool_specs: Vec<ToolSpec>,
    bus: Option<EventBus>,
    state: StateCell,
    breaker: CircuitBreaker,
    exec_lock: tokio::sync::Mutex<()>,
    current: parking_lot::Mutex<Option<CancellationToken>>,
    shut_down: AtomicBool,
    hooks: Hooks,
    agents: Option<Weak<AgentRegistry>>,
}

/// Builds an [`LlmAgent`].
#[must_use]
pub struct LlmAgentBuilder {
    config: AgentConfig,
    provider: Option<Arc<dyn LlmProvider>>,
    factory: Option<ProviderFactory>,
    tools: Option<Arc<ToolRuntime>>,
    bus: Option<EventBus>,
    clock: Option<Arc<dyn Clock>>,
    hooks: Option<Hooks>,
    agents: Option<Weak<AgentRegistry>>,
    language: Language,
}

impl fmt::Debug for LlmAgentBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmAgentBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The hook points agents fire (the agent lifecycle; `custom:agent_paused`
/// and `custom:agent_resumed` are custom points, which need no
/// declaration).
pub const AGENT_POINTS: [HookPoint; 7] = [
    HookPoint::BeforeAgentInit,
    HookPoint::AfterAgentInit,
    HookPoint::BeforeAgentExecution,
    HookPoint::AfterAgentExecution,
    HookPoint::AgentError,
    HookPoint::BeforeAgentShutdown,
    HookPoint::AfterAgentShutdown,
];

/// Declares in `hooks`' registry that agents fire [`AGENT_POINTS`] (see
/// `HookRegistry::declare_fired`), so hooks registered there are not
/// reported as unfired. Building an agent does this; an application that
/// lets scripts create agents later (the script bridge does) calls it
/// when it sets up, before any hook is registered.
pub fn declare_points(hooks: &Hooks) {
    hooks
        .registry()
        .declare_fired(AGENT_POINTS, "agents (llmspell-agents)");
}

impl LlmAgentBuilder {
    /// Uses this provider instead of building one from the model string.
    pub fn provider(mut self, provider: Arc<dyn LlmProvider>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Builds the provider with this factory (default: one reading the
    /// process environment).
    pub fn factory(mut self, factory: ProviderFactory) -> Self {
        self.factory = Some(factory);
        self
    }

    /// Offers tools from `runtime` and runs their calls through it.
    pub fn tools(mut self, runtime: Arc<ToolRuntime>) -> Self {
        self.tools = Some(runtime);
        self
    }

    /// Publishes lifecycle events on `bus`.
    pub fn event_bus(mut self, bus: EventBus) -> Self {
        self.bus = Some(bus);
        self
    }

    /// Runs the agent's operations under `hooks` (default: the tool
    /// runtime's, else fresh ones).
    pub fn hooks(mut self, hooks: impl Into<Hooks>) -> Self {
        self.hooks = Some(hooks.into());
        self
    }

    /// The registry `Redirect` and `Fork` results name agents in (held
    /// weakly: the registry usually holds the agent).
    pub fn agent_registry(mut self, registry: &Arc<AgentRegistry>) -> Self {
        self.agents = Some(Arc::downgrade(registry));
        self
    }

    /// The language the agent is created from (its init hooks' context).
    pub fn language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// The clock of the agent's circuit breaker (a `ManualClock` in tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Builds and initializes the agent: Uninitialized → Initializing →
    /// Ready.
    ///
    /// # Errors
    /// [`AgentError::Config`] for an invalid configuration or a tool that
    /// is not registered (or tools without a runtime); the provider
    /// factory's errors.
    pub async fn build(self) -> Result<LlmAgent> {
        let config = self.config;
        config.validate()?;
        let provider = match self.provider {
            Some(p) => p,
            None => self.factory.unwrap_or_default().create(&config.provider)?,
        };
        let tool_specs = match (&self.tools, config.tools.is_empty()) {
            (_, true) => Vec::new(),
            (None, false) => {
                return Err(AgentError::Config(format!(
                    "agent `{}` lists tools but has no tool runtime",
                    config.name
                )))
            }
            (Some(rt), false) => config
                .tools
                .iter()
                .map(|name| {
                    let t = rt.registry().get(name).ok_or_else(|| {
                        AgentError::Config(format!(
                            "tool `{name}` is not registered; registered tools: {}",
                            rt.registry().names().join(", ")
                        ))
                    })?;
                    let m = t.metadata();
                    Ok(ToolSpec {
                        name: name.clone(),
                        description: m.description().to_owned(),
                        parameters: m.parameters().clone(),
                    })
                })
                .collect::<Result<_>>()?,
        };
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock::new()));
        let breaker = CircuitBreaker::with_clock(config.breaker, clock)
            .map_err(|e| AgentError::Config(format!("breaker: {e}")))?;
        let hooks = match (self.hooks, &self.tools) {
            (Some(h), _) => h,
            (None, Some(rt)) => rt.hooks().clone(),
            (None, None) => Hooks::new(),
        };
        declare_points(&hooks);
        let agent = LlmAgent {
            inner: Arc::new(Inner {
                id: Uuid::new_v4(),
                config,
                provider,
                tools: self.tools,
                tool_specs,
                bus: self.bus,
                state: StateCell::new(AgentState::Uninitialized),
                breaker,
                exec_lock: tokio::sync::Mutex::new(()),
                current: parking_lot::Mutex::new(None),
                shut_down: AtomicBool::new(false),
                hooks,
                agents: self.agents,
            }),
        };
        agent.inner.initialize(self.language).await?;
        Ok(agent)
    }
}

impl LlmAgent {
    /// A builder for an agent configured by `config`.
    pub fn builder(config: AgentConfig) -> LlmAgentBuilder {
        LlmAgentBuilder {
            config,
            provider: None,
            factory: None,
            tools: None,
            bus: None,
            clock: None,
            hooks: None,
            agents: None,
            language: Language::Rust,
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &AgentConfig {
        &self.inner.config
    }

    /// The provider.
    #[must_use]
    pub fn provider(&self) -> &Arc<dyn LlmProvider> {
        &self.inner.provider
    }

    /// The component id hooks and events see (type Agent, the name, an id
    /// unique to this agent).
    #[must_use]
    pub fn component_id(&self) -> ComponentId {
        self.inner.component()
    }

    /// The agent's circuit breaker over provider failures.
    #[must_use]
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.inner.breaker
    }
}

#[async_trait]
impl Agent for LlmAgent {
    fn name(&self) -> &str {
        &self.inner.config.name
    }

    fn state(&self) -> AgentState {
        self.inner.state.get()
    }

    async fn execute(
        &self,
        input: AgentInput,
        opts: &ExecOptions,
        on_chunk: Option<ChunkCallback<'_>>,
    ) -> Result<AgentOutput> {
        let inner = &self.inner;
        let active = ACTIVE.try_with(Arc::clone).unwrap_or_default();
        if active.contains(&inner.id) {
            return Err(AgentError::Reentrant {
                agent: inner.config.name.clone(),
            });
        }
        inner.check_accepts("invoke")?;
        let mut chain = Vec::with_capacity(active.len() + 1);
        chain.extend_from_slice(&active);
        chain.push(inner.id);

        let token = CancellationToken::new();
        // Dropping this future cancels the execution; the task then ends it
        // (state back to Ready, failure reported) by itself.
        let cancel_on_drop = token.clone().drop_guard();
        let (tx, mut rx) = match on_chunk {
            Some(_) => {
                let (tx, rx) = mpsc::unbounded_channel();
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let task_inner = Arc::clone(inner);
        let mut opts = opts.clone();
        // The task does not inherit the caller's task-locals: carry the
        // enclosing operation (a workflow step, a hook) explicitly.
        if opts.parent.is_none() {
            opts.parent = current_parent();
        }
        let mut task = tokio::spawn(ACTIVE.scope(Arc::new(chain), async move {
            task_inner.run(input, opts, token, tx).await
        }));
        let joined = match (on_chunk, rx.as_mut()) {
            (Some(cb), Some(rx)) => loop {
                tokio::select! {
                    biased;
                    Some(chunk) = rx.recv() => cb(&chunk),
                    joined = &mut task => {
                        while let Ok(chunk) = rx.try_recv() {
                            cb(&chunk);
                        }
                        break joined;
                    }
                }
            },
            _ => (&mut task).await,
        };
        drop(cancel_on_drop.disarm());
        match joined {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(AgentError::Cancelled {
                agent: inner.config.name.clone(),
                reason: format!("the execution task ended: {e}"),
            }),
        }
    }

    async fn pause(&self) -> Result<()> {
        let inner = &self.inner;
        let _turn = inner.exec_lock.lock().await;
        inner
            .lifecycle(AgentState::Ready, AgentState::Paused, POINT_AGENT_PAUSED)
            .await
    }

    async fn resume(&self) -> Result<()> {
        let inner = &self.inner;
        let _turn = inner.exec_lock.lock().await;
        inner
            .lifecycle(AgentState::Paused, AgentState::Ready, POINT_AGENT_RESUMED)
            .await
    }

    async fn terminate(&self) -> Result<()> {
        let inner = &self.inner;
        if inner.shut_down.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.cancel();
        let _turn = inner.exec_lock.lock().await;
        let result = inner.shutdown().await;
        if result.is_err() && !inner.state.get().is_shut_down() {
            // A hook refused: the agent lives on and may be terminated
            // again.
            inner.shut_down.store(false, Ordering::Release);
        }
        result
    }

    fn cancel(&self) -> bool {
        match &*self.inner.current.lock() {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    async fn invoke_tool(&self, name: &str, params: Value, opts: &ExecOptions) -> Result<Value> {
        let inner = &self.inner;
        if inner.state.get().is_shut_down() {
            return Err(AgentError::Terminated {
                agent: inner.config.name.clone(),
            });
        }
        let rt = inner.tools.as_ref().ok_or_else(|| {
            AgentError::Config(format!("agent `{}` has no tool runtime", inner.config.name))
        })?;
        let corr = opts.correlation();
        let parent = inner.parent_context(HookPoint::BeforeAgentExecution, corr, opts);
        let tool_opts = InvokeOptions::new()
            .correlation_id(corr)
            .language(opts.language)
            .caller(inner.config.name.clone())
            .parent(parent);
        Ok(rt.invoke_with(name, params, &tool_opts).await?.result)
    }
}

impl Inner {
    fn component(&self) -> ComponentId {
        ComponentId::with_id(ComponentType::Agent, self.config.name.clone(), self.id)
    }

    fn parent_context(&self, point: HookPoint, corr: Uuid, opts: &ExecOptions) -> HookContext {
        let mut b = HookContext::builder(point, self.component())
            .correlation_id(corr)
            .language(opts.language)
            .data("agent_name", json!(self.config.name));
        if let Some(p) = &opts.parent {
            b = b.parent(p.clone());
        }
        b.build()
    }

    fn check_accepts(&self, action: &'static str) -> Result<()> {
        if self.shut_down.load(Ordering::Acquire) {
            return Err(AgentError::Terminated {
                agent: self.config.name.clone(),
            });
        }
        match self.state.get() {
            s if s.is_shut_down() => Err(AgentError::Terminated {
                agent: self.config.name.clone(),
            }),
            AgentState::Paused => Err(AgentError::NotReady {
                agent: self.config.name.clone(),
                action,
                state: AgentState::Paused,
            }),
            _ => Ok(()),
        }
    }

    async fn transition(
        &self,
        from: AgentState,
        to: AgentState,
        corr: Uuid,
        language: Language,
    ) -> Result<()> {
        self.state.transition(&self.config.name, from, to)?;
        self.publish_state(from, to, corr, language).await;
        Ok(())
    }

    async fn publish_state(
        &self,
        from: AgentState,
        to: AgentState,
        corr: Uuid,
        language: Language,
    ) {
        self.publish(
            EVENT_STATE_CHANGED,
            corr,
            language,
            || json!({"agent_name": self.config.name, "from": from.as_str(), "to": to.as_str()}),
        )
        .await;
    }

    /// Publishes `event_type` with the data `data` builds, if the agent has
    /// a bus (without one the data is not built).
    async fn publish(
        &self,
        event_type: &'static str,
        corr: Uuid,
        language: Language,
        data: impl FnOnce() -> Value + Send,
    ) {
        let Some(bus) = &self.bus else { return };
        let event = UniversalEvent::builder(event_type)
            .data(data())
            .language(language)
            .correlation_id(corr)
            .source(format!("agent:{}", self.config.name))
            .build();
        if let Err(e) = bus.publish(event).await {
            tracing::warn!(event_type, error = %e, "could not publish an agent lifecycle event");
        }
    }

    /// The configuration hooks see at creation (`config`): `model`,
    /// `system_prompt`, `temperature`, `max_tokens`, `tools`, `max_turns`
    /// (absent options are null). Built directly: `json!` would go through
    /// the serializer for every field.
    fn config_json(&self) -> Value {
        let c = &self.config;
        let mut m = Map::new();
        m.insert("model".into(), Value::String(c.provider.model.clone()));
        m.insert(
            "system_prompt".into(),
            c.system_prompt.clone().map_or(Value::Null, Value::String),
        );
        m.insert(
            "temperature".into(),
            c.temperature.map_or(Value::Null, Value::from),
        );
        m.insert(
            "max_tokens".into(),
            c.max_tokens.map_or(Value::Null, Value::from),
        );
        m.insert(
            "tools".into(),
            Value::Array(c.tools.iter().cloned().map(Value::String).collect()),
        );
        m.insert("max_turns".into(), Value::from(c.max_turns));
        Value::Object(m)
    }

    /// Creation: Uninitialized → Initializing, `BeforeAgentInit`, →
    /// Ready, `AfterAgentInit`. A hook that cancels fails the creation.
    async fn initialize(&self, language: Language) -> Result<()> {
        let corr = Uuid::new_v4();
        self.transition(
            AgentState::Uninitialized,
            AgentState::Initializing,
            corr,
            language,
        )
        .await?;
        const BEFORE: HookPoint = HookPoint::BeforeAgentInit;
        const AFTER: HookPoint = HookPoint::AfterAgentInit;
        let mut op = self
            .hooks
            .operation::<AgentError>(self.component())
            .before(BEFORE)
            .after(AFTER)
            .name_key("agent_name")
            .correlation_id(corr)
            .language(language)
            .operation_type("agent.init")
            // The agent reads only the value, never `Completed::data`.
            .completed_data(false);
        // The data only hooks see: built when a point has one, in a
        // reused map (see `hook_data`).
        let hooked = self.hooks.has_hooks(&BEFORE) || self.hooks.has_hooks(&AFTER);
        if hooked {
            let config = self.config_json();
            let mut data = hook_data::take(Kind::Init);
            hook_data::set_str(&mut data, "from_state", AgentState::Uninitialized.as_str());
            hook_data::set_str(&mut data, "to_state", AgentState::Ready.as_str());
            hook_data::set_str(&mut data, "gen_ai.request.model", self.provider.model());
            op = op.input("config", config).data_map(data).spare_data(true);
        }
        // Lent: the operation never reads the configuration, so it is not
        // copied for the attempt when the After* point has hooks.
        let done = op
            .run_lent(&InitAttempt {
                inner: self,
                corr,
                language,
            })
            .await;
        match done {
            Ok(done) => {
                if let Some(data) = done.spare_data {
                    hook_data::give(Kind::Init, data);
                }
                Ok(())
            }
            Err(e) => {
                if self.state.get() == AgentState::Initializing {
                    let _ = self
                        .transition(AgentState::Initializing, AgentState::Error, corr, language)
                        .await;
                }
                Err(self.operation_error(e))
            }
        }
    }

    /// `terminate`: `BeforeAgentShutdown`, → Terminating → Terminated,
    /// `AfterAgentShutdown`.
    async fn shutdown(&self) -> Result<()> {
        const BEFORE: HookPoint = HookPoint::BeforeAgentShutdown;
        const AFTER: HookPoint = HookPoint::AfterAgentShutdown;
        let corr = Uuid::new_v4();
        let from = self.state.get();
        let mut op = self
            .hooks
            .operation::<AgentError>(self.component())
            .before(BEFORE)
            .after(AFTER)
            .name_key("agent_name")
            .correlation_id(corr)
            .operation_type("agent.shutdown")
            // The agent reads only the value, never `Completed::data`.
            .completed_data(false);
        if self.hooks.has_hooks(&BEFORE) || self.hooks.has_hooks(&AFTER) {
            let mut data = hook_data::take(Kind::Shutdown);
            hook_data::set_str(&mut data, "from_state", from.as_str());
            hook_data::set_str(&mut data, "to_state", AgentState::Terminated.as_str());
            op = op.data_map(data).spare_data(true);
        }
        op.run(|_| async {
            let from = self
                .state
                .transition_from_current(&self.config.name, AgentState::Terminating)?;
            self.publish_state(from, AgentState::Terminating, corr, Language::Rust)
                .await;
            self.transition(
                AgentState::Terminating,
                AgentState::Terminated,
                corr,
                Language::Rust,
            )
            .await
            .map(|()| Value::Null)
        })
        .await
        .map(|done| {
            if let Some(data) = done.spare_data {
                hook_data::give(Kind::Shutdown, data);
            }
        })
        .map_err(|e| self.operation_error(e))
    }

    /// Pause or resume: the transition, then the custom point.
    async fn lifecycle(&self, from: AgentState, to: AgentState, point: &str) -> Result<()> {
        let corr = Uuid::new_v4();
        self.transition(from, to, corr, Language::Rust).await?;
        let mut data = serde_json::Map::new();
        data.insert("agent_name".into(), json!(self.config.name));
        data.insert("from_state".into(), json!(from.as_str()));
        data.insert("to_state".into(), json!(to.as_str()));
        // A notification: the transition has happened; the outcome has
        // nothing to refuse.
        let _ = self
            .hooks
            .notify(HookPoint::custom(point), self.component(), data)
            .await;
        Ok(())
    }

    /// A failed hooked operation as this crate's error.
    fn operation_error(&self, e: OperationError<AgentError>) -> AgentError {
        let agent = self.config.name.clone();
        match e {
            OperationError::Failed(e) => e,
            OperationError::Cancelled {
                point,
                hook,
                reason,
            } => AgentError::HookCancelled {
                agent,
                point: point.to_string(),
                hook,
                reason,
            },
            other => AgentError::Hook {
                agent,
                message: other.to_string(),
            },
        }
    }

    /// One execution, on its own task: Ready → Running, the hooked
    /// operation (`BeforeAgentExecution`, the tool loop, then
    /// `AfterAgentExecution` or `AgentError`), → Ready (through Error and
    /// Recovering when it failed).
    async fn run(
        self: Arc<Self>,
        input: AgentInput,
        opts: ExecOptions,
        token: CancellationToken,
        chunks: Option<mpsc::UnboundedSender<String>>,
    ) -> Result<AgentOutput> {
        let _turn = tokio::select! {
            biased;
            () = token.cancelled() => return Err(self.cancelled("cancelled while waiting for its turn")),
            guard = self.exec_lock.lock() => guard,
        };
        self.check_accepts("invoke")?;
        let corr = opts.correlation();
        let lang = opts.language;
        self.transition(AgentState::Ready, AgentState::Running, corr, lang)
            .await?;
        *self.current.lock() = Some(token.clone());
        let started = Instant::now();
        self.publish(
            EVENT_EXECUTION_STARTED,
            corr,
            lang,
            || json!({"agent_name": self.config.name, "input": input.to_json()}),
        )
        .await;
        let forker = Forker {
            agents: self.agents.clone(),
            language: lang,
        };
        const POINTS: [HookPoint; 3] = [
            HookPoint::BeforeAgentExecution,
            HookPoint::AfterAgentExecution,
            HookPoint::AgentError,
        ];
        let [before, after, error] = POINTS;
        let mut op = self
            .hooks
            .operation::<AgentError>(self.component())
            .points(before, after, error)
            .name_key("agent_name")
            .input("input", input.to_json())
            .output_key("output")
            .correlation_id(corr)
            .language(lang)
            .operation_type("agent.execute")
            // The agent reads only the value, never `Completed::data`.
            .completed_data(false)
            .redirects(MAX_REDIRECTS)
            .retryable(AgentError::is_transient)
            .fork_runner(&forker)
            .fork_depth(opts.fork_depth, MAX_FORK_DEPTH);
        if let Some(p) = &opts.parent {
            op = op.parent(p.clone());
        }
        // The fixed keys only hooks see: set when a point has one, in a
        // reused map (see `hook_data`).
        if POINTS.iter().any(|p| self.hooks.has_hooks(p)) {
            let mut data = hook_data::take(Kind::Exec);
            hook_data::set_str(&mut data, "gen_ai.request.model", self.provider.model());
            hook_data::set_str(&mut data, "gen_ai.system", self.provider.name());
            op = op.data_map(data).spare_data(true);
        }
        // Lent: an attempt reads the input's text in place, so the input
        // is not copied for it when the After* or error point has hooks
        // (which see it, and may ask for a re-run).
        let result = op
            .run_lent(&ExecAttempt {
                inner: &self,
                token: &token,
                chunks: chunks.as_ref(),
                corr,
                lang,
            })
            .await;
        *self.current.lock() = None;
        let duration = started.elapsed();
        let duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok(done) => {
                let mut out = AgentOutput::from_json(&done.value);
                if let Some(data) = done.spare_data {
                    hook_data::give(Kind::Exec, data);
                }
                out.correlation_id = corr;
                out.duration = duration;
                self.transition(AgentState::Running, AgentState::Ready, corr, lang)
                    .await?;
                self.publish(
                    EVENT_EXECUTION_COMPLETED,
                    corr,
                    lang,
                    || json!({"agent_name": self.config.name, "duration_ms": duration_ms, "usage": out.usage, "model": out.model}),
                )
                .await;
                Ok(out)
            }
            Err(e) => {
                let e = self.operation_error(e);
                self.recover(corr, lang).await;
                self.publish(
                    EVENT_EXECUTION_FAILED,
                    corr,
                    lang,
                    || json!({"agent_name": self.config.name, "duration_ms": duration_ms, "error": e.to_string()}),
                )
                .await;
                Err(e)
            }
        }
    }

    /// A `Redirect` to another agent: it runs the input as its own
    /// execution, a child of this one.
    async fn redirected(
        &self,
        target: &str,
        input: AgentInput,
        corr: Uuid,
        lang: Language,
    ) -> Result<Value> {
        let agent = self
            .agents
            .as_ref()
            .and_then(Weak::upgrade)
            .ok_or_else(|| {
                AgentError::Config(format!(
                    "agent `{}` cannot redirect to `{target}`: it has no agent registry",
                    self.config.name
                ))
            })?
            .require(target)?;
        let mut opts = ExecOptions::new().correlation_id(corr).language(lang);
        opts.parent = current_parent();
        agent
            .execute(input, &opts, None)
            .await
            .map(|o| o.to_hook_json())
    }

    /// Running → Error → Recovering → Ready.
    async fn recover(&self, corr: Uuid, lang: Language) {
        for (from, to) in [
            (AgentState::Running, AgentState::Error),
            (AgentState::Error, AgentState::Recovering),
            (AgentState::Recovering, AgentState::Ready),
        ] {
            if let Err(e) = self.transition(from, to, corr, lang).await {
                // Only `terminate` changes the state of a running agent,
                // and it waits for the execution: this is a bug if seen.
                tracing::error!(agent = %self.config.name, error = %e, "agent recovery");
                return;
            }
        }
    }

    fn cancelled(&self, reason: &str) -> AgentError {
        AgentError::Cancelled {
            agent: self.config.name.clone(),
            reason: reason.to_owned(),
        }
    }

    /// The tool-calling loop on the user's message `text`.
    async fn turns(
        &self,
        text: &str,
        lang: Language,
        corr: Uuid,
        chunks: Option<&mpsc::UnboundedSender<String>>,
    ) -> Result<AgentOutput> {
        let mut request = ChatRequest {
            messages: Vec::with_capacity(4),
            tools: self.tool_specs.clone(),
            temperature: self.config.temperature,
            max_tokens: self.config.max_tokens,
        };
        if let Some(s) = &self.config.system_prompt {
            request.messages.push(Message::system(s.clone()));
        }
        request.messages.push(Message::user(text.to_owned()));
        let mut usage = Usage::default();
        let mut records = Vec::new();
        for _ in 0..self.config.max_turns {
            let c = self.call_model(&request, chunks).await?;
            usage += c.usage;
            if c.tool_calls.is_empty() {
                return Ok(AgentOutput {
                    text: c.text,
                    usage,
                    tool_calls: records,
                    model: c.model,
                    finish_reason: c.finish_reason,
                    correlation_id: corr,
                    duration: Duration::ZERO,
                });
            }
            request.messages.push(Message {
                role: Role::Assistant,
                content: c.text.clone(),
                tool_calls: c.tool_calls.clone(),
                tool_call_id: None,
            });
            for call in c.tool_calls {
                let result = self
                    .run_tool(&call.name, call.arguments.clone(), lang, corr)
                    .await;
                request
                    .messages
                    .push(Message::tool_result(call.id.clone(), result.to_string()));
                records.push(ToolCallRecord {
                    name: call.name,
                    arguments: call.arguments,
                    result,
                });
            }
        }
        Err(AgentError::MaxTurns {
            agent: self.config.name.clone(),
            max_turns: self.config.max_turns,
        })
    }

    /// One model call under the breaker (provider failures count; a
    /// client error does not).
    async fn call_model(
        &self,
        request: &ChatRequest,
        chunks: Option<&mpsc::UnboundedSender<String>>,
    ) -> Result<Completion> {
        let call = async {
            match chunks {
                None => self.provider.complete(request).await,
                Some(tx) => self.stream_model(request, tx).await,
            }
        };
        let provider = self.provider.name();
        match self
            .breaker
            .guard()
            .run(call, AgentError::is_provider_failure)
            .await
        {
            Ok(c) => Ok(c),
            Err(GuardError::Failed(e)) => Err(e),
            Err(GuardError::Open) => Err(AgentError::CircuitOpen {
                agent: self.config.name.clone(),
            }),
            Err(GuardError::Panicked { message }) => Err(AgentError::InvalidResponse {
                provider: provider.to_owned(),
                message: format!("the provider panicked: {message}"),
            }),
            Err(GuardError::Timeout { limit }) => Err(AgentError::Timeout {
                provider: provider.to_owned(),
                timeout: limit,
            }),
            Err(other) => Err(AgentError::InvalidResponse {
                provider: provider.to_owned(),
                message: other.to_string(),
            }),
        }
    }

    async fn stream_model(
        &self,
        request: &ChatRequest,
        tx: &mpsc::UnboundedSender<String>,
    ) -> Result<Completion> {
        let mut stream = self.provider.stream(request).await?;
        while let Some(item) = stream.next().await {
            match item? {
                StreamEvent::Text(t) => {
                    // The caller stopped listening: it was dropped, and the
                    // cancellation token ends this execution.
                    let _ = tx.send(t);
                }
                StreamEvent::Completed(c) => return Ok(c),
                _ => {}
            }
        }
        Err(AgentError::Connection {
            provider: self.provider.name().to_owned(),
            message: "the stream ended before the answer was complete".into(),
        })
    }

    /// Runs one tool call the model asked for; failures become
    /// `{error = "..."}` for the model.
    async fn run_tool(&self, name: &str, arguments: Value, lang: Language, corr: Uuid) -> Value {
        let Some(rt) = &self.tools else {
            return json!({"error": format!("tool `{name}` is not available: the agent has no tools")});
        };
        if !self.config.tools.iter().any(|t| t == name) {
            return json!({"error": format!(
                "tool `{name}` is not available to this agent; available: {}",
                self.config.tools.join(", ")
            )});
        }
        // Inside the execution's hooked operation: the call is its child.
        let parent = current_parent().unwrap_or_else(|| {
            self.parent_context(
                HookPoint::BeforeAgentExecution,
                corr,
                &ExecOptions::new().language(lang),
            )
        });
        let tool_opts = InvokeOptions::new()
            .correlation_id(corr)
            .language(lang)
            .caller(self.config.name.clone())
            .parent(parent);
        match rt.invoke_with(name, arguments, &tool_opts).await {
            Ok(inv) => inv.result,
            Err(e) => json!({"error": e.to_string()}),
        }
    }
}

/// The operation of an agent's creation (between `BeforeAgentInit` and
/// `AfterAgentInit`): Initializing → Ready. It does not read its input
/// (the configuration hooks see).
struct InitAttempt<'a> {
    inner: &'a Inner,
    corr: Uuid,
    language: Language,
}

impl LentOperation<AgentError> for InitAttempt<'_> {
    fn call<'s>(&'s self, _call: LentCall<'s>) -> BoxFuture<'s, Result<Value>> {
        Box::pin(async move {
            self.inner
                .transition(
                    AgentState::Initializing,
                    AgentState::Ready,
                    self.corr,
                    self.language,
                )
                .await
                .map(|()| Value::Null)
        })
    }
}

/// One attempt of an execution (between `BeforeAgentExecution` and
/// `AfterAgentExecution` / `AgentError`): the tool-calling loop on the
/// input as the hooks left it, or the redirected agent's execution.
struct ExecAttempt<'a> {
    inner: &'a Arc<Inner>,
    token: &'a CancellationToken,
    chunks: Option<&'a mpsc::UnboundedSender<String>>,
    corr: Uuid,
    lang: Language,
}

impl LentOperation<AgentError> for ExecAttempt<'_> {
    fn call<'s>(&'s self, call: LentCall<'s>) -> BoxFuture<'s, Result<Value>> {
        Box::pin(async move {
            let this = self.inner;
            if call.target != this.config.name {
                let target = call.target.clone();
                let input = AgentInput::from_json(call.into_input())?;
                return this.redirected(&target, input, self.corr, self.lang).await;
            }
            let text = AgentInput::text_of(call.input())?;
            tokio::select! {
                biased;
                () = self.token.cancelled() => Err(this.cancelled("cancelled")),
                r = this.turns(text, self.lang, self.corr, self.chunks) => r.map(|o| o.to_hook_json()),
            }
        })
    }
}

/// Runs the executions of `Fork` results: each names a registered agent
/// and its input (`{text = ...}` or a string).
struct Forker {
    agents: Option<Weak<AgentRegistry>>,
    language: Language,
}

impl ForkRunner<AgentError> for Forker {
    fn run_fork(
        &self,
        op: ForkOperation,
        depth: u32,
    ) -> futures::future::BoxFuture<'_, Result<Value>> {
        Box::pin(async move {
            let registry = self
                .agents
                .as_ref()
                .and_then(Weak::upgrade)
                .ok_or_else(|| {
                    AgentError::Config(format!(
                        "cannot fork to agent `{}`: no agent registry",
                        op.target
                    ))
                })?;
            let agent = registry.require(&op.target)?;
            let input = AgentInput::from_json(op.parameters)?;
            let mut opts = ExecOptions::new().language(self.language);
            opts.parent = current_parent();
            opts.fork_depth = depth;
            agent.execute(input, &opts, None).await.map(|o| o.to_json())
        })
    }
}
