//! One module per subcommand; [`run`] dispatches.

pub(crate) mod events;
mod events_socket;
mod hooks;
pub(crate) mod nats;
mod run_script;
mod sessions;
mod signals;
mod store;
mod tools;
mod workflows;

pub use signals::Signal;

use std::io::Write;

use crate::cli::{
    Cli, Command, ConfigCommand, EventsCommand, HooksCommand, Lang, SessionsCommand, ToolsCommand,
    WorkflowsCommand,
};
use crate::config::{self, ConfigSource};
use crate::error::Result;
use crate::output::Output;
use run_script::ScriptInput;

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
    let style = Output::for_stdout(cli.color);
    match cli.command {
        Command::Run {
            scripts,
            eval,
            lang,
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
            let js = lang == Lang::Js;
            let inputs: Vec<ScriptInput> = match eval {
                Some(code) => vec![ScriptInput::Eval { code, js }],
                None => scripts
                    .into_iter()
                    .map(|p| {
                        if p.as_os_str() == "-" {
                            ScriptInput::Stdin { js }
                        } else {
                            ScriptInput::File(p)
                        }
                    })
                    .collect(),
            };
            run_script::run(&inputs, &loaded.config, &options, &args, out).await
        }
        Command::Tools { command } => match command {
            ToolsCommand::List { category, json } => {
                tools::list(category.as_deref(), json, &style, out)
            }
            ToolsCommand::Describe { name, json } => tools::describe(&name, json, &style, out),
        },
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "llmspell", out);
            Ok(())
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
                    &[ScriptInput::File(script)],
                    &loaded.config,
                    &options,
                    &args,
                    out,
                )
                .await
            }
        },
        Command::Config { command } => match command {
            ConfigCommand::Show { json } => {
                let loaded = source.load()?;
                if json {
                    let text = serde_json::to_string_pretty(&loaded.show_json())
                        .map_err(|e| crate::CliError::Usage(e.to_string()))?;
                    writeln!(out, "{text}")?;
                } else {
                    out.write_all(loaded.show().as_bytes())?;
                }
                Ok(())
            }
            ConfigCommand::Init { path, force } => {
                config::init(&path, force)?;
                writeln!(out, "wrote {}", path.display())?;
                Ok(())
            }
        },
        Command::Events { command } => match command {
            EventsCommand::Tail { filter, json, .. } if filter.nats.from.is_some() => {
                let mut format = events::Format::new(json, style);
                nats::events(&filter.nats, &filter, nats::Mode::Tail, &mut format, out).await
            }
            EventsCommand::Query {
                filter,
                limit,
                json,
            } if filter.nats.from.is_some() => {
                let mut format = events::Format::new(json, style);
                let mode = nats::Mode::Query(limit);
                nats::events(&filter.nats, &filter, mode, &mut format, out).await
            }
            EventsCommand::Replay {
                filter,
                limit,
                script,
            } if filter.nats.from.is_some() => {
                let mut format = events::Format::new(true, style);
                let mode = nats::Mode::Replay(limit, script.as_deref());
                nats::events(&filter.nats, &filter, mode, &mut format, out).await
            }
            EventsCommand::Tail {
                filter,
                lines,
                follow,
                json,
            } => {
                let format = events::Format::new(json, style);
                events::tail(&filter, lines, follow, &format, out).await
            }
            EventsCommand::Query {
                filter,
                limit,
                json,
            } => events::query(&filter, limit, &events::Format::new(json, style), out).await,
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
            command: HooksCommand::Points { json },
        } => hooks::points(json, &style, out),
    }
}
