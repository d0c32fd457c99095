//! `--metrics-addr`: Prometheus metrics of a run, in the text format.
//!
//! | metric | labels | from |
//! |---|---|---|
//! | `llmspell_hook_calls_total` | `point`, `component` | a metrics hook on the tool and agent points: calls seen |
//! | `llmspell_operation_errors_total` | `point`, `component` | the same: failed tool and agent calls |
//! | `llmspell_operation_duration_seconds` (histogram) | `operation`, `component` | the same: tool and agent call latency |
//! | `llmspell_hook_executions_total`, `llmspell_hook_failures_total`, `llmspell_hook_timeouts_total` | `hook`, `point`, `language` | every registered hook's monitor |
//! | `llmspell_hook_latency_seconds` (histogram) | `hook`, `point` | every registered hook's monitor: its latency samples, with bucket edges at 1.024 µs × 4ⁿ (exact counts; `_sum` within an eighth, from bucket midpoints) |
//! | `llmspell_hook_breaker_state` | `hook`, `point` | 0 closed, 1 half-open, 2 open |
//! | `llmspell_bus_published_total`, `llmspell_bus_delivered_total` | | the event bus |
//! | `llmspell_bus_dropped_total` | `reason` | the event bus |
//! | `llmspell_bus_queue_depth` | `pattern` | events waiting per subscription pattern |
//! | `llmspell_bus_subscriptions` | | active subscriptions |
//!
//! The hook and bus figures are sampled every 250 ms by a task this module
//! owns (stopped with the [`MetricsServer`]).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use llmspell_events::EventBus;
use llmspell_hooks::builtin::{MetricsConfig, LATENCY_BUCKETS_SECONDS};
use llmspell_hooks::{BreakerState, HookFilter, HookHandle, HookPoint, Hooks, LatencyBucket};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
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
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full(HOOK_LATENCY.to_owned()),
                &hook_latency_edges(),
            )
        })
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
        let mut seen = Seen::new();
        loop {
            tick.tick().await;
            sample(&hooks, &bus, &mut seen);
        }
    });
    Ok(MetricsServer { sampler })
}

/// The hook latency histogram's name.
const HOOK_LATENCY: &str = "llmspell_hook_latency_seconds";

/// The hook latency histogram's bucket edges (seconds): 2¹⁰ ns × 4ⁿ up to
/// 2³⁴ ns (~17 s). Powers of two are edges of the monitor's own buckets, so
/// every sample lands in the same exported bucket it would land in if it
/// had been recorded here directly.
fn hook_latency_edges() -> Vec<f64> {
    (10..=34)
        .step_by(2)
        .map(|exp: u32| {
            #[allow(clippy::cast_precision_loss)]
            let nanos = (1u64 << exp) as f64;
            nanos / 1e9
        })
        .collect()
}

/// Per hook, the bucket counts already handed to the recorder (by lower
/// edge in ns).
type Seen = HashMap<HookHandle, HashMap<u128, u64>>;

/// Hands the samples a hook's monitor took since the last tick to the
/// histogram: each new sample as its bucket's midpoint (inside both the
/// monitor's bucket and the exported one).
fn record_latency(
    seen: &mut HashMap<u128, u64>,
    buckets: &[LatencyBucket],
    histogram: &metrics::Histogram,
) {
    for b in buckets {
        let before = seen.insert(b.lower.as_nanos(), b.count).unwrap_or(0);
        let new = b.count.saturating_sub(before);
        if new == 0 {
            continue;
        }
        let lower = b.lower.as_secs_f64();
        let value = match b.upper {
            Some(upper) => (lower + upper.as_secs_f64()) / 2.0,
            None => lower * 1.5,
        };
        histogram.record_many(value, usize::try_from(new).unwrap_or(usize::MAX));
    }
}

fn sample(hooks: &Hooks, bus: &EventBus, seen: &mut Seen) {
    let listed = hooks.registry().list(&HookFilter::new());
    seen.retain(|handle, _| listed.iter().any(|h| h.handle() == handle));
    for h in listed {
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
        let (buckets, _) = h.latency_buckets();
        let histogram =
            metrics::histogram!(HOOK_LATENCY, "hook" => m.name.clone(), "point" => point.clone());
        record_latency(
            seen.entry(h.handle().clone()).or_default(),
            &buckets,
            &histogram,
        );
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
