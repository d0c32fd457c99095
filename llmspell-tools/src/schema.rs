//! Checking a parameter object against a tool's JSON Schema.

use std::fmt::Write as _;

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use crate::{Result, ToolError};

/// How many schema violations one error message lists at most.
const MAX_REPORTED: usize = 5;

/// A tool's parameter schema, compiled once.
///
/// Remote `$ref`s are never fetched (the `jsonschema` crate is built without
/// its HTTP and file resolvers), so a schema that needs one fails to compile.
#[derive(Debug, Clone)]
pub struct ParameterValidator {
    tool: String,
    validator: jsonschema::Validator,
}

impl ParameterValidator {
    /// Compiles `schema` for the tool named `tool`.
    ///
    /// # Errors
    /// [`ToolError::InvalidSchema`] if `schema` is not a valid JSON Schema.
    pub fn new(tool: &str, schema: &Value) -> Result<Self> {
        let validator =
            jsonschema::validator_for(schema).map_err(|e| ToolError::InvalidSchema {
                tool: tool.to_owned(),
                message: e.to_string(),
            })?;
        Ok(Self {
            tool: tool.to_owned(),
            validator,
        })
    }

    /// Checks `params`.
    ///
    /// # Errors
    /// [`ToolError::InvalidParameter`] naming the first offending top-level
    /// parameter (`params` when the object itself is wrong, e.g. not an
    /// object), with every violation found (up to five) in the message.
    pub fn validate(&self, params: &Value) -> Result<()> {
        if self.validator.is_valid(params) {
            return Ok(());
        }
        let mut parameter = None;
        let mut message = String::new();
        for (i, error) in self.validator.iter_errors(params).enumerate() {
            if i == MAX_REPORTED {
                message.push_str("; ...");
                break;
            }
            let name = offending_parameter(&error);
            if parameter.is_none() {
                parameter = Some(name);
            }
            if i > 0 {
                message.push_str("; ");
            }
            let path = error.instance_path().as_str();
            if path.is_empty() {
                let _ = write!(message, "{error}");
            } else {
                let _ = write!(message, "at {path}: {error}");
            }
        }
        Err(ToolError::InvalidParameter {
            tool: self.tool.clone(),
            parameter: parameter.unwrap_or_else(|| "params".to_owned()),
            message,
        })
    }
}

/// The top-level property an error is about.
fn offending_parameter(error: &jsonschema::ValidationError<'_>) -> String {
    let path = error.instance_path().as_str();
    if let Some(first) = path.strip_prefix('/').and_then(|p| p.split('/').next()) {
        return first.replace("~1", "/").replace("~0", "~");
    }
    match error.kind() {
        ValidationErrorKind::Required { property } => property
            .as_str()
            .map_or_else(|| property.to_string(), str::to_owned),
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .first()
            .cloned()
            .unwrap_or_else(|| "params".to_owned()),
        _ => "params".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn validator() -> ParameterValidator {
        ParameterValidator::new(
            "t",
            &json!({
                "type": "object",
                "properties": {"a": {"type": "string"}, "b/c": {"type": "integer"}},
                "required": ["a"],
                "additionalProperties": false
            }),
        )
        .unwrap()
    }

    fn parameter_of(params: Value) -> String {
        match validator().validate(&params) {
            Err(ToolError::InvalidParameter { parameter, .. }) => parameter,
            other => panic!("expected InvalidParameter, got {other:?}"),
        }
    }

    #[test]
    fn names_the_parameter_for_each_kind_of_violation() {
        assert_eq!(parameter_of(json!({})), "a");
        assert_eq!(parameter_of(json!({"a": 1})), "a");
        assert_eq!(parameter_of(json!({"a": "x", "zz": 1})), "zz");
        assert_eq!(parameter_of(json!({"a": "x", "b/c": "no"})), "b/c");
        assert_eq!(parameter_of(json!([1])), "params");
        assert!(validator().validate(&json!({"a": "x"})).is_ok());
    }

    #[test]
    fn invalid_schema_is_refused() {
        let err = ParameterValidator::new("t", &json!({"type": 12})).unwrap_err();
        assert!(matches!(err, ToolError::InvalidSchema { .. }), "{err}");
    }

    #[test]
    fn remote_refs_are_not_fetched() {
        let schema = json!({"$ref": "https://example.com/schema.json"});
        assert!(ParameterValidator::new("t", &schema).is_err());
    }
}
