//! [`HookedOperation`] and [`OperationRun`]: an operation run between its
//! Before*, After* and error points, with every [`HookResult`] applied as
//! the design's table says. This is the one implementation of that table:
//! tools, agents, workflows, state and applications all use it.
//!
//! | result | Before* point | After* point | error point |
//! |---|---|---|---|
//! | `Continue`, `Skipped` | go on | keep the result | fail (unless a hook put a result in the output key) |
//! | `Modified(data)` | the operation gets the new input | the caller gets the new output | a non-null output recovers |
//! | `Cancel(reason)` | [`OperationError::Cancelled`] | [`OperationError::Cancelled`] | [`OperationError::Cancelled`] |
//! | `Redirect(target)` | run on `target` (all its hooks fire) | the same | the same |
//! | `Replace(value)` | skip the operation, return `value` | return `value` | recover with `value` |
//! | `Retry{delay, max}` | ask the point again after `delay`, then [`OperationError::RetriesExhausted`] | re-run the operation after `delay`, at most `max` times | the same, for retryable errors |
//! | `Fork{ops}` | run `ops` concurrently with the operation | run `ops` | run `ops`, then fail |
//! | `Cache{key, ttl}` | a live entry is returned without running; otherwise the result is stored | store the result | a live entry recovers |
//!
//! Fork results are joined into the data under `forks` (`[{target, result}
//! | {target, error}]`) for later points, and returned in
//! [`Completed::forks`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, Either};
use serde_json::{json, Value};
use tracing::Instrument;
use uuid::Uuid;

use crate::executor::{FirstPass, Resume, Skip};
use crate::scope::{current_parent, Scope};
use crate::telemetry;
use crate::{
    ComponentId, ForkOperation, HookCache, HookContext, HookData, HookExecutor, HookOutcome,
    HookPoint, Hooks, Language, OperationContext,
};

/// Where the value of a completed operation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResultSource {
    /// The operation ran (its result possibly modified by a hook).
    Executed,
    /// A `Cache` result hit a stored value; the operation did not run.
    Cached,
    /// A `Replace` result (or a recovering `Modified`) supplied the value.
    Replaced,
    /// A `Skipped` result at the Before* point skipped the operation (only
    /// with [`HookedOperation::skip_on_skipped`]).
    Skipped,
}

impl ResultSource {
    /// `"executed"`, `"cached"`, `"replaced"` or `"skipped"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ResultSource::Executed => "executed",
            ResultSource::Cached => "cached",
            ResultSource::Replaced => "replaced",
            ResultSource::Skipped => "skipped",
        }
    }
}

/// One run of the operation: what the operation closure receives.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Call {
    /// The target to run: the component's name, or a redirect's target.
    pub target: String,
    /// The input, as the hooks left it.
    pub input: Value,
    /// 1 for the first run, 2 for the first re-run, ...
    pub attempt: u32,
    /// The operation's correlation id.
    pub correlation_id: Uuid,
}

impl Call {
    /// A first attempt on `target` with `input` and a fresh correlation id
    /// (for calling an operation closure directly, e.g. in tests).
    #[must_use]
    pub fn new(target: impl Into<String>, input: Value) -> Self {
        Self {
            target: target.into(),
            input,
            attempt: 1,
            correlation_id: Uuid::new_v4(),
        }
    }
}

/// One run of an operation started with [`HookedOperation::run_lent`]: the
/// input is lent, not given, so an operation that only reads it (or copies
/// what it needs) costs no copy even when a hook may ask for a re-run.
#[derive(Debug)]
#[non_exhaustive]
pub struct LentCall<'a> {
    /// The target to run: the component's name, or a redirect's target.
    pub target: String,
    /// 1 for the first run, 2 for the first re-run, ...
    pub attempt: u32,
    /// The operation's correlation id.
    pub correlation_id: Uuid,
    input: Held<'a>,
}

/// How a [`LentCall`] holds the input.
#[derive(Debug)]
enum Held<'a> {
    /// The run's own input; `keep`: the run needs it again (a hook at the
    /// After* or error point may ask for a re-run, and sees it).
    Own(&'a mut Value, bool),
    /// An input the run only borrows ([`HookedOperation::input_ref`]).
    Shared(&'a Value),
}

impl LentCall<'_> {
    /// The input, as the hooks left it.
    #[must_use]
    pub fn input(&self) -> &Value {
        match &self.input {
            Held::Own(v, _) => v,
            Held::Shared(v) => v,
        }
    }

    /// Whether [`into_input`](Self::into_input) would copy the input (the
    /// run needs it again, or only borrows it). When it would not, taking
    /// it is free; when it would, an operation that can work on
    /// [`input`](Self::input) saves the copy.
    #[must_use]
    pub fn into_input_copies(&self) -> bool {
        !matches!(self.input, Held::Own(_, false))
    }

    /// The input, owned: a copy when the run needs it again, otherwise the
    /// input itself (what [`Call::input`] would have been).
    #[must_use]
    pub fn into_input(self) -> Value {
        match self.input {
            Held::Own(v, true) => v.clone(),
            Held::Own(v, false) => std::mem::take(v),
            Held::Shared(v) => v.clone(),
        }
    }
}

/// An operation that borrows its input; see [`HookedOperation::run_lent`].
pub trait LentOperation<E>: Send + Sync {
    /// Runs one attempt.
    fn call<'a>(&'a self, call: LentCall<'a>) -> BoxFuture<'a, Result<Value, E>>;
}

/// The operation of [`HookedOperation::run`]: a closure that gets the
/// input, or (for [`HookedOperation::run_lent`]) a [`LentOperation`].
enum Op<'o, F, L: ?Sized> {
    Owned(&'o F),
    Lent(&'o L),
}

/// Stands for "no lent operation" in [`Op`] (there is none of it).
enum NoLent {}

impl<E> LentOperation<E> for NoLent {
    fn call<'a>(&'a self, _call: LentCall<'a>) -> BoxFuture<'a, Result<Value, E>> {
        match *self {}
    }
}

/// Why a forked operation has no value.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ForkError<E> {
    /// The operation has no [`ForkRunner`].
    NoRunner,
    /// Forks may not nest deeper than `limit`.
    TooDeep {
        /// The configured depth limit.
        limit: u32,
    },
    /// The forked operation failed.
    Failed(E),
}

impl<E: fmt::Display> fmt::Display for ForkError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForkError::NoRunner => f.write_str("not run: this operation cannot fork"),
            ForkError::TooDeep { limit } => write!(
                f,
                "not run: forked operations may nest at most {limit} levels deep"
            ),
            ForkError::Failed(e) => e.fmt(f),
        }
    }
}

/// The result of one forked operation.
#[derive(Debug, Clone, PartialEq)]
pub struct ForkResult<E> {
    /// The target that was run.
    pub target: String,
    /// What it returned.
    pub outcome: Result<Value, ForkError<E>>,
}

/// Runs the operations of a `Fork` result (a component usually runs them
/// through its own hooked path, one level deeper).
pub trait ForkRunner<E>: Send + Sync {
    /// Runs `op` as a fork at `depth` (1 for forks of a top-level
    /// operation).
    fn run_fork(&self, op: ForkOperation, depth: u32) -> BoxFuture<'_, Result<Value, E>>;
}

impl<E, F> ForkRunner<E> for F
where
    F: Fn(ForkOperation, u32) -> BoxFuture<'static, Result<Value, E>> + Send + Sync,
{
    fn run_fork(&self, op: ForkOperation, depth: u32) -> BoxFuture<'_, Result<Value, E>> {
        self(op, depth)
    }
}

/// A completed operation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Completed<E> {
    /// What the caller receives.
    pub value: Value,
    /// Where it came from.
    pub source: ResultSource,
    /// How many times the operation ran (re-runs included; 0 if never).
    pub attempts: u32,
    /// Results of forked operations.
    pub forks: Vec<ForkResult<E>>,
    /// The correlation id of every hook context of the operation.
    pub correlation_id: Uuid,
    /// The target whose value this is (differs from the component's name
    /// after a redirect).
    pub target: String,
    /// The context data as the last hooks left it, with the input and this
    /// value under their keys (empty when no hook ran, or when turned off
    /// with [`HookedOperation::completed_data`]).
    pub data: HookData,
    /// With [`HookedOperation::spare_data`] (and `completed_data` off):
    /// the data map the run's contexts used (or the fixed keys it was given,
    /// when no hook ran), for the component's next operation. Its values
    /// are stale: the output was taken out, the input may still be there
    /// (as the last point left it), and hooks may have added keys; reset
    /// them before reuse, and drop the values not worth keeping alive.
    pub spare_data: Option<HookData>,
}

/// Why a hooked operation failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum OperationError<E> {
    /// A hook cancelled the operation.
    Cancelled {
        /// Where.
        point: HookPoint,
        /// Which hook.
        hook: String,
        /// Why.
        reason: String,
    },
    /// A hook at a Before* point kept asking to retry.
    RetriesExhausted {
        /// Where.
        point: HookPoint,
        /// Which hook.
        hook: String,
        /// How many times the point was asked again.
        max_attempts: u32,
    },
    /// Redirects went on longer than allowed.
    TooManyRedirects {
        /// The last target asked for.
        target: String,
        /// The limit.
        limit: u32,
    },
    /// A hook asked to redirect an operation that has no redirect targets.
    RedirectRefused {
        /// Where.
        point: HookPoint,
        /// Which hook.
        hook: String,
        /// The target it asked for.
        target: String,
    },
    /// The operation itself failed (and no hook recovered it).
    Failed(E),
}

impl<E> OperationError<E> {
    /// Maps the operation's own error.
    pub fn map_err<F>(self, f: impl FnOnce(E) -> F) -> OperationError<F> {
        match self {
            OperationError::Cancelled {
                point,
                hook,
                reason,
            } => OperationError::Cancelled {
                point,
                hook,
                reason,
            },
            OperationError::RetriesExhausted {
                point,
                hook,
                max_attempts,
            } => OperationError::RetriesExhausted {
                point,
                hook,
                max_attempts,
            },
            OperationError::TooManyRedirects { target, limit } => {
                OperationError::TooManyRedirects { target, limit }
            }
            OperationError::RedirectRefused {
                point,
                hook,
                target,
            } => OperationError::RedirectRefused {
                point,
                hook,
                target,
            },
            OperationError::Failed(e) => OperationError::Failed(f(e)),
        }
    }
}

impl<E: fmt::Display> fmt::Display for OperationError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OperationError::Cancelled {
                point,
                hook,
                reason,
            } => write!(f, "cancelled by hook `{hook}` at {point}: {reason}"),
            OperationError::RetriesExhausted {
                point,
                hook,
                max_attempts,
            } => write!(
                f,
                "hook `{hook}` at {point} still asked to retry after {max_attempts} retries"
            ),
            OperationError::TooManyRedirects { target, limit } => write!(
                f,
                "more than {limit} redirects (the last to `{target}`); a hook is probably redirecting in a loop"
            ),
            OperationError::RedirectRefused {
                point,
                hook,
                target,
            } => write!(
                f,
                "hook `{hook}` at {point} asked to redirect to `{target}`, but this operation has no redirect targets"
            ),
            OperationError::Failed(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for OperationError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OperationError::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// What a Before* point decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Go on with the operation.
    Go,
    /// Start again on this target ([`OperationRun::redirect`] first).
    Redirect(String),
    /// Do not run the operation: this is the result.
    Finish(Value, ResultSource),
}

/// What an After* point decided.
#[derive(Debug, Clone, PartialEq)]
pub enum AfterStep {
    /// This is the result.
    Done(Value, ResultSource),
    /// Run the operation again (the delay has passed).
    Rerun,
    /// Start again on this target ([`OperationRun::redirect`] first).
    Redirect(String),
}

/// What an error point decided.
#[derive(Debug)]
pub enum Recovery<E> {
    /// The operation fails with this.
    Fail(OperationError<E>),
    /// Run the operation again (the delay has passed).
    Rerun,
    /// Start again on this target ([`OperationRun::redirect`] first).
    Redirect(String),
    /// The operation recovers with this result.
    Finish(Value, ResultSource),
}

type Retryable<'h, E> = Box<dyn Fn(&E) -> bool + Send + Sync + 'h>;

/// An operation to run between its hook points; made by
/// [`Hooks::operation`].
///
/// Set the points, where the input and output live in the context data
/// (the component's fixed data keys), and what the operation may do
/// (redirects, retries, forks, cache); then [`run`](Self::run) it. The
/// correlation id and parent come from the enclosing operation of the
/// task, if any ([`current_parent`](crate::current_parent)), unless set.
///
/// A Rust application hooking its own async function:
///
/// ```
/// use llmspell_hooks::{hook_fn, ComponentId, ComponentType, HookPoint, HookResult, Hooks};
/// use serde_json::{json, Value};
///
/// async fn summarize(text: Value) -> Result<Value, std::io::Error> {
///     Ok(json!(format!("{} words", text.as_str().unwrap_or("").split_whitespace().count())))
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let hooks = Hooks::new();
/// // Any Rust or script hook can now change the input or the result.
/// hooks.register(HookPoint::custom("before_summary"), hook_fn("shout", |ctx| {
///     let text = ctx.data["input"].as_str().unwrap_or_default().to_uppercase();
///     ctx.insert("input", json!(format!("{text} !")));
///     Ok(HookResult::Continue)
/// }))?;
///
/// let done = hooks
///     .operation(ComponentId::new(ComponentType::Custom("app".into()), "summarizer"))
///     .points(HookPoint::custom("before_summary"), HookPoint::custom("after_summary"), HookPoint::custom("summary_error"))
///     .input("input", json!("hello hooked world"))
///     .run(|call| summarize(call.input))
///     .await?;
/// assert_eq!(done.value, json!("4 words"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[must_use]
pub struct HookedOperation<'h, E>(Box<RunState<'h, E>>);

/// How the parent of an operation is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parent {
    Inherit,
    Explicit,
    None,
}

impl<E> fmt::Debug for HookedOperation<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookedOperation")
            .field("target", &self.0.target)
            .field("before", &self.0.before)
            .field("after", &self.0.after)
            .field("error", &self.0.error)
            .field("input_key", &self.0.input_key)
            .field("output_key", &self.0.output_key)
            .finish_non_exhaustive()
    }
}

impl<'h, E> HookedOperation<'h, E> {
    pub(crate) fn new(hooks: &'h Hooks, component: ComponentId) -> Self {
        // One allocation holds the settings and, after `start`, the run's
        // state: the builder and the futures that drive the run move a
        // pointer.
        Self(Box::new(RunState {
            hooks,
            cache: hooks.cache(),
            ctx: None,
            target: String::new(),
            seed: Some(Seed {
                component,
                data: HookData::new(),
                metadata: HashMap::new(),
                parent: None,
                operation_type: None,
            }),
            parent_mode: Parent::Inherit,
            in_scope: false,
            set_language: None,
            set_correlation_id: None,
            scope: None,
            correlation_id: Uuid::nil(),
            language: Language::Rust,
            op_point: None,
            before: None,
            after: None,
            error: None,
            name_key: None,
            input_key: Cow::Borrowed("input"),
            output_key: Cow::Borrowed("output"),
            input: Value::Null,
            lent: None,
            max_redirects: 0,
            redirects: 0,
            attempts: 0,
            reruns: 0,
            forks: Vec::new(),
            pending_forks: Vec::new(),
            cache_store: None,
            fork_runner: None,
            fork_depth: 0,
            max_fork_depth: 2,
            retryable: None,
            skip_on_skipped: false,
            nested: true,
            completed_data: true,
            spare_data: false,
            renamed: None,
            spare_key: None,
            resident: false,
            name_checked: false,
            span: tracing::Span::none(),
        }))
    }

    fn seed(&mut self) -> &mut Seed {
        // Present until `start`.
        self.0.seed.get_or_insert_with(|| Seed {
            component: ComponentId::system(),
            data: HookData::new(),
            metadata: HashMap::new(),
            parent: None,
            operation_type: None,
        })
    }

    /// The Before*, After* and error points.
    pub fn points(self, before: HookPoint, after: HookPoint, error: HookPoint) -> Self {
        self.before(before).after(after).on_error(error)
    }

    /// The point fired before the operation runs.
    pub fn before(mut self, point: HookPoint) -> Self {
        self.0.before = Some(point);
        self
    }

    /// The point fired after it produced a result.
    pub fn after(mut self, point: HookPoint) -> Self {
        self.0.after = Some(point);
        self
    }

    /// The point fired when it failed.
    pub fn on_error(mut self, point: HookPoint) -> Self {
        self.0.error = Some(point);
        self
    }

    /// The data key that holds the target's name (`tool_name`,
    /// `agent_name`, ...), kept current across redirects.
    pub fn name_key(mut self, key: impl Into<Cow<'static, str>>) -> Self {
        self.0.name_key = Some(key.into());
        self
    }

    /// The data key of the input and its value (default key `input`).
    pub fn input(mut self, key: impl Into<Cow<'static, str>>, value: Value) -> Self {
        self.0.input_key = key.into();
        self.0.input = value;
        self.0.lent = None;
        self
    }

    /// [`input`](Self::input) with a borrowed value, copied only when
    /// something needs it owned: a point that has hooks (the context holds
    /// it), an attempt of the operation
    /// ([`OperationRun::input_for_attempt`]). [`OperationRun::input`]
    /// reads it in place. A component that copies its parameters anyway
    /// before running (e.g. to resolve synonyms) thus saves its caller a
    /// copy.
    pub fn input_ref(mut self, key: impl Into<Cow<'static, str>>, value: &'h Value) -> Self {
        self.0.input_key = key.into();
        self.0.input = Value::Null;
        self.0.lent = Some(value);
        self
    }

    /// The data key of the result at the After* and error points (default
    /// `output`). The error point also gets the error message under
    /// `error`.
    pub fn output_key(mut self, key: impl Into<Cow<'static, str>>) -> Self {
        self.0.output_key = key.into();
        self
    }

    /// Another fixed data key.
    pub fn data(mut self, key: impl Into<String>, value: Value) -> Self {
        self.seed().data.insert(key.into(), value);
        self
    }

    /// More fixed data keys.
    pub fn data_map(mut self, data: HookData) -> Self {
        let seed = self.seed();
        if seed.data.is_empty() {
            // The map itself, not its entries moved one by one into a new
            // one (a map from `Completed::spare_data` keeps its keys).
            seed.data = data;
        } else {
            seed.data.extend(data);
        }
        self
    }

    /// A metadata entry of every context.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.seed().metadata.insert(key.into(), value.into());
        self
    }

    /// The language the operation was started from (default: the
    /// enclosing operation's, else Rust).
    pub fn language(mut self, language: Language) -> Self {
        self.0.set_language = Some(language);
        self
    }

    /// The correlation id (default: the enclosing operation's, else new).
    pub fn correlation_id(mut self, id: Uuid) -> Self {
        self.0.set_correlation_id = Some(id);
        self
    }

    /// The parent context (default: the enclosing operation, if any); its
    /// correlation id is used unless one is set.
    pub fn parent(mut self, parent: HookContext) -> Self {
        self.seed().parent = Some(Box::new(parent));
        self.0.parent_mode = Parent::Explicit;
        self
    }

    /// No parent, even inside another operation.
    pub fn no_parent(mut self) -> Self {
        self.seed().parent = None;
        self.0.parent_mode = Parent::None;
        self
    }

    /// Sets the contexts' `operation` (type and a fresh id; the parameters
    /// and result live in the data).
    pub fn operation_type(mut self, operation_type: impl Into<String>) -> Self {
        self.seed().operation_type = Some(operation_type.into());
        self
    }

    /// Allows `Redirect` results, at most `max` per run: the operation is
    /// started again on the target (with all its hooks) and the closure
    /// gets the target in [`Call::target`]. Without this, a redirect is
    /// [`OperationError::RedirectRefused`].
    pub fn redirects(mut self, max: u32) -> Self {
        self.0.max_redirects = max;
        self
    }

    /// Which errors a `Retry` at the error point may re-run (default:
    /// every error).
    pub fn retryable(mut self, f: impl Fn(&E) -> bool + Send + Sync + 'h) -> Self {
        self.0.retryable = Some(Box::new(f));
        self
    }

    /// Runs the operations of `Fork` results (without one they fail with
    /// [`ForkError::NoRunner`]).
    pub fn fork_runner(mut self, runner: &'h dyn ForkRunner<E>) -> Self {
        self.0.fork_runner = Some(runner);
        self
    }

    /// This operation's fork depth (0 for a top-level one) and how deep
    /// forks may nest (default 2).
    pub fn fork_depth(mut self, depth: u32, max: u32) -> Self {
        self.0.fork_depth = depth;
        self.0.max_fork_depth = max;
        self
    }

    /// The cache of `Cache` results (default: the [`Hooks`]' own).
    pub fn cache(mut self, cache: &'h HookCache) -> Self {
        self.0.cache = cache;
        self
    }

    /// Gives `Skipped` at the Before* point the meaning "skip the
    /// operation": it is not run and the value is the output key's value
    /// (null unless a hook set it), source [`ResultSource::Skipped`].
    /// Default off: `Skipped` means "this hook did nothing".
    pub fn skip_on_skipped(mut self, on: bool) -> Self {
        self.0.skip_on_skipped = on;
        self
    }

    /// Whether operations started while this one runs become its children
    /// (default true). A component whose operations never start others may
    /// turn it off to save setting up the scope.
    pub fn nested(mut self, on: bool) -> Self {
        self.0.nested = on;
        self
    }

    /// Whether [`Completed::data`] gets the context data (default true). A
    /// component that never reads it may turn it off to save copying the
    /// result into it (the data is then empty, as when no hook ran); the
    /// hooks see the same data either way.
    pub fn completed_data(mut self, on: bool) -> Self {
        self.0.completed_data = on;
        self
    }

    /// Whether [`Completed::spare_data`] gets the context's data map when
    /// the run completes (default false). A component that runs many
    /// operations with the same fixed keys can reset the map's values and
    /// give it to its next operation with [`data_map`](Self::data_map),
    /// which saves allocating the keys (and the map) again. The hooks see
    /// the same data either way.
    pub fn spare_data(mut self, on: bool) -> Self {
        self.0.spare_data = on;
        self
    }

    /// Starts the run, for components that drive the points themselves
    /// (e.g. with extra stages between Before* points); [`run`](Self::run)
    /// is this plus the standard loop.
    pub fn start(mut self) -> OperationRun<'h, E>
    where
        E: fmt::Display,
    {
        let mode = self.0.parent_mode;
        let seed = self.seed();
        if mode == Parent::Inherit {
            seed.parent = current_parent().map(Box::new);
        }
        let parent = seed.parent.as_ref().map(|p| (p.correlation_id, p.language));
        // The name lives in `target` from now on (contexts and scopes copy
        // it from there).
        let target = std::mem::take(&mut seed.component.name);
        let st = &mut *self.0;
        st.correlation_id = st
            .set_correlation_id
            .or(parent.map(|p| p.0))
            .unwrap_or_else(Uuid::new_v4);
        st.language = st.set_language.or(parent.map(|p| p.1)).unwrap_or_default();
        st.target = target;
        st.op_point.clone_from(&st.before);
        st.span = {
            let seed = st.seed.as_ref();
            telemetry::span(
                seed.map(|s| &s.component.component_type),
                seed.and_then(|s| s.operation_type.as_deref()),
                &st.target,
                st.correlation_id,
                st.language,
                st.lent.unwrap_or(&st.input),
            )
        };
        OperationRun(self.0)
    }

    /// Runs the operation: the Before* point, then `op` (again for
    /// `Retry`, on another target for `Redirect`), then the After* point,
    /// or the error point when `op` failed; every hook result applied as
    /// the table in this module's docs says.
    ///
    /// `op` gets a [`Call`]: the target, the input as the hooks left it,
    /// the attempt number and the correlation id.
    ///
    /// # Errors
    /// [`OperationError`]: cancelled by a hook, retries exhausted, too
    /// many redirects, a refused redirect, or `op`'s own error.
    pub async fn run<F, Fut>(self, op: F) -> Result<Completed<E>, OperationError<E>>
    where
        F: Fn(Call) -> Fut,
        Fut: Future<Output = Result<Value, E>>,
        E: fmt::Display,
    {
        self.run_op(Op::<F, NoLent>::Owned(&op)).await
    }

    /// [`run`](Self::run) with the input lent to `op` ([`LentCall`])
    /// instead of given: when a hook at the After* or error point may ask
    /// for a re-run (or sees the input), `run` must copy the input for
    /// each attempt; here the operation reads it in place, and copies it
    /// only if it needs it owned ([`LentCall::into_input`]). Everything
    /// else is as [`run`](Self::run).
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub async fn run_lent<L>(self, op: &L) -> Result<Completed<E>, OperationError<E>>
    where
        L: LentOperation<E> + ?Sized,
        E: fmt::Display,
    {
        self.run_op(Op::<fn(Call) -> std::future::Ready<Result<Value, E>>, L>::Lent(op))
            .await
    }

    async fn run_op<F, Fut, L>(self, op: Op<'_, F, L>) -> Result<Completed<E>, OperationError<E>>
    where
        F: Fn(Call) -> Fut,
        Fut: Future<Output = Result<Value, E>>,
        L: LentOperation<E> + ?Sized,
        E: fmt::Display,
    {
        let mut run = self.start();
        let span = run.0.span.clone();
        async move {
            let outcome = if run.0.nested {
                // One scope for the whole run: the points and attempts inside
                // it need not enter it again.
                let scope = run.0.scope();
                run.0.in_scope = true;
                let outcome = scope.enter(run.0.drive(&op)).await;
                run.0.in_scope = false;
                outcome
            } else {
                run.0.drive(&op).await
            };
            run.complete(outcome).await
        }
        .instrument(span)
        .await
    }
}

/// The parts of the first context, kept until a hook point actually needs
/// one (an operation whose points have no hooks never builds it).
struct Seed {
    component: ComponentId,
    data: HookData,
    metadata: HashMap<String, String>,
    /// Boxed as the context holds it (and inline it would make the run's
    /// state, one allocation per run, too large for the allocator's
    /// per-thread cache).
    parent: Option<Box<HookContext>>,
    operation_type: Option<String>,
}

/// One run of a hooked operation, driven point by point; made by
/// [`HookedOperation::start`].
///
/// One context serves every point of the run: keys a hook adds at one
/// point are seen at the next. Before each point the fixed keys are set
/// again (the name key to the current target, the input key, `forks`), the
/// output and `error` keys are removed at Before* points, and set at the
/// After* and error points.
pub struct OperationRun<'h, E>(Box<RunState<'h, E>>);

/// The state of an [`OperationRun`] (boxed: the futures that drive a run
/// hold a pointer, not the state).
struct RunState<'h, E> {
    hooks: &'h Hooks,
    cache: &'h HookCache,
    ctx: Option<HookContext>,
    seed: Option<Seed>,
    parent_mode: Parent,
    /// Whether the task-local scope is already entered for the whole run
    /// (by `run`), so points and attempts need not enter it again.
    in_scope: bool,
    set_language: Option<Language>,
    set_correlation_id: Option<Uuid>,
    scope: Option<Arc<Scope>>,
    correlation_id: Uuid,
    language: Language,
    op_point: Option<HookPoint>,
    before: Option<HookPoint>,
    after: Option<HookPoint>,
    error: Option<HookPoint>,
    name_key: Option<Cow<'static, str>>,
    input_key: Cow<'static, str>,
    output_key: Cow<'static, str>,
    input: Value,
    /// A borrowed input ([`HookedOperation::input_ref`]): while set, it is
    /// the input and `input` is null.
    lent: Option<&'h Value>,
    target: String,
    max_redirects: u32,
    redirects: u32,
    attempts: u32,
    reruns: u32,
    forks: Vec<ForkResult<E>>,
    pending_forks: Vec<ForkOperation>,
    /// A `Cache` result's key and time to live, for the result. Boxed: it
    /// is rare, and every run's state (one allocation, moved into place
    /// whole) is that much smaller.
    cache_store: Option<Box<(String, Duration)>>,
    fork_runner: Option<&'h dyn ForkRunner<E>>,
    fork_depth: u32,
    max_fork_depth: u32,
    retryable: Option<Retryable<'h, E>>,
    skip_on_skipped: bool,
    nested: bool,
    completed_data: bool,
    /// Whether `Completed::spare_data` gets the data map.
    spare_data: bool,
    renamed: Option<String>,
    /// The output key a point removed from the map (the Before* and error
    /// points have none), kept to be put back by the next point that sets
    /// the output: the key is not allocated at every After* point.
    spare_key: Option<String>,
    /// Whether the input lives in the context's data under the input key
    /// (put there by a point and left for the next one) rather than in
    /// `input`: between points that run back to back it is not taken out
    /// and put back. `input` is null and `lent` is `None` while set.
    resident: bool,
    /// Whether the name key held the target when the last point's hooks
    /// were done (nothing has changed either since): the next point need
    /// not look it up.
    name_checked: bool,
    /// The run's `tracing` span (disabled when nothing listens).
    span: tracing::Span,
}

impl<E> fmt::Debug for OperationRun<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperationRun")
            .field("target", &self.0.target)
            .field("correlation_id", &self.0.correlation_id)
            .field("attempts", &self.0.attempts)
            .field("redirects", &self.0.redirects)
            .finish_non_exhaustive()
    }
}

const ERROR_KEY: &str = "error";
const FORKS_KEY: &str = "forks";

impl<'h, E: fmt::Display> OperationRun<'h, E> {
    /// The current target (the component's name, or a redirect's target).
    #[must_use]
    pub fn target(&self) -> &str {
        self.0.target()
    }

    /// The correlation id.
    #[must_use]
    pub fn correlation_id(&self) -> Uuid {
        self.0.correlation_id()
    }

    /// The current input.
    #[must_use]
    pub fn input(&self) -> &Value {
        self.0.input()
    }

    /// Replaces the input.
    pub fn set_input(&mut self, input: Value) {
        self.0.set_input(input)
    }

    /// The input for the next run of the operation: a copy when it may run
    /// again (a hook at the After* or error point could ask for a re-run),
    /// otherwise the input itself.
    pub fn input_for_attempt(&mut self) -> Value {
        self.0.input_for_attempt()
    }

    /// The run's own input, moved out for an attempt that can borrow it,
    /// when [`input_for_attempt`](Self::input_for_attempt) would copy it
    /// because the operation may run again (a hook at the After* or error
    /// point could ask for a re-run). The caller lends it to the attempt
    /// and gives it back with [`set_input`](Self::set_input) before the
    /// next point; until then [`input`](Self::input) is null. `None` when
    /// no copy would be made (the input is the caller's lent value, or the
    /// run will not need it again): use `input_for_attempt` then.
    pub fn take_input_to_lend(&mut self) -> Option<Value> {
        self.0.take_input_to_lend()
    }

    /// How many times the operation ran.
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.0.attempts()
    }

    /// Results of forks so far.
    #[must_use]
    pub fn forks(&self) -> &[ForkResult<E>] {
        self.0.forks()
    }

    /// Takes the results of forks so far.
    pub fn take_forks(&mut self) -> Vec<ForkResult<E>> {
        self.0.take_forks()
    }

    /// The context data as hooks left it (empty before the first hook).
    #[must_use]
    pub fn data(&self) -> Option<&HookData> {
        self.0.data()
    }

    /// The name a hook wrote into the name key at the last Before* point,
    /// when it differs from the target (taken: `None` the next time). A
    /// component that lets hooks pick another target there (tool
    /// discovery) follows it with [`set_target`](Self::set_target).
    pub fn take_renamed(&mut self) -> Option<String> {
        self.0.take_renamed()
    }

    /// Changes the target without counting a redirect.
    pub fn set_target(&mut self, target: impl Into<String>) {
        self.0.set_target(target)
    }

    /// Follows a redirect to `target`: counts it, resets the re-run count
    /// and makes `target` the component's name for the next points.
    ///
    /// # Errors
    /// [`OperationError::TooManyRedirects`] past the limit.
    pub fn redirect(&mut self, target: String) -> Result<(), OperationError<E>> {
        self.0.redirect(target)
    }

    /// Whether `point` has hooks.
    #[must_use]
    pub fn hooked(&self, point: &HookPoint) -> bool {
        self.0.hooked(point)
    }

    /// Fires a Before* point and applies its outcome.
    ///
    /// # Errors
    /// Cancelled, retries exhausted, or a refused redirect.
    pub async fn before(&mut self, point: &HookPoint) -> Result<Step, OperationError<E>> {
        // A point without hooks decides nothing: no future is built for it.
        if !self.0.hooks.has_hooks(point) {
            return Ok(Step::Go);
        }
        // Decided in place when no hook needs awaiting: no future is built
        // for the point.
        if self.0.span.is_disabled() {
            return match self.0.before_now(point, None) {
                Ok(step) => step,
                Err(wait) => Box::pin(self.0.before_wait(point, None, wait)).await,
            };
        }
        let span = self.0.span.clone();
        self.0.before_noting(point, None).instrument(span).await
    }

    /// [`before`](Self::before) with an `error` data key: a Before* point
    /// of a later stage that reports what an earlier stage found wrong
    /// (e.g. tool discovery of a missing tool), so that a hook may redirect
    /// or replace.
    ///
    /// # Errors
    /// As [`before`](Self::before).
    pub async fn before_noting(
        &mut self,
        point: &HookPoint,
        error: Option<String>,
    ) -> Result<Step, OperationError<E>> {
        if !self.0.hooks.has_hooks(point) {
            return Ok(Step::Go);
        }
        if self.0.span.is_disabled() {
            return match self.0.before_now(point, error.as_deref()) {
                Ok(step) => step,
                Err(wait) => Box::pin(self.0.before_wait(point, error.as_deref(), wait)).await,
            };
        }
        let span = self.0.span.clone();
        self.0.before_noting(point, error).instrument(span).await
    }

    /// Runs one attempt of the operation (with forks asked for at a Before*
    /// point running concurrently), inside this run's scope so that
    /// operations it starts are children of this one.
    ///
    /// The future holds `fut` once: unless there are forks to run beside it
    /// or a `tracing` span to enter (then the attempt is boxed), it is `fut`
    /// itself, or `fut` inside the run's scope.
    pub fn execute<'a, Fut>(
        &'a mut self,
        fut: Fut,
    ) -> impl Future<Output = Result<Value, E>> + use<'a, 'h, E, Fut>
    where
        Fut: Future<Output = Result<Value, E>>,
    {
        let st = &mut *self.0;
        if st.span.is_disabled() && st.pending_forks.is_empty() {
            // What `RunState::execute` does, without an async fn around
            // `fut` (which would hold it twice: as its argument and as the
            // future it awaits).
            st.attempts += 1;
            if !st.nested {
                return Either::Left(fut);
            }
            let scope = st.scope();
            if let Some(p) = &st.op_point {
                scope.set_point(p);
            }
            if st.in_scope {
                return Either::Left(fut);
            }
            return Either::Right(Either::Left(scope.enter_owned(fut)));
        }
        let span = st.span.clone();
        Either::Right(Either::Right(Box::pin(st.execute(fut).instrument(span))))
    }

    /// Runs the forks asked for by a point that ended the operation early
    /// (a `Replace`/`Cache` hit after a `Fork`): they still run.
    pub async fn run_pending_forks(&mut self) {
        if self.0.pending_forks.is_empty() {
            return;
        }
        let span = self.0.span.clone();
        self.0.run_pending_forks().instrument(span).await
    }

    /// Fires the After* point with the operation's `value` and applies its
    /// outcome; a `Done` result is stored in the cache if a `Cache` result
    /// asked for it.
    ///
    /// # Errors
    /// Cancelled, or a refused redirect.
    pub async fn after(
        &mut self,
        point: &HookPoint,
        value: Value,
    ) -> Result<AfterStep, OperationError<E>> {
        if self.0.span.is_disabled() {
            return match self.0.after_now(point, value) {
                Ok(step) => step,
                Err(wait) => Box::pin(self.0.after_wait(point, wait)).await,
            };
        }
        let span = self.0.span.clone();
        self.0.after(point, value).instrument(span).await
    }

    /// Fires the error point for `error` and says what to do.
    pub async fn error(&mut self, point: &HookPoint, error: E) -> Recovery<E> {
        if self.0.span.is_disabled() {
            return match self.0.error_now(point, error) {
                Ok(recovery) => recovery,
                Err(wait) => Box::pin(self.0.error_wait(point, wait)).await,
            };
        }
        let span = self.0.span.clone();
        self.0.error(point, error).instrument(span).await
    }

    /// Ends the run: forks still pending run, and the outcome becomes a
    /// [`Completed`] (or the error).
    ///
    /// # Errors
    /// `outcome`'s error.
    pub fn complete(
        self,
        outcome: Result<(Value, ResultSource), OperationError<E>>,
    ) -> impl Future<Output = Result<Completed<E>, OperationError<E>>> + use<'h, E> {
        if self.0.span.is_disabled() && self.0.pending_forks.is_empty() {
            // Nothing to await: the future is the run and the outcome.
            return Either::Left(async move { self.0.finish(outcome) });
        }
        let span = self.0.span.clone();
        Either::Right(Box::pin(self.0.complete(outcome).instrument(span)))
    }
}

impl<'h, E: fmt::Display> RunState<'h, E> {
    #[must_use]
    fn target(&self) -> &str {
        &self.target
    }

    #[must_use]
    fn correlation_id(&self) -> Uuid {
        self.correlation_id
    }

    #[must_use]
    fn input(&self) -> &Value {
        if self.resident {
            static NULL: Value = Value::Null;
            return match &self.ctx {
                Some(ctx) => ctx.data.get(&*self.input_key).unwrap_or(&NULL),
                None => &NULL,
            };
        }
        self.lent.unwrap_or(&self.input)
    }

    /// Takes a resident input back out of the context (see `resident`).
    fn reclaim(&mut self) {
        if !self.resident {
            return;
        }
        self.resident = false;
        self.input = self
            .ctx
            .as_mut()
            .and_then(|c| c.data.get_mut(&*self.input_key))
            .map(std::mem::take)
            .unwrap_or(Value::Null);
    }

    fn set_input(&mut self, input: Value) {
        self.reclaim();
        self.lent = None;
        self.input = input;
    }

    fn input_for_attempt(&mut self) -> Value {
        self.reclaim();
        if let Some(v) = self.lent {
            return v.clone();
        }
        if self.may_rerun() {
            self.input.clone()
        } else {
            std::mem::take(&mut self.input)
        }
    }

    fn take_input_to_lend(&mut self) -> Option<Value> {
        self.reclaim();
        (self.lent.is_none() && self.may_rerun()).then(|| std::mem::take(&mut self.input))
    }

    /// Whether the operation may run again (a hook at the After* or error
    /// point could ask for a re-run), so that its input must be kept.
    fn may_rerun(&self) -> bool {
        [&self.after, &self.error]
            .into_iter()
            .flatten()
            .any(|p| self.hooks.has_hooks(p))
    }

    /// A borrowed input becomes the run's own (a hook point is about to put
    /// it in the context).
    fn materialize(&mut self) {
        self.reclaim();
        if let Some(v) = self.lent.take() {
            self.input = v.clone();
        }
    }

    /// One attempt of a lent operation: the input stays the run's.
    async fn execute_lent<L>(&mut self, op: &L) -> Result<Value, E>
    where
        L: LentOperation<E> + ?Sized,
    {
        self.reclaim();
        let keep = self.may_rerun();
        let mut input = std::mem::take(&mut self.input);
        let lent = self.lent;
        let held = match lent {
            Some(v) => Held::Shared(v),
            None => Held::Own(&mut input, keep),
        };
        let call = LentCall {
            target: self.target.clone(),
            attempt: self.attempts + 1,
            correlation_id: self.correlation_id,
            input: held,
        };
        let outcome = self.execute(op.call(call)).await;
        self.input = input;
        outcome
    }

    #[must_use]
    fn attempts(&self) -> u32 {
        self.attempts
    }

    #[must_use]
    fn forks(&self) -> &[ForkResult<E>] {
        &self.forks
    }

    fn take_forks(&mut self) -> Vec<ForkResult<E>> {
        std::mem::take(&mut self.forks)
    }

    #[must_use]
    fn data(&self) -> Option<&HookData> {
        self.ctx.as_ref().map(|c| &c.data)
    }

    fn take_renamed(&mut self) -> Option<String> {
        self.renamed.take()
    }

    fn set_target(&mut self, target: impl Into<String>) {
        self.target = target.into();
        self.name_checked = false;
        if let Some(ctx) = &mut self.ctx {
            ctx.component.name.clone_from(&self.target);
        }
        if let Some(scope) = &self.scope {
            scope.set_component_name(&self.target);
        }
    }

    fn redirect(&mut self, target: String) -> Result<(), OperationError<E>> {
        self.redirects += 1;
        if self.redirects > self.max_redirects {
            return Err(OperationError::TooManyRedirects {
                target,
                limit: self.max_redirects,
            });
        }
        self.reruns = 0;
        self.set_target(target);
        Ok(())
    }

    #[must_use]
    fn hooked(&self, point: &HookPoint) -> bool {
        self.hooks.has_hooks(point)
    }

    fn context(&mut self) -> &mut HookContext {
        if self.ctx.is_none() {
            let seed = self.seed.take().unwrap_or_else(|| Seed {
                component: ComponentId::system(),
                data: HookData::new(),
                metadata: HashMap::new(),
                parent: None,
                operation_type: None,
            });
            let mut component = seed.component;
            component.name.clone_from(&self.target);
            let point = self
                .op_point
                .clone()
                .unwrap_or_else(|| HookPoint::custom("operation"));
            self.ctx = Some(HookContext {
                point,
                component,
                correlation_id: self.correlation_id,
                language: self.language,
                data: seed.data,
                metadata: seed.metadata,
                // Once per run: the points share this context.
                timestamp: crate::context::wall_now(),
                operation: seed
                    .operation_type
                    .map(|t| OperationContext::new(t, Value::Null)),
                parent: seed.parent,
            });
        }
        match &mut self.ctx {
            Some(ctx) => ctx,
            None => unreachable!("the context was just built"),
        }
    }

    fn scope(&mut self) -> Arc<Scope> {
        Arc::clone(self.ensure_scope())
    }

    /// The run's scope, built on first use.
    fn ensure_scope(&mut self) -> &Arc<Scope> {
        if self.scope.is_none() {
            let default_point;
            let point = match &self.op_point {
                Some(p) => p,
                None => {
                    default_point = HookPoint::custom("operation");
                    &default_point
                }
            };
            let scope = match (&self.ctx, &self.seed) {
                (Some(ctx), _) => Scope::build(
                    &ctx.point,
                    &ctx.component,
                    &ctx.component.name,
                    ctx.correlation_id,
                    ctx.language,
                    &ctx.metadata,
                ),
                // The operation runs before any hook did: the scope needs
                // only the identity, not the data.
                (None, Some(seed)) => Scope::build(
                    point,
                    &seed.component,
                    &self.target,
                    self.correlation_id,
                    self.language,
                    &seed.metadata,
                ),
                (None, None) => {
                    let ctx = self.context();
                    Scope::build(
                        &ctx.point,
                        &ctx.component,
                        &ctx.component.name,
                        ctx.correlation_id,
                        ctx.language,
                        &ctx.metadata,
                    )
                }
            };
            self.scope = Some(scope);
        }
        match &self.scope {
            Some(scope) => scope,
            None => unreachable!("the scope was just built"),
        }
    }

    /// Sets the context up for `point`: the fixed keys, and the output and
    /// error keys as `keep` says; the run's scope is set to `point`.
    fn prepare(&mut self, point: &HookPoint, keep: Keep) {
        self.ensure_scope().set_point(point);
        self.renamed = None;
        // Built before the target is borrowed below (it names the component).
        self.context();
        let forks = (!self.forks.is_empty()).then(|| forks_json(&self.forks));
        let forked = forks.is_some();
        // The input may stay in the map after this point only when no
        // other key this run writes is the same key.
        let distinct = {
            let input_key: &str = &self.input_key;
            self.name_key.as_deref() != Some(input_key)
                && input_key != &*self.output_key
                && input_key != ERROR_KEY
                && input_key != FORKS_KEY
        };
        let input = if self.resident && distinct {
            None
        } else {
            self.materialize();
            Some(std::mem::take(&mut self.input))
        };
        let input_key: &str = &self.input_key;
        let name_key: Option<&str> = self.name_key.as_deref();
        let output_key: &str = &self.output_key;
        // A point writes the output or error key, and the forks key when
        // there are forks: the name is looked up again if it shares one.
        let name_checked = self.name_checked
            && !forked
            && name_key.is_some_and(|k| k != output_key && k != ERROR_KEY);
        let (target, ctx) = match &mut self.ctx {
            Some(ctx) => (&self.target, ctx),
            None => unreachable!("built above"),
        };
        // The fixed keys stay in the map between points: their values are
        // swapped in place, so a point allocates no key.
        if let Some(input) = input {
            put(&mut ctx.data, input_key, input);
        }
        if let Some(k) = name_key {
            if !name_checked {
                match ctx.data.get_mut(k) {
                    Some(Value::String(n)) if n == target => {}
                    _ => put(&mut ctx.data, k, Value::String(target.clone())),
                }
            }
        }
        if let Some(f) = forks {
            put(&mut ctx.data, FORKS_KEY, f);
        }
        // The fixed keys just set; when the map holds nothing else, the
        // output and error keys (unless among them) are known to be absent,
        // and removing them needs no lookup.
        let is_fixed =
            |k: &str| k == input_key || name_key == Some(k) || (forked && k == FORKS_KEY);
        let mut fixed = 1;
        if name_key.is_some_and(|k| k != input_key) {
            fixed += 1;
        }
        if forked && !is_fixed_besides_forks(input_key, name_key) {
            fixed += 1;
        }
        let only_fixed = output_key != ERROR_KEY && ctx.data.len() <= fixed;
        let may_hold = |k: &str| !only_fixed || is_fixed(k);
        let spare_key = &mut self.spare_key;
        // The output key, when removed, is kept for the next point that
        // sets the output.
        let mut remove_output = |data: &mut HookData| {
            if let Some((k, _)) = data.remove_entry(output_key) {
                *spare_key = Some(k);
            }
        };
        match keep {
            Keep::Neither => {
                if may_hold(output_key) {
                    remove_output(&mut ctx.data);
                }
                if may_hold(ERROR_KEY) {
                    ctx.data.remove(ERROR_KEY);
                }
            }
            Keep::Output(v) => {
                let error_there = may_hold(ERROR_KEY);
                let slot = if may_hold(output_key) {
                    ctx.data.get_mut(output_key)
                } else {
                    None
                };
                match slot {
                    Some(slot) => *slot = v,
                    // Known to be absent, or not found: one insert, with
                    // the key a point removed when there is one.
                    None => {
                        // Only the output key is ever kept there.
                        let key = self
                            .spare_key
                            .take()
                            .unwrap_or_else(|| output_key.to_owned());
                        ctx.data.insert(key, v);
                    }
                }
                if error_there {
                    ctx.data.remove(ERROR_KEY);
                }
            }
            Keep::Error(e) => {
                if may_hold(output_key) {
                    remove_output(&mut ctx.data);
                }
                put(&mut ctx.data, ERROR_KEY, Value::String(e));
            }
        }
        self.resident = distinct;
    }

    /// Notes, after a point's hooks ran, whether the input is still in the
    /// context (it stays there for the next point; see `resident`) and a
    /// target a hook renamed.
    fn settle(&mut self) {
        let Some(ctx) = &mut self.ctx else {
            return;
        };
        if self.resident {
            // A hook's `Modified` data may lack the input: it is then null.
            if !ctx.data.contains_key(&*self.input_key) {
                self.resident = false;
                self.input = Value::Null;
            }
        } else {
            self.input = ctx
                .data
                .get_mut(&*self.input_key)
                .map(std::mem::take)
                .unwrap_or(Value::Null);
        }
        self.name_checked = false;
        if let Some(k) = &self.name_key {
            match ctx.data.get(&**k) {
                Some(Value::String(n)) if *n != self.target => self.renamed = Some(n.clone()),
                Some(Value::String(_)) => self.name_checked = true,
                _ => {}
            }
        }
    }

    /// Fires `point` with the fixed keys set, synchronously as far as its
    /// hooks allow: hooks that need no awaiting run in place, inside the
    /// run's scope, and no future is built unless one needs awaiting (then
    /// [`dispatch_rest`](Self::dispatch_rest) goes on from there).
    fn dispatch_now(&mut self, point: &HookPoint, keep: Keep) -> FirstPass<'h> {
        self.prepare(point, keep);
        // `hooks` outlives the run: no reference count to touch.
        let hooks: &'h Hooks = self.hooks;
        let executor: &'h HookExecutor = hooks.executor();
        let in_scope = self.in_scope;
        let ctx = match &mut self.ctx {
            Some(ctx) => ctx,
            None => unreachable!("built by `prepare`"),
        };
        let first = if in_scope {
            executor.first_pass(point, ctx)
        } else {
            // The scope is lent for the pass, not shared: no reference
            // count, no future.
            Scope::sync_enter(&mut self.scope, || executor.first_pass(point, ctx))
        };
        if matches!(first, FirstPass::Done(..)) {
            self.settle();
        }
        first
    }

    /// The rest of a point whose first pass stopped at a hook that needs
    /// awaiting, inside the run's scope.
    async fn dispatch_rest(
        &mut self,
        point: &HookPoint,
        rest: Resume<'h>,
    ) -> (HookOutcome, Option<Skip>) {
        let hooks: &'h Hooks = self.hooks;
        let executor = hooks.executor();
        let scope = (!self.in_scope).then(|| self.scope());
        let ctx = match &mut self.ctx {
            Some(ctx) => ctx,
            None => unreachable!("built by `prepare`"),
        };
        let result = match scope {
            None => executor.resume(point, ctx, rest).await,
            Some(scope) => scope.enter_owned(executor.resume(point, ctx, rest)).await,
        };
        self.settle();
        result
    }

    /// Takes the output a hook left at the last point. The key stays (with
    /// null): the next point removes it, or a completed run's data or the
    /// next point's output reuses it.
    fn take_output(&mut self) -> Option<Value> {
        let key: &str = &self.output_key;
        self.ctx
            .as_mut()
            .and_then(|c| c.data.get_mut(key))
            .map(std::mem::take)
    }

    fn redirect_or_refuse(
        &self,
        point: &HookPoint,
        hook: String,
        target: String,
    ) -> Result<String, OperationError<E>> {
        if self.max_redirects == 0 {
            Err(OperationError::RedirectRefused {
                point: point.clone(),
                hook,
                target,
            })
        } else {
            Ok(target)
        }
    }

    async fn before(&mut self, point: &HookPoint) -> Result<Step, OperationError<E>> {
        self.before_noting(point, None).await
    }

    async fn before_noting(
        &mut self,
        point: &HookPoint,
        error: Option<String>,
    ) -> Result<Step, OperationError<E>> {
        if !self.hooks.has_hooks(point) {
            return Ok(Step::Go);
        }
        match self.before_now(point, error.as_deref()) {
            Ok(step) => step,
            // Boxed: the rare path, kept out of every point's future.
            Err(wait) => Box::pin(self.before_wait(point, error.as_deref(), wait)).await,
        }
    }

    /// A Before* point as far as it goes without waiting: decided, or what
    /// it waits for (a hook to await, a `Retry`'s delay).
    fn before_now(
        &mut self,
        point: &HookPoint,
        error: Option<&str>,
    ) -> Result<Result<Step, OperationError<E>>, BeforeWait<'h>> {
        let keep = match error {
            Some(e) => Keep::Error(e.to_owned()),
            None => Keep::Neither,
        };
        match self.dispatch_now(point, keep) {
            FirstPass::Done(outcome, skipped) => self
                .decide_before(point, outcome, skipped)
                .map_err(BeforeWait::Retry),
            FirstPass::Resume(rest) => Err(BeforeWait::Hooks(rest)),
        }
    }

    /// The rest of a Before* point that must wait: its hooks, then any
    /// `Retry` (the point asked again after the delay, at most
    /// `max_attempts` times).
    async fn before_wait(
        &mut self,
        point: &HookPoint,
        error: Option<&str>,
        mut wait: BeforeWait<'h>,
    ) -> Result<Step, OperationError<E>> {
        let mut retries = 0u32;
        loop {
            let retry = match wait {
                BeforeWait::Hooks(rest) => {
                    let (outcome, skipped) = self.dispatch_rest(point, rest).await;
                    match self.decide_before(point, outcome, skipped) {
                        Ok(step) => return step,
                        Err(retry) => retry,
                    }
                }
                BeforeWait::Retry(retry) => retry,
            };
            if retries >= retry.max_attempts {
                return Err(OperationError::RetriesExhausted {
                    point: point.clone(),
                    hook: retry.hook,
                    max_attempts: retry.max_attempts,
                });
            }
            retries += 1;
            pause(retry.delay).await;
            wait = match self.before_now(point, error) {
                Ok(step) => return step,
                Err(w) => w,
            };
        }
    }

    /// What a Before* point's outcome means for the run; a `Retry` is
    /// handed back (it needs waiting).
    fn decide_before(
        &mut self,
        point: &HookPoint,
        outcome: HookOutcome,
        skipped: Option<Skip>,
    ) -> Result<Result<Step, OperationError<E>>, RetryAsk> {
        Ok(Ok(match outcome {
            HookOutcome::Continue => match skipped {
                Some(_) if self.skip_on_skipped => {
                    let value = self.take_output().unwrap_or(Value::Null);
                    Step::Finish(value, ResultSource::Skipped)
                }
                _ => Step::Go,
            },
            HookOutcome::Cancelled { reason, hook } => {
                return Ok(Err(OperationError::Cancelled {
                    point: point.clone(),
                    hook,
                    reason,
                }))
            }
            HookOutcome::Redirect { target, hook } => {
                match self.redirect_or_refuse(point, hook, target) {
                    Ok(t) => Step::Redirect(t),
                    Err(e) => return Ok(Err(e)),
                }
            }
            HookOutcome::Replace { value, .. } => Step::Finish(value, ResultSource::Replaced),
            HookOutcome::Retry {
                delay,
                max_attempts,
                hook,
            } => {
                return Err(RetryAsk {
                    delay,
                    max_attempts,
                    hook,
                })
            }
            HookOutcome::Fork { operations, .. } => {
                self.pending_forks.extend(operations);
                Step::Go
            }
            HookOutcome::Cache { key, ttl, .. } => match self.cache.get(&key) {
                Some(hit) => Step::Finish(hit, ResultSource::Cached),
                None => {
                    self.cache_store = Some(Box::new((key, ttl)));
                    Step::Go
                }
            },
        }))
    }

    async fn execute<Fut>(&mut self, fut: Fut) -> Result<Value, E>
    where
        Fut: Future<Output = Result<Value, E>>,
    {
        self.attempts += 1;
        let scope = if self.nested {
            let s = self.scope();
            if let Some(p) = &self.op_point {
                s.set_point(p);
            }
            Some(s)
        } else {
            None
        };
        let scope = scope.filter(|_| !self.in_scope);
        if self.pending_forks.is_empty() {
            return match scope {
                Some(s) => s.enter(fut).await,
                None => fut.await,
            };
        }
        let ops = std::mem::take(&mut self.pending_forks);
        let (outcome, forked) = match scope {
            Some(s) => {
                s.enter(async {
                    futures::join!(
                        Box::pin(fut),
                        Box::pin(run_forks(
                            self.fork_runner,
                            self.fork_depth,
                            self.max_fork_depth,
                            ops
                        ))
                    )
                })
                .await
            }
            None => {
                futures::join!(
                    Box::pin(fut),
                    Box::pin(run_forks(
                        self.fork_runner,
                        self.fork_depth,
                        self.max_fork_depth,
                        ops
                    ))
                )
            }
        };
        self.forks.extend(forked);
        outcome
    }

    async fn run_pending_forks(&mut self) {
        if self.pending_forks.is_empty() {
            return;
        }
        let ops = std::mem::take(&mut self.pending_forks);
        let forked = Box::pin(run_forks(
            self.fork_runner,
            self.fork_depth,
            self.max_fork_depth,
            ops,
        ))
        .await;
        self.forks.extend(forked);
    }

    async fn after(
        &mut self,
        point: &HookPoint,
        value: Value,
    ) -> Result<AfterStep, OperationError<E>> {
        match self.after_now(point, value) {
            Ok(step) => step,
            // Boxed: the rare path, kept out of every point's future.
            Err(wait) => Box::pin(self.after_wait(point, wait)).await,
        }
    }

    /// An After* point as far as it goes without waiting.
    fn after_now(
        &mut self,
        point: &HookPoint,
        value: Value,
    ) -> Result<Result<AfterStep, OperationError<E>>, Wait<'h, (), Value>> {
        if !self.hooks.has_hooks(point) {
            self.store_cached(&value);
            return Ok(Ok(AfterStep::Done(value, ResultSource::Executed)));
        }
        match self.dispatch_now(point, Keep::Output(value)) {
            FirstPass::Done(outcome, _) => self.decide_after(point, outcome).map_err(Wait::Later),
            FirstPass::Resume(rest) => Err(Wait::Hooks(rest, ())),
        }
    }

    /// The rest of an After* point that must wait.
    async fn after_wait(
        &mut self,
        point: &HookPoint,
        wait: Wait<'h, (), Value>,
    ) -> Result<AfterStep, OperationError<E>> {
        let later = match wait {
            Wait::Hooks(rest, ()) => {
                let (outcome, _) = self.dispatch_rest(point, rest).await;
                match self.decide_after(point, outcome) {
                    Ok(step) => return step,
                    Err(later) => later,
                }
            }
            Wait::Later(later) => later,
        };
        match later {
            Later::Pause(delay) => {
                pause(delay).await;
                Ok(AfterStep::Rerun)
            }
            Later::Fork(operations, value) => {
                let forked = Box::pin(run_forks(
                    self.fork_runner,
                    self.fork_depth,
                    self.max_fork_depth,
                    operations,
                ))
                .await;
                self.forks.extend(forked);
                self.store_cached(&value);
                Ok(AfterStep::Done(value, ResultSource::Executed))
            }
        }
    }

    /// What an After* point's outcome means; a re-run's delay and forks to
    /// run are handed back (they need waiting).
    fn decide_after(
        &mut self,
        point: &HookPoint,
        outcome: HookOutcome,
    ) -> Result<Result<AfterStep, OperationError<E>>, Later<Value>> {
        let value = self.take_output().unwrap_or(Value::Null);
        let step = match outcome {
            HookOutcome::Continue => AfterStep::Done(value, ResultSource::Executed),
            HookOutcome::Cancelled { reason, hook } => {
                return Ok(Err(OperationError::Cancelled {
                    point: point.clone(),
                    hook,
                    reason,
                }))
            }
            HookOutcome::Redirect { target, hook } => {
                match self.redirect_or_refuse(point, hook, target) {
                    Ok(t) => AfterStep::Redirect(t),
                    Err(e) => return Ok(Err(e)),
                }
            }
            HookOutcome::Replace { value, .. } => AfterStep::Done(value, ResultSource::Replaced),
            HookOutcome::Retry {
                delay,
                max_attempts,
                ..
            } => {
                if self.reruns < max_attempts {
                    self.reruns += 1;
                    return Err(Later::Pause(delay));
                }
                AfterStep::Done(value, ResultSource::Executed)
            }
            HookOutcome::Fork { operations, .. } => return Err(Later::Fork(operations, value)),
            HookOutcome::Cache { key, ttl, .. } => {
                self.cache.insert(key, value.clone(), ttl);
                AfterStep::Done(value, ResultSource::Executed)
            }
        };
        if let AfterStep::Done(v, _) = &step {
            self.store_cached(v);
        }
        Ok(Ok(step))
    }

    fn store_cached(&mut self, value: &Value) {
        if let Some((key, ttl)) = self.cache_store.take().map(|b| *b) {
            self.cache.insert(key, value.clone(), ttl);
        }
    }

    async fn error(&mut self, point: &HookPoint, error: E) -> Recovery<E> {
        match self.error_now(point, error) {
            Ok(recovery) => recovery,
            // Boxed: the rare path, kept out of every point's future.
            Err(wait) => Box::pin(self.error_wait(point, wait)).await,
        }
    }

    /// An error point as far as it goes without waiting.
    fn error_now(&mut self, point: &HookPoint, error: E) -> Result<Recovery<E>, Wait<'h, E, E>> {
        if !self.hooks.has_hooks(point) {
            return Ok(Recovery::Fail(OperationError::Failed(error)));
        }
        match self.dispatch_now(point, Keep::Error(error.to_string())) {
            FirstPass::Done(outcome, _) => self
                .decide_error(point, outcome, error)
                .map_err(Wait::Later),
            FirstPass::Resume(rest) => Err(Wait::Hooks(rest, error)),
        }
    }

    /// The rest of an error point that must wait.
    async fn error_wait(&mut self, point: &HookPoint, wait: Wait<'h, E, E>) -> Recovery<E> {
        let later = match wait {
            Wait::Hooks(rest, error) => {
                let (outcome, _) = self.dispatch_rest(point, rest).await;
                match self.decide_error(point, outcome, error) {
                    Ok(recovery) => return recovery,
                    Err(later) => later,
                }
            }
            Wait::Later(later) => later,
        };
        match later {
            Later::Pause(delay) => {
                pause(delay).await;
                Recovery::Rerun
            }
            Later::Fork(operations, error) => {
                let forked = Box::pin(run_forks(
                    self.fork_runner,
                    self.fork_depth,
                    self.max_fork_depth,
                    operations,
                ))
                .await;
                self.forks.extend(forked);
                Recovery::Fail(OperationError::Failed(error))
            }
        }
    }

    /// What an error point's outcome means; a re-run's delay and forks to
    /// run are handed back (they need waiting).
    fn decide_error(
        &mut self,
        point: &HookPoint,
        outcome: HookOutcome,
        error: E,
    ) -> Result<Recovery<E>, Later<E>> {
        Ok(match outcome {
            HookOutcome::Continue => match self.take_output() {
                // A `Modified` output recovers the operation.
                Some(v) if !v.is_null() => Recovery::Finish(v, ResultSource::Replaced),
                _ => Recovery::Fail(OperationError::Failed(error)),
            },
            HookOutcome::Cancelled { reason, hook } => Recovery::Fail(OperationError::Cancelled {
                point: point.clone(),
                hook,
                reason,
            }),
            HookOutcome::Redirect { target, hook } => {
                match self.redirect_or_refuse(point, hook, target) {
                    Ok(t) => Recovery::Redirect(t),
                    Err(e) => Recovery::Fail(e),
                }
            }
            HookOutcome::Replace { value, .. } => Recovery::Finish(value, ResultSource::Replaced),
            HookOutcome::Retry {
                delay,
                max_attempts,
                ..
            } => {
                let retryable = self.retryable.as_ref().is_none_or(|f| f(&error));
                if retryable && self.reruns < max_attempts {
                    self.reruns += 1;
                    return Err(Later::Pause(delay));
                }
                Recovery::Fail(OperationError::Failed(error))
            }
            HookOutcome::Fork { operations, .. } => return Err(Later::Fork(operations, error)),
            HookOutcome::Cache { key, .. } => match self.cache.get(&key) {
                Some(hit) => Recovery::Finish(hit, ResultSource::Cached),
                None => Recovery::Fail(OperationError::Failed(error)),
            },
        })
    }

    /// The standard loop: Before*, the operation (re-run and redirected as
    /// hooks ask), After* or error.
    async fn drive<F, Fut, L>(
        &mut self,
        op: &Op<'_, F, L>,
    ) -> Result<(Value, ResultSource), OperationError<E>>
    where
        F: Fn(Call) -> Fut,
        Fut: Future<Output = Result<Value, E>>,
        L: LentOperation<E> + ?Sized,
    {
        'target: loop {
            if let Some(point) = self.before.clone() {
                match self.before(&point).await? {
                    Step::Go => {}
                    Step::Redirect(t) => {
                        self.redirect(t)?;
                        continue 'target;
                    }
                    Step::Finish(v, s) => return Ok((v, s)),
                }
            }
            loop {
                let outcome = match op {
                    Op::Owned(f) => {
                        let call = Call {
                            target: self.target.clone(),
                            input: self.input_for_attempt(),
                            attempt: self.attempts + 1,
                            correlation_id: self.correlation_id,
                        };
                        self.execute(f(call)).await
                    }
                    Op::Lent(l) => self.execute_lent(*l).await,
                };
                match outcome {
                    Ok(value) => {
                        let Some(point) = self.after.clone() else {
                            self.store_cached(&value);
                            return Ok((value, ResultSource::Executed));
                        };
                        match self.after(&point, value).await? {
                            AfterStep::Done(v, s) => return Ok((v, s)),
                            AfterStep::Rerun => continue,
                            AfterStep::Redirect(t) => {
                                self.redirect(t)?;
                                continue 'target;
                            }
                        }
                    }
                    Err(error) => {
                        let Some(point) = self.error.clone() else {
                            return Err(OperationError::Failed(error));
                        };
                        match self.error(&point, error).await {
                            Recovery::Fail(e) => return Err(e),
                            Recovery::Rerun => continue,
                            Recovery::Redirect(t) => {
                                self.redirect(t)?;
                                continue 'target;
                            }
                            Recovery::Finish(v, s) => return Ok((v, s)),
                        }
                    }
                }
            }
        }
    }

    /// Ends the run: forks still pending run, and the outcome becomes a
    /// [`Completed`] (or the error).
    ///
    /// # Errors
    /// `outcome`'s error.
    async fn complete(
        mut self: Box<Self>,
        outcome: Result<(Value, ResultSource), OperationError<E>>,
    ) -> Result<Completed<E>, OperationError<E>> {
        self.run_pending_forks().await;
        self.finish(outcome)
    }

    /// [`complete`](Self::complete) once no fork is pending.
    fn finish(
        mut self: Box<Self>,
        outcome: Result<(Value, ResultSource), OperationError<E>>,
    ) -> Result<Completed<E>, OperationError<E>> {
        if let Some(scope) = self.scope.take() {
            Scope::recycle(scope);
        }
        telemetry::record(&self.span, &outcome, self.ctx.as_ref(), self.attempts);
        let (value, source) = outcome?;
        let mut spare_data = None;
        let data = match self.ctx.take() {
            Some(mut ctx) if self.completed_data => {
                // A resident input is in place already.
                if !self.resident {
                    self.materialize();
                    put(
                        &mut ctx.data,
                        &self.input_key,
                        std::mem::take(&mut self.input),
                    );
                }
                put(&mut ctx.data, &self.output_key, value.clone());
                ctx.data
            }
            Some(ctx) => {
                // The map is given back as the last point left it (a
                // resident input still in it: the component resets or
                // drops the values; finding the key here to null it cost
                // a search of the map per run).
                if self.spare_data {
                    spare_data = Some(ctx.data);
                }
                HookData::new()
            }
            None => {
                if self.spare_data && !self.completed_data {
                    spare_data = self.seed.take().map(|s| s.data);
                }
                HookData::new()
            }
        };
        Ok(Completed {
            value,
            source,
            attempts: self.attempts,
            forks: self.forks,
            correlation_id: self.correlation_id,
            target: self.target,
            data,
            spare_data,
        })
    }
}

/// Whether the forks key is the input key or the name key (so that putting
/// it adds no key).
fn is_fixed_besides_forks(input_key: &str, name_key: Option<&str>) -> bool {
    input_key == FORKS_KEY || name_key == Some(FORKS_KEY)
}

/// Sets `key` to `value`, reusing the key's allocation when it is there.
fn put(data: &mut HookData, key: &str, value: Value) {
    match data.get_mut(key) {
        Some(slot) => *slot = value,
        None => {
            data.insert(key.to_owned(), value);
        }
    }
}

/// Waits out a `Retry` result's delay. The timer is boxed: a point rarely
/// waits, and held inline it would make the future of every point (which
/// each await moves) several hundred bytes larger.
async fn pause(delay: Duration) {
    Box::pin(tokio::time::sleep(delay)).await;
}

/// A `Retry` asked for at a Before* point.
struct RetryAsk {
    delay: Duration,
    max_attempts: u32,
    hook: String,
}

/// What a Before* point waits for.
enum BeforeWait<'h> {
    /// A hook that needs awaiting, and the rest of the chain.
    Hooks(Resume<'h>),
    /// A `Retry`: the delay, then the point again.
    Retry(RetryAsk),
}

/// What an After* or error point waits for.
enum Wait<'h, C, T> {
    /// A hook that needs awaiting, and the rest of the chain (with what
    /// deciding the outcome needs, `C`).
    Hooks(Resume<'h>, C),
    /// The outcome, decided, needs waiting.
    Later(Later<T>),
}

/// A decided outcome that needs waiting.
enum Later<T> {
    /// A re-run's delay; then the operation runs again.
    Pause(Duration),
    /// Forks to run; then `T` (the value or the error) stands.
    Fork(Vec<ForkOperation>, T),
}

/// What the output and error keys hold at a point.
enum Keep {
    Neither,
    Output(Value),
    Error(String),
}

/// Runs forked operations concurrently.
async fn run_forks<E>(
    runner: Option<&dyn ForkRunner<E>>,
    depth: u32,
    max_depth: u32,
    ops: Vec<ForkOperation>,
) -> Vec<ForkResult<E>> {
    let Some(runner) = runner else {
        return ops
            .into_iter()
            .map(|op| ForkResult {
                target: op.target,
                outcome: Err(ForkError::NoRunner),
            })
            .collect();
    };
    if depth >= max_depth {
        return ops
            .into_iter()
            .map(|op| ForkResult {
                target: op.target,
                outcome: Err(ForkError::TooDeep { limit: max_depth }),
            })
            .collect();
    }
    let calls = ops.into_iter().map(|op| {
        let target = op.target.clone();
        let fut = runner.run_fork(op, depth + 1);
        async move {
            ForkResult {
                target,
                outcome: fut.await.map_err(ForkError::Failed),
            }
        }
    });
    futures::future::join_all(calls).await
}

/// Fork results as hook data: `[{"target", "result"} | {"target", "error"}]`.
fn forks_json<E: fmt::Display>(forks: &[ForkResult<E>]) -> Value {
    Value::Array(
        forks
            .iter()
            .map(|f| match &f.outcome {
                Ok(v) => json!({"target": f.target, "result": v}),
                Err(e) => json!({"target": f.target, "error": e.to_string()}),
            })
            .collect(),
    )
}
