//! The `Hook` global: register script functions as real hooks in the shared
//! registry.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use llmspell_hooks::builtin::BuiltinHook;
use llmspell_hooks::{
    ComponentId, ComponentType, Hook, HookContext, HookError, HookFilter, HookMetadata,
    HookOutcome, HookPoint, HookResult, JsonHookAdapter, Priority, RegisterOptions,
};
use serde_json::{json, Map, Value};

use super::args::{check_keys, describe, opt_duration, opt_str, string_list, Lower, TimeUnit};
use super::{GlobalBinding, GlobalMetadata, GlobalObject};
use crate::error::{BridgeError, Result};
use crate::hook_result::result_from_json;
use crate::host::ScriptHost;

/// `Hook.register(point, fn, priority_or_options?) → handle`,
/// `Hook.unregister(handle)`, `Hook.list(filter?)`,
/// `Hook.fire("custom:<name>", data?) → outcome`,
/// `Hook.use(builtin_name, options?) → handle`.
///
/// - `Hook.use("rate_limit", {per_second = 2, burst = 2, points =
///   {"BeforeToolExecution"}, match = "calc*"})` registers one of the eight
///   built-in hooks (see `HookGlobal::use_builtin`); its handle has
///   `unregister()` (every point; true once), `points()`, `name()` and
///   `stats()` (cache hits, cost summary, ...); `Hook.unregister(handle)`
///   works too.
/// - `point`: any hook point name (`"BeforeToolExecution"`, see
///   `llmspell hooks points`) or `"custom:<name>"`.
/// - The third argument: a priority (`"highest"`, `"high"`, `"normal"`,
///   `"low"`, `"lowest"` or an integer; lower runs first) or a table
///   `{priority=, match=<glob on component name>, timeout_ms=,
///   fail_closed=, name=, tags={...}, description=}`.
/// - `fn(ctx)` gets the context table (see
///   [`hook_result`](crate::hook_result)) and returns `nil`/`"continue"`,
///   `"skip"`, or a result table; it runs under the per-call time limit.
/// - The handle: `handle:id()`, `handle:hook_point()`,
///   `handle:unregister()` (true once, then false).
/// - `Hook.list(filter?)`: every hook in the shared registry (any language)
///   as `{id, name, hook_point, priority, language, tags, description,
///   enabled, own, calls, failures, timeouts, breaker, fired_by, unfired}`
///   (`calls` to `breaker` from the hook's monitor and circuit breaker;
///   `fired_by` names what fires the point in this process, nil when
///   nothing does, and then `unfired` is true); the filter is nil, a point
///   name, or `{hook_point=, language=, priority=, tag=}`.
/// - `Hook.fire(point, data)` runs the hooks of a custom point (in any
///   language) with `data` (a table, or nil for `{}`) as the context data
///   and returns the outcome in the one JSON form of results plus the final
///   data: `{type = "continue", data = {...}}`, or `{type = "cancel", reason,
///   hook, data}`, `{type = "replace", value, hook, data}`, ... (`hook`
///   names the hook that decided). Named points belong to the components
///   that fire them and are refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct HookGlobal;

tokio::task_local! {
    /// How many `Hook.fire` calls enclose the current one on this task.
    static FIRE_DEPTH: u32;
}

/// How many `Hook.fire` calls enclose the current task (carried to another
/// thread by [`CallerScope`](crate::scope::CallerScope)).
pub(crate) fn fire_depth() -> u32 {
    FIRE_DEPTH.try_with(|d| *d).unwrap_or(0)
}

/// Runs `fut` as if `depth` `Hook.fire` calls enclosed it.
pub(crate) async fn with_fire_depth<F: std::future::Future>(depth: u32, fut: F) -> F::Output {
    FIRE_DEPTH.scope(depth, fut).await
}

/// How deeply `Hook.fire` calls may nest on one task (a hook firing its
/// own point would otherwise recurse until the thread's stack overflows:
/// each level is a script coroutine plus the executor's futures, and a debug
/// build overflows a 2 MiB tokio worker stack between 16 and 32 levels).
const MAX_FIRE_DEPTH: u32 = 8;

/// A script function registered as a hook, as the binding that owns it
/// calls it: with the hook context in the language's form, under a time
/// limit, returning what the function returned in JSON form (`null` for
/// nothing). The neutral [`ScriptHook`] turns that into a
/// [`HookResult`].
#[async_trait]
pub(crate) trait HookCallback: fmt::Debug + Send + Sync {
    /// Calls the function for `ctx`; `hook` names it in errors.
    ///
    /// # Errors
    /// [`BridgeError::Timeout`] past `limit`, or the function's error.
    async fn call(&self, ctx: &HookContext, limit: Duration, hook: &str) -> Result<Value>;
}

/// What [`HookGlobal::register`] registered, for the script's handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HookRegistration {
    /// The registry id.
    pub(crate) id: u64,
    /// The point's name.
    pub(crate) point: String,
}

/// A script hook: a [`HookCallback`] with its metadata and time limit, as a
/// [`Hook`] in the shared registry.
pub(crate) struct ScriptHook {
    callback: Arc<dyn HookCallback>,
    metadata: HookMetadata,
    timeout: Duration,
}

impl fmt::Debug for ScriptHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptHook")
            .field("metadata", &self.metadata)
            .field("timeout", &self.timeout)
            .field("callback", &self.callback)
            .finish()
    }
}

fn to_hook_error(hook: &str, err: BridgeError) -> HookError {
    match err {
        BridgeError::Timeout { limit, .. } => HookError::Timeout {
            hook: hook.to_owned(),
            timeout: limit,
        },
        other => HookError::Execution {
            hook: hook.to_owned(),
            message: hook_message(hook, &other),
            source: Some(Arc::new(other)),
        },
    }
}

/// What went wrong in hook `hook`, without naming the hook: the
/// [`HookError`] around it already does ("hook `x` failed: boom", never
/// "hook `x` failed: `hook `x`` failed: boom").
fn hook_message(hook: &str, err: &BridgeError) -> String {
    match err {
        BridgeError::Script { message, .. } => message.clone(),
        other => {
            let text = other.to_string();
            let prefix = format!("hook `{hook}` ");
            match text.strip_prefix(&prefix) {
                Some(rest) => rest.to_owned(),
                None => text,
            }
        }
    }
}

#[async_trait]
impl Hook for ScriptHook {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_hooks::Result<HookResult> {
        let name = &self.metadata.name;
        let output = self
            .callback
            .call(ctx, self.timeout, name)
            .await
            .map_err(|e| to_hook_error(name, e))?;
        result_from_json(name, output).map_err(|e| to_hook_error(name, e))
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}

fn invalid(function: &str, message: impl Into<String>) -> BridgeError {
    BridgeError::invalid(function, message)
}

fn parse_point(function: &str, name: &str) -> Result<HookPoint> {
    name.parse::<HookPoint>()
        .map_err(|e| invalid(function, e.to_string()))
}

fn parse_priority(function: &str, v: &Value) -> Result<Priority> {
    let bad = || {
        invalid(
            function,
            format!(
                "priority must be highest, high, normal, low, lowest or an integer, got {}",
                match v {
                    Value::Number(n) => n.to_string(),
                    other => describe(other).to_owned(),
                }
            ),
        )
    };
    match v {
        Value::String(s) => s
            .parse::<Priority>()
            .map_err(|e| invalid(function, e.to_string())),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return i32::try_from(i).map(Priority).map_err(|_| {
                    invalid(
                        function,
                        format!("priority {i} does not fit a 32-bit integer"),
                    )
                });
            }
            match n.as_f64() {
                Some(f)
                    if f.fract() == 0.0 && f >= f64::from(i32::MIN) && f <= f64::from(i32::MAX) =>
                {
                    #[allow(clippy::cast_possible_truncation)]
                    Ok(Priority(f as i32))
                }
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

/// Metadata, registry options and time limit of a new script hook.
#[derive(Debug)]
struct Registration {
    metadata: HookMetadata,
    options: RegisterOptions,
    timeout: Duration,
}

/// The options of `Hook.register`'s options table.
const REGISTER_OPTIONS: [&str; 7] = [
    "priority",
    "match",
    "timeout_ms",
    "fail_closed",
    "name",
    "tags",
    "description",
];

/// The keys of a `Hook.list` filter table.
const LIST_FILTER: [&str; 4] = ["hook_point", "language", "priority", "tag"];

fn registration(host: &ScriptHost, third: &Value) -> Result<Registration> {
    const F: &str = "Hook.register";
    let mut metadata = HookMetadata::new(host.next_hook_name()).with_language(host.language());
    let mut options = RegisterOptions::new();
    let mut timeout = host.call_timeout();
    match third {
        Value::Null => {}
        Value::Object(t) => {
            check_keys(F, t, &REGISTER_OPTIONS)?;
            if let Some(p) = t.get("priority").filter(|p| !p.is_null()) {
                metadata = metadata.with_priority(parse_priority(F, p)?);
            }
            if let Some(name) = opt_str(F, t, "name")? {
                name.clone_into(&mut metadata.name);
            }
            if let Some(d) = opt_str(F, t, "description")? {
                metadata = metadata.with_description(d);
            }
            for tag in string_list(F, t, "tags")? {
                metadata = metadata.with_tag(tag);
            }
            if let Some(glob) = opt_str(F, t, "match")? {
                options = options.matcher(glob);
            }
            match t.get("fail_closed") {
                None | Some(Value::Null) => {}
                Some(Value::Bool(b)) => options = options.fail_closed(*b),
                Some(other) => {
                    return Err(invalid(
                        F,
                        format!("`fail_closed` must be a boolean, got {}", describe(other)),
                    ))
                }
            }
            if let Some(t) = opt_duration(F, t, "timeout_ms", TimeUnit::Millis, Lower::Positive)? {
                timeout = t;
            }
        }
        other => metadata = metadata.with_priority(parse_priority(F, other)?),
    }
    // The executor's timeout for this hook matches the call limit, so a hook
    // given a long `timeout_ms` is not cut short by the default.
    options = options.timeout(timeout);
    Ok(Registration {
        metadata,
        options,
        timeout,
    })
}

fn list_filter(v: &Value) -> Result<HookFilter> {
    const F: &str = "Hook.list";
    let mut filter = HookFilter::new();
    match v {
        Value::Null => {}
        Value::String(s) => filter = filter.point(parse_point(F, s)?),
        Value::Object(t) => {
            check_keys(F, t, &LIST_FILTER)?;
            if let Some(p) = opt_str(F, t, "hook_point")? {
                filter = filter.point(parse_point(F, p)?);
            }
            if let Some(l) = opt_str(F, t, "language")? {
                filter = filter.language(
                    l.parse::<llmspell_hooks::Language>()
                        .map_err(|e| invalid(F, e.to_string()))?,
                );
            }
            if let Some(p) = t.get("priority").filter(|p| !p.is_null()) {
                let p = parse_priority(F, p)?;
                filter = filter.priority_range(p..=p);
            }
            if let Some(tag) = opt_str(F, t, "tag")? {
                filter = filter.tag(tag);
            }
        }
        other => {
            return Err(invalid(
                F,
                format!(
                    "the filter must be nil, a point name or a table, got {}",
                    describe(other)
                ),
            ))
        }
    }
    Ok(filter)
}

impl HookGlobal {
    /// `Hook.register(point, fn, third)`: registers `callback` (the
    /// binding's wrapper of `fn`) at `point` with the options of `third`
    /// (`null`, a priority, or an options object) as this engine's hook.
    ///
    /// # Errors
    /// [`BridgeError::InvalidArgument`] for an unknown point or bad options;
    /// the registry's refusal (e.g. a bad matcher glob).
    pub(crate) fn register(
        &self,
        host: &ScriptHost,
        point: &str,
        callback: Arc<dyn HookCallback>,
        third: &Value,
    ) -> Result<HookRegistration> {
        let point = parse_point("Hook.register", point)?;
        let reg = registration(host, third)?;
        let hook = ScriptHook {
            callback,
            metadata: reg.metadata,
            timeout: reg.timeout,
        };
        let handle = host
            .hooks()
            .register(point.clone(), Arc::new(hook), reg.options)?;
        Ok(HookRegistration {
            id: handle.id(),
            point: point.to_string(),
        })
    }

    /// `Hook.unregister(handle)` / `handle:unregister()`: removes this
    /// engine's hook `id`; true once, then false.
    pub(crate) fn unregister(&self, host: &ScriptHost, id: u64) -> bool {
        host.hooks().unregister(id)
    }

    /// `Hook.list(filter)`: the listed hooks as objects.
    ///
    /// # Errors
    /// [`BridgeError::InvalidArgument`] for a bad filter.
    pub(crate) fn list(&self, host: &ScriptHost, filter: &Value) -> Result<Value> {
        let filter = list_filter(filter)?;
        let hooks = host.hooks();
        Ok(Value::Array(
            hooks
                .list(&filter)
                .iter()
                .map(|h| {
                    let m = h.metadata();
                    let perf = h.performance();
                    let fired_by = hooks.registry().fired_by(h.handle().point());
                    json!({
                        "id": h.handle().id(),
                        "name": m.name,
                        "hook_point": h.handle().point().to_string(),
                        "priority": h.handle().priority().to_string(),
                        "language": m.language.as_str(),
                        "tags": m.tags,
                        "description": m.description,
                        "enabled": h.is_enabled(),
                        "own": hooks.is_own(h.handle().id()),
                        "calls": perf.calls,
                        "failures": perf.failures,
                        "timeouts": perf.timeouts,
                        "breaker": h.breaker().state().to_string(),
                        "unfired": fired_by.is_none(),
                        "fired_by": fired_by,
                    })
                })
                .collect(),
        ))
    }
}

/// What [`HookGlobal::use_builtin`] registered, for the script's handle.
#[derive(Debug, Clone)]
pub(crate) struct BuiltinRegistration {
    /// One registry id per point.
    pub(crate) ids: Vec<u64>,
    /// The built-in, for its statistics.
    pub(crate) hook: BuiltinHook,
}

impl BuiltinRegistration {
    /// `handle:stats()`: what the hook has observed (see
    /// [`BuiltinHook::stats`]).
    pub(crate) fn stats(&self) -> Value {
        self.hook.stats()
    }

    /// `handle:points()`: the point names.
    pub(crate) fn points(&self) -> Value {
        Value::Array(
            self.hook
                .points()
                .iter()
                .map(|p| Value::String(p.to_string()))
                .collect(),
        )
    }

    /// `handle:unregister()`: removes the hook from every point; true once
    /// (when anything was still registered), then false.
    pub(crate) fn unregister(&self, host: &ScriptHost) -> bool {
        self.ids
            .iter()
            .fold(false, |any, id| host.hooks().unregister(*id) | any)
    }
}

impl HookGlobal {
    /// `Hook.use(name, options)`: registers the built-in hook `name`
    /// (`logging`, `metrics`, `debugging`, `security`, `caching`,
    /// `rate_limit`, `retry`, `cost_tracking`) configured by `options` (an
    /// object, or null for the defaults) as this engine's hook at each of
    /// its points (`points`, default the tool and agent execution points),
    /// for the components `match` selects. Option names follow the Rust
    /// builders in snake case; `cost_tracking` starts from the context's
    /// price table ([`GlobalContext::pricing`](crate::GlobalContext::pricing)).
    ///
    /// # Errors
    /// [`BridgeError::InvalidArgument`] naming the unknown built-in or the
    /// bad option and what is valid; the registry's refusal.
    pub(crate) fn use_builtin(
        &self,
        host: &ScriptHost,
        name: &str,
        options: &Value,
    ) -> Result<BuiltinRegistration> {
        const F: &str = "Hook.use";
        let hook = BuiltinHook::from_options(name, options, host.context().pricing())
            .map_err(|e| invalid(F, e.to_string()))?;
        let mut ids = Vec::with_capacity(hook.points().len());
        for point in hook.points() {
            let options = hook.register_options().enabled(hook.is_enabled());
            match host.hooks().register(point.clone(), hook.hook(), options) {
                Ok(h) => ids.push(h.id()),
                Err(e) => {
                    for id in &ids {
                        host.hooks().unregister(*id);
                    }
                    return Err(e);
                }
            }
        }
        Ok(BuiltinRegistration { ids, hook })
    }
}

/// The outcome of a fire as the script sees it.
fn outcome_json(outcome: HookOutcome, data: serde_json::Map<String, Value>) -> Value {
    let hook = outcome.hook().map(str::to_owned);
    let mut v = JsonHookAdapter::result_to_json(&outcome.into_result());
    if let Value::Object(o) = &mut v {
        if let Some(h) = hook {
            o.insert("hook".to_owned(), Value::String(h));
        }
        o.insert("data".to_owned(), Value::Object(data));
    }
    v
}

impl HookGlobal {
    /// `Hook.fire(point, data)`: runs the hooks of custom `point` with
    /// `data` (an object; `null` is `{}`) as the context data, from the
    /// script's component (`custom:script` named after the script), and
    /// returns the outcome (see the type docs). A binding awaits it while
    /// running the engine's event callbacks.
    ///
    /// # Errors
    /// [`BridgeError::InvalidArgument`] for an unknown or named point, data
    /// that is not an object, or fires nested deeper than 8 on one task.
    pub(crate) async fn fire(&self, host: &ScriptHost, point: &str, data: Value) -> Result<Value> {
        const F: &str = "Hook.fire";
        let point = parse_point(F, point)?;
        if !matches!(point, HookPoint::Custom(_)) {
            return Err(invalid(
                F,
                format!(
                    "`{point}` is a named point: it is fired by the component it belongs to, not by scripts; a script fires only its own points, \"custom:<name>\""
                ),
            ));
        }
        let data = match data {
            Value::Null => Map::new(),
            Value::Object(o) => o,
            other => {
                return Err(invalid(
                    F,
                    format!(
                        "the data must be a table (the context data) or nil, got {}",
                        describe(&other)
                    ),
                ))
            }
        };
        let depth = fire_depth();
        if depth >= MAX_FIRE_DEPTH {
            return Err(invalid(
                F,
                format!(
                    "`{point}` fired while {MAX_FIRE_DEPTH} fires are already running on this task; a hook that fires its own point recurses without end"
                ),
            ));
        }
        let component =
            ComponentId::new(ComponentType::Custom("script".into()), &*host.script_name());
        let mut builder = HookContext::builder(point.clone(), component.clone())
            .language(host.language())
            .data_map(data);
        // Inside a hooked operation (e.g. fired by a hook), the fire is its
        // child: same correlation id, the operation as parent.
        if let Some(parent) = llmspell_hooks::current_parent() {
            builder = builder.correlation_id(parent.correlation_id).parent(parent);
        }
        let mut ctx = builder.build();
        // Operations the fired hooks start (a Tool.invoke) are children of
        // the fire; the scope gets its identity, not its data.
        let scope = HookContext::builder(point, component)
            .correlation_id(ctx.correlation_id)
            .language(ctx.language)
            .build();
        let outcome = FIRE_DEPTH
            .scope(
                depth + 1,
                llmspell_hooks::with_parent(scope, host.hooks().fire(&mut ctx)),
            )
            .await;
        Ok(outcome_json(outcome, ctx.data))
    }
}

impl GlobalObject for HookGlobal {
    fn metadata(&self) -> GlobalMetadata {
        GlobalMetadata {
            name: "Hook",
            description:
                "register script functions as hooks that run when agents, tools and workflows do",
            functions: &["register", "unregister", "list", "fire"],
        }
    }

    fn inject(&self, binding: &mut dyn GlobalBinding) -> Result<()> {
        binding.hook(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_parse_from_json() {
        let p = |v: Value| parse_priority("f", &v);
        assert_eq!(p(json!("high")).unwrap(), Priority::HIGH);
        assert_eq!(p(json!(42)).unwrap(), Priority(42));
        assert_eq!(p(json!(-3.0)).unwrap(), Priority(-3));
        assert!(p(json!(1.5)).unwrap_err().to_string().contains("got 1.5"));
        assert!(p(json!(1_i64 << 40))
            .unwrap_err()
            .to_string()
            .contains("32-bit"));
        assert!(p(json!("urgent"))
            .unwrap_err()
            .to_string()
            .contains("not a priority"));
        assert!(p(json!(true))
            .unwrap_err()
            .to_string()
            .contains("a boolean"));
    }

    #[test]
    fn filters_parse_from_json() {
        assert!(list_filter(&Value::Null).is_ok());
        assert!(list_filter(&json!("BeforeToolExecution")).is_ok());
        assert!(list_filter(
            &json!({"hook_point": "custom:x", "language": "lua", "priority": "low", "tag": "t"})
        )
        .is_ok());
        let err = list_filter(&json!(17)).unwrap_err().to_string();
        assert!(err.contains("the filter must be nil"), "{err}");
        let err = list_filter(&json!({"language": "cobol"}))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("Hook.list"), "{err}");
    }
}
