//! [`AgentRegistry`]: agents by name.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::{Agent, AgentError, AgentState, Result};

/// Agents by name (what `Agent.list()` / `Agent.get(name)` read).
///
/// A terminated agent stays listed until it is removed or replaced: a new
/// agent may take the name of a terminated one.
#[derive(Debug, Default)]
pub struct AgentRegistry {
    agents: RwLock<BTreeMap<String, Arc<dyn Agent>>>,
}

impl AgentRegistry {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `agent` under its name.
    ///
    /// # Errors
    /// [`AgentError::AlreadyExists`] if a live (not terminated) agent has
    /// the name.
    pub fn register(&self, agent: Arc<dyn Agent>) -> Result<()> {
        let mut agents = self.agents.write();
        let name = agent.name().to_owned();
        if let Some(old) = agents.get(&name) {
            if old.state() != AgentState::Terminated {
                return Err(AgentError::AlreadyExists(name));
            }
        }
        agents.insert(name, agent);
        Ok(())
    }

    /// The agent called `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<Arc<dyn Agent>> {
        self.agents.read().get(name).cloned()
    }

    /// The agent called `name`.
    ///
    /// # Errors
    /// [`AgentError::NotFound`].
    pub fn require(&self, name: &str) -> Result<Arc<dyn Agent>> {
        self.get(name)
            .ok_or_else(|| AgentError::NotFound(name.to_owned()))
    }

    /// Removes the agent called `name` (it is not terminated).
    pub fn remove(&self, name: &str) -> Option<Arc<dyn Agent>> {
        self.agents.write().remove(name)
    }

    /// The names, sorted.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        self.agents.read().keys().cloned().collect()
    }

    /// How many agents are registered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.agents.read().len()
    }

    /// Whether none is.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.agents.read().is_empty()
    }
}
