//! A damaged sled store is a clean error naming its path: never a panic
//! (exit status 101) or a raw panic message.

use std::path::{Path, PathBuf};

use llmspell_storage::{SledBackend, StorageBackend, StorageError};

use crate::write;

/// Writes a flushed sled database of a few MB at `work/pristine` and
/// returns its files.
fn pristine(work: &Path) -> Vec<(PathBuf, Vec<u8>)> {
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
    std::fs::read_dir(&pristine)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.file_name().unwrap().into(), std::fs::read(&p).unwrap()))
        .collect()
}

/// Copies `files` into `work/<name>`, passing each file's bytes through
/// `damage` first.
fn copy_damaged(
    work: &Path,
    name: &str,
    files: &[(PathBuf, Vec<u8>)],
    damage: impl Fn(&Path, &[u8]) -> Vec<u8>,
) -> PathBuf {
    let copy = work.join(name);
    std::fs::create_dir_all(&copy).unwrap();
    for (file, bytes) in files {
        std::fs::write(copy.join(file), damage(file, bytes)).unwrap();
    }
    copy
}

/// A store whose `conf` file has a line sled cannot parse: sled reports
/// corruption deterministically.
fn damaged_conf(work: &Path, files: &[(PathBuf, Vec<u8>)]) -> PathBuf {
    let copy = copy_damaged(work, "damaged-conf", files, |file, bytes| {
        if file.as_os_str() == "conf" {
            b"segment_size 524288\nuse_compression false\n\0\0\0\0".to_vec()
        } else {
            bytes.to_vec()
        }
    });
    assert!(
        matches!(SledBackend::open(&copy), Err(StorageError::Corrupt { .. })),
        "an unparsable conf file is reported as corruption"
    );
    copy
}

/// Looks for a truncation of the `db` file that sled cannot recover from
/// (it panics inside). Whether one of the 39 cuts hits such a spot depends
/// on where sled's flusher wrote its segments, so this may find none.
fn truncated_db(work: &Path, files: &[(PathBuf, Vec<u8>)]) -> Option<PathBuf> {
    let len = files.iter().find(|(n, _)| n.as_os_str() == "db")?.1.len();
    (1..40).find_map(|k| {
        let copy = copy_damaged(work, &format!("damaged-{k}"), files, |file, bytes| {
            if file.as_os_str() == "db" {
                bytes[..len * k / 40].to_vec()
            } else {
                bytes.to_vec()
            }
        });
        match SledBackend::open(&copy) {
            Err(StorageError::Corrupt { .. }) => Some(copy),
            _ => None,
        }
    })
}

fn assert_reported(work: &Path, damaged: &Path) {
    let store = format!("sled:{}", damaged.display());
    for args in [
        vec!["events", "query", "--store", store.as_str()],
        vec!["events", "tail", "--store", store.as_str()],
        vec!["run", "--store", store.as_str(), "ok.lua"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_llmspell"))
            .args(&args)
            .current_dir(work)
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

#[test]
fn events_commands_and_run_report_a_damaged_store_by_path() {
    let work = tempfile::tempdir().unwrap();
    write(work.path(), "ok.lua", "return 1");
    let files = pristine(work.path());
    assert_reported(work.path(), &damaged_conf(work.path(), &files));
    // The panic-while-recovering path, when a cut finds it (most runs do).
    match truncated_db(work.path(), &files) {
        Some(damaged) => assert_reported(work.path(), &damaged),
        None => eprintln!("no truncation made sled fail this run; conf damage checked only"),
    }
}
