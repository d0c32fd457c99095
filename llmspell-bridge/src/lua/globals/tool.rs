//! `Tool` in Lua.

use mlua::{Lua, Table, Value};

use super::define;
use crate::error::Result;
use crate::globals::ToolGlobal;
use crate::lua::convert::{json_to_lua, lua_to_json};
use crate::lua::engine_of;

/// The registry key of the metatable that gives tool results the
/// rs-llmspell view (see [`result_view`]).
const RESULT_MT: &str = "llmspell.tool_result";

/// Gives a tool's result table the fields rs-llmspell's `Tool.invoke`
/// returned, without adding them to the table: scripts written for it read
/// `result.text` (the JSON text of `{"success": true, "result": <the
/// result>}`) and test `result.success`. A shared metatable answers those two
/// keys when the tool's own result has no such field, so `pairs`, `#` and
/// the conversion back to JSON see only the tool's fields.
fn result_view(lua: &Lua, value: Value) -> mlua::Result<Value> {
    if let Value::Table(t) = &value {
        if t.metatable().is_none() {
            let mt: Table = lua.named_registry_value(RESULT_MT)?;
            t.set_metatable(Some(mt))?;
        }
    }
    Ok(value)
}

/// Builds the metatable of [`result_view`] (once per Lua state).
fn result_metatable(lua: &Lua) -> mlua::Result<Table> {
    let mt = lua.create_table()?;
    mt.set(
        "__index",
        lua.create_function(|lua, (t, key): (Table, Value)| {
            let Value::String(key) = key else {
                return Ok(Value::Nil);
            };
            match key.as_bytes().as_ref() {
                b"text" => {
                    let result = lua_to_json(lua, &Value::Table(t))?;
                    let text = serde_json::json!({ "success": true, "result": result });
                    Ok(Value::String(lua.create_string(text.to_string())?))
                }
                b"success" => Ok(Value::Boolean(true)),
                _ => Ok(Value::Nil),
            }
        })?,
    )?;
    Ok(mt)
}

pub(super) fn inject(lua: &Lua, global: ToolGlobal) -> Result<()> {
    lua.set_named_registry_value(RESULT_MT, result_metatable(lua)?)?;
    define(lua, "Tool", |tool| {
        tool.set(
            "invoke",
            lua.create_async_function(
                move |lua, (name, params, opts): (String, Value, Value)| async move {
                    invoke(&lua, global, &name, &params, &opts).await
                },
            )?,
        )?;
        tool.set(
            "try",
            lua.create_async_function(
                move |lua, (name, params, opts): (String, Value, Value)| async move {
                    let engine = engine_of(&lua)?;
                    let params = lua_to_json(&lua, &params)?;
                    let opts = lua_to_json(&lua, &opts)?;
                    let result = engine
                        .wait_pumping(global.try_invoke(engine.host(), &name, params, &opts))
                        .await?;
                    Ok(json_to_lua(&lua, &result)?)
                },
            )?,
        )?;
        tool.set(
            "list",
            lua.create_function(move |lua, category: Option<String>| {
                let engine = engine_of(lua)?;
                Ok(json_to_lua(
                    lua,
                    &global.list(engine.host(), category.as_deref()),
                )?)
            })?,
        )?;
        tool.set(
            "exists",
            lua.create_function(move |lua, name: String| {
                let engine = engine_of(lua)?;
                Ok(global.exists(engine.host(), &name))
            })?,
        )?;
        tool.set(
            "categories",
            lua.create_function(move |lua, ()| {
                let engine = engine_of(lua)?;
                Ok(json_to_lua(lua, &global.categories(engine.host()))?)
            })?,
        )?;
        tool.set(
            "get",
            lua.create_function(move |lua, name: String| {
                let engine = engine_of(lua)?;
                match global.get(engine.host(), &name) {
                    Some(m) => {
                        let value = json_to_lua(lua, &m)?;
                        if let Value::Table(t) = &value {
                            let registered = m["name"].as_str().unwrap_or(&name).to_owned();
                            t.set("execute", execute_fn(lua, global, registered)?)?;
                        }
                        Ok(value)
                    }
                    None => Ok(Value::Nil),
                }
            })?,
        )?;
        Ok(())
    })
}

/// `tool:execute(params, opts?)` (also `tool.execute(params, opts?)`): the
/// same call as `Tool.invoke(name, params, opts?)`.
fn execute_fn(lua: &Lua, global: ToolGlobal, name: String) -> mlua::Result<mlua::Function> {
    lua.create_async_function(move |lua, args: mlua::MultiValue| {
        let name = name.clone();
        async move {
            let mut args = args.into_iter();
            let first = args.next().unwrap_or(Value::Nil);
            // Called with `:`, the first argument is the tool table itself.
            let (params, opts) = if is_tool_table(&first, &name) {
                (
                    args.next().unwrap_or(Value::Nil),
                    args.next().unwrap_or(Value::Nil),
                )
            } else {
                (first, args.next().unwrap_or(Value::Nil))
            };
            invoke(&lua, global, &name, &params, &opts).await
        }
    })
}

/// `Tool.invoke(name, params, opts?)`, the call `tool:execute` makes too:
/// the tool's result, with the rs-llmspell view ([`result_view`]).
async fn invoke(
    lua: &Lua,
    global: ToolGlobal,
    name: &str,
    params: &Value,
    opts: &Value,
) -> mlua::Result<Value> {
    let engine = engine_of(lua)?;
    let params = lua_to_json(lua, params)?;
    let opts = lua_to_json(lua, opts)?;
    let result = engine
        .wait_pumping(global.invoke(engine.host(), name, params, &opts))
        .await?;
    result_view(lua, json_to_lua(lua, &result)?)
}

/// Whether `value` is a table `Tool.get` returned for the tool `name`.
fn is_tool_table(value: &Value, name: &str) -> bool {
    let Value::Table(t): &Value = value else {
        return false;
    };
    let t: &Table = t;
    matches!(t.raw_get::<Value>("execute"), Ok(Value::Function(_)))
        && t.raw_get::<String>("name").is_ok_and(|n| n == name)
}
