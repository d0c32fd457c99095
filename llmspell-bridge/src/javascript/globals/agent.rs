//! `Agent` in JavaScript: `Agent.create(options)` → a promise of an agent
//! object, `Agent.list()`, `Agent.get(name)`; the agent object's
//! `name()`, `state()`, `cancel()` and promise-returning `invoke(input)` /
//! `execute`, `stream(input, onChunk?)`, `pause()`, `resume()`,
//! `terminate()`, `invokeTool(name, params)` (alias `invoke_tool`).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use boa_engine::object::builtins::JsFunction;
use boa_engine::object::ObjectInitializer;
use boa_engine::property::PropertyDescriptor;
use boa_engine::{
    js_string, Context, JsArgs, JsNativeError, JsObject, JsResult, JsString, JsValue,
    NativeFunction,
};
use llmspell_agents::Agent;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use super::{define, json_arg, string_arg, type_name};
use crate::error::{BridgeError, Result};
use crate::globals::AgentGlobal;
use crate::javascript::runtime::{with_state, EngineState, QueuedCall};

const ID: &str = "__llmspell_agent";

/// The agent object for `agent`.
fn agent_object(
    state: &EngineState,
    agent: Arc<dyn Agent>,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let id = state.keep_agent(agent);
    let obj = JsObject::with_object_proto(ctx.intrinsics());
    if let Some(p) = state.agent_proto.borrow().clone() {
        obj.set_prototype(Some(p));
    }
    #[allow(clippy::cast_precision_loss)]
    obj.define_property_or_throw(
        JsString::from(ID),
        PropertyDescriptor::builder()
            .value(JsValue::from(id as f64))
            .writable(false)
            .enumerable(false)
            .configurable(false),
        ctx,
    )?;
    Ok(obj.into())
}

/// The agent behind `this`.
fn this_agent(this: &JsValue, method: &str, ctx: &mut Context) -> JsResult<Arc<dyn Agent>> {
    let id = match this.as_object() {
        Some(o) => o.get(JsString::from(ID), ctx)?.as_number(),
        None => None,
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let agent = id.and_then(|id| {
        with_state(|s| s.agents.borrow().get(&(id as u64)).cloned())
            .ok()
            .flatten()
    });
    agent.ok_or_else(|| {
        JsNativeError::typ()
            .with_message(format!(
                "agent.{method}() must be called on an agent from Agent.create or Agent.get"
            ))
            .into()
    })
}

fn create(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let options = args.get_or_undefined(0);
    if !options
        .as_object()
        .is_some_and(|o| !o.is_array() && !o.is_callable())
    {
        return Err(JsNativeError::typ()
            .with_message(format!(
                "Agent.create: expected an options object {{name: ..., model: \"provider/model\"}}, got {}",
                type_name(options)
            ))
            .into());
    }
    let json = json_arg(options, ctx)?;
    with_state(|s| {
        let host = Arc::clone(&s.host);
        agent_promise(s, ctx, async move {
            AgentGlobal.create_from(&host, &json).await
        })
    })
}

/// A promise of an agent object: the op yields the agent, kept by id; the
/// object is made when the promise settles (through a `then`).
fn agent_promise(
    state: &Rc<EngineState>,
    ctx: &mut Context,
    fut: impl std::future::Future<Output = Result<Arc<dyn Agent>>> + 'static,
) -> JsValue {
    let st = Rc::clone(state);
    let promise = state.promise_op(ctx, async move {
        let agent = fut.await?;
        let id = st.keep_agent(agent);
        Ok(json!(id))
    });
    // `then(id => wrap(id))`: the object is built on the engine thread.
    let wrap = NativeFunction::from_fn_ptr(wrap_id).to_js_function(ctx.realm());
    promise
        .as_promise()
        .and_then(|p| p.then(Some(wrap), None, ctx).ok())
        .map_or(promise, JsValue::from)
}

fn wrap_id(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let id = args.get_or_undefined(0).as_number().unwrap_or(-1.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let agent = with_state(|s| s.agents.borrow_mut().remove(&(id as u64)))?;
    match agent {
        Some(a) => with_state(|s| agent_object(s, a, ctx))?,
        None => Ok(JsValue::null()),
    }
}

fn list(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let names = with_state(|s| AgentGlobal.list(&s.host))?;
    crate::javascript::convert::json_to_js(&json!(names), ctx)
        .map_err(|e| crate::javascript::runtime::js_error(&e))
}

fn get(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let name = string_arg(args.get_or_undefined(0), "Agent.get", "the agent name")?;
    with_state(|s| match AgentGlobal.get(&s.host, &name) {
        Some(a) => agent_object(s, a, ctx),
        None => Ok(JsValue::null()),
    })?
}

fn name(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    Ok(JsValue::from(JsString::from(
        this_agent(this, "name", ctx)?.name(),
    )))
}

fn state(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    Ok(JsValue::from(js_string!(this_agent(this, "state", ctx)?
        .state()
        .as_str())))
}

fn cancel(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    Ok(JsValue::from(this_agent(this, "cancel", ctx)?.cancel()))
}

fn invoke(this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let agent = this_agent(this, "invoke", ctx)?;
    let input = json_arg(args.get_or_undefined(0), ctx)?;
    with_state(|s| {
        let host = Arc::clone(&s.host);
        s.promise_op(ctx, async move {
            let input = AgentGlobal::input("agent.invoke", input)?;
            let out = agent
                .execute(input, &AgentGlobal::options(&host), None)
                .await
                .map_err(BridgeError::from)?;
            Ok(out.to_json())
        })
    })
}

fn stream(this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let agent = this_agent(this, "stream", ctx)?;
    let input = json_arg(args.get_or_undefined(0), ctx)?;
    let callback: Option<JsFunction> = args.get_or_undefined(1).as_function();
    with_state(|s| {
        let host = Arc::clone(&s.host);
        let st = Rc::clone(s);
        s.promise_op(ctx, async move {
            let input = AgentGlobal::input("agent.stream", input)?;
            let (tx, mut rx) = mpsc::unbounded_channel::<String>();
            let mut forward = move |chunk: &str| {
                let _ = tx.send(chunk.to_owned());
            };
            let opts = AgentGlobal::options(&host);
            let error: Rc<RefCell<Option<BridgeError>>> = Rc::new(RefCell::new(None));
            let queue = |chunk: String| {
                st.queue_call(QueuedCall {
                    func: callback.clone(),
                    arg: Value::String(chunk),
                    error: Rc::clone(&error),
                    done: None,
                });
            };
            let result = {
                let exec = agent.execute(input, &opts, Some(&mut forward));
                tokio::pin!(exec);
                loop {
                    tokio::select! {
                        biased;
                        Some(chunk) = rx.recv() => queue(chunk),
                        out = &mut exec => break out,
                    }
                    if error.borrow().is_some() {
                        // The script cannot take more: stop the model.
                        agent.cancel();
                    }
                }
            };
            while let Ok(chunk) = rx.try_recv() {
                queue(chunk);
            }
            // Every chunk's callback has run before the promise settles.
            let (done_tx, done_rx) = oneshot::channel();
            st.queue_call(QueuedCall {
                func: None,
                arg: Value::Null,
                error: Rc::clone(&error),
                done: Some(done_tx),
            });
            let _ = done_rx.await;
            if let Some(e) = error.borrow_mut().take() {
                return Err(e);
            }
            Ok(result.map_err(BridgeError::from)?.to_json())
        })
    })
}

fn lifecycle(this: &JsValue, ctx: &mut Context, which: &'static str) -> JsResult<JsValue> {
    let agent = this_agent(this, which, ctx)?;
    with_state(|s| {
        s.promise_op(ctx, async move {
            match which {
                "pause" => agent.pause().await,
                "resume" => agent.resume().await,
                _ => agent.terminate().await,
            }
            .map_err(BridgeError::from)?;
            Ok(json!(true))
        })
    })
}

fn pause(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    lifecycle(this, ctx, "pause")
}
fn resume(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    lifecycle(this, ctx, "resume")
}
fn terminate(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    lifecycle(this, ctx, "terminate")
}

fn invoke_tool(this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let agent = this_agent(this, "invokeTool", ctx)?;
    let tool = string_arg(
        args.get_or_undefined(0),
        "agent.invokeTool",
        "the tool name",
    )?;
    let params = match args.get_or_undefined(1) {
        v if v.is_null_or_undefined() => json!({}),
        v => json_arg(v, ctx)?,
    };
    with_state(|s| {
        let host = Arc::clone(&s.host);
        s.promise_op(ctx, async move {
            agent
                .invoke_tool(&tool, params, &AgentGlobal::options(&host))
                .await
                .map_err(BridgeError::from)
        })
    })
}

pub(super) fn inject(context: &mut Context, state: &Rc<EngineState>) -> Result<()> {
    let mut init = ObjectInitializer::new(context);
    for (n, f, arity) in [
        (
            "name",
            name as boa_engine::native_function::NativeFunctionPointer,
            0,
        ),
        ("state", state_fn_ptr(), 0),
        ("cancel", cancel, 0),
        ("invoke", invoke, 1),
        ("execute", invoke, 1),
        ("stream", stream, 2),
        ("pause", pause, 0),
        ("resume", resume, 0),
        ("terminate", terminate, 0),
        ("invokeTool", invoke_tool, 2),
        ("invoke_tool", invoke_tool, 2),
    ] {
        init.function(NativeFunction::from_fn_ptr(f), JsString::from(n), arity);
    }
    *state.agent_proto.borrow_mut() = Some(init.build());
    define(
        context,
        "Agent",
        &[("create", create, 1), ("list", list, 0), ("get", get, 1)],
    )?;
    Ok(())
}

fn state_fn_ptr() -> boa_engine::native_function::NativeFunctionPointer {
    state
}
