//! `llmspell workflows list` (`resume` runs a script: see `run_script`).

use std::io::Write;

use llmspell_bridge::GlobalContext;
use llmspell_storage::StorageConfig;

use crate::error::Result;

/// Prints every recorded run, oldest first: a table, or JSON lines.
pub(crate) async fn list(
    store: &StorageConfig,
    json: bool,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let context = GlobalContext::builder()
        .workflow_store(store.open()?)
        .build()?;
    let runs = context
        .workflows()
        .runs()
        .await
        .map_err(llmspell_bridge::BridgeError::from)?;
    if json {
        for run in &runs {
            writeln!(out, "{}", serde_json::to_string(run).unwrap_or_default())?;
        }
        return Ok(());
    }
    if runs.is_empty() {
        writeln!(out, "no workflow runs in {store}")?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<36}  {:<20}  {:<11}  {:<9}  {:>5}  {:<20}  error",
        "run id", "workflow", "pattern", "status", "steps", "started"
    )?;
    for run in &runs {
        writeln!(
            out,
            "{:<36}  {:<20}  {:<11}  {:<9}  {:>5}  {:<20}  {}",
            run.run_id,
            run.workflow_name,
            run.pattern,
            format!("{}{}", run.status, if run.compensated { "*" } else { "" }),
            run.steps_completed,
            run.started_at
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S"),
            run.error.as_deref().unwrap_or("")
        )?;
    }
    if runs.iter().any(|r| r.compensated) {
        writeln!(out, "* compensated: not resumable")?;
    }
    Ok(())
}
