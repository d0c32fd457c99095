//! rs-llmspell compatibility: parameter and value synonyms, hyphenated
//! tool names, jq queries in json_processor.

use std::sync::Arc;

use llmspell_hooks::{HookExecutor, HookRegistry};
use llmspell_tools::{ToolRegistry, ToolRuntime, ToolsConfig};
use serde_json::{json, Value};

use crate::common::{assert_invalid, call, call_in};

/// (tool, rs-llmspell parameters, the same call with this crate's names).
fn pairs() -> Vec<(&'static str, Value, Value)> {
    vec![
        (
            "calculator",
            json!({"operation": "evaluate", "input": "2 + 3 * 4"}),
            json!({"expression": "2 + 3 * 4"}),
        ),
        (
            "text_manipulator",
            json!({"operation": "uppercase", "input": "hello"}),
            json!({"operation": "uppercase", "text": "hello"}),
        ),
        (
            "text_manipulator",
            json!({"operation": "replace", "input": "Hello World",
                   "options": {"from": "World", "to": "Lua"}}),
            json!({"operation": "replace", "text": "Hello World",
                   "pattern": "World", "replacement": "Lua"}),
        ),
        (
            "text_manipulator",
            json!({"operation": "substring", "input": "LLMSpell is",
                   "options": {"start": 0, "end": 8}}),
            json!({"operation": "substring", "text": "LLMSpell is", "start": 0, "end": 8}),
        ),
        (
            "template_engine",
            json!({"input": "Hello, {{name}}!", "context": {"name": "Ada"}, "engine": "handlebars"}),
            json!({"template": "Hello, {{name}}!", "context": {"name": "Ada"}}),
        ),
        (
            "data_validation",
            json!({"input": {"a": 1}, "schema": {"type": "object"}}),
            json!({"data": {"a": 1}, "schema": {"type": "object"}}),
        ),
        (
            "hash_calculator",
            json!({"operation": "calculate", "algorithm": "sha256", "data": "abc"}),
            json!({"operation": "hash", "algorithm": "sha256", "input": "abc"}),
        ),
        (
            "base64_encoder",
            json!({"operation": "encode", "input": "a/b+c", "variant": "url-safe"}),
            json!({"operation": "encode", "input": "a/b+c", "variant": "url_safe"}),
        ),
        (
            "csv_analyzer",
            json!({"operation": "convert", "csv_data": "a,b\n1,2\n"}),
            json!({"operation": "to_json", "input": "a,b\n1,2\n"}),
        ),
        (
            "diff_calculator",
            json!({"old_text": "a\nb\n", "new_text": "a\nc\n"}),
            json!({"old": "a\nb\n", "new": "a\nc\n"}),
        ),
        (
            "uuid_generator",
            json!({"operation": "validate", "uuid": "67e55044-10b1-426f-9247-bb680e5fe0c8"}),
            json!({"operation": "parse", "input": "67e55044-10b1-426f-9247-bb680e5fe0c8"}),
        ),
        (
            "environment_reader",
            json!({"operation": "exists", "variable_name": "PATH"}),
            json!({"operation": "exists", "name": "PATH"}),
        ),
    ]
}

#[tokio::test]
async fn rs_llmspell_names_give_the_same_results() {
    for (tool, theirs, ours) in pairs() {
        let a = call(tool, theirs.clone())
            .await
            .unwrap_or_else(|e| panic!("{tool} {theirs}: {e}"));
        let b = call(tool, ours.clone()).await.unwrap();
        assert_eq!(a, b, "{tool}: {theirs} vs {ours}");
    }
}

#[tokio::test]
async fn synonyms_work_through_the_hooked_runtime() {
    let registry = Arc::new(ToolRegistry::with_standard_tools(&ToolsConfig::default()).unwrap());
    let hooks = Arc::new(HookExecutor::new(Arc::new(HookRegistry::new())));
    let runtime = ToolRuntime::new(registry, hooks);
    let out = runtime
        .invoke("calculator", json!({"input": "6 * 7"}))
        .await
        .unwrap();
    assert_eq!(out["result"], 42);
    // A hyphenated name finds the underscore tool.
    let out = runtime
        .invoke(
            "text-manipulator",
            json!({"operation": "reverse", "input": "ab"}),
        )
        .await
        .unwrap();
    assert_eq!(out["result"], "ba");
}

#[tokio::test]
async fn a_synonym_and_its_name_together_is_an_error_naming_both() {
    let err = call("calculator", json!({"input": "1", "expression": "2"})).await;
    let Err(llmspell_tools::ToolError::InvalidParameter { message, .. }) = &err else {
        panic!("{err:?}");
    };
    assert!(
        message.contains("`input`") && message.contains("`expression`"),
        "{message}"
    );
    assert_invalid(err, "expression");
    assert_invalid(
        call(
            "environment_reader",
            json!({"operation": "get", "name": "PATH", "variable_name": "PATH"}),
        )
        .await,
        "name",
    );
    // The options table must be a table.
    assert_invalid(
        call(
            "text_manipulator",
            json!({"operation": "replace", "input": "x", "options": 3}),
        )
        .await,
        "options",
    );
}

#[tokio::test]
async fn schemas_document_their_synonyms() {
    let registry = crate::common::registry();
    for (tool, alias, canonical) in [
        ("calculator", "input", "expression"),
        ("text_manipulator", "input", "text"),
        ("template_engine", "input", "template"),
        ("data_validation", "input", "data"),
        ("environment_reader", "variable_name", "name"),
        ("file_operations", "input", "content"),
        ("uuid_generator", "uuid", "input"),
        ("process_executor", "executable", "program"),
    ] {
        let schema = registry
            .require(tool)
            .unwrap()
            .metadata()
            .parameters()
            .clone();
        assert_eq!(schema["x-synonyms"][alias], canonical, "{tool}");
        assert_eq!(
            schema["properties"][alias]["x-synonym-of"], canonical,
            "{tool}"
        );
        assert!(
            schema["properties"][canonical]["synonyms"]
                .as_array()
                .is_some_and(|s| s.contains(&json!(alias))),
            "{tool}: {schema}"
        );
    }
}

#[tokio::test]
async fn calculator_validate_operation() {
    let ok = call(
        "calculator",
        json!({"operation": "validate", "input": "1 + 2"}),
    )
    .await
    .unwrap();
    assert_eq!(ok["valid"], true);
    let bad = call(
        "calculator",
        json!({"operation": "validate", "input": "(1 + 2"}),
    )
    .await
    .unwrap();
    assert_eq!(bad["valid"], false);
    assert!(bad["error"].is_string());
}

#[tokio::test]
async fn template_engine_refuses_handlebars_blocks() {
    assert_invalid(
        call(
            "template_engine",
            json!({"input": "{{#if x}}y{{/if}}", "engine": "handlebars", "context": {"x": true}}),
        )
        .await,
        "template",
    );
}

#[tokio::test]
async fn file_tools_accept_rs_llmspell_names() {
    let dir = tempfile::tempdir().unwrap();
    let config = ToolsConfig::builder()
        .file_root(dir.path())
        .build()
        .unwrap();
    let registry = ToolRegistry::with_standard_tools(&config).unwrap();
    let a = dir.path().join("a.txt");
    let b = dir.path().join("b.txt");
    call_in(
        &registry,
        "file_operations",
        json!({"operation": "write", "path": a, "input": "hello"}),
    )
    .await
    .unwrap();
    call_in(
        &registry,
        "file_operations",
        json!({"operation": "copy", "source_path": a, "target_path": b}),
    )
    .await
    .unwrap();
    let read = call_in(
        &registry,
        "file_operations",
        json!({"operation": "read", "path": b}),
    )
    .await
    .unwrap();
    assert_eq!(read["content"], "hello");
    call_in(
        &registry,
        "file_operations",
        json!({"operation": "create_dir", "path": dir.path().join("d")}),
    )
    .await
    .unwrap();
    assert!(dir.path().join("d").is_dir());
}

#[tokio::test]
async fn json_processor_runs_jq_on_json_text() {
    let out = call(
        "json_processor",
        json!({"operation": "query", "input": "{\"value\": 75}", "query": ".value > 50"}),
    )
    .await
    .unwrap();
    assert_eq!(out["result"], true);
    assert_eq!(out["count"], 1);
    let users = json!({"users": [{"name": "a", "age": 30}, {"name": "b", "age": 20}, {"name": "c", "age": 40}]});
    let out = call(
        "json_processor",
        json!({"input": users.to_string(), "query": ".users[] | select(.age > 25) | .name"}),
    )
    .await
    .unwrap();
    assert_eq!(out["result"], json!(["a", "c"]));
    assert_eq!(out["results"], json!(["a", "c"]));
    let out = call(
        "json_processor",
        json!({"input": users, "query": ".users | sort_by(.age) | reverse | .[0:2] | map(.name)"}),
    )
    .await
    .unwrap();
    assert_eq!(out["result"], json!(["c", "a"]));
    let got = call(
        "json_processor",
        json!({"operation": "get", "input": {"a": [1, 2]}, "query": ".a[]"}),
    )
    .await
    .unwrap();
    assert_eq!(got["value"], 1);
    // JSONPath still works, on parsed text too.
    let out = call(
        "json_processor",
        json!({"input": "{\"a\": {\"b\": 3}}", "path": "$.a.b"}),
    )
    .await
    .unwrap();
    assert_eq!(out["values"], json!([3]));
}

#[tokio::test]
async fn json_processor_jq_errors_name_query() {
    for bad in [
        json!({"input": {}, "query": ".a |"}),
        json!({"input": {}, "query": "nosuchfilter"}),
        json!({"input": {}, "query": "def f: f; f"}),
        json!({"input": {"a": 1}, "query": ".a | error(\"boom\")"}),
        json!({"input": {}, "query": ".a", "path": "$.a"}),
        json!({"input": {}, "query": "[range(200000)] | .[]"}),
    ] {
        assert_invalid(call("json_processor", bad).await, "query");
    }
}

#[tokio::test]
async fn json_processor_validates_against_a_schema() {
    let schema =
        json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "number"}}});
    let ok = call(
        "json_processor",
        json!({"operation": "validate", "input": "{\"id\": 1}", "schema": schema}),
    )
    .await
    .unwrap();
    assert_eq!(ok["valid"], true);
    assert_eq!(ok["is_valid"], true);
    let bad = call(
        "json_processor",
        json!({"operation": "validate", "input": {"id": "x"}, "schema": schema}),
    )
    .await
    .unwrap();
    assert_eq!(bad["valid"], false);
    assert_eq!(bad["errors"][0]["path"], "/id");
    assert_invalid(
        call(
            "json_processor",
            json!({"operation": "validate", "input": {}}),
        )
        .await,
        "schema",
    );
}

#[tokio::test]
async fn data_validation_takes_rs_llmspell_rules() {
    let rules = json!({"rules": [{"type": "required"}, {"type": "type", "expected": "object"}]});
    let ok = call(
        "data_validation",
        json!({"input": {"email": "a@b.io"}, "rules": rules}),
    )
    .await
    .unwrap();
    assert_eq!(ok["valid"], true);
    let bad = call("data_validation", json!({"input": [1], "rules": rules}))
        .await
        .unwrap();
    assert_eq!(bad["valid"], false);
    let email = json!([{"type": "email"}, {"type": "length", "min": 3, "max": 40}]);
    let out = call(
        "data_validation",
        json!({"data": "not an email", "rules": email}),
    )
    .await
    .unwrap();
    assert_eq!(out["valid"], false);
    let nested = json!([{"type": "object", "required": ["age"],
                         "properties": {"age": [{"type": "range", "min": 0, "max": 150}]}}]);
    let out = call(
        "data_validation",
        json!({"data": {"age": 200}, "rules": nested}),
    )
    .await
    .unwrap();
    assert_eq!(out["valid"], false);
    assert_eq!(out["errors"][0]["path"], "/age");
    assert_invalid(
        call(
            "data_validation",
            json!({"data": 1, "rules": [{"type": "custom", "name": "x"}]}),
        )
        .await,
        "rules",
    );
    assert_invalid(
        call(
            "data_validation",
            json!({"data": 1, "rules": [], "schema": {}}),
        )
        .await,
        "rules",
    );
}
