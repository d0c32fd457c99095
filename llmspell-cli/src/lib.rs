//! The `llmspell` command-line interface: run Lua and JavaScript scripts with the llmspell
//! globals, list hook points, and inspect or replay stored events.
//!
//! The binary is `llmspell`; this library holds its argument parser
//! ([`Cli`]) and [`run`], so the whole command line can be tested in-process.
//!
//! ```text
//! llmspell run script.lua [more.js ...] [args...] [--store memory|sled:<path>] [--workflow-store memory|sled:<path>]
//! llmspell run - [args...]            (the script from stdin; --lang js for JavaScript)
//! llmspell run -e 'print(1)' [args...]
//! llmspell tools list [--category C] [--json] | tools describe <name> [--json]
//! llmspell completions bash|zsh|fish
//! llmspell workflows list [--store sled:<path>] [--json]
//! llmspell workflows resume <run_id> script.lua [--store sled:<path>] [-- args...]
//! llmspell run ... [--allow-dir D] [--allow-program P] [--allow-env V] [--allow-host H] [--metrics-addr A]
//! llmspell config show|init [--config llmspell.toml]
//! llmspell hooks points [--json]
//! llmspell sessions list|show <id|latest>|delete <id> [--state-store sled:<path>] [--json]
//! llmspell events tail|query|replay [--store sled:<path>] [--pattern P] [--since T] [--until T]
//!                                   [--correlation-id U] [--from-seq N] [--to-seq N] [--json] [--follow]
//!                                   [--from nats://HOST:PORT [--count N]]
//! llmspell run ... --nats URL [--nats-export P] [--nats-import P] [--nats-jetstream [--nats-consumer NAME]]
//!                  [--nats-remote-hooks POINTS [--nats-remote-fail-closed]]
//! llmspell serve-hooks script.lua --nats URL --points POINTS
//! ```

mod cli;
mod command_hooks;
mod commands;
pub mod config;
mod error;
pub mod output;
#[cfg(feature = "telemetry")]
mod prometheus;
pub mod telemetry;
pub mod traceback;

pub use cli::{
    is_script_arg, split_script_args, Cli, ColorChoice, Command, ConfigCommand, EventFilterArgs,
    EventsCommand, HooksCommand, Lang, PolicyArgs, SessionArgs, SessionsCommand, ToolsCommand,
    WorkflowsCommand, ABOUT, DEFAULT_STATE_STORE, DEFAULT_WORKFLOW_STORE, LOG_LEVELS, LONG_ABOUT,
};
pub use commands::nats::{NatsRunArgs, NatsSourceArgs, ServeHooksArgs, HOOK_KEY_ENV};
pub use commands::{run, Signal};
pub use error::{
    CliError, Result, EXIT_FAILURE, EXIT_LIMIT, EXIT_REFUSED, EXIT_TIMEOUT, EXIT_USAGE,
};
