//! `Event.publish` confirmed means durable: killing `llmspell run` loses no
//! confirmed event, and a restart never reuses a sequence.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_events::{EventQuery, EventStore};
use llmspell_storage::{SledBackend, StorageBackend};

use crate::{read_until, signal, spawn, write};

/// Publishes forever, printing `<sequence> <i>` after each confirmed
/// publish (Lua's `print` flushes stdout).
const PUBLISHER: &str = r#"
local run = arg[1]
local i = 0
while true do
  i = i + 1
  local r = Event.publish("crash.test", {run = run, i = i})
  print(r.sequence .. " " .. i)
end
"#;

/// Parses the confirmation lines: sequence -> i.
fn confirmed(lines: &[String]) -> BTreeMap<u64, u64> {
    lines
        .iter()
        .filter_map(|l| {
            let (s, i) = l.split_once(' ')?;
            Some((s.parse().ok()?, i.parse().ok()?))
        })
        .collect()
}

/// Every confirmed (sequence, i) of `run` is stored; returns the stored
/// events of every run as (sequence -> (run, i)).
async fn check_stored(
    dir: &std::path::Path,
    run: &str,
    confirmed: &BTreeMap<u64, u64>,
) -> BTreeMap<u64, (String, u64)> {
    let backend: Arc<dyn StorageBackend> = Arc::new(SledBackend::open(dir.join("db")).unwrap());
    let store = EventStore::open(backend).await.unwrap();
    let stored: BTreeMap<u64, (String, u64)> = store
        .query(&EventQuery::all())
        .await
        .unwrap()
        .into_iter()
        // The run's session publishes its own lifecycle events.
        .filter(|e| e.event_type == "crash.test")
        .map(|e| {
            let run = e.data["run"].as_str().unwrap().to_owned();
            (e.sequence, (run, e.data["i"].as_u64().unwrap()))
        })
        .collect();
    for (seq, i) in confirmed {
        assert_eq!(
            stored.get(seq),
            Some(&(run.to_owned(), *i)),
            "confirmed event {i} of run {run} (sequence {seq}) is not stored"
        );
    }
    stored
}

fn kill_after(dir: &std::path::Path, run: &str, at_least: usize) -> BTreeMap<u64, u64> {
    let mut child = spawn(
        &["run", "--store", "sled:db", "publish.lua", "--", run],
        dir,
    );
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut n = 0;
    let lines = read_until(&mut out, |_| {
        n += 1;
        n >= at_least
    });
    assert!(
        lines.len() >= at_least,
        "the publisher stopped early: {lines:?}"
    );
    // SIGKILL mid-publish.
    child.kill().unwrap();
    child.wait().unwrap();
    // Lines confirmed between the last read and the kill count too.
    let mut lines = lines;
    lines.extend(read_until(&mut out, |_| false));
    confirmed(&lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_confirmed_event_and_a_restart_reuses_no_sequence() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "publish.lua", PUBLISHER);

    let first = kill_after(dir.path(), "first", 300);
    let stored = check_stored(dir.path(), "first", &first).await;
    let last_first = *stored.keys().last().unwrap();

    // Restart, publish more, kill again.
    let second = kill_after(dir.path(), "second", 100);
    assert!(
        second.keys().all(|s| *s > last_first),
        "a restarted run handed out a sequence the store already had"
    );
    let stored = check_stored(dir.path(), "second", &second).await;
    // The first run's confirmed events are untouched.
    for (seq, i) in &first {
        assert_eq!(stored.get(seq), Some(&("first".to_owned(), *i)));
    }
}

#[test]
fn sigterm_and_sigint_stop_the_run_cleanly_with_the_signal_status() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "publish.lua", PUBLISHER);
    // A script that publishes, then waits (inside the engine) for an event
    // that never comes.
    write(
        dir.path(),
        "wait.lua",
        r#"Hook.register("SystemShutdown", function(ctx)
             print("shutdown " .. ctx.data.reason)
           end)
           Hook.register("SessionEnd", function(ctx)
             print("session " .. ctx.data.status .. " " .. tostring(ctx.data.exit_code))
           end)
           Event.publish("wait.started", {})
           print("waiting")
           local id = Event.subscribe("never.*")
           while true do Event.receive(id, 60000) end"#,
    );
    for (sig, code, script) in [
        ("TERM", 143, "publish.lua"),
        ("INT", 130, "publish.lua"),
        ("TERM", 143, "wait.lua"),
    ] {
        let mut child = spawn(
            &["run", "--store", "sled:db", script, "--", sig],
            dir.path(),
        );
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut n = 0;
        let mut lines = read_until(&mut out, |_| {
            n += 1;
            n >= 50 || script == "wait.lua"
        });
        let sent = Instant::now();
        signal(&child, sig);
        lines.extend(read_until(&mut out, |_| false));
        let output = child.wait_with_output().unwrap();
        assert!(
            sent.elapsed() < Duration::from_secs(4),
            "{script}: SIGTERM took {:?}",
            sent.elapsed()
        );
        assert_eq!(
            output.status.code(),
            Some(code),
            "{script} {sig}: {output:?}"
        );
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(
            err.contains(&format!("stopped by SIG{sig}")),
            "{script}: {err}"
        );
        if script == "wait.lua" {
            // The signal took the one shutdown path: the context fired
            // SystemShutdown while the script's hook could still run.
            assert!(
                lines.iter().any(|l| l == "shutdown interrupted"),
                "{lines:?}"
            );
            // The run's session ended as interrupted, with the signal's status.
            assert!(
                lines
                    .iter()
                    .any(|l| l == &format!("session interrupted {code}")),
                "{lines:?}"
            );
        }
        if script == "publish.lua" {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(check_stored(dir.path(), sig, &confirmed(&lines)));
        }
    }
}
