//! The `llmspell` command-line interface: run Lua scripts, inspect and replay events.
//!
//! **Not implemented yet.** Issue 7 fills it; until then no binary is built. This crate currently exports nothing.
