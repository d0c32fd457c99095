//! The system tools: environment_reader, process_executor, service_checker,
//! system_monitor.

use std::time::Duration;

use llmspell_tools::{ProcessPolicy, ToolError, ToolRegistry, ToolsConfig};
use serde_json::json;

use crate::common::{assert_invalid, assert_refused, call, call_in};

fn registry_with(config: ToolsConfig) -> ToolRegistry {
    ToolRegistry::with_standard_tools(&config).unwrap()
}

#[tokio::test]
async fn environment_reads_plain_variables() {
    let out = call(
        "environment_reader",
        json!({"operation": "get", "name": "PATH"}),
    )
    .await
    .unwrap();
    assert_eq!(out["set"], true);
    assert!(!out["value"].as_str().unwrap().is_empty());
    let missing = call(
        "environment_reader",
        json!({"operation": "exists", "name": "LLMSPELL_NOT_SET_X"}),
    )
    .await
    .unwrap();
    assert_eq!(missing["exists"], false);
    let list = call(
        "environment_reader",
        json!({"operation": "list", "prefix": "PA"}),
    )
    .await
    .unwrap();
    assert!(list["variables"]["PATH"].is_string());
    let sys = call("environment_reader", json!({"operation": "system"}))
        .await
        .unwrap();
    assert_eq!(sys["os"], std::env::consts::OS);
}

#[tokio::test]
async fn environment_hides_secrets_unless_allowed() {
    // Secret-looking variables the test process is known to have: HOME is
    // not secret; check the policy with names we control via the allow-list
    // and with whatever secret-looking names exist.
    let reason = assert_refused(
        call(
            "environment_reader",
            json!({"operation": "get", "name": "AWS_SECRET_ACCESS_KEY"}),
        )
        .await,
    );
    assert!(reason.contains("allow_secret_env"), "{reason}");
    assert_refused(
        call(
            "environment_reader",
            json!({"operation": "get", "name": "github_token"}),
        )
        .await,
    );
    let list = call("environment_reader", json!({"operation": "list"}))
        .await
        .unwrap();
    for name in list["variables"].as_object().unwrap().keys() {
        let upper = name.to_ascii_uppercase();
        for marker in ["KEY", "SECRET", "TOKEN", "PASSWORD"] {
            assert!(!upper.contains(marker), "{name} was listed");
        }
    }
    let allowed = registry_with(
        ToolsConfig::builder()
            .allow_secret_env("LLMSPELL_TEST_TOKEN")
            .build()
            .unwrap(),
    );
    let out = call_in(
        &allowed,
        "environment_reader",
        json!({"operation": "get", "name": "LLMSPELL_TEST_TOKEN"}),
    )
    .await
    .unwrap();
    assert_eq!(out["name"], "LLMSPELL_TEST_TOKEN");
}

#[tokio::test]
async fn environment_invalid_input() {
    assert_invalid(
        call("environment_reader", json!({"operation": "get"})).await,
        "name",
    );
    assert_invalid(
        call(
            "environment_reader",
            json!({"operation": "set", "name": "A"}),
        )
        .await,
        "operation",
    );
}

#[tokio::test]
async fn process_runs_allowed_programs() {
    let out = call(
        "process_executor",
        json!({"program": "echo", "args": ["hello", "world"]}),
    )
    .await
    .unwrap();
    assert_eq!(out["stdout"], "hello world\n");
    assert_eq!(out["exit_code"], 0);
    assert_eq!(out["success"], true);
    let fail = call("process_executor", json!({"program": "false"}))
        .await
        .unwrap();
    assert_eq!(fail["success"], false);
    assert_eq!(fail["exit_code"], 1);
}

#[tokio::test]
async fn process_feeds_stdin_and_caps_output() {
    let policy = ProcessPolicy {
        allowed_programs: ["cat".to_owned()].into(),
        timeout: Duration::from_secs(5),
        max_output_bytes: 10,
    };
    let reg = registry_with(
        ToolsConfig::builder()
            .process_policy(policy)
            .build()
            .unwrap(),
    );
    let out = call_in(
        &reg,
        "process_executor",
        json!({"program": "cat", "stdin": "0123456789abcdef"}),
    )
    .await
    .unwrap();
    assert_eq!(out["stdout"], "0123456789");
    assert_eq!(out["stdout_truncated"], true);
}

#[tokio::test]
async fn process_refuses_unlisted_programs_and_shells() {
    for program in [
        "sh",
        "bash",
        "/bin/echo",
        "rm",
        "echo; rm -rf /",
        "date",
        "hostname",
    ] {
        let reason = assert_refused(
            call(
                "process_executor",
                json!({"program": program, "args": ["-c", "true"]}),
            )
            .await,
        );
        assert!(reason.contains("not allow-listed"), "{reason}");
    }
}

#[tokio::test]
async fn process_times_out_and_is_killed() {
    let policy = ProcessPolicy {
        allowed_programs: ["sleep".to_owned()].into(),
        timeout: Duration::from_secs(5),
        max_output_bytes: 1024,
    };
    let reg = registry_with(
        ToolsConfig::builder()
            .process_policy(policy)
            .build()
            .unwrap(),
    );
    let started = std::time::Instant::now();
    let err = call_in(
        &reg,
        "process_executor",
        json!({"program": "sleep", "args": ["30"], "timeout_ms": 200}),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ToolError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_invalid(
        call_in(
            &reg,
            "process_executor",
            json!({"program": "sleep", "args": ["1"], "timeout_ms": 60_000}),
        )
        .await,
        "timeout_ms",
    );
}

#[tokio::test]
async fn process_invalid_input() {
    assert_invalid(
        call("process_executor", json!({"args": ["x"]})).await,
        "program",
    );
    assert_invalid(
        call("process_executor", json!({"program": "echo", "args": "x"})).await,
        "args",
    );
    // The working directory must be inside the file roots (none by default).
    assert_refused(
        call(
            "process_executor",
            json!({"program": "echo", "working_dir": "/"}),
        )
        .await,
    );
}

#[tokio::test]
async fn service_checker_probes_loopback() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let up = call(
        "service_checker",
        json!({"host": "127.0.0.1", "port": port}),
    )
    .await
    .unwrap();
    assert_eq!(up["reachable"], true);
    assert_eq!(up["address"], format!("127.0.0.1:{port}"));
    drop(listener);
    let down = call(
        "service_checker",
        json!({"host": "localhost", "port": port, "timeout_ms": 500}),
    )
    .await
    .unwrap();
    assert_eq!(down["reachable"], false);
    assert!(down["error"].is_string());
}

#[tokio::test]
async fn service_checker_refuses_unlisted_hosts() {
    for host in ["10.0.0.1", "example.com", "192.168.1.1"] {
        assert_refused(call("service_checker", json!({"host": host, "port": 80})).await);
    }
}

#[tokio::test]
async fn service_checker_invalid_input() {
    assert_invalid(
        call("service_checker", json!({"host": "localhost"})).await,
        "port",
    );
    assert_invalid(
        call(
            "service_checker",
            json!({"host": "localhost", "port": 70000}),
        )
        .await,
        "port",
    );
    assert_invalid(
        call(
            "service_checker",
            json!({"host": "localhost", "port": 80, "timeout_ms": 600_000}),
        )
        .await,
        "timeout_ms",
    );
}

#[cfg(feature = "system-monitor")]
#[tokio::test]
async fn system_monitor_reports_resources() {
    let out = call("system_monitor", json!({})).await.unwrap();
    assert!(out["cpu"]["count"].as_u64().unwrap() >= 1);
    assert!(out["memory"]["total_bytes"].as_u64().unwrap() > 0);
    assert!(out["disks"].is_array());
    assert!(out["system"]["uptime_seconds"].as_u64().unwrap() > 0);
    let only = call("system_monitor", json!({"metrics": ["memory"]}))
        .await
        .unwrap();
    assert_eq!(
        only.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["memory"]
    );
}

#[cfg(feature = "system-monitor")]
#[tokio::test]
async fn system_monitor_invalid_input() {
    assert_invalid(
        call("system_monitor", json!({"metrics": ["gpu"]})).await,
        "metrics",
    );
    assert_invalid(
        call("system_monitor", json!({"metrics": "cpu"})).await,
        "metrics",
    );
}
