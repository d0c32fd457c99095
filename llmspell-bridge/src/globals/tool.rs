//! The `Tool` global: call tools through the shared hooked execution path.

use std::sync::Arc;
use std::time::Duration;

use llmspell_tools::{InvokeOptions, ToolCategory, ToolMetadata};
use serde_json::{json, Value};

use super::args::describe;
use super::{GlobalBinding, GlobalMetadata, GlobalObject};
use crate::error::{BridgeError, Result};
use crate::host::ScriptHost;

/// `Tool.invoke(name, params, opts?) → result`, `Tool.list(category?)`,
/// `Tool.get(name) → metadata | nil`.
///
/// `invoke` runs the call through the context's hooked tool path: every
/// tool hook point fires (so hooks registered with `Hook.register` run,
/// re-entrantly on the script's thread) and `tool.execution.*` events are
/// published. It returns the result (after hooks) and raises an error when
/// the call fails, e.g. `call to tool `calculator` was cancelled by hook
/// `guard`: ...`. While it waits, event callbacks run. Options:
/// `correlation_id` (UUID string), `timeout_ms`.
///
/// Metadata tables: `{name, description, category, security_level,
/// parameters (JSON Schema), result (JSON Schema)}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ToolGlobal;

fn invalid(message: impl Into<String>) -> BridgeError {
    BridgeError::invalid("Tool.invoke", message)
}

fn invoke_options(host: &ScriptHost, opts: &Value) -> Result<InvokeOptions> {
    let mut options = InvokeOptions::new()
        .language(host.language())
        .caller(&*host.script_name());
    let o = match opts {
        Value::Null => return Ok(options),
        Value::Object(o) => o,
        other => {
            return Err(invalid(format!(
                "the options must be nil or a table, got {}",
                describe(other)
            )))
        }
    };
    match o.get("correlation_id") {
        None | Some(Value::Null) => {}
        Some(Value::String(c)) => {
            options = options.correlation_id(
                c.parse()
                    .map_err(|_| invalid(format!("correlation_id `{c}` is not a UUID")))?,
            );
        }
        Some(other) => {
            return Err(invalid(format!(
                "correlation_id must be a UUID string, got {}",
                describe(other)
            )))
        }
    }
    match o.get("timeout_ms") {
        None | Some(Value::Null) => {}
        Some(v) => match v.as_f64() {
            Some(ms) if ms.is_finite() && ms > 0.0 => {
                options = options.timeout(Duration::from_secs_f64(ms / 1000.0));
            }
            _ => return Err(invalid("timeout_ms must be a positive number")),
        },
    }
    Ok(options)
}

fn metadata_json(m: &ToolMetadata) -> Value {
    json!({
        "name": m.name(),
        "description": m.description(),
        "category": m.category().as_str(),
        "security_level": serde_json::to_value(m.security_level()).unwrap_or(Value::Null),
        "parameters": m.parameters(),
        "result": m.result(),
    })
}

impl ToolGlobal {
    /// `Tool.invoke(name, params, options)`: the result the caller gets
    /// after hooks. `params` `null` means no parameters (`{}`). A binding
    /// awaits it while running the engine's event callbacks.
    ///
    /// # Errors
    /// Bad options, or the call's failure ([`BridgeError::Tool`]).
    pub(crate) async fn invoke(
        &self,
        host: &ScriptHost,
        name: &str,
        params: Value,
        opts: &Value,
    ) -> Result<Value> {
        let params = if params.is_null() { json!({}) } else { params };
        let options = invoke_options(host, opts)?;
        let tools = Arc::clone(host.context().tools());
        match tools.invoke_with(name, params, &options).await {
            Ok(invocation) => Ok(invocation.result),
            Err(llmspell_tools::ToolError::PolicyViolation { tool, rule, detail }) => {
                // The application's hint: which of its settings allows it.
                let detail = match host.context().policy_hint(&rule) {
                    Some(hint) => format!("{detail}; {hint}"),
                    None => detail,
                };
                Err(llmspell_tools::ToolError::PolicyViolation { tool, rule, detail }.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `Tool.list(category)`: the metadata of every registered tool, or of
    /// those of `category`.
    pub(crate) fn list(&self, host: &ScriptHost, category: Option<&str>) -> Value {
        let mut list = host.context().tools().registry().list();
        if let Some(c) = category {
            let Ok(c) = c.parse::<ToolCategory>();
            list.retain(|m| m.category() == &c);
        }
        Value::Array(list.iter().map(metadata_json).collect())
    }

    /// `Tool.get(name)`: the tool's metadata, `None` when there is none.
    pub(crate) fn get(&self, host: &ScriptHost, name: &str) -> Option<Value> {
        host.context()
            .tools()
            .registry()
            .get(name)
            .map(|t| metadata_json(t.metadata()))
    }
}

impl GlobalObject for ToolGlobal {
    fn metadata(&self) -> GlobalMetadata {
        GlobalMetadata {
            name: "Tool",
            description: "call tools through the hooked execution path and read their metadata",
            functions: &["invoke", "list", "get"],
        }
    }

    fn inject(&self, binding: &mut dyn GlobalBinding) -> Result<()> {
        binding.tool(self)
    }
}
