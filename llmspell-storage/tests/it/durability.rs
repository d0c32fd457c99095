//! Durability: what a killed process flushed is found on reopen.
//!
//! The parent test re-runs this test binary as a child process (selected by
//! an environment variable) that writes to a sled database and reports each
//! flush on stdout; the parent kills it with SIGKILL and reopens the
//! database.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use llmspell_storage::{SledBackend, StorageBackend, StorageError};

const ROLE: &str = "LLMSPELL_STORAGE_TEST_CHILD";
const DIR: &str = "LLMSPELL_STORAGE_TEST_DIR";
const BATCH: u32 = 100;
const FLUSHED_TARGET: u32 = 2_000;

fn key(i: u32) -> Vec<u8> {
    format!("k/{i:08}").into_bytes()
}

fn value(i: u32) -> Vec<u8> {
    format!("value-{i}-{}", "x".repeat((i % 97) as usize)).into_bytes()
}

fn spawn_child(role: &str, dir: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "durability::child_process_entry_point",
            "--nocapture",
        ])
        .args(["--test-threads", "1"])
        .env(ROLE, role)
        .env(DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Reads the child's stdout until a line satisfies `done`; returns that line.
/// (The test harness prints `test <name> ... ` before the child's first
/// line, so callers match on line endings.)
fn wait_for_line(child: &mut Child, mut done: impl FnMut(&str) -> bool) -> String {
    let stdout = child.stdout.as_mut().unwrap();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if done(&line) {
            return line;
        }
    }
    panic!("child exited before reporting progress");
}

/// The child side. Does nothing unless started by one of the tests below
/// with the role variable set.
#[test]
fn child_process_entry_point() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let dir = std::env::var(DIR).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = SledBackend::open(Path::new(&dir).join("db")).unwrap();
        match role.as_str() {
            "writer" => {
                let mut i = 0u32;
                loop {
                    for _ in 0..BATCH {
                        db.set(&key(i), &value(i)).await.unwrap();
                        i += 1;
                    }
                    // Past the target, keep writing without flushing so the
                    // kill lands in the middle of unflushed work.
                    if i <= FLUSHED_TARGET {
                        db.flush().await.unwrap();
                        println!("flushed {i}");
                    }
                }
            }
            "holder" => {
                println!("holding");
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
            other => panic!("unknown child role {other}"),
        }
    });
}

#[tokio::test]
async fn flushed_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_child("writer", dir.path());
    let target = format!("flushed {FLUSHED_TARGET}");
    let line = wait_for_line(&mut child, |l| l.ends_with(&target));
    assert!(line.ends_with(&target));
    // Let it write (unflushed) a little more, then SIGKILL (what
    // `Child::kill` sends on Unix).
    std::thread::sleep(std::time::Duration::from_millis(50));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());

    let db = SledBackend::open(dir.path().join("db")).unwrap();
    for i in 0..FLUSHED_TARGET {
        assert_eq!(
            db.get(&key(i)).await.unwrap(),
            Some(value(i)),
            "flushed key {i} lost"
        );
    }
    // Whatever else survived must be intact, never torn.
    for (k, v) in db.scan_prefix(b"k/", None).await.unwrap() {
        let i: u32 = std::str::from_utf8(&k[2..]).unwrap().parse().unwrap();
        assert_eq!(v, value(i));
    }
}

#[tokio::test]
async fn a_database_held_by_another_process_is_a_locked_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_child("holder", dir.path());
    wait_for_line(&mut child, |l| l.ends_with("holding"));
    let err = SledBackend::open(dir.path().join("db")).unwrap_err();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(matches!(err, StorageError::Locked { .. }), "{err:?}");
    assert!(
        err.to_string().contains("locked by another process"),
        "{err}"
    );

    // Once the holder is gone the database opens again.
    let db = SledBackend::open(dir.path().join("db")).unwrap();
    db.set(b"k", b"v").await.unwrap();
}
