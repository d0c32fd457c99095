//! The `Agent` global: agents on LLM providers, from scripts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use llmspell_agents::{Agent, AgentConfig, AgentInput, AgentOutput, ExecOptions, LlmAgent};
use llmspell_events::Language;
use serde_json::Value as Json;

use super::{GlobalBinding, GlobalMetadata, GlobalObject};
use crate::context::GlobalContext;
use crate::error::{BridgeError, Result};
use crate::host::ScriptHost;

/// `Agent.create(options) → agent`, `Agent.list() → {names}`,
/// `Agent.get(name) → agent | nil`.
///
/// Options (the shape rs-llmspell scripts use): `name`, `model =
/// "provider/model"` (`openai/…`, `ollama/…`, `anthropic/…`, `replay/…`),
/// `system_prompt`, `temperature`, `max_tokens`, `tools = {names}`,
/// `max_turns`, `base_url`, `api_key_env`, `timeout_ms`, `transcript` and
/// `record_to` (paths relative to the script's directory), `description`.
///
/// An agent object: `agent:invoke({text = ...})` (alias `execute`) →
/// `{text, usage = {prompt_tokens, completion_tokens, total_tokens},
/// tool_calls = {{name, arguments, result}}, model, finish_reason}`;
/// `agent:stream({text = ...}, function(chunk) end)` calls the function
/// with each text fragment as it arrives and returns the same table;
/// `agent:state()` (`"ready"`, ...), `agent:name()`, `agent:pause()`,
/// `agent:resume()`, `agent:terminate()`, `agent:cancel()`,
/// `agent:invokeTool(name, params)` (alias `invoke_tool`). Failures raise
/// an error whose message carries the cause (a hook's cancel reason, the
/// provider's HTTP status and message).
#[derive(Debug, Clone, Copy, Default)]
pub struct AgentGlobal;

impl AgentGlobal {
    /// Creates an agent from its JSON options (the language-neutral part of
    /// `Agent.create`), registers it in the context and returns it.
    /// Relative `transcript` / `record_to` paths are taken from `base_dir`
    /// when given.
    ///
    /// # Errors
    /// [`BridgeError::Agent`] for bad options, an unknown provider, a
    /// missing key, an unregistered tool or a taken name.
    pub async fn create(
        context: &GlobalContext,
        options: &Json,
        base_dir: Option<&Path>,
        language: Language,
    ) -> Result<Arc<dyn Agent>> {
        let mut config = AgentConfig::from_json(options).map_err(BridgeError::from)?;
        // Refused before the agent is built (and its init hooks fire);
        // `register` below still settles a race.
        if let Some(existing) = context.agents().get(&config.name) {
            if existing.state() != llmspell_agents::AgentState::Terminated {
                return Err(llmspell_agents::AgentError::AlreadyExists(config.name).into());
            }
        }
        if let Some(dir) = base_dir {
            for path in [
                &mut config.provider.transcript,
                &mut config.provider.record_to,
            ]
            .into_iter()
            .flatten()
            {
                if path.is_relative() {
                    *path = dir.join(&*path);
                }
            }
        }
        let agent = LlmAgent::builder(config)
            .factory(context.provider_factory().clone())
            .hooks(context.tools().hooks())
            .agent_registry(context.agents())
            .language(language)
            .tools(Arc::clone(context.tools()))
            .event_bus(context.event_bus().clone())
            .build()
            .await
            .map_err(BridgeError::from)?;
        let agent: Arc<dyn Agent> = Arc::new(agent);
        context
            .agents()
            .register(Arc::clone(&agent))
            .map_err(BridgeError::from)?;
        Ok(agent)
    }

    /// The JSON form of an execution's result (the table scripts get).
    #[must_use]
    pub fn output(output: &AgentOutput) -> Json {
        output.to_json()
    }

    /// `Agent.create(options)` from a script: relative paths are taken
    /// from the script's directory (when its name is a file).
    ///
    /// # Errors
    /// As [`create`](Self::create).
    pub(crate) async fn create_from(
        &self,
        host: &ScriptHost,
        options: &Json,
    ) -> Result<Arc<dyn Agent>> {
        if !options.is_object() {
            return Err(BridgeError::invalid(
                "Agent.create",
                "expected a table of options {name = ..., model = \"provider/model\"}",
            ));
        }
        let name = host.script_name();
        let path = PathBuf::from(&*name);
        let dir = path
            .is_file()
            .then(|| path.parent().map(Path::to_path_buf))
            .flatten();
        Self::create(host.context(), options, dir.as_deref(), host.language()).await
    }

    /// `Agent.list()`: the registered names, sorted.
    pub(crate) fn list(&self, host: &ScriptHost) -> Vec<String> {
        host.context().agents().names()
    }

    /// `Agent.get(name)`.
    pub(crate) fn get(&self, host: &ScriptHost, name: &str) -> Option<Arc<dyn Agent>> {
        host.context().agents().get(name)
    }

    /// The input of `agent:invoke` / `agent:stream` (`{text = ...}` or a
    /// string).
    ///
    /// # Errors
    /// [`BridgeError::InvalidArgument`] without a string `text`.
    pub(crate) fn input(function: &str, input: Json) -> Result<AgentInput> {
        AgentInput::from_json(input).map_err(|e| BridgeError::invalid(function, e.to_string()))
    }

    /// The per-call options of a script's executions and tool calls.
    pub(crate) fn options(host: &ScriptHost) -> ExecOptions {
        ExecOptions::new().language(host.language())
    }
}

impl GlobalObject for AgentGlobal {
    fn metadata(&self) -> GlobalMetadata {
        GlobalMetadata {
            name: "Agent",
            description: "create agents on LLM providers (openai, ollama, anthropic, replay), list and get them",
            functions: &["create", "list", "get"],
        }
    }

    fn inject(&self, binding: &mut dyn GlobalBinding) -> Result<()> {
        binding.agent(self)
    }
}
