//! Sequential workflows, references, script functions, state and nesting.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use llmspell_workflows::{script_fn, Bindings, FunctionReturn, Pattern, StepSource};
use serde_json::{json, Value};

use crate::common::{counting, probe, Fixture};

#[tokio::test]
async fn steps_run_in_order_and_the_result_has_the_pinned_shape() {
    let f = Fixture::new();
    let wf = f.create(json!({
        "type": "sequential",
        "name": "pipeline",
        "steps": [
            probe("first", json!({"result": {"n": 1, "items": ["a", "b"]}})),
            {"name": "calc", "tool": "calculator", "input": {"expression": "{{step:first:output.n}} + 41"}},
            probe("last", json!({"n": "{{step:calc:output.result}}", "text": "got {{step:calc:output.result}}"})),
        ]
    }));
    let r = f.runtime.execute(&wf, Value::Null).await.unwrap();
    assert!(r.success, "{:?}", r.error);
    assert_eq!(r.error, None);
    assert_eq!(r.data["first"], json!({"n": 1, "items": ["a", "b"]}));
    assert_eq!(r.data["calc"]["result"], json!(42));
    assert_eq!(r.data["last"], json!({"n": 42, "text": "got 42"}));
    let names: Vec<&str> = r.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["first", "calc", "last"]);
    assert!(r
        .steps
        .iter()
        .all(|s| s.success && s.source == StepSource::Executed));
    assert!(r.duration_ms >= r.steps.iter().map(|s| s.duration_ms).sum::<f64>() * 0.5);
    assert_eq!(r.run_id.get_version_num(), 7);
    assert_eq!(r.workflow_name, "pipeline");
    assert_eq!(r.pattern, Pattern::Sequential);

    let j = r.to_json();
    for key in ["success", "data", "error", "steps", "duration_ms", "run_id"] {
        assert!(j.get(key).is_some(), "result JSON lacks `{key}`: {j}");
    }
    for key in ["name", "success", "output", "duration_ms"] {
        assert!(j["steps"][0].get(key).is_some(), "step JSON lacks `{key}`");
    }
}

#[tokio::test]
async fn every_reference_form_is_substituted() {
    let f = Fixture::new();
    f.runtime
        .state()
        .set("mode", json!({"level": 3}))
        .await
        .unwrap();
    let wf = f.create(json!({
        "type": "sequential",
        "steps": [
            probe("src", json!({"result": {"obj": {"k": [10, 20]}, "s": "txt", "n": 1.5, "t": true, "z": null}})),
            probe("use", json!({
                "whole": "{{step:src:output}}",
                "path": "{{step:src:output.obj.k.1}}",
                "obj": "{{step:src:output.obj}}",
                "embedded_obj": "o={{step:src:output.obj}}",
                "embedded": "{{step:src:output.s}}-{{step:src:output.n}}-{{step:src:output.t}}-{{step:src:output.z}}",
                "input": "{{input:user.name}}",
                "input_typed": "{{input:user.age}}",
                "state": "{{state:mode.level}}",
                "state_whole": "{{state:mode}}",
                "foreign": "{{name}} stays",
                "nested": [{"deep": "{{input:user.age}}"}]
            })),
        ]
    }));
    let r = f
        .runtime
        .execute(&wf, json!({"user": {"name": "ann", "age": 41}}))
        .await
        .unwrap();
    assert!(r.success, "{:?}", r.error);
    let used = &r.data["use"];
    assert_eq!(used["whole"], r.data["src"]);
    assert_eq!(used["path"], json!(20));
    assert_eq!(used["obj"], json!({"k": [10, 20]}));
    assert_eq!(used["embedded_obj"], json!(r#"o={"k":[10,20]}"#));
    assert_eq!(used["embedded"], json!("txt-1.5-true-null"));
    assert_eq!(used["input"], json!("ann"));
    assert_eq!(used["input_typed"], json!(41));
    assert_eq!(used["state"], json!(3));
    assert_eq!(used["state_whole"], json!({"level": 3}));
    assert_eq!(used["foreign"], json!("{{name}} stays"));
    assert_eq!(used["nested"], json!([{"deep": 41}]));
}

#[tokio::test]
async fn unknown_steps_and_paths_fail_the_step_naming_it_and_the_reference() {
    let f = Fixture::new();
    for (input, needle) in [
        (
            json!({"x": "{{step:nope:output}}"}),
            "step `nope` has not run here (outputs available: [a])",
        ),
        (
            json!({"x": "{{step:a:output.missing}}"}),
            "the output of step `a` has no `missing`",
        ),
        (
            json!({"x": "{{step:later:output}}"}),
            "step `later` has not run here",
        ),
        (
            json!({"x": "{{input:absent}}"}),
            "the workflow input has no `absent`",
        ),
        (
            json!({"x": "{{state:unset}}"}),
            "state key `unset` is not set",
        ),
        (json!({"x": "{{loop:index}}"}), "used outside a loop body"),
    ] {
        let wf = f.create(json!({
            "type": "sequential",
            "steps": [probe("a", json!({"result": {"v": 1}})), probe("b", input.clone()), probe("later", json!({}))]
        }));
        let r = f.runtime.execute(&wf, json!({})).await.unwrap();
        assert!(!r.success);
        let error = r.error.unwrap();
        let reference = input["x"].as_str().unwrap();
        assert!(error.starts_with("step `b` failed: "), "{error}");
        assert!(error.contains(reference), "{error} lacks {reference}");
        assert!(error.contains(needle), "{error} lacks {needle}");
        assert_eq!(r.steps.len(), 2, "the workflow stops at the failing step");
        assert!(!r.steps[1].success);
        assert!(r.steps[1].error.as_deref().unwrap().contains(needle));
        assert!(!r.data.contains_key("later"));
    }
}

#[tokio::test]
async fn a_failing_step_is_a_result_not_an_error() {
    let f = Fixture::new();
    let wf = f.create(json!({
        "type": "sequential",
        "steps": [probe("ok", json!({})), probe("boom", json!({"fail": "disk full"})), probe("never", json!({}))]
    }));
    let r = f.runtime.execute(&wf, json!({})).await.unwrap();
    assert!(!r.success);
    assert_eq!(
        r.error.as_deref(),
        Some("step `boom` failed: tool `probe` failed: disk full")
    );
    assert_eq!(r.data.keys().collect::<Vec<_>>(), ["ok"]);
    assert_eq!(f.calls("probe").len(), 2);
}

#[tokio::test]
async fn script_functions_get_input_state_and_context_and_write_state() {
    let f = Fixture::new();
    f.runtime.state().set("count", json!(1)).await.unwrap();
    f.runtime.state().set("drop_me", json!("x")).await.unwrap();
    let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let mut b = Bindings::new();
    let seen2 = Arc::clone(&seen);
    let bump = b.function(script_fn("bump", move |call| {
        seen2.lock().push(call.clone());
        async move {
            let mut state = call.state;
            let n = state["count"].as_i64().unwrap_or(0);
            state.insert("count".into(), json!(n + 1));
            state.remove("drop_me");
            Ok(FunctionReturn::with_state(json!({"was": n}), state))
        }
    }));
    let fails = b.function(script_fn("fails", |_| async {
        Err("nope, not today".into())
    }));
    let wf = f.create_with(
        Pattern::Sequential,
        json!({"name": "fns", "steps": [
            probe("p", json!({"result": 5})),
            {"name": "bump", "fn": bump},
            {"name": "bump2", "fn": bump, "input": {"from": "{{step:bump:output.was}}"}},
            probe("after", json!({"count": "{{state:count}}"})),
            {"name": "fails", "fn": fails},
        ]}),
        &b,
    );
    let r = f.runtime.execute(&wf, json!({"k": "v"})).await.unwrap();
    assert_eq!(r.data["bump"], json!({"was": 1}));
    assert_eq!(r.data["bump2"], json!({"was": 2}));
    assert_eq!(r.data["after"], json!({"count": 3}));
    assert_eq!(
        f.runtime.state().get("count").await.unwrap(),
        Some(json!(3))
    );
    assert_eq!(f.runtime.state().get("drop_me").await.unwrap(), None);
    assert!(!r.success);
    assert_eq!(
        r.error.as_deref(),
        Some("step `fails` failed: nope, not today")
    );

    let calls = seen.lock();
    // No input: the workflow input. With input: the resolved input.
    assert_eq!(calls[0].input, json!({"k": "v"}));
    assert_eq!(calls[1].input, json!({"from": 1}));
    assert_eq!(calls[0].state["count"], json!(1));
    let ctx = &calls[1].context;
    assert_eq!(ctx["workflow_name"], "fns");
    assert_eq!(ctx["step_name"], "bump2");
    assert_eq!(ctx["run_id"], json!(r.run_id));
    assert_eq!(ctx["steps"]["p"]["output"], json!(5));
    assert_eq!(ctx["steps"]["bump"]["output"], json!({"was": 1}));
}

#[tokio::test]
async fn patterns_nest_three_levels_deep() {
    let f = Fixture::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let mut b = Bindings::new();
    let count = counting(&mut b, Arc::clone(&calls));
    // level 3: a loop over the collection handed down from level 2
    let level3 = f.create_with(
        Pattern::Loop,
        json!({"name": "level3", "iterator": {"collection": "{{input:items}}"},
               "body": [{"name": "each", "fn": count, "input": {"v": "{{loop:current_value}}", "outer": "{{step:head:output.tag}}"}}]}),
        &b,
    );
    let mut b2 = Bindings::new();
    let l3 = b2.workflow(&level3);
    // level 2: a parallel with the loop in one branch and a conditional in another
    let level2 = f.create_with(
        Pattern::Parallel,
        json!({"name": "level2", "branches": [
            {"name": "looped", "steps": [{"name": "inner_loop", "workflow": l3, "input": {"items": "{{input:items}}"}}]},
            {"name": "routed", "steps": [{"name": "route", "workflow": {
                "type": "conditional",
                "branches": [{"name": "big", "condition": "len(input.items) > 2", "steps": [probe("big", json!({"result": "big"}))]},
                             {"name": "small", "default": true, "steps": [probe("small", json!({"result": "small"}))]}]
            }}]}
        ]}),
        &b2,
    );
    // level 1: sequential
    let level1 = f.create(json!({
        "type": "sequential", "name": "level1",
        "steps": [
            probe("head", json!({"result": {"tag": "T"}})),
            {"name": "fan", "workflow": "level2", "input": {"items": "{{input:items}}"}},
            probe("tail", json!({"route": "{{step:fan:output.routed.route.big}}", "looped": "{{step:fan:output.looped.inner_loop.each}}"})),
        ]
    }));
    let _ = level2;
    let r = f
        .runtime
        .execute(&level1, json!({"items": [1, 2, 3]}))
        .await
        .unwrap();
    assert!(r.success, "{:?}", r.error);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(r.data["tail"]["route"], json!("big"));
    assert_eq!(
        r.data["tail"]["looped"],
        json!([{"v": 1, "outer": "T"}, {"v": 2, "outer": "T"}, {"v": 3, "outer": "T"}])
    );
    // A failure three levels down fails the top, naming the path.
    let r = f
        .runtime
        .execute(&level1, json!({"items": "oops"}))
        .await
        .unwrap();
    assert!(!r.success);
    let e = r.error.unwrap();
    assert!(
        e.starts_with("step `fan` failed: workflow `level2`: "),
        "{e}"
    );
    assert!(e.contains("not a list"), "{e}");
}
