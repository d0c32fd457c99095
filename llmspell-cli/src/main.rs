//! The `llmspell` binary.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = llmspell_cli::Cli::parse_command_line();
    let stderr_style = llmspell_cli::output::Output::for_stderr(cli.color);
    let telemetry = llmspell_cli::telemetry::Telemetry::init(&cli);
    quiet_storage_panics();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("llmspell: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let outcome = runtime.block_on(llmspell_cli::run(cli, &mut stdout));
    drop(runtime);
    // Outside the runtime: the exporter's client blocks while it flushes.
    telemetry.shutdown();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{} {e}", stderr_style.error("llmspell:"));
            ExitCode::from(e.exit_code())
        }
    }
}

/// sled panics inside on some damaged databases; the storage layer catches
/// those panics and reports a clean error naming the database, so their
/// raw panic messages are not printed. Every other panic is reported as
/// usual.
fn quiet_storage_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_sled = info
            .location()
            .is_some_and(|l| l.file().replace('\\', "/").contains("/sled-"));
        if !in_sled {
            default(info);
        }
    }));
}
