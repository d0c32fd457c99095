//! Fixtures shared by the test modules.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use llmspell_events::EventBus;
use llmspell_hooks::Hooks;
use llmspell_tools::{
    Tool, ToolCategory, ToolContext, ToolError, ToolMetadata, ToolRegistry, ToolRuntime,
    ToolsConfig,
};
use llmspell_workflows::{
    script_fn, Bindings, FunctionReturn, Pattern, Workflow, WorkflowRuntime, WorkflowRuntimeBuilder,
};
use parking_lot::Mutex;
use serde_json::{json, Value};

/// Every call of the probe tools, in order: (tool name, parameters).
pub(crate) type CallLog = Arc<Mutex<Vec<(String, Value)>>>;

/// A test tool: records each call; `{"fail": "why"}` fails,
/// `{"sleep_ms": n}` sleeps first, `{"result": v}` returns `v`, anything
/// else returns the parameters.
#[derive(Debug)]
pub(crate) struct Probe {
    meta: ToolMetadata,
    log: CallLog,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

#[async_trait]
impl Tool for Probe {
    fn metadata(&self) -> &ToolMetadata {
        &self.meta
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> llmspell_tools::Result<Value> {
        self.log
            .lock()
            .push((self.meta.name().to_owned(), params.clone()));
        // Counts calls in flight; the peak is what max_concurrency bounds.
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        if let Some(ms) = params.get("sleep_ms").and_then(Value::as_u64) {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if let Some(why) = params.get("fail").and_then(Value::as_str) {
            return Err(ToolError::Execution {
                tool: self.meta.name().to_owned(),
                message: why.to_owned(),
            });
        }
        Ok(params.get("result").cloned().unwrap_or(params))
    }
}

/// A runtime over the standard tools plus `probe` and `undo`.
pub(crate) struct Fixture {
    pub(crate) runtime: WorkflowRuntime,
    pub(crate) log: CallLog,
    pub(crate) peak: Arc<AtomicUsize>,
    pub(crate) hooks: Hooks,
    pub(crate) bus: EventBus,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        Self::with(|b| b)
    }

    pub(crate) fn with(
        configure: impl FnOnce(WorkflowRuntimeBuilder) -> WorkflowRuntimeBuilder,
    ) -> Self {
        Self::with_hooks(|b, _| configure(b))
    }

    /// [`with`](Self::with), the configuration also seeing the hooks.
    pub(crate) fn with_hooks(
        configure: impl FnOnce(WorkflowRuntimeBuilder, &Hooks) -> WorkflowRuntimeBuilder,
    ) -> Self {
        let registry = ToolRegistry::with_standard_tools(&ToolsConfig::default()).unwrap();
        let log: CallLog = Arc::default();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        for name in ["probe", "undo"] {
            registry
                .register(Probe {
                    meta: ToolMetadata::new(
                        name,
                        "test probe",
                        ToolCategory::Custom("test".into()),
                    ),
                    log: Arc::clone(&log),
                    in_flight: Arc::clone(&in_flight),
                    peak: Arc::clone(&peak),
                })
                .unwrap();
        }
        let hooks = Hooks::new();
        let bus = EventBus::new();
        let tools = Arc::new(
            ToolRuntime::builder(Arc::new(registry), hooks.clone())
                .event_bus(bus.clone())
                .build()
                .unwrap(),
        );
        let runtime = configure(WorkflowRuntime::builder(tools), &hooks).build();
        Self {
            runtime,
            log,
            peak,
            hooks,
            bus,
        }
    }

    /// Creates a workflow (pattern from the definition's `type`).
    #[track_caller]
    pub(crate) fn create(&self, definition: Value) -> Workflow {
        self.runtime
            .create(&definition)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Creates a workflow with bindings.
    #[track_caller]
    pub(crate) fn create_with(
        &self,
        pattern: Pattern,
        definition: Value,
        b: &Bindings,
    ) -> Workflow {
        self.runtime
            .create_with(Some(pattern), &definition, b)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The parameters of every call of `tool`, in order.
    pub(crate) fn calls(&self, tool: &str) -> Vec<Value> {
        self.log
            .lock()
            .iter()
            .filter(|(t, _)| t == tool)
            .map(|(_, p)| p.clone())
            .collect()
    }
}

/// A function marker that returns `value`.
pub(crate) fn constant(b: &mut Bindings, value: Value) -> Value {
    b.function(script_fn("constant", move |_| {
        let v = value.clone();
        async move { Ok(FunctionReturn::output(v)) }
    }))
}

/// A function marker that returns its input and counts its calls.
pub(crate) fn counting(b: &mut Bindings, counter: Arc<AtomicUsize>) -> Value {
    b.function(script_fn("counting", move |call| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move { Ok(FunctionReturn::output(call.input)) }
    }))
}

/// `json!` shorthand for a probe step.
pub(crate) fn probe(name: &str, input: Value) -> Value {
    json!({"name": name, "tool": "probe", "input": input})
}
