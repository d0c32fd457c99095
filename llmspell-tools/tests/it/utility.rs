//! The utility tools: base64_encoder, calculator, date_time_handler,
//! diff_calculator, hash_calculator, template_engine, text_manipulator,
//! uuid_generator.

use serde_json::json;

use crate::common::{assert_invalid, call, call_direct};

#[tokio::test]
async fn base64_round_trips_and_variants() {
    let out = call(
        "base64_encoder",
        json!({"operation": "encode", "input": "hello?>"}),
    )
    .await
    .unwrap();
    assert_eq!(out["output"], "aGVsbG8/Pg==");
    let url = call(
        "base64_encoder",
        json!({"operation": "encode", "input": "hello?>", "variant": "url_safe", "padding": false}),
    )
    .await
    .unwrap();
    assert_eq!(url["output"], "aGVsbG8_Pg");
    let back = call(
        "base64_encoder",
        json!({"operation": "decode", "input": "aGVsbG8/Pg=="}),
    )
    .await
    .unwrap();
    assert_eq!(back, json!({"output": "hello?>", "encoding": "utf8"}));
    let bin = call(
        "base64_encoder",
        json!({"operation": "decode", "input": "/w=="}),
    )
    .await
    .unwrap();
    assert_eq!(bin, json!({"output": "ff", "encoding": "hex"}));
}

#[tokio::test]
async fn base64_invalid_input() {
    assert_invalid(
        call("base64_encoder", json!({"operation": "encode"})).await,
        "input",
    );
    assert_invalid(
        call("base64_encoder", json!({"operation": "zip", "input": "a"})).await,
        "operation",
    );
    assert_invalid(
        call(
            "base64_encoder",
            json!({"operation": "decode", "input": "***"}),
        )
        .await,
        "input",
    );
    assert_invalid(
        call_direct("base64_encoder", json!({"operation": "encode", "input": 5})).await,
        "input",
    );
}

#[tokio::test]
async fn calculator_evaluates() {
    let out = call("calculator", json!({"expression": "2 + 2"}))
        .await
        .unwrap();
    assert_eq!(out["result"], 4);
    let out = call(
        "calculator",
        json!({"expression": "x * (y - 1)", "variables": {"x": 2.5, "y": 3}}),
    )
    .await
    .unwrap();
    assert_eq!(out["result"], 5.0);
    let out = call("calculator", json!({"expression": "3 > 2 && true"}))
        .await
        .unwrap();
    assert_eq!(out["result"], true);
    let out = call("calculator", json!({"expression": "math::sqrt(16)"}))
        .await
        .unwrap();
    assert_eq!(out["result"], 4.0);
}

#[tokio::test]
async fn calculator_invalid_input() {
    assert_invalid(call("calculator", json!({})).await, "expression");
    assert_invalid(
        call("calculator", json!({"expression": 4})).await,
        "expression",
    );
    assert_invalid(
        call("calculator", json!({"expression": "2 +"})).await,
        "expression",
    );
    assert_invalid(
        call(
            "calculator",
            json!({"expression": "1", "variables": {"x": "a"}}),
        )
        .await,
        "variables",
    );
    assert_invalid(
        call("calculator", json!({"expression": "1", "extra": 1})).await,
        "extra",
    );
    assert_invalid(
        call_direct("calculator", json!({"expr": "1"})).await,
        "expr",
    );
    // Checked integer arithmetic: overflow is an error, not a wrap or panic.
    assert_invalid(
        call(
            "calculator",
            json!({"expression": "9223372036854775807 + 1"}),
        )
        .await,
        "expression",
    );
    let long = "1+".repeat(3000) + "1";
    assert_invalid(
        call("calculator", json!({"expression": long})).await,
        "expression",
    );
}

#[tokio::test]
async fn date_time_parse_convert_add_difference_format() {
    let out = call(
        "date_time_handler",
        json!({"operation": "parse", "input": "2024-02-29T12:00:00Z"}),
    )
    .await
    .unwrap();
    assert_eq!(out["unix"], 1_709_208_000);
    assert_eq!(out["weekday"], "Thu");
    assert_eq!(out["is_leap_year"], true);
    let out = call(
        "date_time_handler",
        json!({"operation": "convert", "input": "2024-02-29T12:00:00Z", "timezone": "+05:30"}),
    )
    .await
    .unwrap();
    assert_eq!(out["rfc3339"], "2024-02-29T17:30:00+05:30");
    let out = call(
        "date_time_handler",
        json!({"operation": "add", "input": "2024-02-28", "days": 2, "hours": 1}),
    )
    .await
    .unwrap();
    assert_eq!(out["rfc3339"], "2024-03-01T01:00:00+00:00");
    let out = call(
        "date_time_handler",
        json!({"operation": "difference", "input": "2024-01-01", "end": "2024-01-08 12:00:00"}),
    )
    .await
    .unwrap();
    assert_eq!(out["days"], 7);
    assert_eq!(out["hours"], 180);
    let out = call(
        "date_time_handler",
        json!({"operation": "format", "input": 0, "format": "%Y/%m/%d %H:%M"}),
    )
    .await
    .unwrap();
    assert_eq!(out["formatted"], "1970/01/01 00:00");
    let now = call("date_time_handler", json!({"operation": "now"}))
        .await
        .unwrap();
    assert!(now["unix"].as_i64().unwrap() > 1_700_000_000);
}

#[tokio::test]
async fn date_time_invalid_input() {
    assert_invalid(
        call("date_time_handler", json!({"operation": "parse"})).await,
        "input",
    );
    assert_invalid(
        call(
            "date_time_handler",
            json!({"operation": "parse", "input": "yesterday-ish"}),
        )
        .await,
        "input",
    );
    assert_invalid(
        call(
            "date_time_handler",
            json!({"operation": "convert", "input": "2024-01-01", "timezone": "Mars/Base"}),
        )
        .await,
        "timezone",
    );
    // An invalid strftime pattern is an error, never a panic.
    assert_invalid(
        call(
            "date_time_handler",
            json!({"operation": "format", "input": "2024-01-01", "format": "%Q%"}),
        )
        .await,
        "format",
    );
    assert_invalid(
        call("date_time_handler", json!({"operation": "when"})).await,
        "operation",
    );
}

#[tokio::test]
async fn diff_lines_words_chars() {
    let out = call(
        "diff_calculator",
        json!({"old": "a\nb\nc\n", "new": "a\nB\nc\nd\n"}),
    )
    .await
    .unwrap();
    assert_eq!(out["identical"], false);
    assert_eq!(
        out["stats"],
        json!({"insertions": 2, "deletions": 1, "unchanged": 2})
    );
    let unified = out["unified"].as_str().unwrap();
    assert!(
        unified.contains("--- old") && unified.contains("-b") && unified.contains("+B"),
        "{unified}"
    );
    let words = call(
        "diff_calculator",
        json!({"old": "the quick fox", "new": "the slow fox", "granularity": "word"}),
    )
    .await
    .unwrap();
    assert_eq!(words["stats"]["insertions"], 1);
    let same = call(
        "diff_calculator",
        json!({"old": "x", "new": "x", "granularity": "char"}),
    )
    .await
    .unwrap();
    assert_eq!(same["identical"], true);
    assert_eq!(same["similarity"], 1.0);
}

#[tokio::test]
async fn diff_invalid_input() {
    assert_invalid(call("diff_calculator", json!({"old": "a"})).await, "new");
    assert_invalid(
        call(
            "diff_calculator",
            json!({"old": "a", "new": "b", "granularity": "page"}),
        )
        .await,
        "granularity",
    );
    assert_invalid(
        call(
            "diff_calculator",
            json!({"old": "a", "new": "b", "context_lines": -1}),
        )
        .await,
        "context_lines",
    );
}

#[tokio::test]
async fn hashes_match_known_vectors() {
    let cases = [
        ("md5", "900150983cd24fb0d6963f7d28e17f72"),
        ("sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (
            "sha256",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            "blake3",
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85",
        ),
    ];
    for (algorithm, expected) in cases {
        let out = call(
            "hash_calculator",
            json!({"algorithm": algorithm, "input": "abc"}),
        )
        .await
        .unwrap();
        assert_eq!(out["hash"], expected, "{algorithm}");
    }
    let sha512 = call(
        "hash_calculator",
        json!({"algorithm": "sha512", "input": "YWJj", "input_encoding": "base64"}),
    )
    .await
    .unwrap();
    assert!(sha512["hash"]
        .as_str()
        .unwrap()
        .starts_with("ddaf35a193617aba"));
    let verify = call(
        "hash_calculator",
        json!({"operation": "verify", "algorithm": "md5", "input": "abc",
               "expected": "900150983CD24FB0D6963F7D28E17F72"}),
    )
    .await
    .unwrap();
    assert_eq!(verify["matches"], true);
}

#[tokio::test]
async fn hash_invalid_input() {
    assert_invalid(
        call(
            "hash_calculator",
            json!({"algorithm": "crc9", "input": "a"}),
        )
        .await,
        "algorithm",
    );
    assert_invalid(
        call(
            "hash_calculator",
            json!({"operation": "verify", "input": "a"}),
        )
        .await,
        "expected",
    );
    assert_invalid(
        call(
            "hash_calculator",
            json!({"input": "zz", "input_encoding": "hex"}),
        )
        .await,
        "input",
    );
}

#[tokio::test]
async fn template_renders_with_loops_filters_and_escaping() {
    let out = call(
        "template_engine",
        json!({"template": "Hi {{ name | upper }}!{% for i in items %} {{ i }}{% endfor %}",
               "context": {"name": "ada", "items": [1, 2, 3]}}),
    )
    .await
    .unwrap();
    assert_eq!(out["output"], "Hi ADA! 1 2 3");
    let html = call(
        "template_engine",
        json!({"template": "{{ x }}", "context": {"x": "<b>"}, "autoescape": "html"}),
    )
    .await
    .unwrap();
    assert_eq!(html["output"], "&lt;b&gt;");
}

#[tokio::test]
async fn template_invalid_input_and_limits() {
    assert_invalid(
        call("template_engine", json!({"context": {}})).await,
        "template",
    );
    assert_invalid(
        call("template_engine", json!({"template": "{% for %}"})).await,
        "template",
    );
    assert_invalid(
        call("template_engine", json!({"template": "x", "context": [1]})).await,
        "context",
    );
    assert_invalid(
        call(
            "template_engine",
            json!({"template": "{{ missing }}", "strict": true}),
        )
        .await,
        "context",
    );
    // A runaway loop is stopped by the fuel limit.
    let err = call(
        "template_engine",
        json!({"template": "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}"}),
    )
    .await;
    assert_invalid(err, "template");
    // Memory bombs are stopped (fuel covers big allocations; output is
    // capped while it is written).
    assert!(call(
        "template_engine",
        json!({"template": "{{ 'x' * 90000000 }}"})
    )
    .await
    .is_err());
    assert!(call(
        "template_engine",
        json!({"template": "{% for i in range(5000) %}{{ 'y' * 5000 }}{% endfor %}"})
    )
    .await
    .is_err());
    // No file access from templates.
    assert_invalid(
        call(
            "template_engine",
            json!({"template": "{% include '/etc/passwd' %}"}),
        )
        .await,
        "template",
    );
}

#[tokio::test]
async fn text_operations() {
    let cases = [
        (
            json!({"operation": "uppercase", "text": "abc"}),
            json!("ABC"),
        ),
        (
            json!({"operation": "reverse", "text": "héllo"}),
            json!("olléh"),
        ),
        (
            json!({"operation": "trim", "text": "  a b  "}),
            json!("a b"),
        ),
        (
            json!({"operation": "snake_case", "text": "Hello World"}),
            json!("hello_world"),
        ),
        (
            json!({"operation": "camel_case", "text": "hello world"}),
            json!("helloWorld"),
        ),
        (
            json!({"operation": "pascal_case", "text": "hello world"}),
            json!("HelloWorld"),
        ),
        (
            json!({"operation": "kebab_case", "text": "Hello World"}),
            json!("hello-world"),
        ),
        (
            json!({"operation": "title_case", "text": "hello world"}),
            json!("Hello World"),
        ),
        (
            json!({"operation": "word_count", "text": "a b  c"}),
            json!(3),
        ),
        (
            json!({"operation": "split", "text": "a,b", "delimiter": ","}),
            json!(["a", "b"]),
        ),
        (
            json!({"operation": "substring", "text": "héllo", "start": 1, "end": 3}),
            json!("él"),
        ),
        (
            json!({"operation": "replace", "text": "a1b22", "pattern": "\\d+", "replacement": "#", "regex": true}),
            json!("a#b#"),
        ),
        (
            json!({"operation": "replace", "text": "a.b", "pattern": ".", "replacement": "-"}),
            json!("a-b"),
        ),
    ];
    for (params, expected) in cases {
        let out = call("text_manipulator", params.clone()).await.unwrap();
        assert_eq!(out["result"], expected, "{params}");
    }
    let len = call(
        "text_manipulator",
        json!({"operation": "length", "text": "hé\nx y"}),
    )
    .await
    .unwrap();
    assert_eq!(
        len["result"],
        json!({"chars": 6, "bytes": 7, "words": 3, "lines": 2})
    );
}

#[tokio::test]
async fn text_invalid_input() {
    assert_invalid(
        call(
            "text_manipulator",
            json!({"operation": "shout", "text": "a"}),
        )
        .await,
        "operation",
    );
    assert_invalid(
        call(
            "text_manipulator",
            json!({"operation": "replace", "text": "a"}),
        )
        .await,
        "pattern",
    );
    assert_invalid(
        call("text_manipulator", json!({"operation": "replace", "text": "a", "pattern": "(", "replacement": "", "regex": true})).await,
        "pattern",
    );
    assert_invalid(
        call(
            "text_manipulator",
            json!({"operation": "substring", "text": "abc", "start": 3, "end": 1}),
        )
        .await,
        "start",
    );
}

#[tokio::test]
async fn uuid_generate_and_parse() {
    let out = call("uuid_generator", json!({"count": 3})).await.unwrap();
    let ids = out["uuids"].as_array().unwrap();
    assert_eq!(ids.len(), 3);
    assert_ne!(ids[0], ids[1]);
    let v7 = call(
        "uuid_generator",
        json!({"version": "v7", "format": "simple"}),
    )
    .await
    .unwrap();
    assert_eq!(v7["uuids"][0].as_str().unwrap().len(), 32);
    let v5 = call(
        "uuid_generator",
        json!({"version": "v5", "namespace": "dns", "name": "example.com"}),
    )
    .await
    .unwrap();
    assert_eq!(v5["uuids"][0], "cfbff0d1-9375-5685-968c-48ce8b15ae17");
    let parsed = call(
        "uuid_generator",
        json!({"operation": "parse", "input": v7["uuids"][0]}),
    )
    .await
    .unwrap();
    assert_eq!(parsed["valid"], true);
    assert_eq!(parsed["version"], 7);
    let bad = call(
        "uuid_generator",
        json!({"operation": "parse", "input": "nope"}),
    )
    .await
    .unwrap();
    assert_eq!(bad["valid"], false);
}

#[tokio::test]
async fn uuid_invalid_input() {
    assert_invalid(call("uuid_generator", json!({"count": 0})).await, "count");
    assert_invalid(
        call("uuid_generator", json!({"count": 5000})).await,
        "count",
    );
    assert_invalid(
        call("uuid_generator", json!({"version": "v5", "name": "x"})).await,
        "namespace",
    );
    assert_invalid(
        call(
            "uuid_generator",
            json!({"version": "v5", "namespace": "bad", "name": "x"}),
        )
        .await,
        "namespace",
    );
    assert_invalid(
        call_direct("uuid_generator", json!({"count": 0})).await,
        "count",
    );
}

#[tokio::test]
async fn calculator_refuses_deep_nesting_instead_of_overflowing_the_stack() {
    let deep = format!("{}1{}", "(".repeat(2000), ")".repeat(2000));
    assert_invalid(
        call("calculator", json!({ "expression": deep })).await,
        "expression",
    );
    let ok = format!("{}1{}", "(".repeat(50), ")".repeat(50));
    assert_eq!(
        call("calculator", json!({ "expression": ok }))
            .await
            .unwrap()["result"],
        1
    );
}

#[tokio::test]
async fn diff_of_large_texts_runs_off_the_async_threads() {
    let old: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
    let new = old.replace("line 10000\n", "changed\n");
    let out = call("diff_calculator", json!({"old": old, "new": new}))
        .await
        .unwrap();
    assert_eq!(out["stats"]["insertions"], 1);
    assert_eq!(out["stats"]["deletions"], 1);
}
