//! `Tool::execute_ref`, the borrowed-parameters twin of `execute`: its
//! provided implementation, the standard tools that override it, and when
//! the hooked path uses it.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use llmspell_hooks::{hook_fn, HookExecutor, HookPoint, HookRegistry, HookResult};
use llmspell_tools::{
    InvokeOptions, Synonyms, Tool, ToolCategory, ToolContext, ToolMetadata, ToolRegistry,
    ToolRuntime, ToolsConfig,
};
use serde_json::{json, Value};

/// Implements only `execute`: echoes its parameters.
#[derive(Debug)]
struct OnlyExecute {
    meta: ToolMetadata,
}

#[async_trait]
impl Tool for OnlyExecute {
    fn metadata(&self) -> &ToolMetadata {
        &self.meta
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> llmspell_tools::Result<Value> {
        Ok(json!({"echo": params}))
    }
}

#[tokio::test]
async fn the_provided_execute_ref_forwards_to_execute() {
    let tool = OnlyExecute {
        meta: ToolMetadata::new("only", "echo", ToolCategory::Utility),
    };
    let ctx = ToolContext::new();
    let params = json!({"a": [1, 2, {"b": "c"}], "d": null});
    let borrowed = tool.execute_ref(&params, &ctx).await.unwrap();
    assert_eq!(borrowed, tool.execute(params.clone(), &ctx).await.unwrap());
    assert_eq!(borrowed, json!({"echo": params}));
    // Through a trait object too (what registries hold).
    let shared: Arc<dyn Tool> = Arc::new(tool);
    assert_eq!(shared.execute_ref(&params, &ctx).await.unwrap(), borrowed);
}

/// `execute` and `execute_ref` of `tool` on `params`: the same value, or
/// errors with the same message.
async fn same_both_ways(tool: &Arc<dyn Tool>, params: &Value) {
    let ctx = ToolContext::new();
    let owned = tool.execute(params.clone(), &ctx).await;
    let borrowed = tool.execute_ref(params, &ctx).await;
    let name = tool.metadata().name();
    match (owned, borrowed) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{name} {params}"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{name} {params}"),
        (a, b) => panic!("{name} {params}: execute {a:?}, execute_ref {b:?}"),
    }
}

#[tokio::test]
async fn the_standard_overrides_give_what_execute_gives() {
    let registry = ToolRegistry::with_standard_tools(&ToolsConfig::default()).unwrap();
    let tool = |name: &str| registry.get(name).unwrap().tool().clone();
    // Past each tool's inline limit, the work moves to a worker thread.
    let big = "ab".repeat((1 << 20) / 2 + 1);
    let hash = tool("hash_calculator");
    for params in [
        json!({"input": "abc"}),
        json!({"input": "", "algorithm": "md5"}),
        json!({"input": "abc", "algorithm": "blake3"}),
        json!({"input": "YWJj", "input_encoding": "base64", "algorithm": "sha1"}),
        json!({"input": "616263", "input_encoding": "hex", "algorithm": "sha512"}),
        json!({"input": "zz", "input_encoding": "hex"}),
        json!({"input": "!!", "input_encoding": "base64"}),
        json!({"operation": "verify", "input": "abc", "algorithm": "md5",
               "expected": "900150983CD24FB0D6963F7D28E17F72"}),
        json!({"operation": "verify", "input": "abc"}),
        json!({"input": 3}),
        json!({"input": "abc", "extra": 1}),
        json!({"algorithm": "sha256"}),
        json!({"input": big}),
    ] {
        same_both_ways(&hash, &params).await;
    }
    let base64 = tool("base64_encoder");
    for params in [
        json!({"operation": "encode", "input": "hello"}),
        json!({"operation": "encode", "input": "hello?>", "variant": "url_safe", "padding": false}),
        json!({"operation": "decode", "input": "aGVsbG8="}),
        json!({"operation": "decode", "input": "/w=="}),
        json!({"operation": "decode", "input": "%%%"}),
        json!({"operation": "encode"}),
        json!({"operation": "encode", "input": big}),
    ] {
        same_both_ways(&base64, &params).await;
    }
    let calculator = tool("calculator");
    for params in [
        json!({"expression": "2 + 3 * 4"}),
        json!({"expression": "x * (y - 1)", "variables": {"x": 3, "y": 2.5}}),
        json!({"operation": "validate", "expression": "1 +"}),
        json!({"operation": "validate", "expression": "(1 + 2)"}),
        json!({"expression": "1 / 0.0"}),
        json!({"expression": "1 +"}),
        json!({"expression": 3}),
        json!({"expression": "1", "extra": true}),
        json!({"variables": {}}),
        json!({"expression": "(".repeat(300)}),
    ] {
        same_both_ways(&calculator, &params).await;
    }
    let text = tool("text_manipulator");
    for params in [
        json!({"operation": "uppercase", "text": "Hello World"}),
        json!({"operation": "trim", "text": "  x  "}),
        json!({"operation": "length", "text": "a b\nc"}),
        json!({"operation": "replace", "text": "a-b-c", "pattern": "-", "replacement": "+"}),
        json!({"operation": "replace", "text": "a1b22", "pattern": "[0-9]+", "replacement": "#", "regex": true}),
        json!({"operation": "replace", "text": "abc", "pattern": "(", "replacement": "", "regex": true}),
        json!({"operation": "replace", "text": "abc"}),
        json!({"operation": "split", "text": "a,b", "delimiter": ","}),
        json!({"operation": "substring", "text": "héllo", "start": 1, "end": 3}),
        json!({"operation": "substring", "text": "abc", "start": 3, "end": 1}),
        json!({"operation": "snake_case", "text": "HelloWorld"}),
        json!({"operation": "word_count", "text": big}),
        json!({"operation": "nope", "text": "x"}),
    ] {
        same_both_ways(&text, &params).await;
    }
}

/// Records which of its methods ran and what it was given.
#[derive(Debug)]
struct Lender {
    meta: ToolMetadata,
    seen: Mutex<Vec<(&'static str, Value)>>,
}

#[async_trait]
impl Tool for Lender {
    fn metadata(&self) -> &ToolMetadata {
        &self.meta
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> llmspell_tools::Result<Value> {
        self.seen.lock().unwrap().push(("execute", params.clone()));
        Ok(params)
    }

    async fn execute_ref(
        &self,
        params: &Value,
        _ctx: &ToolContext,
    ) -> llmspell_tools::Result<Value> {
        self.seen
            .lock()
            .unwrap()
            .push(("execute_ref", params.clone()));
        Ok(params.clone())
    }
}

struct Setup {
    hooks: Arc<HookRegistry>,
    runtime: ToolRuntime,
    lender: Arc<Lender>,
}

fn setup() -> Setup {
    let tools = ToolRegistry::new();
    let lender = Arc::new(Lender {
        meta: ToolMetadata::new("lender", "records", ToolCategory::Utility)
            .with_synonyms(Synonyms::new().parameter("data", "input")),
        seen: Mutex::new(Vec::new()),
    });
    tools.register_arc(lender.clone()).unwrap();
    let hooks = Arc::new(HookRegistry::new());
    let runtime = ToolRuntime::new(Arc::new(tools), Arc::new(HookExecutor::new(hooks.clone())));
    Setup {
        hooks,
        runtime,
        lender,
    }
}

impl Setup {
    fn take(&self) -> Vec<(&'static str, Value)> {
        std::mem::take(&mut *self.lender.seen.lock().unwrap())
    }
}

#[tokio::test]
async fn lent_parameters_nothing_changed_are_borrowed_by_the_tool() {
    let s = setup();
    let params = json!({"input": "x"});
    let opts = InvokeOptions::new();
    let inv = s
        .runtime
        .invoke_with_ref("lender", &params, &opts)
        .await
        .unwrap();
    assert_eq!(inv.result, params);
    assert_eq!(s.take(), vec![("execute_ref", params.clone())]);
    // A hook that only looks (after execution: the run keeps its input for
    // a possible re-run) changes nothing.
    s.hooks
        .register(
            HookPoint::AfterToolExecution,
            hook_fn("look", |_| Ok(HookResult::Continue)),
        )
        .unwrap();
    s.runtime
        .invoke_with_ref("lender", &params, &opts)
        .await
        .unwrap();
    assert_eq!(s.take(), vec![("execute_ref", params.clone())]);
    // Owned parameters the run keeps for a possible re-run are lent to
    // the tool as well (no copy for the attempt).
    s.runtime
        .invoke_with("lender", params.clone(), &opts)
        .await
        .unwrap();
    s.runtime.invoke("lender", params.clone()).await.unwrap();
    assert_eq!(
        s.take(),
        vec![
            ("execute_ref", params.clone()),
            ("execute_ref", params.clone())
        ]
    );
}

#[tokio::test]
async fn a_hook_that_changes_lent_parameters_still_decides_what_the_tool_gets() {
    let s = setup();
    s.hooks
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn("rewrite", |ctx| {
                let mut data = ctx.data.clone();
                data.insert("parameters".into(), json!({"input": "changed"}));
                Ok(HookResult::Modified(data))
            }),
        )
        .unwrap();
    let params = json!({"input": "x"});
    let inv = s
        .runtime
        .invoke_with_ref("lender", &params, &InvokeOptions::new())
        .await
        .unwrap();
    assert_eq!(inv.result, json!({"input": "changed"}));
    assert_eq!(s.take(), vec![("execute", json!({"input": "changed"}))]);
    // The caller's value is untouched.
    assert_eq!(params, json!({"input": "x"}));
}

#[tokio::test]
async fn lent_parameters_with_a_synonym_reach_the_tool_resolved() {
    let s = setup();
    let params = json!({"data": "x"});
    let inv = s
        .runtime
        .invoke_with_ref("lender", &params, &InvokeOptions::new())
        .await
        .unwrap();
    assert_eq!(inv.result, json!({"input": "x"}));
    assert_eq!(s.take(), vec![("execute", json!({"input": "x"}))]);
}

#[tokio::test]
async fn a_rerun_asked_after_execution_runs_on_the_same_parameters() {
    let s = setup();
    let asked = Arc::new(Mutex::new(false));
    let once = asked.clone();
    s.hooks
        .register(
            HookPoint::AfterToolExecution,
            hook_fn("again", move |_| {
                let mut asked = once.lock().unwrap();
                if *asked {
                    Ok(HookResult::Continue)
                } else {
                    *asked = true;
                    Ok(HookResult::retry(std::time::Duration::from_millis(1), 3))
                }
            }),
        )
        .unwrap();
    let params = json!({"input": "x"});
    let inv = s
        .runtime
        .invoke_with_ref("lender", &params, &InvokeOptions::new())
        .await
        .unwrap();
    assert_eq!(inv.attempts, 2);
    // The after-execution point put the parameters in its context (the run
    // owns a copy from then on): the re-run borrows that copy, which the
    // run keeps for a further re-run.
    assert_eq!(
        s.take(),
        vec![("execute_ref", params.clone()), ("execute_ref", params)]
    );
}

#[tokio::test]
async fn owned_parameters_a_rerun_may_need_are_lent_to_the_tool_and_kept() {
    let s = setup();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (asked, record) = (Arc::new(Mutex::new(false)), seen.clone());
    s.hooks
        .register(
            HookPoint::AfterToolExecution,
            hook_fn("again", move |ctx| {
                // The run has its parameters back at the point after the
                // attempt that borrowed them.
                record
                    .lock()
                    .unwrap()
                    .push(ctx.data.get("parameters").cloned());
                let mut asked = asked.lock().unwrap();
                if *asked {
                    Ok(HookResult::Continue)
                } else {
                    *asked = true;
                    Ok(HookResult::retry(std::time::Duration::from_millis(1), 3))
                }
            }),
        )
        .unwrap();
    let params = json!({"input": "x"});
    let inv = s.runtime.invoke("lender", params.clone()).await.unwrap();
    assert_eq!(inv, params);
    assert_eq!(
        s.take(),
        vec![
            ("execute_ref", params.clone()),
            ("execute_ref", params.clone())
        ]
    );
    assert_eq!(
        *seen.lock().unwrap(),
        vec![Some(params.clone()), Some(params)]
    );
}

#[tokio::test]
async fn owned_parameters_no_rerun_can_need_are_moved_to_execute() {
    let s = setup();
    let params = json!({"input": "x"});
    s.runtime.invoke("lender", params.clone()).await.unwrap();
    assert_eq!(s.take(), vec![("execute", params)]);
}
