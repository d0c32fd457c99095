//! `llmspell run`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use llmspell_bridge::{BridgeError, GlobalContext, JsConfig, JsEngine, LuaConfig, LuaEngine};
use llmspell_events::{EventBus, EventStore};
use llmspell_storage::StorageConfig;

use crate::error::{CliError, Result};

/// One script of a run, with its engine.
enum Engine {
    Lua(LuaEngine),
    Js(JsEngine),
}

/// The engine a file extension names.
fn language_of(path: &Path) -> Result<bool> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("lua") => Ok(false),
        Some("js" | "mjs") => Ok(true),
        _ => Err(CliError::Usage(format!(
            "`{}` is neither a Lua script (.lua) nor a JavaScript module (.js, .mjs)",
            path.display()
        ))),
    }
}

pub(crate) async fn run(
    scripts: &[PathBuf],
    store: &StorageConfig,
    timeout_secs: Option<f64>,
    memory_limit_mib: usize,
    args: &[String],
    _out: &mut (dyn Write + Send),
) -> Result<()> {
    let mut sources = Vec::with_capacity(scripts.len());
    for script in scripts {
        let js = language_of(script)?;
        let source = std::fs::read_to_string(script).map_err(|source| CliError::ReadScript {
            path: script.clone(),
            source,
        })?;
        sources.push((script.display().to_string(), js, source));
    }
    let timeout = match timeout_secs {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(CliError::Usage(format!(
                "--timeout-secs must be a positive number of seconds, got {s}"
            )))
        }
    };
    let memory = memory_limit_mib.saturating_mul(1024 * 1024);
    // Events published while the scripts run are persisted in the store
    // (before `publish` returns), for `llmspell events`.
    let event_store = EventStore::open(store.open()?).await?;
    let bus = EventBus::builder().store(event_store.clone()).build();
    let context = GlobalContext::builder().event_bus(bus.clone()).build()?;
    let mut engines = Vec::with_capacity(sources.len());
    for (_, js, _) in &sources {
        engines.push(if *js {
            Engine::Js(JsEngine::new(
                context.clone(),
                JsConfig::default()
                    .with_script_timeout(timeout)
                    .with_buffer_limit(memory as u64),
            )?)
        } else {
            Engine::Lua(LuaEngine::new(
                context.clone(),
                LuaConfig::default()
                    .with_script_timeout(timeout)
                    .with_memory_limit(Some(memory)),
            )?)
        });
    }
    context.start().await;
    // Every script runs at once: a JavaScript engine on its own thread, a
    // Lua engine on a task of its own (owned here, awaited below).
    let runs = sources.iter().zip(&engines).map(|((name, _, source), engine)| {
        let (name, source, args) = (name.clone(), source.clone(), args.to_vec());
        async move {
            match engine {
                Engine::Js(e) => e.run_script(&source, &name, &args).await.map(drop),
                Engine::Lua(e) => {
                    let e = e.clone();
                    let task = tokio::spawn(async move { e.run_script(&source, &name, &args).await });
                    match task.await {
                        Ok(r) => r.map(drop),
                        Err(join) => Err(BridgeError::Script {
                            chunk: "lua".to_owned(),
                            message: format!("the script's task ended abnormally: {join}"),
                        }),
                    }
                }
            }
        }
    });
    let mut failures: Vec<BridgeError> = futures::future::join_all(runs)
        .await
        .into_iter()
        .filter_map(std::result::Result::err)
        .collect();
    let reason = match failures.first() {
        None => "completed",
        Some(BridgeError::Timeout { .. }) => "timeout",
        Some(BridgeError::MemoryLimit { .. }) => "memory_limit",
        Some(_) => "error",
    };
    context.shutdown(reason).await;
    drop(engines);
    bus.close();
    event_store.flush().await?;
    match failures.len() {
        0 => Ok(()),
        1 => Err(CliError::Bridge(failures.remove(0))),
        _ => Err(CliError::Scripts(failures)),
    }
}
