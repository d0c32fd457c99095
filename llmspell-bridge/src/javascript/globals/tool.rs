//! `Tool` in JavaScript.

use std::sync::Arc;

use super::{define, json_arg, string_arg};
use crate::error::Result;
use crate::globals::ToolGlobal;
use crate::javascript::convert::json_to_js;
use crate::javascript::runtime::{js_error, with_state};
use boa_engine::{Context, JsArgs, JsNativeError, JsResult, JsString, JsValue, NativeFunction};

/// `Tool.invoke(name, params, opts?)` → a promise of the result.
fn invoke(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let name = string_arg(args.get_or_undefined(0), "Tool.invoke", "the tool name")?;
    let params = json_arg(args.get_or_undefined(1), ctx)?;
    let opts = json_arg(args.get_or_undefined(2), ctx)?;
    with_state(|s| {
        let host = Arc::clone(&s.host);
        s.promise_op(ctx, async move {
            ToolGlobal.invoke(&host, &name, params, &opts).await
        })
    })
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
    with_state(|s| {
        let host = Arc::clone(&s.host);
        s.promise_op(ctx, async move {
            ToolGlobal.invoke(&host, &name, params, &opts).await
        })
    })
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
