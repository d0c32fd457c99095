//! `Workflow` in Lua: definition tables with Lua functions and workflow
//! objects in them, the workflow userdata, and Lua functions as
//! [`ScriptFunction`]s.

use crate::lua::limits::CallKind;
use std::fmt;

use async_trait::async_trait;
use llmspell_workflows::{
    Bindings, BoxError, FunctionCall, FunctionReturn, Pattern, ScriptFunction, Workflow,
};
use mlua::{AnyUserData, Function, Lua, UserData, UserDataFields, UserDataMethods, Value};

use super::define;
use crate::error::{BridgeError, Result};
use crate::globals::{WorkflowDraft, WorkflowGlobal};
use crate::lua::convert::{json_to_lua, lua_to_json, MAX_DEPTH};
use crate::lua::engine::WeakEngine;
use crate::lua::{engine_of, LuaEngine};

/// A workflow object in Lua.
#[derive(Debug, Clone)]
struct LuaWorkflow(Workflow);

impl UserData for LuaWorkflow {
    /// The fields rs-llmspell scripts read: `wf.id` (the name workflows are
    /// registered and resumed under), `wf.name`, `wf.type` (the pattern).
    /// `wf:name()` keeps working: see [`install_name_call`].
    fn add_fields<F: UserDataFields<Self>>(fields: &mut F) {
        fields.add_field_method_get("id", |_, this| Ok(this.0.name().to_owned()));
        fields.add_field_method_get("name", |_, this| Ok(this.0.name().to_owned()));
        fields.add_field_method_get("type", |_, this| Ok(this.0.pattern().as_str()));
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_async_method("execute", |lua, this, input: Value| {
            // Clone out of the userdata: the run calls back into Lua.
            let wf = this.0.clone();
            drop(this);
            async move {
                let engine = engine_of(&lua)?;
                let input = lua_to_json(&lua, &input)?;
                let out = engine
                    .wait_pumping(WorkflowGlobal.execute(engine.host(), &wf, input))
                    .await?;
                Ok(json_to_lua(&lua, &out)?)
            }
        });
        methods.add_method("get_info", |lua, this, ()| {
            let t = lua.create_table()?;
            t.set("id", this.0.name())?;
            t.set("name", this.0.name())?;
            t.set("type", this.0.pattern().as_str())?;
            t.set("description", this.0.description())?;
            Ok(t)
        });
        methods.add_method("pattern", |_, this, ()| Ok(this.0.pattern().as_str()));
        methods.add_method("description", |_, this, ()| {
            Ok(this.0.description().map(str::to_owned))
        });
        methods.add_method("steps", |_, this, ()| Ok(this.0.step_names()));
        methods.add_method("fingerprint", |_, this, ()| {
            Ok(this.0.fingerprint().to_owned())
        });
        methods.add_meta_method("__tostring", |_, this, ()| {
            Ok(format!("Workflow({}, {})", this.0.name(), this.0.pattern()))
        });
    }
}

/// A Lua function as a step or condition function:
/// `fn(input, state, ctx) -> output`. Changes the function makes to the
/// `state` table are written back.
struct LuaFunction {
    engine: WeakEngine,
    func: Function,
    what: String,
}

impl fmt::Debug for LuaFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LuaFunction")
            .field("what", &self.what)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl ScriptFunction for LuaFunction {
    async fn call(&self, call: FunctionCall) -> std::result::Result<FunctionReturn, BoxError> {
        let engine = self
            .engine
            .upgrade()
            .ok_or("the Lua engine that defined this function no longer exists")?;
        let lua = engine.lua();
        let input = json_to_lua(lua, &call.input)?;
        let state = lua.create_table_with_capacity(0, call.state.len())?;
        for (k, v) in &call.state {
            state.raw_set(k.as_str(), json_to_lua(lua, v)?)?;
        }
        let context = json_to_lua(lua, &call.context)?;
        let limit = engine.config().script_timeout;
        let out: Value = engine
            .call(
                self.func.clone(),
                (input, state.clone(), context),
                limit,
                CallKind::Script,
                &self.what,
            )
            .await
            .map_err(|e| match e {
                // The step record says which step failed; keep the message
                // and leave the Lua traceback out of the result.
                BridgeError::Script { message, .. } => message
                    .split("\nstack traceback:")
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                other => other.to_string(),
            })?;
        let output = lua_to_json(lua, &out)?;
        Ok(match lua_to_json(lua, &Value::Table(state))? {
            serde_json::Value::Object(state) => FunctionReturn::with_state(output, state),
            _ => FunctionReturn::output(output),
        })
    }
}

/// Copies `value`, replacing functions and workflow objects by the markers
/// of the functions and workflows added to `bindings`, and agent objects by
/// their names.
fn mark(
    lua: &Lua,
    engine: &LuaEngine,
    value: Value,
    bindings: &mut Bindings,
    path: &mut Vec<String>,
    stack: &mut Vec<*const std::ffi::c_void>,
) -> mlua::Result<Value> {
    match value {
        Value::Function(func) => {
            let what = format!("workflow function {}", path.join("."));
            let marker = bindings.function(LuaFunction {
                engine: engine.downgrade(),
                func,
                what,
            });
            Ok(json_to_lua(lua, &marker)?)
        }
        Value::UserData(ud) => {
            if let Ok(wf) = ud.borrow::<LuaWorkflow>() {
                let marker = bindings.workflow(&wf.0);
                return Ok(json_to_lua(lua, &marker)?);
            }
            // `agent = <agent object>` (as rs-llmspell scripts write it)
            // names the agent.
            if let Ok(agent) = ud.borrow::<super::agent::LuaAgent>() {
                return Ok(Value::String(lua.create_string(agent.0.name())?));
            }
            Ok(Value::UserData(ud))
        }
        Value::Table(t) => {
            let ptr = t.to_pointer();
            // A cycle or a too deep tree: leave it for the JSON conversion,
            // which refuses it with its path.
            if stack.contains(&ptr) || stack.len() >= MAX_DEPTH {
                return Ok(Value::Table(t));
            }
            stack.push(ptr);
            let out = lua.create_table()?;
            if let Some(mt) = t.metatable() {
                out.set_metatable(Some(mt))?;
            }
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair?;
                path.push(match &k {
                    Value::String(s) => s.to_string_lossy(),
                    Value::Integer(i) => i.to_string(),
                    other => other.type_name().to_owned(),
                });
                let v = mark(lua, engine, v, bindings, path, stack)?;
                path.pop();
                out.raw_set(k, v)?;
            }
            stack.pop();
            Ok(Value::Table(out))
        }
        other => Ok(other),
    }
}

fn create(
    lua: &Lua,
    function: &str,
    pattern: Option<Pattern>,
    def: Value,
) -> mlua::Result<LuaWorkflow> {
    let Value::Table(def) = def else {
        return Err(BridgeError::invalid(
            function,
            format!("expects a definition table, not {}", def.type_name()),
        )
        .into());
    };
    let engine = engine_of(lua)?;
    let mut bindings = Bindings::new();
    let marked = mark(
        lua,
        &engine,
        Value::Table(def),
        &mut bindings,
        &mut Vec::new(),
        &mut Vec::new(),
    )?;
    let json = lua_to_json(lua, &marked)?;
    Ok(LuaWorkflow(WorkflowGlobal.create(
        engine.host(),
        pattern,
        &json,
        &bindings,
    )?))
}

/// `Workflow.builder()`: a chain of calls that fill a [`WorkflowDraft`];
/// every method but `build` returns the builder itself.
#[derive(Debug, Default)]
struct LuaWorkflowBuilder(WorkflowDraft);

/// Converts a step table (or condition) the way definition tables are
/// converted: functions and workflow objects become markers in the
/// draft's bindings.
fn convert(
    lua: &Lua,
    draft: &mut WorkflowDraft,
    value: Value,
    what: &str,
) -> mlua::Result<serde_json::Value> {
    let engine = engine_of(lua)?;
    let mut path = vec![what.to_owned()];
    let marked = mark(
        lua,
        &engine,
        value,
        &mut draft.bindings,
        &mut path,
        &mut Vec::new(),
    )?;
    Ok(lua_to_json(lua, &marked)?)
}

/// A builder method that changes the draft and returns the builder.
fn chain<M, A>(
    methods: &mut M,
    name: &'static str,
    f: fn(&Lua, &mut WorkflowDraft, A) -> mlua::Result<()>,
) where
    M: UserDataMethods<LuaWorkflowBuilder>,
    A: mlua::FromLuaMulti + 'static,
{
    methods.add_function(name, move |lua, (ud, args): (AnyUserData, A)| {
        {
            let mut this = ud.borrow_mut::<LuaWorkflowBuilder>()?;
            f(lua, &mut this.0, args)?;
        }
        Ok(ud)
    });
}

impl UserData for LuaWorkflowBuilder {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        chain(methods, "sequential", |_, d, ()| {
            d.pattern(Pattern::Sequential);
            Ok(())
        });
        chain(methods, "parallel", |_, d, ()| {
            d.pattern(Pattern::Parallel);
            Ok(())
        });
        chain(methods, "conditional", |_, d, ()| {
            d.pattern(Pattern::Conditional);
            Ok(())
        });
        chain(methods, "loop", |_, d, ()| {
            d.pattern(Pattern::Loop);
            Ok(())
        });
        chain(methods, "loop_workflow", |_, d, ()| {
            d.pattern(Pattern::Loop);
            Ok(())
        });
        chain(methods, "name", |_, d, name: String| {
            d.name(name);
            Ok(())
        });
        chain(methods, "description", |_, d, text: String| {
            d.description(text);
            Ok(())
        });
        chain(methods, "add_step", |lua, d, step: Value| {
            let step = convert(lua, d, step, "add_step")?;
            Ok(d.add_step(step)?)
        });
        chain(methods, "add_then_step", |lua, d, step: Value| {
            let step = convert(lua, d, step, "add_then_step")?;
            Ok(d.add_then_step(step)?)
        });
        chain(methods, "add_else_step", |lua, d, step: Value| {
            let step = convert(lua, d, step, "add_else_step")?;
            Ok(d.add_else_step(step)?)
        });
        chain(methods, "condition", |lua, d, c: Value| {
            let c = convert(lua, d, c, "condition")?;
            d.condition(c);
            Ok(())
        });
        chain(
            methods,
            "add_branch",
            |lua, d, (c, steps): (Value, Value)| {
                let c = convert(lua, d, c, "add_branch")?;
                let steps = convert(lua, d, steps, "add_branch")?;
                Ok(d.add_branch(c, steps)?)
            },
        );
        chain(methods, "with_range", |lua, d, r: Value| {
            let r = convert(lua, d, r, "with_range")?;
            d.iterator("range", r);
            Ok(())
        });
        chain(methods, "with_collection", |lua, d, c: Value| {
            let c = convert(lua, d, c, "with_collection")?;
            d.iterator("collection", c);
            Ok(())
        });
        chain(methods, "with_while", |lua, d, c: Value| {
            let c = convert(lua, d, c, "with_while")?;
            d.iterator("while_condition", c);
            Ok(())
        });
        chain(methods, "loop_condition", |lua, d, c: Value| {
            let c = convert(lua, d, c, "loop_condition")?;
            d.iterator("while_condition", c);
            Ok(())
        });
        chain(methods, "break_condition", |lua, d, c: Value| {
            let c = convert(lua, d, c, "break_condition")?;
            d.option("break_condition", "break_condition", c);
            Ok(())
        });
        chain(methods, "max_iterations", |lua, d, n: Value| {
            let n = lua_to_json(lua, &n)?;
            d.option("max_iterations", "max_iterations", n);
            Ok(())
        });
        chain(methods, "max_concurrency", |lua, d, n: Value| {
            let n = lua_to_json(lua, &n)?;
            d.option("max_concurrency", "max_concurrency", n);
            Ok(())
        });
        chain(methods, "join", |lua, d, j: Value| {
            let j = lua_to_json(lua, &j)?;
            d.option("join", "join", j);
            Ok(())
        });
        chain(methods, "fail_fast", |lua, d, b: Value| {
            let b = lua_to_json(lua, &b)?;
            d.option("fail_fast", "fail_fast", b);
            Ok(())
        });
        chain(methods, "mode", |lua, d, m: Value| {
            let m = lua_to_json(lua, &m)?;
            d.option("mode", "mode", m);
            Ok(())
        });
        chain(methods, "aggregation_strategy", |lua, d, s: Value| {
            let s = lua_to_json(lua, &s)?;
            d.option("aggregation_strategy", "aggregation_strategy", s);
            Ok(())
        });
        chain(methods, "error_strategy", |_, d, s: String| {
            Ok(d.error_strategy(&s)?)
        });
        methods.add_method("build", |lua, this, ()| {
            let engine = engine_of(lua)?;
            Ok(LuaWorkflow(WorkflowGlobal.build(engine.host(), &this.0)?))
        });
        methods.add_meta_method("__tostring", |_, _, ()| Ok("WorkflowBuilder"));
    }
}

/// Lets `wf:name()` go on working now that `wf.name` is a field (a
/// string): strings get a `__call` metamethod that, called with a workflow
/// object whose name is that string (which is what `wf:name()` does),
/// returns the string. Any other call of a string raises the error Lua
/// raises without it.
fn install_name_call(lua: &Lua) -> mlua::Result<()> {
    let Some(mt) = lua.type_metatable::<mlua::LuaString>() else {
        return Ok(());
    };
    mt.raw_set(
        "__call",
        lua.create_function(|_, (s, recv): (mlua::LuaString, Value)| {
            if let Value::UserData(ud) = &recv {
                if let Ok(wf) = ud.borrow::<LuaWorkflow>() {
                    if s.as_bytes() == wf.0.name().as_bytes() {
                        return Ok(s);
                    }
                }
            }
            Err(mlua::Error::runtime("attempt to call a string value"))
        })?,
    )
}

pub(super) fn inject(lua: &Lua, global: WorkflowGlobal) -> Result<()> {
    install_name_call(lua)?;
    define(lua, "Workflow", |t| {
        t.set(
            "builder",
            lua.create_function(|_, ()| Ok(LuaWorkflowBuilder(WorkflowDraft::new())))?,
        )?;
        for (name, pattern) in [
            ("sequential", Some(Pattern::Sequential)),
            ("conditional", Some(Pattern::Conditional)),
            ("loop", Some(Pattern::Loop)),
            ("parallel", Some(Pattern::Parallel)),
            ("create", None),
        ] {
            let function = format!("Workflow.{name}");
            t.set(
                name,
                lua.create_function(move |lua, def: Value| create(lua, &function, pattern, def))?,
            )?;
        }
        t.set(
            "resume",
            lua.create_async_function(move |lua, id: String| async move {
                let engine = engine_of(&lua)?;
                let out = engine
                    .wait_pumping(global.resume(engine.host(), &id))
                    .await?;
                Ok(json_to_lua(&lua, &out)?)
            })?,
        )?;
        t.set(
            "runs",
            lua.create_async_function(move |lua, ()| async move {
                let engine = engine_of(&lua)?;
                let out = global.runs(engine.host()).await?;
                Ok(json_to_lua(&lua, &out)?)
            })?,
        )?;
        t.set(
            "get",
            lua.create_function(move |lua, name: String| {
                let engine = engine_of(lua)?;
                Ok(global.get(engine.host(), &name).map(LuaWorkflow))
            })?,
        )?;
        t.set(
            "list",
            lua.create_function(move |lua, ()| {
                let engine = engine_of(lua)?;
                Ok(global.list(engine.host()))
            })?,
        )?;
        Ok(())
    })
}
