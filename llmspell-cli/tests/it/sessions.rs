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
