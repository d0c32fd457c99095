//! The `Agent` trait with its hooked 9-state lifecycle and the LLM provider trait.
//!
//! **Not implemented yet.** A later issue fills it. This crate currently exports nothing.
