//! The script bridge: `GlobalObject`, `GlobalContext`, `HookBridge`, `EventBridge` and the Lua (mlua) and JavaScript bindings.
//!
//! **Not implemented yet.** Issue 7 fills it. This crate currently exports nothing.
