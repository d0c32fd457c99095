//! Key-value storage for llmspell.
//!
//! Everything in llmspell that must outlive a process — persisted events,
//! recorded hook executions — is written through one small async trait,
//! [`StorageBackend`]. Two implementations ship:
//!
//! - [`MemoryBackend`]: an ordered in-memory map, for tests and ephemeral use;
//! - [`SledBackend`]: the embedded [sled](https://docs.rs/sled/0.34) database,
//!   the default for anything that must survive a restart.
//!
//! Keys and values are raw bytes; keys are ordered lexicographically, so a
//! key layout such as `events/<sequence as big-endian u64>` makes prefix and
//! range scans return records in order. [`StorageExt`] adds typed helpers
//! that store serde values as JSON.
//!
//! A backend is usually chosen by a configuration string, parsed into a
//! [`StorageConfig`]: `memory` or `sled:<path>`.
//!
//! # Example
//!
//! ```
//! use llmspell_storage::{Batch, StorageBackend, StorageConfig, StorageExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> llmspell_storage::Result<()> {
//! let store = "memory".parse::<StorageConfig>()?.open()?;
//!
//! store.set(b"user/2", b"bob").await?;
//! store.set_json(b"user/1", &serde_json::json!({"name": "alice"})).await?;
//!
//! // Several writes applied atomically.
//! let mut batch = Batch::new();
//! batch.set(b"user/3".to_vec(), b"carol".to_vec());
//! batch.delete(b"user/2".to_vec());
//! store.apply_batch(batch).await?;
//!
//! let keys = store.keys(b"user/").await?;
//! assert_eq!(keys, vec![b"user/1".to_vec(), b"user/3".to_vec()]);
//!
//! let alice: Option<serde_json::Value> = store.get_json(b"user/1").await?;
//! assert_eq!(alice.unwrap()["name"], "alice");
//! # Ok(())
//! # }
//! ```

mod backend;
mod batch;
mod config;
mod error;
mod ext;
mod memory;
mod sled_backend;

pub use backend::{CasOutcome, Entry, KeyRange, StorageBackend, Update};
pub use batch::{Batch, BatchOp};
pub use config::StorageConfig;
pub use error::{LockHolder, Result, StorageError};
pub use ext::StorageExt;
pub use memory::MemoryBackend;
pub use sled_backend::SledBackend;
