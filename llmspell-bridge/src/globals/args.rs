//! Reading script arguments in their JSON form: the checks every neutral
//! global shares, with errors that name the function, the key and what is
//! valid.

use serde_json::{Map, Value};

use crate::error::{BridgeError, Result};

/// The JSON type of `v` in the words a script author knows.
pub(crate) fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

/// The string at `key` of an options object; `None` when absent or nil.
pub(crate) fn opt_str<'a>(
    function: &str,
    o: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(BridgeError::invalid(
            function,
            format!("`{key}` must be a string, got {}", describe(other)),
        )),
    }
}

/// The array of strings at `key`; empty when absent, nil or an empty
/// table (a script's `{}` has no way to say it is an array).
pub(crate) fn string_list(
    function: &str,
    o: &Map<String, Value>,
    key: &str,
) -> Result<Vec<String>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(m)) if m.is_empty() => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(BridgeError::invalid(
                    function,
                    format!("`{key}` must hold strings, got {}", describe(other)),
                )),
            })
            .collect(),
        Some(other) => Err(BridgeError::invalid(
            function,
            format!(
                "`{key}` must be an array of strings, got {}",
                describe(other)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn options_are_read_or_refused_with_the_key() {
        let o = json!({"s": "x", "n": 1, "l": ["a"], "e": {}, "bad": [1]});
        let o = o.as_object().unwrap();
        assert_eq!(opt_str("f", o, "s").unwrap(), Some("x"));
        assert_eq!(opt_str("f", o, "missing").unwrap(), None);
        let err = opt_str("f", o, "n").unwrap_err().to_string();
        assert_eq!(err, "f: `n` must be a string, got a number");
        assert_eq!(string_list("f", o, "l").unwrap(), vec!["a".to_owned()]);
        assert!(string_list("f", o, "e").unwrap().is_empty());
        let err = string_list("f", o, "bad").unwrap_err().to_string();
        assert_eq!(err, "f: `bad` must hold strings, got a number");
        let err = string_list("f", o, "s").unwrap_err().to_string();
        assert_eq!(err, "f: `s` must be an array of strings, got a string");
    }
}
