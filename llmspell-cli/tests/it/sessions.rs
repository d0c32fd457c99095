//! Every `llmspell run` is a session: recorded, listed, shown, deleted.

use serde_json::Value;

use crate::{llmspell, write};

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn runs_are_recorded_as_sessions_with_their_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "ok.lua", "print('fine')");
    write(d, "bad.lua", "error('broken on purpose')");
    let out = llmspell(&["sessions", "list"], d);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("no sessions recorded"));

    assert!(llmspell(&["run", "--store", "memory", "ok.lua"], d)
        .status
        .success());
    let out = llmspell(&["run", "--store", "memory", "bad.lua"], d);
    assert_eq!(out.status.code(), Some(1));

    let list = json(&llmspell(&["sessions", "list", "--json"], d));
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["script"], "ok.lua");
    assert_eq!(list[0]["status"], "completed");
    assert_eq!(list[0]["exit_code"], 0);
    assert_eq!(list[1]["script"], "bad.lua");
    assert_eq!(list[1]["status"], "failed");
    assert_eq!(list[1]["exit_code"], 1);
    assert!(list[1]["error"]
        .as_str()
        .unwrap()
        .contains("broken on purpose"));
    for s in list {
        assert!(s["ended_at"].is_string());
        // A UUID v7: the version nibble is 7.
        assert_eq!(&s["id"].as_str().unwrap()[14..15], "7");
    }

    let human = llmspell(&["sessions", "list"], d);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.starts_with("ID "), "{text}");
    assert!(
        text.contains("completed") && text.contains("failed"),
        "{text}"
    );

    let shown = json(&llmspell(&["sessions", "show", "latest", "--json"], d));
    assert_eq!(shown["session"]["id"], list[1]["id"]);
    assert_eq!(shown["checkpoints"], Value::Array(vec![]));
    let first = list[0]["id"].as_str().unwrap();
    let text = llmspell(&["sessions", "show", first], d);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains(&format!("session     {first}")), "{text}");
    assert!(text.contains("status      completed"), "{text}");

    let out = llmspell(&["sessions", "delete", first], d);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        json(&llmspell(&["sessions", "list", "--json"], d))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let again = llmspell(&["sessions", "delete", first], d);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("no session"));
}

#[test]
fn bad_session_ids_say_what_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for args in [
        &["sessions", "show", "nope"][..],
        &["sessions", "delete", "latest"][..],
    ] {
        let out = llmspell(args, d);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("invalid session id"), "{err}");
    }
    write(d, "ok.lua", "");
    let out = llmspell(
        &["run", "--store", "memory", "--resume", "latest", "ok.lua"],
        d,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no session `latest`"));
}

#[test]
fn state_persists_across_two_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "visit.lua",
        r#"local n = (State.get("visits") or 0) + 1
           State.set("visits", n)
           State.set("mine", n, "script")
           print("visit " .. n .. " v" .. State.version("visits"))"#,
    );
    for n in 1..=2 {
        let out = llmspell(&["run", "--store", "memory", "visit.lua"], d);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("visit {n} v{n}\n")
        );
    }
    // Another script sees the global value, not the first one's script scope.
    write(
        d,
        "other.lua",
        r#"print(State.get("visits"), State.get("mine", "script"), State.get("mine", "script:visit"))"#,
    );
    let out = llmspell(&["run", "--store", "memory", "other.lua"], d);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "2\tnil\t2\n",
        "{out:?}"
    );
}

#[test]
fn session_end_fires_on_a_failing_script_and_on_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "fail.lua",
        r#"Hook.register("SessionEnd", function(ctx)
             print("SessionEnd " .. ctx.data.status .. " " .. ctx.data.exit_code .. " " .. ctx.data.session_id)
           end)
           print("session " .. Session.id())
           error("deliberate failure")"#,
    );
    let out = llmspell(&["run", "--store", "memory", "fail.lua"], d);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let id = text
        .lines()
        .find_map(|l| l.strip_prefix("session "))
        .unwrap()
        .to_owned();
    assert!(
        text.contains(&format!("SessionEnd failed 1 {id}")),
        "{text}"
    );

    write(
        d,
        "spin.lua",
        r#"Hook.register("SessionEnd", function(ctx) print("SessionEnd " .. ctx.data.status) end)
           while true do end"#,
    );
    let out = llmspell(
        &[
            "run",
            "--store",
            "memory",
            "--timeout-secs",
            "1",
            "spin.lua",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(124), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("SessionEnd limit_exceeded"), "{text}");
    let list = json(&llmspell(&["sessions", "list", "--json"], d));
    let statuses: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["failed", "limit_exceeded"]);
}

#[test]
fn checkpoint_then_sigkill_then_resume_restores_exactly_the_checkpoint() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "job.lua",
        r#"print("session " .. Session.id())
           local step = State.get("step", "session") or 0
           while step < 3 do
             step = step + 1
             State.set("step", step, "session")
             State.set("done_" .. step, {at = step}, "session")
             Session.checkpoint("step " .. step)
           end
           -- Written after the last checkpoint: a resume must drop these.
           State.set("uncommitted", "lost", "session")
           State.set("step", 99, "session")
           print("waiting")
           while true do end"#,
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        // The time limit only bounds the test if something goes wrong: the
        // run is killed long before it.
        .args([
            "run",
            "--store",
            "memory",
            "--timeout-secs",
            "120",
            "job.lua",
        ])
        .current_dir(d)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let id = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("session ")
        .unwrap()
        .to_owned();
    assert_eq!(lines.next().unwrap().unwrap(), "waiting");
    // SIGKILL: no chance to end the session or flush anything.
    child.kill().unwrap();
    child.wait().unwrap();

    let shown = json(&llmspell(&["sessions", "show", &id, "--json"], d));
    assert_eq!(shown["session"]["status"], "running", "killed, never ended");
    assert_eq!(shown["checkpoints"].as_array().unwrap().len(), 3);

    write(
        d,
        "inspect.lua",
        r#"local out = {Session.id()}
           for _, k in ipairs(State.list("", "session")) do
             out[#out + 1] = k .. "=" .. JSON.encode(State.get(k, "session"))
           end
           print(table.concat(out, " "))"#,
    );
    for which in ["latest", id.as_str()] {
        let out = llmspell(
            &["run", "--store", "memory", "--resume", which, "inspect.lua"],
            d,
        );
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("{id} done_1={{\"at\":1}} done_2={{\"at\":2}} done_3={{\"at\":3}} step=3")
        );
    }
    let shown = json(&llmspell(&["sessions", "show", &id, "--json"], d));
    assert_eq!(shown["session"]["status"], "completed");
    assert_eq!(shown["session"]["runs"], 3);
}
