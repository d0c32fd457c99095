//! The Lua binding: a sandboxed Lua 5.4 state (mlua, vendored) with limits,
//! Lua ⇄ JSON conversion, and the globals of a [`GlobalContext`](crate::GlobalContext).

mod config;
pub mod convert;
mod engine;
mod globals;
mod hook_context;
mod limits;
mod sandbox;
mod script_hook;

pub use config::LuaConfig;
pub use engine::LuaEngine;
pub(crate) use globals::LuaBinding;
pub(crate) use script_hook::LuaHookCallback;

/// The engine a Lua state belongs to, for the globals' functions.
pub(crate) fn engine_of(lua: &mlua::Lua) -> mlua::Result<LuaEngine> {
    LuaEngine::from_lua(lua)
}
