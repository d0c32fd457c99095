//! Reopening a sled database in the process that just closed it, and
//! opening one directory twice in one process.

use llmspell_storage::{LockHolder, SledBackend, StorageBackend, StorageError};

/// sled's background threads used to hold the file lock for a moment after
/// the last handle dropped, so an immediate reopen failed with `Locked`
/// (about once in a hundred rounds here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_right_after_the_last_handle_drops_never_sees_a_lock() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0u32..150 {
        let db = SledBackend::open(dir.path()).unwrap_or_else(|e| panic!("round {round}: {e}"));
        if round > 0 {
            assert_eq!(
                db.get(b"k").await.unwrap(),
                Some((round - 1).to_be_bytes().to_vec())
            );
        }
        db.set(b"k", &round.to_be_bytes()).await.unwrap();
        db.flush().await.unwrap();
        drop(db);
    }
}

#[tokio::test]
async fn a_second_open_in_one_process_shares_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let a = SledBackend::open(dir.path()).unwrap();
    // Another spelling of the same directory.
    let b = SledBackend::open(dir.path().join(".")).unwrap();
    a.set(b"k", b"v").await.unwrap();
    assert_eq!(b.get(b"k").await.unwrap(), Some(b"v".to_vec()));
    drop(a);
    b.set(b"k2", b"v2").await.unwrap();
    drop(b);
    let c = SledBackend::open(dir.path()).unwrap();
    assert_eq!(c.get(b"k2").await.unwrap(), Some(b"v2".to_vec()));
}

#[test]
fn a_lock_held_by_this_process_does_not_blame_another_one() {
    let err = StorageError::Locked {
        path: "/data/events".into(),
        holder: LockHolder::ThisProcess,
    };
    let msg = err.to_string();
    assert!(msg.contains("this process"), "{msg}");
    assert!(!msg.contains("another process"), "{msg}");
    let err = StorageError::Locked {
        path: "/data/events".into(),
        holder: LockHolder::OtherProcess,
    };
    assert!(err.to_string().contains("locked by another process"));
}
