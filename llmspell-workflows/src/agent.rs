//! The seam to agents: how `agent = "<name>"` steps run.
//!
//! The workflow runtime does not own agents; it asks an [`AgentRunner`]
//! (set with [`WorkflowRuntimeBuilder::agents`](crate::WorkflowRuntimeBuilder::agents)).
//! An implementation runs the agent through its own hooked path, so agent
//! hooks fire for agent steps. Without a runner, a definition with an agent
//! step is refused when it is created.

use std::fmt;

use async_trait::async_trait;
use serde_json::Value;

use crate::error::BoxError;

/// Runs agents by name for agent steps.
#[async_trait]
pub trait AgentRunner: Send + Sync + fmt::Debug {
    /// Whether an agent called `name` exists (checked when a workflow is
    /// created).
    fn contains(&self, name: &str) -> bool;

    /// The names of the agents, for error messages.
    fn names(&self) -> Vec<String>;

    /// Runs agent `name` on `input` (`{text = ...}`) and returns its output
    /// (`{text = ...}`).
    async fn invoke(&self, name: &str, input: Value) -> Result<Value, BoxError>;
}
