//! The `Tool` trait, the `ToolRegistry`, the one hooked tool execution path and the local llmspell tools.
//!
//! **Not implemented yet.** Issue 6 fills it. This crate currently exports nothing.
