//! The `Agent` global: agents on LLM providers, from scripts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use llmspell_agents::{Agent, AgentConfig, AgentInput, AgentOutput, ExecOptions, LlmAgent};
use llmspell_events::Language;
use mlua::{Function, Lua, UserData, UserDataMethods, Value};
use serde_json::Value as Json;
use tokio::sync::mpsc;

use super::{GlobalMetadata, GlobalObject};
use crate::context::GlobalContext;
use crate::error::{BridgeError, Result};
use crate::lua::convert::{json_to_lua, lua_to_json};
use crate::lua::{engine_of, ScriptName};

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
            .language(Language::Lua)
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
}

/// The directory of the running script, when its chunk name is a file.
fn script_dir(lua: &Lua) -> Option<PathBuf> {
    let name = lua.app_data_ref::<ScriptName>()?.0.clone();
    let path = PathBuf::from(name);
    if path.is_file() {
        path.parent().map(Path::to_path_buf)
    } else {
        None
    }
}

fn input_of(lua: &Lua, v: &Value, function: &str) -> mlua::Result<AgentInput> {
    let json = lua_to_json(lua, v)?;
    AgentInput::from_json(json).map_err(|e| BridgeError::invalid(function, e.to_string()).into())
}

/// An agent as a script sees it.
#[derive(Debug, Clone)]
struct LuaAgent(Arc<dyn Agent>);

fn options() -> ExecOptions {
    ExecOptions::new().language(Language::Lua)
}

impl UserData for LuaAgent {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("name", |_, this, ()| Ok(this.0.name().to_owned()));
        methods.add_method("state", |_, this, ()| Ok(this.0.state().as_str()));
        methods.add_method("cancel", |_, this, ()| Ok(this.0.cancel()));
        for name in ["invoke", "execute"] {
            methods.add_async_method(name, |lua, this, input: Value| {
                let agent = Arc::clone(&this.0);
                async move {
                    let input = input_of(&lua, &input, "agent:invoke")?;
                    let engine = engine_of(&lua)?;
                    let out = engine
                        .wait_pumping(agent.execute(input, &options(), None))
                        .await
                        .map_err(BridgeError::from)?;
                    Ok(json_to_lua(&lua, &out.to_json())?)
                }
            });
        }
        methods.add_async_method(
            "stream",
            |lua, this, (input, callback): (Value, Option<Function>)| {
                let agent = Arc::clone(&this.0);
                async move {
                    let input = input_of(&lua, &input, "agent:stream")?;
                    let engine = engine_of(&lua)?;
                    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
                    let mut forward = move |chunk: &str| {
                        let _ = tx.send(chunk.to_owned());
                    };
                    let opts = options();
                    let exec = agent.execute(input, &opts, Some(&mut forward));
                    tokio::pin!(exec);
                    let mut callback_error = None;
                    // The script's callback runs on this task, under the
                    // engine's limits, as each fragment arrives.
                    let result = loop {
                        let chunk = tokio::select! {
                            biased;
                            Some(chunk) = rx.recv() => chunk,
                            out = engine.wait_pumping(&mut exec) => break out,
                        };
                        if callback_error.is_some() {
                            continue;
                        }
                        if let Some(f) = &callback {
                            if let Err(e) = engine
                                .call::<()>(f.clone(), chunk, None, "agent:stream callback")
                                .await
                            {
                                // Stop the model: the script cannot take
                                // more; the error is raised below.
                                agent.cancel();
                                callback_error = Some(e);
                            }
                        }
                    };
                    while let Ok(chunk) = rx.try_recv() {
                        if let (None, Some(f)) = (&callback_error, &callback) {
                            if let Err(e) = engine
                                .call::<()>(f.clone(), chunk, None, "agent:stream callback")
                                .await
                            {
                                callback_error = Some(e);
                            }
                        }
                    }
                    if let Some(e) = callback_error {
                        return Err(e.into());
                    }
                    let out = result.map_err(BridgeError::from)?;
                    Ok(json_to_lua(&lua, &out.to_json())?)
                }
            },
        );
        methods.add_async_method("pause", |_, this, ()| {
            let agent = Arc::clone(&this.0);
            async move {
                agent.pause().await.map_err(BridgeError::from)?;
                Ok(true)
            }
        });
        methods.add_async_method("resume", |_, this, ()| {
            let agent = Arc::clone(&this.0);
            async move {
                agent.resume().await.map_err(BridgeError::from)?;
                Ok(true)
            }
        });
        methods.add_async_method("terminate", |_, this, ()| {
            let agent = Arc::clone(&this.0);
            async move {
                agent.terminate().await.map_err(BridgeError::from)?;
                Ok(true)
            }
        });
        for name in ["invokeTool", "invoke_tool"] {
            methods.add_async_method(name, |lua, this, (tool, params): (String, Value)| {
                let agent = Arc::clone(&this.0);
                async move {
                    let params = match params {
                        Value::Nil => serde_json::json!({}),
                        other => lua_to_json(&lua, &other)?,
                    };
                    let engine = engine_of(&lua)?;
                    let v = engine
                        .wait_pumping(agent.invoke_tool(&tool, params, &options()))
                        .await
                        .map_err(BridgeError::from)?;
                    Ok(json_to_lua(&lua, &v)?)
                }
            });
        }
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

    fn inject_lua(&self, lua: &Lua, _context: &GlobalContext) -> Result<()> {
        let agent = lua.create_table()?;
        agent.set(
            "create",
            lua.create_async_function(|lua, options: Value| async move {
                let engine = engine_of(&lua)?;
                let json = match &options {
                    Value::Table(_) => lua_to_json(&lua, &options)?,
                    other => {
                        return Err(BridgeError::invalid(
                            "Agent.create",
                            format!(
                                "expected a table of options {{name = ..., model = \"provider/model\"}}, got {}",
                                other.type_name()
                            ),
                        )
                        .into())
                    }
                };
                let dir = script_dir(&lua);
                let context = engine.context().clone();
                let agent = AgentGlobal::create(&context, &json, dir.as_deref()).await?;
                Ok(LuaAgent(agent))
            })?,
        )?;
        agent.set(
            "list",
            lua.create_function(|lua, ()| {
                let engine = engine_of(lua)?;
                lua.create_sequence_from(engine.context().agents().names())
            })?,
        )?;
        agent.set(
            "get",
            lua.create_function(|lua, name: String| {
                let engine = engine_of(lua)?;
                Ok(engine.context().agents().get(&name).map(LuaAgent))
            })?,
        )?;
        lua.globals().set("Agent", agent)?;
        Ok(())
    }
}
