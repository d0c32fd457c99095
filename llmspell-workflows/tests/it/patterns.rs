//! Conditional, loop and parallel workflows.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_workflows::{script_fn, Bindings, FunctionReturn, Pattern};
use serde_json::{json, Value};

use crate::common::{constant, probe, Fixture};

fn branch(name: &str, condition: Value, step: &str) -> Value {
    json!({"name": name, "condition": condition, "steps": [probe(step, json!({"result": step}))]})
}

/// The condition types of rs-llmspell scripts: `always`, `never`,
/// `shared_data_equals`, `shared_data_exists`, `step_output_contains`.
#[tokio::test]
async fn rs_llmspell_condition_types() {
    let f = Fixture::new();
    let route = json!({"type": "conditional", "branches": [
        branch("off", json!({"type": "never"}), "never"),
        branch("urgent", json!({"type": "shared_data_equals", "key": "priority", "expected": "urgent"}), "u"),
        branch("counted", json!({"type": "shared_data_equals", "key": "count", "value": 2}), "c"),
        branch("user", json!({"type": "shared_data_exists", "key": "user_id"}), "x"),
        branch("tech", json!({"type": "step_output_contains", "step_name": "classify", "substring": "technical"}), "t"),
        branch("rest", json!({"type": "always"}), "a"),
    ]});
    let wf = f.create(json!({"type": "sequential", "name": "compat", "steps": [
        {"name": "classify", "tool": "probe", "input": {"result": "{{input:kind}}"}},
        {"name": "route", "workflow": route},
    ]}));
    let state = f.runtime.state();
    let run = |kind: &'static str| {
        let wf = wf.clone();
        let rt = f.runtime.clone();
        async move {
            let r = rt.execute(&wf, json!({"kind": kind})).await.unwrap();
            assert!(r.success, "{:?}", r.error);
            let route = r.data["route"].as_object().unwrap().clone();
            route.keys().next().cloned().unwrap()
        }
    };
    assert_eq!(run("a technical issue").await, "t");
    assert_eq!(run("billing").await, "a");
    state.set("user_id", json!(null)).await.unwrap();
    assert_eq!(run("billing").await, "a", "null is not set");
    state.set("user_id", json!("u1")).await.unwrap();
    assert_eq!(run("billing").await, "x");
    state.set("count", json!(2.0)).await.unwrap();
    assert_eq!(run("billing").await, "c", "2.0 equals 2");
    state.set("priority", json!("urgent")).await.unwrap();
    assert_eq!(run("billing").await, "u");

    // A step that has not run is an error naming it.
    let bad = f.create(json!({"type": "conditional", "name": "early", "branches": [
        branch("b", json!({"type": "step_output_contains", "step_name": "later", "substring": "x"}), "s"),
    ]}));
    let r = f.runtime.execute(&bad, json!({})).await.unwrap();
    assert!(!r.success);
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("step `later` has not run"),
        "{:?}",
        r.error
    );

    // Their fields are checked when the workflow is created.
    for (condition, field) in [
        (
            json!({"type": "shared_data_equals", "key": "k"}),
            "branches[1].condition.value",
        ),
        (
            json!({"type": "shared_data_exists"}),
            "branches[1].condition.key",
        ),
        (
            json!({"type": "step_output_contains", "step_name": "s"}),
            "branches[1].condition.substring",
        ),
        (json!({"type": "sometimes"}), "branches[1].condition.type"),
    ] {
        let err = f
            .runtime
            .create(&json!({"type": "conditional", "name": "c", "branches": [branch("b", condition, "s")]}))
            .unwrap_err()
            .to_string();
        assert!(err.contains(field), "{err}");
    }
}

#[tokio::test]
async fn conditions_of_all_three_kinds() {
    let f = Fixture::new();
    f.runtime.state().set("ready", json!(true)).await.unwrap();
    let mut b = Bindings::new();
    let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let is_vip = b.function(script_fn("is_vip", move |call| {
        seen2.lock().push((call.input.clone(), call.state.clone()));
        async move { Ok(FunctionReturn::output(json!(call.input["user"] == "vip"))) }
    }));
    let wf = f.create_with(
        Pattern::Conditional,
        json!({"name": "route", "branches": [
            branch("expr", json!({"type": "expression", "expression": "input.n > 10 && state.ready"}), "e"),
            branch("short", json!("input.n == 5"), "s"),
            branch("tool", json!({"tool": "probe", "input": {"result": "{{input:flag}}"}}), "t"),
            branch("func", is_vip, "fn"),
            {"name": "fallback", "default": true, "steps": [probe("d", json!({"result": "d"}))]},
        ]}),
        &b,
    );
    for (input, want) in [
        (json!({"n": 11, "flag": false, "user": "x"}), "e"),
        (json!({"n": 5, "flag": false, "user": "x"}), "s"),
        (json!({"n": 1, "flag": {"valid": true}, "user": "x"}), "t"),
        (json!({"n": 1, "flag": 0, "user": "vip"}), "fn"),
        (json!({"n": 1, "flag": "", "user": "x"}), "d"),
    ] {
        let r = f.runtime.execute(&wf, input.clone()).await.unwrap();
        assert!(r.success, "{input}: {:?}", r.error);
        assert_eq!(r.data.keys().collect::<Vec<_>>(), [want], "{input}");
        assert_eq!(
            r.steps[0].branch.as_deref(),
            Some(match want {
                "e" => "expr",
                "s" => "short",
                "t" => "tool",
                "fn" => "func",
                _ => "fallback",
            })
        );
    }
    // The function condition got the workflow input and the state.
    let (input, state) = seen.lock()[0].clone();
    assert_eq!(input["user"], "vip");
    assert_eq!(state["ready"], json!(true));
    // Without the state key, `state.ready` is null: false.
    f.runtime.state().delete("ready").await.unwrap();
    let r = f
        .runtime
        .execute(&wf, json!({"n": 11, "flag": 0, "user": "x"}))
        .await
        .unwrap();
    assert_eq!(r.data.keys().collect::<Vec<_>>(), ["d"]);
    // A condition that cannot be evaluated fails the workflow, naming it.
    let bad = f.create(
        json!({"type": "conditional", "name": "bad_expr", "branches": [
        branch("cmp", json!("input.missing > 3"), "x")]}),
    );
    let r = f.runtime.execute(&bad, json!({})).await.unwrap();
    assert!(!r.success);
    let e = r.error.unwrap();
    assert!(
        e.starts_with("branch `cmp` condition: evaluating `input.missing > 3`"),
        "{e}"
    );
}

#[tokio::test]
async fn first_match_by_default_or_every_match_with_mode_all() {
    let f = Fixture::new();
    let branches = json!([
        branch("a", json!("input.n > 1"), "a"),
        branch("b", json!("input.n > 2"), "b"),
        branch("c", json!("input.n > 100"), "c"),
        {"name": "z", "default": true, "steps": [probe("z", json!({"result": "z"}))]},
    ]);
    let first = f.create(json!({"type": "conditional", "name": "first", "branches": branches}));
    let all = f
        .create(json!({"type": "conditional", "name": "all", "mode": "all", "branches": branches}));
    let r = f.runtime.execute(&first, json!({"n": 5})).await.unwrap();
    assert_eq!(r.data.keys().collect::<Vec<_>>(), ["a"]);
    let r = f.runtime.execute(&all, json!({"n": 5})).await.unwrap();
    assert_eq!(r.data.keys().collect::<Vec<_>>(), ["a", "b"]);
    let r = f.runtime.execute(&all, json!({"n": 0})).await.unwrap();
    assert_eq!(r.data.keys().collect::<Vec<_>>(), ["z"]);
    // No match and no default: success, nothing ran.
    let none = f.create(json!({"type": "conditional", "name": "none", "branches": [branch("a", json!("input.n > 1"), "a")]}));
    let r = f.runtime.execute(&none, json!({"n": 0})).await.unwrap();
    assert!(r.success && r.data.is_empty() && r.steps.is_empty());
    // A failing tool condition fails the workflow.
    let bad = f.create(json!({"type": "conditional", "name": "bad", "branches": [
        branch("a", json!({"tool": "probe", "input": {"fail": "no"}}), "a")]}));
    let r = f.runtime.execute(&bad, json!({})).await.unwrap();
    assert_eq!(
        r.error.as_deref(),
        Some("branch `a` condition: tool `probe` failed: no")
    );
}

#[tokio::test]
async fn range_loops_are_end_exclusive_and_aggregate() {
    let f = Fixture::new();
    let body = json!([
        probe("sq", json!({"result": "{{loop:current_value}}"})),
        probe("idx", json!({"result": "{{loop:index}}"}))
    ]);
    let wf = f.create(json!({"type": "loop", "name": "r", "iterator": {"range": {"start": 1, "end": 5}}, "body": body}));
    let r = f.runtime.execute(&wf, json!({})).await.unwrap();
    assert!(r.success, "{:?}", r.error);
    assert_eq!(r.data["sq"], json!([1, 2, 3, 4]));
    assert_eq!(r.data["idx"], json!([0, 1, 2, 3]));
    assert_eq!(r.steps.len(), 8);
    assert_eq!(r.steps[2].iteration, Some(1));

    let down = f.create(
        json!({"type": "loop", "name": "d", "aggregation_strategy": "last",
        "iterator": {"range": {"start": 10, "end": "{{input:stop}}", "step": -3}}, "body": body}),
    );
    let r = f.runtime.execute(&down, json!({"stop": 0})).await.unwrap();
    assert_eq!(r.data["sq"], json!(1), "10, 7, 4, 1: last is 1");
    assert_eq!(r.data["idx"], json!(3));

    let none = f.create(
        json!({"type": "loop", "name": "n", "aggregation_strategy": "none",
        "iterator": {"range": {"end": 3}}, "body": body}),
    );
    let r = f.runtime.execute(&none, json!({})).await.unwrap();
    assert!(r.success && r.data.is_empty());
    assert_eq!(r.steps.len(), 6);

    let empty = f.create(json!({"type": "loop", "name": "e", "iterator": {"range": {"start": 3, "end": 3}}, "body": body}));
    let r = f.runtime.execute(&empty, json!({})).await.unwrap();
    assert!(r.success && r.steps.is_empty());
}

#[tokio::test]
async fn collection_loops_over_literals_and_references() {
    let f = Fixture::new();
    let body = json!([probe(
        "price",
        json!({"result": "{{loop:current_item.price}}"})
    )]);
    let lit = f.create(json!({"type": "loop", "name": "lit",
        "iterator": {"collection": [{"price": 2}, {"price": 3}]}, "body": body}));
    let r = f.runtime.execute(&lit, json!({})).await.unwrap();
    assert_eq!(r.data["price"], json!([2, 3]));
    let by_ref = f.create(json!({"type": "loop", "name": "ref",
        "iterator": {"collection": "{{input:items}}"}, "body": body}));
    let r = f
        .runtime
        .execute(&by_ref, json!({"items": [{"price": 7}]}))
        .await
        .unwrap();
    assert_eq!(r.data["price"], json!([7]));
    let r = f
        .runtime
        .execute(&by_ref, json!({"items": 3}))
        .await
        .unwrap();
    assert_eq!(r.error.as_deref(), Some("loop collection: 3 is not a list"));
}

#[tokio::test]
async fn while_loops_break_conditions_and_max_iterations() {
    let f = Fixture::new();
    let mut b = Bindings::new();
    let inc = b.function(script_fn("inc", |call| async move {
        let mut state = call.state;
        let n = state.get("n").and_then(Value::as_i64).unwrap_or(0) + 1;
        state.insert("n".into(), json!(n));
        Ok(FunctionReturn::with_state(json!(n), state))
    }));
    // while n < 5
    f.runtime.state().set("n", json!(0)).await.unwrap();
    let wf = f.create_with(
        Pattern::Loop,
        json!({"name": "w", "iterator": {"while_condition": "state.n < 5"}, "body": [{"name": "inc", "fn": inc}]}),
        &b,
    );
    let r = f.runtime.execute(&wf, json!({})).await.unwrap();
    assert_eq!(r.data["inc"], json!([1, 2, 3, 4, 5]));

    // break_condition sees this iteration's outputs.
    f.runtime.state().set("n", json!(0)).await.unwrap();
    let brk = f.create_with(
        Pattern::Loop,
        json!({"name": "b", "iterator": {"range": {"end": 100}}, "body": [{"name": "inc", "fn": inc}],
               "break_condition": "steps.inc.output >= 3 && loop.index >= 2"}),
        &b,
    );
    let r = f.runtime.execute(&brk, json!({})).await.unwrap();
    assert!(r.success);
    assert_eq!(r.data["inc"], json!([1, 2, 3]));

    // max_iterations bounds every kind of loop; a while loop defaults to 1000.
    let forever = f.create(
        json!({"type": "loop", "name": "f", "iterator": {"while_condition": "true"},
        "body": [probe("p", json!({"result": 1}))], "aggregation_strategy": "none"}),
    );
    let r = f.runtime.execute(&forever, json!({})).await.unwrap();
    assert!(r.success);
    assert_eq!(r.steps.len(), 1000);
    let capped = f.create(
        json!({"type": "loop", "name": "c", "iterator": {"range": {"end": 50}},
        "max_iterations": 4, "body": [probe("p", json!({"result": "{{loop:index}}"}))]}),
    );
    let r = f.runtime.execute(&capped, json!({})).await.unwrap();
    assert_eq!(r.data["p"], json!([0, 1, 2, 3]));

    // A failing iteration fails the loop with the outputs so far.
    let fails = f.create(
        json!({"type": "loop", "name": "x", "iterator": {"collection": ["ok", "ok", "bad"]},
        "body": [probe("p", json!({"fail": "{{loop:current_value}}"}))]}),
    );
    let _ = fails;
    let fail_on_bad = f.create(json!({"type": "loop", "name": "y", "iterator": {"collection": [1, 2, 3]},
        "body": [probe("p", json!({"result": "{{loop:current_value}}"})),
                 {"name": "check", "tool": "calculator", "input": {"expression": "10 / ({{loop:current_value}} - 2)"}}]}));
    let r = f.runtime.execute(&fail_on_bad, json!({})).await.unwrap();
    assert!(!r.success);
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .starts_with("step `check` failed"),
        "{:?}",
        r.error
    );
    assert_eq!(r.data["p"], json!([1, 2]));
    assert_eq!(r.steps.last().unwrap().iteration, Some(1));
}

fn branches(n: usize, sleep: u64) -> Value {
    Value::Array(
        (0..n)
            .map(|i| json!({"name": format!("b{i}"), "steps": [probe("s", json!({"sleep_ms": sleep, "result": i}))]}))
            .collect(),
    )
}

#[tokio::test]
async fn parallel_branches_run_concurrently_within_max_concurrency() {
    let f = Fixture::new();
    let wf = f.create(
        json!({"type": "parallel", "name": "p", "max_concurrency": 3, "branches": branches(9, 30)}),
    );
    let started = Instant::now();
    let r = f.runtime.execute(&wf, json!({})).await.unwrap();
    assert!(r.success, "{:?}", r.error);
    assert_eq!(
        f.peak.load(Ordering::SeqCst),
        3,
        "never more than 3 steps in flight"
    );
    assert!(
        started.elapsed() < Duration::from_millis(9 * 30),
        "ran concurrently"
    );
    assert_eq!(r.data.len(), 9);
    assert_eq!(r.data["b4"], json!({"s": 4}));
    assert_eq!(r.steps.iter().filter(|s| s.branch.is_some()).count(), 9);

    let f = Fixture::new();
    let unbounded = f.create(json!({"type": "parallel", "name": "u", "branches": branches(5, 30)}));
    f.runtime.execute(&unbounded, json!({})).await.unwrap();
    assert_eq!(f.peak.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn parallel_join_modes() {
    let f = Fixture::new();
    let mixed = json!([
        {"name": "slow", "steps": [probe("s", json!({"sleep_ms": 2000, "result": "slow"}))]},
        {"name": "fast", "steps": [probe("s", json!({"sleep_ms": 10, "result": "fast"}))]},
        {"name": "mid", "steps": [probe("s", json!({"sleep_ms": 40, "result": "mid"}))]},
    ]);
    // any: the first success ends it; the others are cancelled.
    let any =
        f.create(json!({"type": "parallel", "name": "any", "join": "any", "branches": mixed}));
    let started = Instant::now();
    let r = f.runtime.execute(&any, json!({})).await.unwrap();
    assert!(r.success);
    assert_eq!(r.data.keys().collect::<Vec<_>>(), ["fast"]);
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "slow branch was cancelled"
    );
    // n = 2: the two quickest.
    let two = f.create(json!({"type": "parallel", "name": "two", "join": 2, "branches": mixed}));
    let r = f.runtime.execute(&two, json!({})).await.unwrap();
    assert!(r.success);
    let mut keys: Vec<&String> = r.data.keys().collect();
    keys.sort();
    assert_eq!(keys, ["fast", "mid"]);
    // any, with failures: succeeds if one branch does.
    let one_ok = f.create(
        json!({"type": "parallel", "name": "one_ok", "join": "any", "branches": [
            {"name": "bad", "steps": [probe("s", json!({"fail": "x"}))]},
            {"name": "good", "steps": [probe("s", json!({"sleep_ms": 20}))]},
        ]}),
    );
    let r = f.runtime.execute(&one_ok, json!({})).await.unwrap();
    assert!(r.success, "{:?}", r.error);
    // n unreachable: fails listing the failures.
    let unmet = f.create(
        json!({"type": "parallel", "name": "unmet", "join": 2, "branches": [
            {"name": "bad", "steps": [probe("s", json!({"sleep_ms": 30, "fail": "x"}))]},
            {"name": "good", "steps": [probe("s", json!({}))]},
        ]}),
    );
    let r = f.runtime.execute(&unmet, json!({})).await.unwrap();
    assert!(!r.success);
    assert_eq!(
        r.error.as_deref(),
        Some("1 of 2 branches succeeded, 2 needed: branch `bad`: step `s` failed: tool `probe` failed: x")
    );
}

#[tokio::test]
async fn parallel_fail_fast_or_collect_every_error() {
    let f = Fixture::new();
    let list = json!([
        {"name": "a", "steps": [probe("s", json!({"sleep_ms": 20, "fail": "a broke"}))]},
        {"name": "b", "steps": [probe("s", json!({"sleep_ms": 150, "fail": "b broke"}))]},
        {"name": "c", "steps": [probe("s", json!({"sleep_ms": 150})), probe("t", json!({}))]},
    ]);
    let fast = f.create(json!({"type": "parallel", "name": "fast", "branches": list}));
    let started = Instant::now();
    let r = f.runtime.execute(&fast, json!({})).await.unwrap();
    assert!(!r.success);
    assert_eq!(
        r.error.as_deref(),
        Some("branch `a`: step `s` failed: tool `probe` failed: a broke")
    );
    assert!(
        started.elapsed() < Duration::from_millis(140),
        "the others were cancelled"
    );
    assert!(f
        .calls("probe")
        .iter()
        .all(|p| p.get("fail").is_some() || p.get("sleep_ms").is_some()));
    assert_eq!(f.calls("probe").len(), 3, "`t` never started");

    let f = Fixture::new();
    let collect = f.create(
        json!({"type": "parallel", "name": "collect", "fail_fast": false, "branches": list}),
    );
    let r = f.runtime.execute(&collect, json!({})).await.unwrap();
    assert!(!r.success);
    let e = r.error.unwrap();
    assert!(
        e.starts_with("1 of 3 branches succeeded, 3 needed: "),
        "{e}"
    );
    assert!(
        e.contains("branch `a`: step `s` failed: tool `probe` failed: a broke"),
        "{e}"
    );
    assert!(
        e.contains("branch `b`: step `s` failed: tool `probe` failed: b broke"),
        "{e}"
    );
    assert_eq!(
        r.data.keys().collect::<Vec<_>>(),
        ["c"],
        "finished branches are kept"
    );
    assert_eq!(f.calls("probe").len(), 4);
}

#[tokio::test]
async fn function_steps_run_in_parallel_branches() {
    let f = Fixture::new();
    let mut b = Bindings::new();
    let c = constant(&mut b, json!("x"));
    let live = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (l2, p2) = (Arc::clone(&live), Arc::clone(&peak));
    let slow = b.function(script_fn("slow", move |_| {
        let (l, p) = (Arc::clone(&l2), Arc::clone(&p2));
        async move {
            let now = l.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            l.fetch_sub(1, Ordering::SeqCst);
            Ok(FunctionReturn::output(json!(now)))
        }
    }));
    let list: Vec<Value> = (0..6)
        .map(|i| json!({"name": format!("b{i}"), "steps": [{"name": "c", "fn": c}, {"name": "s", "fn": slow}]}))
        .collect();
    let wf = f.create_with(
        Pattern::Parallel,
        json!({"name": "fp", "max_concurrency": 2, "branches": list}),
        &b,
    );
    let r = f.runtime.execute(&wf, json!({})).await.unwrap();
    assert!(r.success, "{:?}", r.error);
    assert_eq!(peak.load(Ordering::SeqCst), 2);
    assert_eq!(r.data["b5"]["c"], json!("x"));
}
