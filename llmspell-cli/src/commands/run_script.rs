//! `llmspell run`.
//!
//! However the scripts end — they return, fail, hit a limit, or the
//! process gets SIGINT/SIGTERM — the run goes through [`shut_down`], the one
//! shutdown path: the context is shut down (`SystemShutdown` fires), the
//! engines are dropped, the bus is closed and the event store flushed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use llmspell_bridge::{
    BridgeError, GlobalContext, GlobalContextBuilder, JsConfig, JsEngine, LuaConfig, LuaEngine,
};
use llmspell_state::{SessionOutcome, SessionRef};
use llmspell_storage::StorageConfig;
use uuid::Uuid;

use super::signals::{Signal, Signals};
use super::store::RunEvents;
use crate::cli::PolicyArgs;
use crate::command_hooks;
use crate::config::{Config, PolicyFlags};
use crate::error::{CliError, Result};

/// One script of a run, with its engine.
pub(crate) enum Engine {
    Lua(LuaEngine),
    Js(JsEngine),
}

impl Engine {
    /// Runs `source` to its end (for JavaScript: until its promises settled
    /// and its subscriptions drained).
    async fn run(
        &self,
        source: String,
        name: String,
        args: Vec<String>,
    ) -> Result<(), BridgeError> {
        match self {
            Engine::Js(e) => e.run_script(&source, &name, &args).await.map(drop),
            Engine::Lua(e) => {
                // A task of its own so that Lua scripts run concurrently
                // with the others; owned here, awaited, and aborted when the
                // run is dropped (a signal stops the scripts).
                let e = e.clone();
                let mut task = AbortOnDrop(tokio::spawn(async move {
                    e.run_script(&source, &name, &args).await
                }));
                match (&mut task.0).await {
                    Ok(r) => r.map(drop),
                    Err(join) => Err(BridgeError::Script {
                        chunk: "lua".to_owned(),
                        message: format!("the script's task ended abnormally: {join}"),
                    }),
                }
            }
        }
    }
}

/// A task aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The engine a file extension names: `true` for JavaScript.
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

/// Where a script of a run comes from.
#[derive(Debug, Clone)]
pub(crate) enum ScriptInput {
    /// A file: `.lua` is Lua, `.js` and `.mjs` JavaScript.
    File(PathBuf),
    /// Standard input (`llmspell run -`), named `stdin`.
    Stdin {
        /// JavaScript rather than Lua (`--lang js`).
        js: bool,
    },
    /// Code given with `-e`, named `(command line)`.
    Eval {
        /// The code.
        code: String,
        /// JavaScript rather than Lua (`--lang js`).
        js: bool,
    },
}

impl ScriptInput {
    /// The script's name, whether it is JavaScript, and its source.
    fn load(&self) -> Result<(String, bool, String)> {
        match self {
            ScriptInput::File(path) => {
                let js = language_of(path)?;
                let source =
                    std::fs::read_to_string(path).map_err(|source| CliError::ReadScript {
                        path: path.clone(),
                        source,
                    })?;
                Ok((path.display().to_string(), js, source))
            }
            ScriptInput::Stdin { js } => {
                let mut source = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut source).map_err(
                    |source| CliError::ReadScript {
                        path: PathBuf::from("-"),
                        source,
                    },
                )?;
                Ok(("stdin".to_owned(), *js, source))
            }
            ScriptInput::Eval { code, js } => Ok(("(command line)".to_owned(), *js, code.clone())),
        }
    }
}

/// Why a run ended; what [`shut_down`] is told.
#[derive(Debug)]
pub(crate) enum Ending {
    /// Every script returned or failed (a limit included): the failures, in
    /// the order of the scripts on the command line.
    Finished(Vec<BridgeError>),
    /// A signal arrived; the scripts were stopped.
    Signalled(Signal),
}

/// The options of `llmspell run` besides the scripts and their arguments;
/// what is not given comes from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    pub(crate) store: Option<StorageConfig>,
    pub(crate) timeout_secs: Option<f64>,
    pub(crate) memory_limit_mib: Option<usize>,
    pub(crate) state_store: Option<StorageConfig>,
    /// A session to continue (`--resume`).
    pub(crate) resume: Option<String>,
    /// The tool policy switches.
    pub(crate) policy: PolicyArgs,
    /// Where Prometheus metrics are served.
    pub(crate) metrics_addr: Option<std::net::SocketAddr>,
    /// Where workflow runs and checkpoints are kept.
    pub(crate) workflow_store: StorageConfig,
    /// A workflow run to continue (`llmspell workflows resume`).
    pub(crate) workflow_run: Option<Uuid>,
    /// `--nats ...`: the bus bridged to NATS, remote hooks.
    pub(crate) nats: crate::NatsRunArgs,
}

pub(crate) async fn run(
    scripts: &[ScriptInput],
    config: &Config,
    options: &RunOptions,
    args: &[String],
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let mut sources = Vec::with_capacity(scripts.len());
    if scripts
        .iter()
        .filter(|s| matches!(s, ScriptInput::Stdin { .. }))
        .count()
        > 1
    {
        return Err(CliError::Usage(
            "`-` (the script from stdin) can be given once".into(),
        ));
    }
    for script in scripts {
        sources.push(script.load()?);
    }
    // `Cli` checked the ranges when parsing; a caller building `Command`
    // itself gets the same refusals here.
    let max = llmspell_bridge::globals::MAX_DURATION;
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
        Some(s) if s.is_finite() && s > 0.0 && s <= max.as_secs_f64() => {
            Some(Duration::from_secs_f64(s))
        }
        Some(s) => {
            return Err(CliError::Usage(format!(
                "--timeout-secs must be greater than 0 and at most {} seconds (365 days), got {s}",
                max.as_secs()
            )))
        }
    };
    let memory_limit_mib = options.memory_limit_mib.unwrap_or(config.limits.memory_mib);
    if memory_limit_mib == 0 {
        return Err(CliError::Usage(
            "--memory-limit-mib (or `limits.memory_mib`) must be at least 1 (the Lua state always has a limit)".into(),
        ));
    }
    let resume = options
        .resume
        .as_deref()
        .map(str::parse::<SessionRef>)
        .transpose()?;
    let memory_limit = memory_limit_mib.saturating_mul(1024 * 1024);
    // Each subscription queue holds at most the script's memory limit in
    // events (counted by their JSON size): host-side queues stay bounded
    // even when the script never reads them.
    let mut events = RunEvents::open(&store, Some(memory_limit)).await?;
    let signals = Signals::install(events.store().cloned())?;
    // State and sessions live in their own store, under the context's
    // hooks; every run is a session.
    let metrics_addr = options.metrics_addr.or(config.telemetry.metrics_addr);
    let mut context = GlobalContext::builder();
    if metrics_addr.is_some() {
        // Exported latency histograms time every hook execution, not one
        // in N of those that finish at once.
        context = context.hooks(llmspell_hooks::Hooks::builder().latency_sampling(1).build());
    }
    let context = context
        .event_bus(events.bus().clone())
        .state_storage(state_store.open()?)
        .workflow_store(options.workflow_store.open()?)
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
    // `--nats`: the bus bridged before anything is published, so the
    // script's whole run crosses (flushed before the bus closes).
    if let Some(bridge) = super::nats::attach(&options.nats, events.bus(), context.hooks()).await? {
        events.set_nats(bridge);
    }
    let _metrics = match metrics_addr {
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
    let mut engines = Vec::with_capacity(sources.len());
    for (_, js, _) in &sources {
        engines.push(if *js {
            Engine::Js(JsEngine::new(
                context.clone(),
                JsConfig::default()
                    .with_script_timeout(timeout)
                    .with_buffer_limit(memory_limit as u64),
            )?)
        } else {
            Engine::Lua(LuaEngine::new(
                context.clone(),
                LuaConfig::default()
                    .with_script_timeout(timeout)
                    .with_memory_limit(Some(memory_limit))
                    .with_call_timeout(Duration::from_millis(config.limits.hook_timeout_ms)),
            )?)
        });
    }
    let workflows = context.workflows().clone();
    context.start().await;
    // The session is named after the scripts it runs.
    let session_name = sources
        .iter()
        .map(|(name, _, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let session = match resume {
        Some(which) => sessions.resume(which).await.map(|(s, _)| s),
        None => sessions.start(Some(&session_name)).await,
    };
    let session = match session {
        Ok(session) => session,
        Err(e) => {
            let ending = Ending::Finished(vec![BridgeError::Setup(e.to_string())]);
            shut_down(engines, context, events, &ending).await?;
            return Err(e.into());
        }
    };
    context.set_session(Some(session));
    if let Some(run_id) = options.workflow_run {
        // The scripts' next execution of the run's workflow continues it.
        if let Err(e) = workflows.resume_on_next_execute(run_id).await {
            let e = BridgeError::from(e);
            let ending = Ending::Finished(vec![BridgeError::Setup(e.to_string())]);
            end_session(&context, &ending).await;
            shut_down(engines, context, events, &ending).await?;
            return Err(e.into());
        }
    }
    // Every script runs at once: a JavaScript engine on its own thread, a
    // Lua engine on a task of its own.
    let runs = sources
        .iter()
        .zip(&engines)
        .map(|((name, _, source), engine)| engine.run(source.clone(), name.clone(), args.to_vec()));
    let script_run = async {
        let mut failures: Vec<BridgeError> = futures::future::join_all(runs)
            .await
            .into_iter()
            .filter_map(std::result::Result::err)
            .collect();
        // No script executed the run's workflow: continue the run now that
        // the scripts have defined it.
        let mut resumed = None;
        if failures.is_empty() && options.workflow_run.is_some() {
            if let Some(run_id) = workflows.take_pending_resume() {
                match workflows.resume(run_id).await {
                    Ok(result) => resumed = Some(result),
                    Err(e) => failures.push(BridgeError::from(e)),
                }
            }
        }
        (failures, resumed)
    };
    let (ending, resumed) = tokio::select! {
        (failures, resumed) = script_run => (Ending::Finished(failures), resumed),
        signal = signals.received() => (Ending::Signalled(signal), None),
    };
    // While the engines live, so that the scripts' own hooks see SessionEnd.
    end_session(&context, &ending).await;
    shut_down(engines, context, events, &ending).await?;
    drop(signals);
    match ending {
        Ending::Finished(mut failures) => match failures.len() {
            0 => {
                if let Some(result) = resumed {
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
            1 => Err(CliError::Bridge(failures.remove(0))),
            _ => Err(CliError::Scripts(failures)),
        },
        Ending::Signalled(signal) => Err(CliError::Interrupted { signal }),
    }
}
/// What a script is told when a tool's policy refuses a call: the flag and
/// the `llmspell.toml` setting that allow it.
fn policy_hints(builder: GlobalContextBuilder) -> GlobalContextBuilder {
    const NET: &str = "allow the host (or a range such as 10.0.0.0/8) with `llmspell run --allow-host <host>` or `allowed_hosts` in the [tools] section of llmspell.toml";
    const DIR: &str = "allow a directory with `llmspell run --allow-dir <dir>` or `file_roots` in the [tools] section of llmspell.toml";
    [
        ("no_file_roots", DIR),
        ("path_outside_roots", DIR),
        ("file_too_large", "raise `max_file_bytes` in the [tools] section of llmspell.toml"),
        ("program_not_allowed", "allow the program with `llmspell run --allow-program <program>` or `allowed_programs` in the [tools] section of llmspell.toml"),
        ("secret_variable", "allow the variable with `llmspell run --allow-env <NAME>` or `allowed_env` in the [tools] section of llmspell.toml"),
        ("host_not_allowed", "allow the host with `llmspell run --allow-host <host>` or `allowed_hosts` in the [tools] section of llmspell.toml"),
        ("loopback_address", NET),
        ("private_address", NET),
        ("link_local_address", NET),
        ("shared_address", NET),
        ("unspecified_address", NET),
        ("cloud_metadata", NET),
    ]
    .into_iter()
    .fold(builder, |b, (rule, hint)| b.policy_hint(rule, hint))
}

impl Ending {
    /// The `reason` of the `SystemShutdown` point (from the first failure
    /// when several scripts failed).
    fn reason(&self) -> &'static str {
        match self {
            Ending::Finished(failures) => match failures.first() {
                None => "completed",
                Some(BridgeError::Timeout { .. } | BridgeError::Runaway { .. }) => "timeout",
                Some(BridgeError::MemoryLimit { .. }) => "memory_limit",
                Some(_) => "error",
            },
            Ending::Signalled(_) => "interrupted",
        }
    }
}

/// The one way a run ends, in order:
///
/// 1. the context is shut down: it fires `SystemShutdown` with `reason` =
///    `completed`, `error`, `timeout`, `memory_limit` or `interrupted`
///    (SIGINT/SIGTERM), while the scripts' hooks can still run, and stops
///    the tasks it started;
/// 2. the script engines are dropped: their subscriptions and callbacks end
///    (a JavaScript engine's thread is joined);
/// 3. the bus is closed: nothing more is published;
/// 4. the event store is flushed (every acknowledged event was already on
///    disk; this covers the rest).
///
/// A storage error of the flush is returned; the others cannot fail.
pub(crate) async fn shut_down(
    engines: Vec<Engine>,
    context: GlobalContext,
    events: RunEvents,
    ending: &Ending,
) -> Result<()> {
    context.shutdown(ending.reason()).await;
    drop(engines);
    drop(context);
    events.close().await
}

/// Records how the run ended, with the scripts' errors or the signal. A
/// failure to record is logged but does not replace the scripts' own
/// outcome. (The context's shutdown would end the session too, from its
/// reason alone.)
async fn end_session(context: &GlobalContext, ending: &Ending) {
    let ended = match ending {
        Ending::Finished(failures) => match failures.first() {
            None => SessionOutcome::completed(),
            Some(
                BridgeError::Timeout { .. }
                | BridgeError::Runaway { .. }
                | BridgeError::MemoryLimit { .. }
                | BridgeError::ResourceLimit { .. },
            ) => SessionOutcome::limit_exceeded(describe(failures)).with_exit_code(1),
            Some(_) => SessionOutcome::failed(describe(failures)).with_exit_code(1),
        },
        Ending::Signalled(signal) => SessionOutcome::interrupted(signal.to_string())
            .with_exit_code(i32::from(signal.exit_code())),
    };
    if let Err(e) = context.end_session(ended).await {
        tracing::error!(error = %e, "cannot record the end of the session");
    }
}

/// The failures of a run in one message, one per line.
fn describe(failures: &[BridgeError]) -> String {
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
