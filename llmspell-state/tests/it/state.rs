//! get / set / delete / list, versions, scopes, limits, events.

use std::sync::Arc;
use std::time::Duration;

use llmspell_events::EventBus;
use llmspell_state::{Scope, SessionId, State, StateError};
use llmspell_storage::{MemoryBackend, StorageBackend};
use serde_json::json;

crate::both_backends!(
    set_get_delete_with_versions,
    scopes_are_separate_key_spaces,
    list_by_prefix_skips_deleted_keys,
    bad_keys_are_refused_with_the_rule,
);

async fn set_get_delete_with_versions(state: State) {
    let g = Scope::Global;
    assert_eq!(state.get(&g, "k").await.unwrap(), None);
    assert_eq!(state.version(&g, "k").await.unwrap(), 0);
    assert_eq!(state.set(&g, "k", json!({"a": [1, 2]})).await.unwrap(), 1);
    assert_eq!(state.set(&g, "k", json!("two")).await.unwrap(), 2);
    let v = state.get_versioned(&g, "k").await.unwrap().unwrap();
    assert_eq!((v.value, v.version), (json!("two"), 2));
    assert!(state.delete(&g, "k").await.unwrap());
    assert!(!state.delete(&g, "k").await.unwrap());
    assert_eq!(state.get(&g, "k").await.unwrap(), None);
    assert_eq!(state.version(&g, "k").await.unwrap(), 0);
    // The delete was version 3; the count goes on from there.
    assert_eq!(state.set(&g, "k", json!(null)).await.unwrap(), 4);
    assert_eq!(state.get(&g, "k").await.unwrap(), Some(json!(null)));
}

async fn scopes_are_separate_key_spaces(state: State) {
    let scopes = [
        Scope::Global,
        Scope::Session(SessionId::new()),
        Scope::script("a").unwrap(),
        Scope::custom("agent:writer").unwrap(),
    ];
    for (i, scope) in scopes.iter().enumerate() {
        state.set(scope, "same", json!(i)).await.unwrap();
    }
    for (i, scope) in scopes.iter().enumerate() {
        assert_eq!(state.get(scope, "same").await.unwrap(), Some(json!(i)));
        assert_eq!(state.list(scope, "").await.unwrap(), ["same"]);
    }
    // A scope whose name extends another's sees nothing of it.
    let short = Scope::custom("ab").unwrap();
    let long = Scope::custom("abc").unwrap();
    state.set(&short, "x", json!(1)).await.unwrap();
    assert!(state.list(&long, "").await.unwrap().is_empty());
}

async fn list_by_prefix_skips_deleted_keys(state: State) {
    let g = Scope::Global;
    for key in ["user:2", "user:1", "user:10/profile", "other", "user"] {
        state.set(&g, key, json!(key)).await.unwrap();
    }
    state.delete(&g, "user:2").await.unwrap();
    assert_eq!(
        state.list(&g, "user:").await.unwrap(),
        ["user:1", "user:10/profile"]
    );
    assert_eq!(state.list(&g, "").await.unwrap().len(), 4);
    assert!(state.list(&g, "nothing").await.unwrap().is_empty());
}

async fn bad_keys_are_refused_with_the_rule(state: State) {
    let g = Scope::Global;
    for key in ["", "has space", "tab\t", "\u{e9}t\u{e9}", &"k".repeat(257)] {
        let err = state.set(&g, key, json!(1)).await.unwrap_err();
        assert!(matches!(err, StateError::InvalidKey { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("1 to 256 characters from A-Z a-z 0-9 _ - . : /"),
            "{msg}"
        );
        assert!(state.get(&g, key).await.is_err());
    }
    assert!(state.list(&g, "bad prefix").await.is_err());
    assert!(state.storage().is_empty().await.unwrap());
}

#[tokio::test]
async fn values_over_the_limit_are_refused() {
    let state = State::builder(Arc::new(MemoryBackend::new()))
        .max_value_bytes(16)
        .build()
        .unwrap();
    // `"0123456789abcd"` is 16 bytes of JSON: accepted.
    state
        .set(&Scope::Global, "ok", json!("0123456789abcd"))
        .await
        .unwrap();
    let err = state
        .set(&Scope::Global, "big", json!("0123456789abcde"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StateError::ValueTooLarge {
                size: 17,
                limit: 16,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("raise `max_value_bytes`"), "{err}");
    assert!(state
        .compare_and_set(&Scope::Global, "big", 0, json!("x".repeat(20)))
        .await
        .is_err());
    assert_eq!(state.get(&Scope::Global, "big").await.unwrap(), None);
}

#[tokio::test]
async fn key_length_is_configurable_and_configs_are_checked() {
    let state = State::builder(Arc::new(MemoryBackend::new()))
        .max_key_len(4)
        .build()
        .unwrap();
    state.set(&Scope::Global, "abcd", json!(1)).await.unwrap();
    let err = state
        .set(&Scope::Global, "abcde", json!(1))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("1 to 4 characters"), "{err}");
    for builder in [
        State::builder(Arc::new(MemoryBackend::new())).max_key_len(0),
        State::builder(Arc::new(MemoryBackend::new())).max_key_len(5000),
        State::builder(Arc::new(MemoryBackend::new())).max_value_bytes(0),
    ] {
        assert!(matches!(
            builder.build(),
            Err(StateError::InvalidConfig { .. })
        ));
    }
}

#[tokio::test]
async fn changes_publish_state_changed_without_the_value_by_default() {
    let bus = EventBus::new();
    let mut events = bus.subscribe("state.*").unwrap();
    let state = State::builder(Arc::new(MemoryBackend::new()))
        .events(bus.clone())
        .build()
        .unwrap();
    let scope = Scope::script("s").unwrap();
    state.set(&scope, "k", json!({"secret": 1})).await.unwrap();
    state.delete(&scope, "k").await.unwrap();
    state.delete(&scope, "k").await.unwrap(); // nothing to delete: no event
    let cas = state
        .compare_and_set(&scope, "k", 7, json!(1))
        .await
        .unwrap();
    assert!(matches!(
        cas,
        llmspell_state::CompareAndSet::Conflict { .. }
    ));

    let set = events.recv_timeout(Duration::from_secs(5)).await.unwrap();
    assert_eq!(set.event_type, "state.changed");
    assert_eq!(
        set.data,
        json!({"scope": "script:s", "key": "k", "version": 1, "operation": "set"})
    );
    let del = events.recv_timeout(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        del.data,
        json!({"scope": "script:s", "key": "k", "version": 2, "operation": "delete"})
    );
    assert!(events
        .recv_timeout(Duration::from_millis(50))
        .await
        .is_none());
}

#[tokio::test]
async fn event_values_can_be_switched_on() {
    let bus = EventBus::new();
    let mut events = bus.subscribe("state.changed").unwrap();
    let state = State::builder(Arc::new(MemoryBackend::new()))
        .events(bus)
        .event_values(true)
        .build()
        .unwrap();
    state.set(&Scope::Global, "k", json!([1, 2])).await.unwrap();
    let e = events.recv_timeout(Duration::from_secs(5)).await.unwrap();
    assert_eq!(e.data["value"], json!([1, 2]));
}

#[tokio::test]
async fn unreadable_records_are_errors_not_panics() {
    let storage: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    let state = State::new(Arc::clone(&storage));
    storage.set(b"state/global/bad", b"xx").await.unwrap();
    let err = state.get(&Scope::Global, "bad").await.unwrap_err();
    assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("header"), "{err}");
    // A write replaces it; a delete removes it.
    assert_eq!(state.set(&Scope::Global, "bad", json!(1)).await.unwrap(), 1);
    storage
        .set(b"state/global/bad2", b"\x01garbage-garbage")
        .await
        .unwrap();
    assert!(state.get(&Scope::Global, "bad2").await.is_err());
    assert!(state.delete(&Scope::Global, "bad2").await.unwrap());
    assert_eq!(state.get(&Scope::Global, "bad2").await.unwrap(), None);
}

#[tokio::test]
async fn values_survive_reopening_a_sled_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let backend = Arc::new(llmspell_storage::SledBackend::open(&path).unwrap());
        let state = State::new(backend.clone());
        state
            .set(&Scope::Global, "k", json!({"n": 1}))
            .await
            .unwrap();
        state
            .set(&Scope::Global, "k", json!({"n": 2}))
            .await
            .unwrap();
        backend.flush().await.unwrap();
    }
    let state = State::new(Arc::new(
        llmspell_storage::SledBackend::open(&path).unwrap(),
    ));
    let v = state
        .get_versioned(&Scope::Global, "k")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((v.value, v.version), (json!({"n": 2}), 2));
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<State>();
    check::<StateError>();
    check::<llmspell_state::Sessions>();
    check::<llmspell_state::Session>();
    check::<Scope>();
}
