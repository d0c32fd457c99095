//! `json_processor`: jq programs (jaq), JSONPath queries (RFC 9535,
//! serde_json_path), JSON Schema validation and JSON parsing/formatting.

mod jq;
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

/// JSON operations: `query` with a jq program in `query` (`.users[] |
/// select(.age > 25) | .name`; returns `result` — the single output, or
/// the array of outputs — plus `results` and `count`) or an RFC 9535
/// JSONPath in `path` (`$.items[?@.price < 10].name`; returns every match
/// with its location), `get` (exactly the first output or match, or
/// null), `validate` (against the JSON Schema in `schema`), `parse` (a
/// JSON string to a value), `stringify` (pretty or compact), `keys` (of an
/// object). For `query`, `get`, `validate` and `keys`, an `input` that is
/// a string holding JSON text is parsed first (as rs-llmspell scripts
/// pass it); any other string stays a string.
///
/// jq programs are at most 4096 bytes, may not define functions (`def`,
/// whose recursion has no bound), may output at most 100,000 values, and
/// run on the tools' worker threads: the per-call timeout holds for the
/// caller, and the worker checks for cancellation between output values
/// (a program that computes one value forever keeps its worker busy).
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
    Validate,
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
    query: Option<String>,
    schema: Option<Value>,
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
            "Query JSON with jq (`query`, e.g. `.users[] | select(.age > 25) | .name`) or \
             JSONPath (`path`, RFC 9535, e.g. `$.store.book[?@.price < 10].title`), validate \
             it against a JSON Schema, parse or stringify JSON, list object keys.",
            ToolCategory::Data,
        )
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "operation": {"enum": ["query", "get", "validate", "parse", "stringify", "keys"], "default": "query"},
                "input": {"description": "the JSON value; for query, get, validate and keys a string of JSON text is parsed first"},
                "query": {"type": "string", "maxLength": jq::MAX_PROGRAM_LEN,
                          "description": "a jq program, e.g. `.value > 50`"},
                "path": {"type": "string", "description": "JSONPath, starts with `$`; `query` and `get` need `path` or `query`"},
                "schema": {"type": ["object", "boolean"], "description": "JSON Schema for `validate`"},
                "pretty": {"type": "boolean", "default": false}
            },
            "required": ["input"],
            "additionalProperties": false,
            "allOf": [
                {"if": {"properties": {"operation": {"enum": ["query", "get"]}}},
                 "then": {"if": {"not": {"required": ["query"]}}, "then": {"required": ["path"]}}},
                {"if": {"properties": {"operation": {"const": "validate"}}, "required": ["operation"]},
                 "then": {"required": ["schema"]}},
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
        let mut p: Params = decode(NAME, params)?;
        if matches!(
            p.operation,
            Operation::Query | Operation::Get | Operation::Validate | Operation::Keys
        ) {
            parse_text(&mut p.input);
        }
        match p.operation {
            Operation::Query | Operation::Get => {
                let get = matches!(p.operation, Operation::Get);
                match (p.path, p.query) {
                    (Some(_), Some(_)) => Err(ToolError::invalid_parameter(
                        NAME,
                        "query",
                        "`query` (jq) and `path` (JSONPath) were both given; give one of them",
                    )),
                    (None, None) => Err(ToolError::invalid_parameter(
                        NAME,
                        "query",
                        "`query` and `get` need a jq program in `query` or a JSONPath in `path`",
                    )),
                    (None, Some(program)) => {
                        jq::check(&program)?;
                        let input = p.input;
                        blocking::run(NAME, move |cancel| {
                            let mut out = jq::run(&program, &input, cancel)?;
                            if get {
                                let first = if out.is_empty() {
                                    Value::Null
                                } else {
                                    out.swap_remove(0)
                                };
                                return Ok(json!({"value": first}));
                            }
                            let count = out.len();
                            let result = if count == 1 {
                                out[0].clone()
                            } else {
                                Value::Array(out.clone())
                            };
                            Ok(json!({"result": result, "results": out, "count": count}))
                        })
                        .await
                    }
                    (Some(raw), None) => {
                        check_shape(&raw)
                            .map_err(|e| ToolError::invalid_parameter(NAME, "path", e))?;
                        let input = p.input;
                        blocking::run(NAME, move |cancel| run_query(&raw, &input, get, cancel))
                            .await
                    }
                }
            }
            Operation::Validate => {
                let schema = p.schema.ok_or_else(|| {
                    ToolError::invalid_parameter(NAME, "schema", "required for `validate`")
                })?;
                validate(&p.input, &schema)
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

/// A string holding JSON text becomes the value it holds.
fn parse_text(input: &mut Value) {
    if let Value::String(text) = input {
        if let Ok(parsed) = serde_json::from_str::<Value>(text) {
            *input = parsed;
        }
    }
}

/// Checks `input` against `schema` (remote `$ref`s are never fetched).
fn validate(input: &Value, schema: &Value) -> Result<Value> {
    let validator = jsonschema::validator_for(schema).map_err(|e| {
        ToolError::invalid_parameter(NAME, "schema", format!("not a valid JSON Schema: {e}"))
    })?;
    let errors: Vec<Value> = validator
        .iter_errors(input)
        .take(100)
        .map(|e| json!({"path": e.instance_path().as_str(), "message": e.to_string()}))
        .collect();
    let valid = errors.is_empty();
    Ok(json!({"valid": valid, "is_valid": valid, "errors": errors}))
}
