//! An application hooks its own async operation: `fetch_price` runs
//! between `BeforeToolExecution` and `AfterToolExecution`; one hook rewrites
//! the input (upper-cases the symbol), another cancels calls for a
//! blocked symbol, a third records every result.
use std::sync::{Arc, Mutex};

use llmspell_hooks::{
    hook_fn, Call, ComponentId, ComponentType, HookPoint, HookResult, Hooks, OperationError,
};
use serde_json::{json, Value};

/// The application's own operation: any async fn from a `Call` to JSON.
async fn fetch_price(call: Call) -> Result<Value, std::io::Error> {
    let symbol = call.input["symbol"].as_str().unwrap_or_default().to_owned();
    tokio::task::yield_now().await; // stands for a network call
    Ok(json!({"symbol": symbol, "price": 42.5}))
}

async fn price(hooks: &Hooks, symbol: &str) -> Result<Value, OperationError<std::io::Error>> {
    let done = hooks
        .operation::<std::io::Error>(ComponentId::new(ComponentType::Tool, "prices"))
        .points(
            HookPoint::BeforeToolExecution,
            HookPoint::AfterToolExecution,
            HookPoint::ToolError,
        )
        .input("input", json!({"symbol": symbol}))
        .output_key("output")
        .run(fetch_price)
        .await?;
    Ok(done.value)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hooks = Hooks::new();
    // Before: normalise the input in place, refuse one symbol.
    hooks.register(
        HookPoint::BeforeToolExecution,
        hook_fn("normalise", |ctx| {
            let mut data = ctx.data.clone();
            if let Some(s) = data["input"]["symbol"].as_str() {
                if s.eq_ignore_ascii_case("scam") {
                    return Ok(HookResult::Cancel("symbol is blocked".into()));
                }
                data["input"]["symbol"] = json!(s.to_uppercase());
            }
            Ok(HookResult::Modified(data))
        }),
    )?;
    // After: record what the operation returned.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    hooks.register(
        HookPoint::AfterToolExecution,
        hook_fn("audit", move |ctx| {
            if let Ok(mut log) = log.lock() {
                log.push(ctx.get("output").cloned().unwrap_or(Value::Null));
            }
            Ok(HookResult::Continue)
        }),
    )?;

    let ok = price(&hooks, "acme").await?;
    println!("acme -> {ok}");
    assert_eq!(ok["symbol"], "ACME");
    match price(&hooks, "scam").await {
        Err(OperationError::Cancelled { hook, reason, .. }) => {
            println!("scam -> cancelled by `{hook}`: {reason}");
        }
        other => return Err(format!("expected a cancellation, got {other:?}").into()),
    }
    let audited = seen.lock().map(|l| l.len()).unwrap_or(0);
    println!("audited results: {audited}");
    assert_eq!(audited, 1);
    Ok(())
}
