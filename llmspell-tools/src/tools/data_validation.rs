//! `data_validation`: validate JSON data against a JSON Schema (jsonschema),
//! or against rs-llmspell's rule lists translated into one.

mod rules;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::params::decode;
use crate::{Result, Synonyms, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata};

const NAME: &str = "data_validation";
/// Most errors listed in one result.
const MAX_ERRORS: usize = 100;

/// Validates any JSON value against a JSON Schema (drafts 4 to 2020-12),
/// listing every violation with its location. Remote `$ref`s are never
/// fetched. Instead of `schema`, `rules` takes rs-llmspell's rule list
/// (`{rules = {{type = "required"}, {type = "type", expected =
/// "object"}}}`), translated into a schema (see `data_validation/rules.rs`).
#[derive(Debug)]
pub struct DataValidationTool {
    metadata: ToolMetadata,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    data: Value,
    schema: Option<Value>,
    rules: Option<Value>,
}

impl Default for DataValidationTool {
    fn default() -> Self {
        Self::new()
    }
}

impl DataValidationTool {
    /// The tool.
    #[must_use]
    pub fn new() -> Self {
        let metadata = ToolMetadata::new(
            NAME,
            "Validate JSON data against a JSON Schema; returns whether it is valid and every \
             violation with its location.",
            ToolCategory::Data,
        )
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "data": {},
                "schema": {"type": ["object", "boolean"]},
                "rules": {"type": ["object", "array"],
                          "description": "rs-llmspell's rule list, instead of `schema`"}
            },
            "required": ["data"],
            "if": {"not": {"required": ["rules"]}},
            "then": {"required": ["schema"]},
            "additionalProperties": false
        }))
        .with_synonyms(synonyms())
        .with_result(json!({
            "type": "object",
            "properties": {
                "valid": {"type": "boolean"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "path": {"type": "string"},
                            "keyword": {"type": "string"},
                            "message": {"type": "string"}
                        }
                    }
                }
            },
            "required": ["valid", "errors"]
        }));
        Self { metadata }
    }
}

#[async_trait]
impl Tool for DataValidationTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let schema = match (p.schema, p.rules) {
            (Some(schema), None) => schema,
            (None, Some(rules)) => rules::to_schema(&rules)?,
            (Some(_), Some(_)) => {
                return Err(ToolError::invalid_parameter(
                    NAME,
                    "rules",
                    "`schema` and `rules` were both given; give one of them",
                ))
            }
            (None, None) => {
                return Err(ToolError::invalid_parameter(
                    NAME,
                    "schema",
                    "give a JSON Schema in `schema` or rs-llmspell rules in `rules`",
                ))
            }
        };
        let validator = jsonschema::validator_for(&schema).map_err(|e| {
            ToolError::invalid_parameter(NAME, "schema", format!("not a usable JSON Schema: {e}"))
        })?;
        let errors: Vec<Value> = validator
            .iter_errors(&p.data)
            .take(MAX_ERRORS)
            .map(|e| {
                json!({
                    "path": e.instance_path().as_str(),
                    "keyword": e.kind().keyword(),
                    "message": e.to_string(),
                })
            })
            .collect();
        Ok(json!({"valid": errors.is_empty(), "errors": errors}))
    }
}

/// The names rs-llmspell's scripts use (see `Synonyms`).
fn synonyms() -> Synonyms {
    Synonyms::new().parameter("input", "data")
}
