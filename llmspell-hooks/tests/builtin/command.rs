//! Command hooks: every answer of the program on a real hooked operation.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_hooks::builtin::CommandHook;
use llmspell_hooks::{
    ComponentId, ComponentType, HookFilter, HookPoint, Hooks, Language, OperationError,
};
use serde_json::{json, Value};

async fn call(
    hooks: &Hooks,
    tool: &str,
    runs: &AtomicUsize,
) -> Result<Value, OperationError<String>> {
    hooks
        .operation::<String>(ComponentId::new(ComponentType::Tool, tool))
        .points(
            HookPoint::BeforeToolExecution,
            HookPoint::AfterToolExecution,
            HookPoint::ToolError,
        )
        .name_key("tool_name")
        .input("parameters", json!({"x": 1}))
        .output_key("result")
        .run(|call| {
            runs.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, String>(call.input) }
        })
        .await
        .map(|c| c.value)
}

fn register(
    script: &str,
    configure: impl FnOnce(
        llmspell_hooks::builtin::CommandHookBuilder,
    ) -> llmspell_hooks::builtin::CommandHookBuilder,
) -> Hooks {
    let hooks = Hooks::new();
    let hook = configure(CommandHook::builder(script).shell(true)).build();
    let options = hook.register_options();
    hooks
        .register_with(HookPoint::BeforeToolExecution, Arc::new(hook), options)
        .unwrap();
    hooks
}

#[tokio::test]
async fn exit_zero_without_output_continues_and_the_context_arrives_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen.json");
    let hooks = register(&format!("cat > '{}'", seen.display()), |b| b);
    let runs = AtomicUsize::new(0);
    assert_eq!(call(&hooks, "calc", &runs).await.unwrap(), json!({"x": 1}));
    let ctx: Value = serde_json::from_slice(&std::fs::read(&seen).unwrap()).unwrap();
    assert_eq!(ctx["point"], "BeforeToolExecution");
    assert_eq!(ctx["component_id"]["name"], "calc");
    assert_eq!(ctx["data"]["parameters"], json!({"x": 1}));
    assert!(ctx["correlation_id"].as_str().unwrap().len() == 36);
    let listed = hooks.registry().list(&HookFilter::new());
    assert_eq!(listed[0].metadata().language, Language::Command);
}

#[tokio::test]
async fn a_json_result_on_stdout_applies() {
    let hooks = register(
        r#"echo '{"type": "modified", "data": {"tool_name": "calc", "parameters": {"x": 2}}}'"#,
        |b| b,
    );
    let runs = AtomicUsize::new(0);
    assert_eq!(call(&hooks, "calc", &runs).await.unwrap(), json!({"x": 2}));
    let hooks = register(r#"echo '{"type": "replace", "value": 7}'"#, |b| b);
    assert_eq!(call(&hooks, "calc", &runs).await.unwrap(), json!(7));
}

#[tokio::test]
async fn exit_two_cancels_with_stderr_as_the_reason() {
    let hooks = register("echo 'no writes here' >&2; exit 2", |b| b);
    let runs = AtomicUsize::new(0);
    let err = call(&hooks, "calc", &runs).await.unwrap_err();
    match err {
        OperationError::Cancelled { reason, .. } => assert_eq!(reason, "no writes here"),
        other => panic!("{other}"),
    }
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn failures_are_fail_open_and_counted_unless_fail_closed() {
    let runs = AtomicUsize::new(0);
    for script in ["exit 1", "echo 'not json'", "echo '{\"type\": \"bogus\"}'"] {
        let hooks = register(script, |b| b);
        call(&hooks, "calc", &runs).await.unwrap();
        let h = &hooks.registry().list(&HookFilter::new())[0];
        assert_eq!(h.performance().failures, 1, "{script}");
        let hooks = register(script, |b| b.fail_closed(true));
        assert!(call(&hooks, "calc", &runs).await.is_err(), "{script}");
    }
    let hooks = register("/nonexistent/program", |b| b.shell(false).fail_closed(true));
    assert!(call(&hooks, "calc", &runs).await.is_err());
}

#[tokio::test]
async fn a_timeout_kills_the_command_and_is_a_failure() {
    let hooks = register("sleep 30", |b| {
        b.timeout(Duration::from_millis(200)).fail_closed(true)
    });
    let runs = AtomicUsize::new(0);
    let started = Instant::now();
    assert!(call(&hooks, "calc", &runs).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(10));
    let hooks = register("sleep 30", |b| b.timeout(Duration::from_millis(200)));
    call(&hooks, "calc", &runs).await.unwrap();
    assert_eq!(
        hooks.registry().list(&HookFilter::new())[0]
            .performance()
            .timeouts,
        1
    );
}

#[tokio::test]
async fn oversized_output_is_a_failure() {
    let hooks = register("head -c 5000 /dev/zero", |b| {
        b.max_output_bytes(1000).fail_closed(true)
    });
    let runs = AtomicUsize::new(0);
    let err = call(&hooks, "calc", &runs).await.unwrap_err();
    assert!(err.to_string().contains("1000 bytes"), "{err}");
}

#[tokio::test]
async fn the_matcher_is_a_regex_on_the_component_name() {
    let hooks = register("exit 2", |b| b.matcher("file_.*|process_executor").unwrap());
    let runs = AtomicUsize::new(0);
    call(&hooks, "calc", &runs).await.unwrap();
    call(&hooks, "my_file_tool", &runs).await.unwrap();
    assert!(call(&hooks, "file_operations", &runs).await.is_err());
    assert!(call(&hooks, "process_executor", &runs).await.is_err());
    assert!(CommandHook::builder("x").matcher("(").is_err());
}

#[tokio::test]
async fn without_a_shell_the_arguments_are_passed_verbatim() {
    let hooks = register("printf", |b| {
        b.shell(false)
            .args([r#"{"type": "cancel", "reason": "%s"}"#, "a b; $HOME"])
    });
    let runs = AtomicUsize::new(0);
    let err = call(&hooks, "calc", &runs).await.unwrap_err();
    assert!(err.to_string().contains("a b; $HOME"), "{err}");
}
