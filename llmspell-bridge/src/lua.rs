//! The Lua binding: a sandboxed Lua 5.4 state (mlua, vendored) with limits,
//! Lua ⇄ JSON conversion, and the globals of a [`GlobalContext`](crate::GlobalContext).

mod config;
pub mod convert;
mod engine;
mod limits;
mod sandbox;
mod script_hook;
pub(crate) mod workflow;

pub use config::LuaConfig;
pub(crate) use engine::event_to_json;
pub use engine::LuaEngine;
pub(crate) use script_hook::LuaHook;

/// The engine a Lua state belongs to, for the globals' functions.
pub(crate) fn engine_of(lua: &mlua::Lua) -> mlua::Result<LuaEngine> {
    LuaEngine::from_lua(lua)
}

/// The running script's name, kept as Lua app data for `Logger` and errors.
#[derive(Debug, Clone)]
pub(crate) struct ScriptName(pub(crate) String);
