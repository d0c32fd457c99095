//! The `JSON` global: `JSON.encode`, `JSON.decode`, `JSON.null`, `JSON.array`.

use mlua::{Lua, LuaSerdeExt, Table, Value};

use super::{GlobalMetadata, GlobalObject};
use crate::context::GlobalContext;
use crate::error::{BridgeError, Result};
use crate::lua::convert::{json_to_lua, lua_to_json};

/// `JSON.encode(value, {pretty=bool}?) → string`,
/// `JSON.decode(string) → value`, `JSON.null` (a JSON `null` that can sit
/// inside a table) and `JSON.array(t?) → t` (marks a table as an array, so an
/// empty one encodes as `[]`). Conversions follow the policy of
/// [`lua::convert`](crate::lua::convert).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonGlobal;

impl GlobalObject for JsonGlobal {
    fn metadata(&self) -> GlobalMetadata {
        GlobalMetadata {
            name: "JSON",
            description: "encode Lua values as JSON text and decode JSON text into Lua values",
            functions: &["encode", "decode", "null", "array"],
        }
    }

    fn inject_lua(&self, lua: &Lua, _context: &GlobalContext) -> Result<()> {
        let json = lua.create_table()?;
        json.set(
            "encode",
            lua.create_function(|lua, (value, opts): (Value, Option<Table>)| {
                let json = lua_to_json(lua, &value)?;
                let pretty = match opts {
                    Some(t) => t.get::<Option<bool>>("pretty")?.unwrap_or(false),
                    None => false,
                };
                let text = if pretty {
                    serde_json::to_string_pretty(&json)
                } else {
                    serde_json::to_string(&json)
                };
                text.map_err(|e| BridgeError::invalid("JSON.encode", e.to_string()).into())
            })?,
        )?;
        json.set(
            "decode",
            lua.create_function(|lua, text: mlua::LuaString| {
                let parsed: serde_json::Value =
                    serde_json::from_slice(&text.as_bytes()).map_err(|e| {
                        BridgeError::invalid(
                            "JSON.decode",
                            format!("the text is not valid JSON: {e}"),
                        )
                    })?;
                Ok(json_to_lua(lua, &parsed)?)
            })?,
        )?;
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
        lua.globals().set("JSON", json)?;
        Ok(())
    }
}
