//! `Agent` in Lua: the global's functions and the agent object.

use std::sync::Arc;

use llmspell_agents::{Agent, AgentInput, ExecOptions};
use mlua::{Function, Lua, UserData, UserDataMethods, Value};
use tokio::sync::mpsc;

use super::define;
use crate::error::{BridgeError, Result};
use crate::globals::AgentGlobal;
use crate::lua::convert::{json_to_lua, lua_to_json};
use crate::lua::engine_of;
use crate::lua::limits::CallKind;

pub(super) fn inject(lua: &Lua, global: AgentGlobal) -> Result<()> {
    define(lua, "Agent", |agent| {
        agent.set(
            "create",
            lua.create_async_function(move |lua, options: Value| async move {
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
                let agent = global.create_from(engine.host(), &json).await?;
                Ok(LuaAgent(agent))
            })?,
        )?;
        agent.set(
            "list",
            lua.create_function(move |lua, ()| {
                let engine = engine_of(lua)?;
                lua.create_sequence_from(global.list(engine.host()))
            })?,
        )?;
        agent.set(
            "get",
            lua.create_function(move |lua, name: String| {
                let engine = engine_of(lua)?;
                Ok(global.get(engine.host(), &name).map(LuaAgent))
            })?,
        )?;
        Ok(())
    })
}

/// An agent as a script sees it (a workflow step's `agent = <agent>` is
/// read as its name).
#[derive(Debug, Clone)]
pub(super) struct LuaAgent(pub(super) Arc<dyn Agent>);

fn options(lua: &Lua) -> mlua::Result<ExecOptions> {
    Ok(AgentGlobal::options(engine_of(lua)?.host()))
}

fn input_of(lua: &Lua, v: &Value, function: &str) -> mlua::Result<AgentInput> {
    let json = lua_to_json(lua, v)?;
    Ok(AgentGlobal::input(function, json)?)
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
                        .wait_pumping(agent.execute(input, &options(&lua)?, None))
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
                    let opts = options(&lua)?;
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
                                .call::<()>(
                                    f.clone(),
                                    chunk,
                                    None,
                                    CallKind::Callback,
                                    "agent:stream callback",
                                )
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
                                .call::<()>(
                                    f.clone(),
                                    chunk,
                                    None,
                                    CallKind::Callback,
                                    "agent:stream callback",
                                )
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
                        .wait_pumping(agent.invoke_tool(&tool, params, &options(&lua)?))
                        .await
                        .map_err(BridgeError::from)?;
                    Ok(json_to_lua(&lua, &v)?)
                }
            });
        }
    }
}
