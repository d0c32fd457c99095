//! The language-neutral hook vocabulary of scripts: a [`HookContext`] as the
//! JSON object a script callback receives, and a callback's return value
//! (as JSON) parsed into a [`HookResult`].
//!
//! The context object: `{point, correlation_id, component_id = {type, name,
//! id}, language, metadata, data, operation = {type, id, parameters, result,
//! error}, timestamp}`; for tool points `data` holds `tool_name`,
//! `parameters`, `result` and `error`.
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
//! | `{type="replace", value=any}` | `Replace(value)` |
//! | `{type="retry", delay_ms=?, max_attempts=?}` | `Retry` (defaults 0 ms, 1 attempt) |
//! | `{type="fork", operations={{target=, parameters=}, ...}}` | `Fork` |
//! | `{type="cache", key="k", ttl_ms=? or ttl_seconds=?}` | `Cache` (default ttl 60 s) |

use std::time::Duration;

use llmspell_hooks::{ForkOperation, HookContext, HookResult};
use serde_json::{json, Map, Value};

use crate::error::{BridgeError, Result};

/// The JSON object a script hook receives for `ctx`.
#[must_use]
pub fn context_to_json(ctx: &HookContext) -> Value {
    let operation = ctx.operation.as_ref().map_or(Value::Null, |op| {
        json!({
            "type": op.operation_type,
            "id": op.operation_id.to_string(),
            "parameters": op.parameters,
            "result": op.result,
            "error": op.error,
        })
    });
    json!({
        "point": ctx.point.to_string(),
        "correlation_id": ctx.correlation_id.to_string(),
        "component_id": {
            "type": ctx.component.component_type.to_string(),
            "name": ctx.component.name,
            "id": ctx.component.id.to_string(),
        },
        "language": ctx.language.as_str(),
        "metadata": ctx.metadata,
        "data": ctx.data,
        "operation": operation,
        "timestamp": ctx.timestamp.to_rfc3339(),
    })
}

fn bad(hook: &str, problem: impl Into<String>) -> BridgeError {
    BridgeError::InvalidHookResult {
        hook: hook.to_owned(),
        problem: problem.into(),
    }
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

fn opt_string(
    hook: &str,
    t: &Map<String, Value>,
    kind: &str,
    field: &str,
) -> Result<Option<String>> {
    match t.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad(
            hook,
            format!(
                "{{type=\"{kind}\"}} with `{field}` = {}; `{field}` must be a string",
                describe(other)
            ),
        )),
    }
}

fn opt_u64(hook: &str, t: &Map<String, Value>, kind: &str, field: &str) -> Result<Option<u64>> {
    match t.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64().or_else(|| {
            v.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0)
                .map(|f| f as u64)
        }) {
            Some(n) => Ok(Some(n)),
            None => Err(bad(
                hook,
                format!("{{type=\"{kind}\"}} with `{field}` = {v}; `{field}` must be a non-negative integer"),
            )),
        },
    }
}

/// Parses a script hook's return value (already converted to JSON).
///
/// # Errors
/// [`BridgeError::InvalidHookResult`] naming the hook and what was expected.
pub fn result_from_json(hook: &str, value: &Value) -> Result<HookResult> {
    let by_hook = |what: &str| format!("{what} by hook `{hook}`");
    match value {
        Value::Null => Ok(HookResult::Continue),
        Value::String(s) => match s.as_str() {
            "continue" => Ok(HookResult::Continue),
            "skip" | "skipped" => Ok(HookResult::Skipped(by_hook("skipped"))),
            "cancel" => Ok(HookResult::Cancel(by_hook("cancelled"))),
            other => Err(bad(hook, format!("the string \"{other}\""))),
        },
        Value::Object(t) => {
            let kind = match t.get("type") {
                Some(Value::String(k)) => k.as_str(),
                Some(other) => {
                    return Err(bad(
                        hook,
                        format!("a table whose `type` is {}", describe(other)),
                    ))
                }
                None => return Err(bad(hook, "a table without a `type` field")),
            };
            match kind {
                "continue" => Ok(HookResult::Continue),
                "modified" => match t.get("data") {
                    Some(Value::Object(data)) => Ok(HookResult::Modified(data.clone())),
                    Some(other) => Err(bad(
                        hook,
                        format!("{{type=\"modified\"}} with `data` = {}; `data` must be a table with string keys (the new context data)", describe(other)),
                    )),
                    None => Err(bad(hook, "{type=\"modified\"} without `data`; give the new context data, e.g. data = {tool_name = ctx.data.tool_name, parameters = {...}}")),
                },
                "cancel" => Ok(HookResult::Cancel(
                    opt_string(hook, t, kind, "reason")?.unwrap_or_else(|| by_hook("cancelled")),
                )),
                "skipped" | "skip" => Ok(HookResult::Skipped(
                    opt_string(hook, t, kind, "reason")?.unwrap_or_else(|| by_hook("skipped")),
                )),
                "redirect" => match opt_string(hook, t, kind, "target")? {
                    Some(target) => Ok(HookResult::Redirect(target)),
                    None => Err(bad(hook, "{type=\"redirect\"} without `target`; name the tool, agent or step to run instead")),
                },
                "replace" => Ok(HookResult::Replace(t.get("value").cloned().unwrap_or(Value::Null))),
                "retry" => {
                    let delay = opt_u64(hook, t, kind, "delay_ms")?.unwrap_or(0);
                    let max = opt_u64(hook, t, kind, "max_attempts")?.unwrap_or(1);
                    let max = u32::try_from(max).map_err(|_| bad(hook, "{type=\"retry\"} with `max_attempts` larger than 4294967295"))?;
                    Ok(HookResult::Retry {
                        delay: Duration::from_millis(delay),
                        max_attempts: max,
                    })
                }
                "fork" => {
                    let ops = match t.get("operations") {
                        Some(Value::Array(ops)) => ops,
                        Some(Value::Object(o)) if o.is_empty() => return Ok(HookResult::Fork { operations: Vec::new() }),
                        _ => return Err(bad(hook, "{type=\"fork\"} without an `operations` array of {target = \"name\", parameters = {...}}")),
                    };
                    let mut operations = Vec::with_capacity(ops.len());
                    for (i, op) in ops.iter().enumerate() {
                        let Value::Object(op) = op else {
                            return Err(bad(hook, format!("{{type=\"fork\"}} whose operation {} is {}; each must be {{target = \"name\", parameters = {{...}}}}", i + 1, describe(op))));
                        };
                        let Some(target) = opt_string(hook, op, kind, "target")? else {
                            return Err(bad(hook, format!("{{type=\"fork\"}} whose operation {} has no `target`", i + 1)));
                        };
                        operations.push(ForkOperation::new(
                            target,
                            op.get("parameters").cloned().unwrap_or_else(|| json!({})),
                        ));
                    }
                    Ok(HookResult::Fork { operations })
                }
                "cache" => {
                    let Some(key) = opt_string(hook, t, kind, "key")? else {
                        return Err(bad(hook, "{type=\"cache\"} without `key`"));
                    };
                    let ttl = match (opt_u64(hook, t, kind, "ttl_ms")?, opt_u64(hook, t, kind, "ttl_seconds")?) {
                        (Some(ms), _) => Duration::from_millis(ms),
                        (None, Some(s)) => Duration::from_secs(s),
                        (None, None) => Duration::from_secs(60),
                    };
                    Ok(HookResult::Cache { key, ttl })
                }
                other => Err(bad(hook, format!("a table with the unknown type \"{other}\""))),
            }
        }
        other => Err(bad(hook, describe(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_result_type_parses() {
        let check = |v: Value, expect: HookResult| {
            assert_eq!(result_from_json("h", &v).unwrap(), expect, "{v}");
        };
        check(Value::Null, HookResult::Continue);
        check(json!("continue"), HookResult::Continue);
        check(
            json!("skip"),
            HookResult::Skipped("skipped by hook `h`".into()),
        );
        check(
            json!({"type": "cancel", "reason": "no"}),
            HookResult::Cancel("no".into()),
        );
        check(
            json!({"type": "cancel"}),
            HookResult::Cancel("cancelled by hook `h`".into()),
        );
        check(
            json!({"type": "modified", "data": {"a": 1}}),
            HookResult::Modified(json!({"a": 1}).as_object().unwrap().clone()),
        );
        check(
            json!({"type": "redirect", "target": "t"}),
            HookResult::Redirect("t".into()),
        );
        check(
            json!({"type": "replace", "value": [1]}),
            HookResult::Replace(json!([1])),
        );
        check(
            json!({"type": "retry", "delay_ms": 5, "max_attempts": 3}),
            HookResult::retry(Duration::from_millis(5), 3),
        );
        check(
            json!({"type": "fork", "operations": [{"target": "x", "parameters": {"p": 1}}]}),
            HookResult::fork(vec![ForkOperation::new("x", json!({"p": 1}))]),
        );
        check(
            json!({"type": "cache", "key": "k", "ttl_seconds": 2}),
            HookResult::cache("k", Duration::from_secs(2)),
        );
        check(
            json!({"type": "skipped", "reason": "r"}),
            HookResult::Skipped("r".into()),
        );
    }

    #[test]
    fn malformed_results_name_the_hook_and_the_problem() {
        let check = |v: Value, needle: &str| {
            let err = result_from_json("audit", &v).unwrap_err().to_string();
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
        check(json!({"type": "redirect"}), "without `target`");
        check(
            json!({"type": "retry", "delay_ms": -1}),
            "non-negative integer",
        );
        check(json!({"type": "cache"}), "without `key`");
        check(json!({"type": "fork", "operations": [1]}), "operation 1");
    }
}
