//! Hostile tool inputs (issue #12, items 6–9, 16, 17 and 20): each must be
//! refused with an error naming what was wrong, never crash, hang, exhaust
//! memory or lose data. Every test here failed before its fix.

use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_hooks::{HookExecutor, HookRegistry};
use llmspell_tools::{InvokeOptions, ToolError, ToolRegistry, ToolRuntime, ToolsConfig};
use serde_json::{json, Value};

use crate::common::{assert_invalid, call, call_direct, registry};

/// Panics unless `result` is an `InvalidParameter` naming `parameter`;
/// returns its message.
#[track_caller]
fn invalid_message(result: llmspell_tools::Result<Value>, parameter: &str) -> String {
    match result {
        Err(ToolError::InvalidParameter {
            parameter: p,
            message,
            ..
        }) => {
            assert_eq!(p, parameter, "{message}");
            message
        }
        other => panic!("expected InvalidParameter naming `{parameter}`, got {other:?}"),
    }
}

// ---- 6: stack overflows -------------------------------------------------

#[tokio::test]
async fn template_with_30000_unary_minuses_is_refused_not_a_stack_overflow() {
    let template = format!("{{{{ {}1 }}}}", "-".repeat(30_000));
    assert!(template.len() < 256 * 1024);
    let params = json!({"template": template});
    let message = invalid_message(call("template_engine", params.clone()).await, "template");
    assert!(message.contains("256 operators"), "{message}");
    invalid_message(call_direct("template_engine", params).await, "template");
    // Other unbounded chains: binary operators, filters, calls, `not`.
    for chain in [
        format!("{{{{ 1{} }}}}", " + 1".repeat(20_000)),
        format!("{{{{ x{} }}}}", " | abs".repeat(20_000)),
        format!("{{{{ range{} }}}}", "(1)".repeat(20_000)),
        format!("{{% if {}x %}}{{% endif %}}", "not ".repeat(20_000)),
    ] {
        invalid_message(
            call("template_engine", json!({"template": chain})).await,
            "template",
        );
    }
    // A long but flat template still renders.
    let flat = "{{ a }}".repeat(10_000);
    let out = call(
        "template_engine",
        json!({"template": flat, "context": {"a": "x"}}),
    )
    .await
    .unwrap();
    assert_eq!(out["output"].as_str().unwrap().len(), 10_000);
}

#[tokio::test]
async fn jsonpath_with_5000_nested_parentheses_is_refused() {
    // Over the length bound; the nesting bound refuses shorter ones.
    for n in [5000, 1000, 33] {
        let path = format!("$[?{}@.a{}]", "(".repeat(n), ")".repeat(n));
        let message = invalid_message(
            call("json_processor", json!({"input": {"a": 1}, "path": path})).await,
            "path",
        );
        if n < 2000 {
            assert!(message.contains("nest deeper"), "{message}");
        }
    }
    let ok = format!("$[?{}@.a{}]", "(".repeat(20), ")".repeat(20));
    call("json_processor", json!({"input": [{"a": 1}], "path": ok}))
        .await
        .unwrap();
}

#[tokio::test]
async fn jsonpath_with_2000_nested_filters_is_refused() {
    for n in [2000, 500, 7] {
        let path = format!("${}{}", "[?@".repeat(n), "]".repeat(n));
        let message = invalid_message(
            call_direct("json_processor", json!({"input": {"a": 1}, "path": path})).await,
            "path",
        );
        if n < 1000 {
            assert!(message.contains("nest deeper"), "{message}");
        }
    }
}

// ---- 7: exponential time; the timeout holds for CPU work ---------------

#[tokio::test]
async fn nested_filters_that_took_exponential_time_are_refused() {
    // n = 25 took 49 s to parse; now refused by the nesting bound.
    for n in [20, 25, 26] {
        let path = format!("${}{}", "[?@".repeat(n), "]".repeat(n));
        invalid_message(
            call("json_processor", json!({"input": {"a": 1}, "path": path})).await,
            "path",
        );
    }
    // Within the bound, nested filters still work.
    let out = call(
        "json_processor",
        json!({"input": {"a": [{"b": [1]}]}, "path": "$.a[?@.b[?@ == 1]]"}),
    )
    .await
    .unwrap();
    assert_eq!(out["count"], 1);
}

#[tokio::test]
async fn queries_whose_results_explode_are_refused() {
    // Each bracket of ten selectors multiplies the result by ten.
    let unions = format!("${}", "[0,0,0,0,0,0,0,0,0,0]".repeat(9));
    let nested: Value = (0..9).fold(json!(1), |v, _| json!([v]));
    let message = invalid_message(
        call("json_processor", json!({"input": nested, "path": unions})).await,
        "path",
    );
    assert!(message.contains("steps"), "{message}");
    // Descendants of descendants.
    let wide: Vec<Value> = (0..200).map(|i| json!({"a": {"b": {"c": i}}})).collect();
    let path = format!("${}", "..*".repeat(8));
    invalid_message(
        call("json_processor", json!({"input": wide, "path": path})).await,
        "path",
    );
}

fn runtime() -> ToolRuntime {
    let tools = Arc::new(registry());
    ToolRuntime::new(
        tools,
        Arc::new(HookExecutor::new(Arc::new(HookRegistry::new()))),
    )
}

#[tokio::test]
async fn cpu_bound_tool_work_times_out_instead_of_finishing() {
    // A query within the bounds that takes far longer than the timeout: it
    // used to run to its end on the caller's thread and report success.
    let doc: Vec<Value> = (0..4000)
        .map(|i| json!({"id": i, "tags": ["a", "b", "c"], "meta": {"x": {"y": i}}}))
        .collect();
    let rt = runtime();
    let started = Instant::now();
    let err = rt
        .invoke_with(
            "json_processor",
            json!({"input": doc, "path": "$..*"}),
            &InvokeOptions::new().timeout(Duration::from_millis(5)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ToolError::Timeout { timeout, .. } if timeout == Duration::from_millis(5)),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    // A template at the edge of its fuel, likewise.
    let err = rt
        .invoke_with(
            "template_engine",
            json!({"template": "{% for i in range(100000) %}{{ i }}{% endfor %}"}),
            &InvokeOptions::new().timeout(Duration::from_millis(5)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::Timeout { .. }), "{err}");
    // The runtime is still usable, with the same tools.
    let ok = rt
        .invoke("json_processor", json!({"input": {"a": 1}, "path": "$.a"}))
        .await
        .unwrap();
    assert_eq!(ok["values"], json!([1]));
}

// ---- 16: durations from outside are range-checked ------------------------

#[tokio::test]
async fn huge_durations_are_refused_with_the_valid_range() {
    let dir = tempfile::tempdir().unwrap();
    let config = ToolsConfig::builder()
        .file_root(dir.path())
        .build()
        .unwrap();
    let registry = ToolRegistry::with_standard_tools(&config).unwrap();
    let cases = [
        (
            "process_executor",
            json!({"program": "true", "timeout_ms": 1e300}),
            "timeout_ms",
        ),
        (
            "process_executor",
            json!({"program": "true", "timeout_ms": 0}),
            "timeout_ms",
        ),
        (
            "process_executor",
            json!({"program": "true", "timeout_ms": 1.5}),
            "timeout_ms",
        ),
        (
            "service_checker",
            json!({"host": "127.0.0.1", "port": 9, "timeout_ms": 1e300}),
            "timeout_ms",
        ),
        (
            "service_checker",
            json!({"host": "127.0.0.1", "port": 9, "timeout_ms": -5}),
            "timeout_ms",
        ),
        (
            "file_watcher",
            json!({"path": ".", "duration_ms": 1e300}),
            "duration_ms",
        ),
        (
            "date_time_handler",
            json!({"operation": "add", "input": "2024-01-01", "days": 1e300}),
            "days",
        ),
        (
            "date_time_handler",
            json!({"operation": "add", "input": "2024-01-01", "seconds": -1e300}),
            "seconds",
        ),
    ];
    for (tool, params, parameter) in cases {
        // Through the registry (schema first) and straight to the tool.
        let via_schema = registry
            .require(tool)
            .unwrap()
            .call(params.clone(), &llmspell_tools::ToolContext::new())
            .await;
        invalid_message(via_schema, parameter);
        let direct = registry
            .require(tool)
            .unwrap()
            .tool()
            .execute(params.clone(), &llmspell_tools::ToolContext::new())
            .await;
        let message = invalid_message(direct, parameter);
        assert!(message.contains(" from "), "{tool}: {message}");
        assert!(message.contains(" to "), "{tool}: {message}");
    }
    // Whole numbers written as floats (Lua's 250.0) are fine.
    let out = registry
        .require("process_executor")
        .unwrap()
        .tool()
        .execute(
            json!({"program": "true", "timeout_ms": 2500.0}),
            &llmspell_tools::ToolContext::new(),
        )
        .await
        .unwrap();
    assert_eq!(out["success"], true);
}

// ---- 17: secrets in the environment --------------------------------------

/// The variables of the issue, with the values it found exposed.
const SECRETS: [(&str, &str); 9] = [
    ("DB_PASS", "hunter2"),
    ("MYSQL_PWD", "hunter2"),
    ("DATABASE_URL", "postgres://u:secret@h/db"),
    ("REDIS_URL", "redis://:s3cret@cache:6379/0"),
    ("GITHUB_PAT", "ghp_0123456789abcdefghijABCDEFGHIJ"),
    ("PASSPHRASE", "correct horse battery staple"),
    ("SENTRY_DSN", "https://abc123@o0.ingest.sentry.io/42"),
    ("BEARER", "abcdef0123456789"),
    ("LLMSPELL_PLAIN_URL", "https://u:p@example.com/x"),
];

/// Runs [`environment_child`] in a child process with [`SECRETS`] set (the
/// environment of this process is shared by every test thread, so it is
/// not changed here).
#[test]
fn environment_reader_hides_credentials() {
    let exe = std::env::current_exe().unwrap();
    let output = std::process::Command::new(exe)
        .args([
            "--exact",
            "adversarial::environment_child",
            "--test-threads=1",
            "--nocapture",
        ])
        .env("LLMSPELL_ENV_CHILD", "1")
        .env("LLMSPELL_PLAIN_SETTING", "plain value")
        .envs(SECRETS)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{stderr}"
    );
}

/// The body of [`environment_reader_hides_credentials`]: does nothing
/// unless run by it.
#[tokio::test]
async fn environment_child() {
    if std::env::var_os("LLMSPELL_ENV_CHILD").is_none() {
        return;
    }
    for (name, value) in SECRETS {
        assert_eq!(std::env::var(name).unwrap(), value);
        for operation in ["get", "exists"] {
            let result = call(
                "environment_reader",
                json!({"operation": operation, "name": name}),
            )
            .await;
            crate::common::assert_policy(result, "secret_variable");
        }
    }
    // A secret-looking name is refused whether or not it is set, so
    // `exists` does not confirm it.
    for name in ["DB_PASS", "NEVER_SET_DB_PASS"] {
        crate::common::assert_policy(
            call(
                "environment_reader",
                json!({"operation": "exists", "name": name}),
            )
            .await,
            "secret_variable",
        );
    }
    let list = call("environment_reader", json!({"operation": "list"}))
        .await
        .unwrap();
    let shown = list["variables"].as_object().unwrap();
    for (name, value) in SECRETS {
        assert!(!shown.contains_key(name), "{name} listed");
        assert!(
            !shown.values().any(|v| v.as_str() == Some(value)),
            "{value} listed"
        );
    }
    assert!(list["hidden"].as_u64().unwrap() >= SECRETS.len() as u64);
    assert_eq!(shown["LLMSPELL_PLAIN_SETTING"], "plain value");
    let plain = call(
        "environment_reader",
        json!({"operation": "get", "name": "LLMSPELL_PLAIN_SETTING"}),
    )
    .await
    .unwrap();
    assert_eq!(plain["value"], "plain value");
}

// ---- 20: bad data is refused or reported, never silently wrong ----------

#[tokio::test]
async fn csv_duplicate_headers_are_refused() {
    for operation in ["analyze", "to_json", "filter"] {
        let message = invalid_message(
            call(
                "csv_analyzer",
                json!({"operation": operation, "input": "a,a,a\n1,2,3\n", "column": "a", "equals": "1"}),
            )
            .await,
            "input",
        );
        assert!(message.contains("`a` twice"), "{message}");
    }
    // Without a header row, columns are numbered and all values kept.
    let out = call(
        "csv_analyzer",
        json!({"operation": "to_json", "input": "a,a,a\n1,2,3\n", "has_headers": false}),
    )
    .await
    .unwrap();
    assert_eq!(
        out["rows"][1],
        json!({"column_1": "1", "column_2": "2", "column_3": "3"})
    );
}

#[tokio::test]
async fn csv_ragged_rows_are_reported() {
    let input = "a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n";
    for operation in ["analyze", "to_json"] {
        let out = call(
            "csv_analyzer",
            json!({"operation": operation, "input": input}),
        )
        .await
        .unwrap();
        assert_eq!(out["ragged_rows"], 2, "{operation}");
        assert_eq!(out["ragged_lines"], json!([3, 4]), "{operation}");
    }
    let even = call("csv_analyzer", json!({"input": "a,b\n1,2\n"}))
        .await
        .unwrap();
    assert_eq!(even["ragged_rows"], 0);
    assert_eq!(even["ragged_lines"], json!([]));
}

#[tokio::test]
async fn date_add_names_the_parameter_out_of_range() {
    for (parameter, value) in [
        ("days", json!(i64::MAX)),
        ("hours", json!(i64::MIN)),
        ("minutes", json!(i64::MAX)),
        ("seconds", json!(i64::MAX)),
    ] {
        let mut params = json!({"operation": "add", "input": "2024-01-01"});
        params[parameter] = value;
        invalid_message(call("date_time_handler", params.clone()).await, parameter);
        invalid_message(call_direct("date_time_handler", params).await, parameter);
    }
    // In range for the duration, out of range for a date.
    let message = invalid_message(
        call(
            "date_time_handler",
            json!({"operation": "add", "input": "2024-01-01", "days": 100_000_000_000i64, "seconds": 5}),
        )
        .await,
        "days",
    );
    assert!(message.contains("supported dates"), "{message}");
    let ok = call(
        "date_time_handler",
        json!({"operation": "add", "input": "2024-01-01T00:00:00Z", "days": 1, "hours": 1}),
    )
    .await
    .unwrap();
    assert_eq!(ok["rfc3339"], "2024-01-02T01:00:00+00:00");
}

#[tokio::test]
async fn calculator_integer_overflow_is_an_error_never_a_wrong_answer() {
    let min = i64::MIN;
    for expression in [
        "math::abs(x)".to_owned(),
        "shl(1, 64)".to_owned(),
        "shl(1, 63)".to_owned(),
        "shl(3, 62)".to_owned(),
        "shl(1, -1)".to_owned(),
        "shr(1, 64)".to_owned(),
        "shr(1, -1)".to_owned(),
        "x - 1".to_owned(),
        "-x".to_owned(),
        "x * -1".to_owned(),
        "x / -1".to_owned(),
        "x % -1".to_owned(),
        format!("{} + 1", i64::MAX),
        "str::substring(\"é\", 0, 1)".to_owned(),
        "str::substring(\"abc\", 2, 9)".to_owned(),
    ] {
        let result = call(
            "calculator",
            json!({"expression": expression, "variables": {"x": min}}),
        )
        .await;
        assert_invalid(result, "expression");
    }
    for (expression, expected) in [
        ("math::abs(-5)", json!(5)),
        ("math::abs(-2.5)", json!(2.5)),
        ("shl(1, 62)", json!(1i64 << 62)),
        ("shl(-1, 63)", json!(i64::MIN)),
        ("shr(x, 63)", json!(-1)),
        ("shr(256, 4)", json!(16)),
        ("bitand(12, 10)", json!(8)),
        ("str::substring(\"héllo\", 0, 3)", json!("hé")),
    ] {
        let out = call(
            "calculator",
            json!({"expression": expression, "variables": {"x": min}}),
        )
        .await
        .unwrap();
        assert_eq!(out["result"], expected, "{expression}");
    }
}

// ---- 8 and 9: archives ----------------------------------------------------

#[cfg(feature = "archive")]
mod archives {
    use std::io::Write as _;
    use std::path::Path;

    use llmspell_tools::{ArchiveLimits, ToolRegistry, ToolsConfig};
    use serde_json::{json, Value};
    use tempfile::TempDir;

    use crate::common::{assert_policy, call_in};

    struct Root {
        dir: TempDir,
        registry: ToolRegistry,
    }

    impl Root {
        fn new(limits: ArchiveLimits) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let config = ToolsConfig::builder()
                .file_root(dir.path())
                .archive_limits(limits)
                .build()
                .unwrap();
            let registry = ToolRegistry::with_standard_tools(&config).unwrap();
            Self { dir, registry }
        }

        fn path(&self, rel: &str) -> std::path::PathBuf {
            self.dir.path().join(rel)
        }

        async fn archive(&self, params: Value) -> llmspell_tools::Result<Value> {
            call_in(&self.registry, "archive_handler", params).await
        }

        /// The destination's entries, sorted (staging leftovers included).
        fn listing(&self, rel: &str) -> Vec<String> {
            let mut names: Vec<String> = walk(&self.path(rel))
                .into_iter()
                .map(|p| {
                    p.strip_prefix(self.path(rel))
                        .unwrap()
                        .display()
                        .to_string()
                })
                .collect();
            names.sort();
            names
        }
    }

    fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(walk(&path));
            }
            out.push(path);
        }
        out
    }

    fn seed_destination(root: &Root) {
        std::fs::create_dir_all(root.path("dest/sub")).unwrap();
        std::fs::write(root.path("dest/a.txt"), "original a").unwrap();
        std::fs::write(root.path("dest/sub/b.txt"), "original b").unwrap();
    }

    fn assert_destination_untouched(root: &Root) {
        assert_eq!(
            std::fs::read_to_string(root.path("dest/a.txt")).unwrap(),
            "original a"
        );
        assert_eq!(
            std::fs::read_to_string(root.path("dest/sub/b.txt")).unwrap(),
            "original b"
        );
        assert_eq!(root.listing("dest"), ["a.txt", "sub", "sub/b.txt"]);
    }

    fn regular(name: &str, data: &[u8]) -> (tar::Header, Vec<u8>) {
        let mut header = tar::Header::new_gnu();
        header.set_path(name).unwrap();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        (header, data.to_vec())
    }

    #[tokio::test]
    async fn a_tar_refused_part_way_keeps_the_files_it_would_overwrite() {
        let root = Root::new(ArchiveLimits::default());
        seed_destination(&root);
        let mut builder = tar::Builder::new(std::fs::File::create(root.path("x.tar")).unwrap());
        for (name, data) in [
            ("a.txt", &b"new a"[..]),
            ("sub/b.txt", b"new b"),
            ("c.txt", b"c"),
        ] {
            let (header, data) = regular(name, data);
            builder.append(&header, &data[..]).unwrap();
        }
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        builder
            .append_link(&mut link, "evil", "/etc/passwd")
            .unwrap();
        builder.finish().unwrap();
        drop(builder);
        let detail = assert_policy(
            root.archive(json!({"operation": "extract", "path": "x.tar", "destination": "dest", "overwrite": true}))
                .await,
            "archive_link",
        );
        assert!(detail.contains("evil"), "{detail}");
        assert_destination_untouched(&root);
        // A destination the refused call had to create is gone again.
        assert_policy(
            root.archive(
                json!({"operation": "extract", "path": "x.tar", "destination": "new/deep"}),
            )
            .await,
            "archive_link",
        );
        assert!(!root.path("new").exists());
    }

    #[tokio::test]
    async fn a_zip_refused_part_way_keeps_the_files_it_would_overwrite() {
        let limits = ArchiveLimits {
            max_entry_bytes: 1000,
            ..ArchiveLimits::default()
        };
        let root = Root::new(limits);
        seed_destination(&root);
        let mut zip = zip::ZipWriter::new(std::fs::File::create(root.path("x.zip")).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("a.txt", options).unwrap();
        zip.write_all(b"new a").unwrap();
        zip.start_file("sub/b.txt", options).unwrap();
        zip.write_all(b"new b").unwrap();
        zip.start_file("big.bin", options).unwrap();
        zip.write_all(&[0u8; 100_000]).unwrap();
        zip.finish().unwrap();
        assert_policy(
            root.archive(json!({"operation": "extract", "path": "x.zip", "destination": "dest", "overwrite": true}))
                .await,
            "archive_size_limit",
        );
        assert_destination_untouched(&root);
    }

    #[tokio::test]
    async fn a_tar_gz_over_the_total_found_while_decompressing_changes_nothing() {
        // The entries declare small sizes honestly; only the total is over,
        // and only the bytes written show it.
        let limits = ArchiveLimits {
            max_entries: 100,
            max_entry_bytes: 1000,
            max_total_bytes: 1500,
        };
        let root = Root::new(limits);
        seed_destination(&root);
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(root.path("t.tar.gz")).unwrap(),
            flate2::Compression::default(),
        );
        let mut builder = tar::Builder::new(gz);
        for (name, byte) in [("a.txt", b'x'), ("sub/b.txt", b'y')] {
            let (header, data) = regular(name, &[byte; 900]);
            builder.append(&header, &data[..]).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
        let detail = assert_policy(
            root.archive(json!({"operation": "extract", "path": "t.tar.gz", "destination": "dest", "overwrite": true}))
                .await,
            "archive_size_limit",
        );
        assert!(detail.contains("1500"), "{detail}");
        assert_destination_untouched(&root);
    }

    #[tokio::test]
    async fn overwrite_replaces_and_keeps_the_rest() {
        let root = Root::new(ArchiveLimits::default());
        seed_destination(&root);
        let mut builder = tar::Builder::new(std::fs::File::create(root.path("x.tar")).unwrap());
        for (name, data) in [("a.txt", &b"new a"[..]), ("c/d.txt", b"d")] {
            let (header, data) = regular(name, data);
            builder.append(&header, &data[..]).unwrap();
        }
        builder.finish().unwrap();
        drop(builder);
        // Without `overwrite`: refused, nothing changed.
        let err = root
            .archive(json!({"operation": "extract", "path": "x.tar", "destination": "dest"}))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("overwrite"), "{err}");
        assert_destination_untouched(&root);
        let out = root
            .archive(json!({"operation": "extract", "path": "x.tar", "destination": "dest", "overwrite": true}))
            .await
            .unwrap();
        assert_eq!(out["entries"], 2);
        assert_eq!(
            std::fs::read_to_string(root.path("dest/a.txt")).unwrap(),
            "new a"
        );
        assert_eq!(
            std::fs::read_to_string(root.path("dest/sub/b.txt")).unwrap(),
            "original b"
        );
        assert_eq!(
            std::fs::read_to_string(root.path("dest/c/d.txt")).unwrap(),
            "d"
        );
        assert_eq!(
            root.listing("dest"),
            ["a.txt", "c", "c/d.txt", "sub", "sub/b.txt"]
        );
    }

    /// A tar whose first header is a GNU long-name entry declaring
    /// `declared` bytes, followed by `present` zero bytes of it.
    fn long_name_bomb(path: &Path, declared: u64, present: usize, gz: bool) {
        let mut header = tar::Header::new_gnu();
        header.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::GNULongName);
        header.set_size(declared);
        header.set_cksum();
        let file = std::fs::File::create(path).unwrap();
        let mut out: Box<dyn std::io::Write> = if gz {
            Box::new(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::fast(),
            ))
        } else {
            Box::new(file)
        };
        out.write_all(header.as_bytes()).unwrap();
        let chunk = vec![b'a'; 1 << 20];
        let mut left = present;
        while left > 0 {
            let n = left.min(chunk.len());
            out.write_all(&chunk[..n]).unwrap();
            left -= n;
        }
        out.flush().unwrap();
    }

    #[tokio::test]
    async fn a_long_name_header_declaring_gigabytes_is_refused_before_it_is_read() {
        let root = Root::new(ArchiveLimits::default());
        // 1.5 GiB declared; 8 MiB actually there (what the tar reader used
        // to buffer before failing; the 1.5 MB archive holds all
        // of it and made `list` use 4.8 GB).
        long_name_bomb(&root.path("bomb.tar.gz"), 1536 << 20, 8 << 20, true);
        for operation in [
            json!({"operation": "list", "path": "bomb.tar.gz"}),
            json!({"operation": "extract", "path": "bomb.tar.gz", "destination": "out"}),
        ] {
            let detail = assert_policy(root.archive(operation).await, "archive_size_limit");
            assert!(detail.contains("long-name"), "{detail}");
        }
        assert!(!root.path("out").exists());
        // PAX headers are bounded the same way.
        let mut header = tar::Header::new_ustar();
        header.set_path("pax").unwrap();
        header.set_entry_type(tar::EntryType::XHeader);
        header.set_size(1 << 40);
        header.set_cksum();
        std::fs::write(root.path("pax.tar"), header.as_bytes()).unwrap();
        assert_policy(
            root.archive(json!({"operation": "list", "path": "pax.tar"}))
                .await,
            "archive_size_limit",
        );
    }

    #[tokio::test]
    async fn long_names_within_the_limit_still_work() {
        let root = Root::new(ArchiveLimits::default());
        let long = format!("{}/file.txt", "d".repeat(200));
        std::fs::create_dir_all(root.path(&"d".repeat(200))).unwrap();
        std::fs::write(root.path(&long), "deep").unwrap();
        for (archive, format) in [("l.tar", "tar"), ("l.tar.gz", "tar_gz")] {
            root.archive(json!({"operation": "create", "path": archive, "files": [long]}))
                .await
                .unwrap();
            let listed = root
                .archive(json!({"operation": "list", "path": archive, "format": format}))
                .await
                .unwrap();
            assert_eq!(listed["entries"][0]["name"], "file.txt", "{format}");
            let mut builder =
                tar::Builder::new(std::fs::File::create(root.path("gnu.tar")).unwrap());
            let (mut header, data) = regular("x", b"deep");
            builder.append_data(&mut header, &long, &data[..]).unwrap();
            builder.finish().unwrap();
            drop(builder);
            let listed = root
                .archive(json!({"operation": "list", "path": "gnu.tar"}))
                .await
                .unwrap();
            assert_eq!(listed["entries"][0]["name"], long);
            root.archive(json!({"operation": "extract", "path": "gnu.tar", "destination": "out", "overwrite": true}))
                .await
                .unwrap();
            assert_eq!(
                std::fs::read_to_string(root.path("out").join(&long)).unwrap(),
                "deep"
            );
        }
    }
}
