//! The `Workflow` global: create workflows from script tables, run them,
//! resume interrupted runs and list runs.

mod builder;

use llmspell_workflows::{Bindings, ExecuteOptions, Pattern, Workflow, WorkflowResult};
use serde_json::Value;
use uuid::Uuid;

use super::{GlobalBinding, GlobalMetadata, GlobalObject};
use crate::error::{BridgeError, Result};
use crate::host::ScriptHost;

pub(crate) use builder::WorkflowDraft;

/// `Workflow.sequential{...}`, `Workflow.conditional{...}`,
/// `Workflow.loop{...}`, `Workflow.parallel{...}` (also
/// `Workflow.create{type = ..., ...}`) → a workflow object;
/// `wf:execute(input?)` → `{success, data, error, steps = {{name, success,
/// output, duration_ms, ...}}, duration_ms, run_id, ...}`;
/// `Workflow.resume(run_id)` → the same result; `Workflow.runs()` → the
/// recorded runs; `Workflow.get(name)`, `Workflow.list()`;
/// `Workflow.builder()` → a chainable builder (`:name(s)`,
/// `:sequential()`, `:add_step{...}`, ..., `:build()`) producing the same
/// workflow objects (the builder records its calls in one draft that both
/// bindings replay).
///
/// Definitions are checked when created (a malformed one raises an error
/// naming the field, e.g. ``invalid workflow definition: `steps[2].tool`:
/// no tool named ...``). Executing never raises for a failing step or a
/// hook's Cancel: the result has `success = false` and `error` says which
/// step failed and why. Script functions (`fn = function(input, state,
/// ctx) ... end`, function conditions) run on the script's thread. The
/// definition keys are described in `docs/user-guide/workflows.md`.
///
/// The binding converts a definition table to JSON with its functions and
/// workflow objects as [`Bindings`] markers, and results back.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkflowGlobal;

impl GlobalObject for WorkflowGlobal {
    fn metadata(&self) -> GlobalMetadata {
        GlobalMetadata {
            name: "Workflow",
            description: "sequential, conditional, loop and parallel workflows of tool, agent, function and nested-workflow steps, resumable",
            functions: &[
                "sequential",
                "conditional",
                "loop",
                "parallel",
                "create",
                "builder",
                "resume",
                "runs",
                "get",
                "list",
            ],
        }
    }

    fn inject(&self, binding: &mut dyn GlobalBinding) -> Result<()> {
        binding.workflow(self)
    }
}

/// The result as the JSON scripts receive: the run id as a string and no
/// `error` key on success.
fn result_json(result: &WorkflowResult) -> Value {
    let mut json = result.to_json();
    if let Some(m) = json.as_object_mut() {
        if m.get("error").is_some_and(Value::is_null) {
            m.remove("error");
        }
    }
    json
}

impl WorkflowGlobal {
    /// Creates a workflow of `pattern` (or of the definition's `type`) from
    /// a definition whose functions and workflow objects are in `bindings`.
    ///
    /// # Errors
    /// [`BridgeError::Workflow`] naming the field at fault.
    pub(crate) fn create(
        self,
        host: &ScriptHost,
        pattern: Option<Pattern>,
        definition: &Value,
        bindings: &Bindings,
    ) -> Result<Workflow> {
        Ok(host
            .context()
            .workflows()
            .create_with(pattern, definition, bindings)?)
    }

    /// Creates the workflow a `Workflow.builder()` chain describes.
    ///
    /// # Errors
    /// [`BridgeError::InvalidArgument`] when the chain is incomplete or
    /// mixes patterns; [`BridgeError::Workflow`] naming the field at fault
    /// when the definition it makes is malformed.
    pub(crate) fn build(self, host: &ScriptHost, draft: &WorkflowDraft) -> Result<Workflow> {
        let (pattern, definition) = draft.definition()?;
        self.create(host, Some(pattern), &definition, &draft.bindings)
    }

    /// Runs `workflow` on `input` (`null`: `{}`); the result as JSON.
    ///
    /// # Errors
    /// Only a run store failure; a failing step is a result.
    pub(crate) async fn execute(
        self,
        host: &ScriptHost,
        workflow: &Workflow,
        input: Value,
    ) -> Result<Value> {
        let result = host
            .context()
            .workflows()
            .execute_with(
                workflow,
                input,
                &ExecuteOptions::new().language(host.language()),
            )
            .await?;
        Ok(result_json(&result))
    }

    /// Resumes the run `run_id` (a UUID string); the result as JSON.
    ///
    /// # Errors
    /// [`BridgeError::InvalidArgument`] for a malformed id;
    /// [`BridgeError::Workflow`] when the run cannot be resumed.
    pub(crate) async fn resume(self, host: &ScriptHost, run_id: &str) -> Result<Value> {
        let id = run_id.parse::<Uuid>().map_err(|_| {
            BridgeError::invalid(
                "Workflow.resume",
                format!("`{run_id}` is not a run id; run ids are UUIDs as returned in `result.run_id` and by Workflow.runs()"),
            )
        })?;
        let result = host
            .context()
            .workflows()
            .resume_with(id, &ExecuteOptions::new().language(host.language()))
            .await?;
        Ok(result_json(&result))
    }

    /// Every recorded run, oldest first, as JSON.
    ///
    /// # Errors
    /// [`BridgeError::Workflow`] when the run store fails.
    pub(crate) async fn runs(self, host: &ScriptHost) -> Result<Value> {
        let runs = host.context().workflows().runs().await?;
        Ok(serde_json::to_value(runs).unwrap_or(Value::Null))
    }

    /// The workflow created under `name`.
    pub(crate) fn get(self, host: &ScriptHost, name: &str) -> Option<Workflow> {
        host.context().workflows().workflow(name)
    }

    /// The names of the created workflows.
    pub(crate) fn list(self, host: &ScriptHost) -> Vec<String> {
        host.context().workflows().workflow_names()
    }
}
