//! The `llmspell` binary.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = llmspell_cli::Cli::parse();
    init_tracing(&cli);
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
    match runtime.block_on(llmspell_cli::run(cli, &mut stdout)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("llmspell: {e}");
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

fn init_tracing(cli: &llmspell_cli::Cli) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("LLMSPELL_LOG")
        .unwrap_or_else(|_| EnvFilter::new(cli.log_level.as_str()));
    // A second initialisation (not possible here) would only be refused.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
