//! The command line, declared with clap.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use llmspell_storage::StorageConfig;
use uuid::Uuid;

/// What `llmspell --help` says llmspell is.
pub const ABOUT: &str = "llmspell: run Lua and JavaScript scripts that hook into, observe and drive LLM agents, tools and workflows";

/// The longer text of `llmspell --help`.
pub const LONG_ABOUT: &str = "llmspell runs Lua and JavaScript scripts against an engine of hooks \
and events for LLM agents, tools and workflows. A script registers hooks at named points \
(before a tool runs, after an agent answers...), publishes and subscribes to events that \
are persisted and can be replayed, and calls the built-in tools, agents and workflows. \
The same crates can be embedded in a Rust application.\n\n\
Start with `llmspell run hello.lua` (arguments after the script go to it), \
`llmspell tools list`, `llmspell hooks points` and `llmspell events tail`.";

/// The valid values of `--log-level`.
pub const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// When output is coloured (`--color`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when the stream is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Colour even when the stream is not a terminal (`NO_COLOR` still wins).
    Always,
    /// Never colour.
    Never,
}

/// The language of a script read from stdin (`run -`) or given with
/// `run -e`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Lua.
    #[default]
    Lua,
    /// JavaScript (an ES module).
    Js,
}

/// `llmspell`: run scripts that hook into agents, tools and workflows.
#[derive(Debug, Clone, Parser)]
#[command(name = "llmspell", version, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    /// Log level of the messages on stderr: off, error, warn, info, debug or
    /// trace (`LLMSPELL_LOG` overrides it with a full filter).
    #[arg(long, global = true, default_value = "warn", value_parser = parse_log_level)]
    pub log_level: String,
    /// Colour in the output: `auto` (only on a terminal, never with
    /// `NO_COLOR` set), `always` or `never`.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
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
        /// The scripts to run (`a.lua b.js ...`, `-` for stdin). The leading
        /// arguments ending in `.lua`, `.js` or `.mjs` are scripts; the first
        /// one that is not starts the scripts' arguments
        /// (`llmspell run hello.lua Ada`); `--` also starts them.
        #[arg(value_name = "SCRIPT", required_unless_present = "eval")]
        scripts: Vec<PathBuf>,
        /// Run this code instead of a script file (Lua, or JavaScript with
        /// `--lang js`).
        #[arg(
            short = 'e',
            long = "eval",
            value_name = "CODE",
            conflicts_with = "scripts"
        )]
        eval: Option<String>,
        /// The language of `-e` code and of a script read from stdin (`-`).
        #[arg(long, value_enum, default_value_t = Lang::Lua)]
        lang: Lang,
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
        /// Arguments for the scripts (after the scripts, or after `--`): Lua
        /// sees them as `...` and `arg` (`arg[0]` is the script), JavaScript
        /// as `scriptArgs` / `arg` (`[script, ...args]`).
        #[arg(last = true, value_name = "ARGS")]
        args: Vec<String>,
    },
    /// List the built-in tools, or describe one (its parameters and an
    /// example call).
    Tools {
        /// What to do.
        #[command(subcommand)]
        command: ToolsCommand,
    },
    /// Print a shell completion script: `llmspell completions bash >
    /// /etc/bash_completion.d/llmspell` (zsh: a file named `_llmspell` in
    /// `$fpath`; fish: `~/.config/fish/completions/llmspell.fish`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
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
    Show {
        /// A JSON object `{"file": ..., "values": [{"key", "value",
        /// "origin"}]}` instead of text.
        #[arg(long)]
        json: bool,
    },
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
    /// Every hook point, grouped by category, with what fires it in
    /// `llmspell run`; then the custom form `custom:<name>`.
    Points {
        /// A JSON array of `{"category", "point", "fired_by", "fired"}`
        /// instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `llmspell tools ...`
#[derive(Debug, Clone, Subcommand)]
pub enum ToolsCommand {
    /// The built-in tools: name, category, security level, description.
    List {
        /// Only this category: utility, data, filesystem or system.
        #[arg(long)]
        category: Option<String>,
        /// A JSON array of tool metadata instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One tool: description, parameters (type, default, synonyms, required)
    /// from its schema, and an example call.
    Describe {
        /// The tool's name (from `llmspell tools list`).
        name: String,
        /// The tool's metadata and schemas as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
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

/// `llmspell events ...`: events as a table (sequence, local time, type,
/// source, data), or as JSON lines with `--json`. A store that does not
/// exist is an error (nothing is created); a store that a running
/// `llmspell run` holds is read through that process's socket
/// (`<store>.sock`).
#[derive(Debug, Clone, Subcommand)]
pub enum EventsCommand {
    /// The last `-n` matching events; with `--follow`, then every new one
    /// until Ctrl-C.
    Tail {
        /// The store and the filters.
        #[command(flatten)]
        filter: EventFilterArgs,
        /// How many events.
        #[arg(short = 'n', long, default_value_t = 10)]
        lines: usize,
        /// Keep printing new events as runs publish them, until Ctrl-C.
        #[arg(short = 'f', long)]
        follow: bool,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The matching events in sequence order (the first `--limit`).
    Query {
        /// The store and the filters.
        #[command(flatten)]
        filter: EventFilterArgs,
        /// At most this many events.
        #[arg(long)]
        limit: Option<usize>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
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

/// `--log-level`: one of [`LOG_LEVELS`] (any case).
fn parse_log_level(s: &str) -> Result<String, String> {
    let lower = s.trim().to_ascii_lowercase();
    if LOG_LEVELS.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(format!(
            "`{s}` is not a log level; valid levels: {} (for a per-module filter set LLMSPELL_LOG, e.g. LLMSPELL_LOG=llmspell_hooks=debug)",
            LOG_LEVELS.join(", ")
        ))
    }
}

/// Whether `arg` names a script for `llmspell run`: ends in `.lua`, `.js` or
/// `.mjs`, or is `-` (stdin).
#[must_use]
pub fn is_script_arg(arg: &str) -> bool {
    arg == "-"
        || std::path::Path::new(arg)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "lua" | "js" | "mjs"))
}

impl Cli {
    /// Parses the process's arguments as [`Cli::parse_from_args`] does;
    /// prints help or the error and exits (status 2) when they are invalid.
    #[must_use]
    pub fn parse_command_line() -> Self {
        use clap::FromArgMatches as _;
        let args = split_script_args(std::env::args_os());
        // clap's own messages (help, usage errors) follow `--color` too.
        let mut choice = ColorChoice::Auto;
        for (i, a) in args.iter().enumerate() {
            let value = match a.to_str() {
                Some("--color") => args.get(i + 1).and_then(|v| v.to_str()),
                Some(other) => other.strip_prefix("--color="),
                None => None,
            };
            if let Some(v) = value.and_then(|v| ColorChoice::from_str(v, true).ok()) {
                choice = v;
            }
        }
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match choice {
            _ if no_color => clap::ColorChoice::Never,
            ColorChoice::Never => clap::ColorChoice::Never,
            ColorChoice::Always => clap::ColorChoice::Always,
            ColorChoice::Auto => clap::ColorChoice::Auto,
        };
        let mut command = Self::command().color(color);
        let parsed = command
            .try_get_matches_from_mut(args)
            .and_then(|m| Self::from_arg_matches(&m));
        match parsed {
            Ok(cli) => cli,
            Err(e) => e.with_cmd(&command).exit(),
        }
    }

    /// Parses a command line, after [`split_script_args`]: in `llmspell
    /// run`, the first positional argument that is not a script starts the
    /// scripts' arguments.
    ///
    /// # Errors
    /// clap's error (usage, help, version) for invalid arguments.
    pub fn parse_from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString>,
    {
        Self::try_parse_from(split_script_args(args))
    }
}

/// Rewrites a command line so that, in `llmspell run`, the first positional
/// argument after the first script that is not a script (see
/// [`is_script_arg`]) and everything after it are the scripts' arguments: a
/// `--` is inserted before it. (The first positional argument is always
/// taken as a script, so that a file of another kind is reported as such.) With
/// `-e CODE` every positional argument is an argument. Options between the
/// scripts stay options; a `--` already given is kept. Other subcommands are
/// left as they are.
pub fn split_script_args<I, T>(args: I) -> Vec<std::ffi::OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString>,
{
    let mut args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let root = Cli::command();
    let takes_value = |cmd: &clap::Command, token: &str| -> bool {
        // `--name value`, `-n value` (not `--name=value`, `-nvalue`).
        let found = if let Some(long) = token.strip_prefix("--") {
            if long.contains('=') {
                return false;
            }
            cmd.get_arguments()
                .chain(root.get_arguments())
                .find(|a| a.get_long() == Some(long))
        } else {
            let mut chars = token[1..].chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => cmd
                    .get_arguments()
                    .chain(root.get_arguments())
                    .find(|a| a.get_short() == Some(c)),
                _ => None,
            }
        };
        found.is_some_and(|a| a.get_action().takes_values())
    };
    // Find the subcommand: the first positional argument after the
    // program name and the global options.
    let mut i = 1;
    while i < args.len() {
        let Some(token) = args[i].to_str() else {
            return args;
        };
        if token == "--" {
            return args;
        }
        if token.starts_with('-') && token.len() > 1 {
            i += if takes_value(&root, token) { 2 } else { 1 };
            continue;
        }
        break;
    }
    if args.get(i).and_then(|a| a.to_str()) != Some("run") {
        return args;
    }
    let Some(run) = root.find_subcommand("run") else {
        return args;
    };
    i += 1;
    let mut eval = false;
    // The first positional argument is a script whatever its name, so that
    // `llmspell run notes.txt` says it is not a script.
    let mut scripts = 0;
    while i < args.len() {
        let Some(token) = args[i].to_str() else {
            // A non-UTF-8 argument: not a script name we recognise.
            break;
        };
        if token == "--" {
            return args;
        }
        if token.starts_with('-') && token.len() > 1 {
            if token == "-e" || token == "--eval" || token.starts_with("--eval=") {
                eval = true;
            }
            i += if takes_value(run, token) { 2 } else { 1 };
            continue;
        }
        if !eval && (scripts == 0 || is_script_arg(token)) {
            scripts += 1;
            i += 1;
            continue;
        }
        break;
    }
    if i < args.len() {
        args.insert(i, "--".into());
    }
    args
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

#[cfg(test)]
mod tests {
    use super::*;

    fn split(args: &[&str]) -> Vec<String> {
        split_script_args(args.iter().copied())
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_first_non_script_starts_the_arguments() {
        assert_eq!(
            split(&["llmspell", "run", "a.lua", "b.js", "Ada", "--x"]),
            ["llmspell", "run", "a.lua", "b.js", "--", "Ada", "--x"]
        );
        // options with values are skipped, also global ones before `run`
        assert_eq!(
            split(&[
                "llmspell",
                "--log-level",
                "info",
                "run",
                "--store",
                "memory",
                "a.lua",
                "x"
            ]),
            [
                "llmspell",
                "--log-level",
                "info",
                "run",
                "--store",
                "memory",
                "a.lua",
                "--",
                "x"
            ]
        );
        // an option between the scripts stays an option
        assert_eq!(
            split(&["llmspell", "run", "a.lua", "--timeout-secs", "2", "b.mjs"]),
            ["llmspell", "run", "a.lua", "--timeout-secs", "2", "b.mjs"]
        );
        // `-` is a script; with -e every positional is an argument
        assert_eq!(
            split(&["llmspell", "run", "-", "x"]),
            ["llmspell", "run", "-", "--", "x"]
        );
        assert_eq!(
            split(&["llmspell", "run", "-e", "print(1)", "a.lua"]),
            ["llmspell", "run", "-e", "print(1)", "--", "a.lua"]
        );
        // an explicit `--` and other subcommands are left alone
        assert_eq!(
            split(&["llmspell", "run", "a.lua", "--", "x"]),
            ["llmspell", "run", "a.lua", "--", "x"]
        );
        assert_eq!(
            split(&["llmspell", "events", "tail", "-n", "3"]),
            ["llmspell", "events", "tail", "-n", "3"]
        );
    }

    #[test]
    fn parsed_run_has_scripts_and_arguments() {
        let cli = Cli::parse_from_args(["llmspell", "run", "hello.lua", "Ada", "Bob"]).unwrap();
        let Command::Run { scripts, args, .. } = cli.command else {
            panic!("not run");
        };
        assert_eq!(scripts, [PathBuf::from("hello.lua")]);
        assert_eq!(args, ["Ada", "Bob"]);
        assert!(Cli::parse_from_args(["llmspell", "run"]).is_err());
        let err = Cli::parse_from_args(["llmspell", "--log-level", "loud", "hooks", "points"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("off, error, warn, info, debug, trace"),
            "{err}"
        );
    }
}
