//! The Lua side of the globals: [`LuaBinding`] defines each global of
//! [`crate::globals`] in a Lua state. Every function here only converts
//! (Lua values to JSON, JSON or handles back to Lua, Lua functions to the
//! neutral callback traits) and calls the global's neutral function with the
//! engine's host.

mod agent;
mod event;
mod hook;
mod json;
mod logger;
mod session;
mod state;
mod tool;

use mlua::{Lua, Table, Value};

use super::convert::lua_to_json;
use crate::error::Result;
use crate::globals::{
    AgentGlobal, EventGlobal, GlobalBinding, HookGlobal, JsonGlobal, LoggerGlobal, SessionGlobal,
    StateGlobal, ToolGlobal,
};

/// Defines globals in one Lua state.
#[derive(Debug)]
pub(crate) struct LuaBinding<'a> {
    pub(crate) lua: &'a Lua,
}

impl GlobalBinding for LuaBinding<'_> {
    fn json(&mut self, global: &JsonGlobal) -> Result<()> {
        json::inject(self.lua, *global)
    }

    fn logger(&mut self, global: &LoggerGlobal) -> Result<()> {
        logger::inject(self.lua, *global)
    }

    fn event(&mut self, global: &EventGlobal) -> Result<()> {
        event::inject(self.lua, *global)
    }

    fn hook(&mut self, global: &HookGlobal) -> Result<()> {
        hook::inject(self.lua, *global)
    }

    fn tool(&mut self, global: &ToolGlobal) -> Result<()> {
        tool::inject(self.lua, *global)
    }

    fn state(&mut self, global: &StateGlobal) -> Result<()> {
        state::inject(self.lua, *global)
    }

    fn session(&mut self, global: &SessionGlobal) -> Result<()> {
        session::inject(self.lua, *global)
    }

    fn agent(&mut self, global: &AgentGlobal) -> Result<()> {
        agent::inject(self.lua, *global)
    }
}

/// An options table as JSON without the keys in `skip` (e.g. a `callback`
/// function, which has no JSON form); any other argument as JSON.
pub(crate) fn options_json(lua: &Lua, value: &Value, skip: &[&str]) -> Result<serde_json::Value> {
    let Value::Table(t) = value else {
        return lua_to_json(lua, value);
    };
    if skip.is_empty() {
        return lua_to_json(lua, value);
    }
    let copy = lua.create_table()?;
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair?;
        if let Value::String(s) = &k {
            if skip.iter().any(|name| s.as_bytes() == name.as_bytes()) {
                continue;
            }
        }
        copy.raw_set(k, v)?;
    }
    lua_to_json(lua, &Value::Table(copy))
}

/// The field `key` of an options argument when it is a table.
pub(crate) fn field(value: &Value, key: &str) -> mlua::Result<Value> {
    match value {
        Value::Table(t) => t.get::<Value>(key),
        _ => Ok(Value::Nil),
    }
}

/// A new Lua table holding the global's functions, set as global `name`.
pub(crate) fn define(
    lua: &Lua,
    name: &str,
    fill: impl FnOnce(&Table) -> mlua::Result<()>,
) -> Result<()> {
    let t = lua.create_table()?;
    fill(&t)?;
    lua.globals().set(name, t)?;
    Ok(())
}
