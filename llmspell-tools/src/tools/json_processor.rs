//! `json_processor`: JSONPath queries (RFC 9535, serde_json_path) and JSON
//! parsing/formatting.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use serde_json_path::JsonPath;

use crate::params::decode;
use crate::{Result, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata};

const NAME: &str = "json_processor";

/// JSON operations: `query` (an RFC 9535 JSONPath such as
/// `$.items[?@.price < 10].name`; returns every match with its location),
/// `get` (exactly the first match, or null), `parse` (a JSON string to a
/// value), `stringify` (pretty or compact), `keys` (of an object).
#[derive(Debug)]
pub struct JsonProcessorTool {
    metadata: ToolMetadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Operation {
    Query,
    Get,
    Parse,
    Stringify,
    Keys,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default = "query")]
    operation: Operation,
    input: Value,
    path: Option<String>,
    #[serde(default)]
    pretty: bool,
}

fn query() -> Operation {
    Operation::Query
}

impl Default for JsonProcessorTool {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonProcessorTool {
    /// The tool.
    #[must_use]
    pub fn new() -> Self {
        let metadata = ToolMetadata::new(
            NAME,
            "Query JSON with JSONPath (RFC 9535, e.g. `$.store.book[?@.price < 10].title`), \
             parse or stringify JSON, list object keys.",
            ToolCategory::Data,
        )
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "operation": {"enum": ["query", "get", "parse", "stringify", "keys"], "default": "query"},
                "input": {},
                "path": {"type": "string", "description": "JSONPath, starts with `$`"},
                "pretty": {"type": "boolean", "default": false}
            },
            "required": ["input"],
            "additionalProperties": false,
            "allOf": [
                {"if": {"properties": {"operation": {"enum": ["query", "get"]}}},
                 "then": {"required": ["path"]}},
                {"if": {"properties": {"operation": {"const": "parse"}}, "required": ["operation"]},
                 "then": {"properties": {"input": {"type": "string"}}}}
            ]
        }))
        .with_result(json!({"type": "object"}));
        Self { metadata }
    }
}

#[async_trait]
impl Tool for JsonProcessorTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let path = || -> Result<JsonPath> {
            let raw = p.path.as_deref().ok_or_else(|| {
                ToolError::invalid_parameter(NAME, "path", "required for `query` and `get`")
            })?;
            JsonPath::parse(raw).map_err(|e| {
                ToolError::invalid_parameter(NAME, "path", format!("not a valid JSONPath: {e}"))
            })
        };
        match p.operation {
            Operation::Query => {
                let path = path()?;
                let nodes = path.query_located(&p.input);
                let matches: Vec<Value> = nodes
                    .iter()
                    .map(|n| json!({"path": n.location().to_string(), "value": n.node()}))
                    .collect();
                let values: Vec<&Value> = nodes.nodes().collect();
                Ok(json!({"count": matches.len(), "values": values, "matches": matches}))
            }
            Operation::Get => {
                let path = path()?;
                let value = path.query(&p.input).first().cloned().unwrap_or(Value::Null);
                Ok(json!({"value": value}))
            }
            Operation::Parse => {
                let text = p.input.as_str().ok_or_else(|| {
                    ToolError::invalid_parameter(NAME, "input", "`parse` needs a JSON string")
                })?;
                let value: Value = serde_json::from_str(text).map_err(|e| {
                    ToolError::invalid_parameter(NAME, "input", format!("not valid JSON: {e}"))
                })?;
                Ok(json!({"value": value}))
            }
            Operation::Stringify => {
                let text = if p.pretty {
                    serde_json::to_string_pretty(&p.input)
                } else {
                    serde_json::to_string(&p.input)
                }
                .map_err(|e| ToolError::execution(NAME, e.to_string()))?;
                Ok(json!({"output": text}))
            }
            Operation::Keys => match &p.input {
                Value::Object(map) => Ok(json!({"keys": map.keys().collect::<Vec<_>>()})),
                _ => Err(ToolError::invalid_parameter(
                    NAME,
                    "input",
                    "`keys` needs an object",
                )),
            },
        }
    }
}
