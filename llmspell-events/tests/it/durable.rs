//! `Durability::Flushed`: every acknowledged event was flushed, and
//! concurrent publishes share flushes (group commit).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use llmspell_events::{Durability, EventBus, EventError, EventStore};
use llmspell_storage::{
    Batch, CasOutcome, Entry, KeyRange, MemoryBackend, Result, StorageBackend, StorageError,
};
use parking_lot::Mutex;

use crate::ev;

/// A memory backend that knows which keys a completed flush covered: the
/// keys written before the flush started. Flushes take 2 ms.
#[derive(Debug, Default)]
struct FlushRecorder {
    inner: MemoryBackend,
    dirty: Mutex<HashSet<Vec<u8>>>,
    durable: Mutex<HashSet<Vec<u8>>>,
    flushes: AtomicU64,
    fail_next_flush: AtomicBool,
}

impl FlushRecorder {
    fn is_durable(&self, key: &[u8]) -> bool {
        self.durable.lock().contains(key)
    }
}

#[async_trait]
impl StorageBackend for FlushRecorder {
    fn kind(&self) -> &'static str {
        "flush-recorder"
    }
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.get(key).await
    }
    async fn set(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.inner.set(key, value).await?;
        self.dirty.lock().insert(key.to_vec());
        Ok(())
    }
    async fn delete(&self, key: &[u8]) -> Result<bool> {
        self.inner.delete(key).await
    }
    async fn exists(&self, key: &[u8]) -> Result<bool> {
        self.inner.exists(key).await
    }
    async fn keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.inner.keys(prefix).await
    }
    async fn scan_range(&self, range: KeyRange, limit: Option<usize>) -> Result<Vec<Entry>> {
        self.inner.scan_range(range, limit).await
    }
    async fn compare_and_swap(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<CasOutcome> {
        let outcome = self.inner.compare_and_swap(key, expected, new).await?;
        if outcome == CasOutcome::Swapped {
            self.dirty.lock().insert(key.to_vec());
        }
        Ok(outcome)
    }
    async fn apply_batch(&self, batch: Batch) -> Result<()> {
        self.inner.apply_batch(batch).await
    }
    async fn clear(&self) -> Result<()> {
        self.inner.clear().await
    }
    async fn flush(&self) -> Result<()> {
        let covered: Vec<_> = self.dirty.lock().drain().collect();
        tokio::time::sleep(Duration::from_millis(2)).await;
        self.flushes.fetch_add(1, Ordering::SeqCst);
        if self.fail_next_flush.swap(false, Ordering::SeqCst) {
            self.dirty.lock().extend(covered);
            return Err(StorageError::InvalidConfig {
                input: "disk".into(),
                reason: "the disk is gone".into(),
            });
        }
        self.durable.lock().extend(covered);
        Ok(())
    }
    async fn len(&self) -> Result<usize> {
        self.inner.len().await
    }
}

fn record_key(seq: u64) -> Vec<u8> {
    let mut k = b"ev/s/".to_vec();
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_event_was_flushed_and_publishers_share_flushes() {
    const TASKS: u64 = 16;
    const EACH: u64 = 20;
    let backend = Arc::new(FlushRecorder::default());
    let store = EventStore::open_with(backend.clone(), Durability::Flushed)
        .await
        .unwrap();
    let bus = EventBus::builder().store(store.clone()).build();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let (bus, backend) = (bus.clone(), Arc::clone(&backend));
            tokio::spawn(async move {
                for i in 0..EACH {
                    let r = bus.publish(ev("durable", t * 1000 + i)).await.unwrap();
                    assert!(
                        backend.is_durable(&record_key(r.sequence)),
                        "event {} acknowledged before a flush covered it",
                        r.sequence
                    );
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let flushes = backend.flushes.load(Ordering::SeqCst);
    assert_eq!(store.group_flushes(), flushes);
    assert!(
        flushes * 2 <= TASKS * EACH,
        "{flushes} flushes for {} publishes: they were not shared",
        TASKS * EACH
    );
}

#[tokio::test]
async fn a_failed_flush_fails_the_publish_and_the_next_one_flushes_again() {
    let backend = Arc::new(FlushRecorder::default());
    let store = EventStore::open_with(backend.clone(), Durability::Flushed)
        .await
        .unwrap();
    let bus = EventBus::builder().store(store.clone()).build();
    let mut sub = bus.subscribe("*").unwrap();
    backend.fail_next_flush.store(true, Ordering::SeqCst);
    let event = ev("x", 1);
    let err = bus.publish(event.clone()).await.unwrap_err();
    assert!(matches!(err, EventError::Storage(_)), "{err}");
    assert!(sub.try_recv().is_none(), "not delivered: not acknowledged");
    assert!(store.get(1).await.unwrap().is_none(), "not kept either");
    // A retry stores and delivers it (it is not a duplicate of an event
    // nobody was told about).
    let r = bus.publish(event.clone()).await.unwrap();
    assert!(!r.duplicate);
    assert!(backend.is_durable(&record_key(r.sequence)));
    assert_eq!(sub.try_recv().unwrap().id, event.id);
}

#[tokio::test]
async fn a_publish_may_ask_for_another_durability_than_the_stores() {
    let backend = Arc::new(FlushRecorder::default());
    let store = EventStore::open_with(backend.clone(), Durability::Flushed)
        .await
        .unwrap();
    let bus = EventBus::builder().store(store).build();
    // A notification nobody waits on: written, not flushed.
    let quiet = bus
        .publish_with(ev("note", 1), Durability::Written)
        .await
        .unwrap();
    assert_eq!(backend.flushes.load(Ordering::SeqCst), 0);
    assert!(!backend.is_durable(&record_key(quiet.sequence)));
    // The next acknowledged publish flushes it too.
    let acked = bus.publish(ev("ack", 2)).await.unwrap();
    assert!(backend.is_durable(&record_key(acked.sequence)));
    assert!(backend.is_durable(&record_key(quiet.sequence)));

    // And the other way round on a written store.
    let backend = Arc::new(FlushRecorder::default());
    let store = EventStore::open(backend.clone()).await.unwrap();
    let bus = EventBus::builder().store(store).build();
    let r = bus.publish(ev("x", 1)).await.unwrap();
    assert!(!backend.is_durable(&record_key(r.sequence)));
    let r = bus
        .publish_with(ev("x", 2), Durability::Flushed)
        .await
        .unwrap();
    assert!(backend.is_durable(&record_key(r.sequence)));
}

/// The same on sled, whose flushes are real fsyncs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sled_eight_publishers_share_flushes_and_everything_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let backend: Arc<dyn StorageBackend> =
        Arc::new(llmspell_storage::SledBackend::open(dir.path()).unwrap());
    let store = EventStore::open_with(backend, Durability::Flushed)
        .await
        .unwrap();
    let bus = EventBus::builder().store(store.clone()).build();
    let tasks: Vec<_> = (0..8u64)
        .map(|t| {
            let bus = bus.clone();
            tokio::spawn(async move {
                for i in 0..100 {
                    bus.publish(ev("durable", t * 1000 + i)).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .expect("no publisher hangs")
            .unwrap();
    }
    assert!(store.group_flushes() < 800, "{}", store.group_flushes());
    assert_eq!(
        store
            .query(&llmspell_events::EventQuery::all())
            .await
            .unwrap()
            .len(),
        800
    );
}
