//! `Tool` in Lua.

use mlua::{Lua, Value};

use super::define;
use crate::error::Result;
use crate::globals::ToolGlobal;
use crate::lua::convert::{json_to_lua, lua_to_json};
use crate::lua::engine_of;

pub(super) fn inject(lua: &Lua, global: ToolGlobal) -> Result<()> {
    define(lua, "Tool", |tool| {
        tool.set(
            "invoke",
            lua.create_async_function(
                move |lua, (name, params, opts): (String, Value, Value)| async move {
                    let engine = engine_of(&lua)?;
                    let params = lua_to_json(&lua, &params)?;
                    let opts = lua_to_json(&lua, &opts)?;
                    let result = engine
                        .wait_pumping(global.invoke(engine.host(), &name, params, &opts))
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
            "get",
            lua.create_function(move |lua, name: String| {
                let engine = engine_of(lua)?;
                match global.get(engine.host(), &name) {
                    Some(m) => Ok(json_to_lua(lua, &m)?),
                    None => Ok(Value::Nil),
                }
            })?,
        )?;
        Ok(())
    })
}
