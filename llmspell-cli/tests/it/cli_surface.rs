//! The command line as a user meets it: script arguments, stdin and `-e`,
//! exit codes, output forms, colour (through a pseudo-terminal made by
//! `script(1)`), completions, tools, and reading a store a run holds.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command as Cmd;
use predicates::prelude::*;

fn llmspell(dir: &Path) -> Cmd {
    let mut c = Cmd::new(env!("CARGO_BIN_EXE_llmspell"));
    c.current_dir(dir).env_remove("NO_COLOR");
    c
}

#[test]
fn arguments_after_the_script_go_to_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hello.lua"),
        "print('hello ' .. arg[1], arg[0], select('#', ...))",
    )
    .unwrap();
    llmspell(dir.path())
        .args(["run", "hello.lua", "Ada", "--store", "memory"])
        .assert()
        .success()
        .stdout("hello Ada\thello.lua\t3\n");
    // options before the script, `--` still accepted
    llmspell(dir.path())
        .args(["run", "--store", "memory", "hello.lua", "--", "Bob"])
        .assert()
        .success()
        .stdout("hello Bob\thello.lua\t1\n");
}

#[test]
fn a_script_from_stdin_and_code_from_e() {
    let dir = tempfile::tempdir().unwrap();
    llmspell(dir.path())
        .args(["run", "--store", "memory", "-", "x", "y"])
        .write_stdin("print('stdin', arg[0], ...)")
        .assert()
        .success()
        .stdout("stdin\tstdin\tx\ty\n");
    llmspell(dir.path())
        .args(["run", "--store", "memory", "-e", "print(1 + 1, ...)", "a"])
        .assert()
        .success()
        .stdout("2\ta\n");
    llmspell(dir.path())
        .args([
            "run",
            "--store",
            "memory",
            "--lang",
            "js",
            "-e",
            "console.log(JSON.stringify(scriptArgs))",
            "q",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(r#"["(command line)","q"]"#));
}

#[test]
fn exit_codes_tell_timeout_limit_refusal_and_usage_apart() {
    let dir = tempfile::tempdir().unwrap();
    llmspell(dir.path())
        .args([
            "run",
            "--store",
            "memory",
            "--timeout-secs",
            "0.3",
            "-e",
            "while true do end",
        ])
        .assert()
        .code(124)
        .stderr(predicate::str::contains("exceeded its time limit"));
    llmspell(dir.path())
        .args([
            "run",
            "--store",
            "memory",
            "--memory-limit-mib",
            "2",
            "-e",
            "local t = {} for i = 1, 1e8 do t[i] = ('x'):rep(100) .. i end",
        ])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("memory limit of 2 MiB"));
    llmspell(dir.path())
        .args(["run", "--store", "memory", "-e", "local x = "])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("syntax error"));
    llmspell(dir.path())
        .args(["run", "--store", "memory", "-e", "error('boom')"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("boom"));
    llmspell(dir.path())
        .args(["--log-level", "blah", "hooks", "points"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "valid levels: off, error, warn, info, debug, trace",
        ));
    llmspell(dir.path())
        .args(["tools", "describe", "no_such_tool"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("calculator"));
}

#[test]
fn tracebacks_keep_the_script_frames() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tb.lua"),
        "local function f()\n  Tool.invoke('calculator', {expression = '1'})\n  error('deep')\nend\nf()\n",
    )
    .unwrap();
    llmspell(dir.path())
        .args(["run", "--store", "memory", "tb.lua"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("tb.lua:3: deep")
                .and(predicate::str::contains("tb.lua:5: in main chunk"))
                .and(predicate::str::contains("get_future").not()),
        );
}

#[test]
fn read_only_commands_never_create_a_store() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in ["tail", "query", "replay"] {
        llmspell(dir.path())
            .args(["events", cmd, "--store", "sled:missing/events"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains(
                "no event store at `missing/events`",
            ));
    }
    assert!(!dir.path().join("missing").exists());
    assert!(!dir.path().join(".llmspell").exists());
    llmspell(dir.path())
        .args(["events", "tail"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(".llmspell/events"));
    assert!(!dir.path().join(".llmspell").exists());
}

#[test]
fn listings_are_tables_by_default_and_json_on_request() {
    let dir = tempfile::tempdir().unwrap();
    llmspell(dir.path())
        .args(["tools", "list"])
        .assert()
        .success()
        .stdout(
            predicate::str::is_match(r"^NAME +CATEGORY +SECURITY +DESCRIPTION\n")
                .unwrap()
                .and(predicate::str::contains("calculator"))
                .and(predicate::str::contains("\x1b[").not()),
        );
    let out = llmspell(dir.path())
        .args(["tools", "list", "--category", "filesystem", "--json"])
        .output()
        .unwrap();
    let tools: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tools = tools.as_array().unwrap();
    assert!(!tools.is_empty());
    assert!(
        tools.iter().all(|t| t["category"] == "filesystem"),
        "{tools:?}"
    );
    llmspell(dir.path())
        .args(["tools", "list", "--category", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("utility"));
    llmspell(dir.path())
        .args(["tools", "describe", "base64_encoder"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("PARAMETER")
                .and(predicate::str::contains("variant"))
                .and(predicate::str::contains(r#""standard"|"url_safe""#))
                .and(predicate::str::contains("Tool.invoke(\"base64_encoder\"")),
        );
    let out = llmspell(dir.path())
        .args(["hooks", "points", "--json"])
        .output()
        .unwrap();
    let points: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let before = points
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["point"] == "BeforeToolExecution")
        .unwrap();
    assert_eq!(before["fired"], true);
    assert_eq!(before["fired_by"], "the tool runtime (llmspell-tools)");
    llmspell(dir.path())
        .args(["hooks", "points"])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"^CATEGORY +POINT +FIRED +FIRED BY\n").unwrap());
    let out = llmspell(dir.path())
        .args(["config", "show", "--json"])
        .output()
        .unwrap();
    let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(config["values"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["key"] == "limits.memory_mib" && v["origin"] == "default"));
}

#[test]
fn completions_and_about() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef llmspell"),
        ("fish", "complete -c llmspell"),
    ] {
        llmspell(dir.path())
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains(marker).and(predicate::str::contains("tools")));
    }
    llmspell(dir.path())
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "llmspell runs Lua and JavaScript scripts against an engine of hooks",
        ));
    llmspell(dir.path())
        .arg("-h")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "run Lua and JavaScript scripts that hook into",
        ));
}

/// Runs `llmspell <args>` on a pseudo-terminal (`script(1)`), returning
/// what the terminal showed.
fn on_terminal(dir: &Path, args: &str, no_color: bool) -> String {
    let mut c = Command::new("script");
    c.args([
        "-qec",
        &format!("{} {args}", env!("CARGO_BIN_EXE_llmspell")),
        "/dev/null",
    ])
    .current_dir(dir)
    .env("TERM", "xterm");
    if no_color {
        c.env("NO_COLOR", "1");
    } else {
        c.env_remove("NO_COLOR");
    }
    let out = c.output().expect("script(1) from util-linux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let bold = "\x1b[1m";
    let shown = on_terminal(dir.path(), "hooks points", false);
    assert!(shown.contains(bold), "{shown:?}");
    assert!(!on_terminal(dir.path(), "hooks points", true).contains('\x1b'));
    assert!(!on_terminal(dir.path(), "--color never hooks points", false).contains('\x1b'));
    let error = on_terminal(dir.path(), "run --store memory -e 'error(1)'", false);
    assert!(error.contains("\x1b[1;31mllmspell:"), "{error:?}");
    // piped: no colour on stdout or stderr, even for errors and logs
    llmspell(dir.path())
        .args([
            "--log-level",
            "info",
            "run",
            "--store",
            "memory",
            "-e",
            "error('x')",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("\x1b[").not());
    llmspell(dir.path())
        .args(["--color", "always", "hooks", "points"])
        .assert()
        .stdout(predicate::str::contains(bold));
    llmspell(dir.path())
        .env("NO_COLOR", "1")
        .args(["--color", "always", "hooks", "points"])
        .assert()
        .stdout(predicate::str::contains("\x1b[").not());
}

#[test]
fn events_of_a_running_script_are_read_and_followed_through_its_socket() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("slow.lua"),
        r#"local sub = Event.subscribe("never")
           for i = 1, 80 do
             Event.publish("job.step", {i = i})
             Event.receive(sub, 75)
           end
           Event.publish("job.done", {})"#,
    )
    .unwrap();
    let mut run = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(["run", "--store", "sled:ev", "slow.lua"])
        .current_dir(dir.path())
        .spawn()
        .unwrap();
    let socket = dir.path().join("ev.sock");
    let start = Instant::now();
    while !socket.exists() {
        assert!(start.elapsed() < Duration::from_secs(30), "no socket");
        std::thread::sleep(Duration::from_millis(20));
    }
    // the store is locked by the run: the query goes through its socket
    // (until the script's first event, the answer is empty)
    loop {
        let out = llmspell(dir.path())
            .args([
                "events",
                "query",
                "--store",
                "sled:ev",
                "--pattern",
                "job.*",
                "--json",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        if String::from_utf8_lossy(&out.stdout).lines().count() >= 1 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no event: {out:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // follow until the run's last event
    let mut follow = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args([
            "events",
            "tail",
            "--store",
            "sled:ev",
            "-n",
            "1",
            "--follow",
            "--pattern",
            "job.*",
            "--json",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(follow.stdout.take().unwrap()).lines();
    let mut last_step = 0;
    let mut done = false;
    for line in lines.by_ref() {
        let event: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if event["event_type"] == "job.done" {
            done = true;
            break;
        }
        let i = event["data"]["i"].as_u64().unwrap();
        assert!(
            i > last_step,
            "out of order or repeated: {i} after {last_step}"
        );
        last_step = i;
    }
    assert!(done && last_step == 80, "followed up to step {last_step}");
    follow.kill().unwrap();
    follow.wait().unwrap();
    assert!(run.wait().unwrap().success());
    // the run removed its socket; the store now opens directly
    assert!(!socket.exists());
    llmspell(dir.path())
        .args([
            "events",
            "tail",
            "--store",
            "sled:ev",
            "-n",
            "1",
            "--pattern",
            "job.*",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("job.done").and(predicate::str::contains("SEQ")));
}
