//! From definition data to a validated [`Workflow`].
//!
//! Every rule is checked here, when the workflow is created, and each
//! violation is an [`WorkflowError::InvalidDefinition`] naming the field
//! (indices from 1). Unknown keys are ignored (scripts written for other
//! llmspell versions carry extra keys such as `on_complete`), unknown
//! values of known keys are refused.

use std::collections::HashSet;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{
    Aggregation, Bindings, Body, Branch, Compensation, Condition, Definition, Join, LoopIterator,
    ParallelBranch, Pattern, Step, StepKind, Workflow, FUNCTION_MARKER, WORKFLOW_MARKER,
};
use crate::agent::AgentRunner;
use crate::condition::Expression;
use crate::error::{Result, WorkflowError};
use crate::template::Template;
use llmspell_tools::ToolRegistry;

/// Default `max_iterations` of a loop.
pub(crate) const DEFAULT_MAX_ITERATIONS: u64 = 1000;
/// How deeply inline workflow definitions may nest.
const MAX_DEPTH: usize = 32;
/// Longest step, branch or workflow name.
const MAX_NAME: usize = 128;

/// What definitions are checked against.
pub(crate) struct Registries<'a> {
    pub(crate) tools: &'a ToolRegistry,
    pub(crate) agents: Option<&'a dyn AgentRunner>,
    pub(crate) workflow: &'a dyn Fn(&str) -> Option<Workflow>,
    pub(crate) workflow_names: &'a dyn Fn() -> Vec<String>,
}

/// Parses and validates a definition. `pattern` is the constructor's
/// (`Workflow.sequential{...}`); `None` reads it from the `type` key.
pub(crate) fn parse(
    pattern: Option<Pattern>,
    value: &Value,
    bindings: &Bindings,
    reg: &Registries<'_>,
) -> Result<Workflow> {
    let parser = Parser { bindings, reg };
    parser.workflow(pattern, value, "", 0, None)
}

struct Parser<'a> {
    bindings: &'a Bindings,
    reg: &'a Registries<'a>,
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn index(prefix: &str, key: &str, i: usize) -> String {
    format!("{}[{}]", join(prefix, key), i + 1)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(m) if m.contains_key(FUNCTION_MARKER) => "a function",
        Value::Object(m) if m.contains_key(WORKFLOW_MARKER) => "a workflow",
        Value::Object(_) => "a table",
    }
}

fn as_object<'v>(v: &'v Value, field: &str, what: &str) -> Result<&'v Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| WorkflowError::invalid(field, format!("must be {what}, not {}", kind_of(v))))
}

fn opt_str<'v>(m: &'v Map<String, Value>, key: &str, field: &str) -> Result<Option<&'v str>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(WorkflowError::invalid(
            join(field, key),
            format!("must be a string, not {}", kind_of(other)),
        )),
    }
}

/// The string `key` of `m`, which must be there.
fn required_str<'v>(m: &'v Map<String, Value>, key: &str, field: &str) -> Result<&'v str> {
    opt_str(m, key, field)?.ok_or_else(|| WorkflowError::invalid(join(field, key), "is missing"))
}

fn check_name(name: &str, field: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(WorkflowError::invalid(field, "must not be empty"));
    }
    if name.chars().count() > MAX_NAME {
        return Err(WorkflowError::invalid(
            field,
            format!("`{name}` is longer than {MAX_NAME} characters"),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, ':' | '{' | '}') || c.is_control())
    {
        return Err(WorkflowError::invalid(
            field,
            format!("`{name}` contains `{}`; names may not contain `:`, `{{`, `}}` or control characters", c.escape_debug()),
        ));
    }
    Ok(())
}

/// A positive integer field.
fn positive(m: &Map<String, Value>, key: &str, field: &str) -> Result<Option<u64>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 => Ok(Some(n)),
            _ => Err(WorkflowError::invalid(
                join(field, key),
                format!("must be a positive integer, not {v}"),
            )),
        },
    }
}

/// An empty script table (`{}`), which converts to an empty JSON object:
/// where a list is expected it is an empty list.
fn is_empty_table(v: &Value) -> bool {
    v.as_object().is_some_and(Map::is_empty)
}

/// Refuses marker values where data is expected.
fn no_markers(v: &Value, field: &str) -> Result<()> {
    match v {
        Value::Object(m) => {
            if m.contains_key(FUNCTION_MARKER) || m.contains_key(WORKFLOW_MARKER) {
                return Err(WorkflowError::invalid(
                    field,
                    format!(
                        "{} cannot be data; functions go in `fn` or a condition, workflows in `workflow`",
                        kind_of(v)
                    ),
                ));
            }
            m.iter()
                .try_for_each(|(k, v)| no_markers(v, &join(field, k)))
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| no_markers(v, &format!("{field}[{}]", i + 1))),
        _ => Ok(()),
    }
}

fn template(v: &Value, field: &str) -> Result<Template> {
    no_markers(v, field)?;
    Template::compile(v).map_err(|reason| WorkflowError::invalid(field, reason))
}

impl Parser<'_> {
    fn workflow(
        &self,
        pattern: Option<Pattern>,
        value: &Value,
        field: &str,
        depth: usize,
        default_name: Option<&str>,
    ) -> Result<Workflow> {
        if depth > MAX_DEPTH {
            return Err(WorkflowError::invalid(
                field,
                format!("workflows nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        let m = as_object(
            value,
            if field.is_empty() {
                "definition"
            } else {
                field
            },
            "a table",
        )?;
        let declared = match opt_str(m, "type", field)?.or(opt_str(m, "pattern", field)?) {
            Some(t) => Some(t.parse::<Pattern>().map_err(|_| {
                WorkflowError::invalid(
                    join(field, "type"),
                    format!("unknown workflow pattern `{t}`; valid patterns: sequential, conditional, loop, parallel"),
                )
            })?),
            None => None,
        };
        let pattern = match (pattern, declared) {
            (Some(p), Some(d)) if p != d => {
                return Err(WorkflowError::invalid(
                    join(field, "type"),
                    format!("says `{d}` but the workflow is created as `{p}`"),
                ))
            }
            (Some(p), _) | (None, Some(p)) => p,
            (None, None) => {
                return Err(WorkflowError::invalid(
                    join(field, "type"),
                    "is missing; valid patterns: sequential, conditional, loop, parallel",
                ))
            }
        };
        let name = match opt_str(m, "name", field)? {
            Some(n) => {
                check_name(n, &join(field, "name"))?;
                n.to_owned()
            }
            None => default_name.map_or_else(|| format!("{pattern}_workflow"), str::to_owned),
        };
        let description = opt_str(m, "description", field)?.map(str::to_owned);
        let body = match pattern {
            Pattern::Sequential => Body::Sequential {
                steps: self.steps(m, &["steps"], field, depth)?,
            },
            Pattern::Conditional => self.conditional(m, field, depth)?,
            Pattern::Loop => self.loop_body(m, field, depth)?,
            Pattern::Parallel => self.parallel(m, field, depth)?,
        };
        let fingerprint = self.fingerprint(value);
        Ok(Workflow {
            def: std::sync::Arc::new(Definition {
                name,
                description,
                body,
                fingerprint,
            }),
        })
    }

    /// SHA-256 of the definition's JSON with function markers as a
    /// placeholder and workflow markers as that workflow's fingerprint.
    fn fingerprint(&self, value: &Value) -> String {
        fn canonical(p: &Parser<'_>, v: &Value) -> Value {
            match v {
                Value::Object(m) => {
                    if m.contains_key(FUNCTION_MARKER) {
                        return Value::from(FUNCTION_MARKER);
                    }
                    if let Some(i) = m.get(WORKFLOW_MARKER).and_then(Value::as_u64) {
                        let fp = usize::try_from(i)
                            .ok()
                            .and_then(|i| p.bindings.workflows.get(i))
                            .map_or_else(String::new, |w| w.fingerprint().to_owned());
                        return serde_json::json!({ WORKFLOW_MARKER: fp });
                    }
                    // Sorted keys whatever the map's own order.
                    let mut keys: Vec<&String> = m.keys().collect();
                    keys.sort();
                    Value::Array(
                        keys.into_iter()
                            .map(|k| serde_json::json!([k, canonical(p, &m[k])]))
                            .collect(),
                    )
                }
                Value::Array(a) => Value::Array(a.iter().map(|v| canonical(p, v)).collect()),
                other => other.clone(),
            }
        }
        let bytes = serde_json::to_vec(&canonical(self, value)).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }

    /// A non-empty list of steps under the first present key of `keys`,
    /// names unique.
    fn steps(
        &self,
        m: &Map<String, Value>,
        keys: &[&str],
        field: &str,
        depth: usize,
    ) -> Result<Vec<Step>> {
        let (key, value) = keys
            .iter()
            .find_map(|k| m.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)))
            .ok_or_else(|| {
                WorkflowError::invalid(join(field, keys[0]), "is missing; give a list of steps")
            })?;
        let list_field = join(field, key);
        if is_empty_table(value) {
            return Err(WorkflowError::invalid(
                list_field,
                "is empty; give at least one step",
            ));
        }
        let Value::Array(items) = value else {
            return Err(WorkflowError::invalid(
                list_field,
                format!("must be a list of steps, not {}", kind_of(value)),
            ));
        };
        if items.is_empty() {
            return Err(WorkflowError::invalid(
                list_field,
                "is empty; give at least one step",
            ));
        }
        let mut seen = HashSet::new();
        let mut steps = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let f = index(field, key, i);
            let step = self.step(item, &f, depth)?;
            if !seen.insert(step.name.clone()) {
                return Err(WorkflowError::invalid(
                    join(&f, "name"),
                    format!(
                        "duplicate step name `{}`; step names must be unique",
                        step.name
                    ),
                ));
            }
            steps.push(step);
        }
        Ok(steps)
    }

    fn step(&self, value: &Value, field: &str, depth: usize) -> Result<Step> {
        let m = as_object(value, field, "a step table")?;
        let name = opt_str(m, "name", field)?.ok_or_else(|| {
            WorkflowError::invalid(join(field, "name"), "is missing; every step needs a name")
        })?;
        check_name(name, &join(field, "name"))?;
        let present: Vec<&str> = ["tool", "agent", "workflow", "fn"]
            .into_iter()
            .filter(|k| m.get(*k).is_some_and(|v| !v.is_null()))
            .collect();
        let declared = opt_str(m, "type", field)?;
        let kind_key = match (present.as_slice(), declared) {
            ([one], _) => *one,
            ([], Some(t)) => {
                let key = step_type_key(t, field)?;
                return Err(WorkflowError::invalid(
                    join(field, key),
                    format!("is missing; a step of type `{t}` names its {key} in `{key}`"),
                ));
            }
            ([], None) => {
                return Err(WorkflowError::invalid(
                    field,
                    "has no kind; give one of `tool`, `agent`, `workflow` or `fn`",
                ))
            }
            (many, _) => {
                return Err(WorkflowError::invalid(
                    field,
                    format!(
                        "has several kinds ({}); give exactly one of `tool`, `agent`, `workflow` or `fn`",
                        many.join(", ")
                    ),
                ))
            }
        };
        if let Some(t) = declared {
            let key = step_type_key(t, field)?;
            if key != kind_key {
                return Err(WorkflowError::invalid(
                    join(field, "type"),
                    format!("says `{t}` but the step has `{kind_key}`"),
                ));
            }
        }
        let kind_field = join(field, kind_key);
        let kind_value = &m[kind_key];
        let kind = match kind_key {
            "tool" => StepKind::Tool(self.tool_name(kind_value, &kind_field)?),
            "agent" => {
                let Value::String(agent) = kind_value else {
                    return Err(WorkflowError::invalid(
                        kind_field,
                        format!("must be an agent name, not {}", kind_of(kind_value)),
                    ));
                };
                match self.reg.agents {
                    None => {
                        return Err(WorkflowError::invalid(
                            kind_field,
                            format!(
                                "agent `{agent}`: no agent runtime is configured for workflows"
                            ),
                        ))
                    }
                    Some(a) if !a.contains(agent) => {
                        return Err(WorkflowError::invalid(
                            kind_field,
                            format!(
                                "no agent named `{agent}` (agents: [{}])",
                                a.names().join(", ")
                            ),
                        ))
                    }
                    Some(_) => StepKind::Agent(agent.clone()),
                }
            }
            "workflow" => StepKind::Workflow(self.nested(kind_value, &kind_field, depth, name)?),
            _ => StepKind::Function(self.function(kind_value, &kind_field)?),
        };
        let input = match m.get("input") {
            None | Some(Value::Null) => None,
            Some(v) => Some(template(v, &join(field, "input"))?),
        };
        let compensate = match m.get("compensate") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let cf = join(field, "compensate");
                let c = as_object(v, &cf, "a table `{tool = ..., input = ...}`")?;
                let tool = c.get("tool").ok_or_else(|| {
                    WorkflowError::invalid(
                        join(&cf, "tool"),
                        "is missing; name the tool that undoes the step",
                    )
                })?;
                Some(Compensation {
                    tool: self.tool_name(tool, &join(&cf, "tool"))?,
                    input: template(
                        c.get("input").unwrap_or(&Value::Object(Map::new())),
                        &join(&cf, "input"),
                    )?,
                })
            }
        };
        Ok(Step {
            name: name.to_owned(),
            kind,
            input,
            compensate,
        })
    }

    fn tool_name(&self, v: &Value, field: &str) -> Result<String> {
        let Value::String(tool) = v else {
            return Err(WorkflowError::invalid(
                field,
                format!("must be a tool name, not {}", kind_of(v)),
            ));
        };
        if !self.reg.tools.contains(tool) {
            return Err(WorkflowError::invalid(
                field,
                format!(
                    "no tool named `{tool}` is registered (tools: [{}])",
                    self.reg.tools.names().join(", ")
                ),
            ));
        }
        Ok(tool.clone())
    }

    fn function(
        &self,
        v: &Value,
        field: &str,
    ) -> Result<std::sync::Arc<dyn crate::ScriptFunction>> {
        v.as_object()
            .and_then(|m| m.get(FUNCTION_MARKER))
            .and_then(Value::as_u64)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.bindings.functions.get(i))
            .cloned()
            .ok_or_else(|| {
                WorkflowError::invalid(field, format!("must be a function, not {}", kind_of(v)))
            })
    }

    fn nested(&self, v: &Value, field: &str, depth: usize, step: &str) -> Result<Workflow> {
        match v {
            Value::String(name) => (self.reg.workflow)(name).ok_or_else(|| {
                WorkflowError::invalid(
                    field,
                    format!(
                        "no workflow named `{name}` is defined (workflows: [{}]); create it first",
                        (self.reg.workflow_names)().join(", ")
                    ),
                )
            }),
            Value::Object(m) if m.contains_key(WORKFLOW_MARKER) => m[WORKFLOW_MARKER]
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| self.bindings.workflows.get(i))
                .cloned()
                .ok_or_else(|| WorkflowError::invalid(field, "is not a known workflow")),
            Value::Object(_) => self.workflow(None, v, field, depth + 1, Some(step)),
            other => Err(WorkflowError::invalid(
                field,
                format!(
                    "must be a workflow, a workflow's name or an inline definition with `type`, not {}",
                    kind_of(other)
                ),
            )),
        }
    }

    fn condition(&self, v: &Value, field: &str) -> Result<Condition> {
        match v {
            Value::String(src) => Expression::compile(src)
                .map(Condition::Expression)
                .map_err(|r| WorkflowError::invalid(field, r)),
            Value::Object(m) if m.contains_key(FUNCTION_MARKER) => {
                Ok(Condition::Function(self.function(v, field)?))
            }
            Value::Object(m) => {
                let kind = match opt_str(m, "type", field)? {
                    Some(t) => t,
                    None if m.contains_key("expression") => "expression",
                    None if m.contains_key("tool") => "tool",
                    None if m.contains_key("fn") || m.contains_key("evaluate") => "function",
                    None => {
                        return Err(WorkflowError::invalid(
                            field,
                            "has no kind; give `expression = \"...\"`, `tool = \"...\"` or a function",
                        ))
                    }
                };
                match kind {
                    "expression" => {
                        let src = opt_str(m, "expression", field)?.ok_or_else(|| {
                            WorkflowError::invalid(join(field, "expression"), "is missing")
                        })?;
                        Expression::compile(src)
                            .map(Condition::Expression)
                            .map_err(|r| WorkflowError::invalid(join(field, "expression"), r))
                    }
                    "tool" => {
                        let tool = m.get("tool").ok_or_else(|| {
                            WorkflowError::invalid(join(field, "tool"), "is missing")
                        })?;
                        Ok(Condition::Tool {
                            tool: self.tool_name(tool, &join(field, "tool"))?,
                            input: template(
                                m.get("input").unwrap_or(&Value::Object(Map::new())),
                                &join(field, "input"),
                            )?,
                        })
                    }
                    "function" | "fn" | "custom" => {
                        let key = if m.contains_key("fn") { "fn" } else { "evaluate" };
                        let f = m.get(key).ok_or_else(|| {
                            WorkflowError::invalid(join(field, "fn"), "is missing")
                        })?;
                        Ok(Condition::Function(self.function(f, &join(field, key))?))
                    }
                    "always" => Ok(Condition::Constant(true)),
                    "never" => Ok(Condition::Constant(false)),
                    "shared_data_equals" | "state_equals" => {
                        let key = required_str(m, "key", field)?;
                        let value = m
                            .get("value")
                            .or_else(|| m.get("expected"))
                            .ok_or_else(|| {
                                WorkflowError::invalid(
                                    join(field, "value"),
                                    "is missing (the value the state key must equal)",
                                )
                            })?;
                        Ok(Condition::StateEquals {
                            key: key.to_owned(),
                            value: value.clone(),
                        })
                    }
                    "shared_data_exists" | "state_exists" => Ok(Condition::StateExists {
                        key: required_str(m, "key", field)?.to_owned(),
                    }),
                    "step_output_contains" => {
                        let step = match opt_str(m, "step_name", field)? {
                            Some(s) => s,
                            None => required_str(m, "step", field)?,
                        };
                        Ok(Condition::StepOutputContains {
                            step: step.to_owned(),
                            substring: required_str(m, "substring", field)?.to_owned(),
                        })
                    }
                    other => Err(WorkflowError::invalid(
                        join(field, "type"),
                        format!("unknown condition type `{other}`; valid types: expression, tool, function, always, never, shared_data_equals, shared_data_exists, step_output_contains"),
                    )),
                }
            }
            other => Err(WorkflowError::invalid(
                field,
                format!(
                    "must be an expression, a `{{type = \"expression\", ...}}` or `{{tool = ...}}` table, or a function, not {}",
                    kind_of(other)
                ),
            )),
        }
    }

    fn conditional(&self, m: &Map<String, Value>, field: &str, depth: usize) -> Result<Body> {
        let list = branch_list(m, field)?;
        let all = match opt_str(m, "mode", field)? {
            None | Some("first" | "first_match") => false,
            Some("all") => true,
            Some(other) => {
                return Err(WorkflowError::invalid(
                    join(field, "mode"),
                    format!("unknown mode `{other}`; valid modes: first (the default), all"),
                ))
            }
        };
        let mut branches = Vec::with_capacity(list.len());
        let mut names = HashSet::new();
        let mut steps_seen = HashSet::new();
        let mut default_seen = false;
        for (i, b) in list.iter().enumerate() {
            let f = index(field, "branches", i);
            let bm = as_object(b, &f, "a branch table")?;
            let name = branch_name(bm, &f, i, &mut names)?;
            let is_default = match bm.get("default") {
                None | Some(Value::Null | Value::Bool(false)) => false,
                Some(Value::Bool(true)) => true,
                Some(other) => {
                    return Err(WorkflowError::invalid(
                        join(&f, "default"),
                        format!("must be true or false, not {}", kind_of(other)),
                    ))
                }
            };
            let condition = match (bm.get("condition").filter(|v| !v.is_null()), is_default) {
                (Some(_), true) => return Err(WorkflowError::invalid(
                    &f,
                    "has both `condition` and `default = true`; a default branch has no condition",
                )),
                (None, false) => {
                    return Err(WorkflowError::invalid(
                        join(&f, "condition"),
                        "is missing; give a condition, or `default = true` for the default branch",
                    ))
                }
                (None, true) => {
                    if default_seen {
                        return Err(WorkflowError::invalid(
                            join(&f, "default"),
                            "a second default branch; give at most one",
                        ));
                    }
                    default_seen = true;
                    None
                }
                (Some(c), false) => Some(self.condition(c, &join(&f, "condition"))?),
            };
            let steps = self.steps(bm, &["steps"], &f, depth)?;
            for (j, s) in steps.iter().enumerate() {
                if !steps_seen.insert(s.name.clone()) {
                    return Err(WorkflowError::invalid(
                        format!("{}.name", index(&f, "steps", j)),
                        format!(
                            "duplicate step name `{}`; step names must be unique across the branches of a conditional workflow",
                            s.name
                        ),
                    ));
                }
            }
            branches.push(Branch {
                name,
                condition,
                steps,
            });
        }
        Ok(Body::Conditional { branches, all })
    }

    fn loop_body(&self, m: &Map<String, Value>, field: &str, depth: usize) -> Result<Body> {
        let itf = join(field, "iterator");
        let it = m.get("iterator").filter(|v| !v.is_null()).ok_or_else(|| {
            WorkflowError::invalid(
                &itf,
                "is missing; give `{range = {start, [\"end\"], step}}`, `{collection = {...}}` or `{while_condition = ...}`",
            )
        })?;
        let itm = as_object(it, &itf, "a table")?;
        let kinds: Vec<&str> = ["range", "collection", "while_condition"]
            .into_iter()
            .filter(|k| itm.get(*k).is_some_and(|v| !v.is_null()))
            .collect();
        let iterator =
            match kinds.as_slice() {
                ["range"] => {
                    let rf = join(&itf, "range");
                    let r = as_object(&itm["range"], &rf, "a table `{start, [\"end\"], step}`")?;
                    let bound = |key: &str, default: Option<i64>| -> Result<Template> {
                        let bf = join(&rf, key);
                        match r.get(key).filter(|v| !v.is_null()) {
                        None => default
                            .map(|d| Template::Literal(Value::from(d)))
                            .ok_or_else(|| {
                                WorkflowError::invalid(
                                    &bf,
                                    "is missing (the range's exclusive end)",
                                )
                            }),
                        Some(v @ Value::Number(n)) => {
                            let Some(i) = n.as_i64() else {
                                return Err(WorkflowError::invalid(
                                    bf,
                                    format!("must be an integer, not {v}"),
                                ));
                            };
                            if key == "step" && i == 0 {
                                return Err(WorkflowError::invalid(bf, "must not be 0"));
                            }
                            Ok(Template::Literal(v.clone()))
                        }
                        Some(v @ Value::String(_)) => match template(v, &bf)? {
                            t @ Template::Whole(_) => Ok(t),
                            _ => Err(WorkflowError::invalid(
                                bf,
                                "must be an integer or exactly one reference such as `{{input:n}}`",
                            )),
                        },
                        Some(other) => Err(WorkflowError::invalid(
                            bf,
                            format!("must be an integer, not {}", kind_of(other)),
                        )),
                    }
                    };
                    LoopIterator::Range {
                        start: bound("start", Some(0))?,
                        end: bound("end", None)?,
                        step: bound("step", Some(1))?,
                    }
                }
                ["collection"] => {
                    let cf = join(&itf, "collection");
                    match &itm["collection"] {
                        v if is_empty_table(v) => {
                            LoopIterator::Collection(Template::Literal(Value::Array(Vec::new())))
                        }
                        v @ Value::Array(_) => LoopIterator::Collection(template(v, &cf)?),
                        v @ Value::String(_) => match template(v, &cf)? {
                            t @ Template::Whole(_) => LoopIterator::Collection(t),
                            _ => return Err(WorkflowError::invalid(
                                cf,
                                "must be a list or exactly one reference such as `{{input:items}}`",
                            )),
                        },
                        other => {
                            return Err(WorkflowError::invalid(
                                cf,
                                format!("must be a list, not {}", kind_of(other)),
                            ))
                        }
                    }
                }
                ["while_condition"] => LoopIterator::While(
                    self.condition(&itm["while_condition"], &join(&itf, "while_condition"))?,
                ),
                [] => {
                    return Err(WorkflowError::invalid(
                        itf,
                        "has no kind; give one of `range`, `collection`, `while_condition`",
                    ))
                }
                many => {
                    return Err(WorkflowError::invalid(
                        itf,
                        format!("has several kinds ({}); give exactly one", many.join(", ")),
                    ))
                }
            };
        let body = self.steps(m, &["body", "steps"], field, depth)?;
        let max_iterations =
            positive(m, "max_iterations", field)?.unwrap_or(DEFAULT_MAX_ITERATIONS);
        let break_condition = match m.get("break_condition").filter(|v| !v.is_null()) {
            Some(c) => Some(Box::new(
                self.condition(c, &join(field, "break_condition"))?,
            )),
            None => None,
        };
        let aggregation = match opt_str(m, "aggregation_strategy", field)?
            .or(opt_str(m, "aggregation", field)?)
        {
            None | Some("collect_all") => Aggregation::CollectAll,
            Some("last") => Aggregation::Last,
            Some("none") => Aggregation::None,
            Some(other) => {
                return Err(WorkflowError::invalid(
                    join(field, "aggregation_strategy"),
                    format!("unknown strategy `{other}`; valid strategies: collect_all (the default), last, none"),
                ))
            }
        };
        Ok(Body::Loop {
            iterator: Box::new(iterator),
            body,
            max_iterations,
            break_condition,
            aggregation,
        })
    }

    fn parallel(&self, m: &Map<String, Value>, field: &str, depth: usize) -> Result<Body> {
        let list = branch_list(m, field)?;
        let mut names = HashSet::new();
        let mut branches = Vec::with_capacity(list.len());
        for (i, b) in list.iter().enumerate() {
            let f = index(field, "branches", i);
            let bm = as_object(b, &f, "a branch table `{name, steps}`")?;
            let name = branch_name(bm, &f, i, &mut names)?;
            branches.push(ParallelBranch {
                name,
                steps: self.steps(bm, &["steps"], &f, depth)?,
            });
        }
        let n = branches.len();
        let max_concurrency = match positive(m, "max_concurrency", field)? {
            Some(c) => usize::try_from(c).unwrap_or(usize::MAX),
            None => n,
        };
        let join_field = join(field, "join");
        let join_mode = match m.get("join") {
            None | Some(Value::Null) => Join::All,
            Some(Value::String(s)) if s == "all" => Join::All,
            Some(Value::String(s)) if s == "any" => Join::N(1),
            Some(v @ Value::Number(_)) => match v.as_u64().and_then(|k| usize::try_from(k).ok()) {
                Some(k) if (1..=n).contains(&k) => Join::N(k),
                _ => {
                    return Err(WorkflowError::invalid(
                        join_field,
                        format!("{v} is not a branch count between 1 and {n}"),
                    ))
                }
            },
            Some(other) => {
                return Err(WorkflowError::invalid(
                    join_field,
                    format!("must be \"all\", \"any\" or a number of branches, not {other}"),
                ))
            }
        };
        let fail_fast = match m.get("fail_fast") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(WorkflowError::invalid(
                    join(field, "fail_fast"),
                    format!("must be true or false, not {}", kind_of(other)),
                ))
            }
        };
        Ok(Body::Parallel {
            branches,
            max_concurrency,
            join: join_mode,
            fail_fast,
        })
    }
}

fn step_type_key(t: &str, field: &str) -> Result<&'static str> {
    Ok(match t {
        "tool" => "tool",
        "agent" => "agent",
        "workflow" | "sequential" | "conditional" | "loop" | "parallel" => "workflow",
        "function" | "fn" => "fn",
        other => {
            return Err(WorkflowError::invalid(
                join(field, "type"),
                format!(
                    "unknown step kind `{other}`; valid kinds: tool, agent, workflow, function"
                ),
            ))
        }
    })
}

fn branch_list<'v>(m: &'v Map<String, Value>, field: &str) -> Result<&'v Vec<Value>> {
    let f = join(field, "branches");
    match m.get("branches") {
        None | Some(Value::Null) => Err(WorkflowError::invalid(
            f,
            "is missing; give a list of branches",
        )),
        Some(v) if is_empty_table(v) || v.as_array().is_some_and(Vec::is_empty) => Err(
            WorkflowError::invalid(f, "is empty; give at least one branch"),
        ),
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(WorkflowError::invalid(
            f,
            format!("must be a list of branches, not {}", kind_of(other)),
        )),
    }
}

fn branch_name(
    bm: &Map<String, Value>,
    field: &str,
    i: usize,
    seen: &mut HashSet<String>,
) -> Result<String> {
    let name = match opt_str(bm, "name", field)? {
        Some(n) => {
            check_name(n, &join(field, "name"))?;
            n.to_owned()
        }
        None => format!("branch_{}", i + 1),
    };
    if !seen.insert(name.clone()) {
        return Err(WorkflowError::invalid(
            join(field, "name"),
            format!("duplicate branch name `{name}`; branch names must be unique"),
        ));
    }
    Ok(name)
}
