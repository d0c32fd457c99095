//! Workflow state: the key-value map that `{{state:KEY}}`, `state.KEY` in
//! conditions and the `state` argument of script functions read, and that
//! script functions write.
//!
//! The runtime reads and writes it through [`StateStore`], so it can live
//! in any component (the default is [`MemoryState`], shared by every run
//! of a runtime). Each run also keeps the keys *it* wrote; they are part of
//! every checkpoint and are written back when the run is resumed, so a
//! resumed run sees the state its completed steps left.

use std::fmt;

use async_trait::async_trait;
use parking_lot::RwLock;
use serde_json::{Map, Value};

use crate::error::BoxError;

/// Where workflow state lives.
#[async_trait]
pub trait StateStore: Send + Sync + fmt::Debug {
    /// The value of `key`.
    async fn get(&self, key: &str) -> Result<Option<Value>, BoxError>;
    /// Sets `key`.
    async fn set(&self, key: &str, value: Value) -> Result<(), BoxError>;
    /// Removes `key` (no error if absent).
    async fn delete(&self, key: &str) -> Result<(), BoxError>;
    /// Every key and value (what a script function receives as `state`).
    async fn snapshot(&self) -> Result<Map<String, Value>, BoxError>;
}

/// An in-memory [`StateStore`].
///
/// ```
/// use llmspell_workflows::{MemoryState, StateStore};
/// use serde_json::json;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let state = MemoryState::new();
/// state.set("ready", json!(true)).await.unwrap();
/// assert_eq!(state.get("ready").await.unwrap(), Some(json!(true)));
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryState {
    map: RwLock<Map<String, Value>>,
}

impl MemoryState {
    /// An empty state.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A state with these values.
    #[must_use]
    pub fn with(values: Map<String, Value>) -> Self {
        Self {
            map: RwLock::new(values),
        }
    }
}

#[async_trait]
impl StateStore for MemoryState {
    async fn get(&self, key: &str) -> Result<Option<Value>, BoxError> {
        Ok(self.map.read().get(key).cloned())
    }

    async fn set(&self, key: &str, value: Value) -> Result<(), BoxError> {
        self.map.write().insert(key.to_owned(), value);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), BoxError> {
        self.map.write().remove(key);
        Ok(())
    }

    async fn snapshot(&self) -> Result<Map<String, Value>, BoxError> {
        Ok(self.map.read().clone())
    }
}
