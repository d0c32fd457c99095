//! `--metrics-addr`: scraping the Prometheus endpoint of a running script.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::write;

fn scrape(addr: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn metrics_are_served_in_prometheus_text_format() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "t.lua",
        "Hook.register('BeforeToolExecution', function() end, {name = 'watcher'})\n\
         for i = 1, 3 do Tool.invoke('calculator', {expression = '1 + ' .. i}) end\n\
         pcall(Tool.invoke, 'calculator', {expression = '1 +'})\n\
         local sub = Event.subscribe('never.*')\n\
         Event.receive(sub, 20000)\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args([
            "run",
            "--store",
            "memory",
            "--state-store",
            "memory",
            "--metrics-addr",
            &addr,
            "t.lua",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut body = String::new();
    while started.elapsed() < Duration::from_secs(15) {
        if let Some(b) = scrape(&addr) {
            if b.contains("llmspell_hook_executions_total{hook=\"watcher\"") {
                body = b;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    let line = |prefix: &str| {
        body.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in\n{body}"))
            .to_owned()
    };
    assert!(
        line("llmspell_hook_executions_total{hook=\"watcher\"").ends_with(" 4"),
        "{body}"
    );
    assert!(
        line(
            "llmspell_hook_calls_total{point=\"AfterToolExecution\",component=\"tool:calculator\"}"
        )
        .ends_with(" 3"),
        "{body}"
    );
    assert!(
        line("llmspell_operation_errors_total{point=\"ToolError\",component=\"tool:calculator\"}")
            .ends_with(" 1"),
        "{body}"
    );
    line("llmspell_operation_duration_seconds_bucket{operation=\"ToolExecution\",component=\"tool:calculator\",le=\"+Inf\"} 4");
    line("llmspell_hook_breaker_state{hook=\"watcher\",point=\"BeforeToolExecution\"} 0");
    // The hook's latency is a histogram: every sampled execution is
    // counted, in cumulative buckets whose edges are powers of two of ns.
    let count: u64 =
        line("llmspell_hook_latency_seconds_count{hook=\"watcher\",point=\"BeforeToolExecution\"}")
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(count, 4, "{body}");
    assert!(
        line("llmspell_hook_latency_seconds_bucket{hook=\"watcher\",point=\"BeforeToolExecution\",le=\"+Inf\"}")
            .ends_with(&format!(" {count}")),
        "{body}"
    );
    line("llmspell_hook_latency_seconds_bucket{hook=\"watcher\",point=\"BeforeToolExecution\",le=\"0.000001024\"}");
    line("llmspell_hook_latency_seconds_sum{hook=\"watcher\",point=\"BeforeToolExecution\"}");
    line("llmspell_bus_published_total");
    line("llmspell_bus_dropped_total{reason=\"oldest\"}");
    line("llmspell_bus_queue_depth{pattern=\"never.*\"} 0");
}
