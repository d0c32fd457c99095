//! A damaged sled store is a clean error naming its path: never a panic
//! (exit status 101) or a raw panic message.

use std::path::{Path, PathBuf};

use llmspell_storage::{SledBackend, StorageBackend, StorageError};

use crate::write;

/// Writes a sled database of a few MB at `dir`, then looks for a
/// truncation of its `db` file that sled cannot recover from (it panics
/// inside), returning a directory holding that damaged copy.
fn damaged_store(work: &Path) -> Option<PathBuf> {
    let pristine = work.join("pristine");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = SledBackend::open(&pristine).unwrap();
        for i in 0u32..6_000 {
            db.set(&i.to_be_bytes(), &vec![b'e'; 600 + (i % 400) as usize])
                .await
                .unwrap();
        }
        db.flush().await.unwrap();
    });
    let files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&pristine)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.file_name().unwrap().into(), std::fs::read(&p).unwrap()))
        .collect();
    let len = files.iter().find(|(n, _)| n.as_os_str() == "db")?.1.len();
    for k in 1..40 {
        let copy = work.join(format!("damaged-{k}"));
        std::fs::create_dir_all(&copy).unwrap();
        for (name, bytes) in &files {
            let bytes = if name.as_os_str() == "db" {
                &bytes[..len * k / 40]
            } else {
                &bytes[..]
            };
            std::fs::write(copy.join(name), bytes).unwrap();
        }
        match SledBackend::open(&copy) {
            Err(StorageError::Corrupt { .. }) => return Some(copy),
            Ok(db) => drop(db),
            Err(_) => {}
        }
    }
    None
}

#[test]
fn events_commands_and_run_report_a_damaged_store_by_path() {
    let work = tempfile::tempdir().unwrap();
    let damaged = damaged_store(work.path())
        .expect("one of 39 truncations makes sled panic while recovering");
    let store = format!("sled:{}", damaged.display());
    write(work.path(), "ok.lua", "return 1");
    for args in [
        vec!["events", "query", "--store", store.as_str()],
        vec!["events", "tail", "--store", store.as_str()],
        vec!["run", "--store", store.as_str(), "ok.lua"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_llmspell"))
            .args(&args)
            .current_dir(work.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("is damaged"), "{args:?}: {err}");
        assert!(err.contains(&damaged.display().to_string()), "{err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "one clean line: {err}");
    }
}
