//! Persistent, scoped, versioned state and script-run sessions for llmspell.
//!
//! # State
//!
//! [`State`] is a key-value store of JSON values on any
//! `llmspell_storage::StorageBackend` (sled to survive restarts, memory for
//! tests):
//!
//! - **Scopes** ([`Scope`]): `global`, `session:<id>` (one session's values,
//!   checkpointed with it), `script:<name>`, and custom names such as
//!   `agent:writer`. Each is its own key space.
//! - **Keys** follow one rule, quoted in every error: 1 to 256 (configurable)
//!   characters from `A-Z a-z 0-9 _ - . : /`.
//! - **Versions**: every write gives a key its next version (1 first);
//!   [`State::compare_and_set`] writes only at an expected version, atomically
//!   in the backend, so of several racing writers exactly one wins per
//!   version and the others get [`CompareAndSet::Conflict`].
//! - **Schemas and migrations**: a key prefix may carry a schema version;
//!   values stored with an older one are migrated on read by registered
//!   [`Migration`] steps (Rust closures via [`migration_fn`], script functions
//!   via the bridges) and written back.
//! - **Limits**: a configurable value size limit (1 MiB of JSON by default).
//! - **Events**: with an `EventBus`, every change publishes `state.changed`
//!   (`scope`, `key`, `version`, `operation`; the value only when
//!   [`StateBuilder::event_values`] is on).
//!
//! # Hooks
//!
//! A state runs under a `llmspell_hooks::Hooks` handle
//! ([`StateBuilder::hooks`]): reads fire `BeforeStateRead` /
//! `AfterStateRead`, writes `BeforeStateWrite` / `AfterStateWrite` (data
//! keys `scope`, `key`, `value`, `version`, `operation`) through
//! `Hooks::operation`, so `modified`, `cancel`, `replace` and the other
//! results have their usual effect; a lost compare-and-set fires
//! `StateConflict` and a migration `StateMigration`. Sessions fire
//! `SessionStart`, `SessionEnd`, `SessionCheckpoint` and `SessionRestore`
//! (`cancel` refuses the last two). With no hook at an operation's points
//! the operation costs two atomic checks more than the storage work.
//!
//! # Sessions
//!
//! [`Sessions`] records one [`Session`] per script run (`llmspell run`):
//! id (UUID v7), script, start and end times, exit status. A session
//! snapshots its scope with [`Session::checkpoint`], and a later run
//! continues it from the last checkpoint with [`Sessions::resume`].
//!
//! # Why a crate
//!
//! State sits on `llmspell-storage` and `llmspell-events` and is used by
//! workflows (shared step state), the script bridge (`State`, `Session`
//! globals) and the CLI (`llmspell sessions`, `run --resume`). None of those
//! is the right owner: putting it in the bridge would hide it from Rust
//! applications and workflows, and putting it in `llmspell-storage` would
//! make the byte-level storage layer depend on events. A crate of its own
//! keeps the dependency arrows pointing down.
//!
//! # Example
//!
//! ```
//! use llmspell_state::{migration_fn, CompareAndSet, Scope, Sessions, State};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> llmspell_state::Result<()> {
//! let state = State::in_memory();
//! let global = Scope::Global;
//!
//! assert_eq!(state.set(&global, "counter", json!(1)).await?, 1);
//! assert_eq!(state.get(&global, "counter").await?, Some(json!(1)));
//!
//! // Optimistic concurrency: write only at the version we saw.
//! let seen = state.version(&global, "counter").await?;
//! assert_eq!(
//!     state.compare_and_set(&global, "counter", seen, json!(2)).await?,
//!     CompareAndSet::Set { version: 2 }
//! );
//! assert_eq!(
//!     state.compare_and_set(&global, "counter", seen, json!(99)).await?,
//!     CompareAndSet::Conflict { current_version: 2 }
//! );
//!
//! // Values stored before a schema existed are migrated when read.
//! state.set(&global, "user:1", json!({"name": "Ada Lovelace"})).await?;
//! state.register_migration("user:", 1, 2, migration_fn(|mut v| {
//!     v["greeting"] = json!(format!("Hello, {}", v["name"].as_str().unwrap_or("?")));
//!     Ok(v)
//! }))?;
//! let user = state.get(&global, "user:1").await?.unwrap();
//! assert_eq!(user["greeting"], "Hello, Ada Lovelace");
//!
//! // A session snapshots its scope, and a later run restores it.
//! let sessions = Sessions::new(state.clone());
//! let session = sessions.start(Some("etl.lua")).await?;
//! state.set(&session.scope(), "step", json!(3)).await?;
//! session.checkpoint(Some("after step 3")).await?;
//! state.set(&session.scope(), "step", json!(4)).await?;
//! session.restore().await?;
//! assert_eq!(state.get(&session.scope(), "step").await?, Some(json!(3)));
//! # Ok(())
//! # }
//! ```
//!
//! The design, storage layout and invariants are in
//! `docs/technical/state.md`; the script API in `docs/user-guide/state.md`.

mod builder;
mod error;
mod key;
mod migration;
mod record;
mod scope;
mod session;
mod state;

pub use builder::{StateBuilder, DEFAULT_MAX_VALUE_BYTES};
pub use error::{Result, StateError};
pub use key::DEFAULT_MAX_KEY_LEN;
pub use migration::{migration_fn, Migration, MigrationFn};
pub use scope::Scope;
pub use session::{
    Checkpoint, CheckpointInfo, Session, SessionId, SessionOutcome, SessionRecord, SessionRef,
    SessionStatus, Sessions,
};
pub use state::{CompareAndSet, State, StoredValue, Versioned, STATE_CHANGED_EVENT};
