//! `json_processor`: JSONPath queries (RFC 9535, serde_json_path) and JSON
//! parsing/formatting.

mod query_bounds;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use serde_json_path::JsonPath;

use crate::blocking::{self, Cancel};
use crate::params::decode;
use crate::{Result, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata};

use query_bounds::{check_shape, cost, DocShape, MAX_COST};

/// Most nodes a `query` result may copy out (the matched values, counted
/// with their contents).
const MAX_RESULT_NODES: usize = 2_000_000;

const NAME: &str = "json_processor";

/// JSON operations: `query` (an RFC 9535 JSONPath such as
/// `$.items[?@.price < 10].name`; returns every match with its location),
/// `get` (exactly the first match, or null), `parse` (a JSON string to a
/// value), `stringify` (pretty or compact), `keys` (of an object).
///
/// Queries are bounded before they run: at most 4096 bytes, 32 levels of
/// brackets and parentheses, 6 levels of nested filters, and an upper bound
/// of the evaluation's work on the given input (about 50 million steps:
/// a second or two); a result may hold at most 2 million nodes. A query
/// over a bound is an `InvalidParameter` error naming `path`. Queries run
/// on the tools' worker threads, so the per-call timeout holds.
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
        match p.operation {
            Operation::Query | Operation::Get => {
                let raw = p.path.ok_or_else(|| {
                    ToolError::invalid_parameter(NAME, "path", "required for `query` and `get`")
                })?;
                check_shape(&raw).map_err(|e| ToolError::invalid_parameter(NAME, "path", e))?;
                let get = matches!(p.operation, Operation::Get);
                blocking::run(NAME, move |cancel| run_query(&raw, &p.input, get, cancel)).await
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

/// Parses, bounds and runs a query (on a worker thread).
fn run_query(raw: &str, input: &Value, get: bool, cancel: &Cancel) -> Result<Value> {
    let path = JsonPath::parse(raw).map_err(|e| {
        ToolError::invalid_parameter(NAME, "path", format!("not a valid JSONPath: {e}"))
    })?;
    let bound = cost(raw, DocShape::of(input));
    if bound > MAX_COST {
        return Err(ToolError::invalid_parameter(
            NAME,
            "path",
            format!(
                "the query could take up to {bound:.1e} steps on this input, more than the \
                 {MAX_COST:.0e} allowed; use fewer selectors per bracket, fewer `..` \
                 segments and less nesting, or query a smaller part of the input"
            ),
        ));
    }
    cancel.check(NAME)?;
    if get {
        let value = path.query(input).first().cloned().unwrap_or(Value::Null);
        return Ok(json!({"value": value}));
    }
    let nodes = path.query_located(input);
    let mut left = MAX_RESULT_NODES;
    let mut values = Vec::with_capacity(nodes.len());
    let mut matches = Vec::with_capacity(nodes.len());
    for node in nodes.iter() {
        cancel.check(NAME)?;
        let size = nodes_up_to(node.node(), left).ok_or_else(|| {
            ToolError::invalid_parameter(
                NAME,
                "path",
                format!(
                    "the result would hold more than {MAX_RESULT_NODES} nodes; \
                     narrow the query"
                ),
            )
        })?;
        left -= size;
        values.push(node.node().clone());
        matches.push(json!({"path": node.location().to_string(), "value": node.node()}));
    }
    Ok(json!({"count": matches.len(), "values": values, "matches": matches}))
}

/// The number of nodes in `value` if at most `limit`.
fn nodes_up_to(value: &Value, limit: usize) -> Option<usize> {
    let mut count = 0usize;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        count += 1;
        if count > limit {
            return None;
        }
        match v {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    Some(count)
}
