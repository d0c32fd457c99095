//! Errors of JavaScript code as bridge errors: the limit that stopped it,
//! or the thrown value with its JavaScript stack.

use super::*;

/// The bridge error for an uncatchable engine error raised by `what`.
pub(in crate::javascript) fn limit_error(
    what: &str,
    err: &EngineError,
    limits: &RuntimeLimits,
) -> BridgeError {
    use boa_engine::error::RuntimeLimitError as L;
    match err {
        EngineError::RuntimeLimit(L::LoopIteration) => BridgeError::ResourceLimit {
            what: what.to_owned(),
            resource: "loop_iterations",
            limit: format!(
                "{} iterations per function call",
                limits.loop_iteration_limit()
            ),
        },
        EngineError::RuntimeLimit(L::Recursion) => BridgeError::ResourceLimit {
            what: what.to_owned(),
            resource: "recursion_depth",
            limit: format!("{} nested calls", limits.recursion_limit()),
        },
        EngineError::RuntimeLimit(_) => BridgeError::ResourceLimit {
            what: what.to_owned(),
            resource: "stack_size",
            limit: format!("{} stack values", limits.stack_size_limit()),
        },
        other => BridgeError::Script {
            chunk: what.to_owned(),
            message: other.to_string(),
        },
    }
}

/// A thrown JavaScript value as a bridge error: the message with the
/// JavaScript stack, or the limit that stopped the code.
pub(in crate::javascript) fn script_error(
    what: &str,
    err: &JsError,
    limits: &RuntimeLimits,
    context: &mut Context,
) -> BridgeError {
    if let Some(engine) = err.as_engine() {
        return limit_error(what, engine, limits);
    }
    BridgeError::Script {
        chunk: what.to_owned(),
        message: render_error(err, context),
    }
}

/// `Name: message` and the stack of a thrown value.
fn render_error(err: &JsError, context: &mut Context) -> String {
    let value = err
        .clone()
        .into_opaque(context)
        .unwrap_or_else(|_| JsValue::undefined());
    let Some(obj) = value.as_object() else {
        return match value.to_string(context) {
            Ok(s) => format!("uncaught {}", s.to_std_string_lossy()),
            Err(_) => err.to_string(),
        };
    };
    let head = value
        .to_string(context)
        .map(|s| s.to_std_string_lossy())
        .unwrap_or_else(|_| err.to_string());
    let stack = obj
        .get(js_string!("stack"), context)
        .ok()
        .and_then(|s| s.as_string().map(|s| s.to_std_string_lossy()))
        .unwrap_or_default();
    if stack.trim().is_empty() {
        head
    } else {
        format!("{head}\n{}", stack.trim_end())
    }
}
