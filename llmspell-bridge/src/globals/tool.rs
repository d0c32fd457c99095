//! The `Tool` global: call tools through the shared hooked execution path.

use std::sync::Arc;

use llmspell_tools::{InvokeOptions, ToolCategory, ToolMetadata};
use serde_json::{json, Value};

use super::args::{check_keys, opt_duration, opt_str, options, Lower, TimeUnit};
use super::{GlobalBinding, GlobalMetadata, GlobalObject};
use crate::error::{BridgeError, Result};
use crate::host::ScriptHost;

/// `Tool.invoke(name, params, opts?) → result`, `Tool.try(name, params,
/// opts?) → {success, result, error}`, `Tool.list(category?)`,
/// `Tool.get(name) → tool | nil`, `Tool.exists(name) → bool`,
/// `Tool.categories() → [string]`.
///
/// Tool names: a hyphenated spelling (`text-manipulator`, as
/// rs-llmspell's scripts write some) finds the tool registered with
/// underscores (`text_manipulator`).
///
/// `invoke` runs the call through the context's hooked tool path: every
/// tool hook point fires (so hooks registered with `Hook.register` run,
/// re-entrantly on the script's thread) and `tool.execution.*` events are
/// published. It returns the result (after hooks) and raises an error when
/// the call fails, e.g. `call to tool `calculator` was cancelled by hook
/// `guard`: ...`. While it waits, event callbacks run. Options:
/// `correlation_id` (UUID string), `timeout_ms`.
///
/// `try` runs the same call and never raises for the call's failure: it
/// returns `{success = true, result = ...}` or `{success = false, error =
/// message}` (the shape rs-llmspell's `Tool.invoke` returned).
///
/// Metadata tables: `{name, description, category, security_level,
/// parameters (JSON Schema), schema (the same schema, rs-llmspell's
/// name), result (JSON Schema)}`. The table `Tool.get` returns also has
/// `execute`: `Tool.get(name):execute(params)` is `Tool.invoke(name,
/// params)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ToolGlobal;

fn invalid(message: impl Into<String>) -> BridgeError {
    BridgeError::invalid("Tool.invoke", message)
}

/// The options of `Tool.invoke`.
const INVOKE_OPTIONS: [&str; 2] = ["correlation_id", "timeout_ms"];

fn invoke_options(host: &ScriptHost, opts: &Value) -> Result<InvokeOptions> {
    const F: &str = "Tool.invoke";
    let mut options_out = InvokeOptions::new()
        .language(host.language())
        .caller(&*host.script_name());
    let Some(o) = options(F, opts)? else {
        return Ok(options_out);
    };
    check_keys(F, o, &INVOKE_OPTIONS)?;
    if let Some(c) = opt_str(F, o, "correlation_id")? {
        options_out = options_out.correlation_id(
            c.parse()
                .map_err(|_| invalid(format!("correlation_id `{c}` is not a UUID")))?,
        );
    }
    if let Some(t) = opt_duration(F, o, "timeout_ms", TimeUnit::Millis, Lower::Positive)? {
        options_out = options_out.timeout(t);
    }
    Ok(options_out)
}

fn metadata_json(m: &ToolMetadata) -> Value {
    json!({
        "name": m.name(),
        "description": m.description(),
        "category": m.category().as_str(),
        "security_level": serde_json::to_value(m.security_level()).unwrap_or(Value::Null),
        "parameters": m.parameters(),
        "schema": m.parameters(),
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

    /// `Tool.try(name, params, options)`: `{success: true, result}` when the
    /// call succeeds, `{success: false, error}` when it fails.
    ///
    /// # Errors
    /// Only bad options (they are the script's mistake, not the call's).
    pub(crate) async fn try_invoke(
        &self,
        host: &ScriptHost,
        name: &str,
        params: Value,
        opts: &Value,
    ) -> Result<Value> {
        invoke_options(host, opts)?;
        Ok(match self.invoke(host, name, params, opts).await {
            Ok(result) => json!({"success": true, "result": result}),
            Err(e) => json!({"success": false, "error": e.to_string()}),
        })
    }

    /// `Tool.exists(name)`: whether a tool of that name (or its
    /// underscore spelling) is registered.
    pub(crate) fn exists(&self, host: &ScriptHost, name: &str) -> bool {
        host.context().tools().registry().get(name).is_some()
    }

    /// `Tool.categories()`: the categories of the registered tools, sorted,
    /// each once.
    pub(crate) fn categories(&self, host: &ScriptHost) -> Value {
        let mut names: Vec<String> = host
            .context()
            .tools()
            .registry()
            .list()
            .iter()
            .map(|m| m.category().as_str().to_owned())
            .collect();
        names.sort();
        names.dedup();
        Value::Array(names.into_iter().map(Value::String).collect())
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
            functions: &["invoke", "try", "list", "get", "exists", "categories"],
        }
    }

    fn inject(&self, binding: &mut dyn GlobalBinding) -> Result<()> {
        binding.tool(self)
    }
}
