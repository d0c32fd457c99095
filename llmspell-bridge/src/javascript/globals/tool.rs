//! `Tool` in JavaScript.
//!
//! `Tool.invoke` and `tool.execute` resolve to the tool's result with
//! rs-llmspell's view (as in Lua): `result.text` (the JSON text of
//! `{"success": true, "result": <the result>}`) and `result.success`
//! (`true`) answer when the result has no such field of its own. Both are
//! non-enumerable, so `Object.keys`, `for...in` and `JSON.stringify` see
//! only the tool's fields.

use std::sync::Arc;

use super::{define, json_arg, string_arg};
use crate::error::Result;
use crate::globals::ToolGlobal;
use crate::javascript::convert::{js_to_json, json_to_js};
use crate::javascript::runtime::{js_error, with_state};
use boa_engine::property::PropertyDescriptor;
use boa_engine::{
    js_string, Context, JsArgs, JsNativeError, JsResult, JsString, JsValue, NativeFunction,
};

/// `result.text`: the JSON text of `{"success": true, "result": this}`.
fn result_text(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let result = js_to_json(this, ctx).map_err(|e| js_error(&e))?;
    let text = serde_json::json!({ "success": true, "result": result });
    Ok(JsString::from(text.to_string()).into())
}

/// Gives an object result the non-enumerable `text` getter and `success`
/// of rs-llmspell's view where it has no such field of its own (the `then`
/// of the call's promise; other values pass unchanged).
fn result_view(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let value = args.get_or_undefined(0).clone();
    if let Some(o) = value.as_object().filter(|o| !o.is_callable()) {
        if !o.has_own_property(js_string!("text"), ctx)? {
            let getter = NativeFunction::from_fn_ptr(result_text).to_js_function(ctx.realm());
            o.define_property_or_throw(
                js_string!("text"),
                PropertyDescriptor::builder()
                    .get(getter)
                    .enumerable(false)
                    .configurable(true),
                ctx,
            )?;
        }
        if !o.has_own_property(js_string!("success"), ctx)? {
            o.define_property_or_throw(
                js_string!("success"),
                PropertyDescriptor::builder()
                    .value(true)
                    .writable(true)
                    .enumerable(false)
                    .configurable(true),
                ctx,
            )?;
        }
    }
    Ok(value)
}

/// `promise.then(result_view)`.
fn with_view(promise: JsValue, ctx: &mut Context) -> JsValue {
    let view = NativeFunction::from_fn_ptr(result_view).to_js_function(ctx.realm());
    promise
        .as_promise()
        .and_then(|p| p.then(Some(view), None, ctx).ok())
        .map_or(promise, JsValue::from)
}

/// `Tool.invoke(name, params, opts?)` → a promise of the result (with
/// rs-llmspell's view, see the module docs).
fn invoke(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let name = string_arg(args.get_or_undefined(0), "Tool.invoke", "the tool name")?;
    let params = json_arg(args.get_or_undefined(1), ctx)?;
    let opts = json_arg(args.get_or_undefined(2), ctx)?;
    call_with_view(name, params, opts, ctx)
}

/// The call `Tool.invoke` and `tool.execute` make: a promise of the tool's
/// result with rs-llmspell's view.
fn call_with_view(
    name: String,
    params: serde_json::Value,
    opts: serde_json::Value,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let promise = with_state(|s| {
        let host = Arc::clone(&s.host);
        s.promise_op(ctx, async move {
            ToolGlobal.invoke(&host, &name, params, &opts).await
        })
    })?;
    Ok(with_view(promise, ctx))
}

/// `Tool.try(name, params, opts?)` → a promise of `{success, result}` or
/// `{success: false, error}`; it rejects only for bad options.
fn try_invoke(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let name = string_arg(args.get_or_undefined(0), "Tool.try", "the tool name")?;
    let params = json_arg(args.get_or_undefined(1), ctx)?;
    let opts = json_arg(args.get_or_undefined(2), ctx)?;
    with_state(|s| {
        let host = Arc::clone(&s.host);
        s.promise_op(ctx, async move {
            ToolGlobal.try_invoke(&host, &name, params, &opts).await
        })
    })
}

/// `tool.execute(params, opts?)` on an object from `Tool.get`: a promise
/// of the result, as `Tool.invoke(tool.name, params, opts?)`.
fn execute(this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let name = match this.as_object() {
        Some(o) => o.get(JsString::from("name"), ctx)?,
        None => JsValue::undefined(),
    };
    let Some(name) = name.as_string().map(|n| n.to_std_string_lossy()) else {
        return Err(JsNativeError::typ()
            .with_message("tool.execute() must be called on a tool from Tool.get")
            .into());
    };
    let params = json_arg(args.get_or_undefined(0), ctx)?;
    let opts = json_arg(args.get_or_undefined(1), ctx)?;
    call_with_view(name, params, opts, ctx)
}

/// `Tool.exists(name)` → boolean.
fn exists(_: &JsValue, args: &[JsValue], _ctx: &mut Context) -> JsResult<JsValue> {
    let name = string_arg(args.get_or_undefined(0), "Tool.exists", "the tool name")?;
    Ok(JsValue::from(with_state(|s| {
        ToolGlobal.exists(&s.host, &name)
    })?))
}

/// `Tool.categories()` → array of category names.
fn categories(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let out = with_state(|s| ToolGlobal.categories(&s.host))?;
    json_to_js(&out, ctx).map_err(|e| js_error(&e))
}

/// `Tool.list(category?)`.
fn list(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let category = match args.get_or_undefined(0) {
        v if v.is_null_or_undefined() => None,
        v => Some(string_arg(v, "Tool.list", "the category")?),
    };
    let out = with_state(|s| ToolGlobal.list(&s.host, category.as_deref()))?;
    json_to_js(&out, ctx).map_err(|e| js_error(&e))
}

/// `Tool.get(name)` → the tool's metadata with an `execute` method, or
/// `null`.
fn get(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let name = string_arg(args.get_or_undefined(0), "Tool.get", "the tool name")?;
    match with_state(|s| ToolGlobal.get(&s.host, &name))? {
        Some(m) => {
            let value = json_to_js(&m, ctx).map_err(|e| js_error(&e))?;
            if let Some(object) = value.as_object() {
                let f = NativeFunction::from_fn_ptr(execute).to_js_function(ctx.realm());
                object.set(JsString::from("execute"), f, false, ctx)?;
            }
            Ok(value)
        }
        None => Ok(JsValue::null()),
    }
}

pub(super) fn inject(context: &mut Context) -> Result<()> {
    define(
        context,
        "Tool",
        &[
            ("invoke", invoke, 3),
            ("try", try_invoke, 3),
            ("list", list, 1),
            ("get", get, 1),
            ("exists", exists, 1),
            ("categories", categories, 0),
        ],
    )?;
    Ok(())
}
