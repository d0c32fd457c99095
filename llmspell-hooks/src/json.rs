//! Small JSON helpers shared by the built-in hooks, the recorder and the
//! distributed context (kept outside `builtin/` so that each can be
//! compiled without the others).

#[cfg(any(feature = "builtins", feature = "distributed"))]
use serde_json::Value;

/// Writes `v` as JSON with object keys in sorted order at every depth: one
/// text per value, for signatures and cache keys.
#[cfg(any(feature = "builtins", feature = "distributed"))]
pub(crate) fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_sorts_keys_at_every_depth() {
        let mut a = String::new();
        canonical_json(
            &serde_json::json!({"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": "s"}}),
            &mut a,
        );
        assert_eq!(a, r#"{"a":{"x":"s","y":[1,{"c":3,"d":2}]},"b":1}"#);
    }
}
