//! One module per subcommand; [`run`] dispatches.

mod events;
mod hooks;
mod run_script;
mod workflows;

use std::io::Write;

use crate::cli::{Cli, Command, EventsCommand, HooksCommand, WorkflowsCommand};
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
            workflow_store,
            args,
        } => {
            let opts = run_script::RunOptions {
                event_store: &store,
                workflow_store: &workflow_store,
                timeout_secs,
                memory_limit_mib,
                resume: None,
            };
            run_script::run(&script, &opts, &args, out).await
        }
        Command::Workflows { command } => match command {
            WorkflowsCommand::List { store, json } => workflows::list(&store, json, out).await,
            WorkflowsCommand::Resume {
                run_id,
                script,
                store,
                event_store,
                timeout_secs,
                memory_limit_mib,
                args,
            } => {
                let opts = run_script::RunOptions {
                    event_store: &event_store,
                    workflow_store: &store,
                    timeout_secs,
                    memory_limit_mib,
                    resume: Some(run_id),
                };
                run_script::run(&script, &opts, &args, out).await
            }
        },
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
