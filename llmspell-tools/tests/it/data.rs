//! The data tools: csv_analyzer, data_validation, json_processor.

use serde_json::json;

use crate::common::{assert_invalid, call};

const CSV: &str = "name,age,score,active\nada,36,9.5,true\nbob,,7,false\ncy,40,8,true\n";

#[tokio::test]
async fn csv_analyze() {
    let out = call("csv_analyzer", json!({"input": CSV})).await.unwrap();
    assert_eq!(out["row_count"], 3);
    assert_eq!(out["column_count"], 4);
    let cols = out["columns"].as_array().unwrap();
    assert_eq!(cols[0]["type"], "string");
    assert_eq!(cols[1]["type"], "integer");
    assert_eq!(cols[1]["empty"], 1);
    assert_eq!(cols[1]["min"], 36.0);
    assert_eq!(cols[1]["mean"], 38.0);
    assert_eq!(cols[2]["type"], "float");
    assert_eq!(cols[3]["type"], "boolean");
    assert_eq!(cols[3]["unique"], 2);
}

#[tokio::test]
async fn csv_to_json_and_filter() {
    let out = call(
        "csv_analyzer",
        json!({"operation": "to_json", "input": CSV, "max_rows": 2}),
    )
    .await
    .unwrap();
    assert_eq!(
        out["rows"][0],
        json!({"name": "ada", "age": "36", "score": "9.5", "active": "true"})
    );
    assert_eq!(out["rows"].as_array().unwrap().len(), 2);
    assert_eq!(out["truncated"], true);
    let f = call(
        "csv_analyzer",
        json!({"operation": "filter", "input": CSV, "column": "active", "equals": "true"}),
    )
    .await
    .unwrap();
    assert_eq!(f["row_count"], 2);
    let semi = call(
        "csv_analyzer",
        json!({"operation": "to_json", "input": "1;2\n3;4\n", "delimiter": ";", "has_headers": false}),
    )
    .await
    .unwrap();
    assert_eq!(semi["rows"][1], json!({"column_1": "3", "column_2": "4"}));
}

#[tokio::test]
async fn csv_invalid_input() {
    assert_invalid(call("csv_analyzer", json!({})).await, "input");
    assert_invalid(
        call("csv_analyzer", json!({"input": "a", "delimiter": ";;"})).await,
        "delimiter",
    );
    assert_invalid(
        call("csv_analyzer", json!({"operation": "filter", "input": CSV})).await,
        "column",
    );
    assert_invalid(
        call(
            "csv_analyzer",
            json!({"operation": "filter", "input": CSV, "column": "zz", "equals": "1"}),
        )
        .await,
        "column",
    );
}

#[tokio::test]
async fn validation_reports_every_violation() {
    let schema = json!({
        "type": "object",
        "properties": {"age": {"type": "integer", "minimum": 0}, "name": {"type": "string"}},
        "required": ["name"]
    });
    let ok = call(
        "data_validation",
        json!({"data": {"name": "a", "age": 3}, "schema": schema}),
    )
    .await
    .unwrap();
    assert_eq!(ok, json!({"valid": true, "errors": []}));
    let bad = call(
        "data_validation",
        json!({"data": {"age": -1}, "schema": schema}),
    )
    .await
    .unwrap();
    assert_eq!(bad["valid"], false);
    let errors = bad["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert!(errors
        .iter()
        .any(|e| e["path"] == "/age" && e["keyword"] == "minimum"));
    assert!(errors.iter().any(|e| e["keyword"] == "required"));
}

#[tokio::test]
async fn validation_invalid_input_and_no_remote_refs() {
    assert_invalid(call("data_validation", json!({"data": 1})).await, "schema");
    assert_invalid(
        call(
            "data_validation",
            json!({"data": 1, "schema": {"type": 12}}),
        )
        .await,
        "schema",
    );
    // Remote references are never fetched.
    assert_invalid(
        call(
            "data_validation",
            json!({"data": 1, "schema": {"$ref": "http://127.0.0.1:9/s.json"}}),
        )
        .await,
        "schema",
    );
}

#[tokio::test]
async fn json_query_get_parse_stringify_keys() {
    let doc = json!({"store": {"book": [
        {"title": "A", "price": 8}, {"title": "B", "price": 12}, {"title": "C", "price": 5}
    ]}});
    let out = call(
        "json_processor",
        json!({"input": doc, "path": "$.store.book[?@.price < 10].title"}),
    )
    .await
    .unwrap();
    assert_eq!(out["count"], 2);
    assert_eq!(out["values"], json!(["A", "C"]));
    assert_eq!(out["matches"][1]["path"], "$['store']['book'][2]['title']");
    let get = call(
        "json_processor",
        json!({"operation": "get", "input": doc, "path": "$.store.book[1].price"}),
    )
    .await
    .unwrap();
    assert_eq!(get["value"], 12);
    let parsed = call(
        "json_processor",
        json!({"operation": "parse", "input": "{\"a\": [1]}"}),
    )
    .await
    .unwrap();
    assert_eq!(parsed["value"], json!({"a": [1]}));
    let s = call(
        "json_processor",
        json!({"operation": "stringify", "input": {"a": 1}}),
    )
    .await
    .unwrap();
    assert_eq!(s["output"], "{\"a\":1}");
    let keys = call(
        "json_processor",
        json!({"operation": "keys", "input": {"b": 1, "a": 2}}),
    )
    .await
    .unwrap();
    assert_eq!(keys["keys"], json!(["a", "b"]));
}

#[tokio::test]
async fn json_invalid_input() {
    assert_invalid(call("json_processor", json!({"input": {}})).await, "path");
    assert_invalid(
        call("json_processor", json!({"input": {}, "path": "$[?"})).await,
        "path",
    );
    assert_invalid(
        call("json_processor", json!({"operation": "parse", "input": 5})).await,
        "input",
    );
    assert_invalid(
        call(
            "json_processor",
            json!({"operation": "parse", "input": "{"}),
        )
        .await,
        "input",
    );
    assert_invalid(
        call("json_processor", json!({"operation": "keys", "input": [1]})).await,
        "input",
    );
}

#[tokio::test]
async fn csv_large_input_is_parsed_off_the_async_threads() {
    let mut input = String::from("n,sq\n");
    for i in 0..20_000 {
        input.push_str(&format!("{i},{}\n", i * i));
    }
    let out = call("csv_analyzer", json!({"input": input})).await.unwrap();
    assert_eq!(out["row_count"], 20_000);
    assert_eq!(out["columns"][0]["max"], 19_999.0);
}
