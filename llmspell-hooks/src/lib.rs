//! Hook points, contexts, results, the hook registry and executor, circuit breakers, composite and built-in hooks for llmspell.
//!
//! **Not implemented yet.** Issues 3 and 5 fill it. This crate currently exports nothing.
