//! `Logger` in JavaScript.

use boa_engine::{Context, JsArgs, JsResult, JsValue};
use serde_json::Value;

use super::{define, json_arg};
use crate::error::Result;
use crate::globals::{LogLevel, LoggerGlobal};
use crate::javascript::runtime::with_state;

/// The text of a message argument (`String(v)` for non-strings).
pub(super) fn message(v: &JsValue, context: &mut Context) -> String {
    match v.as_string() {
        Some(s) => s.to_std_string_lossy(),
        None => v.to_string(context).map_or_else(
            |_| format!("<{}>", v.type_of()),
            |s| s.to_std_string_lossy(),
        ),
    }
}

pub(super) fn log(level: LogLevel, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let text = message(args.get_or_undefined(0), context);
    let fields = match args.get_or_undefined(1) {
        v if v.is_undefined() => Value::Null,
        v => json_arg(v, context)?,
    };
    with_state(|s| LoggerGlobal.log(&s.host, level, &text, &fields))?;
    Ok(JsValue::undefined())
}

fn trace(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    log(LogLevel::Trace, args, ctx)
}
fn debug(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    log(LogLevel::Debug, args, ctx)
}
fn info(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    log(LogLevel::Info, args, ctx)
}
fn warn(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    log(LogLevel::Warn, args, ctx)
}
fn error(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    log(LogLevel::Error, args, ctx)
}

pub(super) fn inject(context: &mut Context) -> Result<()> {
    define(
        context,
        "Logger",
        &[
            ("trace", trace, 2),
            ("debug", debug, 2),
            ("info", info, 2),
            ("warn", warn, 2),
            ("error", error, 2),
        ],
    )?;
    Ok(())
}
