//! The eight built-in production hooks and the helpers they share.
//!
//! | hook | what it does | where it acts |
//! |---|---|---|
//! | [`LoggingHook`] | one `tracing` event per call, data size-capped and redacted | any point |
//! | [`MetricsHook`] | counters and latency histograms per point and component, also emitted through the `metrics` facade | any point; latency from Before*→After*/Error pairs |
//! | [`DebuggingHook`] | a bounded ring of execution traces, filtered by minimum duration | any point |
//! | [`SecurityHook`] | audit log, parameter validation, secret redaction, optional blocking | Before* points |
//! | [`CachingHook`] | TTL + size-bounded result cache; a hit replaces the operation | Before* (lookup) and After* (store) |
//! | [`RateLimitHook`] | GCRA limits per key with burst; cancel or wait | Before* points |
//! | [`RetryHook`] | retryable errors become `Retry` with backoff and jitter | Error and After* points |
//! | [`CostTrackingHook`] | cost from GenAI token usage, budgets that warn and block | Before* (budget) and After* (usage) |
//!
//! Besides the eight, [`CommandHook`] runs an external program as a hook
//! (the model of `[[hooks.command]]` in `llmspell.toml`), and
//! [`BuiltinHook`] builds any of the eight by name from JSON options (what
//! `Hook.use` and `[hooks.builtin.*]` do).
//!
//! Every hook is built from a `#[must_use]` config with defaults that are
//! safe to attach as-is, and takes an injectable [`Clock`](crate::Clock)
//! where time matters.
//!
//! The operation a context wraps is read the same way by every hook:
//! parameters from `ctx.operation.parameters`, else `data.parameters`, else
//! `data.input`; result from `ctx.operation.result`, else `data.result`,
//! else `data.output`; error from `ctx.operation.error`, else `data.error`;
//! the user from metadata `user_id` (or `user`).

use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use crate::{HookContext, HookPoint};

mod caching;
mod command;
mod cost;
mod debugging;
mod logging;
mod metrics;
mod options;
mod rate_limit;
mod retry;
mod security;
mod timer;

pub use crate::redact::{Redactor, REDACTED};
pub use caching::{CacheStats, CachingConfig, CachingHook};
pub use command::{CommandHook, CommandHookBuilder};
pub use cost::{
    Budget, BudgetScope, CostRecord, CostSummary, CostTrackingConfig, CostTrackingHook,
    ModelPricing, PricingTable, INPUT_TOKENS_KEY, MODEL_KEY, OUTPUT_TOKENS_KEY, RESPONSE_MODEL_KEY,
};
pub use debugging::{DebuggingConfig, DebuggingHook, ExecutionTrace};
pub use logging::{LoggingConfig, LoggingHook};
pub use metrics::{
    LatencyHistogram, MetricsConfig, MetricsHook, MetricsSnapshot, LATENCY_BUCKETS_SECONDS,
};
pub use options::{BuiltinHook, BuiltinKind, ATTACH_OPTIONS, DEFAULT_POINTS};
pub use rate_limit::{LimitAction, RateLimitConfig, RateLimitHook, RateLimitKey};
pub use retry::{Backoff, BreakerProbe, ErrorMatcher, Jitter, RetryConfig, RetryHook, RetryPolicy};
pub use security::{AuditEntry, SecurityConfig, SecurityHook, Violation};

/// Where in an operation's life a point lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// `Before*` (and `ToolValidation`): the operation has not run yet.
    Before,
    /// `After*`: the operation finished.
    After,
    /// `*Error`: the operation failed.
    Error,
    /// Anything else (custom, system, state notifications...).
    Other,
}

/// The phase of `point`.
pub(crate) fn phase(point: &HookPoint) -> Phase {
    match point.name() {
        Some("ToolValidation") => Phase::Before,
        Some(n) if n.starts_with("Before") => Phase::Before,
        Some(n) if n.starts_with("After") => Phase::After,
        Some(n) if n.ends_with("Error") => Phase::Error,
        _ => Phase::Other,
    }
}

/// The operation family a point belongs to, so that a Before* point and its
/// After*/Error counterparts share it (`BeforeToolExecution`,
/// `AfterToolExecution` and `ToolError` are all `ToolExecution`).
pub(crate) fn family(point: &HookPoint) -> &'static str {
    match point.name() {
        Some("ToolError" | "ToolValidation") => "ToolExecution",
        Some("AgentError") => "AgentExecution",
        Some("WorkflowError" | "AfterWorkflowComplete") => "WorkflowStart",
        Some("EventHandlerError") => "EventEmit",
        Some(n) => n
            .strip_prefix("Before")
            .or_else(|| n.strip_prefix("After"))
            .unwrap_or(n),
        None => "custom",
    }
}

/// A point's label: its name, or `custom:<name>` rendered once.
pub(crate) fn point_label(point: &HookPoint) -> String {
    match point.name() {
        Some(n) => n.to_owned(),
        None => point.to_string(),
    }
}

/// A component's label: `type:name` (instances of one component share it).
pub(crate) fn component_label(ctx: &HookContext) -> String {
    format!("{}:{}", ctx.component.component_type, ctx.component.name)
}

/// The operation's parameters (see the module docs for where they are read).
pub(crate) fn parameters(ctx: &HookContext) -> Option<&Value> {
    ctx.operation
        .as_ref()
        .map(|op| &op.parameters)
        .filter(|v| !v.is_null())
        .or_else(|| ctx.data.get("parameters"))
        .or_else(|| ctx.data.get("input"))
}

/// The operation's result, if it produced one.
pub(crate) fn result_value(ctx: &HookContext) -> Option<&Value> {
    ctx.operation
        .as_ref()
        .and_then(|op| op.result.as_ref())
        .or_else(|| ctx.data.get("result"))
        .or_else(|| ctx.data.get("output"))
        .filter(|v| !v.is_null())
}

/// The operation's error message, if it failed.
pub(crate) fn error_message(ctx: &HookContext) -> Option<String> {
    if let Some(e) = ctx.operation.as_ref().and_then(|op| op.error.clone()) {
        return Some(e);
    }
    match ctx.data.get("error") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}

/// The user an operation runs for: metadata `user_id`, else `user`.
pub(crate) fn user_of(ctx: &HookContext) -> Option<&str> {
    ctx.get_metadata("user_id")
        .or_else(|| ctx.get_metadata("user"))
}

/// Key identifying one operation across its Before*/After* points.
pub(crate) fn operation_key(ctx: &HookContext) -> (Uuid, &'static str, Uuid) {
    (
        ctx.operation
            .as_ref()
            .map_or(ctx.correlation_id, |op| op.operation_id),
        family(&ctx.point),
        ctx.component.id,
    )
}

/// Saturating `Duration` → whole milliseconds.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_and_families_pair_up() {
        let cases = [
            (
                HookPoint::BeforeToolExecution,
                Phase::Before,
                "ToolExecution",
            ),
            (HookPoint::AfterToolExecution, Phase::After, "ToolExecution"),
            (HookPoint::ToolError, Phase::Error, "ToolExecution"),
            (
                HookPoint::BeforeAgentExecution,
                Phase::Before,
                "AgentExecution",
            ),
            (HookPoint::AgentError, Phase::Error, "AgentExecution"),
            (
                HookPoint::BeforeWorkflowStart,
                Phase::Before,
                "WorkflowStart",
            ),
            (
                HookPoint::AfterWorkflowComplete,
                Phase::After,
                "WorkflowStart",
            ),
            (HookPoint::WorkflowError, Phase::Error, "WorkflowStart"),
            (HookPoint::SystemStartup, Phase::Other, "SystemStartup"),
            (HookPoint::custom("x"), Phase::Other, "custom"),
        ];
        for (p, ph, fam) in cases {
            assert_eq!(phase(&p), ph, "{p}");
            assert_eq!(family(&p), fam, "{p}");
        }
    }
}
