//! `llmspell run`.
//!
//! However the script ends — it returns, fails, hits a limit, or the
//! process gets SIGINT/SIGTERM — the run goes through [`shut_down`], the one
//! shutdown path: the context is shut down (`SystemShutdown` fires), the
//! engine is dropped, the bus is closed and the event store flushed.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use llmspell_bridge::{BridgeError, GlobalContext, GlobalContextBuilder, LuaConfig, LuaEngine};
use llmspell_state::{SessionOutcome, SessionRef};
use llmspell_storage::StorageConfig;

use super::signals::{Signal, Signals};
use super::store::RunEvents;
use crate::cli::PolicyArgs;
use crate::command_hooks;
use crate::config::{Config, PolicyFlags};
use crate::error::{CliError, Result};

/// Why a run ended; what [`shut_down`] is told.
#[derive(Debug)]
pub(crate) enum Ending {
    /// The script returned or failed (a limit included).
    Finished(std::result::Result<serde_json::Value, BridgeError>),
    /// A signal arrived; the script was stopped.
    Signalled(Signal),
}

/// The options of `llmspell run` besides the script and its arguments;
/// what is not given comes from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    pub(crate) store: Option<StorageConfig>,
    pub(crate) timeout_secs: Option<f64>,
    pub(crate) memory_limit_mib: Option<usize>,
    pub(crate) state_store: Option<StorageConfig>,
    pub(crate) resume: Option<String>,
    pub(crate) policy: PolicyArgs,
    pub(crate) metrics_addr: Option<std::net::SocketAddr>,
}

pub(crate) async fn run(
    script: &Path,
    config: &Config,
    options: &RunOptions,
    args: &[String],
    _out: &mut (dyn Write + Send),
) -> Result<()> {
    let source = std::fs::read_to_string(script).map_err(|source| CliError::ReadScript {
        path: script.to_owned(),
        source,
    })?;
    let store = match &options.store {
        Some(s) => s.clone(),
        None => config.events_store()?,
    };
    let state_store = match &options.state_store {
        Some(s) => s.clone(),
        None => config.state_store()?,
    };
    let flags = PolicyFlags {
        dirs: options.policy.dirs.clone(),
        programs: options.policy.programs.clone(),
        env: options.policy.env.clone(),
        hosts: options.policy.hosts.clone(),
    };
    let tools_config = config.tools_config(&flags)?;
    let timeout = match options.timeout_secs.or(config.limits.script_timeout_secs) {
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
    let memory_limit = options
        .memory_limit_mib
        .unwrap_or(config.limits.memory_mib)
        .saturating_mul(1024 * 1024);
    // Each subscription queue holds at most the script's memory limit in
    // events (counted by their JSON size): host-side queues stay bounded
    // even when the script never reads them.
    let events = RunEvents::open(&store, (memory_limit > 0).then_some(memory_limit)).await?;
    let signals = Signals::install(events.store().cloned())?;
    // State and sessions live in their own store, under the context's
    // hooks; every run is a session.
    let context = GlobalContext::builder()
        .event_bus(events.bus().clone())
        .state_storage(state_store.open()?)
        .tools_config(tools_config)
        .provider_factory(config.provider_factory())
        .pricing(config.pricing_table());
    let context = policy_hints(context).build()?;
    // Hooks of the configuration go into the shared registry before the
    // script runs, so they fire for its tool calls too.
    for hook in config.builtin_hooks()? {
        hook.register(context.hooks())
            .map_err(|e| CliError::Config(format!("`hooks.builtin.{}`: {e}", hook.kind())))?;
    }
    command_hooks::register_all(context.hooks(), &config.hooks.command)
        .map_err(CliError::Config)?;
    let _metrics = match options.metrics_addr.or(config.telemetry.metrics_addr) {
        None => None,
        #[cfg(feature = "telemetry")]
        Some(addr) => Some(crate::prometheus::serve(
            addr,
            context.hooks(),
            events.bus(),
        )?),
        #[cfg(not(feature = "telemetry"))]
        Some(addr) => {
            return Err(CliError::Usage(format!(
                "--metrics-addr {addr}: llmspell was built without the `telemetry` feature"
            )))
        }
    };
    let sessions = context.sessions().clone();
    let lua_config = LuaConfig::default()
        .with_script_timeout(timeout)
        .with_memory_limit(Some(memory_limit))
        .with_call_timeout(Duration::from_millis(config.limits.hook_timeout_ms));
    let engine = LuaEngine::new(context.clone(), lua_config)?;
    context.start().await;
    let chunk_name = script.display().to_string();
    let session = match resume {
        Some(which) => sessions.resume(which).await.map(|(s, _)| s),
        None => sessions.start(Some(&chunk_name)).await,
    };
    let session = match session {
        Ok(session) => session,
        Err(e) => {
            let ending = Ending::Finished(Err(BridgeError::Setup(e.to_string())));
            shut_down(engine, context, events, &ending).await?;
            return Err(e.into());
        }
    };
    context.set_session(Some(session));
    let ending = tokio::select! {
        outcome = engine.run_script(&source, &chunk_name, args) => {
            Ending::Finished(outcome)
        }
        signal = signals.received() => Ending::Signalled(signal),
    };
    // While the engine lives, so that the script's own hooks see SessionEnd.
    end_session(&context, &ending).await;
    shut_down(engine, context, events, &ending).await?;
    drop(signals);
    match ending {
        Ending::Finished(outcome) => {
            outcome?;
            Ok(())
        }
        Ending::Signalled(signal) => Err(CliError::Interrupted { signal }),
    }
}
/// What a script is told when a tool's policy refuses a call: the flag and
/// the `llmspell.toml` setting that allow it.
fn policy_hints(builder: GlobalContextBuilder) -> GlobalContextBuilder {
    const DIR: &str = "allow a directory with `llmspell run --allow-dir <dir>` or `file_roots` in the [tools] section of llmspell.toml";
    [
        ("no_file_roots", DIR),
        ("path_outside_roots", DIR),
        ("file_too_large", "raise `max_file_bytes` in the [tools] section of llmspell.toml"),
        ("program_not_allowed", "allow the program with `llmspell run --allow-program <program>` or `allowed_programs` in the [tools] section of llmspell.toml"),
        ("secret_variable", "allow the variable with `llmspell run --allow-env <NAME>` or `allowed_env` in the [tools] section of llmspell.toml"),
        ("host_not_allowed", "allow the host with `llmspell run --allow-host <host>` or `allowed_hosts` in the [tools] section of llmspell.toml"),
    ]
    .into_iter()
    .fold(builder, |b, (rule, hint)| b.policy_hint(rule, hint))
}

impl Ending {
    /// The `reason` of the `SystemShutdown` point.
    fn reason(&self) -> &'static str {
        match self {
            Ending::Finished(Ok(_)) => "completed",
            Ending::Finished(Err(BridgeError::Timeout { .. })) => "timeout",
            Ending::Finished(Err(BridgeError::MemoryLimit { .. })) => "memory_limit",
            Ending::Finished(Err(_)) => "error",
            Ending::Signalled(_) => "interrupted",
        }
    }
}

/// The one way a run ends, in order:
///
/// 1. the context is shut down: it fires `SystemShutdown` with `reason` =
///    `completed`, `error`, `timeout`, `memory_limit` or `interrupted`
///    (SIGINT/SIGTERM), while the script's hooks can still run, and stops
///    the tasks it started;
/// 2. the script engine is dropped: its subscriptions and callbacks end;
/// 3. the bus is closed: nothing more is published;
/// 4. the event store is flushed (every acknowledged event was already on
///    disk; this covers the rest).
///
/// A storage error of the flush is returned; the others cannot fail.
pub(crate) async fn shut_down(
    engine: LuaEngine,
    context: GlobalContext,
    events: RunEvents,
    ending: &Ending,
) -> Result<()> {
    context.shutdown(ending.reason()).await;
    drop(engine);
    drop(context);
    events.close().await
}

/// Records how the run ended, with the script's error or the signal. A
/// failure to record is logged but does not replace the script's own
/// outcome. (The context's shutdown would end the session too, from its
/// reason alone.)
async fn end_session(context: &GlobalContext, ending: &Ending) {
    let ended = match ending {
        Ending::Finished(Ok(_)) => SessionOutcome::completed(),
        Ending::Finished(Err(
            e @ (BridgeError::Timeout { .. } | BridgeError::MemoryLimit { .. }),
        )) => SessionOutcome::limit_exceeded(e.to_string()).with_exit_code(1),
        Ending::Finished(Err(e)) => SessionOutcome::failed(e.to_string()).with_exit_code(1),
        Ending::Signalled(signal) => SessionOutcome::interrupted(signal.to_string())
            .with_exit_code(i32::from(signal.exit_code())),
    };
    if let Err(e) = context.end_session(ended).await {
        tracing::error!(error = %e, "cannot record the end of the session");
    }
}
