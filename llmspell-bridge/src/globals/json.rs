//! The `JSON` global: `JSON.encode`, `JSON.decode` (and, per language,
//! `JSON.null` and `JSON.array`).

use serde_json::Value;

use super::args::{check_keys, describe};
use super::{GlobalBinding, GlobalMetadata, GlobalObject};
use crate::error::{BridgeError, Result};

/// `JSON.encode(value, {pretty=bool}?) → string` (alias `JSON.stringify`),
/// `JSON.decode(string) → value` (alias `JSON.parse`), `JSON.null` (a JSON `null` that can sit
/// inside a table) and `JSON.array(t?) → t` (marks a table as an array, so an
/// empty one encodes as `[]`). How values map to JSON is the binding's
/// conversion policy (for Lua: [`lua::convert`](crate::lua::convert)).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonGlobal;

impl JsonGlobal {
    /// The text of `value`; `options` is nil or `{pretty = bool}`.
    ///
    /// # Errors
    /// [`BridgeError::InvalidArgument`] for bad options.
    pub fn encode(&self, value: &Value, options: &Value) -> Result<String> {
        let pretty = match options {
            Value::Null => false,
            Value::Object(o) => {
                match check_keys("JSON.encode", o, &["pretty"]).map(|()| o.get("pretty"))? {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(b)) => *b,
                    Some(other) => {
                        return Err(BridgeError::invalid(
                            "JSON.encode",
                            format!("`pretty` must be a boolean, got {}", describe(other)),
                        ))
                    }
                }
            }
            other => {
                return Err(BridgeError::invalid(
                    "JSON.encode",
                    format!(
                        "the options must be nil or a table {{pretty = bool}}, got {}",
                        describe(other)
                    ),
                ))
            }
        };
        let text = if pretty {
            serde_json::to_string_pretty(value)
        } else {
            serde_json::to_string(value)
        };
        text.map_err(|e| BridgeError::invalid("JSON.encode", e.to_string()))
    }

    /// The value of JSON `text`.
    ///
    /// # Errors
    /// [`BridgeError::InvalidArgument`] when `text` is not JSON.
    pub fn decode(&self, text: &[u8]) -> Result<Value> {
        serde_json::from_slice(text).map_err(|e| {
            BridgeError::invalid("JSON.decode", format!("the text is not valid JSON: {e}"))
        })
    }
}

impl GlobalObject for JsonGlobal {
    fn metadata(&self) -> GlobalMetadata {
        GlobalMetadata {
            name: "JSON",
            description:
                "encode script values as JSON text and decode JSON text into script values",
            functions: &["encode", "decode", "stringify", "parse", "null", "array"],
        }
    }

    fn inject(&self, binding: &mut dyn GlobalBinding) -> Result<()> {
        binding.json(self)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn encode_and_decode() {
        let g = JsonGlobal;
        assert_eq!(
            g.encode(&json!({"a": [1]}), &Value::Null).unwrap(),
            r#"{"a":[1]}"#
        );
        assert!(g
            .encode(&json!(1), &json!({"pretty": true}))
            .unwrap()
            .contains('1'));
        let err = g.encode(&json!(1), &json!({"pretty": 3})).unwrap_err();
        assert!(
            err.to_string().contains("`pretty` must be a boolean"),
            "{err}"
        );
        let err = g.encode(&json!(1), &json!("x")).unwrap_err();
        assert!(err.to_string().contains("options must be nil"), "{err}");
        assert_eq!(g.decode(b"[1, 2]").unwrap(), json!([1, 2]));
        let err = g.decode(b"{").unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }
}
