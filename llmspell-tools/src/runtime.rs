//! The one hooked execution path every tool call takes.

mod call;
mod table;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_events::{Durability, EventBus, Language, UniversalEvent};
use llmspell_hooks::{
    BreakerConfig, BreakerState, CircuitBreaker, Clock, ComponentId, ComponentType, GuardError,
    HookCache, HookContext, HookData, HookOutcome, HookPoint, Hooks, SystemClock,
    DEFAULT_CACHE_CAPACITY, DEFAULT_LATENCY_SAMPLING,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{RegisteredTool, Result, ToolContext, ToolError, ToolMetadata, ToolRegistry};

pub use llmspell_hooks::ResultSource;
use table::{Bound, ToolTable};

/// The six tool hook points, in the order a call meets them.
pub const TOOL_POINTS: [HookPoint; 6] = [
    HookPoint::BeforeToolDiscovery,
    HookPoint::AfterToolDiscovery,
    HookPoint::ToolValidation,
    HookPoint::BeforeToolExecution,
    HookPoint::AfterToolExecution,
    HookPoint::ToolError,
];

/// Default per-call timeout of a tool's execution.
pub const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(30);

/// Event type published when a call starts.
pub const EVENT_STARTED: &str = "tool.execution.started";
/// Event type published when a call produced a result (with `duration_ms`).
pub const EVENT_COMPLETED: &str = "tool.execution.completed";
/// Event type published when a call failed (with `error`, `duration_ms`).
pub const EVENT_FAILED: &str = "tool.execution.failed";

/// The hooked tool execution path: the one way Rust callers, scripts,
/// agents and workflows call tools. Built on the core hooked-operation
/// engine of `llmspell-hooks` ([`Hooks::operation`]), which applies every
/// hook result; this type adds discovery, validation, the per-tool breaker
/// and timeout, and lifecycle events.
///
/// [`invoke`](Self::invoke) takes one parameter object. In order it fires
/// `BeforeToolDiscovery`, looks the tool up, fires `AfterToolDiscovery`,
/// fires `ToolValidation` and checks the parameters against the tool's
/// schema, fires `BeforeToolExecution`, runs the tool under its circuit
/// breaker and the per-call timeout, then fires `AfterToolExecution` — or
/// `ToolError` when any step failed. Every hook context carries the data
/// keys `tool_name`, `parameters`, and `result` / `error` where known, the
/// call's correlation id and language. `tool.execution.started`,
/// `tool.execution.completed` and `tool.execution.failed` are published on
/// the event bus (if any) with the same correlation id.
///
/// What each [`HookResult`](llmspell_hooks::HookResult) does is documented
/// on [`invoke_with`](Self::invoke_with) and in `docs/technical/tools.md`.
///
/// With no hooks at a point the point costs one atomic check; with no event
/// bus nothing is published.
#[derive(Debug)]
pub struct ToolRuntime {
    registry: Arc<ToolRegistry>,
    hooks: Hooks,
    bus: Option<EventBus>,
    timeout: Duration,
    table: ToolTable,
    cache: HookCache,
    max_redirects: u32,
    max_fork_depth: u32,
    sample_every: u32,
    /// Hook data maps of finished hooked calls, their fixed keys kept
    /// (`tool_name`, `parameters`), for the next calls: a hooked call then
    /// allocates no key or map for its contexts.
    spare_maps: parking_lot::Mutex<Vec<HookData>>,
}

/// How many spare hook data maps a runtime keeps (one per concurrent
/// hooked call, up to this).
const MAX_SPARE_MAPS: usize = 16;

/// Builds a [`ToolRuntime`].
#[derive(Debug)]
#[must_use]
pub struct ToolRuntimeBuilder {
    registry: Arc<ToolRegistry>,
    hooks: Hooks,
    bus: Option<EventBus>,
    timeout: Duration,
    breaker: BreakerConfig,
    clock: Arc<dyn Clock>,
    cache_capacity: usize,
    max_redirects: u32,
    max_fork_depth: u32,
    sample_every: u32,
}

impl ToolRuntimeBuilder {
    /// Publishes lifecycle events on `bus`.
    pub fn event_bus(mut self, bus: EventBus) -> Self {
        self.bus = Some(bus);
        self
    }

    /// The default per-call timeout of a tool's execution (hooks have their
    /// own). Default [`DEFAULT_TOOL_TIMEOUT`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The configuration of each tool's circuit breaker (counts tool
    /// failures: execution errors, I/O errors, timeouts).
    pub fn breaker_config(mut self, config: BreakerConfig) -> Self {
        self.breaker = config;
        self
    }

    /// The clock of breakers and the result cache (inject a
    /// [`ManualClock`](llmspell_hooks::ManualClock) in tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Most results kept for `Cache` hook results. Default 1024.
    pub fn cache_capacity(mut self, entries: usize) -> Self {
        self.cache_capacity = entries;
        self
    }

    /// Most redirects one call may follow. Default 8.
    pub fn max_redirects(mut self, n: u32) -> Self {
        self.max_redirects = n;
        self
    }

    /// How deep forked calls may fork again. Default 2.
    pub fn max_fork_depth(mut self, n: u32) -> Self {
        self.max_fork_depth = n;
        self
    }

    /// Times one in `every` tool calls that finish without suspending
    /// (calls that suspend are always timed). Only timed calls count toward
    /// a breaker's slow-call rate; reading the clock costs tens of ns on
    /// virtual machines, a measurable share of a sub-microsecond tool.
    /// Default [`DEFAULT_LATENCY_SAMPLING`]; 1 times every call; 0 is
    /// taken as 1.
    pub fn latency_sampling(mut self, every: u32) -> Self {
        self.sample_every = every.max(1);
        self
    }

    /// The runtime.
    ///
    /// # Errors
    /// [`ToolError::Config`] if the breaker configuration is invalid.
    pub fn build(self) -> Result<ToolRuntime> {
        self.breaker
            .validate()
            .map_err(|e| ToolError::Config(format!("tool breaker: {e}")))?;
        declare_points(&self.hooks);
        Ok(ToolRuntime {
            registry: self.registry,
            hooks: self.hooks,
            bus: self.bus,
            timeout: self.timeout,
            table: ToolTable::new(self.breaker, Arc::clone(&self.clock)),
            cache: HookCache::with_clock(self.cache_capacity, self.clock),
            max_redirects: self.max_redirects,
            max_fork_depth: self.max_fork_depth,
            sample_every: self.sample_every,
            spare_maps: parking_lot::Mutex::new(Vec::new()),
        })
    }
}

/// The options of [`ToolRuntime::invoke`] (the defaults).
static DEFAULT_OPTIONS: InvokeOptions = InvokeOptions {
    correlation_id: None,
    language: Language::Rust,
    caller: None,
    timeout: None,
    parent: None,
};

/// Per-call options of [`ToolRuntime::invoke_with`].
#[derive(Debug, Clone, Default)]
pub struct InvokeOptions {
    correlation_id: Option<Uuid>,
    language: Language,
    caller: Option<String>,
    timeout: Option<Duration>,
    parent: Option<HookContext>,
}

impl InvokeOptions {
    /// Default options: a fresh correlation id, language Rust.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses this correlation id for every hook context and event.
    #[must_use]
    pub fn correlation_id(mut self, id: Uuid) -> Self {
        self.correlation_id = Some(id);
        self
    }

    /// The language the call comes from.
    #[must_use]
    pub fn language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// Names the calling component (hook context metadata `caller`).
    #[must_use]
    pub fn caller(mut self, caller: impl Into<String>) -> Self {
        self.caller = Some(caller.into());
        self
    }

    /// Overrides the runtime's per-call timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Makes every hook context of this call a child of `parent` (its
    /// correlation id is used unless one is set explicitly).
    #[must_use]
    pub fn parent(mut self, parent: HookContext) -> Self {
        self.parent = Some(parent);
        self
    }
}

/// The result of one forked call (see `HookResult::Fork`).
#[derive(Debug, Clone)]
pub struct ForkResult {
    /// The tool that was called.
    pub target: String,
    /// What it returned.
    pub outcome: Result<Value>,
}

/// Everything about one completed call.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ToolInvocation {
    /// The tool whose result this is (differs from the requested one after
    /// a redirect).
    pub tool: String,
    /// What the caller receives.
    pub result: Value,
    /// Where the result came from.
    pub source: ResultSource,
    /// The correlation id of every hook context and event of the call.
    pub correlation_id: Uuid,
    /// How many times the tool ran (retries included; 0 if it never ran).
    pub attempts: u32,
    /// Results of calls forked by hooks.
    pub forks: Vec<ForkResult>,
    /// Wall time of the whole call, hooks included.
    pub duration: Duration,
}

impl ToolRuntime {
    /// A runtime with default settings over `registry` and `hooks` (a
    /// [`Hooks`] handle, or the `Arc<HookExecutor>` it wraps).
    #[must_use]
    pub fn new(registry: Arc<ToolRegistry>, hooks: impl Into<Hooks>) -> Self {
        let hooks = hooks.into();
        declare_points(&hooks);
        Self {
            registry,
            hooks,
            bus: None,
            timeout: DEFAULT_TOOL_TIMEOUT,
            table: ToolTable::new(BreakerConfig::default(), Arc::new(SystemClock::new())),
            cache: HookCache::new(DEFAULT_CACHE_CAPACITY),
            max_redirects: 8,
            max_fork_depth: 2,
            sample_every: DEFAULT_LATENCY_SAMPLING,
            spare_maps: parking_lot::Mutex::new(Vec::new()),
        }
    }

    /// A builder over `registry` and `hooks` (a [`Hooks`] handle, or the
    /// `Arc<HookExecutor>` it wraps).
    pub fn builder(registry: Arc<ToolRegistry>, hooks: impl Into<Hooks>) -> ToolRuntimeBuilder {
        ToolRuntimeBuilder {
            registry,
            hooks: hooks.into(),
            bus: None,
            timeout: DEFAULT_TOOL_TIMEOUT,
            breaker: BreakerConfig::default(),
            clock: Arc::new(SystemClock::new()),
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            max_redirects: 8,
            max_fork_depth: 2,
            sample_every: DEFAULT_LATENCY_SAMPLING,
        }
    }

    /// The tool registry.
    #[must_use]
    pub fn registry(&self) -> &Arc<ToolRegistry> {
        &self.registry
    }

    /// The hooks the runtime fires.
    #[must_use]
    pub fn hooks(&self) -> &Hooks {
        &self.hooks
    }

    /// The event bus, if events are published.
    #[must_use]
    pub fn event_bus(&self) -> Option<&EventBus> {
        self.bus.as_ref()
    }

    /// The circuit breaker of `tool` (created on its first use).
    #[must_use]
    pub fn breaker(&self, tool: &str) -> Arc<CircuitBreaker> {
        self.table.breaker(tool)
    }

    /// A stream of the state changes of every tool breaker of this runtime
    /// (a `tokio` broadcast receiver; `BreakerTransition::hook` is the
    /// tool's name, `point` is `None`). The script context publishes them
    /// as `tool.breaker.*` events and fires `PerformanceThresholdExceeded`
    /// when one opens.
    #[must_use]
    pub fn breaker_transitions(
        &self,
    ) -> tokio::sync::broadcast::Receiver<llmspell_hooks::BreakerTransition> {
        self.table.transitions()
    }

    /// The breaker state of `tool`, `None` before its first call.
    #[must_use]
    pub fn breaker_state(&self, tool: &str) -> Option<BreakerState> {
        self.table.existing(tool).map(|b| b.state())
    }

    /// Drops every result stored by `Cache` hook results.
    pub fn clear_cache(&self) {
        self.cache.clear();
    }

    /// Calls `name` with one parameter object, e.g.
    /// `invoke("calculator", json!({"expression": "2 + 2"}))`, and returns
    /// what the caller receives.
    ///
    /// # Errors
    /// See [`invoke_with`](Self::invoke_with).
    pub async fn invoke(&self, name: &str, mut params: Value) -> Result<Value> {
        if self.bus.is_none() && !self.any_tool_hooks() {
            // Nothing observes or changes the call: the same steps without
            // building hook contexts or call state.
            let bound = self.table.bind(&self.registry, name)?;
            bound.tool.prepare(&mut params)?;
            // Nobody can observe this call's correlation id unless the tool
            // asks for it: it is made on first use.
            let ctx = ToolContext::lazy();
            let run = bound.tool.tool().execute(params, &ctx);
            return self.execute_once(&bound, run, &ctx, self.timeout).await;
        }
        // Boxed: the hooked path's state is large, and unboxed it would make
        // the future of every call that size, the fast path's included.
        let hooked: futures::future::BoxFuture<'_, Result<call::Done>> = Box::pin(async move {
            // Borrowed, not held in the future: it is large (a parent
            // context) and every hooked call's future would carry it.
            let opts = &DEFAULT_OPTIONS;
            // Inside another hooked operation (a tool called by a hook, an
            // agent, a workflow step) the call joins its correlation tree.
            let corr = llmspell_hooks::current_correlation_id().unwrap_or_else(Uuid::new_v4);
            // Straight to the call when there are no events to publish: the
            // future of `run` holds the publishing futures too, and every
            // await on the way moves it.
            if self.bus.is_none() {
                return self
                    .call(Cow::Borrowed(name), Cow::Owned(params), opts, corr, 0)
                    .await;
            }
            // Boxed: inline, the publishing futures would make the future
            // of every hooked call (the allocation above) that much larger.
            Box::pin(self.run(Cow::Borrowed(name), Cow::Owned(params), opts, corr, 0)).await
        });
        hooked.await.map(|done| done.result)
    }

    /// Calls `name` with `params` and per-call options; returns the result
    /// with where it came from, attempts, forks and timing.
    ///
    /// Hook results, at each point:
    /// - `Continue`, `Skipped`: go on. `Modified(data)`: the data replaces
    ///   the context's; its `parameters` are what the tool receives (before
    ///   execution) and its `result` what the caller receives (after). At
    ///   `BeforeToolDiscovery` a changed `tool_name` picks another tool.
    /// - `Cancel(reason)`: the call fails with [`ToolError::Cancelled`].
    /// - `Redirect(target)`: the call restarts on the tool `target` with the
    ///   current parameters (all its hooks fire), at most 8 times.
    /// - `Replace(value)`: before execution, the tool is skipped and the
    ///   caller gets `value`; after, `value` replaces the result; at
    ///   `ToolError`, `value` is returned instead of the error.
    /// - `Retry{delay, max}`: at `AfterToolExecution` and `ToolError` (for a
    ///   retryable error) the tool runs again after `delay`, at most `max`
    ///   more times; at a point before execution the hooks of that point are
    ///   asked again after `delay` and the call fails with
    ///   [`ToolError::RetriesExhausted`] after `max` retries.
    /// - `Fork{ops}`: the listed tool calls run concurrently (with the tool
    ///   when asked before execution) through this same path; their results
    ///   are in [`ToolInvocation::forks`] and in the `forks` data key of
    ///   later hook contexts.
    /// - `Cache{key, ttl}`: before execution, a stored result under `key`
    ///   is returned without running the tool, otherwise the result is
    ///   stored under `key` for `ttl`; after execution the result is
    ///   stored; at `ToolError` a stored result is returned instead of the
    ///   error.
    ///
    /// # Errors
    /// [`ToolError::NotFound`], [`ToolError::InvalidParameter`],
    /// [`ToolError::Cancelled`], [`ToolError::CircuitOpen`],
    /// [`ToolError::Timeout`], [`ToolError::TooManyRedirects`],
    /// [`ToolError::RetriesExhausted`], or the tool's own error.
    pub async fn invoke_with(
        &self,
        name: &str,
        params: Value,
        opts: &InvokeOptions,
    ) -> Result<ToolInvocation> {
        self.invoke_cow(name, Cow::Owned(params), opts).await
    }

    /// [`invoke_with`](Self::invoke_with) with borrowed parameters: the
    /// same call, hooks and results, but the parameters are copied only
    /// where the call needs them owned (the synonym resolution copies them
    /// anyway, so a caller that must keep its parameters, e.g. for hooks
    /// of its own, saves a copy).
    ///
    /// # Errors
    /// See [`invoke_with`](Self::invoke_with).
    pub async fn invoke_with_ref(
        &self,
        name: &str,
        params: &Value,
        opts: &InvokeOptions,
    ) -> Result<ToolInvocation> {
        self.invoke_cow(name, Cow::Borrowed(params), opts).await
    }

    async fn invoke_cow(
        &self,
        name: &str,
        params: Cow<'_, Value>,
        opts: &InvokeOptions,
    ) -> Result<ToolInvocation> {
        let corr = opts
            .correlation_id
            .or_else(|| opts.parent.as_ref().map(|p| p.correlation_id))
            .or_else(llmspell_hooks::current_correlation_id)
            .unwrap_or_else(Uuid::new_v4);
        let started = Instant::now();
        let done = self.run(Cow::Borrowed(name), params, opts, corr, 0).await?;
        Ok(ToolInvocation {
            tool: done.tool,
            result: done.result,
            source: done.source,
            correlation_id: corr,
            attempts: done.attempts,
            forks: done.forks,
            duration: started.elapsed(),
        })
    }

    /// Looks a tool up through the discovery hooks: `BeforeToolDiscovery`
    /// (data `tool_name`; a `Modified` name or a `Redirect` picks another
    /// tool, `Cancel` refuses) and `AfterToolDiscovery` (plus `error` when
    /// not found; `Redirect` names a fallback, `Cancel` refuses). Other
    /// results cannot produce a tool and are treated as `Continue`.
    ///
    /// # Errors
    /// [`ToolError::NotFound`] or [`ToolError::Cancelled`].
    pub async fn lookup(&self, name: &str) -> Result<RegisteredTool> {
        let opts = InvokeOptions::default();
        let corr = Uuid::new_v4();
        let mut name = name.to_owned();
        for _ in 0..=self.max_redirects {
            if self.hooks.has_hooks(&HookPoint::BeforeToolDiscovery) {
                let mut data = HookData::new();
                data.insert("tool_name".into(), json!(name));
                let (outcome, data) = self
                    .fire(HookPoint::BeforeToolDiscovery, &name, corr, &opts, data)
                    .await;
                if let Some(Value::String(n)) = data.get("tool_name") {
                    name.clone_from(n);
                }
                match outcome {
                    HookOutcome::Cancelled { reason, hook } => {
                        return Err(ToolError::Cancelled {
                            tool: name,
                            hook,
                            reason,
                        })
                    }
                    HookOutcome::Redirect { target, .. } => {
                        name = target;
                        continue;
                    }
                    _ => {}
                }
            }
            let found = self.registry.require(&name);
            if self.hooks.has_hooks(&HookPoint::AfterToolDiscovery) {
                let mut data = HookData::new();
                data.insert("tool_name".into(), json!(name));
                if let Err(e) = &found {
                    data.insert("error".into(), json!(e.to_string()));
                }
                let (outcome, _) = self
                    .fire(HookPoint::AfterToolDiscovery, &name, corr, &opts, data)
                    .await;
                match outcome {
                    HookOutcome::Cancelled { reason, hook } => {
                        return Err(ToolError::Cancelled {
                            tool: name,
                            hook,
                            reason,
                        })
                    }
                    HookOutcome::Redirect { target, .. } => {
                        name = target;
                        continue;
                    }
                    _ => {}
                }
            }
            return found;
        }
        Err(ToolError::TooManyRedirects {
            tool: name,
            limit: self.max_redirects,
        })
    }

    /// Lists the registered tools through the discovery hooks: both points
    /// get data `tools` (the names); a `Modified` list at either point
    /// filters what is returned (names not registered are ignored);
    /// `Cancel` refuses.
    ///
    /// # Errors
    /// [`ToolError::Cancelled`].
    pub async fn list(&self) -> Result<Vec<ToolMetadata>> {
        let opts = InvokeOptions::default();
        let corr = Uuid::new_v4();
        let mut names = self.registry.names();
        for point in [
            HookPoint::BeforeToolDiscovery,
            HookPoint::AfterToolDiscovery,
        ] {
            if !self.hooks.has_hooks(&point) {
                continue;
            }
            let mut data = HookData::new();
            data.insert("tool_name".into(), Value::Null);
            data.insert("tools".into(), json!(names));
            let (outcome, data) = self.fire(point, "*", corr, &opts, data).await;
            if let HookOutcome::Cancelled { reason, hook } = outcome {
                return Err(ToolError::Cancelled {
                    tool: "*".into(),
                    hook,
                    reason,
                });
            }
            if let Some(Value::Array(listed)) = data.get("tools") {
                names = listed
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
            }
        }
        Ok(names
            .iter()
            .filter_map(|n| self.registry.get(n))
            .map(|t| t.metadata().clone())
            .collect())
    }

    /// A hook data map for a hooked call: a spare one, if any.
    pub(super) fn spare_map(&self) -> Option<HookData> {
        self.spare_maps.lock().pop()
    }

    /// Keeps a finished call's hook data map for the next call: its fixed
    /// keys stay (their values are overwritten by the next call's first
    /// point), every other key a hook or a point added is removed.
    pub(super) fn keep_map(&self, mut map: HookData) {
        map.retain(|k, _| k == "tool_name" || k == "parameters");
        let mut spare = self.spare_maps.lock();
        if spare.len() < MAX_SPARE_MAPS {
            spare.push(map);
        }
    }

    /// Whether any tool hook point has a hook (six atomic checks).
    #[inline]
    fn any_tool_hooks(&self) -> bool {
        TOOL_POINTS.iter().any(|p| self.hooks.has_hooks(p))
    }

    /// Fires `point` for `tool` with `data`; returns the outcome and the
    /// (possibly modified) data.
    async fn fire(
        &self,
        point: HookPoint,
        tool: &str,
        corr: Uuid,
        opts: &InvokeOptions,
        data: HookData,
    ) -> (HookOutcome, HookData) {
        let mut builder =
            HookContext::builder(point.clone(), ComponentId::new(ComponentType::Tool, tool))
                .correlation_id(corr)
                .language(opts.language)
                .data_map(data);
        if let Some(caller) = &opts.caller {
            builder = builder.metadata("caller", caller.clone());
        }
        match (&opts.parent, llmspell_hooks::current_parent()) {
            (Some(parent), _) => builder = builder.parent(parent.clone()),
            (None, Some(parent)) => builder = builder.parent(parent),
            (None, None) => {}
        }
        let mut ctx = builder.build();
        let outcome = self.hooks.fire(&mut ctx).await;
        (outcome, ctx.data)
    }

    /// Runs the tool once under its breaker and the timeout (the hooks
    /// crate's guarded call: polled once in place, a timer only for a tool
    /// that suspends, timing sampled for tools that finish at once, panics
    /// isolated).
    ///
    /// `run` is the future of the tool's `execute`, or of its
    /// [`execute_ref`](crate::Tool::execute_ref) when the caller lent the
    /// parameters and nothing changed them (the tool then reads them in
    /// place instead of getting a copy).
    async fn execute_once(
        &self,
        bound: &Bound,
        run: futures::future::BoxFuture<'_, Result<Value>>,
        ctx: &ToolContext,
        timeout: Duration,
    ) -> Result<Value> {
        let name = bound.tool.name();
        let result = bound
            .breaker
            .guard()
            .timeout(timeout)
            .sample(&bound.sampler, self.sample_every)
            .run(run, |e: &ToolError| {
                // The caller's mistakes (bad parameters, refusals) are not
                // the tool's failures.
                e.is_tool_failure()
            })
            .await
            .map_err(|e| match e {
                GuardError::Failed(e) => e,
                GuardError::Open => ToolError::CircuitOpen {
                    tool: name.to_owned(),
                },
                GuardError::Timeout { limit } => ToolError::Timeout {
                    tool: name.to_owned(),
                    timeout: limit,
                },
                GuardError::Panicked { message } => {
                    ToolError::execution(name, format!("the tool panicked: {message}"))
                }
                other => ToolError::execution(name, other.to_string()),
            });
        if let Err(e @ (ToolError::PolicyViolation { .. } | ToolError::SecurityViolation { .. })) =
            &result
        {
            // Boxed: inline, the hook dispatch it may make would add its
            // whole future to every call's.
            Box::pin(self.security_violation(e, ctx)).await;
        }
        result
    }

    /// Fires `SecurityViolation` for a refusal by a tool's policy (data
    /// `tool_name`, `rule`, `detail`, `error`). The call fails either way.
    #[cold]
    async fn security_violation(&self, error: &ToolError, ctx: &ToolContext) {
        let (tool, rule, detail) = match error {
            ToolError::PolicyViolation { tool, rule, detail } => {
                (tool.as_str(), rule.as_str(), detail.as_str())
            }
            ToolError::SecurityViolation { tool, reason } => {
                (tool.as_str(), "security_violation", reason.as_str())
            }
            _ => return,
        };
        if !self.hooks.has_hooks(&HookPoint::SecurityViolation) {
            return;
        }
        let mut data = HookData::new();
        data.insert("tool_name".into(), json!(tool));
        data.insert("rule".into(), json!(rule));
        data.insert("detail".into(), json!(detail));
        data.insert("error".into(), json!(error.to_string()));
        data.insert(
            "correlation_id".into(),
            json!(ctx.correlation_id().to_string()),
        );
        let _ = self
            .hooks
            .notify(
                HookPoint::SecurityViolation,
                ComponentId::new(ComponentType::Tool, tool),
                data,
            )
            .await;
    }

    /// Publishes a lifecycle event if there is a bus.
    async fn publish(
        &self,
        event_type: &'static str,
        corr: Uuid,
        opts: &InvokeOptions,
        data: Value,
    ) {
        let Some(bus) = &self.bus else { return };
        let event = UniversalEvent::builder(event_type)
            .data(data)
            .language(opts.language)
            .correlation_id(corr)
            .source("llmspell-tools")
            .build();
        // A lifecycle notification is nobody's acknowledgement: on a store
        // that flushes every publish (`llmspell run`), do not wait for it.
        if let Err(e) = bus.publish_with(event, Durability::Written).await {
            tracing::warn!(event_type, error = %e, "could not publish a tool lifecycle event");
        }
    }

    /// One call, with events around it.
    async fn run(
        &self,
        name: Cow<'_, str>,
        params: Cow<'_, Value>,
        opts: &InvokeOptions,
        corr: Uuid,
        depth: u32,
    ) -> Result<call::Done> {
        if self.bus.is_none() {
            return self.call(name, params, opts, corr, depth).await;
        }
        let started = Instant::now();
        self.publish(EVENT_STARTED, corr, opts, json!({"tool_name": name}))
            .await;
        let requested = name.clone().into_owned();
        let outcome = self.call(name, params, opts, corr, depth).await;
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        match &outcome {
            Ok(done) => {
                let data = json!({
                    "tool_name": done.tool,
                    "requested": requested,
                    "duration_ms": duration_ms,
                    "attempts": done.attempts,
                    "source": done.source.as_str(),
                });
                self.publish(EVENT_COMPLETED, corr, opts, data).await;
            }
            Err(e) => {
                let data = json!({
                    "tool_name": requested,
                    "duration_ms": duration_ms,
                    "error": e.to_string(),
                });
                self.publish(EVENT_FAILED, corr, opts, data).await;
            }
        }
        outcome
    }

    /// [`run`](Self::run) boxed, for forked calls (async recursion).
    fn run_boxed<'a>(
        &'a self,
        name: String,
        params: Value,
        opts: &'a InvokeOptions,
        corr: Uuid,
        depth: u32,
    ) -> futures::future::BoxFuture<'a, Result<call::Done>> {
        Box::pin(self.run(Cow::Owned(name), Cow::Owned(params), opts, corr, depth))
    }
}

/// Declares the points the tool runtime fires (see
/// `HookRegistry::declare_fired`).
fn declare_points(hooks: &Hooks) {
    hooks
        .registry()
        .declare_fired(TOOL_POINTS, "the tool runtime (llmspell-tools)");
    hooks.registry().declare_fired(
        [HookPoint::SecurityViolation],
        "the tool runtime, when a tool's policy refuses a call",
    );
}
