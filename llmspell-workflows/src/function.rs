//! Script functions: the language-neutral callback behind `fn` steps and
//! function conditions.
//!
//! A script binding (Lua, JavaScript) wraps each script function in a
//! [`ScriptFunction`] and hands it to the definition through
//! [`Bindings`](crate::Bindings); Rust code uses [`script_fn`].

use std::fmt;
use std::future::Future;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::error::BoxError;

/// What a script function receives.
///
/// - `input`: for a step, its resolved `input` (the workflow input when the
///   step declares none); for a condition, the workflow input.
/// - `state`: a copy of the workflow state. A function that changes it
///   returns the changed map in [`FunctionReturn::state`]; keys added or
///   changed are written, keys removed are deleted.
/// - `context`: `{workflow_name, run_id, step_name, iteration, branch,
///   steps = {NAME = {output = ...}}}` (absent fields omitted), the outputs
///   being those of the steps visible from the function.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FunctionCall {
    /// The input.
    pub input: Value,
    /// The workflow state.
    pub state: Map<String, Value>,
    /// Where the call happens.
    pub context: Value,
}

impl FunctionCall {
    /// A call with `input`, `state` and `context`.
    #[must_use]
    pub fn new(input: Value, state: Map<String, Value>, context: Value) -> Self {
        Self {
            input,
            state,
            context,
        }
    }
}

/// What a script function returns: its output and, if it changed the
/// state, the new state.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct FunctionReturn {
    /// The output (a step's output; a condition's result, taken as
    /// [`truthy`](crate::truthy)).
    pub output: Value,
    /// The whole state after the call, when the function changed it.
    pub state: Option<Map<String, Value>>,
}

impl FunctionReturn {
    /// An output, the state unchanged.
    #[must_use]
    pub fn output(output: Value) -> Self {
        Self {
            output,
            state: None,
        }
    }

    /// An output and the state after the call.
    #[must_use]
    pub fn with_state(output: Value, state: Map<String, Value>) -> Self {
        Self {
            output,
            state: Some(state),
        }
    }
}

impl From<Value> for FunctionReturn {
    fn from(output: Value) -> Self {
        Self::output(output)
    }
}

/// A function a script (or Rust code) supplies as a step (`fn = ...`) or a
/// condition.
///
/// An `Err` fails the step (or the condition's workflow) with the error's
/// text; it is never a panic.
#[async_trait]
pub trait ScriptFunction: Send + Sync + fmt::Debug {
    /// Calls the function.
    async fn call(&self, call: FunctionCall) -> Result<FunctionReturn, BoxError>;
}

/// A [`ScriptFunction`] from an async closure; see [`script_fn`].
pub struct FnScript<F> {
    name: String,
    f: F,
}

impl<F> fmt::Debug for FnScript<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnScript")
            .field("name", &self.name)
            .finish()
    }
}

/// A script function from an async closure.
///
/// ```
/// use llmspell_workflows::{script_fn, FunctionReturn};
/// use serde_json::json;
///
/// let double = script_fn("double", |call| async move {
///     let n = call.input["n"].as_i64().ok_or("input.n must be an integer")?;
///     Ok(FunctionReturn::output(json!(n * 2)))
/// });
/// # let _ = double;
/// ```
pub fn script_fn<F, Fut>(name: impl Into<String>, f: F) -> FnScript<F>
where
    F: Fn(FunctionCall) -> Fut + Send + Sync,
    Fut: Future<Output = Result<FunctionReturn, BoxError>> + Send,
{
    FnScript {
        name: name.into(),
        f,
    }
}

#[async_trait]
impl<F, Fut> ScriptFunction for FnScript<F>
where
    F: Fn(FunctionCall) -> Fut + Send + Sync,
    Fut: Future<Output = Result<FunctionReturn, BoxError>> + Send,
{
    async fn call(&self, call: FunctionCall) -> Result<FunctionReturn, BoxError> {
        (self.f)(call).await
    }
}
