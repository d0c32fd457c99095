//! Hooks for llmspell: named points in the life of agents, tools and
//! workflows where Rust, Lua or JavaScript code can observe and change what
//! happens.
//!
//! Work in progress: this version holds the core vocabulary (points,
//! contexts, results, the `Hook` trait); the registry, executor, circuit
//! breaker and composites follow.

mod adapter;
mod component;
mod context;
mod error;
mod hook;
mod metadata;
mod point;
mod priority;
mod replay;
mod result;

pub use adapter::{HookAdapter, JsonHookAdapter};
pub use component::{ComponentId, ComponentType, ParseComponentTypeError};
pub use context::{HookContext, HookContextBuilder, HookData, OperationContext};
pub use error::{HookError, Result};
pub use hook::{async_hook_fn, hook_fn, AsyncFnHook, FnHook, Hook};
pub use llmspell_events::Language;
pub use metadata::HookMetadata;
pub use point::HookPoint;
pub use priority::Priority;
pub use replay::ReplayableHook;
pub use result::{ForkOperation, HookResult};
