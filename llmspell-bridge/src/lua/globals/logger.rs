//! `Logger` in Lua.

use mlua::{Lua, Value};

use super::define;
use crate::error::Result;
use crate::globals::{LogLevel, LoggerGlobal};
use crate::lua::convert::lua_to_json;
use crate::lua::engine_of;

pub(super) fn inject(lua: &Lua, global: LoggerGlobal) -> Result<()> {
    define(lua, "Logger", |logger| {
        for (name, level) in LogLevel::ALL {
            let f = lua.create_function(move |lua, (message, fields): (Value, Value)| {
                let engine = engine_of(lua)?;
                let message = match message {
                    Value::String(s) => s.to_string_lossy(),
                    other => lua.coerce_string(other.clone())?.map_or_else(
                        || format!("<{}>", other.type_name()),
                        |s| s.to_string_lossy(),
                    ),
                };
                let fields = lua_to_json(lua, &fields)?;
                global.log(engine.host(), level, &message, &fields);
                Ok(())
            })?;
            logger.set(name, f)?;
        }
        Ok(())
    })
}
