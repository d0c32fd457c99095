//! Decoding a parameter object into a tool's typed parameters.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Result, ToolError};

/// Decodes `params` into `T`, turning a serde error into
/// [`ToolError::InvalidParameter`] naming the top-level parameter at fault.
pub(crate) fn decode<T: DeserializeOwned>(tool: &str, params: Value) -> Result<T> {
    serde_path_to_error::deserialize(params).map_err(|e| {
        let parameter = match e.path().iter().next() {
            Some(serde_path_to_error::Segment::Map { key }) => key.clone(),
            _ => field_in(&e.inner().to_string())
                .unwrap_or("params")
                .to_owned(),
        };
        ToolError::invalid_parameter(tool, parameter, e.inner().to_string())
    })
}

/// The name in a serde message such as ``missing field `expression` `` or
/// ``unknown field `x`, expected ...``.
fn field_in(message: &str) -> Option<&str> {
    if !(message.starts_with("missing field") || message.starts_with("unknown field")) {
        return None;
    }
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct P {
        expression: String,
    }

    fn parameter(params: Value) -> String {
        match decode::<P>("t", params) {
            Err(ToolError::InvalidParameter { parameter, .. }) => parameter,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_missing_unknown_and_mistyped_fields() {
        assert_eq!(parameter(json!({})), "expression");
        assert_eq!(parameter(json!({"expression": "1", "x": 1})), "x");
        assert_eq!(parameter(json!({"expression": 1})), "expression");
        assert_eq!(parameter(json!(3)), "params");
    }
}
