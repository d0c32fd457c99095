//! `Tool` in JavaScript.

use std::sync::Arc;

use super::{define, json_arg, string_arg};
use crate::error::Result;
use crate::globals::ToolGlobal;
use crate::javascript::convert::json_to_js;
use crate::javascript::runtime::{js_error, with_state};
use boa_engine::{Context, JsArgs, JsResult, JsValue};

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

/// `Tool.list(category?)`.
fn list(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let category = match args.get_or_undefined(0) {
        v if v.is_null_or_undefined() => None,
        v => Some(string_arg(v, "Tool.list", "the category")?),
    };
    let out = with_state(|s| ToolGlobal.list(&s.host, category.as_deref()))?;
    json_to_js(&out, ctx).map_err(|e| js_error(&e))
}

/// `Tool.get(name)` → metadata or `null`.
fn get(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let name = string_arg(args.get_or_undefined(0), "Tool.get", "the tool name")?;
    match with_state(|s| ToolGlobal.get(&s.host, &name))? {
        Some(m) => json_to_js(&m, ctx).map_err(|e| js_error(&e)),
        None => Ok(JsValue::null()),
    }
}

pub(super) fn inject(context: &mut Context) -> Result<()> {
    define(
        context,
        "Tool",
        &[("invoke", invoke, 3), ("list", list, 1), ("get", get, 1)],
    )?;
    Ok(())
}
