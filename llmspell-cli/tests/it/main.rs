//! Black-box tests of the `llmspell` binary.

use std::path::Path;
use std::process::{Command, Output};

fn llmspell(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, body: &str) {
    std::fs::write(dir.join(name), body).unwrap();
}

#[test]
fn run_passes_arguments_and_prints() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ok.lua", "print('got', #arg, ...)");
    let out = llmspell(
        &["run", "--store", "memory", "ok.lua", "--", "x", "y"],
        dir.path(),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got\t2\tx\ty\n");
}

#[test]
fn script_error_prints_the_traceback_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bad.lua",
        "local function deep() error('went wrong') end\ndeep()\n",
    );
    let out = llmspell(&["run", "--store", "memory", "bad.lua"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.lua:1: went wrong"), "{err}");
    assert!(err.contains("stack traceback"), "{err}");
    assert!(err.contains("in local 'deep'"), "{err}");
}

#[test]
fn missing_script_and_bad_store_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = llmspell(&["run", "--store", "memory", "nope.lua"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read script `nope.lua`"));
    write(dir.path(), "ok.lua", "");
    let out = llmspell(&["run", "--store", "redis://x", "ok.lua"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap rejects the value: {out:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("sled:<path>"));
}

#[test]
fn default_store_is_sled_under_dot_llmspell() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ok.lua", "return 1");
    let out = llmspell(&["run", "ok.lua"], dir.path());
    assert!(out.status.success(), "{out:?}");
    assert!(dir.path().join(".llmspell/events").is_dir());
}

#[test]
fn timeout_stops_a_runaway_script() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "spin.lua",
        "while true do pcall(function() while true do end end) end",
    );
    let out = llmspell(
        &[
            "run",
            "--store",
            "memory",
            "--timeout-secs",
            "0.2",
            "spin.lua",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("time limit"));
}

#[test]
fn hooks_points_lists_every_point() {
    let dir = tempfile::tempdir().unwrap();
    let out = llmspell(&["hooks", "points"], dir.path());
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 43, "{text}");
    assert!(lines.contains(&"tool\tBeforeToolExecution"));
    assert!(lines.contains(&"performance\tCpuUsageHigh"));
    assert_eq!(lines.last(), Some(&"custom\tcustom:<name>"));
}
