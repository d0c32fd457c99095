//! Every state and session hook point's effect, from Rust.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use llmspell_hooks::{hook_fn, HookContext, HookPoint, HookResult, Hooks, Language};
use llmspell_state::{
    migration_fn, CompareAndSet, Scope, SessionOutcome, SessionRef, Sessions, State, StateError,
};
use llmspell_storage::MemoryBackend;
use parking_lot::Mutex;
use serde_json::{json, Value};

fn hooked() -> (State, Hooks) {
    let hooks = Hooks::new();
    let state = State::builder(Arc::new(MemoryBackend::new()))
        .hooks(hooks.clone())
        .build()
        .unwrap();
    (state, hooks)
}

/// Registers a hook at `point` that records the data it sees and answers
/// with `answer(data)`.
fn record(
    hooks: &Hooks,
    point: HookPoint,
    answer: impl Fn(&HookContext) -> HookResult + Send + Sync + 'static,
) -> Arc<Mutex<Vec<Value>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    hooks
        .register(
            point,
            hook_fn("test", move |ctx| {
                log.lock().push(Value::Object(ctx.data.clone()));
                Ok(answer(ctx))
            }),
        )
        .unwrap();
    seen
}

fn with(data: &HookContext, key: &str, value: Value) -> HookResult {
    let mut d = data.data.clone();
    d.insert(key.to_owned(), value);
    HookResult::Modified(d)
}

#[tokio::test]
async fn before_write_modified_changes_the_value_written() {
    let (state, hooks) = hooked();
    let seen = record(&hooks, HookPoint::BeforeStateWrite, |ctx| {
        with(ctx, "value", json!({"redacted": true}))
    });
    let after = record(&hooks, HookPoint::AfterStateWrite, |_| HookResult::Continue);
    let g = Scope::script("etl").unwrap();
    assert_eq!(state.set(&g, "secret", json!("hunter2")).await.unwrap(), 1);
    assert_eq!(seen.lock()[0]["scope"], "script:etl");
    assert_eq!(seen.lock()[0]["key"], "secret");
    assert_eq!(seen.lock()[0]["value"], "hunter2");
    assert_eq!(seen.lock()[0]["operation"], "set");
    let after = after.lock()[0].clone();
    assert_eq!(after["value"], json!({"redacted": true}));
    assert_eq!(after["version"], 1);
    // What is stored is what the hook wrote (read without hooks on reads).
    assert_eq!(
        state.get(&g, "secret").await.unwrap(),
        Some(json!({"redacted": true}))
    );
}

#[tokio::test]
async fn before_write_cancel_refuses_and_replace_skips() {
    let (state, hooks) = hooked();
    record(&hooks, HookPoint::BeforeStateWrite, |ctx| {
        match ctx.data["key"].as_str() {
            Some("locked") => HookResult::cancel("read-only key"),
            Some("virtual") => HookResult::Replace(json!(7)),
            _ => HookResult::Continue,
        }
    });
    let g = Scope::Global;
    let err = state.set(&g, "locked", json!(1)).await.unwrap_err();
    assert!(
        matches!(&err, StateError::Cancelled { reason, hook, point, .. }
            if reason == "read-only key" && hook == "test" && point == "BeforeStateWrite"),
        "{err}"
    );
    assert!(
        err.to_string().contains("cancelled by hook `test`"),
        "{err}"
    );
    assert!(state.delete(&g, "locked").await.is_err());
    assert!(matches!(
        state.compare_and_set(&g, "locked", 0, json!(1)).await,
        Err(StateError::Cancelled { .. })
    ));
    assert_eq!(state.set(&g, "virtual", json!(1)).await.unwrap(), 7);
    assert!(state.storage().is_empty().await.unwrap(), "nothing written");
}

#[tokio::test]
async fn before_read_replace_answers_without_the_store_and_cancel_refuses() {
    let (state, hooks) = hooked();
    let g = Scope::Global;
    state.set(&g, "k", json!("stored")).await.unwrap();
    record(&hooks, HookPoint::BeforeStateRead, |ctx| {
        match ctx.data["key"].as_str() {
            Some("k") => HookResult::Replace(json!("from the hook")),
            Some("missing") => HookResult::Replace(json!(42)),
            Some("secret") => HookResult::cancel("no peeking"),
            _ => HookResult::Continue,
        }
    });
    assert_eq!(
        state.get(&g, "k").await.unwrap(),
        Some(json!("from the hook"))
    );
    let v = state.get_versioned(&g, "missing").await.unwrap().unwrap();
    assert_eq!((v.value, v.version), (json!(42), 0));
    assert!(matches!(
        state.get(&g, "secret").await,
        Err(StateError::Cancelled {
            operation: "read",
            ..
        })
    ));
    assert_eq!(state.get(&g, "other").await.unwrap(), None);
}

#[tokio::test]
async fn after_read_sees_the_version_and_modified_changes_the_result() {
    let (state, hooks) = hooked();
    let g = Scope::Global;
    state.set(&g, "n", json!(1)).await.unwrap();
    state.set(&g, "n", json!(2)).await.unwrap();
    let seen = record(&hooks, HookPoint::AfterStateRead, |ctx| {
        match ctx.data["value"].as_i64() {
            Some(n) => with(ctx, "value", json!(n * 100)),
            None => HookResult::Continue,
        }
    });
    let v = state.get_versioned(&g, "n").await.unwrap().unwrap();
    assert_eq!((v.value, v.version), (json!(200), 2));
    let data = seen.lock()[0].clone();
    assert_eq!(
        (
            &data["scope"],
            &data["key"],
            &data["value"],
            &data["version"]
        ),
        (&json!("global"), &json!("n"), &json!(2), &json!(2))
    );
    // Stored value untouched.
    assert_eq!(state.scan(&g, "n").await.unwrap()[0].value, json!(2));
    // An absent key: value nil, version 0; still absent after.
    assert_eq!(state.get(&g, "none").await.unwrap(), None);
    assert_eq!(seen.lock()[1]["version"], 0);
}

#[tokio::test]
async fn lost_compare_and_set_fires_state_conflict_with_both_versions() {
    let (state, hooks) = hooked();
    let g = Scope::Global;
    let conflicts = record(&hooks, HookPoint::StateConflict, |_| HookResult::Continue);
    let after = record(&hooks, HookPoint::AfterStateWrite, |_| HookResult::Continue);
    state.set(&g, "k", json!(1)).await.unwrap();
    state.set(&g, "k", json!(2)).await.unwrap();
    let out = state.compare_and_set(&g, "k", 1, json!(3)).await.unwrap();
    assert_eq!(out, CompareAndSet::Conflict { current_version: 2 });
    let c = conflicts.lock()[0].clone();
    assert_eq!(c["expected_version"], 1);
    assert_eq!(c["current_version"], 2);
    assert_eq!(c["key"], "k");
    assert_eq!(
        after.lock().len(),
        2,
        "no AfterStateWrite for the lost write"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writers_each_loser_sees_state_conflict() {
    const WRITERS: usize = 6;
    const ROUNDS: u64 = 20;
    let (state, hooks) = hooked();
    let conflicts = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&conflicts);
    hooks
        .register(
            HookPoint::StateConflict,
            hook_fn("count", move |_| {
                c.fetch_add(1, Ordering::SeqCst);
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    for round in 0..ROUNDS {
        let barrier = Arc::new(tokio::sync::Barrier::new(WRITERS));
        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| {
                let state = state.clone();
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    barrier.wait().await;
                    state
                        .compare_and_set(&Scope::Global, "race", round, json!(w))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut wins = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), CompareAndSet::Set { .. }) {
                wins += 1;
            }
        }
        assert_eq!(wins, 1, "round {round}");
    }
    #[allow(clippy::cast_possible_truncation)]
    let expected = (ROUNDS as usize) * (WRITERS - 1);
    assert_eq!(conflicts.load(Ordering::SeqCst), expected);
}

#[tokio::test]
async fn state_migration_fires_and_can_modify_or_cancel() {
    let (state, hooks) = hooked();
    let g = Scope::Global;
    state.set(&g, "cfg:a", json!({"v": 1})).await.unwrap();
    state.set(&g, "cfg:b", json!({"v": 1})).await.unwrap();
    state
        .register_migration(
            "cfg:",
            1,
            2,
            migration_fn(|mut v| {
                v["v"] = json!(2);
                Ok(v)
            }),
        )
        .unwrap();
    let seen = record(&hooks, HookPoint::StateMigration, |ctx| {
        if ctx.data["key"] == "cfg:b" {
            return HookResult::cancel("b stays old");
        }
        with(ctx, "value", json!({"v": 2, "checked": true}))
    });
    assert_eq!(
        state.get(&g, "cfg:a").await.unwrap(),
        Some(json!({"v": 2, "checked": true}))
    );
    let data = seen.lock()[0].clone();
    assert_eq!((&data["from"], &data["to"]), (&json!(1), &json!(2)));
    assert_eq!(data["value"], json!({"v": 2}));
    assert!(matches!(
        state.get(&g, "cfg:b").await,
        Err(StateError::Cancelled {
            operation: "migration",
            ..
        })
    ));
    // Refused: still stored in the old schema.
    assert_eq!(state.scan(&g, "cfg:b").await.unwrap()[0].schema, 0);
}

#[tokio::test]
async fn contexts_carry_the_language_and_the_scope_as_component_name() {
    let (state, hooks) = hooked();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    hooks
        .register(
            HookPoint::BeforeStateWrite,
            hook_fn("ctx", move |ctx| {
                log.lock().push((
                    ctx.language,
                    ctx.component.name.clone(),
                    ctx.component.component_type.to_string(),
                ));
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();
    state
        .with_language(Language::Lua)
        .set(&Scope::script("x").unwrap(), "k", json!(1))
        .await
        .unwrap();
    assert_eq!(
        seen.lock()[0],
        (
            Language::Lua,
            "script:x".to_owned(),
            "custom:state".to_owned()
        )
    );
}

#[tokio::test]
async fn session_points_fire_and_cancel_refuses_checkpoint_and_restore() {
    let (state, hooks) = hooked();
    let sessions = Sessions::new(state.clone());
    let starts = record(&hooks, HookPoint::SessionStart, |_| HookResult::Continue);
    let ends = record(&hooks, HookPoint::SessionEnd, |_| HookResult::Continue);
    let checkpoints = record(&hooks, HookPoint::SessionCheckpoint, |ctx| {
        if ctx.data["name"] == "forbidden" {
            HookResult::cancel("not this one")
        } else {
            HookResult::Continue
        }
    });
    let refuse_restore = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let refuse = Arc::clone(&refuse_restore);
    let restores = record(&hooks, HookPoint::SessionRestore, move |_| {
        if refuse.load(Ordering::SeqCst) {
            HookResult::cancel("frozen")
        } else {
            HookResult::Continue
        }
    });

    let s = sessions.start(Some("job.lua")).await.unwrap();
    let id = s.id().to_string();
    assert_eq!(starts.lock()[0]["session_id"], id);
    assert_eq!(starts.lock()[0]["script"], "job.lua");
    assert_eq!(starts.lock()[0]["resumed"], false);

    state.set(&s.scope(), "k", json!(1)).await.unwrap();
    s.checkpoint(Some("good")).await.unwrap();
    let err = s.checkpoint(Some("forbidden")).await.unwrap_err();
    assert!(
        matches!(&err, StateError::Cancelled { operation: "checkpoint", reason, .. } if reason == "not this one"),
        "{err}"
    );
    assert_eq!(sessions.checkpoints(s.id()).await.unwrap().len(), 1);
    assert_eq!(checkpoints.lock()[0]["name"], "good");
    assert_eq!(checkpoints.lock()[0]["seq"], 1);

    state.set(&s.scope(), "k", json!(2)).await.unwrap();
    refuse_restore.store(true, Ordering::SeqCst);
    let err = sessions.resume(SessionRef::Latest).await.unwrap_err();
    assert!(
        matches!(
            err,
            StateError::Cancelled {
                operation: "restore",
                ..
            }
        ),
        "{err}"
    );
    // Refused: the scope and the record are as they were.
    assert_eq!(state.get(&s.scope(), "k").await.unwrap(), Some(json!(2)));
    assert_eq!(sessions.get(s.id()).await.unwrap().unwrap().runs, 1);
    assert_eq!(restores.lock()[0]["checkpoint"], "good");

    refuse_restore.store(false, Ordering::SeqCst);
    let (resumed, _) = sessions.resume(SessionRef::Latest).await.unwrap();
    assert_eq!(state.get(&s.scope(), "k").await.unwrap(), Some(json!(1)));
    assert_eq!(starts.lock()[1]["resumed"], true);
    assert_eq!(starts.lock()[1]["runs"], 2);

    resumed
        .end(SessionOutcome::failed("boom").with_exit_code(1))
        .await
        .unwrap();
    let end = ends.lock()[0].clone();
    assert_eq!(
        (
            &end["session_id"],
            &end["status"],
            &end["exit_code"],
            &end["error"]
        ),
        (&json!(id), &json!("failed"), &json!(1), &json!("boom"))
    );
}

#[tokio::test]
async fn writes_inside_an_operation_inherit_its_correlation_id() {
    let bus = llmspell_events::EventBus::new();
    let mut events = bus.subscribe("state.changed").unwrap();
    let hooks = Hooks::new();
    let state = State::builder(Arc::new(MemoryBackend::new()))
        .hooks(hooks.clone())
        .events(bus)
        .build()
        .unwrap();
    let outer = hooks
        .operation::<StateError>(llmspell_hooks::ComponentId::new(
            llmspell_hooks::ComponentType::Workflow,
            "wf",
        ))
        .run(|_| async {
            state.set(&Scope::Global, "k", json!(1)).await?;
            Ok(Value::Null)
        })
        .await
        .unwrap();
    let e = events
        .recv_timeout(std::time::Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(e.metadata.correlation_id, Some(outer.correlation_id));
}
