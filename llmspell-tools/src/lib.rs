//! The `Tool` trait, the `ToolRegistry` and the local llmspell tools.
//!
//! (crate docs are completed with the hooked execution path)

mod config;
mod context;
mod error;
mod params;
mod registry;
mod runtime;
mod sandbox;
mod schema;
mod tool;
mod tools;

pub use config::{
    ArchiveLimits, EnvironmentPolicy, ProcessPolicy, ServicePolicy, ToolsConfig, ToolsConfigBuilder,
};
pub use context::ToolContext;
pub use error::{Result, ToolError};
pub use registry::{RegisteredTool, ToolRegistry};
pub use runtime::{
    ForkResult, InvokeOptions, ResultSource, ToolInvocation, ToolRuntime, ToolRuntimeBuilder,
    DEFAULT_TOOL_TIMEOUT, EVENT_COMPLETED, EVENT_FAILED, EVENT_STARTED,
};
pub use sandbox::FileSandbox;
pub use schema::ParameterValidator;
pub use tool::{SecurityLevel, Tool, ToolCategory, ToolMetadata};
pub use tools::*;
