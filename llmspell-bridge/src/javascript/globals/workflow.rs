//! `Workflow` in JavaScript: `Workflow.sequential(def)`,
//! `conditional`, `loop`, `parallel`, `create` → a workflow object;
//! `wf.execute(input?)` → a promise of the result; `Workflow.builder()`
//! (the same chain as Lua's, camelCase aliases too); `Workflow.resume(id)`
//! and `Workflow.runs()` → promises; `Workflow.get(name)`,
//! `Workflow.list()`.
//!
//! A workflow object has the data properties `id`, `name`, `type`,
//! `description` and an enumerable `__llmspell_workflow` holding its name:
//! when an object carrying it is converted as part of a definition
//! (`{workflow: wf}`) it becomes that name, which the runtime resolves to
//! the workflow registered under it. An agent object (`{agent: writer}`)
//! becomes the agent's name.
//!
//! JavaScript functions in a definition (`fn` steps, function conditions)
//! become [`JsStepFunction`]s, as Lua functions do: the run calls them as
//! `fn(input, state, ctx)` on this engine's thread (a request like a hook
//! call), awaits a returned promise, and writes back the state object as
//! the function left it.

use std::sync::Arc;

use boa_engine::object::builtins::JsFunction;
use boa_engine::object::ObjectInitializer;
use boa_engine::property::Attribute;
use boa_engine::{
    Context, JsArgs, JsNativeError, JsObject, JsResult, JsString, JsValue, NativeFunction, Source,
};
use llmspell_workflows::{Bindings, Pattern, Workflow, FUNCTION_MARKER};
use serde_json::{json, Value};

use super::{define, string_arg, type_name};
use crate::error::{BridgeError, Result};
use crate::globals::{WorkflowDraft, WorkflowGlobal};
use crate::javascript::convert::{js_to_json, js_to_json_with, json_to_js};
use crate::javascript::runtime::{js_error, with_state};
use crate::javascript::script_hook::JsStepFunction;

/// The key that marks a workflow object (its value: the name).
const MARK: &str = "__llmspell_workflow";

/// The hidden key of an agent object (see `agent.rs`).
const AGENT: &str = "__llmspell_agent";

/// The JSON form of a definition part: functions kept as workflow
/// functions in `bindings` and replaced by their markers (with no
/// `bindings`, by a placeholder marker: a check of the shape only), agent
/// objects by their names, workflow objects by their names.
fn definition_json(
    v: &JsValue,
    mut bindings: Option<&mut Bindings>,
    ctx: &mut Context,
) -> JsResult<Value> {
    let mut special = |obj: &JsObject, path: &str, ctx: &mut Context| -> Result<Option<Value>> {
        if let Some(func) = JsFunction::from_object(obj.clone()) {
            let Some(bindings) = bindings.as_deref_mut() else {
                return Ok(Some(json!({ FUNCTION_MARKER: 0 })));
            };
            let what = format!("workflow function {path}");
            let f = with_state(|s| {
                let fn_id = s.keep_hook_fn(func);
                JsStepFunction::new(s.shared.clone(), fn_id, what, s.config.script_timeout())
            })
            .map_err(|e| BridgeError::Setup(e.to_string()))?;
            return Ok(Some(bindings.function(f)));
        }
        agent_name(obj, ctx).map(|n| n.map(Value::String))
    };
    let json = js_to_json_with(v, ctx, &mut special).map_err(|e| js_error(&e))?;
    Ok(unmark(json))
}

/// The name of the agent behind `obj`, if it is an agent object.
fn agent_name(obj: &JsObject, ctx: &mut Context) -> Result<Option<String>> {
    let key = JsString::from(AGENT);
    if !obj.has_own_property(key.clone(), ctx).unwrap_or(false) {
        return Ok(None);
    }
    let id = obj
        .get(key, ctx)
        .map_err(|e| BridgeError::Setup(e.to_string()))?
        .as_number();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let name = id.and_then(|id| {
        with_state(|s| {
            s.agents
                .borrow()
                .get(&(id as u64))
                .map(|a| a.name().to_owned())
        })
        .ok()
        .flatten()
    });
    Ok(name)
}

fn unmark(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(name)) = m.get(MARK) {
                return Value::String(name.clone());
            }
            Value::Object(m.into_iter().map(|(k, v)| (k, unmark(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(unmark).collect()),
        other => other,
    }
}

/// The object for `wf`.
fn workflow_object(wf: &Workflow, ctx: &mut Context) -> JsValue {
    let mut init = ObjectInitializer::new(ctx);
    let data = Attribute::READONLY | Attribute::ENUMERABLE;
    init.property(JsString::from(MARK), JsString::from(wf.name()), data)
        .property(JsString::from("id"), JsString::from(wf.name()), data)
        .property(JsString::from("name"), JsString::from(wf.name()), data)
        .property(
            JsString::from("type"),
            JsString::from(wf.pattern().as_str()),
            data,
        )
        .property(
            JsString::from("description"),
            wf.description()
                .map_or(JsValue::null(), |d| JsString::from(d).into()),
            data,
        );
    for (n, f, arity) in [
        (
            "execute",
            execute as boa_engine::native_function::NativeFunctionPointer,
            1,
        ),
        ("pattern", pattern, 0),
        ("steps", steps, 0),
        ("fingerprint", fingerprint, 0),
        ("getInfo", get_info, 0),
        ("get_info", get_info, 0),
        ("toString", to_string, 0),
    ] {
        init.function(NativeFunction::from_fn_ptr(f), JsString::from(n), arity);
    }
    init.build().into()
}

/// The workflow behind `this`.
fn this_workflow(this: &JsValue, method: &str, ctx: &mut Context) -> JsResult<Workflow> {
    let name = match this.as_object() {
        Some(o) => o
            .get(JsString::from(MARK), ctx)?
            .as_string()
            .map(|s| s.to_std_string_lossy()),
        None => None,
    };
    let wf = name.and_then(|n| {
        with_state(|s| WorkflowGlobal.get(&s.host, &n))
            .ok()
            .flatten()
    });
    wf.ok_or_else(|| {
        JsNativeError::typ()
            .with_message(format!(
                "workflow.{method}() must be called on a workflow from Workflow.sequential, ..., Workflow.builder() or Workflow.get"
            ))
            .into()
    })
}

fn create_as(
    pattern: Option<Pattern>,
    function: &str,
    args: &[JsValue],
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let def = args.get_or_undefined(0);
    if !def
        .as_object()
        .is_some_and(|o| !o.is_array() && !o.is_callable())
    {
        return Err(JsNativeError::typ()
            .with_message(format!(
                "{function}: expected a definition object {{name: ..., steps: [...]}}, got {}",
                type_name(def)
            ))
            .into());
    }
    let mut bindings = Bindings::new();
    let json = definition_json(def, Some(&mut bindings), ctx)?;
    let wf = with_state(|s| WorkflowGlobal.create(&s.host, pattern, &json, &bindings))?
        .map_err(|e| js_error(&e))?;
    Ok(workflow_object(&wf, ctx))
}

fn sequential(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    create_as(Some(Pattern::Sequential), "Workflow.sequential", args, ctx)
}
fn conditional(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    create_as(
        Some(Pattern::Conditional),
        "Workflow.conditional",
        args,
        ctx,
    )
}
fn loop_fn(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    create_as(Some(Pattern::Loop), "Workflow.loop", args, ctx)
}
fn parallel(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    create_as(Some(Pattern::Parallel), "Workflow.parallel", args, ctx)
}
fn create(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    create_as(None, "Workflow.create", args, ctx)
}

/// Checks one builder call when it is made (the errors Lua's builder
/// raises at the call): `check(method, args)` applies it to an empty draft.
fn check(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let method = string_arg(args.get_or_undefined(0), "Workflow.builder", "the method")?;
    let args = match definition_json(args.get_or_undefined(1), None, ctx)? {
        Value::Array(a) => a,
        _ => Vec::new(),
    };
    WorkflowDraft::new()
        .apply(&method, args)
        .map_err(|e| js_error(&e))?;
    Ok(JsValue::undefined())
}

/// The native end of `Workflow.builder()`: replays the recorded calls
/// `[[method, [args...]], ...]` on a draft and builds it.
fn build(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let mut draft = WorkflowDraft::new();
    let calls = definition_json(args.get_or_undefined(0), Some(&mut draft.bindings), ctx)?;
    for call in calls.as_array().into_iter().flatten() {
        let method = call[0].as_str().unwrap_or_default().to_owned();
        let args = match &call[1] {
            Value::Array(a) => a.clone(),
            _ => Vec::new(),
        };
        draft.apply(&method, args).map_err(|e| js_error(&e))?;
    }
    let wf = with_state(|s| WorkflowGlobal.build(&s.host, &draft))?.map_err(|e| js_error(&e))?;
    Ok(workflow_object(&wf, ctx))
}

fn execute(this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let wf = this_workflow(this, "execute", ctx)?;
    let input = match args.get_or_undefined(0) {
        v if v.is_null_or_undefined() => json!({}),
        v => js_to_json(v, ctx).map_err(|e| js_error(&e))?,
    };
    with_state(|s| {
        let host = Arc::clone(&s.host);
        s.promise_op(ctx, async move {
            WorkflowGlobal.execute(&host, &wf, input).await
        })
    })
}

fn pattern(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let wf = this_workflow(this, "pattern", ctx)?;
    Ok(JsString::from(wf.pattern().as_str()).into())
}

fn steps(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let wf = this_workflow(this, "steps", ctx)?;
    json_to_js(&json!(wf.step_names()), ctx).map_err(|e| js_error(&e))
}

fn fingerprint(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let wf = this_workflow(this, "fingerprint", ctx)?;
    Ok(JsString::from(wf.fingerprint()).into())
}

fn get_info(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let wf = this_workflow(this, "getInfo", ctx)?;
    let info = json!({
        "id": wf.name(),
        "name": wf.name(),
        "type": wf.pattern().as_str(),
        "description": wf.description(),
    });
    json_to_js(&info, ctx).map_err(|e| js_error(&e))
}

fn to_string(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let wf = this_workflow(this, "toString", ctx)?;
    Ok(JsString::from(format!("Workflow({}, {})", wf.name(), wf.pattern())).into())
}

fn resume(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let id = string_arg(args.get_or_undefined(0), "Workflow.resume", "the run id")?;
    with_state(|s| {
        let host = Arc::clone(&s.host);
        s.promise_op(ctx, async move { WorkflowGlobal.resume(&host, &id).await })
    })
}

fn runs(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    with_state(|s| {
        let host = Arc::clone(&s.host);
        s.promise_op(ctx, async move { WorkflowGlobal.runs(&host).await })
    })
}

fn get(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let name = string_arg(
        args.get_or_undefined(0),
        "Workflow.get",
        "the workflow name",
    )?;
    match with_state(|s| WorkflowGlobal.get(&s.host, &name))? {
        Some(wf) => Ok(workflow_object(&wf, ctx)),
        None => Ok(JsValue::null()),
    }
}

fn list(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let names = with_state(|s| WorkflowGlobal.list(&s.host))?;
    json_to_js(&json!(names), ctx).map_err(|e| js_error(&e))
}

/// The builder: a JavaScript object that records its calls (each checked
/// by [`check`] when made) and hands them to [`build`]; every method but
/// `build` returns the builder.
const BUILDER: &str = r#"(function (build, check) {
    const methods = ["name", "description", "sequential", "parallel", "conditional", "loop",
        "loop_workflow", "loopWorkflow", "add_step", "addStep", "add_then_step", "addThenStep",
        "add_else_step", "addElseStep", "condition", "add_branch", "addBranch", "with_range",
        "withRange", "with_collection", "withCollection", "with_while", "withWhile",
        "loop_condition", "loopCondition", "break_condition", "breakCondition", "max_iterations",
        "maxIterations", "max_concurrency", "maxConcurrency", "join", "fail_fast", "failFast",
        "mode", "aggregation_strategy", "aggregationStrategy", "error_strategy", "errorStrategy"];
    function WorkflowBuilder() {
        Object.defineProperty(this, "__calls", { value: [] });
    }
    for (const m of methods) {
        Object.defineProperty(WorkflowBuilder.prototype, m, {
            value: function (...args) { check(m, args); this.__calls.push([m, args]); return this; },
        });
    }
    Object.defineProperty(WorkflowBuilder.prototype, "build", {
        value: function () { return build(this.__calls); },
    });
    Object.defineProperty(WorkflowBuilder.prototype, "toString", {
        value: function () { return "WorkflowBuilder"; },
    });
    return function builder() { return new WorkflowBuilder(); };
})"#;

pub(super) fn inject(context: &mut Context) -> Result<()> {
    let setup = |e: boa_engine::JsError| BridgeError::Setup(format!("Workflow.builder: {e}"));
    let workflow = define(
        context,
        "Workflow",
        &[
            ("sequential", sequential, 1),
            ("conditional", conditional, 1),
            ("loop", loop_fn, 1),
            ("parallel", parallel, 1),
            ("create", create, 1),
            ("resume", resume, 1),
            ("runs", runs, 0),
            ("get", get, 1),
            ("list", list, 0),
        ],
    )?;
    let factory = context.eval(Source::from_bytes(BUILDER)).map_err(setup)?;
    let native = NativeFunction::from_fn_ptr(build).to_js_function(context.realm());
    let checker = NativeFunction::from_fn_ptr(check).to_js_function(context.realm());
    let builder = factory
        .as_callable()
        .ok_or_else(|| BridgeError::Setup("Workflow.builder: factory is not a function".into()))?
        .call(
            &JsValue::undefined(),
            &[native.into(), checker.into()],
            context,
        )
        .map_err(setup)?;
    workflow
        .set(JsString::from("builder"), builder, false, context)
        .map_err(setup)?;
    Ok(())
}
