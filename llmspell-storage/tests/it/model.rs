//! Property tests: random operation sequences leave every backend equal to
//! a `BTreeMap` model, and configuration parsing never panics.

use std::collections::BTreeMap;
use std::sync::Arc;

use llmspell_storage::{Batch, MemoryBackend, SledBackend, StorageBackend, StorageConfig};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Set(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    Batch(Vec<(Vec<u8>, Option<Vec<u8>>)>),
    Scan(Vec<u8>, Option<usize>),
}

fn small_key() -> impl Strategy<Value = Vec<u8>> {
    // A tiny alphabet with 0x00 and 0xff so keys collide and prefixes nest.
    prop::collection::vec(prop::sample::select(vec![0u8, b'a', b'b', 0xff]), 0..4)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (small_key(), prop::collection::vec(any::<u8>(), 0..8)).prop_map(|(k, v)| Op::Set(k, v)),
        small_key().prop_map(Op::Delete),
        prop::collection::vec(
            (
                small_key(),
                prop::option::of(prop::collection::vec(any::<u8>(), 0..4))
            ),
            0..5
        )
        .prop_map(Op::Batch),
        (small_key(), prop::option::of(0usize..4)).prop_map(|(p, l)| Op::Scan(p, l)),
    ]
}

async fn check(store: Arc<dyn StorageBackend>, ops: Vec<Op>) {
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for op in ops {
        match op {
            Op::Set(k, v) => {
                store.set(&k, &v).await.unwrap();
                model.insert(k, v);
            }
            Op::Delete(k) => {
                let existed = store.delete(&k).await.unwrap();
                assert_eq!(existed, model.remove(&k).is_some());
            }
            Op::Batch(items) => {
                let mut batch = Batch::new();
                for (k, v) in items {
                    match v {
                        Some(v) => {
                            batch.set(k.clone(), v.clone());
                            model.insert(k, v);
                        }
                        None => {
                            batch.delete(k.clone());
                            model.remove(&k);
                        }
                    }
                }
                store.apply_batch(batch).await.unwrap();
            }
            Op::Scan(prefix, limit) => {
                let got = store.scan_prefix(&prefix, limit).await.unwrap();
                let want: Vec<_> = model
                    .iter()
                    .filter(|(k, _)| k.starts_with(&prefix))
                    .take(limit.unwrap_or(usize::MAX))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(got, want);
            }
        }
    }
    let all = store.scan_prefix(b"", None).await.unwrap();
    assert_eq!(all, model.into_iter().collect::<Vec<_>>());
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn memory_matches_model(ops in prop::collection::vec(op(), 0..40)) {
        runtime().block_on(check(Arc::new(MemoryBackend::new()), ops));
    }

    #[test]
    fn sled_matches_model(ops in prop::collection::vec(op(), 0..40)) {
        let store = SledBackend::temporary().unwrap();
        runtime().block_on(check(Arc::new(store), ops));
    }

    #[test]
    fn config_parsing_never_panics_and_round_trips(input in ".{0,24}") {
        if let Ok(cfg) = input.parse::<StorageConfig>() {
            prop_assert_eq!(cfg.to_string().parse::<StorageConfig>().unwrap(), cfg);
        }
    }
}
