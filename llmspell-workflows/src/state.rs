//! Workflow state: the key-value map that `{{state:KEY}}`, `state.KEY` in
//! conditions and the `state` argument of script functions read, and that
//! script functions write.
//!
//! The runtime reads and writes it through [`StateStore`], so it can live
//! in any component: [`ScopedState`] keeps it in a scope of the State
//! component (`llmspell-state`; what the script context uses, so scripts
//! and workflows share values), [`MemoryState`] in memory (the default of
//! a bare runtime, shared by every run of it). Each run also keeps the keys *it* wrote; they are part of
//! every checkpoint and are written back when the run is resumed, so a
//! resumed run sees the state its completed steps left.

use std::fmt;

use async_trait::async_trait;
use llmspell_state::{Scope, State};
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

/// Workflow state in one [`Scope`] of the State component
/// ([`llmspell_state::State`]): reads and writes go through its hooked path
/// (`BeforeStateRead`/`AfterStateRead`, `BeforeStateWrite`/`AfterStateWrite`
/// fire, as children of the step that reads or writes), values are
/// versioned and persisted in the state's storage, and scripts see the same
/// values through their `State` global.
///
/// ```
/// use llmspell_state::{Scope, State};
/// use llmspell_storage::MemoryBackend;
/// use llmspell_workflows::{ScopedState, StateStore};
/// use serde_json::json;
/// use std::sync::Arc;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let state = State::builder(Arc::new(MemoryBackend::new())).build().unwrap();
/// let workflow_state = ScopedState::new(state.clone(), Scope::Global);
/// workflow_state.set("ready", json!(true)).await.unwrap();
/// // The same value, read through the State component.
/// assert_eq!(state.get(&Scope::Global, "ready").await.unwrap(), Some(json!(true)));
/// # });
/// ```
#[derive(Clone)]
pub struct ScopedState {
    state: State,
    scope: Scope,
}

impl ScopedState {
    /// Workflow state in `scope` of `state`.
    #[must_use]
    pub fn new(state: State, scope: Scope) -> Self {
        Self { state, scope }
    }

    /// The scope the workflow state lives in.
    #[must_use]
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The State component.
    #[must_use]
    pub fn state(&self) -> &State {
        &self.state
    }
}

impl fmt::Debug for ScopedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedState")
            .field("scope", &self.scope.to_string())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl StateStore for ScopedState {
    async fn get(&self, key: &str) -> Result<Option<Value>, BoxError> {
        Ok(self.state.get(&self.scope, key).await?)
    }

    async fn set(&self, key: &str, value: Value) -> Result<(), BoxError> {
        self.state.set(&self.scope, key, value).await?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), BoxError> {
        self.state.delete(&self.scope, key).await?;
        Ok(())
    }

    /// Every value of the scope: one scan of the storage; a value stored
    /// under an older schema than its prefix declares is read again
    /// through [`State::get`] so that its migration applies.
    async fn snapshot(&self) -> Result<Map<String, Value>, BoxError> {
        let mut out = Map::new();
        for stored in self.state.scan(&self.scope, "").await? {
            let value = if stored.schema < self.state.schema_version(&stored.key) {
                match self.state.get(&self.scope, &stored.key).await? {
                    Some(v) => v,
                    None => continue,
                }
            } else {
                stored.value
            };
            out.insert(stored.key, value);
        }
        Ok(out)
    }
}
