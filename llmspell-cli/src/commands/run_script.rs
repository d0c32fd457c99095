//! `llmspell run`.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};
use llmspell_events::{EventBus, EventStore};
use llmspell_storage::StorageConfig;
use uuid::Uuid;

use crate::error::{CliError, Result};

/// How `llmspell run` (and `llmspell workflows resume`) runs a script.
pub(crate) struct RunOptions<'a> {
    pub(crate) event_store: &'a StorageConfig,
    pub(crate) workflow_store: &'a StorageConfig,
    pub(crate) timeout_secs: Option<f64>,
    pub(crate) memory_limit_mib: usize,
    /// A workflow run to continue.
    pub(crate) resume: Option<Uuid>,
}

pub(crate) async fn run(
    script: &Path,
    opts: &RunOptions<'_>,
    args: &[String],
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let source = std::fs::read_to_string(script).map_err(|source| CliError::ReadScript {
        path: script.to_owned(),
        source,
    })?;
    let timeout = match opts.timeout_secs {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(CliError::Usage(format!(
                "--timeout-secs must be a positive number of seconds, got {s}"
            )))
        }
    };
    // Events published while the script runs are persisted in the store
    // (before `publish` returns), for `llmspell events`.
    let event_store = EventStore::open(opts.event_store.open()?).await?;
    let bus = EventBus::builder().store(event_store.clone()).build();
    let context = GlobalContext::builder()
        .event_bus(bus.clone())
        .workflow_store(opts.workflow_store.open()?)
        .build()?;
    let workflows = context.workflows().clone();
    if let Some(run_id) = opts.resume {
        workflows
            .resume_on_next_execute(run_id)
            .await
            .map_err(llmspell_bridge::BridgeError::from)?;
    }
    let config = LuaConfig::default()
        .with_script_timeout(timeout)
        .with_memory_limit(Some(opts.memory_limit_mib.saturating_mul(1024 * 1024)));
    let engine = LuaEngine::new(context.clone(), config)?;
    context.start().await;
    let outcome = engine
        .run_script(&source, &script.display().to_string(), args)
        .await;
    // The script did not execute the run's workflow: continue the run now
    // that the script has defined it.
    let resumed = match (outcome.is_ok(), opts.resume) {
        (true, Some(_)) => match workflows.take_pending_resume() {
            Some(run_id) => Some(workflows.resume(run_id).await),
            None => None,
        },
        _ => None,
    };
    let reason = match &outcome {
        Ok(_) => "completed",
        Err(llmspell_bridge::BridgeError::Timeout { .. }) => "timeout",
        Err(llmspell_bridge::BridgeError::MemoryLimit { .. }) => "memory_limit",
        Err(_) => "error",
    };
    context.shutdown(reason).await;
    drop(engine);
    bus.close();
    event_store.flush().await?;
    outcome?;
    if let Some(resumed) = resumed {
        let result = resumed.map_err(llmspell_bridge::BridgeError::from)?;
        writeln!(
            out,
            "resumed run {} of workflow `{}`: {}",
            result.run_id,
            result.workflow_name,
            match &result.error {
                None => "completed".to_owned(),
                Some(e) => format!("failed: {e}"),
            }
        )?;
    }
    Ok(())
}
