//! The command line, declared with clap.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use llmspell_storage::StorageConfig;

/// `llmspell`: run scripts that hook into agents, tools and workflows.
#[derive(Debug, Clone, Parser)]
#[command(name = "llmspell", version, about)]
pub struct Cli {
    /// Log filter for tracing output on stderr (`LLMSPELL_LOG` overrides it).
    #[arg(long, global = true, default_value = "warn")]
    pub log_level: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run a Lua script with the Hook, Event, Tool, JSON and Logger globals.
    Run {
        /// The script to run.
        script: PathBuf,
        /// Where events are persisted: `memory` or `sled:<path>`.
        #[arg(long, default_value = "sled:.llmspell/events")]
        store: StorageConfig,
        /// Stop the script after this many seconds (default: no limit).
        #[arg(long)]
        timeout_secs: Option<f64>,
        /// Memory limit of the Lua state in MiB.
        #[arg(long, default_value_t = 256)]
        memory_limit_mib: usize,
        /// Arguments for the script (after `--`), visible as `...` and `arg`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Inspect hooks.
    Hooks {
        /// What to show.
        #[command(subcommand)]
        command: HooksCommand,
    },
}

/// `llmspell hooks ...`
#[derive(Debug, Clone, Subcommand)]
pub enum HooksCommand {
    /// Print every hook point name, one per line, grouped by category
    /// (`<category>\t<name>`), then the custom form `custom:<name>`.
    Points,
}
