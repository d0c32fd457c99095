//! The `Workflow` global: create workflows from script tables, run them,
//! resume interrupted runs and list runs.

use llmspell_workflows::{Bindings, ExecuteOptions, Pattern, Workflow, WorkflowResult};
use serde_json::Value;
use uuid::Uuid;

use super::{GlobalMetadata, GlobalObject};
use crate::context::GlobalContext;
use crate::error::{BridgeError, Result};

/// `Workflow.sequential{...}`, `Workflow.conditional{...}`,
/// `Workflow.loop{...}`, `Workflow.parallel{...}` (also
/// `Workflow.create{type = ..., ...}`) → a workflow object;
/// `wf:execute(input?)` → `{success, data, error, steps = {{name, success,
/// output, duration_ms, ...}}, duration_ms, run_id, ...}`;
/// `Workflow.resume(run_id)` → the same result; `Workflow.runs()` → the
/// recorded runs; `Workflow.get(name)`, `Workflow.list()`.
///
/// Definitions are checked when created (a malformed one raises an error
/// naming the field, e.g. `invalid workflow definition: `steps[2].tool`:
/// no tool named ...`). Executing never raises for a failing step or a
/// hook's Cancel: the result has `success = false` and `error` says which
/// step failed and why. Script functions (`fn = function(input, state,
/// ctx) ... end`, function conditions) run on the script's thread. The
/// definition keys are described in `docs/user-guide/workflows.md`.
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
                "resume",
                "runs",
                "get",
                "list",
            ],
        }
    }

    fn inject_lua(&self, lua: &mlua::Lua, context: &GlobalContext) -> Result<()> {
        crate::lua::workflow::inject(lua, context)
    }
}

// ----- the language-neutral operations the bindings call -----

/// Creates a workflow of `pattern` (or of the definition's `type`).
pub(crate) fn create(
    context: &GlobalContext,
    pattern: Option<Pattern>,
    definition: &Value,
    bindings: &Bindings,
) -> Result<Workflow> {
    Ok(context
        .workflows()
        .create_with(pattern, definition, bindings)?)
}

/// The result as the JSON scripts receive: the run id as a string and no
/// `error` key on success.
pub(crate) fn result_json(result: &WorkflowResult) -> Value {
    let mut json = result.to_json();
    if let Some(m) = json.as_object_mut() {
        if m.get("error").is_some_and(Value::is_null) {
            m.remove("error");
        }
    }
    json
}

/// Runs `workflow` on `input` (`null`: `{}`).
pub(crate) async fn execute(
    context: &GlobalContext,
    workflow: &Workflow,
    input: Value,
    language: llmspell_events::Language,
) -> Result<Value> {
    let result = context
        .workflows()
        .execute_with(workflow, input, &ExecuteOptions::new().language(language))
        .await?;
    Ok(result_json(&result))
}

/// Parses a run id given by a script.
pub(crate) fn parse_run_id(function: &str, id: &str) -> Result<Uuid> {
    id.parse::<Uuid>().map_err(|_| {
        BridgeError::invalid(
            function,
            format!("`{id}` is not a run id; run ids are UUIDs as returned in `result.run_id` and by Workflow.runs()"),
        )
    })
}

/// Resumes run `id`.
pub(crate) async fn resume(
    context: &GlobalContext,
    id: Uuid,
    language: llmspell_events::Language,
) -> Result<Value> {
    let result = context
        .workflows()
        .resume_with(id, &ExecuteOptions::new().language(language))
        .await?;
    Ok(result_json(&result))
}

/// Every recorded run, oldest first.
pub(crate) async fn runs(context: &GlobalContext) -> Result<Value> {
    let runs = context.workflows().runs().await?;
    Ok(serde_json::to_value(runs).unwrap_or(Value::Null))
}
