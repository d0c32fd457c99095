//! Workflow state on the State component (`ScopedState`): one key space
//! shared with `State` users, versioned, persisted in its storage, read and
//! written through its hooked path as children of the step.

use std::sync::Arc;

use llmspell_hooks::{hook_fn, HookContext, HookPoint, HookResult};
use llmspell_state::{Scope, State};
use llmspell_storage::{MemoryBackend, SledBackend, StorageBackend};
use llmspell_workflows::{script_fn, Bindings, FunctionReturn, Pattern, ScopedState};
use parking_lot::Mutex;
use serde_json::json;

use crate::common::Fixture;

/// A runtime whose state is `scope` of a State on `storage` (with the
/// fixture's hooks), and that State.
fn fixture(storage: Arc<dyn StorageBackend>, scope: Scope) -> (Fixture, State) {
    let cell: Arc<Mutex<Option<State>>> = Arc::default();
    let cell2 = Arc::clone(&cell);
    let f = Fixture::with_hooks(move |b, hooks| {
        let state = State::builder(storage)
            .hooks(hooks.clone())
            .build()
            .unwrap();
        *cell2.lock() = Some(state.clone());
        b.state(Arc::new(ScopedState::new(state, scope)))
    });
    let state = cell.lock().take().unwrap();
    (f, state)
}

#[tokio::test]
async fn workflow_state_is_the_state_components_scope() {
    let scope = Scope::custom("workflow:test").unwrap();
    let (f, state) = fixture(Arc::new(MemoryBackend::new()), scope.clone());
    // Written by someone else (a script's State.set), read by the workflow.
    state.set(&scope, "ready", json!(true)).await.unwrap();
    state.set(&scope, "count", json!(1)).await.unwrap();
    state
        .set(&Scope::Global, "count", json!(100))
        .await
        .unwrap();

    let writes: Arc<Mutex<Vec<HookContext>>> = Arc::default();
    let w = Arc::clone(&writes);
    f.hooks
        .register(
            HookPoint::BeforeStateWrite,
            hook_fn("spy", move |ctx| {
                w.lock().push(ctx.clone());
                Ok(HookResult::Continue)
            }),
        )
        .unwrap();

    let mut b = Bindings::new();
    let bump = b.function(script_fn("bump", |call| async move {
        let mut state = call.state;
        let n = state["count"].as_i64().unwrap_or(0);
        state.insert("count".into(), json!(n + 1));
        Ok(FunctionReturn::with_state(json!({"was": n}), state))
    }));
    let wf = f.create_with(
        Pattern::Conditional,
        json!({"name": "gate", "branches": [
            {"name": "go", "condition": {"type": "expression", "expression": "state.ready && state.count == 1"},
             "steps": [
                {"name": "bump", "fn": bump},
                {"name": "show", "tool": "probe", "input": {"count": "{{state:count}}"}},
             ]},
            {"name": "otherwise", "default": true, "steps": [{"name": "no", "tool": "probe"}]},
        ]}),
        &b,
    );
    let r = f.runtime.execute(&wf, json!({})).await.unwrap();
    assert!(r.success, "{:?}", r.error);
    assert_eq!(r.data["show"], json!({"count": 2}));

    // The write is in the State component, one version more; other scopes
    // are untouched.
    assert_eq!(state.get(&scope, "count").await.unwrap(), Some(json!(2)));
    assert_eq!(state.version(&scope, "count").await.unwrap(), 2);
    assert_eq!(
        state.get(&Scope::Global, "count").await.unwrap(),
        Some(json!(100))
    );
    // It went through the State's hooked path, as a child of the step.
    let writes = writes.lock();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].data["key"], "count");
    assert_eq!(writes[0].data["scope"], "workflow:test");
    assert_eq!(writes[0].correlation_id, r.run_id);
    let parent = writes[0].parent.as_deref().expect("a parent");
    assert_eq!(parent.point, HookPoint::BeforeWorkflowStage);
    assert_eq!(parent.metadata["step_name"], "bump");
}

#[tokio::test]
async fn a_state_hook_can_refuse_a_workflow_write() {
    let (f, state) = fixture(Arc::new(MemoryBackend::new()), Scope::Global);
    f.hooks
        .register(
            HookPoint::BeforeStateWrite,
            hook_fn("no_secrets", |ctx| {
                Ok(if ctx.data["key"] == "secret" {
                    HookResult::cancel("secrets stay out of state")
                } else {
                    HookResult::Continue
                })
            }),
        )
        .unwrap();
    let mut b = Bindings::new();
    let write = b.function(script_fn("write", |call| async move {
        let mut state = call.state;
        state.insert("secret".into(), json!("hunter2"));
        Ok(FunctionReturn::with_state(json!(null), state))
    }));
    let wf = f.create_with(
        Pattern::Sequential,
        json!({"name": "leak", "steps": [{"name": "w", "fn": write}, {"name": "after", "tool": "probe"}]}),
        &b,
    );
    let r = f.runtime.execute(&wf, json!({})).await.unwrap();
    assert!(!r.success);
    let error = r.error.unwrap();
    assert!(error.contains("`w`"), "{error}");
    assert!(error.contains("secrets stay out of state"), "{error}");
    assert_eq!(state.get(&Scope::Global, "secret").await.unwrap(), None);
    assert!(f.calls("probe").is_empty());
}

#[tokio::test]
async fn workflow_state_persists_in_the_states_storage() {
    let dir = tempfile::tempdir().unwrap();
    let scope = Scope::script("etl").unwrap();
    {
        let sled: Arc<dyn StorageBackend> = Arc::new(SledBackend::open(dir.path()).unwrap());
        let (f, _state) = fixture(sled, scope.clone());
        let mut b = Bindings::new();
        let remember = b.function(script_fn("remember", |call| async move {
            let mut state = call.state;
            state.insert("last_input".into(), call.input);
            Ok(FunctionReturn::with_state(json!("ok"), state))
        }));
        let wf = f.create_with(
            Pattern::Sequential,
            json!({"name": "remember", "steps": [{"name": "r", "fn": remember}]}),
            &b,
        );
        let r = f.runtime.execute(&wf, json!({"n": 7})).await.unwrap();
        assert!(r.success, "{:?}", r.error);
    }
    // Another runtime on the same storage (a later process) reads it.
    let sled: Arc<dyn StorageBackend> = Arc::new(SledBackend::open(dir.path()).unwrap());
    let (f, state) = fixture(sled, scope.clone());
    assert_eq!(
        state.get(&scope, "last_input").await.unwrap(),
        Some(json!({"n": 7}))
    );
    assert_eq!(
        f.runtime.state().snapshot().await.unwrap()["last_input"],
        json!({"n": 7})
    );
}
