//! `Workflow.builder()`: the chainable builder rs-llmspell scripts use,
//! as a thin layer over the definition tables `Workflow.sequential{...}`
//! and friends take.
//!
//! A [`WorkflowDraft`] collects what the chain's calls say — the pattern,
//! the name, steps, a condition with then/else steps, loop iterators and
//! options — as definition data (steps already converted by the language
//! binding, with their functions and workflow objects in the draft's
//! [`Bindings`]). [`WorkflowDraft::definition`] turns it into the same
//! definition a table constructor gets; the workflow runtime parses and
//! validates it exactly as it does those, so a built workflow is the same
//! object as one made with `Workflow.sequential{...}`.
//!
//! How the chain maps onto definitions:
//!
//! | pattern | chain | definition |
//! |---|---|---|
//! | sequential | `:add_step(s)` ... | `steps` |
//! | parallel | `:add_step(s)` ... | one branch per step, named after the step |
//! | parallel | `:max_concurrency(n)`, `:join(j)`, `:fail_fast(b)`, `:error_strategy("continue")` | `max_concurrency`, `join`, `fail_fast` (`continue` = `fail_fast = false`) |
//! | conditional | `:condition(c)`, `:add_then_step(s)`, `:add_else_step(s)` | a branch `then` with `c` and a default branch `else` |
//! | conditional | `:add_branch(c, {steps})` | a branch `branch_<n>` (before `then`) |
//! | conditional | `:add_step(s)` | steps run **before** the branches are chosen: the workflow is a sequential one whose last step, `branches`, is the conditional |
//! | loop | `:with_range{start, ["end"], step}`, `:with_collection{...}`, `:with_while(c)`, `:loop_condition(c)` | `iterator` |
//! | loop | `:max_iterations(n)` | `max_iterations`; without an iterator, the loop runs `n` times (`range 0..n`) |
//! | loop | `:break_condition(c)`, `:aggregation_strategy(s)` | the same keys |

use serde_json::{json, Map, Value};

use llmspell_workflows::{Bindings, Pattern};

use crate::error::{BridgeError, Result};

/// The function name errors of the builder carry.
const WHO: &str = "Workflow.builder";

/// What a `Workflow.builder()` chain has said so far.
#[derive(Debug, Default, Clone)]
pub(crate) struct WorkflowDraft {
    pattern: Option<Pattern>,
    name: Option<String>,
    description: Option<String>,
    steps: Vec<Value>,
    condition: Option<Value>,
    then_steps: Vec<Value>,
    else_steps: Vec<Value>,
    branches: Vec<Value>,
    iterator: Option<Value>,
    /// Pattern options passed through as definition keys, with the
    /// builder method that set each (for errors).
    options: Map<String, Value>,
    option_methods: Vec<(&'static str, &'static str)>,
    /// The functions and workflow objects the converted values refer to.
    pub(crate) bindings: Bindings,
}

/// Which patterns accept an option key.
fn option_patterns(key: &str) -> &'static [Pattern] {
    match key {
        "max_concurrency" | "join" | "fail_fast" => &[Pattern::Parallel],
        "max_iterations" | "break_condition" | "aggregation_strategy" => &[Pattern::Loop],
        "mode" => &[Pattern::Conditional],
        _ => &[],
    }
}

impl WorkflowDraft {
    /// An empty draft.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// `:sequential()`, `:parallel()`, `:conditional()`, `:loop()` /
    /// `:loop_workflow()`.
    pub(crate) fn pattern(&mut self, pattern: Pattern) {
        self.pattern = Some(pattern);
    }

    /// `:name(s)`.
    pub(crate) fn name(&mut self, name: String) {
        self.name = Some(name);
    }

    /// `:description(s)`.
    pub(crate) fn description(&mut self, description: String) {
        self.description = Some(description);
    }

    /// `:add_step{...}`.
    ///
    /// # Errors
    /// When `step` is not a table.
    pub(crate) fn add_step(&mut self, step: Value) -> Result<()> {
        self.steps.push(step_table("add_step", step)?);
        Ok(())
    }

    /// `:add_then_step{...}`.
    ///
    /// # Errors
    /// When `step` is not a table.
    pub(crate) fn add_then_step(&mut self, step: Value) -> Result<()> {
        self.then_steps.push(step_table("add_then_step", step)?);
        Ok(())
    }

    /// `:add_else_step{...}`.
    ///
    /// # Errors
    /// When `step` is not a table.
    pub(crate) fn add_else_step(&mut self, step: Value) -> Result<()> {
        self.else_steps.push(step_table("add_else_step", step)?);
        Ok(())
    }

    /// `:condition(c)`: the condition of the then-branch.
    pub(crate) fn condition(&mut self, condition: Value) {
        self.condition = Some(condition);
    }

    /// `:add_branch(condition, {steps})`: one more conditional branch.
    ///
    /// # Errors
    /// When `steps` is not a list of step tables.
    pub(crate) fn add_branch(&mut self, condition: Value, steps: Value) -> Result<()> {
        let steps = match steps {
            Value::Array(a) => a,
            Value::Object(m) if m.is_empty() => Vec::new(),
            // One step table given alone.
            v @ Value::Object(_) => vec![v],
            other => {
                return Err(BridgeError::invalid(
                    format!("{WHO}: add_branch"),
                    format!(
                        "expects a condition and a list of steps, not {}",
                        kind(&other)
                    ),
                ))
            }
        };
        let steps = steps
            .into_iter()
            .map(|s| step_table("add_branch", s))
            .collect::<Result<Vec<_>>>()?;
        let name = format!("branch_{}", self.branches.len() + 1);
        self.branches
            .push(json!({"name": name, "condition": condition, "steps": steps}));
        Ok(())
    }

    /// `:with_range{...}`, `:with_collection{...}`, `:with_while(c)`,
    /// `:loop_condition(c)`: the loop's iterator (`kind` is `range`,
    /// `collection` or `while_condition`). A later call replaces an
    /// earlier one.
    pub(crate) fn iterator(&mut self, kind: &str, value: Value) {
        let mut m = Map::new();
        m.insert(kind.to_owned(), value);
        self.iterator = Some(Value::Object(m));
    }

    /// A pattern option (`max_iterations`, `max_concurrency`, `join`,
    /// `fail_fast`, `break_condition`, `aggregation_strategy`, `mode`) set
    /// by the builder method `method`; checked against the pattern when
    /// built, its value by the definition parser.
    pub(crate) fn option(&mut self, method: &'static str, key: &'static str, value: Value) {
        self.options.insert(key.to_owned(), value);
        self.option_methods.retain(|(_, k)| *k != key);
        self.option_methods.push((method, key));
    }

    /// `:error_strategy(s)`: `"fail_fast"` (also `"stop"`, the behaviour
    /// of every pattern) or, for a parallel workflow, `"continue"` (let
    /// every branch finish: `fail_fast = false`).
    ///
    /// # Errors
    /// For any other strategy.
    pub(crate) fn error_strategy(&mut self, strategy: &str) -> Result<()> {
        match strategy {
            "fail_fast" | "stop" | "fail" => {
                self.option("error_strategy", "fail_fast", Value::Bool(true));
                Ok(())
            }
            "continue" => {
                self.option("error_strategy", "fail_fast", Value::Bool(false));
                Ok(())
            }
            other => Err(BridgeError::invalid(
                format!("{WHO}: error_strategy"),
                format!(
                    "unknown strategy `{other}`; valid: \"fail_fast\" (every pattern) or \"continue\" (parallel: let every branch finish); retries are a `WorkflowError` hook returning `retry`"
                ),
            )),
        }
    }

    /// Replays one builder call by its method name on converted
    /// arguments (how bindings that record the chain, like JavaScript's,
    /// apply it). camelCase names are accepted beside snake_case ones.
    ///
    /// # Errors
    /// For an unknown method, a missing argument, or what the method
    /// itself refuses.
    pub(crate) fn apply(&mut self, method: &str, args: Vec<Value>) -> Result<()> {
        let mut args = args.into_iter();
        let mut arg = |what: &str| {
            args.next().filter(|v| !v.is_null()).ok_or_else(|| {
                BridgeError::invalid(format!("{WHO}: {method}"), format!("{what} is missing"))
            })
        };
        let text = |v: Value, what: &str| match v {
            Value::String(s) => Ok(s),
            other => Err(BridgeError::invalid(
                format!("{WHO}: {method}"),
                format!("{what} must be a string, not {}", kind(&other)),
            )),
        };
        match method {
            "sequential" => self.pattern(Pattern::Sequential),
            "parallel" => self.pattern(Pattern::Parallel),
            "conditional" => self.pattern(Pattern::Conditional),
            "loop" | "loop_workflow" | "loopWorkflow" => self.pattern(Pattern::Loop),
            "name" => self.name(text(arg("the name")?, "the name")?),
            "description" => self.description(text(arg("the description")?, "the description")?),
            "add_step" | "addStep" => self.add_step(arg("the step")?)?,
            "add_then_step" | "addThenStep" => self.add_then_step(arg("the step")?)?,
            "add_else_step" | "addElseStep" => self.add_else_step(arg("the step")?)?,
            "condition" => self.condition(arg("the condition")?),
            "add_branch" | "addBranch" => {
                let c = arg("the condition")?;
                self.add_branch(c, arg("the steps")?)?;
            }
            "with_range" | "withRange" => self.iterator("range", arg("the range")?),
            "with_collection" | "withCollection" => {
                self.iterator("collection", arg("the collection")?);
            }
            "with_while" | "withWhile" | "loop_condition" | "loopCondition" => {
                self.iterator("while_condition", arg("the condition")?);
            }
            "break_condition" | "breakCondition" => {
                self.option("break_condition", "break_condition", arg("the condition")?);
            }
            "max_iterations" | "maxIterations" => {
                self.option("max_iterations", "max_iterations", arg("the count")?);
            }
            "max_concurrency" | "maxConcurrency" => {
                self.option("max_concurrency", "max_concurrency", arg("the count")?);
            }
            "join" => self.option("join", "join", arg("the join")?),
            "fail_fast" | "failFast" => self.option("fail_fast", "fail_fast", arg("the flag")?),
            "mode" => self.option("mode", "mode", arg("the mode")?),
            "aggregation_strategy" | "aggregationStrategy" => {
                self.option(
                    "aggregation_strategy",
                    "aggregation_strategy",
                    arg("the strategy")?,
                );
            }
            "error_strategy" | "errorStrategy" => {
                let s = text(arg("the strategy")?, "the strategy")?;
                self.error_strategy(&s)?;
            }
            other => {
                return Err(BridgeError::invalid(
                    WHO,
                    format!("unknown builder method `{other}`"),
                ))
            }
        }
        Ok(())
    }

    /// The definition and its pattern, as `Workflow.create{...}` takes it.
    ///
    /// # Errors
    /// When no pattern was chosen, when a method does not belong to the
    /// chosen pattern, or when the pattern lacks what it needs (steps, a
    /// branch, an iterator).
    pub(crate) fn definition(&self) -> Result<(Pattern, Value)> {
        let pattern = self.pattern.ok_or_else(|| {
            BridgeError::invalid(
                WHO,
                "no pattern chosen; call :sequential(), :parallel(), :conditional() or :loop() before :build()",
            )
        })?;
        self.check_methods(pattern)?;
        let mut def = Map::new();
        def.insert("type".into(), Value::from(pattern.as_str()));
        if let Some(n) = &self.name {
            def.insert("name".into(), Value::from(n.as_str()));
        }
        if let Some(d) = &self.description {
            def.insert("description".into(), Value::from(d.as_str()));
        }
        for (k, v) in &self.options {
            // `error_strategy("fail_fast")` is every pattern's behaviour;
            // only a parallel definition has the key.
            if k == "fail_fast" && pattern != Pattern::Parallel {
                continue;
            }
            def.insert(k.clone(), v.clone());
        }
        match pattern {
            Pattern::Sequential => {
                def.insert(
                    "steps".into(),
                    Value::Array(self.needs_steps("a sequential")?),
                );
            }
            Pattern::Parallel => {
                let branches = self
                    .needs_steps("a parallel")?
                    .into_iter()
                    .map(|s| {
                        let name = s.get("name").cloned().unwrap_or(Value::Null);
                        json!({"name": name, "steps": [s]})
                    })
                    .collect();
                def.insert("branches".into(), Value::Array(branches));
            }
            Pattern::Loop => {
                let iterator = match (&self.iterator, self.options.get("max_iterations")) {
                    (Some(it), _) => it.clone(),
                    (None, Some(n)) => json!({"range": {"start": 0, "end": n}}),
                    (None, None) => {
                        return Err(BridgeError::invalid(
                            WHO,
                            "a loop needs an iterator: :with_range{start, [\"end\"], step}, :with_collection{...}, :with_while(condition), or :max_iterations(n) to run the body n times",
                        ))
                    }
                };
                def.insert("iterator".into(), iterator);
                def.insert("body".into(), Value::Array(self.needs_steps("a loop")?));
            }
            Pattern::Conditional => return Ok(self.conditional(def)),
            _ => {
                return Err(BridgeError::invalid(
                    WHO,
                    format!("the pattern `{pattern}` has no builder"),
                ))
            }
        }
        Ok((pattern, Value::Object(def)))
    }

    fn conditional(&self, mut def: Map<String, Value>) -> (Pattern, Value) {
        let mut branches = self.branches.clone();
        if let Some(c) = &self.condition {
            branches.push(json!({"name": "then", "condition": c, "steps": self.then_steps}));
        }
        if !self.else_steps.is_empty() {
            branches.push(json!({"name": "else", "default": true, "steps": self.else_steps}));
        }
        // Then-steps without a condition are left to the parser, which
        // names the missing condition.
        if self.condition.is_none() && !self.then_steps.is_empty() {
            branches.push(json!({"name": "then", "steps": self.then_steps}));
        }
        def.insert("branches".into(), Value::Array(branches));
        if self.steps.is_empty() {
            return (Pattern::Conditional, Value::Object(def));
        }
        // Steps added with :add_step run first; the conditional is the last
        // step of a sequential workflow, and its conditions see them.
        let mut outer = Map::new();
        outer.insert("type".into(), Value::from("sequential"));
        for key in ["name", "description"] {
            if let Some(v) = def.remove(key) {
                outer.insert(key.into(), v);
            }
        }
        let mut steps = self.steps.clone();
        steps.push(json!({"name": "branches", "workflow": Value::Object(def)}));
        outer.insert("steps".into(), Value::Array(steps));
        (Pattern::Sequential, Value::Object(outer))
    }

    fn needs_steps(&self, what: &str) -> Result<Vec<Value>> {
        if self.steps.is_empty() {
            return Err(BridgeError::invalid(
                WHO,
                format!("{what} workflow has no steps; add them with :add_step{{name = ..., tool = ..., ...}}"),
            ));
        }
        Ok(self.steps.clone())
    }

    /// Refuses methods of another pattern.
    fn check_methods(&self, pattern: Pattern) -> Result<()> {
        let wrong = |method: &str, belongs: &str| {
            Err(BridgeError::invalid(
                format!("{WHO}: {method}"),
                format!("belongs to {belongs} workflows; this builder is {pattern}"),
            ))
        };
        if pattern != Pattern::Conditional {
            if self.condition.is_some() {
                return wrong("condition", "conditional");
            }
            if !self.then_steps.is_empty() {
                return wrong("add_then_step", "conditional");
            }
            if !self.else_steps.is_empty() {
                return wrong("add_else_step", "conditional");
            }
            if !self.branches.is_empty() {
                return wrong("add_branch", "conditional");
            }
        }
        if pattern != Pattern::Loop && self.iterator.is_some() {
            return wrong("with_range / with_collection / with_while", "loop");
        }
        for (method, key) in &self.option_methods {
            let allowed = option_patterns(key);
            if !allowed.contains(&pattern) {
                if *method == "error_strategy" && *key == "fail_fast" {
                    // fail_fast is the behaviour of every pattern; only
                    // parallel workflows can continue past a failure.
                    if self.options.get("fail_fast") == Some(&Value::Bool(true)) {
                        continue;
                    }
                    return Err(BridgeError::invalid(
                        format!("{WHO}: error_strategy"),
                        format!("\"continue\" applies to parallel workflows only; a {pattern} workflow stops at the first failing step"),
                    ));
                }
                let names: Vec<&str> = allowed.iter().map(|p| p.as_str()).collect();
                return wrong(method, &names.join(", "));
            }
        }
        Ok(())
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}

fn step_table(method: &str, step: Value) -> Result<Value> {
    match step {
        v @ Value::Object(_) => Ok(v),
        other => Err(BridgeError::invalid(
            format!("{WHO}: {method}"),
            format!(
                "expects a step table {{name = ..., type = \"tool\", tool = ..., input = {{...}}}}, not {}",
                kind(&other)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditional_with_leading_steps_nests() {
        let mut d = WorkflowDraft::new();
        d.pattern(Pattern::Conditional);
        d.name("route".into());
        d.add_step(json!({"name": "a", "tool": "t"})).unwrap();
        d.condition(json!({"type": "always"}));
        d.add_then_step(json!({"name": "b", "tool": "t"})).unwrap();
        d.add_else_step(json!({"name": "c", "tool": "t"})).unwrap();
        let (p, def) = d.definition().unwrap();
        assert_eq!(p, Pattern::Sequential);
        assert_eq!(def["name"], "route");
        assert_eq!(def["steps"][1]["name"], "branches");
        let inner = &def["steps"][1]["workflow"];
        assert_eq!(inner["type"], "conditional");
        assert_eq!(inner["branches"][0]["name"], "then");
        assert_eq!(inner["branches"][1]["default"], true);
    }

    #[test]
    fn methods_of_another_pattern_are_refused() {
        let mut d = WorkflowDraft::new();
        d.pattern(Pattern::Sequential);
        d.add_step(json!({"name": "a", "tool": "t"})).unwrap();
        d.option("max_concurrency", "max_concurrency", json!(2));
        let e = d.definition().unwrap_err().to_string();
        assert!(
            e.contains("max_concurrency") && e.contains("parallel"),
            "{e}"
        );
    }
}
