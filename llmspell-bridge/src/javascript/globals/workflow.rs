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
//! the workflow registered under it.
//!
//! JavaScript functions in a definition (`fn` steps, function conditions)
//! are refused with an error saying so: a step would have to call back
//! into this engine's thread from the run, which the JavaScript runtime
//! does not offer for workflows yet. Tool, agent and workflow steps and
//! every non-function condition work.

use std::sync::Arc;

use boa_engine::object::ObjectInitializer;
use boa_engine::property::Attribute;
use boa_engine::{
    Context, JsArgs, JsNativeError, JsResult, JsString, JsValue, NativeFunction, Source,
};
use llmspell_workflows::{Bindings, Pattern, Workflow};
use serde_json::{json, Value};

use super::{define, string_arg, type_name};
use crate::error::BridgeError;
use crate::globals::{WorkflowDraft, WorkflowGlobal};
use crate::javascript::convert::{js_to_json, json_to_js};
use crate::javascript::runtime::{js_error, with_state};

/// The key that marks a workflow object (its value: the name).
const MARK: &str = "__llmspell_workflow";

/// The JSON form of a definition part: functions refused with a message
/// about workflows, workflow objects replaced by their names.
fn definition_json(v: &JsValue, function: &str, ctx: &mut Context) -> JsResult<Value> {
    let json = js_to_json(v, ctx).map_err(|e| {
        let text = e.to_string();
        if text.contains("a function has no JSON form") {
            JsNativeError::typ()
                .with_message(format!(
                    "{function}: JavaScript functions (`fn` steps, function conditions) are not supported in workflows defined from JavaScript ({text}); use tool, agent or workflow steps and expression or tool conditions, or define the workflow in Lua"
                ))
                .into()
        } else {
            js_error(&e)
        }
    })?;
    Ok(unmark(json))
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
    let json = definition_json(def, function, ctx)?;
    let wf = with_state(|s| WorkflowGlobal.create(&s.host, pattern, &json, &Bindings::new()))?
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

/// The native end of `Workflow.builder()`: replays the recorded calls
/// `[[method, [args...]], ...]` on a draft and builds it.
fn build(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let calls = definition_json(args.get_or_undefined(0), "Workflow.builder", ctx)?;
    let mut draft = WorkflowDraft::new();
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
        v => definition_json(v, "workflow.execute", ctx)?,
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

/// The builder: a JavaScript object that records its calls and hands them
/// to [`build`]; every method but `build` returns the builder.
const BUILDER: &str = r#"(function (build) {
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
            value: function (...args) { this.__calls.push([m, args]); return this; },
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

pub(super) fn inject(context: &mut Context) -> crate::error::Result<()> {
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
    let builder = factory
        .as_callable()
        .ok_or_else(|| BridgeError::Setup("Workflow.builder: factory is not a function".into()))?
        .call(&JsValue::undefined(), &[native.into()], context)
        .map_err(setup)?;
    workflow
        .set(JsString::from("builder"), builder, false, context)
        .map_err(setup)?;
    Ok(())
}
