//! `--metrics-addr`: Prometheus metrics of a run, in the text format.
//!
//! | metric | labels | from |
//! |---|---|---|
//! | `llmspell_hook_calls_total` | `point`, `component` | a metrics hook on the tool and agent points: calls seen |
//! | `llmspell_operation_errors_total` | `point`, `component` | the same: failed tool and agent calls |
//! | `llmspell_operation_duration_seconds` (histogram) | `operation`, `component` | the same: tool and agent call latency |
//! | `llmspell_hook_executions_total`, `llmspell_hook_failures_total`, `llmspell_hook_timeouts_total` | `hook`, `point`, `language` | every registered hook's monitor |
//! | `llmspell_hook_latency_seconds` | `hook`, `point`, `quantile` (0.5, 0.95, 0.99) | every registered hook's monitor |
//! | `llmspell_hook_breaker_state` | `hook`, `point` | 0 closed, 1 half-open, 2 open |
//! | `llmspell_bus_published_total`, `llmspell_bus_delivered_total` | | the event bus |
//! | `llmspell_bus_dropped_total` | `reason` | the event bus |
//! | `llmspell_bus_queue_depth` | `pattern` | events waiting per subscription pattern |
//! | `llmspell_bus_subscriptions` | | active subscriptions |
//!
//! The hook and bus figures are sampled every 250 ms by a task this module
//! owns (stopped with the [`MetricsServer`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use llmspell_events::EventBus;
use llmspell_hooks::builtin::{MetricsConfig, LATENCY_BUCKETS_SECONDS};
use llmspell_hooks::{BreakerState, HookFilter, HookPoint, Hooks};
use metrics_exporter_prometheus::PrometheusBuilder;
use tokio::task::JoinHandle;

use crate::error::{CliError, Result};

/// The endpoint's sampler task; dropping it stops the task.
#[derive(Debug)]
pub(crate) struct MetricsServer {
    sampler: JoinHandle<()>,
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.sampler.abort();
    }
}

/// Serves `/metrics` on `addr` and starts collecting (call inside the
/// runtime).
///
/// # Errors
/// [`CliError::Usage`] when the address cannot be bound or a recorder is
/// already installed.
pub(crate) fn serve(addr: SocketAddr, hooks: &Hooks, bus: &EventBus) -> Result<MetricsServer> {
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets(&LATENCY_BUCKETS_SECONDS)
        .and_then(|b| b.install())
        .map_err(|e| CliError::Usage(format!("--metrics-addr {addr}: {e}")))?;
    let metrics_hook = std::sync::Arc::new(MetricsConfig::new().emit_to_facade(true).build());
    for point in [
        HookPoint::BeforeToolExecution,
        HookPoint::AfterToolExecution,
        HookPoint::ToolError,
        HookPoint::BeforeAgentExecution,
        HookPoint::AfterAgentExecution,
        HookPoint::AgentError,
    ] {
        hooks
            .register(point, metrics_hook.clone())
            .map_err(|e| CliError::Usage(format!("--metrics-addr: {e}")))?;
    }
    let (hooks, bus) = (hooks.clone(), bus.clone());
    let sampler = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tick.tick().await;
            sample(&hooks, &bus);
        }
    });
    Ok(MetricsServer { sampler })
}

fn sample(hooks: &Hooks, bus: &EventBus) {
    for h in hooks.registry().list(&HookFilter::new()) {
        let m = h.metadata();
        let point = h.handle().point().to_string();
        let labels = [
            ("hook", m.name.clone()),
            ("point", point.clone()),
            ("language", m.language.as_str().to_owned()),
        ];
        let p = h.performance();
        metrics::counter!("llmspell_hook_executions_total", &labels).absolute(p.calls);
        metrics::counter!("llmspell_hook_failures_total", &labels).absolute(p.failures);
        metrics::counter!("llmspell_hook_timeouts_total", &labels).absolute(p.timeouts);
        for (q, d) in [("0.5", p.p50), ("0.95", p.p95), ("0.99", p.p99)] {
            metrics::gauge!(
                "llmspell_hook_latency_seconds",
                "hook" => m.name.clone(), "point" => point.clone(), "quantile" => q
            )
            .set(d.as_secs_f64());
        }
        let state = match h.breaker().state() {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 1.0,
            _ => 2.0,
        };
        metrics::gauge!("llmspell_hook_breaker_state", "hook" => m.name.clone(), "point" => point)
            .set(state);
    }
    let s = bus.stats();
    metrics::counter!("llmspell_bus_published_total").absolute(s.published);
    metrics::counter!("llmspell_bus_delivered_total").absolute(s.delivered);
    let d = &s.dropped;
    for (reason, n) in [
        ("oldest", d.oldest),
        ("newest", d.newest),
        ("rejected", d.rejected),
        ("block_timeout", d.block_timeout),
        ("expired", d.expired),
        ("unsubscribed", d.unsubscribed),
        ("cancelled", d.cancelled),
    ] {
        metrics::counter!("llmspell_bus_dropped_total", "reason" => reason).absolute(n);
    }
    let mut depth: BTreeMap<String, usize> = BTreeMap::new();
    for sub in &s.subscriptions {
        *depth.entry(sub.pattern.clone()).or_default() += sub.depth;
    }
    for (pattern, n) in depth {
        #[allow(clippy::cast_precision_loss)]
        metrics::gauge!("llmspell_bus_queue_depth", "pattern" => pattern).set(n as f64);
    }
    #[allow(clippy::cast_precision_loss)]
    metrics::gauge!("llmspell_bus_subscriptions").set(s.active_subscriptions as f64);
}
