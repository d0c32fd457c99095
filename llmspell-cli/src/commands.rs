//! One module per subcommand; [`run`] dispatches.

mod events;
mod hooks;
mod run_script;

use std::io::Write;

use crate::cli::{Cli, Command, EventsCommand, HooksCommand};
use crate::error::Result;

/// Runs one parsed command line, writing command output to `out` (script
/// `print` output goes to the process's stdout).
///
/// # Errors
/// Whatever the command reports; the binary prints it and exits with 1.
pub async fn run(cli: Cli, out: &mut (dyn Write + Send)) -> Result<()> {
    match cli.command {
        Command::Run {
            scripts,
            store,
            timeout_secs,
            memory_limit_mib,
            args,
        } => run_script::run(&scripts, &store, timeout_secs, memory_limit_mib, &args, out).await,
        Command::Events { command } => match command {
            EventsCommand::Tail { filter, lines } => events::tail(&filter, lines, out).await,
            EventsCommand::Query { filter, limit } => events::query(&filter, limit, out).await,
            EventsCommand::Replay {
                filter,
                limit,
                script,
            } => events::replay(&filter, limit, script.as_deref(), out).await,
        },
        Command::Hooks {
            command: HooksCommand::Points,
        } => hooks::points(out),
    }
}
