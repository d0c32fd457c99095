//! The script bridge of llmspell: Lua scripts register hooks, publish and
//! subscribe to events and call tools through globals injected into a
//! sandboxed engine, and what they register takes effect for Rust code and
//! other scripts too.
//!
//! # Layers
//!
//! - [`globals`], language-neutral: one [`GlobalObject`] per script global
//!   — `Hook`, `Event`, `Tool`, `JSON`, `Logger` — holding its behaviour
//!   (argument validation, option parsing, the calls into hooks, events and
//!   tools, the shape of results) as plain Rust over JSON values. A
//!   language binding injects each global through its [`GlobalBinding`].
//! - Bridges, language-neutral async Rust: [`HookBridge`] registers an
//!   engine's hooks in the shared `HookRegistry`; [`EventBridge`] publishes
//!   and owns an engine's subscriptions. Both remove what they registered
//!   when told to or when dropped. [`hook_result`] is the script view of a
//!   hook context and the parser of script return values.
//! - [`lua`]: the Lua 5.4 binding ([`LuaEngine`], [`LuaConfig`]) with its
//!   sandbox, memory and per-call time limits, callback pumping, and
//!   [`lua::convert`] (the Lua ⇄ JSON policy); its globals only convert
//!   between Lua values and the neutral functions.
//!
//! A [`GlobalContext`] holds the shared components (event bus, hook
//! registry and executor, tool runtime); every engine created from one
//! context shares them.
//!
//! # Threading
//!
//! The Lua state is used by one thread at a time. Every call into Lua runs
//! as an async coroutine that releases the state while it waits, so a hook
//! registered by a script fires both re-entrantly (the script calls a tool,
//! the tool runs the hook on the script's thread) and from Rust code on any
//! other thread while the script waits in a bridge call — without deadlock.
//! Event callbacks run on the script's thread only. See
//! `docs/technical/bridge.md`.
//!
//! # Example
//!
//! ```
//! use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), llmspell_bridge::BridgeError> {
//! let context = GlobalContext::new();
//! let engine = LuaEngine::new(context.clone(), LuaConfig::default())?;
//! let out = engine
//!     .eval(
//!         r#"
//!         -- a script hook that rewrites what the calculator receives
//!         Hook.register("BeforeToolExecution", function(ctx)
//!             return {type = "modified", data = {tool_name = ctx.data.tool_name,
//!                                                parameters = {expression = "20 + 22"}}}
//!         end)
//!         return Tool.invoke("calculator", {expression = "1 + 1"}).result
//!         "#,
//!     )
//!     .await?;
//! assert_eq!(out, json!(42));
//!
//! // The hook is in the shared registry: a call from Rust runs it too.
//! let r = context.tools().invoke("calculator", json!({"expression": "0"})).await?;
//! assert_eq!(r["result"], json!(42));
//! # Ok(())
//! # }
//! ```

mod context;
mod error;
mod event_bridge;
pub mod globals;
mod hook_bridge;
pub mod hook_result;
mod host;
pub mod lua;
mod system;

pub use context::{GlobalContext, GlobalContextBuilder};
pub use error::{BridgeError, Result};
pub use event_bridge::{CallbackQueue, EventBridge, PublishOptions};
pub use globals::{GlobalBinding, GlobalMetadata, GlobalObject};
pub use hook_bridge::HookBridge;
pub use lua::{LuaConfig, LuaEngine};
pub use system::ResourceMonitorConfig;
