//! [`GlobalContext`]: what every script engine created from it shares.

use std::fmt;
use std::sync::Arc;

use llmspell_events::EventBus;
use llmspell_hooks::{HookExecutor, HookRegistry};
use llmspell_storage::StorageBackend;
use llmspell_tools::{ToolRegistry, ToolRuntime, ToolsConfig};
use llmspell_workflows::WorkflowRuntime;

use crate::error::Result;
use crate::globals::{
    EventGlobal, GlobalObject, HookGlobal, JsonGlobal, LoggerGlobal, ToolGlobal, WorkflowGlobal,
};

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
    hook_registry: Arc<HookRegistry>,
    hook_executor: Arc<HookExecutor>,
    tools: Arc<ToolRuntime>,
    workflows: WorkflowRuntime,
    globals: Vec<Arc<dyn GlobalObject>>,
}

impl fmt::Debug for GlobalContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlobalContext")
            .field("event_bus", &self.inner.event_bus)
            .field("hook_registry", &self.inner.hook_registry)
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

    /// The shared hook registry.
    #[must_use]
    pub fn hook_registry(&self) -> &Arc<HookRegistry> {
        &self.inner.hook_registry
    }

    /// The shared hook executor (over [`hook_registry`](Self::hook_registry)).
    #[must_use]
    pub fn hook_executor(&self) -> &Arc<HookExecutor> {
        &self.inner.hook_executor
    }

    /// The shared hooked tool execution path (its registry, executor and
    /// bus are this context's).
    #[must_use]
    pub fn tools(&self) -> &Arc<ToolRuntime> {
        &self.inner.tools
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
}

/// Builds a [`GlobalContext`]; components not given are created fresh.
#[derive(Debug, Default)]
#[must_use]
pub struct GlobalContextBuilder {
    event_bus: Option<EventBus>,
    hook_executor: Option<Arc<HookExecutor>>,
    tool_registry: Option<Arc<ToolRegistry>>,
    tools_config: Option<ToolsConfig>,
    workflow_store: Option<Arc<dyn StorageBackend>>,
}

impl GlobalContextBuilder {
    /// Shares `bus` (e.g. one with an event store).
    pub fn event_bus(mut self, bus: EventBus) -> Self {
        self.event_bus = Some(bus);
        self
    }

    /// Shares `executor` and the registry it runs.
    pub fn hook_executor(mut self, executor: Arc<HookExecutor>) -> Self {
        self.hook_executor = Some(executor);
        self
    }

    /// Shares `registry`, with a default executor over it.
    pub fn hook_registry(mut self, registry: Arc<HookRegistry>) -> Self {
        self.hook_executor = Some(Arc::new(HookExecutor::new(registry)));
        self
    }

    /// Shares `registry` for tools (instead of the standard tools).
    pub fn tool_registry(mut self, registry: Arc<ToolRegistry>) -> Self {
        self.tool_registry = Some(registry);
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

    /// The context. Tool calls go through one hooked path over the
    /// context's hook executor that publishes lifecycle events on its bus.
    ///
    /// # Errors
    /// [`BridgeError::Tool`](crate::BridgeError::Tool) when the standard tools
    /// or the tool runtime cannot be built.
    pub fn build(self) -> Result<GlobalContext> {
        let hook_executor = self
            .hook_executor
            .unwrap_or_else(|| Arc::new(HookExecutor::new(Arc::new(HookRegistry::new()))));
        let event_bus = self.event_bus.unwrap_or_default();
        let tool_registry = match self.tool_registry {
            Some(r) => r,
            None => Arc::new(ToolRegistry::with_standard_tools(
                &self.tools_config.unwrap_or_default(),
            )?),
        };
        let tools = Arc::new(
            ToolRuntime::builder(tool_registry, Arc::clone(&hook_executor))
                .event_bus(event_bus.clone())
                .build()?,
        );
        let mut workflows = WorkflowRuntime::builder(Arc::clone(&tools));
        if let Some(backend) = self.workflow_store {
            workflows = workflows.run_store(backend);
        }
        let workflows = workflows.build();
        Ok(GlobalContext {
            inner: Arc::new(Inner {
                event_bus,
                hook_registry: Arc::clone(hook_executor.registry()),
                hook_executor,
                tools,
                workflows,
                globals: vec![
                    Arc::new(JsonGlobal),
                    Arc::new(LoggerGlobal),
                    Arc::new(EventGlobal),
                    Arc::new(HookGlobal),
                    Arc::new(ToolGlobal),
                    Arc::new(WorkflowGlobal),
                ],
            }),
        })
    }
}
