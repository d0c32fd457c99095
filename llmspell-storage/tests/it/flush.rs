//! Concurrent flushes of one sled database.

use std::sync::Arc;
use std::time::Duration;

use llmspell_storage::{SledBackend, StorageBackend};

/// sled 0.34's `flush_async` deadlocks when called concurrently (sled
/// issue #1308); this pattern hung here after about 50 rounds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_flushes_all_complete_and_cover_their_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(SledBackend::open(dir.path()).unwrap());
    let tasks: Vec<_> = (0..8u32)
        .map(|t| {
            let db = Arc::clone(&db);
            tokio::spawn(async move {
                for i in 0..150u32 {
                    db.set(&(t * 1000 + i).to_be_bytes(), b"value")
                        .await
                        .unwrap();
                    db.flush().await.unwrap();
                }
            })
        })
        .collect();
    let all = futures::future::join_all(tasks);
    let done = tokio::time::timeout(Duration::from_secs(60), all)
        .await
        .expect("every flush completes (no deadlock)");
    assert!(done.iter().all(Result::is_ok));
    drop(db);
    let reopened = SledBackend::open(dir.path()).unwrap();
    assert_eq!(reopened.len().await.unwrap(), 8 * 150);
}
