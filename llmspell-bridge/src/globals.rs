//! Script globals, language-neutral: one [`GlobalObject`] per global
//! (`Hook`, `Event`, `Tool`, `Agent`, `Workflow`, `JSON`, `Logger`, `State`,
//! `Session`).
//!
//! # The pattern
//!
//! Everything a global *does* lives here, as plain Rust over
//! [`serde_json::Value`] and Rust types: argument validation, option
//! parsing, the calls into the hook registry, event bridge and tool runtime,
//! and the shape of what it returns. No script engine type appears in this
//! module. A language binding (`lua/` today, `javascript/` next) only
//! converts: script values to JSON on the way in, JSON (or a handle) back to
//! script values on the way out, and script functions to the neutral
//! callback traits (`HookCallback` for hooks, `MigrationCallback` for
//! state migrations).
//!
//! Each global is a [`GlobalObject`]; injecting it into an engine is double
//! dispatch: the engine hands its [`GlobalBinding`] to
//! [`GlobalObject::inject`], which calls the binding's method for that kind
//! of global. A new global (e.g. `Agent`) adds its neutral type here, one
//! method to [`GlobalBinding`] and the conversion code in each binding.
//!
//! The neutral functions take the engine's `ScriptHost` (the shared context
//! plus the engine's own event and hook bridges, language and script
//! name); bindings keep it in their engine.

mod agent;
mod args;
mod event;
mod hook;
mod json;
mod logger;
mod session;
mod state;
mod tool;
mod workflow;

use std::fmt;

pub use agent::AgentGlobal;
pub use args::MAX_DURATION;
pub use event::EventGlobal;
pub use hook::HookGlobal;
pub use json::JsonGlobal;
pub use logger::{LogLevel, LoggerGlobal};
pub use session::SessionGlobal;
pub use state::StateGlobal;
pub use tool::ToolGlobal;
pub(crate) use workflow::WorkflowDraft;
pub use workflow::WorkflowGlobal;

pub(crate) use event::event_to_json;
pub(crate) use hook::{fire_depth, with_fire_depth, BuiltinRegistration, HookCallback};
pub(crate) use state::MigrationCallback;

use crate::error::Result;

/// What a global is, for listings and documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalMetadata {
    /// The name scripts see (`"Hook"`, `"JSON"`).
    pub name: &'static str,
    /// One line on what it does.
    pub description: &'static str,
    /// The functions it exposes, by script-visible name.
    pub functions: &'static [&'static str],
}

/// One script global: its metadata, and how a language binding injects it.
///
/// Implementations hold no script state; everything shared (the hook
/// registry, the event bus, ...) comes from the engine's host at call time.
pub trait GlobalObject: fmt::Debug + Send + Sync {
    /// Name, description and function list.
    fn metadata(&self) -> GlobalMetadata;

    /// Defines this global in the engine behind `binding` by calling the
    /// binding's method for this kind of global.
    ///
    /// # Errors
    /// The binding's: the engine cannot allocate the global's values.
    fn inject(&self, binding: &mut dyn GlobalBinding) -> Result<()>;
}

/// A script language's way of defining each kind of global, implemented by
/// every binding (`lua/`, `javascript/`). The methods only convert between
/// the language's values and the neutral functions of the global they get.
pub trait GlobalBinding {
    /// Defines `JSON`.
    ///
    /// # Errors
    /// When the engine cannot allocate the global.
    fn json(&mut self, global: &JsonGlobal) -> Result<()>;

    /// Defines `Logger`.
    ///
    /// # Errors
    /// When the engine cannot allocate the global.
    fn logger(&mut self, global: &LoggerGlobal) -> Result<()>;

    /// Defines `Event`.
    ///
    /// # Errors
    /// When the engine cannot allocate the global.
    fn event(&mut self, global: &EventGlobal) -> Result<()>;

    /// Defines `Hook`.
    ///
    /// # Errors
    /// When the engine cannot allocate the global.
    fn hook(&mut self, global: &HookGlobal) -> Result<()>;

    /// Defines `Tool`.
    ///
    /// # Errors
    /// When the engine cannot allocate the global.
    fn tool(&mut self, global: &ToolGlobal) -> Result<()>;

    /// Defines `State`.
    ///
    /// # Errors
    /// When the engine cannot allocate the global.
    fn state(&mut self, global: &StateGlobal) -> Result<()>;

    /// Defines `Session`.
    ///
    /// # Errors
    /// When the engine cannot allocate the global.
    fn session(&mut self, global: &SessionGlobal) -> Result<()>;

    /// Defines `Agent`.
    ///
    /// # Errors
    /// When the engine cannot allocate the global.
    fn agent(&mut self, global: &AgentGlobal) -> Result<()>;

    /// Defines `Workflow`.
    ///
    /// # Errors
    /// When the engine cannot allocate the global.
    fn workflow(&mut self, global: &WorkflowGlobal) -> Result<()>;
}
