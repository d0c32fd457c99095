//! Workflow definitions: the validated [`Workflow`] and what it is made of.
//!
//! Definitions are written as JSON-like data (script tables, `json!`) and
//! turned into a [`Workflow`] by
//! [`WorkflowRuntime::create`](crate::WorkflowRuntime::create), which checks
//! everything that can be checked before a run (`parse.rs`). Script
//! functions and already-created workflows are passed beside the data in
//! [`Bindings`] and referenced from it by marker values.

mod parse;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::condition::Expression;
use crate::function::ScriptFunction;
use crate::template::Template;

pub(crate) use parse::{parse, Registries};

/// The four workflow patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Pattern {
    /// Steps one after another.
    Sequential,
    /// The steps of the first (or every) branch whose condition holds.
    Conditional,
    /// A body of steps repeated over a range, a collection or while a
    /// condition holds.
    Loop,
    /// Branches of steps run concurrently.
    Parallel,
}

impl Pattern {
    /// `sequential`, `conditional`, `loop` or `parallel`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::Sequential => "sequential",
            Pattern::Conditional => "conditional",
            Pattern::Loop => "loop",
            Pattern::Parallel => "parallel",
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Pattern {
    type Err = crate::WorkflowError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sequential" => Ok(Pattern::Sequential),
            "conditional" => Ok(Pattern::Conditional),
            "loop" => Ok(Pattern::Loop),
            "parallel" => Ok(Pattern::Parallel),
            other => Err(crate::WorkflowError::invalid(
                "type",
                format!(
                    "unknown workflow pattern `{other}`; valid patterns: sequential, conditional, loop, parallel"
                ),
            )),
        }
    }
}

/// Script functions and workflows passed beside a definition's data.
///
/// [`function`](Self::function) and [`workflow`](Self::workflow) return the
/// marker value to put where the definition expects them (`fn`, a
/// condition, `workflow`). Markers are only recognised in those places; a
/// step input that contains one is refused.
///
/// ```
/// use llmspell_workflows::{script_fn, Bindings, FunctionReturn};
/// use serde_json::json;
///
/// let mut bindings = Bindings::new();
/// let hello = bindings.function(script_fn("hello", |_| async { Ok(FunctionReturn::output(json!("hi"))) }));
/// let definition = json!({"name": "greet", "steps": [{"name": "say", "fn": hello}]});
/// # let _ = definition;
/// ```
#[derive(Debug, Default, Clone)]
pub struct Bindings {
    pub(crate) functions: Vec<Arc<dyn ScriptFunction>>,
    pub(crate) workflows: Vec<Workflow>,
}

/// The key of a function marker (`{"$function": index}`).
pub const FUNCTION_MARKER: &str = "$function";
/// The key of a workflow marker (`{"$workflow": index}`).
pub const WORKFLOW_MARKER: &str = "$workflow";

impl Bindings {
    /// No bindings.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a function; returns its marker.
    pub fn function(&mut self, f: impl ScriptFunction + 'static) -> Value {
        self.function_arc(Arc::new(f))
    }

    /// Adds a shared function; returns its marker.
    pub fn function_arc(&mut self, f: Arc<dyn ScriptFunction>) -> Value {
        self.functions.push(f);
        json!({ FUNCTION_MARKER: self.functions.len() - 1 })
    }

    /// Adds a workflow (for a nested `workflow` step); returns its marker.
    pub fn workflow(&mut self, wf: &Workflow) -> Value {
        self.workflows.push(wf.clone());
        json!({ WORKFLOW_MARKER: self.workflows.len() - 1 })
    }
}

/// A validated workflow definition. Cheap to clone; immutable.
///
/// Made by [`WorkflowRuntime::create`](crate::WorkflowRuntime::create) and
/// run by [`WorkflowRuntime::execute`](crate::WorkflowRuntime::execute).
#[derive(Clone)]
pub struct Workflow {
    pub(crate) def: Arc<Definition>,
}

impl fmt::Debug for Workflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Workflow")
            .field("name", &self.def.name)
            .field("pattern", &self.def.pattern())
            .field("fingerprint", &self.def.fingerprint)
            .finish()
    }
}

impl Workflow {
    /// The workflow's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.def.name
    }

    /// Its description, if any.
    #[must_use]
    pub fn description(&self) -> Option<&str> {
        self.def.description.as_deref()
    }

    /// Its pattern.
    #[must_use]
    pub fn pattern(&self) -> Pattern {
        self.def.pattern()
    }

    /// A digest of the definition (hex SHA-256 of its canonical JSON, with
    /// functions as placeholders). A run can only be resumed by a
    /// definition with the same fingerprint.
    #[must_use]
    pub fn fingerprint(&self) -> &str {
        &self.def.fingerprint
    }

    /// The names of its own steps (a loop's body, every branch's steps), in
    /// definition order.
    #[must_use]
    pub fn step_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        match &self.def.body {
            Body::Sequential { steps } | Body::Loop { body: steps, .. } => {
                out.extend(steps.iter().map(|s| s.name.clone()));
            }
            Body::Conditional { branches, .. } => {
                for b in branches {
                    out.extend(b.steps.iter().map(|s| s.name.clone()));
                }
            }
            Body::Parallel { branches, .. } => {
                for b in branches {
                    out.extend(b.steps.iter().map(|s| s.name.clone()));
                }
            }
        }
        out
    }
}

/// The inside of a [`Workflow`].
#[derive(Debug)]
pub(crate) struct Definition {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) body: Body,
    pub(crate) fingerprint: String,
}

impl Definition {
    pub(crate) fn pattern(&self) -> Pattern {
        match self.body {
            Body::Sequential { .. } => Pattern::Sequential,
            Body::Conditional { .. } => Pattern::Conditional,
            Body::Loop { .. } => Pattern::Loop,
            Body::Parallel { .. } => Pattern::Parallel,
        }
    }
}

/// The pattern-specific part of a definition.
#[derive(Debug)]
pub(crate) enum Body {
    Sequential {
        steps: Vec<Step>,
    },
    Conditional {
        branches: Vec<Branch>,
        all: bool,
    },
    Loop {
        iterator: Box<LoopIterator>,
        body: Vec<Step>,
        max_iterations: u64,
        break_condition: Option<Box<Condition>>,
        aggregation: Aggregation,
    },
    Parallel {
        branches: Vec<ParallelBranch>,
        max_concurrency: usize,
        join: Join,
        fail_fast: bool,
    },
}

/// One step.
#[derive(Debug)]
pub(crate) struct Step {
    pub(crate) name: String,
    pub(crate) kind: StepKind,
    /// `None`: the kind's default input.
    pub(crate) input: Option<Template>,
    pub(crate) compensate: Option<Compensation>,
}

/// What a step runs.
pub(crate) enum StepKind {
    Tool(String),
    Agent(String),
    Workflow(Workflow),
    Function(Arc<dyn ScriptFunction>),
}

impl fmt::Debug for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepKind::Tool(t) => write!(f, "Tool({t})"),
            StepKind::Agent(a) => write!(f, "Agent({a})"),
            StepKind::Workflow(w) => write!(f, "Workflow({})", w.name()),
            StepKind::Function(func) => write!(f, "Function({func:?})"),
        }
    }
}

impl StepKind {
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            StepKind::Tool(_) => "tool",
            StepKind::Agent(_) => "agent",
            StepKind::Workflow(_) => "workflow",
            StepKind::Function(_) => "function",
        }
    }
}

/// A step's compensation: a tool call run when the workflow fails after
/// the step completed.
#[derive(Debug)]
pub(crate) struct Compensation {
    pub(crate) tool: String,
    pub(crate) input: Template,
}

/// A branch of a conditional workflow.
#[derive(Debug)]
pub(crate) struct Branch {
    pub(crate) name: String,
    /// `None` for the default branch.
    pub(crate) condition: Option<Condition>,
    pub(crate) steps: Vec<Step>,
}

/// A branch of a parallel workflow.
#[derive(Debug)]
pub(crate) struct ParallelBranch {
    pub(crate) name: String,
    pub(crate) steps: Vec<Step>,
}

/// A condition.
pub(crate) enum Condition {
    Expression(Expression),
    Tool {
        tool: String,
        input: Template,
    },
    Function(Arc<dyn ScriptFunction>),
    /// rs-llmspell's `always` / `never`.
    Constant(bool),
    /// rs-llmspell's `shared_data_equals`: state `key` equals `value`.
    StateEquals {
        key: String,
        value: Value,
    },
    /// rs-llmspell's `shared_data_exists`: state `key` is set (not null).
    StateExists {
        key: String,
    },
    /// rs-llmspell's `step_output_contains`: the output of `step` (a
    /// string as it is, anything else as JSON text) contains `substring`.
    StepOutputContains {
        step: String,
        substring: String,
    },
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Expression(e) => write!(f, "Expression({:?})", e.source()),
            Condition::Tool { tool, .. } => write!(f, "Tool({tool})"),
            Condition::Function(func) => write!(f, "Function({func:?})"),
            Condition::Constant(b) => write!(f, "Constant({b})"),
            Condition::StateEquals { key, value } => write!(f, "StateEquals({key} == {value})"),
            Condition::StateExists { key } => write!(f, "StateExists({key})"),
            Condition::StepOutputContains { step, substring } => {
                write!(f, "StepOutputContains({step} contains {substring:?})")
            }
        }
    }
}

/// What a loop iterates over.
#[derive(Debug)]
pub(crate) enum LoopIterator {
    /// `start..end` by `step` (end exclusive); each bound may be a reference.
    Range {
        start: Template,
        end: Template,
        step: Template,
    },
    /// The elements of an array (or a reference to one).
    Collection(Template),
    /// While the condition holds (checked before each iteration).
    While(Condition),
}

/// How a loop's iterations make up its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Aggregation {
    /// Each step's outputs of every iteration, as an array.
    CollectAll,
    /// Each step's output of the last iteration.
    Last,
    /// Nothing.
    None,
}

/// When a parallel workflow is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Join {
    /// Every branch succeeded.
    All,
    /// `n` branches succeeded (`any` is 1).
    N(usize),
}
