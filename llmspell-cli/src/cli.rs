//! The command line, declared with clap.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use llmspell_storage::StorageConfig;
use uuid::Uuid;

/// `llmspell`: run scripts that hook into agents, tools and workflows.
#[derive(Debug, Clone, Parser)]
#[command(name = "llmspell", version, about)]
pub struct Cli {
    /// Log filter for tracing output on stderr (`LLMSPELL_LOG` overrides it).
    #[arg(long, global = true, default_value = "warn")]
    pub log_level: String,
    /// The configuration file (default: `llmspell.toml` in the current
    /// directory, if there is one).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
// Parsed once per process; boxing `run`'s options would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run Lua (`.lua`) and JavaScript (`.js`, `.mjs`) scripts with the Hook,
    /// Event, Tool, JSON and Logger globals. Several scripts run
    /// concurrently over one shared context (hooks, events, tools), each
    /// engine on its own thread; the run ends when every script has
    /// finished and drained its event callbacks.
    Run {
        /// The scripts to run (`a.lua b.js ...`).
        #[arg(required = true, num_args = 1..)]
        scripts: Vec<PathBuf>,
        /// Where events are persisted: `memory` or `sled:<path>` (default:
        /// `store.events` of the configuration, `sled:.llmspell/events`).
        #[arg(long)]
        store: Option<StorageConfig>,
        /// Stop the script after this many seconds (default:
        /// `limits.script_timeout_secs`, no limit); a number greater than 0
        /// and at most 31536000 (365 days).
        #[arg(long, value_parser = parse_timeout_secs)]
        timeout_secs: Option<f64>,
        /// Memory limit of each Lua state in MiB, 1 to 1048576 (default:
        /// `limits.memory_mib`, 256; for JavaScript: the largest
        /// ArrayBuffer; boa has no heap limit).
        #[arg(long, value_parser = parse_memory_limit_mib)]
        memory_limit_mib: Option<usize>,
        /// Where workflow runs and checkpoints are kept: `memory` or
        /// `sled:<path>` (`llmspell workflows list|resume` read it).
        #[arg(long, default_value = DEFAULT_WORKFLOW_STORE)]
        workflow_store: StorageConfig,
        /// Where state and sessions are kept: `memory` or `sled:<path>`
        /// (default: `store.state`, `sled:.llmspell/state`).
        #[arg(long)]
        state_store: Option<StorageConfig>,
        /// The tool policy switches (added to `[tools]`).
        #[command(flatten)]
        policy: PolicyArgs,
        /// Serve Prometheus metrics on this address, e.g. 127.0.0.1:9464
        /// (default: `telemetry.metrics_addr`).
        #[arg(long, value_name = "ADDR")]
        metrics_addr: Option<std::net::SocketAddr>,
        /// Continue a session (an id, or `latest`) from its last checkpoint
        /// instead of starting a new one.
        #[arg(long, value_name = "SESSION_ID|latest")]
        resume: Option<String>,
        /// NATS: bridge the bus, remote hooks.
        #[command(flatten)]
        nats: crate::NatsRunArgs,
        /// Arguments for the scripts (after `--`): Lua sees them as `...`
        /// and `arg`, JavaScript as `scriptArgs` / `arg` (`[script, ...args]`).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// List workflow runs, or resume one that was interrupted or failed.
    Workflows {
        /// What to do.
        #[command(subcommand)]
        command: WorkflowsCommand,
    },
    /// Read stored events (from a sled store written by `llmspell run`).
    Events {
        /// What to do.
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// List, show and delete the sessions `llmspell run` records.
    Sessions {
        /// What to do.
        #[command(subcommand)]
        command: SessionsCommand,
    },
    /// Show or create the configuration file (`llmspell.toml`).
    Config {
        /// What to do.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Inspect hooks.
    Hooks {
        /// What to show.
        #[command(subcommand)]
        command: HooksCommand,
    },
    /// Run a Lua script that registers hooks, then serve the hooks of the
    /// given points to other processes over NATS (`llmspell run
    /// --nats-remote-hooks`), until interrupted.
    ServeHooks(crate::ServeHooksArgs),
}

/// The default store of workflow runs.
pub const DEFAULT_WORKFLOW_STORE: &str = "sled:.llmspell/workflows";

/// `llmspell workflows ...`
#[derive(Debug, Clone, Subcommand)]
pub enum WorkflowsCommand {
    /// Every recorded run, oldest first: id, workflow, pattern, status,
    /// completed steps, start time, error.
    List {
        /// The run store written by `llmspell run`.
        #[arg(long, default_value = DEFAULT_WORKFLOW_STORE)]
        store: StorageConfig,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run `script` so that it defines the run's workflow again; the
    /// script's next execution of that workflow (or, if it executes none,
    /// the command after the script) continues the run from its last
    /// checkpoint without running completed steps again.
    Resume {
        /// The run to continue (from `llmspell workflows list`).
        run_id: Uuid,
        /// The script that defines the workflow (usually the one that
        /// started the run).
        script: PathBuf,
        /// The run store written by `llmspell run`.
        #[arg(long, default_value = DEFAULT_WORKFLOW_STORE)]
        store: StorageConfig,
        /// Where events are persisted: `memory` or `sled:<path>`.
        #[arg(long, default_value = "sled:.llmspell/events")]
        event_store: StorageConfig,
        /// Where state and sessions are kept: `memory` or `sled:<path>`
        /// (the script runs in a new session).
        #[arg(long, default_value = DEFAULT_STATE_STORE)]
        state_store: StorageConfig,
        /// Stop the script after this many seconds (default: no limit).
        #[arg(long)]
        timeout_secs: Option<f64>,
        /// Memory limit of the Lua state in MiB.
        #[arg(long, default_value_t = 256)]
        memory_limit_mib: usize,
        /// Arguments for the script (after `--`).
        #[arg(last = true)]
        args: Vec<String>,
    },
}

/// `llmspell config ...`
#[derive(Debug, Clone, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration, each value with where it came
    /// from (default, the file, or an `LLMSPELL_...` variable).
    Show,
    /// Write a commented configuration file with every key at its default.
    Init {
        /// Where to write it.
        #[arg(default_value = "llmspell.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
}

/// The tool policy switches of `llmspell run`; each adds to the list of the
/// same meaning in `[tools]`.
#[derive(Debug, Clone, Default, Args)]
pub struct PolicyArgs {
    /// Let the file tools use this directory (`tools.file_roots`).
    #[arg(long = "allow-dir", value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Let `process_executor` run this program (`tools.allowed_programs`).
    #[arg(long = "allow-program", value_name = "PROGRAM")]
    pub programs: Vec<String>,
    /// Let `environment_reader` show this secret-looking variable
    /// (`tools.allowed_env`).
    #[arg(long = "allow-env", value_name = "NAME")]
    pub env: Vec<String>,
    /// Let `service_checker` probe this host (`tools.allowed_hosts`).
    #[arg(long = "allow-host", value_name = "HOST")]
    pub hosts: Vec<String>,
}

/// `llmspell hooks ...`
#[derive(Debug, Clone, Subcommand)]
pub enum HooksCommand {
    /// Print every hook point name, one per line, grouped by category
    /// (`<category>\t<name>`), then the custom form `custom:<name>`.
    Points,
}

/// Where state and sessions are kept, and the output form.
#[derive(Debug, Clone, Args)]
pub struct SessionArgs {
    /// The state store: `sled:<path>` (or `memory`, which is always empty).
    #[arg(long, default_value = DEFAULT_STATE_STORE)]
    pub state_store: StorageConfig,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Where `llmspell run` keeps state and sessions unless told otherwise.
pub const DEFAULT_STATE_STORE: &str = "sled:.llmspell/state";

/// `llmspell sessions ...`
#[derive(Debug, Clone, Subcommand)]
pub enum SessionsCommand {
    /// Every recorded session, oldest first.
    List {
        /// Store and output.
        #[command(flatten)]
        args: SessionArgs,
    },
    /// One session: its record, checkpoints and the keys of its scope.
    Show {
        /// A session id, or `latest`.
        id: String,
        /// Store and output.
        #[command(flatten)]
        args: SessionArgs,
    },
    /// Removes a session: its record, checkpoints and scope.
    Delete {
        /// The session id.
        id: String,
        /// Store and output.
        #[command(flatten)]
        args: SessionArgs,
    },
}

/// `llmspell events ...`: every command prints events as JSON lines.
#[derive(Debug, Clone, Subcommand)]
pub enum EventsCommand {
    /// The last `-n` matching events.
    Tail {
        /// The store and the filters.
        #[command(flatten)]
        filter: EventFilterArgs,
        /// How many events.
        #[arg(short = 'n', long, default_value_t = 10)]
        lines: usize,
    },
    /// The matching events in sequence order (the first `--limit`).
    Query {
        /// The store and the filters.
        #[command(flatten)]
        filter: EventFilterArgs,
        /// At most this many events.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Publish the matching events again, in order, on a bus: to the
    /// subscriptions of `--script` (run first, its callbacks drained after
    /// the replay), or as JSON lines on stdout. Shows a progress bar on a
    /// terminal.
    Replay {
        /// The store and the filters.
        #[command(flatten)]
        filter: EventFilterArgs,
        /// At most this many events.
        #[arg(long)]
        limit: Option<usize>,
        /// A Lua script that subscribes to what it wants replayed.
        #[arg(long)]
        script: Option<PathBuf>,
    },
}

/// Which store to read and which events to select.
#[derive(Debug, Clone, Args)]
pub struct EventFilterArgs {
    /// The event store: `sled:<path>` (or `memory`, which is always empty).
    #[arg(long, default_value = "sled:.llmspell/events")]
    pub store: StorageConfig,
    /// Only event types matching this glob (`tool.*`, `*.error`).
    #[arg(long)]
    pub pattern: Option<String>,
    /// Only events at or after this time (RFC 3339, e.g. 2026-11-25T10:00:00Z).
    #[arg(long, value_parser = parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// Only events before this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub until: Option<DateTime<Utc>>,
    /// Only events with this correlation id.
    #[arg(long)]
    pub correlation_id: Option<Uuid>,
    /// Only events with a sequence number at or above this.
    #[arg(long)]
    pub from_seq: Option<u64>,
    /// Only events with a sequence number at or below this.
    #[arg(long)]
    pub to_seq: Option<u64>,
    /// Read from NATS instead (`--from nats://...`).
    #[command(flatten)]
    pub nats: crate::NatsSourceArgs,
}

/// `--timeout-secs`: finite, greater than 0, at most
/// [`MAX_DURATION`](llmspell_bridge::globals::MAX_DURATION).
fn parse_timeout_secs(s: &str) -> Result<f64, String> {
    let max = llmspell_bridge::globals::MAX_DURATION.as_secs();
    let bad =
        || format!("`{s}` is not a number of seconds greater than 0 and at most {max} (365 days)");
    let secs: f64 = s.trim().parse().map_err(|_| bad())?;
    #[allow(clippy::cast_precision_loss)]
    if secs.is_finite() && secs > 0.0 && secs <= max as f64 {
        Ok(secs)
    } else {
        Err(bad())
    }
}

/// The largest `--memory-limit-mib`: 1 TiB.
const MAX_MEMORY_MIB: usize = 1 << 20;

/// `--memory-limit-mib`: 1 to [`MAX_MEMORY_MIB`]. 0 is refused: it would
/// turn the limit off, which a limit option must never do silently.
fn parse_memory_limit_mib(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_MEMORY_MIB).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{s}` is not a memory limit in MiB from 1 to {MAX_MEMORY_MIB} (the Lua state always has a limit)"
        )),
    }
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{s}` is not an RFC 3339 time like 2026-11-25T10:00:00Z: {e}"))
}
