//! Every validation rule refuses a malformed definition when it is
//! created, naming the field at fault.

use llmspell_workflows::{Bindings, Pattern, WorkflowError};
use serde_json::{json, Value};

use crate::common::{constant, probe, Fixture};

#[track_caller]
fn refused(
    f: &Fixture,
    pattern: Option<Pattern>,
    def: Value,
    b: &Bindings,
    field: &str,
    needle: &str,
) {
    match f.runtime.create_with(pattern, &def, b) {
        Err(WorkflowError::InvalidDefinition { field: got, reason }) => {
            assert_eq!(got, field, "wrong field for {def}; reason: {reason}");
            assert!(
                reason.contains(needle),
                "reason for {field} lacks `{needle}`: {reason}"
            );
            let text = WorkflowError::InvalidDefinition {
                field: got.clone(),
                reason: reason.clone(),
            }
            .to_string();
            assert!(text.contains(&got), "{text}");
        }
        Err(other) => panic!("expected InvalidDefinition for {def}, got {other}"),
        Ok(wf) => panic!("{def} was accepted as {wf:?}"),
    }
}

fn seq(steps: Value) -> Value {
    json!({"type": "sequential", "name": "w", "steps": steps})
}

#[test]
fn malformed_definitions_name_the_field() {
    let f = Fixture::new();
    let mut b = Bindings::new();
    let func = constant(&mut b, json!(1));
    let none = Bindings::new();
    let cases: Vec<(Option<Pattern>, Value, &Bindings, &str, &str)> = vec![
        // the definition itself
        (None, json!([1]), &none, "definition", "must be a table"),
        (
            None,
            json!({"name": "w", "steps": []}),
            &none,
            "type",
            "is missing",
        ),
        (
            None,
            json!({"type": "dag", "steps": []}),
            &none,
            "type",
            "unknown workflow pattern `dag`",
        ),
        (
            Some(Pattern::Loop),
            seq(json!([probe("a", json!({}))])),
            &none,
            "type",
            "created as `loop`",
        ),
        (
            None,
            json!({"type": "sequential", "name": "", "steps": [probe("a", json!({}))]}),
            &none,
            "name",
            "must not be empty",
        ),
        (
            None,
            json!({"type": "sequential", "name": "a:b", "steps": [probe("a", json!({}))]}),
            &none,
            "name",
            "may not contain",
        ),
        (
            None,
            json!({"type": "sequential", "name": 7, "steps": []}),
            &none,
            "name",
            "must be a string",
        ),
        // step lists
        (
            None,
            json!({"type": "sequential"}),
            &none,
            "steps",
            "is missing",
        ),
        (None, seq(json!([])), &none, "steps", "is empty"),
        (None, seq(json!({"a": 1})), &none, "steps", "must be a list"),
        (
            None,
            seq(json!([1])),
            &none,
            "steps[1]",
            "must be a step table",
        ),
        // steps
        (
            None,
            seq(json!([{"tool": "probe"}])),
            &none,
            "steps[1].name",
            "every step needs a name",
        ),
        (
            None,
            seq(json!([probe("a", json!({})), probe("a", json!({}))])),
            &none,
            "steps[2].name",
            "duplicate step name `a`",
        ),
        (
            None,
            seq(json!([{"name": "a"}])),
            &none,
            "steps[1]",
            "has no kind",
        ),
        (
            None,
            seq(json!([{"name": "a", "custom": true}])),
            &none,
            "steps[1]",
            "has no kind",
        ),
        (
            None,
            seq(json!([{"name": "a", "type": "custom", "tool": "probe"}])),
            &none,
            "steps[1].type",
            "unknown step kind `custom`",
        ),
        (
            None,
            seq(json!([{"name": "a", "type": "agent", "tool": "probe"}])),
            &none,
            "steps[1].type",
            "says `agent`",
        ),
        (
            None,
            seq(json!([{"name": "a", "type": "tool"}])),
            &none,
            "steps[1].tool",
            "is missing",
        ),
        (
            None,
            seq(json!([{"name": "a", "tool": "probe", "fn": func}])),
            &b,
            "steps[1]",
            "several kinds",
        ),
        (
            None,
            seq(json!([{"name": "a", "tool": "nope"}])),
            &none,
            "steps[1].tool",
            "no tool named `nope`",
        ),
        (
            None,
            seq(json!([{"name": "a", "tool": 3}])),
            &none,
            "steps[1].tool",
            "must be a tool name",
        ),
        (
            None,
            seq(json!([{"name": "a", "agent": "writer"}])),
            &none,
            "steps[1].agent",
            "no agent runtime",
        ),
        (
            None,
            seq(json!([{"name": "a", "workflow": "missing"}])),
            &none,
            "steps[1].workflow",
            "no workflow named `missing`",
        ),
        (
            None,
            seq(json!([{"name": "a", "workflow": 5}])),
            &none,
            "steps[1].workflow",
            "must be a workflow",
        ),
        (
            None,
            seq(json!([{"name": "a", "fn": "not a function"}])),
            &none,
            "steps[1].fn",
            "must be a function",
        ),
        (
            None,
            seq(json!([{"name": "a", "fn": {"$function": 9}}])),
            &none,
            "steps[1].fn",
            "must be a function",
        ),
        (
            None,
            seq(json!([probe("a", json!({"x": "{{step:b}}"}))])),
            &none,
            "steps[1].input",
            "names no output",
        ),
        (
            None,
            seq(json!([probe("a", json!({"x": "{{loop:value}}"}))])),
            &none,
            "steps[1].input",
            "loop references",
        ),
        (
            None,
            seq(json!([probe("a", json!({"f": func}))])),
            &b,
            "steps[1].input.f",
            "cannot be data",
        ),
        (
            None,
            seq(json!([{"name": "a", "tool": "probe", "compensate": {"input": {}}}])),
            &none,
            "steps[1].compensate.tool",
            "is missing",
        ),
        (
            None,
            seq(json!([{"name": "a", "tool": "probe", "compensate": {"tool": "nope"}}])),
            &none,
            "steps[1].compensate.tool",
            "no tool named `nope`",
        ),
        // inline nested definitions
        (
            None,
            seq(
                json!([{"name": "a", "workflow": {"type": "sequential", "steps": [{"name": "x", "tool": "nope"}]}}]),
            ),
            &none,
            "steps[1].workflow.steps[1].tool",
            "no tool named",
        ),
        (
            None,
            seq(json!([{"name": "a", "workflow": {"steps": [probe("x", json!({}))]}}])),
            &none,
            "steps[1].workflow.type",
            "is missing",
        ),
        // conditional
        (
            None,
            json!({"type": "conditional"}),
            &none,
            "branches",
            "is missing",
        ),
        (
            None,
            json!({"type": "conditional", "branches": []}),
            &none,
            "branches",
            "is empty",
        ),
        (
            None,
            json!({"type": "conditional", "branches": [{"name": "b", "steps": [probe("a", json!({}))]}]}),
            &none,
            "branches[1].condition",
            "is missing",
        ),
        (
            None,
            json!({"type": "conditional", "branches": [{"name": "b", "default": true, "condition": "true", "steps": [probe("a", json!({}))]}]}),
            &none,
            "branches[1]",
            "both `condition` and `default",
        ),
        (
            None,
            json!({"type": "conditional", "branches": [
            {"name": "b", "default": true, "steps": [probe("a", json!({}))]},
            {"name": "c", "default": true, "steps": [probe("b", json!({}))]}]}),
            &none,
            "branches[2].default",
            "second default",
        ),
        (
            None,
            json!({"type": "conditional", "branches": [
            {"name": "b", "condition": "true", "steps": [probe("a", json!({}))]},
            {"name": "b", "condition": "true", "steps": [probe("c", json!({}))]}]}),
            &none,
            "branches[2].name",
            "duplicate branch name",
        ),
        (
            None,
            json!({"type": "conditional", "branches": [
            {"name": "b", "condition": "true", "steps": [probe("a", json!({}))]},
            {"name": "c", "condition": "true", "steps": [probe("a", json!({}))]}]}),
            &none,
            "branches[2].steps[1].name",
            "unique across the branches",
        ),
        (
            None,
            json!({"type": "conditional", "branches": [{"name": "b", "condition": "true", "steps": []}]}),
            &none,
            "branches[1].steps",
            "is empty",
        ),
        (
            None,
            json!({"type": "conditional", "mode": "some", "branches": [{"name": "b", "condition": "true", "steps": [probe("a", json!({}))]}]}),
            &none,
            "mode",
            "unknown mode `some`",
        ),
        (
            None,
            json!({"type": "conditional", "branches": [{"name": "b", "condition": "input.n >", "steps": [probe("a", json!({}))]}]}),
            &none,
            "branches[1].condition",
            "cannot parse",
        ),
        (
            None,
            json!({"type": "conditional", "branches": [{"name": "b", "condition": {"type": "expression", "expression": "n > 1"}, "steps": [probe("a", json!({}))]}]}),
            &none,
            "branches[1].condition.expression",
            "unknown variable `n`",
        ),
        (
            None,
            json!({"type": "conditional", "branches": [{"name": "b", "condition": {"type": "regex"}, "steps": [probe("a", json!({}))]}]}),
            &none,
            "branches[1].condition.type",
            "unknown condition type `regex`",
        ),
        (
            None,
            json!({"type": "conditional", "branches": [{"name": "b", "condition": {"tool": "nope"}, "steps": [probe("a", json!({}))]}]}),
            &none,
            "branches[1].condition.tool",
            "no tool named",
        ),
        (
            None,
            json!({"type": "conditional", "branches": [{"name": "b", "condition": {"x": 1}, "steps": [probe("a", json!({}))]}]}),
            &none,
            "branches[1].condition",
            "has no kind",
        ),
        (
            None,
            json!({"type": "conditional", "branches": [{"name": "b", "condition": 3, "steps": [probe("a", json!({}))]}]}),
            &none,
            "branches[1].condition",
            "must be an expression",
        ),
        // loop
        (
            None,
            json!({"type": "loop", "body": [probe("a", json!({}))]}),
            &none,
            "iterator",
            "is missing",
        ),
        (
            None,
            json!({"type": "loop", "iterator": {}, "body": [probe("a", json!({}))]}),
            &none,
            "iterator",
            "has no kind",
        ),
        (
            None,
            json!({"type": "loop", "iterator": {"range": {"end": 3}, "collection": [1]}, "body": [probe("a", json!({}))]}),
            &none,
            "iterator",
            "several kinds",
        ),
        (
            None,
            json!({"type": "loop", "iterator": {"range": {"start": 1}}, "body": [probe("a", json!({}))]}),
            &none,
            "iterator.range.end",
            "is missing",
        ),
        (
            None,
            json!({"type": "loop", "iterator": {"range": {"end": 3, "step": 0}}, "body": [probe("a", json!({}))]}),
            &none,
            "iterator.range.step",
            "must not be 0",
        ),
        (
            None,
            json!({"type": "loop", "iterator": {"range": {"end": 2.5}}, "body": [probe("a", json!({}))]}),
            &none,
            "iterator.range.end",
            "must be an integer",
        ),
        (
            None,
            json!({"type": "loop", "iterator": {"range": {"end": "n {{input:n}}"}}, "body": [probe("a", json!({}))]}),
            &none,
            "iterator.range.end",
            "exactly one reference",
        ),
        (
            None,
            json!({"type": "loop", "iterator": {"collection": 4}, "body": [probe("a", json!({}))]}),
            &none,
            "iterator.collection",
            "must be a list",
        ),
        (
            None,
            json!({"type": "loop", "iterator": {"collection": "a, b"}, "body": [probe("a", json!({}))]}),
            &none,
            "iterator.collection",
            "exactly one reference",
        ),
        (
            None,
            json!({"type": "loop", "iterator": {"while_condition": "x"}, "body": [probe("a", json!({}))]}),
            &none,
            "iterator.while_condition",
            "unknown variable `x`",
        ),
        (
            None,
            json!({"type": "loop", "iterator": {"collection": [1]}}),
            &none,
            "body",
            "is missing",
        ),
        (
            None,
            json!({"type": "loop", "iterator": {"collection": [1]}, "body": []}),
            &none,
            "body",
            "is empty",
        ),
        (
            None,
            json!({"type": "loop", "iterator": {"collection": [1]}, "body": [probe("a", json!({}))], "max_iterations": 0}),
            &none,
            "max_iterations",
            "positive integer",
        ),
        (
            None,
            json!({"type": "loop", "iterator": {"collection": [1]}, "body": [probe("a", json!({}))], "break_condition": "steps.a"}),
            &none,
            "break_condition",
            "steps.NAME.output",
        ),
        (
            None,
            json!({"type": "loop", "iterator": {"collection": [1]}, "body": [probe("a", json!({}))], "aggregation_strategy": "summary"}),
            &none,
            "aggregation_strategy",
            "unknown strategy `summary`",
        ),
        // parallel
        (
            None,
            json!({"type": "parallel"}),
            &none,
            "branches",
            "is missing",
        ),
        (
            None,
            json!({"type": "parallel", "branches": []}),
            &none,
            "branches",
            "is empty",
        ),
        (
            None,
            json!({"type": "parallel", "branches": [{"name": "x"}]}),
            &none,
            "branches[1].steps",
            "is missing",
        ),
        (
            None,
            json!({"type": "parallel", "branches": [{"name": "x", "steps": [probe("a", json!({})), probe("a", json!({}))]}]}),
            &none,
            "branches[1].steps[2].name",
            "duplicate step name",
        ),
        (
            None,
            json!({"type": "parallel", "branches": [{"name": "x", "steps": [probe("a", json!({}))]}, {"name": "x", "steps": [probe("a", json!({}))]}]}),
            &none,
            "branches[2].name",
            "duplicate branch name",
        ),
        (
            None,
            json!({"type": "parallel", "max_concurrency": 0, "branches": [{"steps": [probe("a", json!({}))]}]}),
            &none,
            "max_concurrency",
            "positive integer",
        ),
        (
            None,
            json!({"type": "parallel", "join": 2, "branches": [{"steps": [probe("a", json!({}))]}]}),
            &none,
            "join",
            "between 1 and 1",
        ),
        (
            None,
            json!({"type": "parallel", "join": "most", "branches": [{"steps": [probe("a", json!({}))]}]}),
            &none,
            "join",
            "\"all\", \"any\"",
        ),
        (
            None,
            json!({"type": "parallel", "fail_fast": "yes", "branches": [{"steps": [probe("a", json!({}))]}]}),
            &none,
            "fail_fast",
            "true or false",
        ),
    ];
    for (pattern, def, bindings, field, needle) in cases {
        refused(&f, pattern, def, bindings, field, needle);
    }
}

#[test]
fn well_formed_definitions_are_accepted_and_registered() {
    let f = Fixture::new();
    let mut b = Bindings::new();
    let func = constant(&mut b, json!(true));
    let inner = f.create(seq(json!([probe("x", json!({}))])));
    assert_eq!(inner.name(), "w");
    let wf = f
        .runtime
        .create_with(
            None,
            &json!({
                "type": "conditional",
                "name": "router",
                "description": "picks a branch",
                "on_complete": "ignored: unknown keys are tolerated",
                "branches": [
                    {"name": "e", "condition": "input.n > 1", "steps": [probe("a", json!({}))]},
                    {"name": "t", "condition": {"tool": "probe", "input": {"result": true}}, "steps": [{"name": "b", "workflow": "w"}]},
                    {"name": "f", "condition": func, "steps": [{"name": "c", "type": "tool", "tool": "probe"}]},
                    {"name": "d", "default": true, "steps": [{"name": "d", "workflow": {"type": "loop", "iterator": {"range": {"end": 2}}, "body": [probe("i", json!({}))]}}]},
                ]
            }),
            &b,
        )
        .unwrap();
    assert_eq!(wf.pattern(), Pattern::Conditional);
    assert_eq!(wf.description(), Some("picks a branch"));
    assert_eq!(wf.step_names(), ["a", "b", "c", "d"]);
    assert_eq!(f.runtime.workflow_names(), ["router", "w"]);
    assert_eq!(wf.fingerprint().len(), 64);
    // The same definition has the same fingerprint; a changed one does not.
    let again = f.create(seq(json!([probe("x", json!({}))])));
    assert_eq!(again.fingerprint(), inner.fingerprint());
    let changed = f.create(seq(json!([probe("y", json!({}))])));
    assert_ne!(changed.fingerprint(), inner.fingerprint());
}
