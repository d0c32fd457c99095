//! The adversarial suite: every hostile script under `tests/adversarial/lua/`
//! of the repository runs under `llmspell run` with the limits its header
//! asks for, and must end in time with the stated status and output (see
//! `tests/adversarial/README.md`). The scripts run in parallel.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a script's header asks for.
#[derive(Debug)]
struct Expect {
    args: Vec<String>,
    exit: i32,
    stderr: Vec<String>,
    stdout: Vec<String>,
    within: Duration,
}

fn expect(script: &Path) -> Expect {
    let text = std::fs::read_to_string(script).unwrap();
    let mut e = Expect {
        args: Vec::new(),
        exit: 0,
        stderr: Vec::new(),
        stdout: Vec::new(),
        within: Duration::from_secs(20),
    };
    for line in text.lines().take_while(|l| l.starts_with("--")) {
        let Some((key, value)) = line.trim_start_matches("--").trim().split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "args" => e.args = value.split_whitespace().map(str::to_owned).collect(),
            "exit" => e.exit = value.parse().unwrap(),
            "stderr" => e.stderr.push(value.to_owned()),
            "stdout" => e.stdout.push(value.to_owned()),
            "within" => e.within = Duration::from_secs(value.parse().unwrap()),
            _ => {}
        }
    }
    e
}

/// Runs one script; `Err` says what went wrong.
fn run(script: &Path) -> Result<(), String> {
    let e = expect(script);
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .arg("run")
        .args(["--store", "memory"])
        .args(&e.args)
        .arg(script)
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > e.within {
            child.kill().unwrap();
            let _ = child.wait();
            return Err(format!("did not end within {:?}", e.within));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut problems = Vec::new();
    if out.status.code() != Some(e.exit) {
        problems.push(format!("exit {:?}, expected {}", out.status.code(), e.exit));
    }
    for needle in &e.stderr {
        if !stderr.contains(needle.as_str()) {
            problems.push(format!("stderr lacks `{needle}`"));
        }
    }
    for needle in &e.stdout {
        if !stdout.contains(needle.as_str()) {
            problems.push(format!("stdout lacks `{needle}`"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} (after {:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            problems.join("; "),
            start.elapsed()
        ))
    }
}

fn scripts() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/adversarial/lua");
    let mut all: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "lua"))
        .collect();
    all.sort();
    all
}

#[test]
fn every_hostile_script_ends_as_its_header_says() {
    let scripts = scripts();
    assert!(scripts.len() >= 5, "the suite is there");
    let results: Vec<(PathBuf, Result<(), String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = scripts
            .iter()
            .map(|p| s.spawn(move || (p.clone(), run(p))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(|(p, r)| r.err().map(|e| format!("{}: {e}", p.display())))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_finaliser_that_never_returns_does_not_keep_the_process_or_lose_events() {
    // Issue 12, item 4: the script ends, its state is closed, and Lua runs
    // the finaliser (with the instruction hook off) forever. The process
    // must still exit at once, with the store flushed.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gc.lua"),
        r#"for i = 1, 3 do Event.publish("kept", {i = i}) end
           setmetatable({}, {__gc = function() while true do end end})
           print("done")"#,
    )
    .unwrap();
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(["run", "--store", "sled:db", "gc.lua"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("the process did not exit after its script ended");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "done\n");
    let out = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args([
            "events",
            "query",
            "--json",
            "--store",
            "sled:db",
            "--pattern",
            "kept",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        3,
        "{out:?}"
    );
}
