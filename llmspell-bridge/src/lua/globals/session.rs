//! `Session` in Lua.

use mlua::{Lua, Value};

use super::define;
use crate::error::Result;
use crate::globals::SessionGlobal;
use crate::lua::convert::json_to_lua;
use crate::lua::engine_of;

pub(super) fn inject(lua: &Lua, global: SessionGlobal) -> Result<()> {
    define(lua, "Session", |session| {
        let id = lua.create_function(move |lua, ()| {
            let engine = engine_of(lua)?;
            Ok(global.id(engine.host()))
        })?;
        session.set("id", id.clone())?;
        session.set("getCurrent", id)?;
        session.set(
            "get",
            lua.create_async_function(move |lua, id: String| async move {
                let engine = engine_of(&lua)?;
                let record = engine.wait_pumping(global.get(engine.host(), &id)).await?;
                match record {
                    serde_json::Value::Null => Ok(Value::Nil),
                    v => Ok(json_to_lua(&lua, &v)?),
                }
            })?,
        )?;
        session.set(
            "list",
            lua.create_async_function(move |lua, ()| async move {
                let engine = engine_of(&lua)?;
                let records = engine.wait_pumping(global.list(engine.host())).await?;
                Ok(json_to_lua(&lua, &records)?)
            })?,
        )?;
        session.set(
            "checkpoint",
            lua.create_async_function(move |lua, name: Option<String>| async move {
                let engine = engine_of(&lua)?;
                let info = engine
                    .wait_pumping(global.checkpoint(engine.host(), name.as_deref()))
                    .await?;
                Ok(json_to_lua(&lua, &info)?)
            })?,
        )?;
        session.set(
            "info",
            lua.create_async_function(move |lua, ()| async move {
                let engine = engine_of(&lua)?;
                let info = engine.wait_pumping(global.info(engine.host())).await?;
                match info {
                    serde_json::Value::Null => Ok(Value::Nil),
                    v => Ok(json_to_lua(&lua, &v)?),
                }
            })?,
        )?;
        Ok(())
    })
}
