//! The JavaScript side of the globals: [`JsBinding`] defines each global
//! of [`crate::globals`] in a boa `Context`. Every native function here
//! only converts (JavaScript values to JSON, JSON or handles back, functions
//! to the neutral callback traits) and calls the global's neutral function
//! with the engine's host; a function that waits returns a promise that the
//! engine thread settles when its Rust future completes.

mod agent;
mod console;
mod event;
mod hook;
mod logger;
mod state;
mod tool;
mod workflow;

use std::rc::Rc;

use boa_engine::native_function::NativeFunctionPointer;
use boa_engine::object::ObjectInitializer;
use boa_engine::property::Attribute;
use boa_engine::{Context, JsNativeError, JsObject, JsResult, JsString, JsValue, NativeFunction};
use serde_json::Value;

use super::convert::js_to_json;
use super::runtime::{js_error, EngineState};
use crate::error::{BridgeError, Result};
use crate::globals::{
    AgentGlobal, EventGlobal, GlobalBinding, HookGlobal, JsonGlobal, LoggerGlobal, SessionGlobal,
    StateGlobal, ToolGlobal, WorkflowGlobal,
};

/// Defines globals in one engine's context.
pub(super) struct JsBinding<'a> {
    context: &'a mut Context,
    state: &'a Rc<EngineState>,
}

impl std::fmt::Debug for JsBinding<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsBinding").finish_non_exhaustive()
    }
}

/// Injects every global of the engine's context, and `console`.
pub(super) fn inject_all(state: &Rc<EngineState>, context: &mut Context) -> Result<()> {
    let mut binding = JsBinding { context, state };
    let globals = state.host.context().globals().to_vec();
    for global in &globals {
        global
            .inject(&mut binding)
            .map_err(|e| BridgeError::Setup(format!("global `{}`: {e}", global.metadata().name)))?;
    }
    console::inject(binding.context)
}

impl GlobalBinding for JsBinding<'_> {
    fn json(&mut self, _global: &JsonGlobal) -> Result<()> {
        // JavaScript's own `JSON` (encode: `JSON.stringify`, decode:
        // `JSON.parse`) already is the JSON global; `null` and `[]` need no
        // markers in JavaScript.
        Ok(())
    }

    fn logger(&mut self, _global: &LoggerGlobal) -> Result<()> {
        logger::inject(self.context)
    }

    fn event(&mut self, _global: &EventGlobal) -> Result<()> {
        event::inject(self.context)
    }

    fn hook(&mut self, _global: &HookGlobal) -> Result<()> {
        hook::inject(self.context, self.state)
    }

    fn tool(&mut self, _global: &ToolGlobal) -> Result<()> {
        tool::inject(self.context)
    }

    fn state(&mut self, _global: &StateGlobal) -> Result<()> {
        state::inject_state(self.context)
    }

    fn session(&mut self, _global: &SessionGlobal) -> Result<()> {
        state::inject_session(self.context)
    }

    fn agent(&mut self, _global: &AgentGlobal) -> Result<()> {
        agent::inject(self.context, self.state)
    }

    fn workflow(&mut self, _global: &WorkflowGlobal) -> Result<()> {
        workflow::inject(self.context)
    }
}

/// A new object holding `functions`, set as global `name`.
pub(super) fn define(
    context: &mut Context,
    name: &str,
    functions: &[(&str, NativeFunctionPointer, usize)],
) -> Result<JsObject> {
    let mut init = ObjectInitializer::new(context);
    for (fname, f, arity) in functions {
        init.function(
            NativeFunction::from_fn_ptr(*f),
            JsString::from(*fname),
            *arity,
        );
    }
    let object = init.build();
    context
        .register_global_property(JsString::from(name), object.clone(), Attribute::all())
        .map_err(|e| BridgeError::Setup(e.to_string()))?;
    Ok(object)
}

/// The JSON form of an argument, or a JavaScript error.
pub(super) fn json_arg(v: &JsValue, context: &mut Context) -> JsResult<Value> {
    js_to_json(v, context).map_err(|e| js_error(&e))
}

/// A string argument, or a `TypeError` naming the function and what it is.
pub(super) fn string_arg(v: &JsValue, function: &str, what: &str) -> JsResult<String> {
    match v.as_string() {
        Some(s) => Ok(s.to_std_string_lossy()),
        None => Err(JsNativeError::typ()
            .with_message(format!(
                "{function}: {what} must be a string, got {}",
                type_name(v)
            ))
            .into()),
    }
}

/// `typeof` in the words of error messages (`null`, `an array`, ...).
pub(super) fn type_name(v: &JsValue) -> &'static str {
    if v.is_null() {
        "null"
    } else if v.as_object().is_some_and(|o| o.is_array()) {
        "an array"
    } else {
        match v.type_of() {
            "undefined" => "undefined",
            "boolean" => "a boolean",
            "number" => "a number",
            "string" => "a string",
            "function" => "a function",
            "symbol" => "a symbol",
            "bigint" => "a BigInt",
            _ => "an object",
        }
    }
}

/// A bridge error as a thrown JavaScript error.
pub(super) fn throw(err: &BridgeError) -> boa_engine::JsError {
    js_error(err)
}
