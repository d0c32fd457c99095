//! The seam to agents: how `agent = "<name>"` steps run.
//!
//! The workflow runtime does not own agents; it asks an [`AgentRunner`]
//! (set with [`WorkflowRuntimeBuilder::agents`](crate::WorkflowRuntimeBuilder::agents)).
//! An implementation runs the agent through its own hooked path, so agent
//! hooks fire for agent steps. Without a runner, a definition with an agent
//! step is refused when it is created.

use std::fmt;

use async_trait::async_trait;
use llmspell_agents::{AgentInput, AgentRegistry, ExecOptions};
use llmspell_events::Language;
use serde_json::Value;
use uuid::Uuid;

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
    /// (`{text = ...}`), with the run's correlation id and language. It is
    /// called inside the step's hooked operation, so
    /// `llmspell_hooks::current_parent()` is the stage.
    async fn invoke(
        &self,
        name: &str,
        input: Value,
        correlation_id: Uuid,
        language: Language,
    ) -> Result<Value, BoxError>;
}

/// Agent steps run the agents of an [`AgentRegistry`] through their hooked
/// execution path (`Agent::execute`): agent hooks fire as children of the
/// step. The input is `{text = ..., ...}` (or a string; rs-llmspell's
/// `{prompt = ...}` is taken as the text when there is no `text`); the
/// output is the agent's `{text, usage, tool_calls, model, finish_reason}`.
#[async_trait]
impl AgentRunner for AgentRegistry {
    fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn names(&self) -> Vec<String> {
        AgentRegistry::names(self)
    }

    async fn invoke(
        &self,
        name: &str,
        input: Value,
        correlation_id: Uuid,
        language: Language,
    ) -> Result<Value, BoxError> {
        let agent = self.require(name)?;
        let input = AgentInput::from_json(prompt_as_text(input))?;
        let mut opts = ExecOptions::new()
            .correlation_id(correlation_id)
            .language(language);
        if let Some(parent) = llmspell_hooks::current_parent() {
            opts = opts.parent(parent);
        }
        Ok(agent.execute(input, &opts, None).await?.to_json())
    }
}

/// `{prompt = "..."}` without `text` (how rs-llmspell scripts write an agent
/// step's input) as `{text = "..."}`; anything else as it is.
fn prompt_as_text(input: Value) -> Value {
    match input {
        Value::Object(mut map) if !map.contains_key("text") => {
            if matches!(map.get("prompt"), Some(Value::String(_))) {
                if let Some(prompt) = map.remove("prompt") {
                    map.insert("text".to_owned(), prompt);
                }
            }
            Value::Object(map)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::prompt_as_text;

    #[test]
    fn prompt_is_the_text_only_without_text() {
        assert_eq!(
            prompt_as_text(json!({"prompt": "hi", "k": 1})),
            json!({"text": "hi", "k": 1})
        );
        assert_eq!(
            prompt_as_text(json!({"prompt": "p", "text": "t"})),
            json!({"prompt": "p", "text": "t"})
        );
        assert_eq!(prompt_as_text(json!({"prompt": 3})), json!({"prompt": 3}));
        assert_eq!(prompt_as_text(json!("bare")), json!("bare"));
    }
}
