//! `JSON` in Lua.

use mlua::{Lua, LuaSerdeExt, Table, Value};

use super::define;
use crate::error::Result;
use crate::globals::JsonGlobal;
use crate::lua::convert::{json_to_lua, lua_to_json};

pub(super) fn inject(lua: &Lua, global: JsonGlobal) -> Result<()> {
    define(lua, "JSON", |json| {
        let encode = lua.create_function(move |lua, (value, opts): (Value, Value)| {
            let value = lua_to_json(lua, &value)?;
            let opts = lua_to_json(lua, &opts)?;
            Ok(global.encode(&value, &opts)?)
        })?;
        let decode = lua.create_function(move |lua, text: mlua::LuaString| {
            let parsed = global.decode(&text.as_bytes())?;
            Ok(json_to_lua(lua, &parsed)?)
        })?;
        // rs-llmspell's names for the same functions.
        json.set("stringify", encode.clone())?;
        json.set("parse", decode.clone())?;
        json.set("encode", encode)?;
        json.set("decode", decode)?;
        json.set("null", Value::NULL)?;
        json.set(
            "array",
            lua.create_function(|lua, t: Option<Table>| {
                let t = match t {
                    Some(t) => t,
                    None => lua.create_table()?,
                };
                t.set_metatable(Some(lua.array_metatable()))?;
                Ok(t)
            })?,
        )?;
        Ok(())
    })
}
