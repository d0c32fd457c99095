//! Schema versions and migration on read.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use llmspell_state::{migration_fn, Scope, State, StateError};
use serde_json::{json, Value};

crate::both_backends!(
    old_values_are_migrated_on_read_and_written_back,
    chains_run_in_order,
    new_writes_are_stamped_and_not_migrated,
    missing_and_failing_steps_are_errors,
);

fn counting(calls: &Arc<AtomicUsize>, f: fn(Value) -> Value) -> impl llmspell_state::Migration {
    let calls = Arc::clone(calls);
    migration_fn(move |v| {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok(f(v))
    })
}

async fn old_values_are_migrated_on_read_and_written_back(state: State) {
    let g = Scope::Global;
    state
        .set(&g, "user:1", json!({"name": "Ada"}))
        .await
        .unwrap();
    state
        .set(&g, "other", json!({"name": "Bob"}))
        .await
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    state
        .register_migration(
            "user:",
            1,
            2,
            counting(&calls, |mut v| {
                v["display"] = json!(format!("@{}", v["name"].as_str().unwrap()));
                v
            }),
        )
        .unwrap();
    let v = state.get_versioned(&g, "user:1").await.unwrap().unwrap();
    assert_eq!(v.value, json!({"name": "Ada", "display": "@Ada"}));
    assert_eq!(v.version, 1, "a migration keeps the value's version");
    // Written back: a second read does not migrate again.
    assert_eq!(
        state.get(&g, "user:1").await.unwrap(),
        Some(v.value.clone())
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Keys outside the prefix are untouched; a checkpoint sees the stamp.
    assert_eq!(
        state.get(&g, "other").await.unwrap(),
        Some(json!({"name": "Bob"}))
    );
    let stored = state.scan(&g, "user:").await.unwrap();
    assert_eq!(stored[0].schema, 2);
    // A compare-and-set at the version read before the migration still wins.
    assert!(matches!(
        state
            .compare_and_set(&g, "user:1", 1, json!({}))
            .await
            .unwrap(),
        llmspell_state::CompareAndSet::Set { version: 2 }
    ));
}

async fn chains_run_in_order(state: State) {
    let g = Scope::Global;
    state.declare_schema("doc", 1).unwrap();
    state.set(&g, "doc", json!([])).await.unwrap();
    let push = |n: i64| {
        migration_fn(move |mut v: Value| {
            v.as_array_mut().ok_or("not a list")?.push(json!(n));
            Ok(v)
        })
    };
    state.register_migration("doc", 2, 3, push(3)).unwrap();
    state.register_migration("doc", 1, 2, push(2)).unwrap();
    assert_eq!(state.get(&g, "doc").await.unwrap(), Some(json!([2, 3])));
    assert_eq!(state.schema_version("doc"), 3);
}

async fn new_writes_are_stamped_and_not_migrated(state: State) {
    let g = Scope::Global;
    let calls = Arc::new(AtomicUsize::new(0));
    state
        .register_migration("cfg", 0, 1, counting(&calls, |_| json!("migrated")))
        .unwrap();
    state.set(&g, "cfg", json!("fresh")).await.unwrap();
    assert_eq!(state.get(&g, "cfg").await.unwrap(), Some(json!("fresh")));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

async fn missing_and_failing_steps_are_errors(state: State) {
    let g = Scope::Global;
    state.declare_schema("a", 1).unwrap();
    state.set(&g, "a", json!(1)).await.unwrap();
    state.declare_schema("a", 3).unwrap();
    state
        .register_migration("a", 2, 3, migration_fn(Ok))
        .unwrap();
    let err = state.get(&g, "a").await.unwrap_err();
    assert!(
        matches!(
            err,
            StateError::MissingMigration {
                found: 1,
                current: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("registered steps: 2->3"), "{err}");

    state
        .register_migration(
            "b",
            1,
            2,
            migration_fn(|_| Err("cannot read v1".to_owned())),
        )
        .unwrap();
    state.set(&g, "bx", json!(1)).await.unwrap(); // stamped 2: fine
    let storage = state.storage().clone();
    // A value stamped 1, as an older program would have written it.
    let mut old = vec![1u8];
    old.extend_from_slice(&7u64.to_be_bytes());
    old.extend_from_slice(&1u32.to_be_bytes());
    old.extend_from_slice(b"1");
    storage.set(b"state/global/b1", &old).await.unwrap();
    let err = state.get(&g, "b1").await.unwrap_err();
    assert!(
        matches!(&err, StateError::MigrationFailed { from: 1, to: 2, reason, .. } if reason == "cannot read v1"),
        "{err}"
    );
    assert!(state
        .register_migration("c", 2, 1, migration_fn(Ok))
        .is_err());
}

#[tokio::test]
async fn a_write_racing_a_migration_wins() {
    // The migration is slow; a write lands meanwhile. The read must return
    // the new value, not write the migrated old one over it.
    let state = State::in_memory();
    let g = Scope::Global;
    state.set(&g, "k", json!("old")).await.unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = std::sync::Mutex::new(rx);
    let gate = Arc::new(tokio::sync::Notify::new());
    let gate2 = gate.clone();
    state
        .register_migration(
            "k",
            1,
            2,
            migration_fn(move |v| {
                if v == json!("old") {
                    gate2.notify_one();
                    // Wait until the racing write has landed.
                    let _ = rx.lock().unwrap().recv();
                }
                Ok(json!("migrated"))
            }),
        )
        .unwrap();
    let reader = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(async { state.get(&Scope::Global, "k").await.unwrap() })
        })
    };
    gate.notified().await;
    state.set(&g, "k", json!("new")).await.unwrap();
    tx.send(()).unwrap();
    assert_eq!(reader.await.unwrap(), Some(json!("new")));
    assert_eq!(state.get(&g, "k").await.unwrap(), Some(json!("new")));
}
