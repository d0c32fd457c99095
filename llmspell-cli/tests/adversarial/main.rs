//! Crash and hostile-input tests of the CLI's event store: the process is
//! killed mid-publish, stopped by signals, and pointed at damaged stores.
//! (The Lua-side adversarial suite lives elsewhere; these files are only
//! about the store and the shutdown path.)

mod damaged;
mod kill;
mod memory;

use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

pub(crate) fn write(dir: &Path, name: &str, body: &str) {
    std::fs::write(dir.join(name), body).unwrap();
}

/// `llmspell <args>` in `dir`, stdout piped, stderr captured.
pub(crate) fn spawn(args: &[&str], dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends `signal` (`TERM`, `INT`) to the child with the `kill` program.
pub(crate) fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Reads lines from the child's stdout until `done` says stop; returns
/// every line read.
pub(crate) fn read_until(
    stdout: &mut std::io::BufReader<ChildStdout>,
    mut done: impl FnMut(&str) -> bool,
) -> Vec<String> {
    use std::io::BufRead;
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            return lines;
        }
        let line = line.trim_end().to_owned();
        let stop = done(&line);
        lines.push(line);
        if stop {
            return lines;
        }
    }
}
