//! `llmspell` processes talking over a real `nats-server` (skipped with a
//! notice when it is not installed, unless `LLMSPELL_REQUIRE_NATS=1`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use llmspell_events::nats::NatsServer;

const KEY: &str = "0123456789abcdef0123456789abcdef";

fn llmspell(args: &[&str], dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_llmspell"));
    c.args(args)
        .current_dir(dir)
        .env("LLMSPELL_HOOK_KEY", KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn run(args: &[&str], dir: &Path) -> Output {
    llmspell(args, dir).output().unwrap()
}

/// Kills the child (by pid) when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The child's stdout lines, read on a thread.
fn lines(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads lines until one contains `needle`.
fn wait_line(rx: &Receiver<String>, needle: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no line with `{needle}` in {seen:?}"));
        let done = line.contains(needle);
        seen.push(line);
        if done {
            return seen;
        }
    }
}

fn write(dir: &Path, name: &str, body: &str) {
    std::fs::write(dir.join(name), body).unwrap();
}

#[test]
fn two_runs_exchange_events_and_tail_follows_from_a_third_process() {
    let Some(server) = NatsServer::start().unwrap() else {
        return;
    };
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "listen.lua",
        r#"
local s = Event.subscribe("demo.*")
print("ready")
local n = 0
while true do
    local e = Event.receive(s, 20000)
    assert(e, "no event within 20 s")
    if e.event_type == "demo.done" then break end
    n = n + 1
    Event.publish("reply.got", {n = e.data.n, origin = e.metadata.origin})
end
print("received " .. n)
"#,
    );
    write(
        dir.path(),
        "send.lua",
        r#"
for n = 1, 3 do Event.publish("demo.item", {n = n}) end
Event.publish("local.only", {})
Event.publish("demo.done", {})
"#,
    );
    let mut tail = Proc(
        llmspell(
            &[
                "events",
                "tail",
                "--from",
                &url,
                "--pattern",
                "reply.*",
                "--count",
                "3",
                "--json",
            ],
            dir.path(),
        )
        .spawn()
        .unwrap(),
    );
    let mut listener = Proc(
        llmspell(
            &[
                "run",
                "--store",
                "memory",
                "--state-store",
                "memory",
                "--workflow-store",
                "memory",
                "listen.lua",
                "--nats",
                &url,
                "--nats-import",
                "demo.*",
                "--nats-export",
                "reply.*",
            ],
            dir.path(),
        )
        .spawn()
        .unwrap(),
    );
    let listener_out = lines(&mut listener.0);
    wait_line(&listener_out, "ready");
    // The tail process subscribes right after it starts.
    std::thread::sleep(Duration::from_millis(800));
    let out = run(
        &[
            "run",
            "--store",
            "memory",
            "--state-store",
            "memory",
            "--workflow-store",
            "memory",
            "send.lua",
            "--nats",
            &url,
            "--nats-node-id",
            "sender",
            "--nats-export",
            "demo.*",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{out:?}");
    let seen = wait_line(&listener_out, "received");
    assert_eq!(seen.last().unwrap(), "received 3");
    assert!(listener.0.wait().unwrap().success());
    let tail_out = tail.0.wait_with_output_ref();
    let events: Vec<serde_json::Value> = tail_out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 3, "{tail_out}");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["event_type"], "reply.got");
        assert_eq!(e["data"]["n"], i + 1);
        assert_eq!(e["data"]["origin"], "sender", "origin recorded: {e}");
    }
}

trait WaitOutput {
    fn wait_with_output_ref(&mut self) -> String;
}

impl WaitOutput for Child {
    fn wait_with_output_ref(&mut self) -> String {
        let mut text = String::new();
        if let Some(mut s) = self.stdout.take() {
            use std::io::Read;
            let _ = s.read_to_string(&mut text);
        }
        let _ = self.wait();
        text
    }
}

#[test]
fn jetstream_runs_are_queried_and_replayed_from_another_process() {
    let Some(server) = NatsServer::start().unwrap() else {
        return;
    };
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pub.lua",
        r#"for n = 1, 5 do Event.publish("job.step", {n = n}) end"#,
    );
    let out = run(
        &[
            "run",
            "--store",
            "memory",
            "--state-store",
            "memory",
            "--workflow-store",
            "memory",
            "pub.lua",
            "--nats",
            &url,
            "--nats-jetstream",
            "--nats-export",
            "job.*",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{out:?}");
    let query = |extra: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec!["events", "query", "--json", "--from", url.as_str()];
        args.extend_from_slice(extra);
        let out = run(&args, dir.path());
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let all = query(&[]);
    assert_eq!(all.len(), 5);
    assert_eq!(query(&["--from-seq", "4"]).len(), 2);
    assert_eq!(query(&["--limit", "2"]).len(), 2);
    let since = all[3]["timestamp"].as_str().unwrap().to_owned();
    assert_eq!(query(&["--since", &since]).len(), 2);
    // Replay into a script's subscriptions.
    write(
        dir.path(),
        "count.lua",
        r#"local n = 0
Event.subscribe("job.*", function(e) n = n + 1; if n == 5 then print("all five") end end)"#,
    );
    let out = run(
        &["events", "replay", "--from", &url, "--script", "count.lua"],
        dir.path(),
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("all five") && text.contains("\"replayed\":5"),
        "{text}"
    );
}

#[test]
fn hooks_served_by_another_process_decide_tool_calls() {
    let Some(server) = NatsServer::start().unwrap() else {
        return;
    };
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "hooks.lua",
        r#"
Hook.register("BeforeToolExecution", function(ctx)
    if ctx.data.tool_name == "uuid_generator" then
        return {type = "cancel", reason = "remote says no"}
    end
end)
"#,
    );
    write(
        dir.path(),
        "tool.lua",
        r#"
local ok, err = pcall(Tool.invoke, "uuid_generator", {})
print(ok, tostring(err))
"#,
    );
    let mut served = Proc(
        llmspell(
            &[
                "serve-hooks",
                "hooks.lua",
                "--nats",
                &url,
                "--points",
                "BeforeToolExecution",
            ],
            dir.path(),
        )
        .spawn()
        .unwrap(),
    );
    let served_out = lines(&mut served.0);
    wait_line(&served_out, "serving");
    let caller = |fail_closed: bool| {
        let mut args = vec![
            "run",
            "--store",
            "memory",
            "--state-store",
            "memory",
            "--workflow-store",
            "memory",
            "tool.lua",
            "--nats",
            url.as_str(),
            "--nats-remote-hooks",
            "BeforeToolExecution",
            "--nats-remote-timeout-ms",
            "1000",
        ];
        if fail_closed {
            args.push("--nats-remote-fail-closed");
        }
        let out = run(&args, dir.path());
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = caller(false);
    assert!(
        text.starts_with("false") && text.contains("remote says no"),
        "{text}"
    );
    // The server gone: fail-open goes on, fail-closed refuses.
    drop(served);
    let text = caller(false);
    assert!(text.starts_with("true"), "fail-open: {text}");
    let text = caller(true);
    assert!(text.starts_with("false"), "fail-closed: {text}");
}

#[test]
fn nats_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "x.lua", "");
    let out = run(
        &[
            "run",
            "--store",
            "memory",
            "--state-store",
            "memory",
            "--workflow-store",
            "memory",
            "x.lua",
            "--nats-remote-hooks",
            "BeforeToolExecution",
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs --nats"),
        "{out:?}"
    );
    let out = run(
        &[
            "run",
            "--store",
            "memory",
            "--state-store",
            "memory",
            "--workflow-store",
            "memory",
            "x.lua",
            "--nats",
            "nats://127.0.0.1:1",
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nats://127.0.0.1:1"),
        "{out:?}"
    );
}
