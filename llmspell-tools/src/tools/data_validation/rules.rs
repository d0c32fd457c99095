//! rs-llmspell's validation rules, translated into a JSON Schema.
//!
//! A rule list is `[{type = "required"}, {type = "type", expected =
//! "object"}, ...]`, given as `rules` or as `{rules = [...]}`. Each rule
//! becomes schema keywords, all of which must hold:
//!
//! | rule | schema |
//! |---|---|
//! | `required` | not `null`, not `""` |
//! | `type {expected}` | `type` |
//! | `length {min, max}` | `minLength`/`maxLength` (strings), `minItems`/`maxItems` (arrays) |
//! | `range {min, max}` | `minimum`/`maximum` |
//! | `pattern {regex}` | `pattern` |
//! | `enum {values}` | `enum` |
//! | `email`, `url` | a `pattern` for the form |
//! | `array {min_items, max_items, unique, item_rules}` | `minItems`, `maxItems`, `uniqueItems`, `items` |
//! | `object {properties, required, additional_properties}` | `properties` (each a rule list), `required`, `additionalProperties` |
//!
//! `date` and `custom` rules have no schema form and are refused, naming
//! the rule.

use serde_json::{json, Map, Value};

use crate::{Result, ToolError};

use super::NAME;

fn bad(message: String) -> ToolError {
    ToolError::invalid_parameter(NAME, "rules", message)
}

/// The schema the rules stand for.
pub(super) fn to_schema(rules: &Value) -> Result<Value> {
    let list = match rules {
        Value::Object(o) if o.contains_key("rules") => &o["rules"],
        other => other,
    };
    let Value::Array(items) = list else {
        return Err(bad(format!(
            "must be a list of rules or {{rules = [...]}}, got {rules}"
        )));
    };
    let all: Vec<Value> = items.iter().map(rule).collect::<Result<_>>()?;
    Ok(json!({"allOf": all}))
}

fn num(rule: &Map<String, Value>, key: &str) -> Option<Value> {
    rule.get(key).filter(|v| v.is_number()).cloned()
}

fn rule(value: &Value) -> Result<Value> {
    let Some(rule) = value.as_object() else {
        return Err(bad(format!(
            "a rule must be a table with a `type`, got {value}"
        )));
    };
    let kind = rule.get("type").and_then(Value::as_str).unwrap_or("");
    let mut schema = Map::new();
    match kind {
        "required" => {
            schema.insert("not".into(), json!({"enum": [null, ""]}));
        }
        "type" => {
            let expected = rule.get("expected").cloned().ok_or_else(|| {
                bad("a `type` rule needs `expected` (e.g. \"object\")".to_owned())
            })?;
            schema.insert("type".into(), expected);
        }
        "length" => {
            if let Some(min) = num(rule, "min") {
                schema.insert("minLength".into(), min.clone());
                schema.insert("minItems".into(), min);
            }
            if let Some(max) = num(rule, "max") {
                schema.insert("maxLength".into(), max.clone());
                schema.insert("maxItems".into(), max);
            }
        }
        "range" => {
            if let Some(min) = num(rule, "min") {
                schema.insert("minimum".into(), min);
            }
            if let Some(max) = num(rule, "max") {
                schema.insert("maximum".into(), max);
            }
        }
        "pattern" => {
            let regex = rule
                .get("regex")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("a `pattern` rule needs `regex`".to_owned()))?;
            schema.insert("pattern".into(), json!(regex));
        }
        "enum" => {
            let values = rule
                .get("values")
                .filter(|v| v.is_array())
                .cloned()
                .ok_or_else(|| bad("an `enum` rule needs a list `values`".to_owned()))?;
            schema.insert("enum".into(), values);
        }
        "email" => {
            schema.insert(
                "pattern".into(),
                json!(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"),
            );
        }
        "url" => {
            schema.insert(
                "pattern".into(),
                json!(r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s]+$"),
            );
        }
        "array" => {
            if let Some(n) = num(rule, "min_items") {
                schema.insert("minItems".into(), n);
            }
            if let Some(n) = num(rule, "max_items") {
                schema.insert("maxItems".into(), n);
            }
            if rule.get("unique") == Some(&Value::Bool(true)) {
                schema.insert("uniqueItems".into(), json!(true));
            }
            if let Some(items) = rule.get("item_rules") {
                schema.insert("items".into(), to_schema(items)?);
            }
        }
        "object" => {
            if let Some(Value::Object(props)) = rule.get("properties") {
                let mut out = Map::new();
                for (name, rules) in props {
                    out.insert(name.clone(), to_schema(rules)?);
                }
                schema.insert("properties".into(), Value::Object(out));
            }
            if let Some(required) = rule.get("required").filter(|v| v.is_array()) {
                schema.insert("required".into(), required.clone());
            }
            if let Some(Value::Bool(extra)) = rule.get("additional_properties") {
                schema.insert("additionalProperties".into(), json!(extra));
            }
        }
        other => {
            return Err(bad(format!(
                "the rule type `{other}` is not supported; use required, type, length, range, \
                 pattern, enum, email, url, array or object, or give a JSON Schema in `schema`"
            )))
        }
    }
    Ok(Value::Object(schema))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_rules() {
        let s = to_schema(
            &json!({"rules": [{"type": "required"}, {"type": "type", "expected": "object"}]}),
        )
        .unwrap();
        assert_eq!(s["allOf"][1], json!({"type": "object"}));
        assert!(to_schema(&json!([{"type": "custom", "name": "x"}])).is_err());
        assert!(to_schema(&json!(3)).is_err());
    }
}
