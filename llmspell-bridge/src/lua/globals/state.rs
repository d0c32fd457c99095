//! `State` in Lua.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mlua::{Function, Lua, MultiValue, Value};

use super::define;
use crate::error::{BridgeError, Result};
use crate::globals::{MigrationCallback, StateGlobal};
use crate::lua::convert::{json_to_lua, lua_to_json};
use crate::lua::engine::WeakEngine;
use crate::lua::engine_of;

/// A Lua function given to `State.migrate`, held weakly through its engine
/// (a migration of a dropped engine fails with a clear error).
struct LuaMigration {
    engine: WeakEngine,
    func: Function,
}

impl fmt::Debug for LuaMigration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LuaMigration").finish_non_exhaustive()
    }
}

#[async_trait]
impl MigrationCallback for LuaMigration {
    async fn call(&self, value: &serde_json::Value, limit: Duration) -> Result<serde_json::Value> {
        let Some(engine) = self.engine.upgrade() else {
            return Err(BridgeError::EngineDropped { language: "Lua" });
        };
        engine
            .call_json(&self.func, value, Some(limit), &"State.migrate function")
            .await
    }
}

/// A value argument as JSON, refused with the key when it has no JSON form.
fn value_json(
    lua: &Lua,
    function: &str,
    key: &str,
    value: &Value,
) -> mlua::Result<serde_json::Value> {
    lua_to_json(lua, value).map_err(|e| StateGlobal::not_json(function, key, &e).into())
}

pub(super) fn inject(lua: &Lua, global: StateGlobal) -> Result<()> {
    define(lua, "State", |state| {
        state.set(
            "get",
            lua.create_async_function(
                move |lua, (key, scope): (String, Option<String>)| async move {
                    let engine = engine_of(&lua)?;
                    let value = engine
                        .wait_pumping(global.get(engine.host(), &key, scope.as_deref()))
                        .await?;
                    Ok(json_to_lua(&lua, &value)?)
                },
            )?,
        )?;
        state.set(
            "set",
            lua.create_async_function(
                move |lua, (key, value, scope): (String, Value, Option<String>)| async move {
                    let engine = engine_of(&lua)?;
                    let value = value_json(&lua, "State.set", &key, &value)?;
                    Ok(engine
                        .wait_pumping(global.set(engine.host(), &key, value, scope.as_deref()))
                        .await?)
                },
            )?,
        )?;
        state.set(
            "delete",
            lua.create_async_function(
                move |lua, (key, scope): (String, Option<String>)| async move {
                    let engine = engine_of(&lua)?;
                    Ok(engine
                        .wait_pumping(global.delete(engine.host(), &key, scope.as_deref()))
                        .await?)
                },
            )?,
        )?;
        state.set(
            "list",
            lua.create_async_function(
                move |lua, (prefix, scope): (Option<String>, Option<String>)| async move {
                    let engine = engine_of(&lua)?;
                    let keys = engine
                        .wait_pumping(global.list(
                            engine.host(),
                            prefix.as_deref(),
                            scope.as_deref(),
                        ))
                        .await?;
                    lua.create_sequence_from(keys)
                },
            )?,
        )?;
        state.set(
            "compare_and_set",
            lua.create_async_function(
                move |lua,
                      (key, expected, value, scope): (String, f64, Value, Option<String>)| async move {
                    let engine = engine_of(&lua)?;
                    let value = value_json(&lua, "State.compare_and_set", &key, &value)?;
                    let (ok, version) = engine
                        .wait_pumping(global.compare_and_set(
                            engine.host(),
                            &key,
                            expected,
                            value,
                            scope.as_deref(),
                        ))
                        .await?;
                    // `true`, or `false, current_version`.
                    Ok(if ok {
                        MultiValue::from_iter([Value::Boolean(true)])
                    } else {
                        MultiValue::from_iter([Value::Boolean(false), Value::Number(version as f64)])
                    })
                },
            )?,
        )?;
        state.set(
            "version",
            lua.create_async_function(
                move |lua, (key, scope): (String, Option<String>)| async move {
                    let engine = engine_of(&lua)?;
                    Ok(engine
                        .wait_pumping(global.version(engine.host(), &key, scope.as_deref()))
                        .await?)
                },
            )?,
        )?;
        state.set(
            "migrate",
            lua.create_function(
                move |lua, (prefix, from, to, func): (String, f64, f64, Value)| {
                    let engine = engine_of(lua)?;
                    let Value::Function(func) = func else {
                        return Err(BridgeError::invalid(
                            "State.migrate",
                            format!(
                                "the fourth argument must be the migration function, got a {}",
                                func.type_name()
                            ),
                        )
                        .into());
                    };
                    let callback = Arc::new(LuaMigration {
                        engine: engine.downgrade(),
                        func,
                    });
                    global.migrate(engine.host(), &prefix, from, to, callback)?;
                    Ok(())
                },
            )?,
        )?;
        // rs-llmspell's scope-first forms.
        state.set(
            "save",
            lua.create_async_function(
                move |lua, (scope, key, value): (String, String, Value)| async move {
                    let engine = engine_of(&lua)?;
                    let value = value_json(&lua, "State.save", &key, &value)?;
                    engine
                        .wait_pumping(global.set(engine.host(), &key, value, Some(&scope)))
                        .await?;
                    Ok(())
                },
            )?,
        )?;
        state.set(
            "load",
            lua.create_async_function(move |lua, (scope, key): (String, String)| async move {
                let engine = engine_of(&lua)?;
                let value = engine
                    .wait_pumping(global.get(engine.host(), &key, Some(&scope)))
                    .await?;
                Ok(json_to_lua(&lua, &value)?)
            })?,
        )?;
        state.set(
            "list_keys",
            lua.create_async_function(move |lua, scope: Option<String>| async move {
                let engine = engine_of(&lua)?;
                let keys = engine
                    .wait_pumping(global.list(engine.host(), None, scope.as_deref()))
                    .await?;
                lua.create_sequence_from(keys)
            })?,
        )?;
        Ok(())
    })
}
