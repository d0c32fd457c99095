//! Conditions: expressions, tool results and script functions that decide
//! branches, loop ends and breaks.
//!
//! An **expression** (`{type = "expression", expression = "input.n > 10 &&
//! state.ready"}`) is parsed once, when the workflow is created, by
//! [evalexpr](https://docs.rs/evalexpr/11.3.1) (comparison `== != < <= >
//! >=`, boolean `&& || !`, arithmetic `+ - * / % ^`, string literals in
//! double quotes, and evalexpr's built-in functions such as `len(x)`,
//! `str::to_lowercase(s)`, `min(a, b)`). Its variables are paths:
//!
//! | variable | value |
//! |---|---|
//! | `input`, `input.KEY.sub` | the workflow input |
//! | `state.KEY`, `state.KEY.sub` | the workflow state |
//! | `steps.NAME.output`, `steps.NAME.output.sub` | a step's output |
//! | `loop.index`, `loop.current_value.sub` | inside a loop |
//!
//! Path segments are identifiers (letters, digits, `_`); array elements are
//! indices (`input.items.0`). JSON values become evalexpr values (numbers,
//! strings, booleans, arrays as tuples); an object must be compared field
//! by field. `null`, a missing input or state key, and a path that leads
//! nowhere are `false`: `state.ready` is false until it is set, `!state.ready`
//! true, and `input.kind == "x"` false without `kind`; ordering or
//! arithmetic on them is an error. A step that has not run, or a loop variable outside
//! a loop, is an error. The expression's result is taken as [`truthy`].
//!
//! A **tool** condition (`{tool = "...", input = {...}}`) is true when the
//! tool's result is truthy; a **function** condition asks a script
//! function `(input, state) -> bool`.

use serde_json::Value;

use crate::template::{follow, Lookup};

/// Whether a JSON value counts as true.
///
/// `null` and `false` are false; numbers are true unless 0; strings unless
/// empty, `"false"` or `"0"`; arrays unless empty. An object — what tools
/// return — is decided by the first of its keys `result`, `value`,
/// `valid`, `success`, `exists`, `matches`, `count`, `output` that is
/// present (so `{valid = false, errors = {...}}` is false), and is
/// otherwise true unless empty.
///
/// ```
/// use llmspell_workflows::truthy;
/// use serde_json::json;
///
/// assert!(truthy(&json!({"result": true, "expression": "2 > 1"})));
/// assert!(!truthy(&json!({"valid": false, "errors": ["too short"]})));
/// assert!(!truthy(&json!({"count": 0, "values": []})));
/// assert!(truthy(&json!("yes")) && !truthy(&json!("false")) && !truthy(&json!(null)));
/// ```
#[must_use]
pub fn truthy(value: &Value) -> bool {
    const DECIDING: [&str; 8] = [
        "result", "value", "valid", "success", "exists", "matches", "count", "output",
    ];
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !(s.is_empty() || s == "false" || s == "0"),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => match DECIDING.iter().find_map(|k| m.get(*k)) {
            Some(v) => truthy(v),
            None => !m.is_empty(),
        },
    }
}

/// Where a variable of an expression points.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Root {
    Input,
    State(String),
    Step(String),
    LoopIndex,
    LoopValue,
}

#[derive(Debug, Clone, PartialEq)]
struct Variable {
    identifier: String,
    root: Root,
    path: Vec<String>,
}

const VARIABLES: &str = "variables are `input[.path]`, `state.KEY[.path]`, `steps.NAME.output[.path]`, `loop.index` and `loop.current_value[.path]`";

impl Variable {
    fn parse(identifier: &str) -> Result<Self, String> {
        let mut parts = identifier.split('.');
        let head = parts.next().unwrap_or_default();
        let rest: Vec<String> = parts.map(str::to_owned).collect();
        if rest.iter().any(String::is_empty) {
            return Err(format!("`{identifier}` has an empty path segment"));
        }
        let (root, path) = match head {
            "input" => (Root::Input, rest),
            "state" => match rest.split_first() {
                Some((key, path)) => (Root::State(key.clone()), path.to_vec()),
                None => return Err(format!("`{identifier}` names no state key; {VARIABLES}")),
            },
            "steps" => match rest.as_slice() {
                [name, output, path @ ..] if output == "output" => {
                    (Root::Step(name.clone()), path.to_vec())
                }
                _ => {
                    return Err(format!(
                        "`{identifier}`: write `steps.NAME.output` or `steps.NAME.output.path`"
                    ))
                }
            },
            "loop" => match rest.split_first() {
                Some((v, path)) if v == "current_value" || v == "current_item" => {
                    (Root::LoopValue, path.to_vec())
                }
                Some((v, [])) if v == "index" || v == "current_index" => {
                    (Root::LoopIndex, Vec::new())
                }
                _ => return Err(format!("unknown loop variable `{identifier}`; {VARIABLES}")),
            },
            _ => return Err(format!("unknown variable `{identifier}`; {VARIABLES}")),
        };
        Ok(Variable {
            identifier: identifier.to_owned(),
            root,
            path,
        })
    }

    /// The variable's value: `null` for a missing input or state key or a
    /// path that leads nowhere; an error for a step that has not run or a
    /// loop variable outside a loop (those are mistakes in the definition,
    /// not missing data).
    fn value(&self, scope: &dyn Lookup) -> Result<Value, String> {
        let root: Option<Value> = match &self.root {
            Root::Input => Some(scope.input().clone()),
            Root::State(key) => Some(scope.state(key).cloned().unwrap_or(Value::Null)),
            Root::Step(name) => match scope.step_output(name) {
                Some(v) => Some(v.clone()),
                None => {
                    return Err(format!(
                        "`{}`: step `{name}` has not run here (outputs available: [{}])",
                        self.identifier,
                        scope.visible_steps().join(", ")
                    ))
                }
            },
            Root::LoopIndex => scope.loop_vars().map(|(_, i)| Value::from(i)),
            Root::LoopValue => scope.loop_vars().map(|(v, _)| v.clone()),
        };
        let Some(root) = root else {
            return Err(format!("`{}` is used outside a loop", self.identifier));
        };
        Ok(follow(&root, &self.path).cloned().unwrap_or(Value::Null))
    }
}

fn to_evalexpr(v: &Value, identifier: &str) -> Result<evalexpr::Value, String> {
    Ok(match v {
        // Missing and null values are false, so `state.ready`, `!state.ready`
        // and `a && state.ready` read naturally before the key is set.
        Value::Null => evalexpr::Value::Boolean(false),
        Value::Bool(b) => evalexpr::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => evalexpr::Value::Int(i),
            None => evalexpr::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => evalexpr::Value::String(s.clone()),
        Value::Array(items) => evalexpr::Value::Tuple(
            items
                .iter()
                .map(|i| to_evalexpr(i, identifier))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => {
            let keys: Vec<&str> = m.keys().map(String::as_str).take(10).collect();
            return Err(format!(
                "`{identifier}` is an object (keys [{}]); compare one of its fields, e.g. `{identifier}.{}`",
                keys.join(", "),
                keys.first().copied().unwrap_or("field")
            ));
        }
    })
}

fn evalexpr_truthy(v: &evalexpr::Value) -> bool {
    match v {
        evalexpr::Value::Boolean(b) => *b,
        evalexpr::Value::Int(i) => *i != 0,
        evalexpr::Value::Float(f) => *f != 0.0,
        evalexpr::Value::String(s) => !(s.is_empty() || s == "false" || s == "0"),
        evalexpr::Value::Tuple(t) => !t.is_empty(),
        evalexpr::Value::Empty => false,
    }
}

/// A compiled condition expression.
#[derive(Debug, Clone)]
pub(crate) struct Expression {
    source: String,
    node: evalexpr::Node,
    variables: Vec<Variable>,
}

impl Expression {
    /// Parses `source`; `Err(reason)` for a syntax error, an assignment or
    /// an unknown variable.
    pub(crate) fn compile(source: &str) -> Result<Self, String> {
        if source.trim().is_empty() {
            return Err("the expression is empty".into());
        }
        let node = evalexpr::build_operator_tree(source)
            .map_err(|e| format!("cannot parse `{source}`: {e}"))?;
        // evalexpr builds trees with missing operands (`a >`) and only
        // complains when evaluating: check every operator's operand count.
        for n in node.iter() {
            use evalexpr::Operator as O;
            let want = match n.operator() {
                O::Add
                | O::Sub
                | O::Mul
                | O::Div
                | O::Mod
                | O::Exp
                | O::Eq
                | O::Neq
                | O::Gt
                | O::Lt
                | O::Geq
                | O::Leq
                | O::And
                | O::Or => Some(2),
                O::Not | O::Neg => Some(1),
                _ => None,
            };
            if let Some(want) = want {
                if n.children().len() != want {
                    return Err(format!(
                        "cannot parse `{source}`: operator `{}` needs {want} operand{}",
                        n.operator(),
                        if want == 1 { "" } else { "s" }
                    ));
                }
            }
        }
        if let Some(w) = node.iter_write_variable_identifiers().next() {
            return Err(format!(
                "`{source}` assigns to `{w}`; conditions only read values (use `==` to compare)"
            ));
        }
        let mut variables: Vec<Variable> = Vec::new();
        for id in node.iter_read_variable_identifiers() {
            if variables.iter().all(|v| v.identifier != id) {
                variables.push(Variable::parse(id).map_err(|e| format!("in `{source}`: {e}"))?);
            }
        }
        Ok(Expression {
            source: source.to_owned(),
            node,
            variables,
        })
    }

    /// The expression as written.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// The state keys it reads.
    pub(crate) fn state_keys(&self) -> impl Iterator<Item = &str> {
        self.variables.iter().filter_map(|v| match &v.root {
            Root::State(k) => Some(k.as_str()),
            _ => None,
        })
    }

    /// Evaluates against `scope`.
    pub(crate) fn eval(&self, scope: &dyn Lookup) -> Result<bool, String> {
        let mut ctx = evalexpr::HashMapContext::new();
        for var in &self.variables {
            let v = var.value(scope)?;
            let v = to_evalexpr(&v, &var.identifier)?;
            evalexpr::ContextWithMutableVariables::set_value(&mut ctx, var.identifier.clone(), v)
                .map_err(|e| format!("`{}`: {e}", var.identifier))?;
        }
        self.node
            .eval_with_context(&ctx)
            .map(|v| evalexpr_truthy(&v))
            .map_err(|e| format!("evaluating `{}`: {e}", self.source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use std::collections::HashMap;

    struct Scope {
        input: Value,
        state: HashMap<String, Value>,
        steps: HashMap<String, Value>,
        lp: Option<(Value, u64)>,
    }

    impl Lookup for Scope {
        fn step_output(&self, name: &str) -> Option<&Value> {
            self.steps.get(name)
        }
        fn visible_steps(&self) -> Vec<String> {
            self.steps.keys().cloned().collect()
        }
        fn input(&self) -> &Value {
            &self.input
        }
        fn state(&self, key: &str) -> Option<&Value> {
            self.state.get(key)
        }
        fn loop_vars(&self) -> Option<(&Value, u64)> {
            self.lp.as_ref().map(|(v, i)| (v, *i))
        }
    }

    fn scope() -> Scope {
        Scope {
            input: json!({"n": 12, "name": "ann", "tags": ["a", "b"], "ratio": 0.5, "user": {"age": 41}}),
            state: HashMap::from([("ready".into(), json!(true)), ("limit".into(), json!(3))]),
            steps: HashMap::from([("check".into(), json!({"score": 0.75, "ok": false}))]),
            lp: Some((json!({"price": 4}), 2)),
        }
    }

    fn eval(src: &str) -> Result<bool, String> {
        Expression::compile(src)?.eval(&scope())
    }

    #[test]
    fn operators_over_every_root() {
        let cases = [
            ("input.n > 10 && state.ready", true),
            ("input.n > 10 && !state.ready", false),
            ("input.n * 2 == 24", true),
            ("input.n % 5 == 2 || false", true),
            ("input.ratio < 1", true),
            ("input.name == \"ann\"", true),
            ("input.user.age >= 41", true),
            ("len(input.tags) == 2", true),
            ("steps.check.output.score >= 0.5", true),
            ("steps.check.output.ok", false),
            ("loop.index < state.limit", true),
            ("loop.current_value.price * loop.index == 8", true),
            ("input.n", true),
        ];
        for (src, want) in cases {
            assert_eq!(eval(src), Ok(want), "{src}");
        }
    }

    #[test]
    fn compile_errors_say_what_is_valid() {
        for (src, needle) in [
            ("", "empty"),
            ("input.n >", "cannot parse"),
            ("x = 1", "assigns"),
            ("foo > 1", "unknown variable `foo`"),
            ("steps.a.result", "steps.NAME.output"),
            ("state", "names no state key"),
            ("loop.nope", "unknown loop variable"),
        ] {
            let e = Expression::compile(src).unwrap_err();
            assert!(e.contains(needle), "{src}: {e}");
        }
    }

    #[test]
    fn runtime_errors_name_the_variable() {
        for (src, needle) in [
            ("steps.other.output > 1", "step `other` has not run"),
            ("input.user > 1", "is an object"),
            ("state.missing > 1", "evaluating `state.missing > 1`"),
        ] {
            let e = eval(src).unwrap_err();
            assert!(e.contains(needle), "{src}: {e}");
        }
        let mut s = scope();
        s.lp = None;
        let e = Expression::compile("loop.index > 0")
            .unwrap()
            .eval(&s)
            .unwrap_err();
        assert!(e.contains("outside a loop"), "{e}");
    }

    #[test]
    fn missing_data_is_null() {
        for (src, want) in [
            ("state.missing", false),
            ("!state.missing", true),
            ("input.nope == 1", false),
            ("input.nope != 1", true),
            ("input.user.nope.deeper == \"x\"", false),
            ("!steps.check.output.nope", true),
            ("input.n > 10 && state.missing", false),
        ] {
            assert_eq!(eval(src), Ok(want), "{src}");
        }
    }

    #[test]
    fn truthy_rules() {
        for (v, want) in [
            (json!(null), false),
            (json!(0), false),
            (json!(0.0), false),
            (json!(2), true),
            (json!(""), false),
            (json!("0"), false),
            (json!("no"), true),
            (json!([]), false),
            (json!([0]), true),
            (json!({}), false),
            (json!({"a": 1}), true),
            (json!({"result": false, "other": true}), false),
            (json!({"exists": true}), true),
            (json!({"count": 0, "values": []}), false),
            (json!({"output": "x"}), true),
        ] {
            assert_eq!(truthy(&v), want, "{v}");
        }
    }

    proptest! {
        #[test]
        fn compile_never_panics(s in ".{0,40}") {
            let _ = Expression::compile(&s);
        }

        #[test]
        fn integer_comparisons_agree_with_rust(a in -1000i64..1000, b in -1000i64..1000) {
            let s = Scope {
                input: json!({"a": a, "b": b}),
                state: HashMap::new(),
                steps: HashMap::new(),
                lp: None,
            };
            for (op, want) in [(">", a > b), ("<", a < b), (">=", a >= b), ("==", a == b), ("!=", a != b)] {
                let e = Expression::compile(&format!("input.a {op} input.b")).unwrap();
                prop_assert_eq!(e.eval(&s), Ok(want));
            }
        }
    }
}
