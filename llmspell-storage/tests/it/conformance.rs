//! One conformance suite, instantiated for every backend.

use std::ops::Bound;
use std::sync::Arc;

use llmspell_storage::{
    Batch, CasOutcome, KeyRange, MemoryBackend, SledBackend, StorageBackend, StorageError,
    StorageExt, Update,
};
use serde::{Deserialize, Serialize};

/// A fresh, empty backend plus whatever must live as long as it (a temp dir).
pub(crate) type Fixture = (Arc<dyn StorageBackend>, Option<tempfile::TempDir>);

fn memory() -> Fixture {
    (Arc::new(MemoryBackend::new()), None)
}

fn sled() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let backend = SledBackend::open(dir.path().join("db")).unwrap();
    (Arc::new(backend), Some(dir))
}

macro_rules! conformance {
    ($($backend:ident),*) => {$(
        mod $backend {
            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $name() {
                        let (store, _dir) = super::$backend();
                        super::$name(&store).await;
                    }
                };
            }
            case!(get_set_overwrite);
            case!(delete_missing_and_present);
            case!(prefix_scans_are_in_key_order);
            case!(empty_prefix_lists_everything);
            case!(scan_limits_and_ranges);
            case!(batch_is_applied_in_order);
            case!(batch_is_atomic_for_readers);
            case!(non_utf8_keys_and_values);
            case!(large_values);
            case!(empty_key_and_value);
            case!(clear_and_len);
            case!(typed_helpers);
            case!(concurrent_writers);
            case!(compare_and_swap_cases);
            case!(racing_compare_and_swap_has_one_winner);
            case!(update_decides_from_current_value);
            case!(concurrent_updates_lose_nothing);
        }
    )*};
}

conformance!(memory, sled);

async fn get_set_overwrite(s: &Arc<dyn StorageBackend>) {
    assert_eq!(s.get(b"k").await.unwrap(), None);
    assert!(!s.exists(b"k").await.unwrap());
    s.set(b"k", b"v1").await.unwrap();
    assert_eq!(s.get(b"k").await.unwrap(), Some(b"v1".to_vec()));
    s.set(b"k", b"v2").await.unwrap();
    assert_eq!(s.get(b"k").await.unwrap(), Some(b"v2".to_vec()));
    assert!(s.exists(b"k").await.unwrap());
    assert_eq!(s.len().await.unwrap(), 1);
}

async fn delete_missing_and_present(s: &Arc<dyn StorageBackend>) {
    assert!(!s.delete(b"missing").await.unwrap());
    s.set(b"k", b"v").await.unwrap();
    assert!(s.delete(b"k").await.unwrap());
    assert!(!s.delete(b"k").await.unwrap());
    assert_eq!(s.get(b"k").await.unwrap(), None);
}

async fn prefix_scans_are_in_key_order(s: &Arc<dyn StorageBackend>) {
    // Inserted out of order; big-endian numbers sort numerically.
    for n in [300u32, 2, 70_000, 1, 256] {
        let mut key = b"seq/".to_vec();
        key.extend_from_slice(&n.to_be_bytes());
        s.set(&key, &n.to_le_bytes()).await.unwrap();
    }
    s.set(b"seq", b"not under the prefix").await.unwrap();
    s.set(b"seq0", b"not under the prefix").await.unwrap();
    s.set(b"ser/1", b"neighbour").await.unwrap();

    let entries = s.scan_prefix(b"seq/", None).await.unwrap();
    let numbers: Vec<u32> = entries
        .iter()
        .map(|(_, v)| u32::from_le_bytes(v.as_slice().try_into().unwrap()))
        .collect();
    assert_eq!(numbers, vec![1, 2, 256, 300, 70_000]);
    let keys = s.keys(b"seq/").await.unwrap();
    assert_eq!(
        keys,
        entries.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()
    );
    assert!(s.keys(b"nothing/").await.unwrap().is_empty());
}

async fn empty_prefix_lists_everything(s: &Arc<dyn StorageBackend>) {
    for k in [&b"b"[..], b"a", b"\xff\xfe", b"", b"ab"] {
        s.set(k, b"x").await.unwrap();
    }
    let keys = s.keys(b"").await.unwrap();
    let expect: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"a".to_vec(),
        b"ab".to_vec(),
        b"b".to_vec(),
        b"\xff\xfe".to_vec(),
    ];
    assert_eq!(keys, expect);
    assert_eq!(s.scan_prefix(b"", None).await.unwrap().len(), 5);
    // A prefix of all 0xff bytes has no successor key; it must still work.
    assert_eq!(s.keys(b"\xff").await.unwrap(), vec![b"\xff\xfe".to_vec()]);
}

async fn scan_limits_and_ranges(s: &Arc<dyn StorageBackend>) {
    for i in 0u8..10 {
        s.set(&[b'r', i], &[i]).await.unwrap();
    }
    let first3 = s.scan_prefix(b"r", Some(3)).await.unwrap();
    assert_eq!(
        first3.iter().map(|(_, v)| v[0]).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert!(s.scan_prefix(b"r", Some(0)).await.unwrap().is_empty());

    let mid = s
        .scan_range(KeyRange::half_open(vec![b'r', 3], vec![b'r', 6]), None)
        .await
        .unwrap();
    assert_eq!(
        mid.iter().map(|(_, v)| v[0]).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );

    let incl = s
        .scan_range(
            KeyRange::new(
                Bound::Excluded(vec![b'r', 7]),
                Bound::Included(vec![b'r', 9]),
            ),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        incl.iter().map(|(_, v)| v[0]).collect::<Vec<_>>(),
        vec![8, 9]
    );

    let everything = s
        .scan_range(KeyRange::new(Bound::Unbounded, Bound::Unbounded), Some(4))
        .await
        .unwrap();
    assert_eq!(everything.len(), 4);

    // An inverted range is empty, not a panic.
    let inverted = s
        .scan_range(KeyRange::half_open(vec![b'r', 6], vec![b'r', 3]), None)
        .await
        .unwrap();
    assert!(inverted.is_empty());
}

async fn batch_is_applied_in_order(s: &Arc<dyn StorageBackend>) {
    s.set(b"gone", b"x").await.unwrap();
    let mut batch = Batch::new();
    batch
        .set(b"a".to_vec(), b"1".to_vec())
        .set(b"a".to_vec(), b"2".to_vec())
        .delete(b"gone".to_vec())
        .delete(b"never-there".to_vec())
        .set(b"b".to_vec(), b"3".to_vec())
        .delete(b"b".to_vec());
    assert_eq!(batch.len(), 6);
    s.apply_batch(batch).await.unwrap();
    assert_eq!(s.get(b"a").await.unwrap(), Some(b"2".to_vec()));
    assert_eq!(s.get(b"gone").await.unwrap(), None);
    assert_eq!(s.get(b"b").await.unwrap(), None);
    s.apply_batch(Batch::new()).await.unwrap();
    assert_eq!(s.len().await.unwrap(), 1);
}

async fn batch_is_atomic_for_readers(s: &Arc<dyn StorageBackend>) {
    // A writer flips 64 keys between generation g and g+1 in one batch;
    // a reader scanning concurrently must never see two generations at once.
    const KEYS: u8 = 64;
    const ROUNDS: u32 = 200;
    let mut initial = Batch::new();
    for i in 0..KEYS {
        initial.set(vec![b'g', i], 0u32.to_be_bytes().to_vec());
    }
    s.apply_batch(initial).await.unwrap();

    let writer = {
        let s = Arc::clone(s);
        tokio::spawn(async move {
            for g in 1..=ROUNDS {
                let mut b = Batch::new();
                for i in 0..KEYS {
                    b.set(vec![b'g', i], g.to_be_bytes().to_vec());
                }
                s.apply_batch(b).await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    // The reader runs on this task while the writer runs on another thread.
    let mut seen_last = false;
    let mut scans = 0u32;
    while !seen_last {
        let entries = s.scan_prefix(b"g", None).await.unwrap();
        assert_eq!(entries.len(), usize::from(KEYS));
        let gens: std::collections::BTreeSet<Vec<u8>> =
            entries.into_iter().map(|(_, v)| v).collect();
        assert_eq!(gens.len(), 1, "a scan saw a half-applied batch: {gens:?}");
        seen_last = gens.contains(ROUNDS.to_be_bytes().as_slice());
        scans += 1;
        tokio::task::yield_now().await;
    }
    writer.await.unwrap();
    assert!(scans >= 1);
}

async fn non_utf8_keys_and_values(s: &Arc<dyn StorageBackend>) {
    let key = [0xff, 0x00, 0xc3, 0x28, 0x80];
    let value = [0x00, 0xfe, 0xff, 0xc0, 0xaf];
    s.set(&key, &value).await.unwrap();
    assert_eq!(s.get(&key).await.unwrap(), Some(value.to_vec()));
    assert_eq!(s.keys(&[0xff, 0x00]).await.unwrap(), vec![key.to_vec()]);
    assert!(s.delete(&key).await.unwrap());
}

async fn large_values(s: &Arc<dyn StorageBackend>) {
    let big: Vec<u8> = (0..8 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    s.set(b"big", &big).await.unwrap();
    let back = s.get(b"big").await.unwrap().unwrap();
    assert_eq!(back.len(), big.len());
    assert!(back == big);
    s.set(b"big", b"small").await.unwrap();
    assert_eq!(s.get(b"big").await.unwrap(), Some(b"small".to_vec()));
}

async fn empty_key_and_value(s: &Arc<dyn StorageBackend>) {
    s.set(b"", b"").await.unwrap();
    assert_eq!(s.get(b"").await.unwrap(), Some(Vec::new()));
    assert!(s.exists(b"").await.unwrap());
}

async fn clear_and_len(s: &Arc<dyn StorageBackend>) {
    assert!(s.is_empty().await.unwrap());
    for i in 0u16..100 {
        s.set(&i.to_be_bytes(), b"v").await.unwrap();
    }
    assert_eq!(s.len().await.unwrap(), 100);
    s.flush().await.unwrap();
    s.clear().await.unwrap();
    assert!(s.is_empty().await.unwrap());
    assert!(s.keys(b"").await.unwrap().is_empty());
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Record {
    name: String,
    count: u32,
}

async fn typed_helpers(s: &Arc<dyn StorageBackend>) {
    let rec = Record {
        name: "alice".into(),
        count: 3,
    };
    s.set_json(b"rec", &rec).await.unwrap();
    assert_eq!(s.get_json::<Record>(b"rec").await.unwrap(), Some(rec));
    assert_eq!(s.get_json::<Record>(b"none").await.unwrap(), None);

    s.set(b"corrupt", b"{not json").await.unwrap();
    let err = s.get_json::<Record>(b"corrupt").await.unwrap_err();
    assert!(matches!(err, StorageError::Deserialize { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("\"corrupt\"") && msg.contains("Record"),
        "{msg}"
    );

    // Valid JSON of the wrong shape is also a decoding error, not a panic.
    s.set(b"shape", br#"{"name": 5}"#).await.unwrap();
    assert!(matches!(
        s.get_json::<Record>(b"shape").await,
        Err(StorageError::Deserialize { .. })
    ));

    // A map with non-string keys cannot be JSON.
    let mut bad = std::collections::HashMap::new();
    bad.insert(vec![1u8], 1);
    assert!(matches!(
        s.set_json(b"bad", &bad).await,
        Err(StorageError::Serialize { .. })
    ));
}

async fn concurrent_writers(s: &Arc<dyn StorageBackend>) {
    const TASKS: u32 = 8;
    const PER_TASK: u32 = 250;
    // Each writer is its own task on the multi-threaded runtime, writing its
    // own key range plus one shared hot key.
    let writers: Vec<_> = (0..TASKS)
        .map(|t| {
            let s = Arc::clone(s);
            tokio::spawn(async move {
                for i in 0..PER_TASK {
                    let key = format!("w/{t:02}/{i:04}");
                    s.set(key.as_bytes(), &i.to_be_bytes()).await.unwrap();
                    s.set(b"hot", &t.to_be_bytes()).await.unwrap();
                    if i % 50 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(
        s.keys(b"w/").await.unwrap().len(),
        (TASKS * PER_TASK) as usize
    );
    for t in 0..TASKS {
        let entries = s
            .scan_prefix(format!("w/{t:02}/").as_bytes(), None)
            .await
            .unwrap();
        let values: Vec<u32> = entries
            .iter()
            .map(|(_, v)| u32::from_be_bytes(v.as_slice().try_into().unwrap()))
            .collect();
        assert_eq!(values, (0..PER_TASK).collect::<Vec<_>>());
    }
    let hot = s.get(b"hot").await.unwrap().unwrap();
    assert!(u32::from_be_bytes(hot.as_slice().try_into().unwrap()) < TASKS);
}

async fn compare_and_swap_cases(s: &Arc<dyn StorageBackend>) {
    // Absent expected, absent found: create.
    assert_eq!(
        s.compare_and_swap(b"k", None, Some(b"v1")).await.unwrap(),
        CasOutcome::Swapped
    );
    // Absent expected, present found: conflict with the current value.
    assert_eq!(
        s.compare_and_swap(b"k", None, Some(b"x")).await.unwrap(),
        CasOutcome::Conflict {
            current: Some(b"v1".to_vec())
        }
    );
    // Wrong value expected.
    assert_eq!(
        s.compare_and_swap(b"k", Some(b"v0"), Some(b"x"))
            .await
            .unwrap(),
        CasOutcome::Conflict {
            current: Some(b"v1".to_vec())
        }
    );
    assert_eq!(s.get(b"k").await.unwrap(), Some(b"v1".to_vec()));
    // Right value expected: replace, then remove.
    assert_eq!(
        s.compare_and_swap(b"k", Some(b"v1"), Some(b"v2"))
            .await
            .unwrap(),
        CasOutcome::Swapped
    );
    assert_eq!(s.get(b"k").await.unwrap(), Some(b"v2".to_vec()));
    assert_eq!(
        s.compare_and_swap(b"k", Some(b"v2"), None).await.unwrap(),
        CasOutcome::Swapped
    );
    assert_eq!(s.get(b"k").await.unwrap(), None);
    // Present expected, absent found.
    assert_eq!(
        s.compare_and_swap(b"k", Some(b"v2"), Some(b"v3"))
            .await
            .unwrap(),
        CasOutcome::Conflict { current: None }
    );
    assert_eq!(s.get(b"k").await.unwrap(), None);
}

async fn racing_compare_and_swap_has_one_winner(s: &Arc<dyn StorageBackend>) {
    const TASKS: u32 = 8;
    const ROUNDS: u32 = 50;
    s.set(b"c", &0u32.to_be_bytes()).await.unwrap();
    for round in 0..ROUNDS {
        // Every racer expects what the key holds before the round starts.
        let expected = s.get(b"c").await.unwrap().unwrap();
        let racers: Vec<_> = (0..TASKS)
            .map(|t| {
                let s = Arc::clone(s);
                let expected = expected.clone();
                tokio::spawn(async move {
                    // A value only this racer would write.
                    let new = [round.to_be_bytes(), t.to_be_bytes()].concat();
                    s.compare_and_swap(b"c", Some(&expected), Some(&new))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut wins = 0;
        for r in racers {
            if r.await.unwrap() == CasOutcome::Swapped {
                wins += 1;
            }
        }
        assert_eq!(wins, 1, "round {round}");
    }
}

async fn update_decides_from_current_value(s: &Arc<dyn StorageBackend>) {
    let mut seen = Vec::new();
    s.update(b"u", &mut |cur| {
        seen.push(cur.map(<[u8]>::to_vec));
        Update::Set(b"a".to_vec())
    })
    .await
    .unwrap();
    assert_eq!(seen.last(), Some(&None));
    assert_eq!(s.get(b"u").await.unwrap(), Some(b"a".to_vec()));
    s.update(b"u", &mut |_| Update::Keep).await.unwrap();
    assert_eq!(s.get(b"u").await.unwrap(), Some(b"a".to_vec()));
    s.update(b"u", &mut |cur| {
        assert_eq!(cur, Some(&b"a"[..]));
        Update::Delete
    })
    .await
    .unwrap();
    assert_eq!(s.get(b"u").await.unwrap(), None);
    // Deleting an absent key is a no-op.
    s.update(b"u", &mut |_| Update::Delete).await.unwrap();
    assert_eq!(s.get(b"u").await.unwrap(), None);
}

async fn concurrent_updates_lose_nothing(s: &Arc<dyn StorageBackend>) {
    const TASKS: u64 = 8;
    const PER_TASK: u64 = 200;
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let s = Arc::clone(s);
            tokio::spawn(async move {
                for i in 0..PER_TASK {
                    s.update(b"n", &mut |cur| {
                        let n = cur.map_or(0, |b| u64::from_be_bytes(b.try_into().unwrap()));
                        Update::Set((n + 1).to_be_bytes().to_vec())
                    })
                    .await
                    .unwrap();
                    if i % 20 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let n = s.get(b"n").await.unwrap().unwrap();
    assert_eq!(u64::from_be_bytes(n.try_into().unwrap()), TASKS * PER_TASK);
}
