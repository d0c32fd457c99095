//! `calculator`: arithmetic and boolean expressions (evalexpr 11.3.1, MIT).

use std::borrow::Cow;
use std::collections::BTreeMap;

use async_trait::async_trait;
use evalexpr::{Context, EvalexprError, EvalexprResult, Value as ExprValue};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::params::{decode, decode_ref};
use crate::{Result, Synonyms, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata};

const NAME: &str = "calculator";
/// Longest expression accepted, in bytes.
const MAX_EXPRESSION_LEN: usize = 4096;
/// Deepest parenthesis nesting accepted (the evaluator recurses on it).
const MAX_NESTING: usize = 256;

/// Evaluates arithmetic, comparison and boolean expressions with optional
/// numeric variables: `2 + 2`, `x * (y - 1)`, `math::sqrt(2)`, `3 > 2 && true`.
///
/// Integer arithmetic is exact and checked: an overflow (`i64::MAX + 1`,
/// `math::abs(i64::MIN)`, `shl(1, 63)`, a shift by 64 or more or by a
/// negative amount) is an error, never a wrapped answer. An expression with
/// a float operand is evaluated in floating point. `7 / 2` is integer
/// division (`3`); write `7.0 / 2` for `3.5`. `str::substring` takes byte
/// offsets and refuses one inside a character.
#[derive(Debug)]
pub struct CalculatorTool {
    metadata: ToolMetadata,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params<'a> {
    #[serde(default)]
    operation: Operation,
    #[serde(borrow)]
    expression: Cow<'a, str>,
    #[serde(default)]
    variables: BTreeMap<String, serde_json::Number>,
}

/// `evaluate` (the default) or `validate` (parse only: is the expression
/// well-formed?), as rs-llmspell's calculator had them.
#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Operation {
    #[default]
    Evaluate,
    Validate,
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
                "operation": {"enum": ["evaluate", "validate"], "default": "evaluate",
                              "description": "validate only parses the expression"},
                "expression": {"type": "string", "minLength": 1, "maxLength": MAX_EXPRESSION_LEN},
                "variables": {
                    "type": "object",
                    "additionalProperties": {"type": "number"}
                }
            },
            "required": ["expression"],
            "additionalProperties": false
        }))
        .with_synonyms(synonyms())
        .with_result(json!({
            "type": "object",
            "properties": {
                "result": {"type": ["number", "boolean", "string", "array", "null"]},
                "expression": {"type": "string"}
            },
            "required": ["expression"]
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
        let p: Params<'static> = decode(NAME, params)?;
        evaluate(p)
    }

    /// Reads the expression in place (no copy of the parameters); the same
    /// result as `execute`.
    async fn execute_ref(&self, params: &Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params<'_> = decode_ref(NAME, params)?;
        evaluate(p)
    }
}

/// Checks and evaluates (or only parses) the expression.
fn evaluate(p: Params<'_>) -> Result<Value> {
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
    if matches!(p.operation, Operation::Validate) {
        return Ok(match evalexpr::build_operator_tree(&p.expression) {
            Ok(_) => json!({"valid": true, "expression": p.expression}),
            Err(e) => {
                json!({"valid": false, "expression": p.expression, "error": e.to_string()})
            }
        });
    }
    let context = Scope {
        variables: p
            .variables
            .into_iter()
            .map(|(name, number)| {
                let value = match number.as_i64() {
                    Some(i) => ExprValue::Int(i),
                    None => ExprValue::Float(number.as_f64().unwrap_or(f64::NAN)),
                };
                (name, value)
            })
            .collect(),
    };
    let value = evalexpr::eval_with_context(&p.expression, &context).map_err(|e| {
        ToolError::invalid_parameter(NAME, "expression", format!("cannot evaluate: {e}"))
    })?;
    let result = to_json(value).ok_or_else(|| {
        ToolError::execution(
            NAME,
            "the result is not a finite number (division by zero?)",
        )
    })?;
    Ok(json!({"result": result, "expression": p.expression.into_owned()}))
}

/// The variables, and checked versions of the evalexpr built-ins that wrap,
/// mask or panic on some integers (the others are evalexpr's own).
struct Scope {
    variables: BTreeMap<String, ExprValue>,
}

impl Context for Scope {
    fn get_value(&self, identifier: &str) -> Option<&ExprValue> {
        self.variables.get(identifier)
    }

    fn call_function(&self, identifier: &str, argument: &ExprValue) -> EvalexprResult<ExprValue> {
        checked_builtin(identifier, argument)
    }

    fn are_builtin_functions_disabled(&self) -> bool {
        false
    }

    fn set_builtin_functions_disabled(&mut self, disabled: bool) -> EvalexprResult<()> {
        if disabled {
            Err(EvalexprError::CustomMessage(
                "the calculator's built-in functions cannot be disabled".to_owned(),
            ))
        } else {
            Ok(())
        }
    }
}

fn overflow(what: String) -> EvalexprError {
    EvalexprError::CustomMessage(format!("integer overflow: {what}"))
}

/// `math::abs`, `shl`, `shr` and `str::substring` done without overflow or
/// panics; `FunctionIdentifierNotFound` for every other name (evalexpr then
/// uses its own built-in).
fn checked_builtin(identifier: &str, argument: &ExprValue) -> EvalexprResult<ExprValue> {
    match identifier {
        "math::abs" => match argument {
            ExprValue::Int(i) => i
                .checked_abs()
                .map(ExprValue::Int)
                .ok_or_else(|| overflow(format!("math::abs({i}) is not an i64"))),
            ExprValue::Float(f) => Ok(ExprValue::Float(f.abs())),
            other => Err(EvalexprError::expected_number(other.clone())),
        },
        "shl" | "shr" => {
            let args = argument.as_fixed_len_tuple(2)?;
            let (a, n) = (args[0].as_int()?, args[1].as_int()?);
            let Some(shift) = u32::try_from(n).ok().filter(|s| *s < 64) else {
                return Err(EvalexprError::CustomMessage(format!(
                    "{identifier}({a}, {n}): the shift must be from 0 to 63"
                )));
            };
            if identifier == "shr" {
                return Ok(ExprValue::Int(a >> shift));
            }
            // Arithmetic: a·2^shift, which must fit.
            i64::try_from(i128::from(a) << shift)
                .map(ExprValue::Int)
                .map_err(|_| overflow(format!("shl({a}, {n}) is not an i64")))
        }
        "str::substring" => {
            let args = argument.as_ranged_len_tuple(2..=3)?;
            let subject = args[0].as_string()?;
            let index = |v: &ExprValue| -> EvalexprResult<usize> {
                usize::try_from(v.as_int()?).map_err(|_| EvalexprError::OutOfBoundsAccess)
            };
            let start = index(&args[1])?;
            let end = match args.get(2) {
                Some(e) => index(e)?,
                None => subject.len(),
            };
            subject.get(start..end).map(ExprValue::from).ok_or_else(|| {
                EvalexprError::CustomMessage(format!(
                    "str::substring: {start}..{end} is not a range of whole characters \
                         within the {} bytes of the string",
                    subject.len()
                ))
            })
        }
        _ => Err(EvalexprError::FunctionIdentifierNotFound(
            identifier.to_owned(),
        )),
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

/// The names rs-llmspell's scripts use (see `Synonyms`).
fn synonyms() -> Synonyms {
    Synonyms::new().parameter("input", "expression")
}
