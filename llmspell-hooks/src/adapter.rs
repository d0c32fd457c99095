//! [`HookAdapter`]: converting contexts and results for another language,
//! and [`JsonHookAdapter`], the JSON form every script bridge can share.

use serde_json::{json, Value};

use crate::{ForkOperation, HookContext, HookError, HookResult, Language, Result};

/// Converts a [`HookContext`] into a language's own representation and that
/// language's return value back into a [`HookResult`].
pub trait HookAdapter: Send + Sync {
    /// The context as the language sees it.
    type Context;
    /// What a hook in that language returns.
    type Output;

    /// The language this adapter serves.
    fn language(&self) -> Language;

    /// The context for the language.
    ///
    /// # Errors
    /// When the context cannot be represented.
    fn adapt_context(&self, ctx: &HookContext) -> Result<Self::Context>;

    /// The hook result for a value the language returned.
    ///
    /// # Errors
    /// [`HookError::InvalidHookResult`] when the value is not a result.
    fn adapt_result(&self, output: Self::Output) -> Result<HookResult>;
}

/// The JSON form of contexts and results shared by the script bridges.
///
/// The context becomes an object with `point`, `component`
/// (`{type, name, id}`), `correlation_id`, `language`, `data`, `metadata`,
/// `timestamp` and `operation`. A result is `null` or `"continue"` (and the
/// other variant names for the variants without payload), or an object
/// `{"type": ..., ...}` with the variant's fields at top level: `data`
/// (modified), `reason` (cancel, skipped), `target` (redirect), `value`
/// (replace), `delay_ms`/`max_attempts` (retry), `operations` (fork: a list
/// of `{target, parameters}`), `key`/`ttl_ms` (cache).
///
/// ```
/// use llmspell_hooks::{HookAdapter, HookResult, JsonHookAdapter, Language};
/// use serde_json::json;
///
/// let a = JsonHookAdapter::new(Language::Lua);
/// assert_eq!(a.adapt_result(json!(null)).unwrap(), HookResult::Continue);
/// assert_eq!(
///     a.adapt_result(json!({"type": "cancel", "reason": "no"})).unwrap(),
///     HookResult::cancel("no")
/// );
/// assert!(a.adapt_result(json!({"type": "explode"})).is_err());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct JsonHookAdapter {
    language: Language,
}

impl JsonHookAdapter {
    /// An adapter for `language`.
    #[must_use]
    pub const fn new(language: Language) -> Self {
        Self { language }
    }

    /// The JSON for a result (the inverse of `adapt_result`).
    #[must_use]
    pub fn result_to_json(result: &HookResult) -> Value {
        match result {
            HookResult::Continue => json!({"type": "continue"}),
            HookResult::Modified(data) => json!({"type": "modified", "data": data}),
            HookResult::Cancel(reason) => json!({"type": "cancel", "reason": reason}),
            HookResult::Redirect(target) => json!({"type": "redirect", "target": target}),
            HookResult::Replace(value) => json!({"type": "replace", "value": value}),
            HookResult::Retry {
                delay,
                max_attempts,
            } => json!({"type": "retry", "delay_ms": millis(*delay), "max_attempts": max_attempts}),
            HookResult::Fork { operations } => json!({
                "type": "fork",
                "operations": operations
                    .iter()
                    .map(|op| json!({"target": op.target, "parameters": op.parameters}))
                    .collect::<Vec<_>>(),
            }),
            HookResult::Cache { key, ttl } => {
                json!({"type": "cache", "key": key, "ttl_ms": millis(*ttl)})
            }
            HookResult::Skipped(reason) => json!({"type": "skipped", "reason": reason}),
        }
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl HookAdapter for JsonHookAdapter {
    type Context = Value;
    type Output = Value;

    fn language(&self) -> Language {
        self.language
    }

    fn adapt_context(&self, ctx: &HookContext) -> Result<Value> {
        Ok(json!({
            "point": ctx.point.to_string(),
            "component": {
                "type": ctx.component.component_type.to_string(),
                "name": ctx.component.name,
                "id": ctx.component.id.to_string(),
            },
            "correlation_id": ctx.correlation_id.to_string(),
            "language": ctx.language.as_str(),
            "data": ctx.data,
            "metadata": ctx.metadata,
            "timestamp": ctx.timestamp.to_rfc3339(),
            "operation": serde_json::to_value(&ctx.operation)?,
        }))
    }

    fn adapt_result(&self, output: Value) -> Result<HookResult> {
        parse_result(output)
    }
}

fn bad(msg: impl Into<String>) -> HookError {
    HookError::InvalidHookResult(msg.into())
}

fn parse_result(output: Value) -> Result<HookResult> {
    let mut obj = match output {
        Value::Null => return Ok(HookResult::Continue),
        Value::String(s) => {
            return match s.as_str() {
                "continue" => Ok(HookResult::Continue),
                "skipped" => Ok(HookResult::skipped("")),
                other => Err(bad(format!("the string `{other}` is not a result"))),
            }
        }
        Value::Object(obj) => obj,
        other => return Err(bad(format!("got `{other}`"))),
    };
    let kind = match obj.remove("type") {
        Some(Value::String(s)) => s,
        Some(other) => return Err(bad(format!("`type` must be a string, got `{other}`"))),
        None => return Err(bad("the object has no `type` field")),
    };
    let mut string = |field: &str| -> Result<String> {
        match obj.remove(field) {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(bad(format!("`{field}` must be a string, got `{other}`"))),
            None => Err(bad(format!("`{kind}` needs a `{field}` string"))),
        }
    };
    let result = match kind.as_str() {
        "continue" => HookResult::Continue,
        "cancel" => HookResult::Cancel(string("reason")?),
        "redirect" => HookResult::Redirect(string("target")?),
        "skipped" => HookResult::Skipped(string("reason").unwrap_or_default()),
        "cache" => {
            let key = string("key")?;
            HookResult::cache(key, duration(&mut obj, "ttl_ms")?)
        }
        "modified" => match obj.remove("data") {
            Some(Value::Object(data)) => HookResult::Modified(data),
            Some(other) => return Err(bad(format!("`data` must be an object, got `{other}`"))),
            None => return Err(bad("`modified` needs a `data` object")),
        },
        "replace" => HookResult::Replace(obj.remove("value").unwrap_or(Value::Null)),
        "retry" => {
            let delay = duration(&mut obj, "delay_ms")?;
            let max = match obj.remove("max_attempts") {
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| bad(format!("`max_attempts` must be a u32, got `{v}`")))?,
                None => return Err(bad("`retry` needs `max_attempts`")),
            };
            HookResult::retry(delay, max)
        }
        "fork" => {
            let ops = match obj.remove("operations") {
                Some(Value::Array(ops)) => ops,
                _ => return Err(bad("`fork` needs an `operations` list")),
            };
            let mut out = Vec::with_capacity(ops.len());
            for op in ops {
                let Value::Object(mut op) = op else {
                    return Err(bad(
                        "each fork operation must be an object {target, parameters}",
                    ));
                };
                let target = match op.remove("target") {
                    Some(Value::String(t)) => t,
                    _ => return Err(bad("each fork operation needs a `target` string")),
                };
                out.push(ForkOperation::new(
                    target,
                    op.remove("parameters").unwrap_or(Value::Null),
                ));
            }
            HookResult::fork(out)
        }
        other => return Err(bad(format!("unknown result type `{other}`"))),
    };
    Ok(result)
}

fn duration(obj: &mut serde_json::Map<String, Value>, field: &str) -> Result<std::time::Duration> {
    match obj.remove(field) {
        Some(v) => v
            .as_u64()
            .map(std::time::Duration::from_millis)
            .ok_or_else(|| {
                bad(format!(
                    "`{field}` must be a non-negative integer, got `{v}`"
                ))
            }),
        None => Err(bad(format!("missing `{field}`"))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn every_result_round_trips_through_json() {
        let mut data = serde_json::Map::new();
        data.insert("a".into(), json!(1));
        let all = [
            HookResult::Continue,
            HookResult::Modified(data),
            HookResult::cancel("r"),
            HookResult::redirect("t"),
            HookResult::Replace(json!({"x": 1})),
            HookResult::retry(Duration::from_millis(5), 3),
            HookResult::fork(vec![ForkOperation::new("other", json!({"p": 1}))]),
            HookResult::cache("k", Duration::from_millis(1000)),
            HookResult::skipped("s"),
        ];
        for r in all {
            let v = JsonHookAdapter::result_to_json(&r);
            assert_eq!(parse_result(v).unwrap(), r);
        }
    }
}
