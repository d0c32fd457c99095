//! Black-box tests of the `llmspell` binary.

mod adversarial;
mod cli_surface;
mod command_hooks;
mod config;
mod docs;
mod examples;
mod metrics;
mod sessions;
mod telemetry;
mod workflows;

use std::path::Path;
use std::process::{Command, Output};

pub(crate) fn llmspell(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

pub(crate) fn write(dir: &Path, name: &str, body: &str) {
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
    // a script that cannot be read is refused: status 3
    assert_eq!(out.status.code(), Some(3));
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
    // as timeout(1)
    assert_eq!(out.status.code(), Some(124));
    assert!(String::from_utf8_lossy(&out.stderr).contains("time limit"));
}

#[test]
fn usage_errors_exit_2_and_name_the_valid_range() {
    // Issue 12, items 16, 18 and 20: a bad duration, a memory limit of 0
    // and an inverted sequence range are usage errors (exit 2), never a
    // panic (101) or a silently disabled limit.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ok.lua", "return 1");
    for (flag, value, needle) in [
        ("--timeout-secs", "0", "greater than 0 and at most 31536000"),
        (
            "--timeout-secs",
            "nan",
            "greater than 0 and at most 31536000",
        ),
        (
            "--timeout-secs",
            "1e300",
            "greater than 0 and at most 31536000",
        ),
        ("--memory-limit-mib", "0", "from 1 to 1048576"),
    ] {
        let out = llmspell(
            &["run", "--store", "memory", flag, value, "ok.lua"],
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{flag} {value}: {err}");
    }
    let out = llmspell(
        &[
            "events",
            "query",
            "--json",
            "--store",
            "memory",
            "--from-seq",
            "10",
            "--to-seq",
            "5",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from-seq 10 is above --to-seq 5"));
}

#[test]
fn a_script_with_a_shebang_line_or_a_bom_runs() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "shebang.lua",
        "#!/usr/bin/env -S llmspell run\nprint('ran')\nerror('line 3')\n",
    );
    let out = llmspell(&["run", "--store", "memory", "shebang.lua"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ran\n");
    // Line numbers are the file's.
    assert!(String::from_utf8_lossy(&out.stderr).contains("shebang.lua:3: line 3"));
    write(dir.path(), "bom.lua", "\u{feff}print('bom ok')");
    let out = llmspell(&["run", "--store", "memory", "bom.lua"], dir.path());
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "bom ok\n");
}

#[test]
fn replay_into_a_script_delivers_every_event_in_order_without_idle_waits() {
    // Issue 13: the replay used to wait 2 ms per event for callbacks; now
    // the whole replay is one engine call that runs callbacks as events
    // arrive and waits for them only when they fall behind (so none is
    // dropped from their queue).
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pub.lua",
        "for i = 1, 3000 do Event.publish('job.step', {i = i}) end",
    );
    let out = llmspell(&["run", "--store", "sled:db", "pub.lua"], dir.path());
    assert!(out.status.success(), "{out:?}");
    write(
        dir.path(),
        "check.lua",
        r#"local last, n = 0, 0
           Event.subscribe("job.*", function(e)
             assert(e.data.i == last + 1, "out of order: " .. e.data.i .. " after " .. last)
             last, n = e.data.i, n + 1
             if n == 3000 then print("all 3000 in order") end
           end)"#,
    );
    let out = llmspell(
        &[
            "events",
            "replay",
            "--store",
            "sled:db",
            // Without the run's own session events.
            "--pattern",
            "job.*",
            "--script",
            "check.lua",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("all 3000 in order"), "{text}");
    assert!(
        text.contains(r#"{"callback_errors":0,"replayed":3000}"#),
        "{text}"
    );
}

#[test]
fn hooks_points_lists_every_point() {
    let dir = tempfile::tempdir().unwrap();
    let out = llmspell(&["hooks", "points"], dir.path());
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| {
            l.splitn(4, "  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 44, "{text}");
    assert!(text.starts_with("CATEGORY"), "{text}");
    let row = |point: &str| {
        text.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(point))
            .unwrap_or_else(|| panic!("no row for {point}: {text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        row("BeforeToolExecution"),
        "tool BeforeToolExecution yes the tool runtime (llmspell-tools)"
    );
    assert!(row("CpuUsageHigh")
        .starts_with("performance CpuUsageHigh no not fired in this build (the resource monitor"));
    assert!(row("SystemStartup").starts_with("system SystemStartup yes the script context"));
    assert!(text
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .starts_with("custom custom:<name> yes scripts"));
}

#[test]
fn events_published_by_a_script_can_be_queried_tailed_and_replayed() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "emit.lua",
        r#"for i = 1, 5 do
             Event.publish("job.step", {i = i}, {correlation_id = "67e55044-10b1-426f-9247-bb680e5fe0c8"})
           end
           Event.publish("job.done", {ok = true})"#,
    );
    let out = llmspell(&["run", "--store", "sled:db", "emit.lua"], dir.path());
    assert!(out.status.success(), "{out:?}");

    let lines = |out: &Output| -> Vec<serde_json::Value> {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    // The run is a session: its start and end are events too.
    let out = llmspell(
        &["events", "query", "--json", "--store", "sled:db"],
        dir.path(),
    );
    assert!(out.status.success(), "{out:?}");
    let all = lines(&out);
    assert_eq!(all.len(), 8);
    assert_eq!(all[0]["event_type"], "session.started");
    assert_eq!(all[7]["event_type"], "session.ended");
    let out = llmspell(
        &[
            "events",
            "query",
            "--json",
            "--store",
            "sled:db",
            "--pattern",
            "job.*",
        ],
        dir.path(),
    );
    let all = lines(&out);
    assert_eq!(all.len(), 6);
    assert_eq!(all[0]["event_type"], "job.step");
    assert_eq!(all[0]["language"], "lua");

    let out = llmspell(
        &[
            "events",
            "query",
            "--json",
            "--store",
            "sled:db",
            "--pattern",
            "job.s*",
            "--limit",
            "2",
        ],
        dir.path(),
    );
    let some = lines(&out);
    assert_eq!(some.len(), 2);
    assert_eq!(some[1]["data"]["i"], 2);

    let out = llmspell(
        &[
            "events",
            "query",
            "--json",
            "--store",
            "sled:db",
            "--correlation-id",
            "67e55044-10b1-426f-9247-bb680e5fe0c8",
            "--from-seq",
            "4",
        ],
        dir.path(),
    );
    // session.started is sequence 1, so job.step i is sequence i + 1.
    assert_eq!(lines(&out).len(), 3);

    let out = llmspell(
        &[
            "events",
            "tail",
            "--json",
            "--store",
            "sled:db",
            "--pattern",
            "job.*",
            "-n",
            "2",
        ],
        dir.path(),
    );
    let last = lines(&out);
    assert_eq!(last.len(), 2);
    assert_eq!(last[1]["event_type"], "job.done");

    let out = llmspell(
        &[
            "events",
            "query",
            "--json",
            "--store",
            "sled:db",
            "--since",
            "2000-01-01T00:00:00Z",
            "--until",
            "2001-01-01T00:00:00Z",
        ],
        dir.path(),
    );
    assert!(out.status.success());
    assert!(lines(&out).is_empty());

    // Replay into a script's callback subscription.
    write(
        dir.path(),
        "count.lua",
        r#"SUM = 0
           Event.subscribe("job.step", function(e)
             SUM = SUM + e.data.i
             if e.data.i == 5 then print("sum=" .. SUM) end
           end)"#,
    );
    let out = llmspell(
        &[
            "events",
            "replay",
            "--store",
            "sled:db",
            "--pattern",
            "job.*",
            "--script",
            "count.lua",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("sum=15"), "{text}");
    assert!(text.contains("\"replayed\":6"), "{text}");

    let out = llmspell(
        &["events", "tail", "--json", "--since", "yesterday"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));
}

#[test]
fn quickstart_example_shows_modified_and_cancelled_calls() {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/lua/quickstart.lua");
    let out = llmspell(
        &["run", "--store", "memory", script.to_str().unwrap()],
        dir.path(),
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 + 2 = 4"), "{text}");
    assert!(text.contains("the answer = 42"), "{text}");
    assert!(text.contains("cancelled by hook `zero-guard`"), "{text}");
    assert!(
        text.contains("tool.execution.failed (calculator)"),
        "{text}"
    );
}

#[test]
fn run_executes_a_javascript_module_with_arguments() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "lib.js",
        "export const greet = (n) => `hello ${n}`;",
    );
    write(
        dir.path(),
        "ok.js",
        "import { greet } from './lib.js';\n\
         const r = await Tool.invoke('calculator', {expression: '6 * 7'});\n\
         console.log(greet(scriptArgs[1]), r.result);",
    );
    let out = llmspell(
        &["run", "--store", "memory", "ok.js", "--", "ada"],
        dir.path(),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello ada 42\n");
}

#[test]
fn a_javascript_error_prints_its_stack_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bad.js",
        "function deep() { throw new TypeError('went wrong') }\ndeep();\n",
    );
    let out = llmspell(&["run", "--store", "memory", "bad.js"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TypeError: went wrong"), "{err}");
    assert!(err.contains("at deep"), "{err}");
    // a rejected top-level promise too
    write(
        dir.path(),
        "reject.js",
        "await Tool.invoke('no_such_tool', {});\n",
    );
    let out = llmspell(&["run", "--store", "memory", "reject.js"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tool named `no_such_tool`"));
    // an unknown extension is a usage error
    write(dir.path(), "x.py", "");
    let out = llmspell(&["run", "--store", "memory", "x.py"], dir.path());
    // usage errors exit 2
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither a Lua script"));
}

#[test]
fn lua_and_javascript_scripts_share_one_context() {
    let dir = tempfile::tempdir().unwrap();
    // The JavaScript script registers a hook and tells Lua; Lua calls a tool
    // (the JS hook rewrites it), then publishes the result for JavaScript.
    write(
        dir.path(),
        "hook.js",
        "Hook.register('BeforeToolExecution', (ctx) => ({type: 'modified', data: {tool_name: ctx.data.tool_name, parameters: {expression: '20 + 22'}}}));\n\
         const done = Event.subscribe('lua.done');\n\
         // both scripts start at once: say ready until Lua (subscribed by then) answers\n\
         let ev = null;\n\
         for (let i = 0; i < 400 && !ev; i++) { await Event.publish('js.ready', {}); ev = await Event.receive(done, 50); }\n\
         if (!ev || ev.data.result !== 42 || ev.language !== 'lua') throw new Error('bad ' + JSON.stringify(ev));\n\
         console.log('js saw', ev.data.result);",
    );
    write(
        dir.path(),
        "call.lua",
        "local ready = Event.subscribe('js.ready')\n\
         assert(Event.receive(ready, 10000), 'the JavaScript hook is registered')\n\
         local r = Tool.invoke('calculator', {expression = '1 + 1'})\n\
         Event.publish('lua.done', {result = r.result})",
    );
    let out = llmspell(
        &["run", "--store", "memory", "hook.js", "call.lua"],
        dir.path(),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "js saw 42\n");
}

#[test]
fn each_failing_script_is_reported_by_name() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.lua", "error('lua broke')");
    write(dir.path(), "b.js", "throw new Error('js broke')");
    write(dir.path(), "c.js", "export default 1");
    let out = llmspell(
        &["run", "--store", "memory", "a.lua", "b.js", "c.js"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 scripts failed"), "{err}");
    assert!(
        err.contains("`a.lua` failed") && err.contains("lua broke"),
        "{err}"
    );
    assert!(
        err.contains("`b.js` failed") && err.contains("js broke"),
        "{err}"
    );
}
