//! Fixtures shared by the test modules.

use llmspell_tools::{Result, ToolContext, ToolError, ToolRegistry, ToolsConfig};
use serde_json::Value;

/// A registry with every standard tool under the default (locked-down)
/// configuration.
pub(crate) fn registry() -> ToolRegistry {
    ToolRegistry::with_standard_tools(&ToolsConfig::default()).unwrap()
}

/// Validates and runs `name` with `params` through `registry`.
pub(crate) async fn call_in(registry: &ToolRegistry, name: &str, params: Value) -> Result<Value> {
    registry
        .require(name)?
        .call(params, &ToolContext::new())
        .await
}

/// [`call_in`] on a default [`registry`].
pub(crate) async fn call(name: &str, params: Value) -> Result<Value> {
    call_in(&registry(), name, params).await
}

/// Panics unless `result` is an `InvalidParameter` error naming `parameter`.
#[track_caller]
pub(crate) fn assert_invalid(result: Result<Value>, parameter: &str) {
    match result {
        Err(ToolError::InvalidParameter {
            parameter: p,
            message,
            ..
        }) => {
            assert_eq!(p, parameter, "wrong parameter named; message: {message}");
            assert!(!message.is_empty());
        }
        other => panic!("expected InvalidParameter naming `{parameter}`, got {other:?}"),
    }
}

/// Panics unless `result` is a `PolicyViolation`; returns its detail.
#[track_caller]
pub(crate) fn assert_refused(result: Result<Value>) -> String {
    match result {
        Err(ToolError::PolicyViolation { detail, .. }) => detail,
        other => panic!("expected PolicyViolation, got {other:?}"),
    }
}

/// Panics unless `result` is a `PolicyViolation` of `rule`; returns its
/// detail.
#[track_caller]
pub(crate) fn assert_policy(result: Result<Value>, rule: &str) -> String {
    match result {
        Err(ToolError::PolicyViolation {
            rule: r, detail, ..
        }) => {
            assert_eq!(r, rule, "wrong rule; detail: {detail}");
            detail
        }
        other => panic!("expected PolicyViolation `{rule}`, got {other:?}"),
    }
}

/// Runs the tool directly (no registry validation) to check its own
/// defensive decoding.
pub(crate) async fn call_direct(name: &str, params: Value) -> Result<Value> {
    registry()
        .require(name)?
        .tool()
        .execute(params, &ToolContext::new())
        .await
}
