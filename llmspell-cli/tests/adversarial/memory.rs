//! `--store memory` keeps nothing: a long run's memory does not grow with
//! the events it publishes.

use std::io::BufReader;

use crate::{read_until, spawn, write};

/// The peak resident set of a live process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
#[cfg(target_os = "linux")]
fn a_memory_store_keeps_no_events() {
    let dir = tempfile::tempdir().unwrap();
    // 12,000 events of 10 KB: 120 MB of events if they were kept.
    write(
        dir.path(),
        "flood.lua",
        r#"local pad = string.rep("x", 10000)
           for i = 1, 12000 do Event.publish("flood", {i = i, pad = pad}) end
           print("published")
           local id = Event.subscribe("never.*")
           while true do Event.receive(id, 60000) end"#,
    );
    let mut child = spawn(&["run", "--store", "memory", "flood.lua"], dir.path());
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let lines = read_until(&mut out, |l| l == "published");
    assert_eq!(lines.last().map(String::as_str), Some("published"));
    let peak = peak_rss_kib(child.id());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        peak < 90 * 1024,
        "peak RSS {} MiB: the events were kept",
        peak / 1024
    );
}
