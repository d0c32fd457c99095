//! Rust applications that use the llmspell crates together; each is a
//! program of this package (`src/bin/<name>.rs`, run with `cargo run -p
//! llmspell-examples --bin <name>`), and `tests/examples.rs` runs them all:
//!
//! - `hooked_operation`: an application hooks its own async operation
//!   (a hook modifies its input, another cancels some calls).
//! - `event_persistence`: an event bus with a sled store; the events are
//!   read back and replayed onto a fresh bus.
//! - `lua_with_own_tools`: a Lua script runs against the application's own
//!   tool registry and sees the application's hooks fire.
//!
//! `docs/user-guide/embedding.md` walks through them.
