//! Runs every program of this package (cargo builds them for this test
//! and names them in `CARGO_BIN_EXE_<name>`) and checks its output.

use std::process::Command;

fn run(name: &str, path: &str) -> String {
    let out = Command::new(path).output().expect("run example");
    assert!(out.status.success(), "{name}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn hooked_operation_modifies_cancels_and_audits() {
    let out = run("hooked_operation", env!("CARGO_BIN_EXE_hooked_operation"));
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
    let out = run("event_persistence", env!("CARGO_BIN_EXE_event_persistence"));
    assert!(out.contains("stored orders: 3"), "{out}");
    assert!(
        out.contains("replayed 3: [Number(1), Number(2), Number(3)]"),
        "{out}"
    );
}

#[test]
fn lua_runs_against_the_application_registry() {
    let out = run(
        "lua_with_own_tools",
        env!("CARGO_BIN_EXE_lua_with_own_tools"),
    );
    assert!(out.contains("script hook: greeter"), "{out}");
    assert!(out.contains("hello, Ada"), "{out}");
    assert!(out.contains("Rust hook saw 1 call(s)"), "{out}");
}
