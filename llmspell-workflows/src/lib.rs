//! Workflows for llmspell: sequential, conditional, loop and parallel
//! compositions of tool, agent, script-function and nested-workflow steps,
//! checkpointed so that a run whose process died resumes where it stopped.
//!
//! # Concepts
//!
//! - [`WorkflowRuntime`]: creates workflows from definitions (checking
//!   them), runs them ([`execute`](WorkflowRuntime::execute)), resumes
//!   interrupted runs ([`resume`](WorkflowRuntime::resume)) and lists runs
//!   ([`runs`](WorkflowRuntime::runs)). Tool steps go through the shared
//!   [`llmspell_tools::ToolRuntime`], so tool hooks and events fire for
//!   them.
//! - A definition is JSON-like data, the same in Rust (`json!`), Lua and
//!   JavaScript. [`Bindings`] carry what is not data: script functions
//!   ([`ScriptFunction`], [`script_fn`]) and already-created workflows.
//! - [`Workflow`]: a validated, immutable definition of one [`Pattern`].
//! - [`WorkflowResult`]: `{success, data, error, steps, duration_ms,
//!   run_id}`. A failing step or a hook's Cancel is a result with
//!   `success = false`, never an `Err`; a malformed definition is an
//!   [`WorkflowError::InvalidDefinition`] naming the field.
//! - References (`{{step:NAME:output.field}}`, `{{input:KEY}}`,
//!   `{{state:KEY}}`, `{{loop:current_value}}`, `{{loop:index}}`) are
//!   resolved in every string of a step's input; conditions are
//!   expressions over `input`, `state` and `steps.NAME.output`, tool calls
//!   (true when the result is [`truthy`]) or script functions.
//! - State: [`StateStore`]; [`ScopedState`] keeps it in a scope of the
//!   State component (`llmspell-state`), [`MemoryState`] (the default) in
//!   memory.
//! - Runs and checkpoints are kept in a `llmspell_storage` backend; see
//!   [`RunInfo`], [`RunStatus`].
//! - Events: [`EVENT_STARTED`], [`EVENT_STEP_STARTED`],
//!   [`EVENT_STEP_COMPLETED`], [`EVENT_STEP_FAILED`], [`EVENT_COMPLETED`],
//!   [`EVENT_FAILED`], with the run's correlation id.
//!
//! The user guide (`docs/user-guide/workflows.md`) describes every
//! definition key; `docs/technical/workflows.md` the design.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use llmspell_hooks::{HookExecutor, HookRegistry};
//! use llmspell_tools::{ToolRegistry, ToolRuntime, ToolsConfig};
//! use llmspell_workflows::{script_fn, Bindings, FunctionReturn, Pattern, WorkflowRuntime};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let tools = Arc::new(ToolRegistry::with_standard_tools(&ToolsConfig::default())?);
//! let hooks = Arc::new(HookExecutor::new(Arc::new(HookRegistry::new())));
//! let runtime = WorkflowRuntime::new(Arc::new(ToolRuntime::new(tools, hooks)));
//!
//! let mut bindings = Bindings::new();
//! let shout = bindings.function(script_fn("shout", |call| async move {
//!     let text = call.input["text"].as_str().unwrap_or_default().to_uppercase();
//!     Ok(FunctionReturn::output(json!(text)))
//! }));
//! let wf = runtime.create_with(
//!     Some(Pattern::Sequential),
//!     &json!({
//!         "name": "pipeline",
//!         "steps": [
//!             {"name": "sum", "tool": "calculator", "input": {"expression": "{{input:a}} + 2"}},
//!             {"name": "say", "fn": shout, "input": {"text": "total {{step:sum:output.result}}"}},
//!         ]
//!     }),
//!     &bindings,
//! )?;
//!
//! let result = runtime.execute(&wf, json!({"a": 40})).await?;
//! assert!(result.success, "{:?}", result.error);
//! assert_eq!(result.data["sum"]["result"], 42);
//! assert_eq!(result.data["say"], "TOTAL 42");
//! assert_eq!(result.steps.len(), 2);
//!
//! // A malformed definition is refused when it is created.
//! let err = runtime
//!     .create(&json!({"type": "sequential", "steps": [{"name": "x", "tool": "nope"}]}))
//!     .unwrap_err();
//! assert!(err.to_string().contains("steps[1].tool"));
//! # Ok(())
//! # }
//! ```

mod agent;
mod condition;
mod definition;
mod error;
mod events;
mod function;
mod result;
mod run;
mod runtime;
mod state;
mod store;
mod template;

pub use agent::AgentRunner;
pub use condition::truthy;
pub use definition::{Bindings, Pattern, Workflow, FUNCTION_MARKER, WORKFLOW_MARKER};
pub use error::{BoxError, Result, WorkflowError};
pub use events::{
    EVENT_COMPLETED, EVENT_FAILED, EVENT_STARTED, EVENT_STEP_COMPLETED, EVENT_STEP_FAILED,
    EVENT_STEP_STARTED,
};
pub use function::{script_fn, FnScript, FunctionCall, FunctionReturn, ScriptFunction};
pub use result::{CompensationRecord, StepRecord, StepSource, WorkflowResult};
pub use runtime::{ExecuteOptions, WorkflowRuntime, WorkflowRuntimeBuilder, WORKFLOW_POINTS};
pub use state::{MemoryState, ScopedState, StateStore};
pub use store::{RunInfo, RunStatus};

/// Re-exported so callers can choose checkpoint durability without
/// depending on `llmspell-events`.
pub use llmspell_events::Durability;
