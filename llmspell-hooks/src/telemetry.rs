//! The `tracing` span of every hooked operation (see
//! `docs/user-guide/observability.md`).
//!
//! One span per run of [`HookedOperation`](crate::HookedOperation), named
//! `llmspell.operation`, with `otel.name` = `"<gen_ai.operation.name>
//! <target>"` (`execute_tool calculator`, `invoke_agent writer`) and the
//! attributes below. Operations started inside another one run inside its
//! span, so spans nest as the correlation tree does. When no subscriber
//! listens the span is disabled and nothing is recorded.
//!
//! | attribute | value |
//! |---|---|
//! | `gen_ai.operation.name` | `execute_tool` (tools), `invoke_agent` (an agent's execution), else the operation type or the component type |
//! | `gen_ai.tool.name` / `gen_ai.agent.name` | the target (tools / agents) |
//! | `gen_ai.request.model`, `gen_ai.response.model` | from the data or result, when there |
//! | `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens` | from the data or result, when there |
//! | `llmspell.component.type`, `llmspell.component.name` | the component |
//! | `llmspell.operation.type` | the operation type (`agent.execute`, `state_write`), when set |
//! | `llmspell.correlation_id`, `llmspell.language` | the run's |
//! | `llmspell.result_source` | `executed`, `cached`, `replaced`, `skipped` |
//! | `llmspell.attempts` | how many times the operation ran |
//! | `otel.status_code`, `error.type`, `otel.status_description` | `ERROR`, the error kind and message, on failure |
//!
//! Each hook execution is a span of its own, `llmspell.hook`, a child of the
//! operation's span (or of whatever span is current where the point fires),
//! with `otel.name` = `"hook <name>"` and:
//!
//! | attribute | value |
//! |---|---|
//! | `llmspell.hook.name`, `llmspell.hook.point`, `llmspell.hook.language` | the hook and where it ran |
//! | `llmspell.hook.result` | `continue`, `modified`, `cancel`, `redirect`, `replace`, `retry`, `fork`, `cache`, `skipped` |
//! | `otel.status_code`, `error.type`, `otel.status_description` | `ERROR`, `hook_error` / `timeout` / `panic`, the message, when the hook failed |
//!
//! A hook span costs nothing measurable when no subscriber enables it: the
//! executor checks `Span::is_disabled` and keeps its fast path.

use std::fmt;

use serde_json::Value;
use tracing::field::Empty;

use crate::operation::{OperationError, ResultSource};
use crate::{ComponentType, HookContext, HookError, HookMetadata, HookPoint, HookResult};

/// The attribute names read from data and results.
mod attr {
    /// `gen_ai.request.model`.
    pub(super) const REQUEST_MODEL: &str = "gen_ai.request.model";
    /// `gen_ai.response.model`.
    pub(super) const RESPONSE_MODEL: &str = "gen_ai.response.model";
    /// `gen_ai.usage.input_tokens`.
    pub(super) const INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
    /// `gen_ai.usage.output_tokens`.
    pub(super) const OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
}

/// The span of a run that is starting.
pub(crate) fn span(
    kind: Option<&ComponentType>,
    op_type: Option<&str>,
    target: &str,
    correlation_id: uuid::Uuid,
    language: crate::Language,
    input: &Value,
) -> tracing::Span {
    let span = tracing::info_span!(
        "llmspell.operation",
        otel.name = Empty,
        otel.status_code = Empty,
        otel.status_description = Empty,
        error.type = Empty,
        gen_ai.operation.name = Empty,
        gen_ai.tool.name = Empty,
        gen_ai.agent.name = Empty,
        gen_ai.request.model = Empty,
        gen_ai.response.model = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        llmspell.component.type = Empty,
        llmspell.component.name = Empty,
        llmspell.operation.type = Empty,
        llmspell.correlation_id = Empty,
        llmspell.language = Empty,
        llmspell.result_source = Empty,
        llmspell.attempts = Empty,
    );
    if span.is_disabled() {
        return span;
    }
    let kind = kind.unwrap_or(&ComponentType::System);
    let op_name = match (kind, op_type) {
        (ComponentType::Tool, _) => "execute_tool".to_owned(),
        (ComponentType::Agent, None | Some("agent.execute")) => "invoke_agent".to_owned(),
        (_, Some(t)) => t.to_owned(),
        (k, None) => k.to_string(),
    };
    span.record("otel.name", format!("{op_name} {target}"));
    span.record("gen_ai.operation.name", op_name.as_str());
    match kind {
        ComponentType::Tool => {
            span.record("gen_ai.tool.name", target);
        }
        ComponentType::Agent => {
            span.record("gen_ai.agent.name", target);
        }
        _ => {}
    }
    span.record("llmspell.component.type", kind.to_string());
    span.record("llmspell.component.name", target);
    if let Some(t) = op_type {
        span.record("llmspell.operation.type", t);
    }
    span.record(
        "llmspell.correlation_id",
        tracing::field::display(correlation_id),
    );
    span.record("llmspell.language", language.as_str());
    if let Some(Value::String(model)) = input
        .get(attr::REQUEST_MODEL)
        .or_else(|| input.get("model"))
    {
        span.record("gen_ai.request.model", model.as_str());
    }
    span
}

/// Records how a run ended on its span.
pub(crate) fn record<E: fmt::Display>(
    span: &tracing::Span,
    outcome: &Result<(Value, ResultSource), OperationError<E>>,
    ctx: Option<&HookContext>,
    attempts: u32,
) {
    if span.is_disabled() {
        return;
    }
    span.record("llmspell.attempts", attempts);
    let value = match outcome {
        Ok((value, source)) => {
            span.record(
                "llmspell.result_source",
                match source {
                    ResultSource::Executed => "executed",
                    ResultSource::Cached => "cached",
                    ResultSource::Replaced => "replaced",
                    ResultSource::Skipped => "skipped",
                },
            );
            Some(value)
        }
        Err(e) => {
            span.record("otel.status_code", "ERROR");
            span.record("error.type", error_type(e));
            span.record("otel.status_description", e.to_string());
            None
        }
    };
    let find = |key: &str| -> Option<&Value> {
        ctx.and_then(|c| c.data.get(key))
            .or_else(|| value.and_then(|v| v.get(key)))
            .or_else(|| value.and_then(|v| v.get("usage")).and_then(|u| u.get(key)))
    };
    for key in [attr::REQUEST_MODEL, attr::RESPONSE_MODEL] {
        if let Some(Value::String(m)) = find(key) {
            span.record(key, m.as_str());
        }
    }
    for key in [attr::INPUT_TOKENS, attr::OUTPUT_TOKENS] {
        if let Some(n) = find(key).and_then(Value::as_u64) {
            span.record(key, n);
        }
    }
}

fn error_type<E>(e: &OperationError<E>) -> &'static str {
    match e {
        OperationError::Cancelled { .. } => "cancelled",
        OperationError::RetriesExhausted { .. } => "retries_exhausted",
        OperationError::TooManyRedirects { .. } => "too_many_redirects",
        OperationError::RedirectRefused { .. } => "redirect_refused",
        OperationError::Failed(_) => "failed",
    }
}

/// The span of one hook execution (disabled, and nearly free, when no
/// subscriber listens at INFO level for this crate).
#[inline]
pub(crate) fn hook_span(meta: &HookMetadata, point: &HookPoint) -> tracing::Span {
    tracing::info_span!(
        "llmspell.hook",
        otel.name = %format_args!("hook {}", meta.name),
        llmspell.hook.name = meta.name.as_str(),
        llmspell.hook.point = %point,
        llmspell.hook.language = meta.language.as_str(),
        llmspell.hook.result = Empty,
        otel.status_code = Empty,
        otel.status_description = Empty,
        error.type = Empty,
    )
}

/// Records a hook's result (or failure) on its span.
#[cold]
pub(crate) fn record_hook(span: &tracing::Span, result: &Result<HookResult, HookError>) {
    match result {
        Ok(r) => {
            span.record("llmspell.hook.result", r.kind());
        }
        Err(e) => {
            span.record("otel.status_code", "ERROR");
            span.record(
                "error.type",
                match e {
                    HookError::Timeout { .. } => "timeout",
                    HookError::Panicked { .. } => "panic",
                    _ => "hook_error",
                },
            );
            span.record("otel.status_description", e.to_string());
        }
    }
}
