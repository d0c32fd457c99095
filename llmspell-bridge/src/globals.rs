//! Script globals: one [`GlobalObject`] per global (`JSON`, `Logger`, ...).

mod event;
mod hook;
mod json;
mod logger;
mod tool;
pub(crate) mod workflow;

use std::fmt;

pub use event::EventGlobal;
pub use hook::HookGlobal;
pub use json::JsonGlobal;
pub use logger::LoggerGlobal;
pub use tool::ToolGlobal;
pub use workflow::WorkflowGlobal;

use crate::context::GlobalContext;
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

/// One script global: its metadata and how it is injected into each
/// supported language.
///
/// Implementations hold no script state themselves; everything shared (the
/// hook registry, the event bus, ...) comes from the [`GlobalContext`]. The
/// JavaScript binding adds an `inject_javascript` method with a default body
/// when it lands, so implementing this trait stays source compatible.
pub trait GlobalObject: fmt::Debug + Send + Sync {
    /// Name, description and function list.
    fn metadata(&self) -> GlobalMetadata;

    /// Defines the global in a Lua state.
    ///
    /// # Errors
    /// When the state cannot allocate the global's tables and functions.
    fn inject_lua(&self, lua: &mlua::Lua, context: &GlobalContext) -> Result<()>;
}
