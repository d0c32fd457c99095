//! `Event` in Lua.

use mlua::{Function, Lua, Value};

use super::{define, field, options_json};
use crate::error::{BridgeError, Result};
use crate::globals::EventGlobal;
use crate::lua::convert::{json_to_lua, lua_to_json};
use crate::lua::engine_of;

pub(super) fn inject(lua: &Lua, global: EventGlobal) -> Result<()> {
    define(lua, "Event", |event| {
        let publish = lua.create_async_function(
            move |lua, (event_type, data, opts): (String, Value, Value)| async move {
                let engine = engine_of(&lua)?;
                let data = lua_to_json(&lua, &data)?;
                let opts = lua_to_json(&lua, &opts)?;
                let report = global
                    .publish(engine.host(), &event_type, data, &opts)
                    .await?;
                Ok(json_to_lua(&lua, &report)?)
            },
        )?;
        event.set("publish", publish.clone())?;
        event.set("emit", publish)?;

        event.set(
            "subscribe",
            lua.create_function(move |lua, (pattern, opts): (String, Value)| {
                let engine = engine_of(lua)?;
                let callback: Option<Function> = match &opts {
                    Value::Function(f) => Some(f.clone()),
                    Value::Table(_) => match field(&opts, "callback")? {
                        Value::Function(f) => Some(f),
                        Value::Nil => None,
                        other => {
                            return Err(BridgeError::invalid(
                                "Event.subscribe",
                                format!("`callback` must be a function, got a {}", other.type_name()),
                            )
                            .into())
                        }
                    },
                    Value::Nil => None,
                    other => {
                        return Err(BridgeError::invalid(
                            "Event.subscribe",
                            format!(
                                "the second argument must be nil, a callback function or an options table, got a {}",
                                other.type_name()
                            ),
                        )
                        .into())
                    }
                };
                let opts = match &opts {
                    Value::Table(_) => options_json(lua, &opts, &["callback"])?,
                    _ => serde_json::Value::Null,
                };
                let id = global.subscribe(engine.host(), &pattern, callback.is_some(), &opts)?;
                if let Some(f) = callback {
                    engine.set_callback(id, f);
                }
                Ok(id.to_string())
            })?,
        )?;

        event.set(
            "receive",
            lua.create_async_function(move |lua, (id, timeout_ms): (Value, Value)| async move {
                let engine = engine_of(&lua)?;
                let id = lua_to_json(&lua, &id)?;
                let timeout_ms = lua_to_json(&lua, &timeout_ms)?;
                let received = engine
                    .wait_pumping(global.receive(engine.host(), &id, &timeout_ms))
                    .await?;
                match received {
                    Some(ev) => Ok(json_to_lua(&lua, &ev)?),
                    None => Ok(Value::Nil),
                }
            })?,
        )?;

        event.set(
            "unsubscribe",
            lua.create_function(move |lua, id: Value| {
                let engine = engine_of(lua)?;
                let id = global.parse_id("Event.unsubscribe", &lua_to_json(lua, &id)?)?;
                engine.forget_callback(id);
                Ok(global.unsubscribe(engine.host(), id))
            })?,
        )?;

        event.set(
            "list_subscriptions",
            lua.create_function(move |lua, ()| {
                let engine = engine_of(lua)?;
                Ok(json_to_lua(lua, &global.list_subscriptions(engine.host()))?)
            })?,
        )?;

        event.set(
            "get_stats",
            lua.create_function(move |lua, ()| {
                let engine = engine_of(lua)?;
                Ok(json_to_lua(
                    lua,
                    &global.stats(engine.host(), engine.callback_errors()),
                )?)
            })?,
        )?;
        Ok(())
    })
}
