//! `llmspell run`.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};
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
    let timeout = match timeout_secs {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(CliError::Usage(format!(
                "--timeout-secs must be a positive number of seconds, got {s}"
            )))
        }
    };
    let _backend = store.open()?;
    let config = LuaConfig::default()
        .with_script_timeout(timeout)
        .with_memory_limit(Some(memory_limit_mib.saturating_mul(1024 * 1024)));
    let engine = LuaEngine::new(GlobalContext::new(), config)?;
    engine
        .run_script(&source, &script.display().to_string(), args)
        .await?;
    Ok(())
}
