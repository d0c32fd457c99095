//! One module per subcommand; [`run`] dispatches.

mod hooks;
mod run_script;

use std::io::Write;

use crate::cli::{Cli, Command, HooksCommand};
use crate::error::Result;

/// Runs one parsed command line, writing command output to `out` (script
/// `print` output goes to the process's stdout).
///
/// # Errors
/// Whatever the command reports; the binary prints it and exits with 1.
pub async fn run(cli: Cli, out: &mut (dyn Write + Send)) -> Result<()> {
    match cli.command {
        Command::Run {
            script,
            store,
            timeout_secs,
            memory_limit_mib,
            args,
        } => run_script::run(&script, &store, timeout_secs, memory_limit_mib, &args, out).await,
        Command::Hooks {
            command: HooksCommand::Points,
        } => hooks::points(out),
    }
}
