//! `console` in JavaScript: `console.log` prints like Lua's `print`
//! (stdout); `console.debug/info/warn/error` log like `Logger` (tracing,
//! target `llmspell::script`).

use std::io::Write;

use boa_engine::{Context, JsResult, JsValue};

use super::define;
use super::logger::message;
use crate::error::Result;
use crate::globals::LogLevel;
use crate::javascript::convert::js_to_json;
use crate::javascript::runtime::with_state;

/// The arguments as one line: strings as they are, other values as JSON
/// (or `String(v)` when they have no JSON form), separated by spaces.
fn line(args: &[JsValue], context: &mut Context) -> String {
    let mut parts = Vec::with_capacity(args.len());
    for v in args {
        if v.is_string() || v.is_undefined() || v.is_callable() || v.is_symbol() {
            parts.push(message(v, context));
        } else {
            match js_to_json(v, context) {
                Ok(j) => parts.push(j.to_string()),
                Err(_) => parts.push(message(v, context)),
            }
        }
    }
    parts.join(" ")
}

fn log(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let text = line(args, ctx);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    Ok(JsValue::undefined())
}

fn leveled(level: LogLevel, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let text = line(args, ctx);
    with_state(|s| {
        crate::globals::LoggerGlobal.log(&s.host, level, &text, &serde_json::Value::Null);
    })?;
    Ok(JsValue::undefined())
}

fn debug(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    leveled(LogLevel::Debug, args, ctx)
}
fn info(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    leveled(LogLevel::Info, args, ctx)
}
fn warn(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    leveled(LogLevel::Warn, args, ctx)
}
fn error(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    leveled(LogLevel::Error, args, ctx)
}

pub(super) fn inject(context: &mut Context) -> Result<()> {
    define(
        context,
        "console",
        &[
            ("log", log, 0),
            ("debug", debug, 0),
            ("info", info, 0),
            ("warn", warn, 0),
            ("error", error, 0),
        ],
    )?;
    Ok(())
}
