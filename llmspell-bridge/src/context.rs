//! [`GlobalContext`]: what every script engine created from it shares.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use llmspell_agents::{AgentRegistry, ProviderFactory};
use llmspell_events::EventBus;
use llmspell_hooks::builtin::PricingTable;
use llmspell_hooks::{
    ComponentId, ComponentType, HookData, HookExecutor, HookOutcome, HookPoint, HookRegistry, Hooks,
};
use llmspell_state::Scope as StateScope;
use llmspell_state::{Session, SessionOutcome, SessionRecord, Sessions, State};
use llmspell_storage::{MemoryBackend, StorageBackend};
use llmspell_tools::{ToolRegistry, ToolRuntime, ToolsConfig};
use llmspell_workflows::{ScopedState, WorkflowRuntime};
use parking_lot::Mutex;
use tokio::task::JoinHandle;

use crate::error::Result;
use crate::globals::{
    AgentGlobal, EventGlobal, GlobalObject, HookGlobal, JsonGlobal, LoggerGlobal, SessionGlobal,
    StateGlobal, ToolGlobal, WorkflowGlobal,
};
use crate::system::{self, ResourceMonitorConfig, Watched};

/// The shared state behind every script global: the event bus (and, as the
/// components land, the hook registry and executor and the tool registry).
///
/// Cheap to clone (an [`Arc`]). Every engine created from the same context
/// sees the same components, so what one script registers or publishes is
/// visible to Rust code and to other engines.
#[derive(Clone)]
pub struct GlobalContext {
    inner: Arc<Inner>,
}

struct Inner {
    event_bus: EventBus,
    hooks: Hooks,
    tools: Arc<ToolRuntime>,
    state: State,
    sessions: Sessions,
    /// The session of the current run (`llmspell run` sets it).
    session: Mutex<Option<Session>>,
    agents: Arc<AgentRegistry>,
    provider_factory: ProviderFactory,
    workflows: WorkflowRuntime,
    pricing: PricingTable,
    policy_hints: BTreeMap<String, String>,
    globals: Vec<Arc<dyn GlobalObject>>,
    monitor: Option<ResourceMonitorConfig>,
    started: AtomicBool,
    stopped: AtomicBool,
    /// The watcher and the resource monitor, owned here and stopped at
    /// shutdown or when the last handle goes.
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in self.tasks.get_mut().drain(..) {
            task.abort();
        }
    }
}

impl fmt::Debug for GlobalContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlobalContext")
            .field("event_bus", &self.inner.event_bus)
            .field("hooks", &self.inner.hooks)
            .field(
                "globals",
                &self
                    .inner
                    .globals
                    .iter()
                    .map(|g| g.metadata().name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for GlobalContext {
    fn default() -> Self {
        Self::new()
    }
}

impl GlobalContext {
    /// A context with fresh components, the standard tools in their
    /// locked-down default configuration, and the standard globals.
    ///
    /// # Panics
    /// Never in practice: building the standard tools with the default
    /// configuration only fails on a programming error in a tool schema,
    /// which the tools crate's tests rule out. Use
    /// [`builder`](Self::builder) to handle that error instead.
    #[must_use]
    pub fn new() -> Self {
        Self::builder()
            .build()
            .expect("the standard tools build with the default configuration")
    }

    /// A builder to share existing components.
    pub fn builder() -> GlobalContextBuilder {
        GlobalContextBuilder::default()
    }

    /// The shared event bus.
    #[must_use]
    pub fn event_bus(&self) -> &EventBus {
        &self.inner.event_bus
    }

    /// The shared hooks (registry, executor, result cache).
    #[must_use]
    pub fn hooks(&self) -> &Hooks {
        &self.inner.hooks
    }

    /// The shared hook registry.
    #[must_use]
    pub fn hook_registry(&self) -> &Arc<HookRegistry> {
        self.inner.hooks.registry()
    }

    /// The shared hook executor (over [`hook_registry`](Self::hook_registry)).
    #[must_use]
    pub fn hook_executor(&self) -> &Arc<HookExecutor> {
        self.inner.hooks.executor()
    }

    /// Starts the context (once; later calls do nothing): fires
    /// `SystemStartup` (data `version`, `globals`), then starts the task
    /// that fires `ConfigurationChange` when hooks are registered,
    /// unregistered, enabled or disabled, `PerformanceThresholdExceeded`
    /// when a hook or tool breaker opens or a hook call is slow,
    /// `ResourceLimitExceeded` when an event queue drops events, and
    /// publishes `hook.breaker.*` / `tool.breaker.*` events; and the
    /// resource monitor, if configured. `llmspell run` starts its context
    /// before the script runs. Needs a tokio runtime.
    pub async fn start(&self) {
        if self.inner.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let watched = Watched::new(&self.inner.hooks, &self.inner.event_bus, &self.inner.tools);
        let mut tasks = vec![tokio::spawn(system::watch(watched))];
        if let Some(config) = &self.inner.monitor {
            tasks.push(tokio::spawn(system::monitor(
                self.inner.hooks.clone(),
                config.clone(),
            )));
        }
        self.inner.tasks.lock().extend(tasks);
        let globals: Vec<&str> = self
            .inner
            .globals
            .iter()
            .map(|g| g.metadata().name)
            .collect();
        let mut data = HookData::new();
        data.insert("version".into(), env!("CARGO_PKG_VERSION").into());
        data.insert("globals".into(), serde_json::json!(globals));
        let _ = self
            .inner
            .hooks
            .notify(HookPoint::SystemStartup, system_component(), data)
            .await;
    }

    /// Shuts the context down (once; later calls do nothing): ends the
    /// run's session if it is still open (see
    /// [`end_session`](Self::end_session); the outcome follows `reason`:
    /// `completed`; `timeout` / `memory_limit` are limits; `SIGINT`,
    /// `SIGTERM` and reasons naming an interrupt or signal are
    /// interruptions; anything else a failure), fires `SystemShutdown`
    /// (data `reason`), then stops the tasks [`start`](Self::start)
    /// started. `llmspell run` shuts its context down when the script ends,
    /// fails, hits a limit or is interrupted.
    pub async fn shutdown(&self, reason: &str) {
        if self.inner.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Err(e) = self.end_session(outcome_for(reason)).await {
            tracing::error!(error = %e, "cannot record the end of the session");
        }
        let mut data = HookData::new();
        data.insert("reason".into(), reason.into());
        let _ = self
            .inner
            .hooks
            .notify(HookPoint::SystemShutdown, system_component(), data)
            .await;
        // Let the watcher deliver what is already queued (bounded).
        tokio::task::yield_now().await;
        for task in self.inner.tasks.lock().drain(..) {
            task.abort();
        }
    }

    /// Reports a runtime change of configuration that is not a hook
    /// registration (a limit, a tool policy, ...): fires
    /// `ConfigurationChange` with `data` (plus `kind`). A `Cancelled`
    /// outcome lets the caller refuse the change.
    pub async fn configuration_changed(&self, kind: &str, mut data: HookData) -> HookOutcome {
        data.insert("kind".into(), kind.into());
        self.inner
            .hooks
            .notify(HookPoint::ConfigurationChange, system_component(), data)
            .await
            .0
    }

    /// The shared hooked tool execution path (its registry, executor and
    /// bus are this context's).
    #[must_use]
    pub fn tools(&self) -> &Arc<ToolRuntime> {
        &self.inner.tools
    }

    /// The shared state (the `State` global's), under this context's hooks
    /// and publishing `state.changed` on its bus.
    #[must_use]
    pub fn state(&self) -> &State {
        &self.inner.state
    }

    /// The session store on [`state`](Self::state)'s backend.
    #[must_use]
    pub fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }

    /// The session of the current run, if one is set (the `Session`
    /// global's, and the `"session"` scope of `State`).
    #[must_use]
    pub fn session(&self) -> Option<Session> {
        self.inner.session.lock().clone()
    }

    /// Sets (or clears) the session of the current run. `llmspell run`
    /// sets the session it started or resumed before the script runs.
    pub fn set_session(&self, session: Option<Session>) {
        *self.inner.session.lock() = session;
    }

    /// Ends the run's session, once: records `outcome` and fires
    /// `SessionEnd`, then clears the session (later calls, and
    /// [`shutdown`](Self::shutdown), do nothing more). Returns the final
    /// record, `None` when no session was set.
    ///
    /// # Errors
    /// [`BridgeError::State`](crate::BridgeError::State) when the record
    /// cannot be written.
    pub async fn end_session(&self, outcome: SessionOutcome) -> Result<Option<SessionRecord>> {
        let Some(session) = self.inner.session.lock().take() else {
            return Ok(None);
        };
        Ok(Some(session.end(outcome).await?))
    }

    /// The shared agent registry (`Agent.list` / `Agent.get`).
    #[must_use]
    pub fn agents(&self) -> &Arc<AgentRegistry> {
        &self.inner.agents
    }

    /// How `Agent.create` builds providers from `provider/model` strings.
    #[must_use]
    pub fn provider_factory(&self) -> &ProviderFactory {
        &self.inner.provider_factory
    }

    /// The shared workflow runtime: workflows created by any engine of this
    /// context, their runs and checkpoints.
    #[must_use]
    pub fn workflows(&self) -> &WorkflowRuntime {
        &self.inner.workflows
    }

    /// The globals an engine created from this context defines.
    #[must_use]
    pub fn globals(&self) -> &[Arc<dyn GlobalObject>] {
        &self.inner.globals
    }

    /// The price table `Hook.use("cost_tracking", ...)` starts from.
    pub fn pricing(&self) -> &PricingTable {
        &self.inner.pricing
    }

    /// What a script is told to change when a tool's policy refuses a
    /// call by `rule` (e.g. `program_not_allowed`), if anything.
    pub fn policy_hint(&self, rule: &str) -> Option<&str> {
        self.inner.policy_hints.get(rule).map(String::as_str)
    }
}

/// Builds a [`GlobalContext`]; components not given are created fresh.
#[derive(Debug, Default)]
#[must_use]
pub struct GlobalContextBuilder {
    event_bus: Option<EventBus>,
    hooks: Option<Hooks>,
    tool_registry: Option<Arc<ToolRegistry>>,
    tools_config: Option<ToolsConfig>,
    agents: Option<Arc<AgentRegistry>>,
    provider_factory: Option<ProviderFactory>,
    workflow_store: Option<Arc<dyn StorageBackend>>,
    workflow_state_scope: Option<StateScope>,
    pricing: Option<PricingTable>,
    policy_hints: BTreeMap<String, String>,
    monitor: Option<ResourceMonitorConfig>,
    state_storage: Option<Arc<dyn StorageBackend>>,
    max_state_value_bytes: Option<usize>,
    state_event_values: bool,
}

impl GlobalContextBuilder {
    /// Shares `bus` (e.g. one with an event store).
    pub fn event_bus(mut self, bus: EventBus) -> Self {
        self.event_bus = Some(bus);
        self
    }

    /// Shares `hooks` (registry, executor and cache).
    pub fn hooks(mut self, hooks: Hooks) -> Self {
        self.hooks = Some(hooks);
        self
    }

    /// Shares `executor` and the registry it runs.
    pub fn hook_executor(mut self, executor: Arc<HookExecutor>) -> Self {
        self.hooks = Some(Hooks::from_executor(executor));
        self
    }

    /// Shares `registry`, with a default executor over it.
    pub fn hook_registry(mut self, registry: Arc<HookRegistry>) -> Self {
        self.hooks = Some(Hooks::from_executor(Arc::new(HookExecutor::new(registry))));
        self
    }

    /// Runs the resource monitor (fires `MemoryUsageHigh` / `CpuUsageHigh`)
    /// once the context is [started](GlobalContext::start). Off by default.
    pub fn resource_monitor(mut self, config: ResourceMonitorConfig) -> Self {
        self.monitor = Some(config);
        self
    }

    /// Keeps state and sessions in `storage` (default: in memory, gone with
    /// the context). The context's [`State`] runs under its hooks and
    /// publishes on its bus.
    pub fn state_storage(mut self, storage: Arc<dyn StorageBackend>) -> Self {
        self.state_storage = Some(storage);
        self
    }

    /// The largest state value, in bytes of JSON (default 1 MiB).
    pub fn max_state_value_bytes(mut self, bytes: usize) -> Self {
        self.max_state_value_bytes = Some(bytes);
        self
    }

    /// Include the new value in `state.changed` events (off by default).
    pub fn state_event_values(mut self, include: bool) -> Self {
        self.state_event_values = include;
        self
    }

    /// Shares `registry` for tools (instead of the standard tools).
    pub fn tool_registry(mut self, registry: Arc<ToolRegistry>) -> Self {
        self.tool_registry = Some(registry);
        self
    }

    /// Shares `registry` for agents.
    pub fn agent_registry(mut self, registry: Arc<AgentRegistry>) -> Self {
        self.agents = Some(registry);
        self
    }

    /// Builds agents' providers with `factory` (default: one reading the
    /// process environment).
    pub fn provider_factory(mut self, factory: ProviderFactory) -> Self {
        self.provider_factory = Some(factory);
        self
    }

    /// The price table of `Hook.use("cost_tracking", ...)` (default:
    /// [`PricingTable::default`], the shipped list prices).
    pub fn pricing(mut self, pricing: PricingTable) -> Self {
        self.pricing = Some(pricing);
        self
    }

    /// Appends `hint` to the error a script gets when a tool's policy
    /// refuses a call by `rule` (e.g. `program_not_allowed` → "allow it
    /// with --allow-program"): how the application that runs the script
    /// lets it through.
    pub fn policy_hint(mut self, rule: impl Into<String>, hint: impl Into<String>) -> Self {
        self.policy_hints.insert(rule.into(), hint.into());
        self
    }

    /// Configures the standard tools (file roots, process allow-list, ...)
    /// when no [`tool_registry`](Self::tool_registry) is given.
    pub fn tools_config(mut self, config: ToolsConfig) -> Self {
        self.tools_config = Some(config);
        self
    }

    /// Records workflow runs and checkpoints in `backend` (e.g. sled, so
    /// that `Workflow.resume` continues runs of a process that died).
    /// Default: in memory.
    pub fn workflow_store(mut self, backend: Arc<dyn StorageBackend>) -> Self {
        self.workflow_store = Some(backend);
        self
    }

    /// The scope of the context's State that workflow state lives in
    /// (`{{state:KEY}}`, `state.KEY` in conditions, what script functions
    /// read and write). Default: [`Global`](StateScope::Global), the scope
    /// `State.get`/`State.set` use without a scope argument.
    pub fn workflow_state_scope(mut self, scope: StateScope) -> Self {
        self.workflow_state_scope = Some(scope);
        self
    }

    /// The context. Tool calls go through one hooked path over the
    /// context's hook executor that publishes lifecycle events on its bus.
    ///
    /// # Errors
    /// [`BridgeError::Tool`](crate::BridgeError::Tool) when the standard tools
    /// or the tool runtime cannot be built;
    /// [`BridgeError::State`](crate::BridgeError::State) for an impossible
    /// state setting;
    /// [`BridgeError::InvalidArgument`](crate::BridgeError::InvalidArgument)
    /// for an invalid resource monitor configuration.
    pub fn build(self) -> Result<GlobalContext> {
        if let Some(m) = &self.monitor {
            m.validate()?;
        }
        let hooks = self.hooks.unwrap_or_default();
        let event_bus = self.event_bus.unwrap_or_default();
        let tool_registry = match self.tool_registry {
            Some(r) => r,
            None => Arc::new(ToolRegistry::with_standard_tools(
                &self.tools_config.unwrap_or_default(),
            )?),
        };
        let tools = Arc::new(
            ToolRuntime::builder(tool_registry, hooks.clone())
                .event_bus(event_bus.clone())
                .build()?,
        );
        let mut state = State::builder(
            self.state_storage
                .unwrap_or_else(|| Arc::new(MemoryBackend::new())),
        )
        .events(event_bus.clone())
        .event_values(self.state_event_values)
        .hooks(hooks.clone());
        if let Some(bytes) = self.max_state_value_bytes {
            state = state.max_value_bytes(bytes);
        }
        let state = state.build()?;
        let sessions = Sessions::new(state.clone());
        let registry = hooks.registry();
        registry.declare_fired(
            [
                HookPoint::SystemStartup,
                HookPoint::SystemShutdown,
                HookPoint::ConfigurationChange,
                HookPoint::ResourceLimitExceeded,
                HookPoint::PerformanceThresholdExceeded,
            ],
            "the script context (GlobalContext)",
        );
        if let Some(m) = &self.monitor {
            registry.declare_fired(m.points(), "the resource monitor");
        }
        // Scripts create agents with `Agent.create`, usually after
        // registering their hooks.
        llmspell_agents::declare_points(&hooks);
        // Agent steps of workflows run the context's agents.
        let agents = self.agents.unwrap_or_default();
        // Workflow state (`{{state:KEY}}`, `state.KEY`, the `state` of
        // script functions) is the context's State, in one scope (default
        // `global`, where `State.get/set` work without a scope argument).
        let workflow_state = ScopedState::new(
            state.clone(),
            self.workflow_state_scope.unwrap_or(StateScope::Global),
        );
        let mut workflows = WorkflowRuntime::builder(Arc::clone(&tools))
            .agents(Arc::clone(&agents) as Arc<dyn llmspell_workflows::AgentRunner>)
            .state(Arc::new(workflow_state));
        if let Some(backend) = self.workflow_store {
            workflows = workflows.run_store(backend);
        }
        let workflows = workflows.build();
        Ok(GlobalContext {
            inner: Arc::new(Inner {
                event_bus,
                hooks,
                tools,
                state,
                sessions,
                session: Mutex::new(None),
                agents,
                provider_factory: self.provider_factory.unwrap_or_default(),
                workflows,
                pricing: self.pricing.unwrap_or_default(),
                policy_hints: self.policy_hints,
                monitor: self.monitor,
                started: AtomicBool::new(false),
                stopped: AtomicBool::new(false),
                tasks: Mutex::new(Vec::new()),
                globals: vec![
                    Arc::new(JsonGlobal),
                    Arc::new(LoggerGlobal),
                    Arc::new(EventGlobal),
                    Arc::new(HookGlobal),
                    Arc::new(ToolGlobal),
                    Arc::new(AgentGlobal),
                    Arc::new(WorkflowGlobal),
                    Arc::new(StateGlobal),
                    Arc::new(SessionGlobal),
                ],
            }),
        })
    }
}

/// The session outcome a shutdown `reason` stands for.
fn outcome_for(reason: &str) -> SessionOutcome {
    let lower = reason.to_ascii_lowercase();
    match reason {
        "completed" => SessionOutcome::completed(),
        "timeout" | "memory_limit" => {
            SessionOutcome::limit_exceeded(format!("stopped by the {reason} limit"))
                .with_exit_code(1)
        }
        "SIGINT" => SessionOutcome::interrupted("SIGINT").with_exit_code(130),
        "SIGTERM" => SessionOutcome::interrupted("SIGTERM").with_exit_code(143),
        _ if lower.contains("interrupt")
            || lower.contains("signal")
            || lower.starts_with("sig") =>
        {
            SessionOutcome::interrupted(reason)
        }
        _ => SessionOutcome::failed(format!("the run ended: {reason}")).with_exit_code(1),
    }
}

/// The component of the system points' contexts.
fn system_component() -> ComponentId {
    ComponentId::new(ComponentType::System, "llmspell")
}
