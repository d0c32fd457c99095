//! One module per subcommand; [`run`] dispatches.

mod events;
mod hooks;
pub(crate) mod nats;
mod run_script;
mod sessions;
mod signals;
mod store;
mod workflows;

pub use signals::Signal;

use std::io::Write;

use crate::cli::{
    Cli, Command, ConfigCommand, EventsCommand, HooksCommand, SessionsCommand, WorkflowsCommand,
};
use crate::config::{self, ConfigSource};
use crate::error::Result;

/// Runs one parsed command line, writing command output to `out` (script
/// `print` output goes to the process's stdout).
///
/// # Errors
/// Whatever the command reports; the binary prints it and exits with
/// [`CliError::exit_code`](crate::CliError::exit_code).
pub async fn run(cli: Cli, out: &mut (dyn Write + Send)) -> Result<()> {
    let source = ConfigSource {
        file: cli.config.clone(),
        dir: None,
    };
    match cli.command {
        Command::Run {
            scripts,
            store,
            timeout_secs,
            memory_limit_mib,
            workflow_store,
            state_store,
            policy,
            metrics_addr,
            resume,
            nats,
            args,
        } => {
            let loaded = source.load()?;
            let options = run_script::RunOptions {
                nats,
                store,
                timeout_secs,
                memory_limit_mib,
                state_store,
                resume,
                policy,
                metrics_addr,
                workflow_store,
                workflow_run: None,
            };
            run_script::run(&scripts, &loaded.config, &options, &args, out).await
        }
        Command::Workflows { command } => match command {
            WorkflowsCommand::List { store, json } => workflows::list(&store, json, out).await,
            WorkflowsCommand::Resume {
                run_id,
                script,
                store,
                event_store,
                state_store,
                timeout_secs,
                memory_limit_mib,
                args,
            } => {
                let loaded = source.load()?;
                let options = run_script::RunOptions {
                    store: Some(event_store),
                    timeout_secs,
                    memory_limit_mib: Some(memory_limit_mib),
                    state_store: Some(state_store),
                    resume: None,
                    policy: crate::cli::PolicyArgs::default(),
                    metrics_addr: None,
                    workflow_store: store,
                    workflow_run: Some(run_id),
                    nats: crate::NatsRunArgs::default(),
                };
                run_script::run(
                    std::slice::from_ref(&script),
                    &loaded.config,
                    &options,
                    &args,
                    out,
                )
                .await
            }
        },
        Command::Config { command } => match command {
            ConfigCommand::Show => {
                let loaded = source.load()?;
                out.write_all(loaded.show().as_bytes())?;
                Ok(())
            }
            ConfigCommand::Init { path, force } => {
                config::init(&path, force)?;
                writeln!(out, "wrote {}", path.display())?;
                Ok(())
            }
        },
        Command::Events { command } => match command {
            EventsCommand::Tail { filter, .. } if filter.nats.from.is_some() => {
                nats::events(&filter.nats, &filter, nats::Mode::Tail, out).await
            }
            EventsCommand::Query { filter, limit } if filter.nats.from.is_some() => {
                nats::events(&filter.nats, &filter, nats::Mode::Query(limit), out).await
            }
            EventsCommand::Replay {
                filter,
                limit,
                script,
            } if filter.nats.from.is_some() => {
                let mode = nats::Mode::Replay(limit, script.as_deref());
                nats::events(&filter.nats, &filter, mode, out).await
            }
            EventsCommand::Tail { filter, lines } => events::tail(&filter, lines, out).await,
            EventsCommand::Query { filter, limit } => events::query(&filter, limit, out).await,
            EventsCommand::Replay {
                filter,
                limit,
                script,
            } => events::replay(&filter, limit, script.as_deref(), out).await,
        },
        Command::ServeHooks(args) => nats::serve_hooks(&args, out).await,
        Command::Sessions { command } => match command {
            SessionsCommand::List { args } => {
                sessions::list(&args.state_store, args.json, out).await
            }
            SessionsCommand::Show { id, args } => {
                sessions::show(&args.state_store, &id, args.json, out).await
            }
            SessionsCommand::Delete { id, args } => {
                sessions::delete(&args.state_store, &id, args.json, out).await
            }
        },
        Command::Hooks {
            command: HooksCommand::Points,
        } => hooks::points(out),
    }
}
