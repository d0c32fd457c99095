//! `Hook` in Lua.

use std::sync::Arc;

use mlua::{Lua, UserData, UserDataMethods, Value};

use super::define;
use crate::error::{BridgeError, Result};
use crate::globals::{BuiltinRegistration, HookGlobal};
use crate::lua::convert::{json_to_lua, lua_to_json};
use crate::lua::{engine_of, LuaHookCallback};

/// The script-side handle of a registered hook.
#[derive(Debug, Clone)]
struct LuaHookHandle {
    id: u64,
    point: String,
    global: HookGlobal,
}

impl UserData for LuaHookHandle {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("id", |_, this, ()| Ok(this.id));
        methods.add_method("hook_point", |_, this, ()| Ok(this.point.clone()));
        methods.add_method("unregister", |lua, this, ()| {
            Ok(this.global.unregister(engine_of(lua)?.host(), this.id))
        });
        methods.add_meta_method("__tostring", |_, this, ()| {
            Ok(format!("HookHandle(#{} at {})", this.id, this.point))
        });
    }
}

/// The script-side handle of a built-in hook from `Hook.use`.
#[derive(Debug, Clone)]
struct LuaBuiltinHandle {
    reg: BuiltinRegistration,
}

impl UserData for LuaBuiltinHandle {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("name", |_, this, ()| Ok(this.reg.hook.kind().name()));
        methods.add_method("points", |lua, this, ()| {
            Ok(json_to_lua(lua, &this.reg.points())?)
        });
        methods.add_method("stats", |lua, this, ()| {
            Ok(json_to_lua(lua, &this.reg.stats())?)
        });
        methods.add_method("unregister", |lua, this, ()| {
            Ok(this.reg.unregister(engine_of(lua)?.host()))
        });
        methods.add_meta_method("__tostring", |_, this, ()| {
            Ok(format!("BuiltinHookHandle({})", this.reg.hook.kind()))
        });
    }
}

pub(super) fn inject(lua: &Lua, global: HookGlobal) -> Result<()> {
    define(lua, "Hook", |hook| {
        hook.set(
            "register",
            lua.create_function(move |lua, (point, func, third): (String, Value, Value)| {
                let engine = engine_of(lua)?;
                let Value::Function(func) = func else {
                    return Err(BridgeError::invalid(
                        "Hook.register",
                        format!(
                            "the second argument must be the hook function, got a {}",
                            func.type_name()
                        ),
                    )
                    .into());
                };
                let third = lua_to_json(lua, &third)?;
                let callback = Arc::new(LuaHookCallback::new(&engine, func));
                let reg = global.register(engine.host(), &point, callback, &third)?;
                Ok(LuaHookHandle {
                    id: reg.id,
                    point: reg.point,
                    global,
                })
            })?,
        )?;

        hook.set(
            "unregister",
            lua.create_function(move |lua, handle: Value| {
                let engine = engine_of(lua)?;
                let id = match &handle {
                    Value::UserData(ud) if ud.is::<LuaBuiltinHandle>() => {
                        return Ok(ud
                            .borrow::<LuaBuiltinHandle>()?
                            .reg
                            .unregister(engine.host()));
                    }
                    Value::UserData(ud) => ud.borrow::<LuaHookHandle>()?.id,
                    Value::Integer(i) => u64::try_from(*i).unwrap_or(u64::MAX),
                    other => {
                        return Err(BridgeError::invalid(
                            "Hook.unregister",
                            format!(
                                "expected a handle returned by Hook.register, got a {}",
                                other.type_name()
                            ),
                        )
                        .into())
                    }
                };
                Ok(global.unregister(engine.host(), id))
            })?,
        )?;

        hook.set(
            "fire",
            lua.create_async_function(move |lua, (point, data): (String, Value)| async move {
                let engine = engine_of(&lua)?;
                let data = lua_to_json(&lua, &data)?;
                let outcome = engine
                    .wait_pumping(global.fire(engine.host(), &point, data))
                    .await?;
                Ok(json_to_lua(&lua, &outcome)?)
            })?,
        )?;

        hook.set(
            "use",
            lua.create_function(move |lua, (name, options): (String, Value)| {
                let engine = engine_of(lua)?;
                let options = lua_to_json(lua, &options)?;
                let reg = global.use_builtin(engine.host(), &name, &options)?;
                Ok(LuaBuiltinHandle { reg })
            })?,
        )?;

        hook.set(
            "list",
            lua.create_function(move |lua, filter: Value| {
                let engine = engine_of(lua)?;
                let filter = lua_to_json(lua, &filter)?;
                Ok(json_to_lua(lua, &global.list(engine.host(), &filter)?)?)
            })?,
        )?;
        Ok(())
    })
}
