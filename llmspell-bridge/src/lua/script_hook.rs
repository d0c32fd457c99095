//! [`LuaHookCallback`]: a Lua function registered with `Hook.register`, as
//! the neutral [`HookCallback`] behind a script hook in the shared registry.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use llmspell_hooks::HookContext;
use mlua::{Function, Lua, Table};

use super::engine::WeakEngine;
use crate::error::{BridgeError, Result};
use crate::globals::HookCallback;
use crate::lua::convert::json_to_lua;

/// Calls its Lua function with the context as a table, under the engine's
/// per-call time limit, and returns what it returned as JSON.
///
/// It holds the engine weakly: once the engine is dropped the hook fails
/// with a clear error (and the engine unregisters its hooks when dropped).
pub(crate) struct LuaHookCallback {
    engine: WeakEngine,
    func: Function,
}

impl LuaHookCallback {
    pub(crate) fn new(engine: WeakEngine, func: Function) -> Self {
        Self { engine, func }
    }
}

impl fmt::Debug for LuaHookCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LuaHookCallback").finish_non_exhaustive()
    }
}

#[async_trait]
impl HookCallback for LuaHookCallback {
    async fn call(
        &self,
        ctx: &HookContext,
        limit: Duration,
        hook: &str,
    ) -> Result<serde_json::Value> {
        let Some(engine) = self.engine.upgrade() else {
            return Err(BridgeError::EngineDropped { language: "Lua" });
        };
        let input = context_table(engine.lua(), ctx)?;
        engine
            .call_value(
                &self.func,
                mlua::Value::Table(input),
                Some(limit),
                &format!("hook `{hook}`"),
            )
            .await
    }
}

/// The context table a Lua hook receives, built directly (the same shape as
/// [`context_to_json`](crate::hook_result::context_to_json) converted to
/// Lua, without the intermediate JSON).
pub(crate) fn context_table(lua: &Lua, ctx: &HookContext) -> Result<Table> {
    let mut buf = uuid::Uuid::encode_buffer();
    let t = lua.create_table_with_capacity(0, 9)?;
    match ctx.point.name() {
        Some(name) => t.raw_set("point", name)?,
        None => t.raw_set("point", ctx.point.to_string())?,
    }
    t.raw_set(
        "correlation_id",
        &*ctx.correlation_id.hyphenated().encode_lower(&mut buf),
    )?;
    let component = lua.create_table_with_capacity(0, 3)?;
    component.raw_set("type", ctx.component.component_type.to_string())?;
    component.raw_set("name", ctx.component.name.as_str())?;
    component.raw_set("id", &*ctx.component.id.hyphenated().encode_lower(&mut buf))?;
    t.raw_set("component_id", component)?;
    t.raw_set("language", ctx.language.as_str())?;
    let metadata = lua.create_table_with_capacity(0, ctx.metadata.len())?;
    for (k, v) in &ctx.metadata {
        metadata.raw_set(k.as_str(), v.as_str())?;
    }
    t.raw_set("metadata", metadata)?;
    let data = lua.create_table_with_capacity(0, ctx.data.len())?;
    for (k, v) in &ctx.data {
        if !v.is_null() {
            data.raw_set(k.as_str(), json_to_lua(lua, v)?)?;
        }
    }
    t.raw_set("data", data)?;
    if let Some(op) = &ctx.operation {
        let o = lua.create_table_with_capacity(0, 5)?;
        o.raw_set("type", op.operation_type.as_str())?;
        o.raw_set("id", &*op.operation_id.hyphenated().encode_lower(&mut buf))?;
        o.raw_set("parameters", json_to_lua(lua, &op.parameters)?)?;
        if let Some(r) = &op.result {
            o.raw_set("result", json_to_lua(lua, r)?)?;
        }
        if let Some(e) = &op.error {
            o.raw_set("error", e.as_str())?;
        }
        t.raw_set("operation", o)?;
    }
    t.raw_set("timestamp", ctx.timestamp.to_rfc3339())?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use llmspell_hooks::{ComponentId, ComponentType, HookPoint, OperationContext};
    use serde_json::json;

    use super::*;
    use crate::hook_result::context_to_json;
    use crate::lua::convert::lua_to_json;

    #[test]
    fn direct_table_matches_the_json_form() {
        let lua = Lua::new();
        let mut ctx = HookContext::builder(
            HookPoint::custom("x"),
            ComponentId::new(ComponentType::Tool, "calculator"),
        )
        .data("tool_name", json!("calculator"))
        .data(
            "parameters",
            json!({"expression": "1", "list": [1, null, 2.5], "e": []}),
        )
        .data("result", json!(null))
        .metadata("caller", "test")
        .build();
        ctx.operation = Some(
            OperationContext::new("tool_execution", json!({"a": 1})).with_result(json!([true])),
        );
        let direct = lua_to_json(
            &lua,
            &mlua::Value::Table(context_table(&lua, &ctx).unwrap()),
        )
        .unwrap();
        let via_json =
            lua_to_json(&lua, &json_to_lua(&lua, &context_to_json(&ctx)).unwrap()).unwrap();
        assert_eq!(direct, via_json);
        assert_eq!(direct["point"], json!("custom:x"));
        assert_eq!(direct["data"]["parameters"]["list"], json!([1, null, 2.5]));
    }
}
