//! The `llmspell` command-line interface: run Lua and JavaScript scripts with the llmspell
//! globals, list hook points, and inspect or replay stored events.
//!
//! The binary is `llmspell`; this library holds its argument parser
//! ([`Cli`]) and [`run`], so the whole command line can be tested in-process.
//!
//! ```text
//! llmspell run script.lua [more.js ...] [--store memory|sled:<path>] [--workflow-store memory|sled:<path>] [-- args...]
//! llmspell workflows list [--store sled:<path>] [--json]
//! llmspell workflows resume <run_id> script.lua [--store sled:<path>] [-- args...]
//! llmspell run ... [--allow-dir D] [--allow-program P] [--allow-env V] [--allow-host H] [--metrics-addr A]
//! llmspell config show|init [--config llmspell.toml]
//! llmspell hooks points
//! llmspell sessions list|show <id|latest>|delete <id> [--state-store sled:<path>] [--json]
//! llmspell events tail|query|replay [--store sled:<path>] [--pattern P] [--since T] [--until T]
//!                                   [--correlation-id U] [--from-seq N] [--to-seq N]
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
#[cfg(feature = "telemetry")]
mod prometheus;
pub mod telemetry;

pub use cli::{
    Cli, Command, ConfigCommand, EventFilterArgs, EventsCommand, HooksCommand, PolicyArgs,
    SessionArgs, SessionsCommand, WorkflowsCommand, DEFAULT_STATE_STORE, DEFAULT_WORKFLOW_STORE,
};
pub use commands::nats::{NatsRunArgs, NatsSourceArgs, ServeHooksArgs, HOOK_KEY_ENV};
pub use commands::{run, Signal};
pub use error::{CliError, Result};
