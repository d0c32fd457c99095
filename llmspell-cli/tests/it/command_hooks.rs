//! `[[hooks.command]]` on real tool calls from Lua: every answer.

use std::path::Path;
use std::process::Command;

use super::write;

/// Runs `script` with a config of one command hook at
/// BeforeToolExecution (extra keys in `extra`); (success, stdout+stderr).
fn run_with_hook(command: &str, extra: &str, script: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), command, extra, script)
}

fn run_in(dir: &Path, command: &str, extra: &str, script: &str) -> (bool, String) {
    write(
        dir,
        "llmspell.toml",
        &format!(
            "[store]\nevents = \"memory\"\nstate = \"memory\"\n\n[[hooks.command]]\npoint = \"BeforeToolExecution\"\nmatcher = \"calc.*\"\nshell = true\ncommand = '''{command}'''\n{extra}\n"
        ),
    );
    write(dir, "t.lua", script);
    let out = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(["run", "t.lua"])
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

const CALL: &str = "local ok, r = pcall(Tool.invoke, 'calculator', {expression = '1 + 1'})\n\
                    if ok then print('result', r.result) else print('error', r) end\n\
                    for _, h in ipairs(Hook.list('BeforeToolExecution')) do\n\
                      print('hook', h.language, h.calls, h.failures) end\n";

#[test]
fn exit_zero_continues_and_the_command_gets_the_context() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = run_in(dir.path(), "cat > seen.json", "", CALL);
    assert!(ok && out.contains("result\t2"), "{out}");
    assert!(out.contains("hook\tcommand\t1\t0"), "{out}");
    let seen: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("seen.json")).unwrap()).unwrap();
    assert_eq!(seen["point"], "BeforeToolExecution");
    assert_eq!(seen["component_id"]["name"], "calculator");
    assert_eq!(seen["data"]["parameters"]["expression"], "1 + 1");
    assert_eq!(seen["correlation_id"].as_str().unwrap().len(), 36);
}

#[test]
fn a_json_result_on_stdout_modifies_the_call() {
    let (ok, out) = run_with_hook(
        r#"echo '{"type": "modified", "data": {"tool_name": "calculator", "parameters": {"expression": "40 + 2"}}}'"#,
        "",
        CALL,
    );
    assert!(ok && out.contains("result\t42"), "{out}");
}

#[test]
fn exit_two_cancels_with_stderr_as_the_reason() {
    let (ok, out) = run_with_hook("echo 'calculators are off today' >&2; exit 2", "", CALL);
    assert!(
        ok && out.contains("error") && out.contains("calculators are off today"),
        "{out}"
    );
}

#[test]
fn a_failure_is_fail_open_and_counted() {
    let (ok, out) = run_with_hook("exit 1", "", CALL);
    assert!(ok && out.contains("result\t2"), "{out}");
    assert!(out.contains("hook\tcommand\t1\t1"), "{out}");
    let (ok, out) = run_with_hook("echo 'not json'", "", CALL);
    assert!(
        ok && out.contains("result\t2") && out.contains("hook\tcommand\t1\t1"),
        "{out}"
    );
}

#[test]
fn fail_closed_turns_a_failure_into_a_refusal() {
    let (ok, out) = run_with_hook("exit 1", "fail_closed = true", CALL);
    assert!(
        ok && out.contains("error") && out.contains("status 1"),
        "{out}"
    );
}

#[test]
fn a_timeout_is_a_failure() {
    let (ok, out) = run_with_hook("sleep 20", "timeout_ms = 200", CALL);
    assert!(ok && out.contains("result\t2"), "fail-open: {out}");
    let (ok, out) = run_with_hook("sleep 20", "timeout_ms = 200\nfail_closed = true", CALL);
    assert!(
        ok && out.contains("error") && out.contains("timed out"),
        "{out}"
    );
}

#[test]
fn oversized_output_is_a_failure() {
    let (ok, out) = run_with_hook(
        "head -c 5000 /dev/zero",
        "max_output_bytes = 1000\nfail_closed = true",
        CALL,
    );
    assert!(
        ok && out.contains("error") && out.contains("more than 1000 bytes"),
        "{out}"
    );
}

#[test]
fn the_matcher_leaves_other_tools_alone() {
    let (ok, out) = run_with_hook(
        "exit 2",
        "",
        "print(Tool.invoke('uuid_generator', {}) ~= nil)",
    );
    assert!(ok && out.starts_with("true"), "{out}");
}
