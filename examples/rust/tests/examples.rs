//! Runs every cargo example of this package and checks its output.
//!
//! `cargo test` builds the examples as programs, but `cargo test
//! --all-targets` builds them as test harnesses instead (their `main` never
//! runs), and a program left by an earlier build may be stale; so the test
//! first runs `cargo build --examples` with the cargo that built it, into
//! the same target directory and profile (a no-op when they are fresh).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

/// The examples directory of this test's target directory and profile.
fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("profile dir").join("examples")
}

/// Builds the package's examples as programs (once per test process).
fn build_examples(dir: &Path) {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let profile_dir = dir.parent().expect("profile dir");
        let target_dir = profile_dir.parent().expect("target dir");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--quiet", "--examples", "--manifest-path"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build --examples");
        assert!(status.success(), "cargo build --examples failed: {status}");
    });
}

fn run(name: &str) -> String {
    let dir = examples_dir();
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    build_examples(&dir);
    assert!(path.exists(), "{} was not built", path.display());
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
