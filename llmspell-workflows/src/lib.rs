//! Sequential, conditional, loop and parallel workflows whose steps, branches and iterations fire hooks.
//!
//! **Not implemented yet.** A later issue fills it. This crate currently exports nothing.
