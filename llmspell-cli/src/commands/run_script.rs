//! `llmspell run`.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use llmspell_bridge::{BridgeError, GlobalContext, LuaConfig, LuaEngine};
use llmspell_events::{EventBus, EventStore};
use llmspell_state::{SessionOutcome, SessionRef};
use llmspell_storage::StorageConfig;

use crate::error::{CliError, Result};

/// The options of `llmspell run` besides the script and its arguments.
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    pub(crate) store: StorageConfig,
    pub(crate) timeout_secs: Option<f64>,
    pub(crate) memory_limit_mib: usize,
    pub(crate) state_store: StorageConfig,
    pub(crate) resume: Option<String>,
}

pub(crate) async fn run(
    script: &Path,
    options: &RunOptions,
    args: &[String],
    _out: &mut (dyn Write + Send),
) -> Result<()> {
    let source = std::fs::read_to_string(script).map_err(|source| CliError::ReadScript {
        path: script.to_owned(),
        source,
    })?;
    let timeout = match options.timeout_secs {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(CliError::Usage(format!(
                "--timeout-secs must be a positive number of seconds, got {s}"
            )))
        }
    };
    let resume = options
        .resume
        .as_deref()
        .map(str::parse::<SessionRef>)
        .transpose()?;
    // Events published while the script runs are persisted in the store
    // (before `publish` returns), for `llmspell events`.
    let event_store = EventStore::open(options.store.open()?).await?;
    let bus = EventBus::builder().store(event_store.clone()).build();
    // State and sessions live in their own store, under the context's
    // hooks; every run is a session.
    let context = GlobalContext::builder()
        .event_bus(bus.clone())
        .state_storage(options.state_store.open()?)
        .build()?;
    let sessions = context.sessions().clone();
    let config = LuaConfig::default()
        .with_script_timeout(timeout)
        .with_memory_limit(Some(options.memory_limit_mib.saturating_mul(1024 * 1024)));
    let engine = LuaEngine::new(context.clone(), config)?;
    context.start().await;
    let session = match resume {
        Some(which) => sessions.resume(which).await.map(|(s, _)| s),
        None => sessions.start(Some(&script.display().to_string())).await,
    };
    let session = match session {
        Ok(session) => session,
        Err(e) => {
            context.shutdown("error").await;
            drop(engine);
            bus.close();
            event_store.flush().await?;
            return Err(e.into());
        }
    };
    context.set_session(Some(session));
    let outcome = engine
        .run_script(&source, &script.display().to_string(), args)
        .await;
    // While the engine lives, so that the script's own hooks see SessionEnd.
    end_session(&context, &outcome).await;
    let reason = match &outcome {
        Ok(_) => "completed",
        Err(BridgeError::Timeout { .. }) => "timeout",
        Err(BridgeError::MemoryLimit { .. }) => "memory_limit",
        Err(_) => "error",
    };
    context.shutdown(reason).await;
    drop(engine);
    bus.close();
    event_store.flush().await?;
    outcome?;
    Ok(())
}

/// Records how the run ended, with the script's error. A failure to record
/// is logged but does not replace the script's own outcome. (The context's
/// shutdown would end the session too, from its reason alone.)
async fn end_session<T>(context: &GlobalContext, outcome: &std::result::Result<T, BridgeError>) {
    let ended = match outcome {
        Ok(_) => SessionOutcome::completed(),
        Err(e @ (BridgeError::Timeout { .. } | BridgeError::MemoryLimit { .. })) => {
            SessionOutcome::limit_exceeded(e.to_string()).with_exit_code(1)
        }
        Err(e) => SessionOutcome::failed(e.to_string()).with_exit_code(1),
    };
    if let Err(e) = context.end_session(ended).await {
        tracing::error!(error = %e, "cannot record the end of the session");
    }
}
