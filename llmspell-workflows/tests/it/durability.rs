//! Checkpoints, resume, run listing and compensation.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_storage::{SledBackend, StorageBackend};
use llmspell_workflows::{
    script_fn, Bindings, FunctionReturn, Pattern, RunStatus, StepSource, Workflow, WorkflowError,
};
use serde_json::{json, Value};

use crate::common::{probe, Fixture};

/// A function that counts its calls and, while `block` is set, never
/// returns (the run is then interrupted by dropping its future).
fn gate(b: &mut Bindings, calls: Arc<AtomicUsize>, block: Arc<AtomicBool>) -> Value {
    b.function(script_fn("gate", move |call| {
        calls.fetch_add(1, Ordering::SeqCst);
        let blocked = block.load(Ordering::SeqCst);
        async move {
            if blocked {
                std::future::pending::<()>().await;
            }
            Ok(FunctionReturn::output(call.input))
        }
    }))
}

/// Runs `wf` until it blocks, then drops the run: the process "dies".
async fn interrupt(f: &Fixture, wf: &Workflow, input: Value) -> uuid::Uuid {
    let before = f.runtime.runs().await.unwrap().len();
    let cut = tokio::time::timeout(Duration::from_millis(300), f.runtime.execute(wf, input)).await;
    assert!(cut.is_err(), "the run should have blocked");
    let runs = f.runtime.runs().await.unwrap();
    assert_eq!(runs.len(), before + 1);
    let run = runs.last().unwrap();
    assert_eq!(run.status, RunStatus::Running);
    run.run_id
}

#[tokio::test]
async fn an_interrupted_run_resumes_without_rerunning_completed_steps() {
    let f = Fixture::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let block = Arc::new(AtomicBool::new(true));
    let mut b = Bindings::new();
    let g = gate(&mut b, Arc::clone(&calls), Arc::clone(&block));
    let wf = f.create_with(
        Pattern::Sequential,
        json!({"name": "resumable", "steps": [
            probe("one", json!({"result": "{{input:x}}"})),
            {"name": "two", "tool": "calculator", "input": {"expression": "{{step:one:output}} * 2"}},
            {"name": "three", "fn": g, "input": {"two": "{{step:two:output.result}}"}},
            probe("four", json!({"result": "{{step:three:output.two}}"})),
        ]}),
        &b,
    );
    let run_id = interrupt(&f, &wf, json!({"x": 21})).await;
    let info = f.runtime.run_info(run_id).await.unwrap().unwrap();
    assert_eq!(info.steps_completed, 2);
    assert_eq!(info.last_step.as_deref(), Some("/two"));
    assert_eq!(f.calls("probe").len(), 1);

    block.store(false, Ordering::SeqCst);
    let r = f.runtime.resume(run_id).await.unwrap();
    assert!(r.success, "{:?}", r.error);
    assert_eq!(r.run_id, run_id);
    assert_eq!(r.data["four"], json!(42));
    assert_eq!(f.calls("probe").len(), 2, "`one` ran once, `four` once");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "`three` ran again: it never completed"
    );
    let sources: Vec<StepSource> = r.steps.iter().map(|s| s.source).collect();
    assert_eq!(
        sources,
        [
            StepSource::Checkpoint,
            StepSource::Checkpoint,
            StepSource::Executed,
            StepSource::Executed
        ]
    );
    let info = f.runtime.run_info(run_id).await.unwrap().unwrap();
    assert_eq!(info.status, RunStatus::Completed);
    assert_eq!(info.steps_completed, 4);

    // A completed run is not resumed again.
    match f.runtime.resume(run_id).await {
        Err(WorkflowError::NotResumable { reason, .. }) => assert_eq!(reason, "it completed"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_failed_run_resumes_from_the_failed_step_with_its_state() {
    let f = Fixture::new();
    let mut b = Bindings::new();
    let set = b.function(script_fn("set", |call| async move {
        let mut state = call.state;
        state.insert("token".into(), json!("t-1"));
        Ok(FunctionReturn::with_state(json!("set"), state))
    }));
    let wf = f.create_with(
        Pattern::Sequential,
        json!({"name": "retry_later", "steps": [
            probe("one", json!({})),
            {"name": "login", "fn": set},
            {"name": "check", "tool": "calculator", "input": {"expression": "{{state:budget}} + 1"}},
            probe("done", json!({"token": "{{state:token}}"})),
        ]}),
        &b,
    );
    let r = f.runtime.execute(&wf, json!({})).await.unwrap();
    assert!(!r.success);
    assert!(r
        .error
        .as_deref()
        .unwrap()
        .contains("state key `budget` is not set"));
    let info = f.runtime.run_info(r.run_id).await.unwrap().unwrap();
    assert_eq!(info.status, RunStatus::Failed);
    assert!(!info.compensated);

    // Fix the cause; a run in another runtime sharing the state would see
    // the token restored from the checkpoint too.
    f.runtime.state().delete("token").await.unwrap();
    f.runtime.state().set("budget", json!(9)).await.unwrap();
    let again = f.runtime.resume(r.run_id).await.unwrap();
    assert!(again.success, "{:?}", again.error);
    assert_eq!(again.data["check"]["result"], json!(10));
    assert_eq!(
        again.data["done"],
        json!({"token": "t-1"}),
        "state written by `login` was restored"
    );
    assert_eq!(f.calls("probe").len(), 2, "`one` ran once");
}

#[tokio::test]
async fn decisions_come_out_the_same_on_resume() {
    let f = Fixture::new();
    let block = Arc::new(AtomicBool::new(true));
    let mut b = Bindings::new();
    let g = gate(&mut b, Arc::new(AtomicUsize::new(0)), Arc::clone(&block));
    f.runtime
        .state()
        .set("items", json!(["a", "b", "c"]))
        .await
        .unwrap();
    f.runtime.state().set("route", json!("left")).await.unwrap();
    let wf = f.create_with(
        Pattern::Loop,
        json!({"name": "decide", "iterator": {"collection": "{{state:items}}"}, "body": [
            probe("item", json!({"result": "{{loop:current_value}}"})),
            {"name": "route", "workflow": {"type": "conditional", "branches": [
                {"name": "left", "condition": "state.route == \"left\"", "steps": [{"name": "l", "fn": g, "input": {"i": "{{loop:index}}"}}]},
                {"name": "right", "default": true, "steps": [probe("r", json!({}))]},
            ]}},
        ]}),
        &b,
    );
    let run_id = interrupt(&f, &wf, json!({})).await;
    // The world changes while the run is down...
    f.runtime.state().set("items", json!(["z"])).await.unwrap();
    f.runtime
        .state()
        .set("route", json!("right"))
        .await
        .unwrap();
    block.store(false, Ordering::SeqCst);
    let r = f.runtime.resume(run_id).await.unwrap();
    assert!(r.success, "{:?}", r.error);
    // ...but the items and the first iteration's branch are the recorded ones.
    assert_eq!(r.data["item"], json!(["a", "b", "c"]));
    assert_eq!(r.data["route"][0], json!({"l": {"i": 0}}));
    assert_eq!(
        r.data["route"][1],
        json!({"r": {}}),
        "later decisions see the new state"
    );
}

#[tokio::test]
async fn parallel_runs_resume_per_branch() {
    let f = Fixture::new();
    let block = Arc::new(AtomicBool::new(true));
    let gate_calls = Arc::new(AtomicUsize::new(0));
    let mut b = Bindings::new();
    let g = gate(&mut b, Arc::clone(&gate_calls), Arc::clone(&block));
    let wf = f.create_with(
        Pattern::Parallel,
        json!({"name": "par", "branches": [
            {"name": "a", "steps": [probe("s1", json!({"result": "a1"})), probe("s2", json!({"result": "a2"}))]},
            {"name": "b", "steps": [probe("s1", json!({"result": "b1"})), {"name": "wait", "fn": g}]},
        ]}),
        &b,
    );
    let run_id = interrupt(&f, &wf, json!({})).await;
    assert_eq!(f.calls("probe").len(), 3);
    block.store(false, Ordering::SeqCst);
    let r = f.runtime.resume(run_id).await.unwrap();
    assert!(r.success, "{:?}", r.error);
    assert_eq!(f.calls("probe").len(), 3, "no probe step ran twice");
    assert_eq!(r.data["a"], json!({"s1": "a1", "s2": "a2"}));
    assert_eq!(r.data["b"]["s1"], json!("b1"));
    assert_eq!(gate_calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn resume_refuses_what_it_cannot_continue() {
    let f = Fixture::new();
    let missing = uuid::Uuid::now_v7();
    assert!(matches!(
        f.runtime.resume(missing).await,
        Err(WorkflowError::RunNotFound { .. })
    ));
    let block = Arc::new(AtomicBool::new(true));
    let mut b = Bindings::new();
    let g = gate(&mut b, Arc::new(AtomicUsize::new(0)), block);
    let wf = f.create_with(
        Pattern::Sequential,
        json!({"name": "changing", "steps": [probe("one", json!({})), {"name": "g", "fn": g}]}),
        &b,
    );
    let run_id = interrupt(&f, &wf, json!({})).await;
    // The definition changed since the run started.
    f.create(
        json!({"type": "sequential", "name": "changing", "steps": [probe("other", json!({}))]}),
    );
    match f.runtime.resume(run_id).await {
        Err(e @ WorkflowError::DefinitionChanged { .. }) => {
            assert!(e.to_string().contains("changed since run"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // The workflow is gone.
    f.runtime.remove("changing");
    match f.runtime.resume(run_id).await {
        Err(e @ WorkflowError::UnknownWorkflow { .. }) => {
            assert!(e.to_string().contains("`changing` is not defined"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // Forgetting a run.
    assert!(f.runtime.delete_run(run_id).await.unwrap());
    assert!(f.runtime.run_info(run_id).await.unwrap().is_none());
    assert!(!f.runtime.delete_run(run_id).await.unwrap());
}

#[tokio::test]
async fn compensations_run_in_reverse_order_on_failure() {
    let f = Fixture::new();
    let step = |name: &str| {
        json!({"name": name, "tool": "probe", "input": {"result": {"id": format!("{name}-id")}},
               "compensate": {"tool": "undo", "input": {"undo": "{{step:NAME:output.id}}".replace("NAME", name)}}})
    };
    let wf = f.create(json!({"type": "sequential", "name": "saga", "steps": [
        step("a"), probe("plain", json!({})), step("b"),
        {"name": "nested", "workflow": {"type": "sequential", "steps": [step("c")]}},
        probe("boom", json!({"fail": "payment declined"})),
        step("never"),
    ]}));
    let r = f.runtime.execute(&wf, json!({})).await.unwrap();
    assert!(!r.success);
    let undone: Vec<Value> = f.calls("undo");
    assert_eq!(
        undone,
        [
            json!({"undo": "c-id"}),
            json!({"undo": "b-id"}),
            json!({"undo": "a-id"})
        ]
    );
    let order: Vec<&str> = r.compensations.iter().map(|c| c.step.as_str()).collect();
    assert_eq!(order, ["c", "b", "a"]);
    assert!(r
        .compensations
        .iter()
        .all(|c| c.success && c.tool == "undo"));
    let info = f.runtime.run_info(r.run_id).await.unwrap().unwrap();
    assert!(info.compensated);
    assert!(matches!(
        f.runtime.resume(r.run_id).await,
        Err(WorkflowError::NotResumable { .. })
    ));
    // A successful run compensates nothing.
    let ok = f.create(json!({"type": "sequential", "name": "fine", "steps": [step("a")]}));
    let r = f.runtime.execute(&ok, json!({})).await.unwrap();
    assert!(r.success && r.compensations.is_empty());
    assert_eq!(f.calls("undo").len(), 3);
}

#[tokio::test]
async fn runs_are_listed_with_their_status() {
    let f = Fixture::new();
    let ok =
        f.create(json!({"type": "sequential", "name": "ok", "steps": [probe("a", json!({}))]}));
    let bad = f.create(
        json!({"type": "sequential", "name": "bad", "steps": [probe("a", json!({"fail": "x"}))]}),
    );
    let r1 = f.runtime.execute(&ok, json!({})).await.unwrap();
    let r2 = f.runtime.execute(&bad, json!({})).await.unwrap();
    let runs = f.runtime.runs().await.unwrap();
    let summary: Vec<(uuid::Uuid, &str, RunStatus)> = runs
        .iter()
        .map(|r| (r.run_id, r.workflow_name.as_str(), r.status))
        .collect();
    assert_eq!(
        summary,
        [
            (r1.run_id, "ok", RunStatus::Completed),
            (r2.run_id, "bad", RunStatus::Failed)
        ]
    );
    assert_eq!(runs[1].error.as_deref(), r2.error.as_deref());
    assert_eq!(runs[0].pattern, "sequential");
    assert!(runs[0].started_at <= runs[1].started_at);

    // Without a run store nothing is recorded.
    let bare = Fixture::with(|b| b.without_run_store());
    let wf =
        bare.create(json!({"type": "sequential", "name": "ok", "steps": [probe("a", json!({}))]}));
    assert!(bare.runtime.execute(&wf, json!({})).await.unwrap().success);
    assert!(bare.runtime.runs().await.unwrap().is_empty());
}

// ----- across processes -----

const CHILD_DIR: &str = "LLMSPELL_WORKFLOWS_KILL_TEST_DIR";

/// The workflow of the kill test; `block` makes step `three` wait forever
/// (after telling the parent it is there).
fn kill_workflow(f: &Fixture, dir: &Path, block: bool) -> Workflow {
    let mut b = Bindings::new();
    let log = dir.join("log");
    let mark = b.function(script_fn("mark", move |call| {
        let step = call.context["step_name"].as_str().unwrap_or("?").to_owned();
        let log = log.clone();
        async move {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)?;
            writeln!(file, "{step}")?;
            Ok(FunctionReturn::output(json!(step)))
        }
    }));
    let ready = dir.join("ready");
    let wait = b.function(script_fn("wait", move |_| {
        let ready = ready.clone();
        async move {
            if block {
                std::fs::write(&ready, b"ready")?;
                tokio::time::sleep(Duration::from_secs(120)).await;
            }
            Ok(FunctionReturn::output(json!("waited")))
        }
    }));
    f.create_with(
        Pattern::Sequential,
        json!({"name": "killable", "steps": [
            {"name": "one", "fn": mark},
            {"name": "two", "fn": mark},
            {"name": "three", "fn": wait},
            {"name": "four", "fn": mark},
        ]}),
        &b,
    )
}

fn sled_fixture(dir: &Path) -> Fixture {
    let backend: Arc<dyn StorageBackend> = Arc::new(SledBackend::open(dir.join("store")).unwrap());
    Fixture::with(|b| b.run_store(backend))
}

/// The child half of the kill test: runs the workflow on a sled store
/// until it is killed. Does nothing unless started by the parent.
#[tokio::test]
#[ignore = "started by a_run_killed_with_sigkill_resumes_in_another_process"]
async fn kill_test_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let f = sled_fixture(&dir);
    let wf = kill_workflow(&f, &dir, true);
    let _ = f.runtime.execute(&wf, json!({})).await;
    unreachable!("the parent kills this process while step `three` waits");
}

#[test]
fn a_run_killed_with_sigkill_resumes_in_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "durability::kill_test_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dir.path().join("ready").exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child exited early: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "the child never reached step `three`"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL on Unix: no destructor, no flush
    child.wait().unwrap();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let f = sled_fixture(dir.path());
        kill_workflow(&f, dir.path(), false);
        let runs = f.runtime.runs().await.unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].status, RunStatus::Running);
        assert_eq!(runs[0].steps_completed, 2);
        let r = f.runtime.resume(runs[0].run_id).await.unwrap();
        assert!(r.success, "{:?}", r.error);
        assert_eq!(r.data["four"], json!("four"));
    });
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        ["one", "two", "four"],
        "each completed step ran once"
    );
}

#[tokio::test]
async fn the_next_execution_of_the_workflow_can_resume_a_run() {
    let f = Fixture::new();
    let block = Arc::new(AtomicBool::new(true));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut b = Bindings::new();
    let g = gate(&mut b, Arc::clone(&calls), Arc::clone(&block));
    let wf = f.create_with(
        Pattern::Sequential,
        json!({"name": "again", "steps": [probe("one", json!({"result": "{{input:x}}"})), {"name": "g", "fn": g}]}),
        &b,
    );
    let other =
        f.create(json!({"type": "sequential", "name": "other", "steps": [probe("o", json!({}))]}));
    let run_id = interrupt(&f, &wf, json!({"x": 1})).await;
    block.store(false, Ordering::SeqCst);
    assert_eq!(
        f.runtime.resume_on_next_execute(run_id).await.unwrap(),
        "again"
    );
    // Another workflow runs as usual.
    let o = f.runtime.execute(&other, json!({})).await.unwrap();
    assert_ne!(o.run_id, run_id);
    // The next execution of `again` continues the run, with its own input.
    let r = f.runtime.execute(&wf, json!({"x": 99})).await.unwrap();
    assert!(r.success, "{:?}", r.error);
    assert_eq!(r.run_id, run_id);
    assert_eq!(r.data["one"], json!(1));
    assert_eq!(f.calls("probe").len(), 2, "`one` ran once, `o` once");
    // The one after that is a new run.
    let next = f.runtime.execute(&wf, json!({"x": 2})).await.unwrap();
    assert_ne!(next.run_id, run_id);
    assert_eq!(f.runtime.take_pending_resume(), None);
    // A completed run cannot be armed.
    assert!(matches!(
        f.runtime.resume_on_next_execute(run_id).await,
        Err(WorkflowError::NotResumable { .. })
    ));
}
