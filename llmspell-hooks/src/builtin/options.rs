//! The built-in hooks by name, configured from options in JSON form: the one
//! place that turns `Hook.use("rate_limit", {...})` (scripts) and
//! `[hooks.builtin.rate_limit]` (`llmspell.toml`) into a configured hook and
//! the points it is attached to.
//!
//! Option names follow the Rust builders in snake case. Every built-in also
//! takes the attachment options `points` (hook point names; default: the
//! tool and agent execution points), `match` (a glob on the component
//! name), `priority` (`"highest"` .. `"lowest"` or an integer) and `enabled`
//! (default true). An unknown option, a value of the wrong type or an
//! out-of-range value is an [`HookError::InvalidConfig`] naming the option
//! and what is valid.
//!
//! ```
//! use llmspell_hooks::builtin::{BuiltinHook, BuiltinKind, PricingTable};
//! use serde_json::json;
//!
//! let hook = BuiltinHook::from_options(
//!     "rate_limit",
//!     &json!({"per_second": 2, "burst": 2, "points": ["BeforeToolExecution"]}),
//!     &PricingTable::default(),
//! )
//! .unwrap();
//! assert_eq!(hook.kind(), BuiltinKind::RateLimit);
//! let err = BuiltinHook::from_options("rate_limit", &json!({"per_secnd": 2}), &PricingTable::default())
//!     .unwrap_err()
//!     .to_string();
//! assert!(err.contains("per_secnd"), "{err}");
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{
    Backoff, Budget, BudgetScope, CachingConfig, CachingHook, CostTrackingConfig, CostTrackingHook,
    DebuggingConfig, DebuggingHook, ErrorMatcher, Jitter, LimitAction, LoggingConfig, LoggingHook,
    MetricsConfig, MetricsHook, ModelPricing, PricingTable, RateLimitConfig, RateLimitHook,
    RateLimitKey, RetryConfig, RetryHook, RetryPolicy, SecurityConfig, SecurityHook,
};
use crate::{Hook, HookError, HookHandle, HookPoint, Hooks, Priority, RegisterOptions, Result};

/// The eight built-in hooks, by their script and config names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum BuiltinKind {
    /// `logging`: [`LoggingHook`].
    Logging,
    /// `metrics`: [`MetricsHook`].
    Metrics,
    /// `debugging`: [`DebuggingHook`].
    Debugging,
    /// `security`: [`SecurityHook`].
    Security,
    /// `caching`: [`CachingHook`].
    Caching,
    /// `rate_limit`: [`RateLimitHook`].
    RateLimit,
    /// `retry`: [`RetryHook`].
    Retry,
    /// `cost_tracking`: [`CostTrackingHook`].
    CostTracking,
}

impl BuiltinKind {
    /// Every built-in, in documentation order.
    pub const ALL: [BuiltinKind; 8] = [
        BuiltinKind::Logging,
        BuiltinKind::Metrics,
        BuiltinKind::Debugging,
        BuiltinKind::Security,
        BuiltinKind::Caching,
        BuiltinKind::RateLimit,
        BuiltinKind::Retry,
        BuiltinKind::CostTracking,
    ];

    /// The name scripts and the config use (`"rate_limit"`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            BuiltinKind::Logging => "logging",
            BuiltinKind::Metrics => "metrics",
            BuiltinKind::Debugging => "debugging",
            BuiltinKind::Security => "security",
            BuiltinKind::Caching => "caching",
            BuiltinKind::RateLimit => "rate_limit",
            BuiltinKind::Retry => "retry",
            BuiltinKind::CostTracking => "cost_tracking",
        }
    }
}

impl fmt::Display for BuiltinKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BuiltinKind {
    type Err = HookError;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| HookError::InvalidConfig {
                field: "builtin",
                reason: format!(
                    "there is no built-in hook `{s}`; the built-ins are {}",
                    Self::ALL.map(BuiltinKind::name).join(", ")
                ),
            })
    }
}

/// The points a built-in is attached to when `points` is not given: the
/// Before/After/Error points of tool and agent executions.
pub const DEFAULT_POINTS: [HookPoint; 6] = [
    HookPoint::BeforeToolExecution,
    HookPoint::AfterToolExecution,
    HookPoint::ToolError,
    HookPoint::BeforeAgentExecution,
    HookPoint::AfterAgentExecution,
    HookPoint::AgentError,
];

/// The options every built-in takes (see the module docs).
pub const ATTACH_OPTIONS: [&str; 4] = ["points", "match", "priority", "enabled"];

/// A configured built-in hook and where it goes: build it with
/// [`from_options`](Self::from_options), register it with
/// [`register`](Self::register).
#[derive(Clone)]
pub struct BuiltinHook {
    kind: BuiltinKind,
    hook: Built,
    points: Vec<HookPoint>,
    matcher: Option<String>,
    priority: Option<Priority>,
    enabled: bool,
}

/// The concrete hook, kept for its statistics.
#[derive(Clone)]
enum Built {
    Logging(Arc<LoggingHook>),
    Metrics(Arc<MetricsHook>),
    Debugging(Arc<DebuggingHook>),
    Security(Arc<SecurityHook>),
    Caching(Arc<CachingHook>),
    RateLimit(Arc<RateLimitHook>),
    Retry(Arc<RetryHook>),
    CostTracking(Arc<CostTrackingHook>),
}

impl fmt::Debug for BuiltinHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuiltinHook")
            .field("kind", &self.kind)
            .field("points", &self.points)
            .field("matcher", &self.matcher)
            .field("priority", &self.priority)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> HookError {
    HookError::InvalidConfig {
        field,
        reason: reason.into(),
    }
}

/// Deserialises `options` (attachment options removed) into `T`, with
/// errors naming the built-in and the option.
fn parse<T: DeserializeOwned>(kind: BuiltinKind, options: Map<String, Value>) -> Result<T> {
    serde_path_to_error::deserialize(Value::Object(options)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let reason = if inner.starts_with("unknown field") {
            let valid = inner
                .split_once("expected ")
                .map(|(_, v)| v.to_owned())
                .unwrap_or_default();
            let unknown = inner.split('`').nth(1).unwrap_or("?").to_owned();
            format!(
                "`{unknown}` is not an option of the {kind} hook; valid options: {}{}",
                valid.replace("one of ", ""),
                ATTACH_OPTIONS
                    .iter()
                    .fold(String::new(), |acc, o| acc + ", `" + o + "`")
            )
        } else {
            format!("option `{path}` of the {kind} hook: {inner}")
        };
        invalid("options", reason)
    })
}

fn millis(ms: f64, option: &'static str) -> Result<Duration> {
    if ms.is_finite() && ms >= 0.0 {
        Ok(Duration::from_secs_f64(ms / 1000.0))
    } else {
        Err(invalid(
            option,
            format!("`{option}` must be a non-negative number of milliseconds, got {ms}"),
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoggingOptions {
    level: Option<String>,
    include_data: Option<bool>,
    include_metadata: Option<bool>,
    max_data_bytes: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsOptions {
    emit_to_facade: Option<bool>,
    max_in_flight: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DebuggingOptions {
    capacity: Option<usize>,
    min_duration_ms: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecurityOptions {
    max_parameter_bytes: Option<usize>,
    max_string_bytes: Option<usize>,
    #[serde(default)]
    deny_values: Vec<String>,
    #[serde(default)]
    deny_patterns: Vec<String>,
    block_on_violation: Option<bool>,
    redact_context: Option<bool>,
    audit_capacity: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CachingOptions {
    ttl_ms: Option<f64>,
    max_entries: Option<u64>,
    cache_errors: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitOptions {
    per_second: Option<u32>,
    per_minute: Option<u32>,
    burst: Option<u32>,
    key: Option<String>,
    action: Option<String>,
    max_wait_ms: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetryOptions {
    max_attempts: Option<u32>,
    backoff: Option<String>,
    initial_delay_ms: Option<f64>,
    step_ms: Option<f64>,
    multiplier: Option<f64>,
    jitter: Option<String>,
    max_delay_ms: Option<f64>,
    max_total_ms: Option<f64>,
    retry_on: Option<Vec<String>>,
    retry_on_patterns: Option<Vec<String>>,
    seed: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceOptions {
    input_per_million: f64,
    output_per_million: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetOptions {
    scope: Option<String>,
    name: Option<String>,
    warn_at: Option<f64>,
    limit: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CostOptions {
    #[serde(default)]
    prices: BTreeMap<String, PriceOptions>,
    fallback_price: Option<PriceOptions>,
    #[serde(default)]
    budgets: Vec<BudgetOptions>,
    history_capacity: Option<usize>,
    #[serde(default)]
    exchange_rates: BTreeMap<String, f64>,
}

/// The attachment options taken out of an options object.
struct Attach {
    points: Vec<HookPoint>,
    matcher: Option<String>,
    priority: Option<Priority>,
    enabled: bool,
}

fn attach(options: &mut Map<String, Value>) -> Result<Attach> {
    let points = match options.remove("points") {
        None | Some(Value::Null) => DEFAULT_POINTS.to_vec(),
        Some(Value::String(s)) => vec![parse_point(&s)?],
        Some(Value::Array(items)) => {
            let mut points = Vec::with_capacity(items.len());
            for item in items {
                let Value::String(s) = item else {
                    return Err(invalid(
                        "points",
                        format!("`points` must be a list of hook point names, got {item}"),
                    ));
                };
                points.push(parse_point(&s)?);
            }
            if points.is_empty() {
                return Err(invalid("points", "`points` must name at least one point"));
            }
            points
        }
        Some(other) => {
            return Err(invalid(
                "points",
                format!("`points` must be a list of hook point names, got {other}"),
            ))
        }
    };
    let matcher = match options.remove("match") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            return Err(invalid(
                "match",
                format!("`match` must be a glob on the component name, got {other}"),
            ))
        }
    };
    let priority = match options.remove("priority") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.parse::<Priority>()?),
        Some(Value::Number(n)) => Some(Priority(
            n.as_i64()
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(|| {
                    invalid(
                        "priority",
                        format!("`priority` must be a 32-bit integer or a name, got {n}"),
                    )
                })?,
        )),
        Some(other) => {
            return Err(invalid(
                "priority",
                format!(
                "`priority` must be highest, high, normal, low, lowest or an integer, got {other}"
            ),
            ))
        }
    };
    let enabled = match options.remove("enabled") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => b,
        Some(other) => {
            return Err(invalid(
                "enabled",
                format!("`enabled` must be a boolean, got {other}"),
            ))
        }
    };
    Ok(Attach {
        points,
        matcher,
        priority,
        enabled,
    })
}

fn parse_point(name: &str) -> Result<HookPoint> {
    name.parse::<HookPoint>()
        .map_err(|e| invalid("points", format!("in `points`: {e}")))
}

impl BuiltinHook {
    /// Builds the built-in `name` from `options` (a JSON object, or null for
    /// the defaults). `pricing` is the price table `cost_tracking` starts
    /// from (its `prices` option adds to it): the configuration's, or
    /// [`PricingTable::default`].
    ///
    /// # Errors
    /// [`HookError::InvalidConfig`] naming the unknown built-in or the bad
    /// option and what is valid.
    pub fn from_options(name: &str, options: &Value, pricing: &PricingTable) -> Result<Self> {
        let kind: BuiltinKind = name.parse()?;
        let mut options = match options {
            Value::Null => Map::new(),
            Value::Object(o) => o.clone(),
            other => {
                return Err(invalid(
                    "options",
                    format!("the options of the {kind} hook must be a table, got {other}"),
                ))
            }
        };
        let at = attach(&mut options)?;
        let hook = match kind {
            BuiltinKind::Logging => Built::Logging(Arc::new(logging(parse(kind, options)?)?)),
            BuiltinKind::Metrics => Built::Metrics(Arc::new(metrics(parse(kind, options)?))),
            BuiltinKind::Debugging => Built::Debugging(Arc::new(debugging(parse(kind, options)?)?)),
            BuiltinKind::Security => Built::Security(Arc::new(security(parse(kind, options)?)?)),
            BuiltinKind::Caching => Built::Caching(Arc::new(caching(parse(kind, options)?)?)),
            BuiltinKind::RateLimit => {
                Built::RateLimit(Arc::new(rate_limit(parse(kind, options)?)?))
            }
            BuiltinKind::Retry => Built::Retry(Arc::new(retry(parse(kind, options)?)?)),
            BuiltinKind::CostTracking => {
                Built::CostTracking(Arc::new(cost(parse(kind, options)?, pricing)?))
            }
        };
        Ok(Self {
            kind,
            hook,
            points: at.points,
            matcher: at.matcher,
            priority: at.priority,
            enabled: at.enabled,
        })
    }

    /// Which built-in this is.
    #[must_use]
    pub fn kind(&self) -> BuiltinKind {
        self.kind
    }

    /// The points it is attached to.
    #[must_use]
    pub fn points(&self) -> &[HookPoint] {
        &self.points
    }

    /// Whether it is enabled (`enabled = false` keeps a configured hook
    /// off).
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The hook itself (one instance shared by all its points, so state
    /// such as a cache or a budget spans them).
    #[must_use]
    pub fn hook(&self) -> Arc<dyn Hook> {
        match &self.hook {
            Built::Logging(h) => h.clone(),
            Built::Metrics(h) => h.clone(),
            Built::Debugging(h) => h.clone(),
            Built::Security(h) => h.clone(),
            Built::Caching(h) => h.clone(),
            Built::RateLimit(h) => h.clone(),
            Built::Retry(h) => h.clone(),
            Built::CostTracking(h) => h.clone(),
        }
    }

    /// The registration options (`match`, `priority`).
    pub fn register_options(&self) -> RegisterOptions {
        let mut o = RegisterOptions::new();
        if let Some(m) = &self.matcher {
            o = o.matcher(m.clone());
        }
        if let Some(p) = self.priority {
            o = o.priority(p);
        }
        o
    }

    /// Registers the hook at each of its points in `hooks` (disabled when
    /// `enabled = false`), and returns the handles.
    ///
    /// # Errors
    /// The registry's refusal (e.g. a bad `match` glob); nothing stays
    /// registered then.
    pub fn register(&self, hooks: &Hooks) -> Result<Vec<HookHandle>> {
        let mut handles = Vec::with_capacity(self.points.len());
        for point in &self.points {
            let options = self.register_options().enabled(self.enabled);
            match hooks.register_with(point.clone(), self.hook(), options) {
                Ok(h) => handles.push(h),
                Err(e) => {
                    for h in &handles {
                        hooks.unregister(h);
                    }
                    return Err(e);
                }
            }
        }
        Ok(handles)
    }

    /// What the hook has observed so far, as JSON: cache `hits`/`misses`/...
    /// (caching), the cost summary (cost_tracking), counters (metrics),
    /// traces (debugging), the audit log (security), tracked keys
    /// (rate_limit); `{}` for logging and retry.
    #[must_use]
    pub fn stats(&self) -> Value {
        match &self.hook {
            Built::Caching(h) => {
                let s = h.stats();
                json!({"hits": s.hits, "misses": s.misses, "inserts": s.inserts,
                       "evictions": s.evictions, "expirations": s.expirations})
            }
            Built::CostTracking(h) => serde_json::to_value(h.summary()).unwrap_or(Value::Null),
            Built::Metrics(h) => serde_json::to_value(h.snapshot()).unwrap_or(Value::Null),
            Built::Debugging(h) => {
                json!({"traces": serde_json::to_value(h.traces()).unwrap_or(Value::Null)})
            }
            Built::Security(h) => {
                json!({"audit": serde_json::to_value(h.audit_log()).unwrap_or(Value::Null)})
            }
            Built::RateLimit(h) => json!({"tracked_keys": h.tracked_keys()}),
            Built::Logging(_) | Built::Retry(_) => json!({}),
        }
    }
}

fn logging(o: LoggingOptions) -> Result<LoggingHook> {
    let mut c = LoggingConfig::new();
    if let Some(l) = o.level {
        let level = l.parse::<tracing::Level>().map_err(|_| {
            invalid(
                "level",
                format!("`level` must be trace, debug, info, warn or error, got `{l}`"),
            )
        })?;
        c = c.level(level);
    }
    if let Some(b) = o.include_data {
        c = c.include_data(b);
    }
    if let Some(b) = o.include_metadata {
        c = c.include_metadata(b);
    }
    if let Some(n) = o.max_data_bytes {
        c = c.max_data_bytes(n);
    }
    Ok(c.build())
}

fn metrics(o: MetricsOptions) -> MetricsHook {
    let mut c = MetricsConfig::new();
    if let Some(b) = o.emit_to_facade {
        c = c.emit_to_facade(b);
    }
    if let Some(n) = o.max_in_flight {
        c = c.max_in_flight(n);
    }
    c.build()
}

fn debugging(o: DebuggingOptions) -> Result<DebuggingHook> {
    let mut c = DebuggingConfig::new();
    if let Some(n) = o.capacity {
        c = c.capacity(n);
    }
    if let Some(ms) = o.min_duration_ms {
        c = c.min_duration(millis(ms, "min_duration_ms")?);
    }
    Ok(c.build())
}

fn security(o: SecurityOptions) -> Result<SecurityHook> {
    let mut c = SecurityConfig::new();
    if let Some(n) = o.max_parameter_bytes {
        c = c.max_parameter_bytes(n);
    }
    if let Some(n) = o.max_string_bytes {
        c = c.max_string_bytes(n);
    }
    for v in o.deny_values {
        c = c.deny_value(v);
    }
    for p in &o.deny_patterns {
        c = c.deny_pattern(p).map_err(|e| {
            invalid(
                "deny_patterns",
                format!("`deny_patterns`: `{p}` is not a valid regular expression: {e}"),
            )
        })?;
    }
    if let Some(b) = o.block_on_violation {
        c = c.block_on_violation(b);
    }
    if let Some(b) = o.redact_context {
        c = c.redact_context(b);
    }
    if let Some(n) = o.audit_capacity {
        c = c.audit_capacity(n);
    }
    Ok(c.build())
}

fn caching(o: CachingOptions) -> Result<CachingHook> {
    let mut c = CachingConfig::new();
    if let Some(ms) = o.ttl_ms {
        c = c.ttl(millis(ms, "ttl_ms")?);
    }
    if let Some(n) = o.max_entries {
        c = c.max_entries(n);
    }
    if let Some(b) = o.cache_errors {
        c = c.cache_errors(b);
    }
    c.build()
}

fn rate_limit(o: RateLimitOptions) -> Result<RateLimitHook> {
    let mut c = match (o.per_second, o.per_minute) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "per_second",
                "give `per_second` or `per_minute`, not both",
            ))
        }
        (Some(n), None) => RateLimitConfig::per_second(n),
        (None, Some(n)) => RateLimitConfig::per_minute(n),
        (None, None) => RateLimitConfig::default(),
    };
    if let Some(b) = o.burst {
        c = c.burst(b);
    }
    if let Some(k) = o.key {
        let key = match k.as_str() {
            "global" => RateLimitKey::Global,
            "component" => RateLimitKey::Component,
            "user" => RateLimitKey::User,
            other => match other.strip_prefix("metadata:") {
                Some(m) if !m.is_empty() => RateLimitKey::Metadata(m.to_owned()),
                _ => {
                    return Err(invalid(
                        "key",
                        format!(
                            "`key` must be \"global\", \"component\", \"user\" or \"metadata:<key>\", got `{k}`"
                        ),
                    ))
                }
            },
        };
        c = c.key(key);
    }
    let max_wait = o
        .max_wait_ms
        .map(|ms| millis(ms, "max_wait_ms"))
        .transpose()?;
    match o.action.as_deref() {
        None | Some("cancel") => {
            if max_wait.is_some() {
                return Err(invalid(
                    "max_wait_ms",
                    "`max_wait_ms` applies only with action = \"wait\"",
                ));
            }
        }
        Some("wait") => {
            c = c.action(LimitAction::Wait {
                max_wait: max_wait.unwrap_or(Duration::from_secs(1)),
            });
        }
        Some(other) => {
            return Err(invalid(
                "action",
                format!("`action` must be \"cancel\" or \"wait\", got `{other}`"),
            ))
        }
    }
    c.build()
}

fn retry(o: RetryOptions) -> Result<RetryHook> {
    let mut c = RetryConfig::new();
    let mut policy = RetryPolicy::default();
    let initial = o
        .initial_delay_ms
        .map(|ms| millis(ms, "initial_delay_ms"))
        .transpose()?
        .unwrap_or(Duration::from_millis(100));
    let step = o.step_ms.map(|ms| millis(ms, "step_ms")).transpose()?;
    if let Some(m) = o.multiplier {
        if !(m.is_finite() && m >= 1.0) {
            return Err(invalid(
                "multiplier",
                format!("`multiplier` must be at least 1, got {m}"),
            ));
        }
    }
    policy.backoff = match o.backoff.as_deref() {
        None | Some("exponential") => Backoff::Exponential {
            initial,
            multiplier: o.multiplier.unwrap_or(2.0),
        },
        Some("fixed") => Backoff::Fixed(initial),
        Some("linear") => Backoff::Linear {
            initial,
            step: step.unwrap_or(initial),
        },
        Some("fibonacci") => Backoff::Fibonacci { initial },
        Some(other) => {
            return Err(invalid(
                "backoff",
                format!(
                    "`backoff` must be \"fixed\", \"linear\", \"exponential\" or \"fibonacci\", got `{other}`"
                ),
            ))
        }
    };
    if let Some(j) = o.jitter.as_deref() {
        policy.jitter = match j {
            "none" => Jitter::None,
            "full" => Jitter::Full,
            "equal" => Jitter::Equal,
            "decorrelated" => Jitter::Decorrelated,
            other => {
                return Err(invalid(
                    "jitter",
                    format!(
                        "`jitter` must be \"none\", \"full\", \"equal\" or \"decorrelated\", got `{other}`"
                    ),
                ))
            }
        };
    }
    if let Some(ms) = o.max_delay_ms {
        policy.max_delay = millis(ms, "max_delay_ms")?;
    }
    c = c.policy(policy);
    if let Some(n) = o.max_attempts {
        c = c.max_attempts(n);
    }
    if let Some(ms) = o.max_total_ms {
        c = c.max_total(millis(ms, "max_total_ms")?);
    }
    if o.retry_on.is_some() || o.retry_on_patterns.is_some() {
        let mut matchers: Vec<ErrorMatcher> = o
            .retry_on
            .unwrap_or_default()
            .into_iter()
            .map(ErrorMatcher::contains)
            .collect();
        for p in o.retry_on_patterns.unwrap_or_default() {
            matchers.push(ErrorMatcher::pattern(&p).map_err(|e| {
                invalid(
                    "retry_on_patterns",
                    format!("`retry_on_patterns`: `{p}`: {e}"),
                )
            })?);
        }
        c = c.retry_on(matchers);
    }
    if let Some(s) = o.seed {
        c = c.seed(s);
    }
    Ok(c.build())
}

fn price(p: &PriceOptions, what: &str) -> Result<ModelPricing> {
    let ok = |v: f64| v.is_finite() && v >= 0.0;
    if !ok(p.input_per_million) || !ok(p.output_per_million) {
        return Err(invalid(
            "prices",
            format!("the price of {what} must be non-negative USD per million tokens"),
        ));
    }
    Ok(ModelPricing::new(p.input_per_million, p.output_per_million))
}

fn cost(o: CostOptions, pricing: &PricingTable) -> Result<CostTrackingHook> {
    let mut table = pricing.clone();
    for (model, p) in &o.prices {
        table = table.set(model.clone(), price(p, &format!("`{model}`"))?);
    }
    if let Some(p) = &o.fallback_price {
        table = table.fallback(price(p, "`fallback_price`")?);
    }
    let mut c = CostTrackingConfig::new().pricing(table);
    for b in o.budgets {
        let named = |what: &str| {
            b.name.clone().ok_or_else(|| {
                invalid(
                    "budgets",
                    format!("a budget with scope \"{what}\" needs `name` (the {what}'s name)"),
                )
            })
        };
        let scope = match b.scope.as_deref() {
            None | Some("global") => BudgetScope::Global,
            Some("component") => BudgetScope::Component(named("component")?),
            Some("user") => BudgetScope::User(named("user")?),
            Some("model") => BudgetScope::Model(named("model")?),
            Some(other) => {
                return Err(invalid(
                    "budgets",
                    format!(
                        "a budget's `scope` must be \"global\", \"component\", \"user\" or \"model\", got `{other}`"
                    ),
                ))
            }
        };
        c = c.budget(Budget::new(scope, b.warn_at.unwrap_or(b.limit), b.limit));
    }
    if let Some(n) = o.history_capacity {
        c = c.history_capacity(n);
    }
    for (currency, rate) in o.exchange_rates {
        c = c.exchange_rate(currency, rate);
    }
    c.build()
}
