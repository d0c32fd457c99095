//! [`HookAdapter`]: converting contexts and results for another language,
//! and [`JsonHookAdapter`], the one JSON form of hook contexts and results
//! that every script bridge (Lua, JavaScript) and JSON-speaking hook shares.

use std::time::Duration;

use serde_json::{json, Map, Value};

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

/// The one JSON form of hook contexts and results, used by the Lua and
/// JavaScript bridges (their tables/objects are this JSON).
///
/// # Context
///
/// ```text
/// { point, correlation_id, language, timestamp (RFC 3339),
///   component_id = {type, name, id},
///   metadata = {string: string},
///   data = {...},                       -- the keys the component fixes
///   operation = null | {type, id, parameters, result, error},
///   parent = null | {point, component_id = {type, name, id}, correlation_id} }
/// ```
///
/// # Result
///
/// | value | result |
/// |---|---|
/// | `null`, `"continue"`, `{type="continue"}` | `Continue` |
/// | `"skip"`, `"skipped"`, `{type="skipped" (or "skip"), reason?}` | `Skipped` |
/// | `"cancel"`, `{type="cancel", reason?}` | `Cancel` |
/// | `{type="modified", data}` | `Modified(data)`; `data` is an object |
/// | `{type="redirect", target}` | `Redirect(target)` |
/// | `{type="replace", value}` (`data` accepted as a synonym of `value`) | `Replace(value)` |
/// | `{type="retry", delay_ms?, max_attempts?}` | `Retry` (defaults 1000 ms, 3 attempts) |
/// | `{type="fork", operations = [{target, parameters?}]}` | `Fork` |
/// | `{type="cache", key, ttl_ms? or ttl_seconds?}` | `Cache` (default ttl 60 s) |
///
/// A missing reason is `"no reason given"`. Keys other than the ones listed
/// for the type, a missing required key, or a value of the wrong type are
/// [`HookError::InvalidHookResult`] naming the key and what is valid; a
/// bridge adds the hook's name. `value` is required for `replace` (a script
/// that means `null` writes it explicitly, e.g. `JSON.null` in Lua), so a
/// misspelt key never silently becomes `null`.
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
/// // `data` is a synonym of `value` for `replace`.
/// assert_eq!(
///     a.adapt_result(json!({"type": "replace", "data": 42})).unwrap(),
///     HookResult::Replace(json!(42))
/// );
/// let err = a.adapt_result(json!({"type": "replace", "valeu": 42})).unwrap_err();
/// assert!(err.to_string().contains("unknown key `valeu`"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct JsonHookAdapter {
    language: Language,
}

/// The reason given to `Cancel` / `Skipped` when the hook gave none.
const NO_REASON: &str = "no reason given";

impl JsonHookAdapter {
    /// An adapter for `language`.
    #[must_use]
    pub const fn new(language: Language) -> Self {
        Self { language }
    }

    /// The context object (see the type docs).
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
        let parent = ctx.parent.as_deref().map_or(Value::Null, |p| {
            json!({
                "point": p.point.to_string(),
                "component_id": component_json(p),
                "correlation_id": p.correlation_id.to_string(),
            })
        });
        json!({
            "point": ctx.point.to_string(),
            "correlation_id": ctx.correlation_id.to_string(),
            "component_id": component_json(ctx),
            "language": ctx.language.as_str(),
            "metadata": ctx.metadata,
            "data": ctx.data,
            "operation": operation,
            "timestamp": ctx.timestamp.to_rfc3339(),
            "parent": parent,
        })
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

fn component_json(ctx: &HookContext) -> Value {
    json!({
        "type": ctx.component.component_type.to_string(),
        "name": ctx.component.name,
        "id": ctx.component.id.to_string(),
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl HookAdapter for JsonHookAdapter {
    type Context = Value;
    type Output = Value;

    fn language(&self) -> Language {
        self.language
    }

    fn adapt_context(&self, ctx: &HookContext) -> Result<Value> {
        Ok(Self::context_to_json(ctx))
    }

    fn adapt_result(&self, output: Value) -> Result<HookResult> {
        parse_result(&output).map_err(HookError::InvalidHookResult)
    }
}

/// The JSON type of `v`, as a script author would name it.
fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

/// The keys each result type accepts (besides `type`).
fn valid_keys(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "continue" => &[],
        "modified" => &["data"],
        "cancel" | "skipped" | "skip" => &["reason"],
        "redirect" => &["target"],
        "replace" => &["value", "data"],
        "retry" => &["delay_ms", "max_attempts"],
        "fork" => &["operations"],
        "cache" => &["key", "ttl_ms", "ttl_seconds"],
        _ => return None,
    })
}

fn key_list(keys: &[&str]) -> String {
    std::iter::once("type")
        .chain(keys.iter().copied())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One result object of type `kind`, read key by key.
struct Fields<'a> {
    kind: &'a str,
    obj: &'a Map<String, Value>,
}

type Parse<T> = std::result::Result<T, String>;

impl Fields<'_> {
    fn head(&self) -> String {
        format!("{{type=\"{}\"}}", self.kind)
    }

    /// The value of `key`, `None` when absent or `null`.
    fn get(&self, key: &str) -> Option<&Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, v: &Value, expected: &str) -> String {
        format!(
            "{} with `{key}` = {}; `{key}` must be {expected}",
            self.head(),
            describe(v)
        )
    }

    fn string(&self, key: &str) -> Parse<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong(key, other, "a string")),
        }
    }

    fn required_string(&self, key: &str, what: &str) -> Parse<String> {
        self.string(key)?
            .ok_or_else(|| format!("{} without `{key}`; give {what}", self.head()))
    }

    fn u64(&self, key: &str) -> Parse<Option<u64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| {
                    // Lua and JavaScript numbers may arrive as integral floats.
                    v.as_f64()
                        .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0)
                        .map(|f| {
                            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                            let n = f as u64;
                            n
                        })
                })
                .map(Some)
                .ok_or_else(|| self.wrong(key, v, "a non-negative integer")),
        }
    }
}

fn parse_result(output: &Value) -> Parse<HookResult> {
    let obj = match output {
        Value::Null => return Ok(HookResult::Continue),
        Value::String(s) => {
            return match s.as_str() {
                "continue" => Ok(HookResult::Continue),
                "skip" | "skipped" => Ok(HookResult::skipped(NO_REASON)),
                "cancel" => Ok(HookResult::cancel(NO_REASON)),
                other => Err(format!(
                    "the string \"{other}\"; the strings that are results: \"continue\", \"skip\", \"skipped\", \"cancel\""
                )),
            }
        }
        Value::Object(obj) => obj,
        other => return Err(describe(other).to_owned()),
    };
    let kind = match obj.get("type") {
        Some(Value::String(k)) => k.as_str(),
        Some(other) => return Err(format!("a table whose `type` is {}", describe(other))),
        None => return Err("a table without a `type` field".to_owned()),
    };
    let Some(valid) = valid_keys(kind) else {
        return Err(format!(
            "a table with the unknown type \"{kind}\"; valid types: continue, modified, cancel, redirect, replace, retry, fork, cache, skipped"
        ));
    };
    // Unknown keys are refused (sorted, so the message is stable).
    let mut unknown: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "type" && !valid.contains(k))
        .collect();
    unknown.sort_unstable();
    if let Some(first) = unknown.first() {
        return Err(format!(
            "{{type=\"{kind}\"}} with the unknown key `{first}`; valid keys for \"{kind}\": {}",
            key_list(valid)
        ));
    }
    let f = Fields { kind, obj };
    Ok(match kind {
        "continue" => HookResult::Continue,
        "modified" => match f.get("data") {
            Some(Value::Object(data)) => HookResult::Modified(data.clone()),
            Some(other) => {
                return Err(f.wrong(
                    "data",
                    other,
                    "a table with string keys (the new context data)",
                ))
            }
            None => {
                return Err(f.head()
                    + " without `data`; give the new context data, e.g. data = {tool_name = ctx.data.tool_name, parameters = {...}}")
            }
        },
        "cancel" => HookResult::Cancel(f.string("reason")?.unwrap_or_else(|| NO_REASON.into())),
        "skipped" | "skip" => {
            HookResult::Skipped(f.string("reason")?.unwrap_or_else(|| NO_REASON.into()))
        }
        "redirect" => HookResult::Redirect(
            f.required_string("target", "the name of the tool, agent or step to run instead")?,
        ),
        "replace" => match (obj.get("value"), obj.get("data")) {
            (Some(_), Some(_)) => {
                return Err(f.head()
                    + " with both `value` and `data`; give one (`data` is a synonym of `value`)")
            }
            (Some(v), None) | (None, Some(v)) => HookResult::Replace(v.clone()),
            (None, None) => {
                return Err(f.head()
                    + " without `value`; give the value to use (`data` is accepted as a synonym; write null explicitly, e.g. JSON.null in Lua)")
            }
        },
        "retry" => {
            let delay = f.u64("delay_ms")?.unwrap_or(1000);
            let max = f.u64("max_attempts")?.unwrap_or(3);
            let max = u32::try_from(max)
                .map_err(|_| f.head() + " with `max_attempts` larger than 4294967295")?;
            HookResult::retry(Duration::from_millis(delay), max)
        }
        "fork" => HookResult::fork(parse_fork(&f)?),
        "cache" => {
            let key = f.required_string("key", "the cache key (a string)")?;
            let ttl = match (f.u64("ttl_ms")?, f.u64("ttl_seconds")?) {
                (Some(_), Some(_)) => {
                    return Err(f.head() + " with both `ttl_ms` and `ttl_seconds`; give one")
                }
                (Some(ms), None) => Duration::from_millis(ms),
                (None, Some(s)) => Duration::from_secs(s),
                (None, None) => Duration::from_secs(60),
            };
            HookResult::cache(key, ttl)
        }
        // `valid_keys` knows no other type.
        other => return Err(format!("a table with the unknown type \"{other}\"")),
    })
}

fn parse_fork(f: &Fields<'_>) -> Parse<Vec<ForkOperation>> {
    const SHAPE: &str = "{target = \"name\", parameters = {...}}";
    let ops = match f.get("operations") {
        Some(Value::Array(ops)) => ops,
        // An empty script table has no way to say it is an array.
        Some(Value::Object(o)) if o.is_empty() => return Ok(Vec::new()),
        Some(other) => return Err(f.wrong("operations", other, &format!("an array of {SHAPE}"))),
        None => {
            return Err(f.head() + &format!(" without `operations`; give an array of {SHAPE}"));
        }
    };
    let mut out = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let n = i + 1;
        let Value::Object(op) = op else {
            return Err(format!(
                "{} whose operation {n} is {}; each must be {SHAPE}",
                f.head(),
                describe(op)
            ));
        };
        if let Some(k) = op
            .keys()
            .find(|k| k.as_str() != "target" && k.as_str() != "parameters")
        {
            return Err(format!(
                "{} whose operation {n} has the unknown key `{k}`; valid keys: target, parameters",
                f.head()
            ));
        }
        let target = match op.get("target") {
            Some(Value::String(t)) => t.clone(),
            Some(other) => {
                return Err(format!(
                    "{} whose operation {n} has `target` = {}; `target` must be a string",
                    f.head(),
                    describe(other)
                ))
            }
            None => {
                return Err(format!(
                    "{} whose operation {n} has no `target`; each must be {SHAPE}",
                    f.head()
                ))
            }
        };
        out.push(ForkOperation::new(
            target,
            op.get("parameters").cloned().unwrap_or_else(|| json!({})),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ComponentId, ComponentType, HookPoint, OperationContext};

    fn parse(v: Value) -> Result<HookResult> {
        JsonHookAdapter::new(Language::Lua).adapt_result(v)
    }

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
            HookResult::Replace(Value::Null),
            HookResult::retry(Duration::from_millis(5), 3),
            HookResult::fork(vec![ForkOperation::new("other", json!({"p": 1}))]),
            HookResult::cache("k", Duration::from_millis(1000)),
            HookResult::skipped("s"),
        ];
        for r in all {
            let v = JsonHookAdapter::result_to_json(&r);
            assert_eq!(parse(v).unwrap(), r);
        }
    }

    #[test]
    fn every_accepted_form_parses() {
        let check = |v: Value, expect: HookResult| {
            assert_eq!(parse(v.clone()).unwrap(), expect, "{v}");
        };
        let none = || NO_REASON.to_owned();
        check(Value::Null, HookResult::Continue);
        check(json!("continue"), HookResult::Continue);
        check(json!({"type": "continue"}), HookResult::Continue);
        check(json!("skip"), HookResult::Skipped(none()));
        check(json!("skipped"), HookResult::Skipped(none()));
        check(json!({"type": "skip"}), HookResult::Skipped(none()));
        check(
            json!({"type": "skipped", "reason": "r"}),
            HookResult::skipped("r"),
        );
        check(json!("cancel"), HookResult::Cancel(none()));
        check(json!({"type": "cancel"}), HookResult::Cancel(none()));
        check(
            json!({"type": "cancel", "reason": "no"}),
            HookResult::cancel("no"),
        );
        check(
            json!({"type": "modified", "data": {"a": 1}}),
            HookResult::Modified(json!({"a": 1}).as_object().unwrap().clone()),
        );
        check(
            json!({"type": "redirect", "target": "t"}),
            HookResult::redirect("t"),
        );
        check(
            json!({"type": "replace", "value": [1]}),
            HookResult::Replace(json!([1])),
        );
        check(
            json!({"type": "replace", "data": {"x": 1}}),
            HookResult::Replace(json!({"x": 1})),
        );
        check(
            json!({"type": "replace", "value": null}),
            HookResult::Replace(Value::Null),
        );
        check(
            json!({"type": "retry"}),
            HookResult::retry(Duration::from_millis(1000), 3),
        );
        check(
            json!({"type": "retry", "delay_ms": 5.0, "max_attempts": 2}),
            HookResult::retry(Duration::from_millis(5), 2),
        );
        check(
            json!({"type": "fork", "operations": [{"target": "x", "parameters": {"p": 1}}, {"target": "y"}]}),
            HookResult::fork(vec![
                ForkOperation::new("x", json!({"p": 1})),
                ForkOperation::new("y", json!({})),
            ]),
        );
        check(
            json!({"type": "fork", "operations": {}}),
            HookResult::fork(Vec::new()),
        );
        check(
            json!({"type": "cache", "key": "k"}),
            HookResult::cache("k", Duration::from_secs(60)),
        );
        check(
            json!({"type": "cache", "key": "k", "ttl_seconds": 2}),
            HookResult::cache("k", Duration::from_secs(2)),
        );
        check(
            json!({"type": "cache", "key": "k", "ttl_ms": 20}),
            HookResult::cache("k", Duration::from_millis(20)),
        );
    }

    #[test]
    fn malformed_results_name_the_key_and_what_is_valid() {
        let check = |v: Value, needles: &[&str]| {
            let err = parse(v.clone()).unwrap_err();
            assert!(matches!(err, HookError::InvalidHookResult(_)), "{err:?}");
            let msg = err.to_string();
            for n in needles {
                assert!(msg.contains(n), "{v}: `{n}` not in: {msg}");
            }
        };
        check(json!(42), &["a number"]);
        check(json!(true), &["a boolean"]);
        check(json!([1]), &["an array"]);
        check(json!("maybe"), &["\"maybe\"", "\"continue\", \"skip\""]);
        check(json!({}), &["without a `type`"]);
        check(json!({"type": 3}), &["`type` is a number"]);
        check(
            json!({"type": "explode"}),
            &[
                "unknown type \"explode\"",
                "valid types: continue, modified",
            ],
        );
        // Unknown keys, for every type.
        for (kind, valid) in [
            ("continue", "type"),
            ("modified", "type, data"),
            ("cancel", "type, reason"),
            ("skipped", "type, reason"),
            ("redirect", "type, target"),
            ("replace", "type, value, data"),
            ("retry", "type, delay_ms, max_attempts"),
            ("fork", "type, operations"),
            ("cache", "type, key, ttl_ms, ttl_seconds"),
        ] {
            check(
                json!({"type": kind, "bogus": 1}),
                &[
                    &format!("{{type=\"{kind}\"}} with the unknown key `bogus`"),
                    &format!("valid keys for \"{kind}\": {valid}"),
                ],
            );
        }
        // Missing required keys.
        check(json!({"type": "modified"}), &["without `data`"]);
        check(json!({"type": "redirect"}), &["without `target`"]);
        check(json!({"type": "replace"}), &["without `value`", "synonym"]);
        check(json!({"type": "cache"}), &["without `key`"]);
        check(json!({"type": "fork"}), &["without `operations`"]);
        // Wrong types and conflicts.
        check(
            json!({"type": "modified", "data": 3}),
            &["`data` = a number", "`data` must be a table"],
        );
        check(
            json!({"type": "redirect", "target": 1}),
            &["`target` must be a string"],
        );
        check(
            json!({"type": "cancel", "reason": {}}),
            &["`reason` must be a string"],
        );
        check(
            json!({"type": "retry", "delay_ms": -1}),
            &["`delay_ms` must be a non-negative integer"],
        );
        check(
            json!({"type": "retry", "max_attempts": 1.5}),
            &["`max_attempts` must be a non-negative integer"],
        );
        check(
            json!({"type": "retry", "max_attempts": 1_u64 << 40}),
            &["larger than"],
        );
        check(
            json!({"type": "replace", "value": 1, "data": 2}),
            &["both `value` and `data`"],
        );
        check(
            json!({"type": "cache", "key": "k", "ttl_ms": 1, "ttl_seconds": 1}),
            &["both `ttl_ms` and `ttl_seconds`"],
        );
        check(
            json!({"type": "fork", "operations": 1}),
            &["`operations` must be an array"],
        );
        check(
            json!({"type": "fork", "operations": [1]}),
            &["operation 1 is a number"],
        );
        check(
            json!({"type": "fork", "operations": [{"parameters": {}}]}),
            &["operation 1 has no `target`"],
        );
        check(
            json!({"type": "fork", "operations": [{"target": "x", "params": {}}]}),
            &["operation 1 has the unknown key `params`"],
        );
    }

    #[test]
    fn the_context_form() {
        let parent = HookContext::builder(
            HookPoint::custom("outer"),
            ComponentId::new(ComponentType::Agent, "writer"),
        )
        .build();
        let mut ctx = HookContext::builder(
            HookPoint::BeforeToolExecution,
            ComponentId::new(ComponentType::Tool, "calculator"),
        )
        .language(Language::Lua)
        .data("tool_name", json!("calculator"))
        .metadata("caller", "t")
        .parent(parent.clone())
        .build();
        ctx.operation =
            Some(OperationContext::new("tool_execution", json!({"a": 1})).with_error("boom"));
        let v = JsonHookAdapter::new(Language::Lua)
            .adapt_context(&ctx)
            .unwrap();
        assert_eq!(v["point"], "BeforeToolExecution");
        assert_eq!(v["component_id"]["type"], "tool");
        assert_eq!(v["component_id"]["name"], "calculator");
        assert_eq!(v["component_id"]["id"], ctx.component.id.to_string());
        assert_eq!(v["correlation_id"], ctx.correlation_id.to_string());
        assert_eq!(v["language"], "lua");
        assert_eq!(v["metadata"]["caller"], "t");
        assert_eq!(v["data"]["tool_name"], "calculator");
        assert_eq!(v["operation"]["type"], "tool_execution");
        assert_eq!(v["operation"]["parameters"]["a"], 1);
        assert_eq!(v["operation"]["result"], Value::Null);
        assert_eq!(v["operation"]["error"], "boom");
        assert_eq!(v["parent"]["point"], "custom:outer");
        assert_eq!(v["parent"]["component_id"]["name"], "writer");
        assert_eq!(
            v["parent"]["correlation_id"],
            parent.correlation_id.to_string()
        );
        let no_parent = HookContext::new(HookPoint::SystemStartup, ComponentId::system());
        assert_eq!(
            JsonHookAdapter::context_to_json(&no_parent)["parent"],
            Value::Null
        );
        assert_eq!(
            JsonHookAdapter::context_to_json(&no_parent)["operation"],
            Value::Null
        );
    }
}
