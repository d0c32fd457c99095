//! The script bridge of llmspell: scripts register hooks, subscribe to
//! events and call tools through globals injected into a sandboxed engine.
//!
//! Three layers:
//!
//! - [`globals`]: one [`GlobalObject`] per script global (`JSON`, `Logger`,
//!   ...), holding its metadata and how it is injected into each language;
//! - [`GlobalContext`]: the shared components every engine created from it
//!   sees;
//! - [`lua`]: the Lua 5.4 binding ([`LuaEngine`]) with its sandbox, limits
//!   and [`lua::convert`] (the Lua ⇄ JSON policy).
//!
//! # Example
//!
//! ```
//! use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), llmspell_bridge::BridgeError> {
//! let engine = LuaEngine::new(GlobalContext::new(), LuaConfig::default())?;
//! let out = engine.eval(r#"return JSON.decode('{"a": [1, 2.5]}')"#).await?;
//! assert_eq!(out, serde_json::json!({"a": [1, 2.5]}));
//! # Ok(())
//! # }
//! ```

mod context;
mod error;
mod event_bridge;
pub mod globals;
pub mod hook_result;
pub mod lua;

pub use context::{GlobalContext, GlobalContextBuilder};
pub use error::{BridgeError, Result};
pub use event_bridge::{CallbackQueue, EventBridge, PublishOptions};
pub use globals::{GlobalMetadata, GlobalObject};
pub use lua::{LuaConfig, LuaEngine};
