//! Runs every cargo example of this package (built by `cargo test`,
//! with or without `--all-targets`) and checks its output.

use std::path::PathBuf;
use std::process::Command;

/// The built example `name`, next to this test's executable.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let deps = exe.parent().expect("deps dir");
    let dir = deps.parent().expect("profile dir").join("examples");
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

fn run(name: &str) -> String {
    let path = example(name);
    // `cargo test -p llmspell-examples` and `--all-targets` build the
    // examples; `--test examples` alone does not.
    assert!(
        path.exists(),
        "{} is not built: run `cargo test -p llmspell-examples` (or `cargo build -p llmspell-examples --examples`) first",
        path.display()
    );
    let out = Command::new(&path).output().expect("run example");
    assert!(out.status.success(), "{name}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn hooked_operation_modifies_cancels_and_audits() {
    let out = run("hooked_operation");
    assert!(
        out.contains(r#"acme -> {"price":42.5,"symbol":"ACME"}"#),
        "{out}"
    );
    assert!(
        out.contains("scam -> cancelled by `normalise`: symbol is blocked"),
        "{out}"
    );
    assert!(out.contains("audited results: 1"), "{out}");
}

#[test]
fn event_persistence_stores_queries_and_replays() {
    let out = run("event_persistence");
    assert!(out.contains("stored orders: 3"), "{out}");
    assert!(
        out.contains("replayed 3: [Number(1), Number(2), Number(3)]"),
        "{out}"
    );
}

#[test]
fn lua_runs_against_the_application_registry() {
    let out = run("lua_with_own_tools");
    assert!(out.contains("script hook: greeter"), "{out}");
    assert!(out.contains("hello, Ada"), "{out}");
    assert!(out.contains("Rust hook saw 1 call(s)"), "{out}");
}
