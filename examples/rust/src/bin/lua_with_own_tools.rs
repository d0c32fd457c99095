//! A Lua script runs against the application's own registry: the
//! application registers a tool of its own, the script calls it through
//! `Tool.invoke` and hooks it, and the application's Rust hook sees the
//! same call.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};
use llmspell_hooks::{hook_fn, HookPoint, HookResult};
use llmspell_tools::{Tool, ToolCategory, ToolContext, ToolMetadata, ToolRegistry};
use serde_json::{json, Value};

/// The application's tool: greets a name.
#[derive(Debug)]
struct Greeter(ToolMetadata);

#[async_trait]
impl Tool for Greeter {
    fn metadata(&self) -> &ToolMetadata {
        &self.0
    }
    async fn execute(&self, params: Value, _ctx: &ToolContext) -> llmspell_tools::Result<Value> {
        let name = params["name"].as_str().unwrap_or("nobody");
        Ok(json!({"greeting": format!("hello, {name}")}))
    }
}

const SCRIPT: &str = r#"
Hook.register("BeforeToolExecution", function(ctx)
  -- the script's hook sees the application's tool too
  print("script hook: " .. ctx.data.tool_name)
end)
local r = Tool.invoke("greeter", {name = "Ada"})
print(r.greeting)
return r.greeting
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = Arc::new(ToolRegistry::new());
    registry.register(Greeter(
        ToolMetadata::new(
            "greeter",
            "Greets a name",
            ToolCategory::Custom("app".into()),
        )
        .with_parameters(json!({
            "type": "object",
            "properties": {"name": {"type": "string"}},
            "required": ["name"]
        })),
    ))?;
    let context = GlobalContext::builder().tool_registry(registry).build()?;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    context.hooks().register(
        HookPoint::AfterToolExecution,
        hook_fn("count", move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(HookResult::Continue)
        }),
    )?;
    let engine = LuaEngine::new(context.clone(), LuaConfig::default())?;
    let out = engine.run_script(SCRIPT, "embedded.lua", &[]).await?;
    println!(
        "script returned {out}; Rust hook saw {} call(s)",
        calls.load(Ordering::SeqCst)
    );
    assert_eq!(out, json!("hello, Ada"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    Ok(())
}
