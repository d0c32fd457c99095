//! Every refusal by a standard tool's security policy is a
//! `ToolError::PolicyViolation` naming its rule, so the runtime can report
//! it (`SecurityViolation` hooks get `rule` and `detail`); refusals are the
//! caller's doing and never open a tool's circuit breaker.

use std::sync::Arc;

use llmspell_hooks::{HookExecutor, HookRegistry};
use llmspell_tools::{ToolError, ToolRegistry, ToolRuntime, ToolsConfig};
use serde_json::{json, Value};

use crate::common::{assert_policy, call, call_in};

struct Sandbox {
    root: tempfile::TempDir,
    outside: tempfile::TempDir,
    registry: ToolRegistry,
}

impl Sandbox {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let config = ToolsConfig::builder()
            .file_root(root.path())
            .max_file_bytes(16)
            .build()
            .unwrap();
        let registry = ToolRegistry::with_standard_tools(&config).unwrap();
        Self {
            root,
            outside,
            registry,
        }
    }

    async fn call(&self, tool: &str, params: Value) -> llmspell_tools::Result<Value> {
        call_in(&self.registry, tool, params).await
    }
}

#[tokio::test]
async fn file_refusals_name_their_rule() {
    // No roots at all.
    assert_policy(
        call(
            "file_operations",
            json!({"operation": "read", "path": "a.txt"}),
        )
        .await,
        "no_file_roots",
    );
    let s = Sandbox::new();
    let detail = assert_policy(
        s.call(
            "file_operations",
            json!({"operation": "read", "path": "../etc/passwd"}),
        )
        .await,
        "path_traversal",
    );
    assert!(detail.contains(".."), "{detail}");
    let outside = s.outside.path().join("x.txt").display().to_string();
    assert_policy(
        s.call(
            "file_operations",
            json!({"operation": "write", "path": outside, "content": "x"}),
        )
        .await,
        "path_outside_roots",
    );
    // A root inside another root cannot be deleted or moved.
    std::fs::create_dir(s.root.path().join("inner")).unwrap();
    let nested = ToolsConfig::builder()
        .file_root(s.root.path())
        .file_root(s.root.path().join("inner"))
        .build()
        .unwrap();
    let nested = ToolRegistry::with_standard_tools(&nested).unwrap();
    for params in [
        json!({"operation": "delete", "path": "inner"}),
        json!({"operation": "move", "path": "inner", "destination": "elsewhere"}),
    ] {
        assert_policy(
            call_in(&nested, "file_operations", params).await,
            "root_protected",
        );
    }
    std::fs::write(s.root.path().join("big.txt"), "more than sixteen bytes").unwrap();
    assert_policy(
        s.call(
            "file_operations",
            json!({"operation": "read", "path": "big.txt"}),
        )
        .await,
        "file_too_large",
    );
    assert_policy(
        s.call(
            "file_converter",
            json!({"path": "big.txt", "line_endings": "lf"}),
        )
        .await,
        "file_too_large",
    );
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(
            s.root.path().join("nowhere"),
            s.root.path().join("dangling"),
        )
        .unwrap();
        assert_policy(
            s.call(
                "file_operations",
                json!({"operation": "write", "path": "dangling/x.txt", "content": "x"}),
            )
            .await,
            "dangling_symlink",
        );
    }
}

#[tokio::test]
async fn system_refusals_name_their_rule() {
    assert_policy(
        call(
            "process_executor",
            json!({"program": "rm", "args": ["-rf", "/"]}),
        )
        .await,
        "program_not_allowed",
    );
    assert_policy(
        call(
            "process_executor",
            json!({"program": "echo", "working_dir": "/"}),
        )
        .await,
        "no_file_roots",
    );
    assert_policy(
        call(
            "service_checker",
            json!({"host": "example.com", "port": 80}),
        )
        .await,
        "host_not_allowed",
    );
    assert_policy(
        call(
            "environment_reader",
            json!({"operation": "get", "name": "AWS_SECRET_ACCESS_KEY"}),
        )
        .await,
        "secret_variable",
    );
}

#[cfg(feature = "archive")]
#[tokio::test]
async fn archive_refusals_name_their_rule() {
    use std::io::Write as _;
    let s = Sandbox::new();
    let zip_with = |name: &str, entries: &[&str]| {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(s.root.path().join(name)).unwrap());
        for entry in entries {
            zip.start_file(*entry, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(b"x").unwrap();
        }
        zip.finish().unwrap();
    };
    zip_with("slip.zip", &["../x.txt"]);
    assert_policy(
        s.call(
            "archive_handler",
            json!({"operation": "extract", "path": "slip.zip", "destination": "out"}),
        )
        .await,
        "archive_path_escape",
    );
    let mut header = tar::Header::new_gnu();
    header.set_path("fifo").unwrap();
    header.set_entry_type(tar::EntryType::Fifo);
    header.set_size(0);
    header.set_cksum();
    let mut builder =
        tar::Builder::new(std::fs::File::create(s.root.path().join("fifo.tar")).unwrap());
    builder.append(&header, &[][..]).unwrap();
    builder.finish().unwrap();
    drop(builder);
    assert_policy(
        s.call(
            "archive_handler",
            json!({"operation": "extract", "path": "fifo.tar", "destination": "out"}),
        )
        .await,
        "archive_entry_type",
    );
    zip_with("many.zip", &["a", "b", "c", "d"]);
    let few = ToolsConfig::builder()
        .file_root(s.root.path())
        .archive_limits(llmspell_tools::ArchiveLimits {
            max_entries: 3,
            ..llmspell_tools::ArchiveLimits::default()
        })
        .build()
        .unwrap();
    let few = ToolRegistry::with_standard_tools(&few).unwrap();
    assert_policy(
        call_in(
            &few,
            "archive_handler",
            json!({"operation": "extract", "path": "many.zip", "destination": "out"}),
        )
        .await,
        "archive_entry_limit",
    );
}

#[tokio::test]
async fn refusals_do_not_open_the_breaker() {
    let tools = Arc::new(
        llmspell_tools::ToolRegistry::with_standard_tools(&ToolsConfig::default()).unwrap(),
    );
    let runtime = ToolRuntime::new(
        tools,
        Arc::new(HookExecutor::new(Arc::new(HookRegistry::new()))),
    );
    for _ in 0..50 {
        let err = runtime
            .invoke("process_executor", json!({"program": "rm"}))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ToolError::PolicyViolation { ref rule, .. } if rule == "program_not_allowed"),
            "{err}"
        );
        assert!(!err.is_retryable());
    }
    let out = runtime
        .invoke("process_executor", json!({"program": "true"}))
        .await
        .unwrap();
    assert_eq!(out["success"], true);
}

#[tokio::test]
async fn a_policy_refusal_fires_security_violation_with_its_rule() {
    let tools = Arc::new(
        llmspell_tools::ToolRegistry::with_standard_tools(&ToolsConfig::default()).unwrap(),
    );
    let hooks = llmspell_hooks::Hooks::new();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    hooks
        .register(
            llmspell_hooks::HookPoint::SecurityViolation,
            llmspell_hooks::hook_fn("audit", move |ctx| {
                s2.lock().unwrap().push(ctx.clone());
                Ok(llmspell_hooks::HookResult::Continue)
            }),
        )
        .unwrap();
    assert!(hooks
        .registry()
        .fired_by(&llmspell_hooks::HookPoint::SecurityViolation)
        .is_none());
    let runtime = ToolRuntime::new(tools, hooks.clone());
    assert!(hooks
        .registry()
        .fired_by(&llmspell_hooks::HookPoint::SecurityViolation)
        .is_some());
    // The unobserved fast path (no tool hook, no bus) fires it too.
    let err = runtime
        .invoke("process_executor", json!({"program": "rm"}))
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::PolicyViolation { .. }));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].data["tool_name"], "process_executor");
    assert_eq!(seen[0].data["rule"], "program_not_allowed");
    assert!(seen[0].data["detail"].as_str().unwrap().contains("rm"));
    assert_eq!(seen[0].component.name, "process_executor");
}
