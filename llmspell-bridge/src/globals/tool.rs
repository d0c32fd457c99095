//! The `Tool` global: call tools through the shared hooked execution path.

use std::time::Duration;

use llmspell_tools::{InvokeOptions, ToolCategory, ToolMetadata};
use mlua::{Lua, LuaSerdeExt, Table, Value};

use super::{GlobalMetadata, GlobalObject};
use crate::context::GlobalContext;
use crate::error::{BridgeError, Result};
use crate::lua::convert::{json_to_lua, lua_to_json};
use crate::lua::{engine_of, ScriptName};

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

fn metadata_table(lua: &Lua, m: &ToolMetadata) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("name", m.name())?;
    t.set("description", m.description())?;
    t.set("category", m.category().as_str())?;
    t.set("security_level", lua.to_value(&m.security_level())?)?;
    t.set("parameters", json_to_lua(lua, m.parameters())?)?;
    t.set("result", json_to_lua(lua, m.result())?)?;
    Ok(t)
}

fn invalid(message: impl Into<String>) -> mlua::Error {
    BridgeError::invalid("Tool.invoke", message).into()
}

impl GlobalObject for ToolGlobal {
    fn metadata(&self) -> GlobalMetadata {
        GlobalMetadata {
            name: "Tool",
            description: "call tools through the hooked execution path and read their metadata",
            functions: &["invoke", "list", "get"],
        }
    }

    fn inject_lua(&self, lua: &Lua, _context: &GlobalContext) -> Result<()> {
        let tool = lua.create_table()?;

        tool.set(
            "invoke",
            lua.create_async_function(
                |lua, (name, params, opts): (String, Value, Option<Table>)| async move {
                    let engine = engine_of(&lua)?;
                    let params = match params {
                        Value::Nil => serde_json::json!({}),
                        other => lua_to_json(&lua, &other)?,
                    };
                    let caller = lua
                        .app_data_ref::<ScriptName>()
                        .map_or_else(String::new, |n| n.0.clone());
                    let mut options = InvokeOptions::new()
                        .language(llmspell_events::Language::Lua)
                        .caller(caller);
                    if let Some(o) = opts {
                        if let Some(c) = o.get::<Option<String>>("correlation_id")? {
                            options = options.correlation_id(c.parse().map_err(|_| {
                                invalid(format!("correlation_id `{c}` is not a UUID"))
                            })?);
                        }
                        if let Some(ms) = o.get::<Option<f64>>("timeout_ms")? {
                            if !(ms.is_finite() && ms > 0.0) {
                                return Err(invalid("timeout_ms must be a positive number"));
                            }
                            options = options.timeout(Duration::from_secs_f64(ms / 1000.0));
                        }
                    }
                    let tools = std::sync::Arc::clone(engine.context().tools());
                    let invocation = engine
                        .wait_pumping(tools.invoke_with(&name, params, &options))
                        .await
                        .map_err(BridgeError::from)?;
                    Ok(json_to_lua(&lua, &invocation.result)?)
                },
            )?,
        )?;

        tool.set(
            "list",
            lua.create_function(|lua, category: Option<String>| {
                let engine = engine_of(lua)?;
                let registry = engine.context().tools().registry();
                let out = lua.create_table()?;
                let mut list = registry.list();
                if let Some(c) = category {
                    let Ok(c) = c.parse::<ToolCategory>();
                    list.retain(|m| m.category() == &c);
                }
                for (i, m) in list.iter().enumerate() {
                    out.raw_set(i + 1, metadata_table(lua, m)?)?;
                }
                Ok(out)
            })?,
        )?;

        tool.set(
            "get",
            lua.create_function(|lua, name: String| {
                let engine = engine_of(lua)?;
                match engine.context().tools().registry().get(&name) {
                    Some(t) => Ok(Value::Table(metadata_table(lua, t.metadata())?)),
                    None => Ok(Value::Nil),
                }
            })?,
        )?;

        lua.globals().set("Tool", tool)?;
        Ok(())
    }
}
