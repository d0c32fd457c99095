//! `llmspell run`.

use std::io::Write;
use std::path::Path;

use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};
use llmspell_events::{EventBus, EventStore};
use llmspell_storage::StorageConfig;

use crate::error::{CliError, Result};

pub(crate) async fn run(
    script: &Path,
    store: &StorageConfig,
    timeout_secs: Option<f64>,
    memory_limit_mib: usize,
    args: &[String],
    _out: &mut (dyn Write + Send),
) -> Result<()> {
    let source = std::fs::read_to_string(script).map_err(|source| CliError::ReadScript {
        path: script.to_owned(),
        source,
    })?;
    // `Cli` checked the range when parsing; a caller building `Command`
    // itself gets the same refusal here.
    let max = llmspell_bridge::globals::MAX_DURATION;
    let timeout = match timeout_secs {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 && s <= max.as_secs_f64() => {
            Some(std::time::Duration::from_secs_f64(s))
        }
        Some(s) => {
            return Err(CliError::Usage(format!(
                "--timeout-secs must be greater than 0 and at most {} seconds (365 days), got {s}",
                max.as_secs()
            )))
        }
    };
    if memory_limit_mib == 0 {
        return Err(CliError::Usage(
            "--memory-limit-mib must be at least 1 (the Lua state always has a limit)".into(),
        ));
    }
    // Events published while the script runs are persisted in the store
    // (before `publish` returns), for `llmspell events`.
    let event_store = EventStore::open(store.open()?).await?;
    let bus = EventBus::builder().store(event_store.clone()).build();
    let context = GlobalContext::builder().event_bus(bus.clone()).build()?;
    let config = LuaConfig::default()
        .with_script_timeout(timeout)
        .with_memory_limit(Some(memory_limit_mib.saturating_mul(1024 * 1024)));
    let engine = LuaEngine::new(context.clone(), config)?;
    context.start().await;
    let outcome = engine
        .run_script(&source, &script.display().to_string(), args)
        .await;
    let reason = match &outcome {
        Ok(_) => "completed",
        Err(
            llmspell_bridge::BridgeError::Timeout { .. }
            | llmspell_bridge::BridgeError::Runaway { .. },
        ) => "timeout",
        Err(llmspell_bridge::BridgeError::MemoryLimit { .. }) => "memory_limit",
        Err(_) => "error",
    };
    context.shutdown(reason).await;
    drop(engine);
    bus.close();
    event_store.flush().await?;
    outcome?;
    Ok(())
}
