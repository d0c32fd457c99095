//! The script view of hooks, the same in every language: a [`HookContext`]
//! as the object a script callback receives, and a callback's return value
//! (as JSON) parsed into a [`HookResult`]. Both are
//! [`llmspell_hooks::JsonHookAdapter`]'s one JSON form; this module adds the
//! hook's name to errors.
//!
//! The context object: `{point, correlation_id, component_id = {type, name,
//! id}, language, metadata, data, operation = {type, id, parameters, result,
//! error}, timestamp, parent = {point, component_id, correlation_id}}`; for
//! tool points `data` holds `tool_name`, `parameters`, `result` and
//! `error`.
//!
//! Return values:
//!
//! | value | result |
//! |---|---|
//! | `nil`, `"continue"`, `{type="continue"}` | `Continue` |
//! | `"skip"`, `"skipped"`, `{type="skipped", reason=?}` | `Skipped(reason)` |
//! | `"cancel"`, `{type="cancel", reason=?}` | `Cancel(reason)` |
//! | `{type="modified", data={...}}` | `Modified(data)`: replaces the context data |
//! | `{type="redirect", target="name"}` | `Redirect(target)` |
//! | `{type="replace", value=any}` (`data=any` is a synonym) | `Replace(value)` |
//! | `{type="retry", delay_ms=?, max_attempts=?}` | `Retry` (defaults 1000 ms, 3 attempts) |
//! | `{type="fork", operations={{target=, parameters=?}, ...}}` | `Fork` |
//! | `{type="cache", key="k", ttl_ms=? or ttl_seconds=?}` | `Cache` (default ttl 60 s) |
//!
//! Any other value, a key the type does not have, a missing required key or
//! a value of the wrong type is [`BridgeError::InvalidHookResult`] naming
//! the hook, the key and what is valid.

use llmspell_hooks::{HookAdapter, HookContext, HookError, HookResult, JsonHookAdapter};
use serde_json::Value;

use crate::error::{BridgeError, Result};

/// The object a script hook receives for `ctx`.
#[must_use]
pub fn context_to_json(ctx: &HookContext) -> Value {
    JsonHookAdapter::context_to_json(ctx)
}

/// Parses the return value (already converted to JSON) of the script hook
/// named `hook`.
///
/// # Errors
/// [`BridgeError::InvalidHookResult`] naming the hook, the key and what is
/// valid.
pub fn result_from_json(hook: &str, value: Value) -> Result<HookResult> {
    // The language only labels the adapter; the JSON form is the same for all.
    JsonHookAdapter::new(llmspell_hooks::Language::Unknown)
        .adapt_result(value)
        .map_err(|e| match e {
            HookError::InvalidHookResult(problem) => BridgeError::InvalidHookResult {
                hook: hook.to_owned(),
                problem,
            },
            other => BridgeError::Hook(other),
        })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    #[test]
    fn results_parse_through_the_one_json_form() {
        assert_eq!(
            result_from_json("h", json!({"type": "replace", "data": 1})).unwrap(),
            HookResult::Replace(json!(1))
        );
        assert_eq!(
            result_from_json("h", json!({"type": "retry", "delay_ms": 5})).unwrap(),
            HookResult::retry(Duration::from_millis(5), 3)
        );
    }

    #[test]
    fn malformed_results_name_the_hook_the_key_and_what_is_valid() {
        let check = |v: Value, needle: &str| {
            let err = result_from_json("audit", v.clone()).unwrap_err();
            assert!(
                matches!(&err, BridgeError::InvalidHookResult { hook, .. } if hook == "audit"),
                "{err:?}"
            );
            let err = err.to_string();
            assert!(err.contains("hook `audit` returned"), "{err}");
            assert!(err.contains(needle), "{v}: {err}");
            assert!(err.contains("expected nil"), "{err}");
        };
        check(json!(42), "a number");
        check(json!("maybe"), "the string \"maybe\"");
        check(json!({}), "without a `type`");
        check(json!({"type": "explode"}), "unknown type \"explode\"");
        check(json!({"type": "modified"}), "without `data`");
        check(
            json!({"type": "modified", "data": 3}),
            "`data` must be a table",
        );
        check(
            json!({"type": "replace", "valeu": 1}),
            "unknown key `valeu`; valid keys for \"replace\": type, value, data",
        );
        check(json!({"type": "redirect"}), "without `target`");
        check(
            json!({"type": "retry", "delay_ms": -1}),
            "non-negative integer",
        );
        check(json!({"type": "cache"}), "without `key`");
        check(json!({"type": "fork", "operations": [1]}), "operation 1");
    }
}
