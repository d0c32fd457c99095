//! `calculator`: arithmetic and boolean expressions (evalexpr 11.3.1, MIT).

use std::collections::BTreeMap;

use async_trait::async_trait;
use evalexpr::{ContextWithMutableVariables, HashMapContext, Value as ExprValue};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::params::decode;
use crate::{Result, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata};

const NAME: &str = "calculator";
/// Longest expression accepted, in bytes.
const MAX_EXPRESSION_LEN: usize = 4096;
/// Deepest parenthesis nesting accepted (the evaluator recurses on it).
const MAX_NESTING: usize = 256;

/// Evaluates arithmetic, comparison and boolean expressions with optional
/// numeric variables: `2 + 2`, `x * (y - 1)`, `math::sqrt(2)`, `3 > 2 && true`.
///
/// Integer arithmetic is exact and checked (overflow is an error); an
/// expression with a float operand is evaluated in floating point. `7 / 2`
/// is integer division (`3`); write `7.0 / 2` for `3.5`.
#[derive(Debug)]
pub struct CalculatorTool {
    metadata: ToolMetadata,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    expression: String,
    #[serde(default)]
    variables: BTreeMap<String, serde_json::Number>,
}

impl Default for CalculatorTool {
    fn default() -> Self {
        Self::new()
    }
}

impl CalculatorTool {
    /// The tool.
    #[must_use]
    pub fn new() -> Self {
        let metadata = ToolMetadata::new(
            NAME,
            "Evaluate an arithmetic or boolean expression, e.g. `2 + 2` or `x * 1.5` with variables.",
            ToolCategory::Utility,
        )
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "expression": {"type": "string", "minLength": 1, "maxLength": MAX_EXPRESSION_LEN},
                "variables": {
                    "type": "object",
                    "additionalProperties": {"type": "number"}
                }
            },
            "required": ["expression"],
            "additionalProperties": false
        }))
        .with_result(json!({
            "type": "object",
            "properties": {
                "result": {"type": ["number", "boolean", "string", "array", "null"]},
                "expression": {"type": "string"}
            },
            "required": ["result", "expression"]
        }));
        Self { metadata }
    }
}

#[async_trait]
impl Tool for CalculatorTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        if p.expression.len() > MAX_EXPRESSION_LEN {
            return Err(ToolError::invalid_parameter(
                NAME,
                "expression",
                format!("longer than {MAX_EXPRESSION_LEN} bytes"),
            ));
        }
        let mut depth = 0usize;
        for c in p.expression.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth > MAX_NESTING {
                return Err(ToolError::invalid_parameter(
                    NAME,
                    "expression",
                    format!("parentheses nest deeper than {MAX_NESTING} levels"),
                ));
            }
        }
        let mut context = HashMapContext::new();
        for (name, number) in p.variables {
            let value = match number.as_i64() {
                Some(i) => ExprValue::Int(i),
                None => ExprValue::Float(number.as_f64().unwrap_or(f64::NAN)),
            };
            context.set_value(name.clone(), value).map_err(|e| {
                ToolError::invalid_parameter(NAME, "variables", format!("variable `{name}`: {e}"))
            })?;
        }
        let value = evalexpr::eval_with_context(&p.expression, &context).map_err(|e| {
            ToolError::invalid_parameter(NAME, "expression", format!("cannot evaluate: {e}"))
        })?;
        let result = to_json(value).ok_or_else(|| {
            ToolError::execution(
                NAME,
                "the result is not a finite number (division by zero?)",
            )
        })?;
        Ok(json!({"result": result, "expression": p.expression}))
    }
}

/// The JSON form of a result; `None` for a non-finite float.
fn to_json(value: ExprValue) -> Option<Value> {
    Some(match value {
        ExprValue::String(s) => Value::String(s),
        ExprValue::Float(f) => Value::Number(serde_json::Number::from_f64(f)?),
        ExprValue::Int(i) => Value::from(i),
        ExprValue::Boolean(b) => Value::Bool(b),
        ExprValue::Tuple(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Option<_>>()?)
        }
        ExprValue::Empty => Value::Null,
    })
}
