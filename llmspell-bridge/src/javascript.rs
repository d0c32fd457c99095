//! The JavaScript binding: boa_engine on a thread of its own per engine,
//! with the globals of a [`GlobalContext`](crate::GlobalContext), ES
//! modules from the script's directory, loop/recursion/time limits, and
//! JavaScript ⇄ JSON conversion.
//!
//! See [`JsEngine`] and `docs/technical/javascript.md`.

mod config;
pub mod convert;
mod engine;
mod globals;
mod jobs;
mod modules;
mod runtime;
mod script_hook;
mod spin;

pub use config::JsConfig;
pub use engine::JsEngine;
