//! NATS: `llmspell run --nats URL`, `llmspell events tail|query|replay
//! --from nats://...`, `llmspell serve-hooks script.lua --nats URL`.
//!
//! The argument structs are always part of the command line; without the
//! cargo feature `nats` the commands say so instead of running.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::error::{CliError, Result};

/// The environment variable holding the key remote hooks are signed with
/// (at least 32 bytes; the same on both sides).
pub const HOOK_KEY_ENV: &str = "LLMSPELL_HOOK_KEY";

/// `llmspell run --nats URL ...`: bridge the script's event bus to NATS.
#[derive(Debug, Clone, Default, Args)]
pub struct NatsRunArgs {
    /// Bridge the script's event bus to this NATS server
    /// (`nats://host:4222`).
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
    /// Local event types sent to NATS (globs; repeatable; default `*`).
    #[arg(long = "nats-export", value_name = "PATTERN")]
    pub export: Vec<String>,
    /// Remote event types delivered to the script's bus (globs;
    /// repeatable; default none).
    #[arg(long = "nats-import", value_name = "PATTERN")]
    pub import: Vec<String>,
    /// Subject prefix: events travel on `<prefix>.<event type>`.
    #[arg(
        long = "nats-prefix",
        default_value = "llmspell",
        value_name = "PREFIX"
    )]
    pub prefix: String,
    /// Store events in a JetStream stream (acknowledged publishing, replay;
    /// the server needs `-js`).
    #[arg(long = "nats-jetstream")]
    pub jetstream: bool,
    /// With `--nats-jetstream`: the durable consumer imports go through; a
    /// run with the same name resumes after the last event it took.
    #[arg(long = "nats-consumer", value_name = "NAME")]
    pub consumer: Option<String>,
    /// This process's id in the events it sends (default: random).
    #[arg(long = "nats-node-id", value_name = "ID")]
    pub node_id: Option<String>,
    /// Run the hooks of these points remotely, on a process started with
    /// `llmspell serve-hooks` (comma-separated point names; the signing key
    /// comes from `LLMSPELL_HOOK_KEY`).
    #[arg(
        long = "nats-remote-hooks",
        value_name = "POINTS",
        value_delimiter = ','
    )]
    pub remote_hooks: Vec<String>,
    /// A remote hook that times out or answers with a bad signature
    /// cancels the operation (default: the operation goes on).
    #[arg(long = "nats-remote-fail-closed")]
    pub remote_fail_closed: bool,
    /// How long a remote hook call waits for its answer, in milliseconds.
    #[arg(long = "nats-remote-timeout-ms", default_value_t = 5000)]
    pub remote_timeout_ms: u64,
}

/// `llmspell events tail|query|replay --from nats://...`.
#[derive(Debug, Clone, Default, Args)]
pub struct NatsSourceArgs {
    /// Read events from a NATS server instead of the store: `tail`
    /// follows live events; `query` and `replay` read the JetStream stream
    /// (`--from-seq`/`--to-seq` are stream sequences there).
    #[arg(long = "from", value_name = "nats://HOST:PORT")]
    pub from: Option<String>,
    /// Subject prefix of the events.
    #[arg(
        long = "nats-prefix",
        default_value = "llmspell",
        value_name = "PREFIX"
    )]
    pub prefix: String,
    /// With `tail --from`: exit after this many events (default: follow
    /// until interrupted).
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,
}

/// `llmspell serve-hooks script.lua --nats URL --points ...`.
#[derive(Debug, Clone, Args)]
pub struct ServeHooksArgs {
    /// The Lua script that registers the hooks (`Hook.register`).
    pub script: PathBuf,
    /// The NATS server.
    #[arg(long, value_name = "URL")]
    pub nats: String,
    /// The points to serve (comma-separated, e.g.
    /// `BeforeToolExecution,AfterToolExecution`).
    #[arg(long, value_name = "POINTS", value_delimiter = ',', required = true)]
    pub points: Vec<String>,
    /// Subject prefix.
    #[arg(
        long = "nats-prefix",
        default_value = "llmspell",
        value_name = "PREFIX"
    )]
    pub prefix: String,
    /// Stop after this many seconds (default: until SIGINT/SIGTERM).
    #[arg(long)]
    pub timeout_secs: Option<f64>,
}

#[cfg(not(feature = "nats"))]
fn unavailable(what: &str) -> CliError {
    CliError::Usage(format!(
        "{what}: llmspell was built without the `nats` feature"
    ))
}

#[cfg(feature = "nats")]
pub(crate) use enabled::*;

#[cfg(not(feature = "nats"))]
pub(crate) use disabled::*;

#[cfg(not(feature = "nats"))]
mod disabled {
    use super::*;

    /// Nothing to hold without the feature.
    #[derive(Debug)]
    pub(crate) struct RunBridge;

    pub(crate) async fn attach(
        args: &NatsRunArgs,
        _bus: &llmspell_events::EventBus,
        _hooks: &llmspell_hooks::Hooks,
    ) -> Result<Option<RunBridge>> {
        match &args.nats {
            None => Ok(None),
            Some(_) => Err(unavailable("--nats")),
        }
    }

    impl RunBridge {
        pub(crate) async fn finish(self) {}
    }

    pub(crate) async fn events(
        _src: &NatsSourceArgs,
        _filter: &crate::cli::EventFilterArgs,
        _mode: super::Mode<'_>,
        _format: &mut crate::commands::events::Format,
        _out: &mut (dyn Write + Send),
    ) -> Result<()> {
        Err(unavailable("--from"))
    }

    pub(crate) async fn serve_hooks(
        _args: &ServeHooksArgs,
        _out: &mut (dyn Write + Send),
    ) -> Result<()> {
        Err(unavailable("serve-hooks"))
    }
}

/// What `events ... --from` does.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mode<'a> {
    /// Follow live events.
    Tail,
    /// Print stored events, at most this many.
    Query(Option<usize>),
    /// Replay stored events into a bus (with a script).
    Replay(Option<usize>, Option<&'a std::path::Path>),
}

#[cfg(feature = "nats")]
mod enabled {
    use std::time::Duration;

    use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};
    use llmspell_events::nats::{
        JetStreamConfig, NatsConfig, NatsTransport, ReplayStart, StoredEvent,
    };
    use llmspell_events::{EventBus, EventPattern, UniversalEvent};
    use llmspell_hooks::{
        ContextSigner, HookPoint, HookServer, HookServerConfig, Hooks, RemoteHook,
    };

    use super::*;
    use crate::cli::EventFilterArgs;

    /// The transport of a run; flushed before the bus closes.
    #[derive(Debug)]
    pub(crate) struct RunBridge {
        transport: NatsTransport,
    }

    impl RunBridge {
        /// Sends what the bridge has taken from the bus (bounded wait).
        pub(crate) async fn finish(self) {
            match tokio::time::timeout(Duration::from_secs(30), self.transport.flush()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("llmspell: NATS: {e}"),
                Err(_) => eprintln!("llmspell: NATS: events still unsent after 30 s"),
            }
            let stats = self.transport.stats();
            if stats.export_failures > 0 {
                eprintln!(
                    "llmspell: NATS: {} events were not acknowledged by JetStream",
                    stats.export_failures
                );
            }
        }
    }

    fn signer() -> Result<ContextSigner> {
        let key = std::env::var(HOOK_KEY_ENV).map_err(|_| {
            CliError::Usage(format!(
                "remote hooks need a signing key of at least 32 bytes in {HOOK_KEY_ENV}, the same for both processes"
            ))
        })?;
        ContextSigner::new(key.as_bytes())
            .map_err(|e| CliError::Usage(format!("{HOOK_KEY_ENV}: {e}")))
    }

    fn points(names: &[String]) -> Result<Vec<HookPoint>> {
        names
            .iter()
            .filter(|n| !n.trim().is_empty())
            .map(|n| {
                n.trim()
                    .parse::<HookPoint>()
                    .map_err(|e| CliError::Usage(e.to_string()))
            })
            .collect()
    }

    /// Attaches a transport to the run's bus when `--nats` is given, and
    /// registers the remote hooks.
    pub(crate) async fn attach(
        args: &NatsRunArgs,
        bus: &EventBus,
        hooks: &Hooks,
    ) -> Result<Option<RunBridge>> {
        let Some(url) = &args.nats else {
            if !args.remote_hooks.is_empty() {
                return Err(CliError::Usage(
                    "--nats-remote-hooks needs --nats URL".into(),
                ));
            }
            return Ok(None);
        };
        let mut config = NatsConfig::new(url.clone()).prefix(args.prefix.clone());
        if let Some(id) = &args.node_id {
            config = config.node_id(id.clone());
        }
        if args.export.is_empty() {
            config = config.export("*");
        }
        for p in &args.export {
            config = config.export(p.clone());
        }
        for p in &args.import {
            config = config.import(p.clone());
        }
        if args.jetstream {
            let mut js = JetStreamConfig::new();
            if let Some(c) = &args.consumer {
                js = js.consumer(c.clone());
            }
            config = config.jetstream(js);
        } else if args.consumer.is_some() {
            return Err(CliError::Usage(
                "--nats-consumer needs --nats-jetstream".into(),
            ));
        }
        let node_id = config.node_id.clone();
        let transport = NatsTransport::connect(config).await?;
        transport.attach(bus).await?;
        let points = points(&args.remote_hooks)?;
        if !points.is_empty() {
            let signer = signer()?;
            for point in points {
                let hook = RemoteHook::new(transport.client().clone(), signer.clone())
                    .prefix(args.prefix.clone())
                    .node_id(node_id.clone())
                    .timeout(Duration::from_millis(args.remote_timeout_ms.max(1)))
                    .fail_closed(args.remote_fail_closed);
                let options = hook.register_options();
                hooks
                    .register_with(point, hook, options)
                    .map_err(|e| CliError::Usage(format!("--nats-remote-hooks: {e}")))?;
            }
        }
        Ok(Some(RunBridge { transport }))
    }

    /// Whether an event passes the filters JetStream could not apply.
    fn keep(
        filter: &EventFilterArgs,
        pattern: Option<&EventPattern>,
        e: &UniversalEvent,
        stream_sequence: Option<u64>,
    ) -> bool {
        pattern.is_none_or(|p| p.matches(&e.event_type))
            && filter.since.is_none_or(|t| e.timestamp >= t)
            && filter.until.is_none_or(|t| e.timestamp < t)
            && filter
                .correlation_id
                .is_none_or(|c| e.metadata.correlation_id == Some(c))
            && filter
                .to_seq
                .is_none_or(|n| stream_sequence.is_none_or(|s| s <= n))
    }

    pub(crate) async fn events(
        src: &NatsSourceArgs,
        filter: &EventFilterArgs,
        mode: Mode<'_>,
        format: &mut crate::commands::events::Format,
        out: &mut (dyn Write + Send),
    ) -> Result<()> {
        let url = src.from.clone().unwrap_or_default();
        let pattern = filter
            .pattern
            .as_deref()
            .map(EventPattern::new)
            .transpose()?;
        if let Mode::Tail = mode {
            let transport =
                NatsTransport::connect(NatsConfig::new(url).prefix(src.prefix.clone())).await?;
            let mut live = transport
                .subscribe(filter.pattern.as_deref().unwrap_or("*"))
                .await?;
            let mut printed = 0usize;
            while src.count.is_none_or(|n| printed < n) {
                tokio::select! {
                    next = live.next() => match next {
                        None => break,
                        Some(Ok(e)) => {
                            if keep(filter, pattern.as_ref(), &e, None) {
                                format.write(out, &e)?;
                                printed += 1;
                            }
                        }
                        Some(Err(e)) => tracing::warn!(error = %e, "skipping a message"),
                    },
                    _ = tokio::signal::ctrl_c() => break,
                }
            }
            return Ok(());
        }
        let transport = NatsTransport::connect(
            NatsConfig::new(url)
                .prefix(src.prefix.clone())
                .jetstream(JetStreamConfig::new()),
        )
        .await?;
        let start = match (filter.from_seq, filter.since) {
            (Some(n), _) => ReplayStart::Sequence(n),
            (None, Some(t)) => ReplayStart::Time(t),
            (None, None) => ReplayStart::All,
        };
        let (limit, script) = match mode {
            Mode::Query(l) => (l, None),
            Mode::Replay(l, s) => (l, s),
            Mode::Tail => (None, None),
        };
        let stored = transport
            .read(start, filter.pattern.as_deref(), None)
            .await?;
        let events: Vec<UniversalEvent> = stored
            .into_iter()
            .filter(|s: &StoredEvent| {
                keep(filter, pattern.as_ref(), &s.event, Some(s.stream_sequence))
            })
            .map(|s| s.event)
            .take(limit.unwrap_or(usize::MAX))
            .collect();
        match mode {
            Mode::Replay(..) => super::super::events::replay_events(events, script, out).await,
            _ => {
                for e in &events {
                    format.write(out, e)?;
                }
                Ok(())
            }
        }
    }

    pub(crate) async fn serve_hooks(
        args: &ServeHooksArgs,
        out: &mut (dyn Write + Send),
    ) -> Result<()> {
        let points = points(&args.points)?;
        if points.is_empty() {
            return Err(CliError::Usage("--points names no hook point".into()));
        }
        let signer = signer()?;
        let source =
            std::fs::read_to_string(&args.script).map_err(|source| CliError::ReadScript {
                path: args.script.clone(),
                source,
            })?;
        let context = GlobalContext::builder().build()?;
        let engine = LuaEngine::new(context.clone(), LuaConfig::default())?;
        engine
            .run_script(&source, &args.script.display().to_string(), &[])
            .await?;
        let client = async_nats::ConnectOptions::new()
            .name("llmspell serve-hooks")
            .connect(args.nats.as_str())
            .await
            .map_err(|e| {
                CliError::Events(llmspell_events::EventError::Transport {
                    operation: format!("connect to {}", args.nats),
                    reason: e.to_string(),
                })
            })?;
        let server = HookServer::serve(
            client,
            signer,
            context.hooks().clone(),
            points,
            HookServerConfig::new().prefix(args.prefix.clone()),
        )
        .await
        .map_err(|e| CliError::Usage(format!("serve-hooks: {e}")))?;
        writeln!(out, "serving {}", server.subjects().join(", "))?;
        out.flush()?;
        let wait = async {
            match args.timeout_secs {
                Some(s) if s.is_finite() && s > 0.0 => {
                    tokio::time::sleep(Duration::from_secs_f64(s)).await;
                }
                _ => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = wait => {}
            _ = tokio::signal::ctrl_c() => {}
            () = terminate() => {}
        }
        drop(server);
        drop(engine);
        Ok(())
    }

    #[cfg(unix)]
    async fn terminate() {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    }

    #[cfg(not(unix))]
    async fn terminate() {
        std::future::pending::<()>().await;
    }
}
