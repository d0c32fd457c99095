//! [`MetricsHook`]: counters and latency histograms per point and component.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dashmap::DashMap;
use serde::{Deserialize, Serialize};

use super::timer::OperationTimer;
use super::{component_label, error_message, family, point_label};
use crate::{Clock, Hook, HookContext, HookMetadata, HookResult, Priority, Result, SystemClock};

/// Upper bounds (seconds) of the latency histogram buckets; a last,
/// unbounded bucket catches the rest.
pub const LATENCY_BUCKETS_SECONDS: [f64; 14] = [
    0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Name of the `metrics` counter of hook calls (labels `point`,
/// `component`).
const CALLS: &str = "llmspell_hook_calls_total";
/// Name of the `metrics` counter of failed operations seen at
/// After*/Error points (labels `point`, `component`).
const ERRORS: &str = "llmspell_operation_errors_total";
/// Name of the `metrics` histogram of operation latency in seconds (labels
/// `operation`, `component`).
const DURATION: &str = "llmspell_operation_duration_seconds";

/// A latency histogram with fixed buckets ([`LATENCY_BUCKETS_SECONDS`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LatencyHistogram {
    /// Observations per bucket; one more entry than there are bounds.
    pub buckets: Vec<u64>,
    /// Number of observations.
    pub count: u64,
    /// Sum of the observations, in seconds.
    pub sum_seconds: f64,
    /// Largest observation, in seconds.
    pub max_seconds: f64,
}

impl LatencyHistogram {
    /// The upper bound (seconds) of the bucket holding quantile `q` (0..=1),
    /// or `None` when empty. The last bucket reports the maximum seen.
    #[must_use]
    pub fn quantile_upper_bound(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(
                    LATENCY_BUCKETS_SECONDS
                        .get(i)
                        .copied()
                        .unwrap_or(self.max_seconds),
                );
            }
        }
        Some(self.max_seconds)
    }
}

/// Lock-free histogram cells.
#[derive(Debug)]
struct Cells {
    buckets: [AtomicU64; LATENCY_BUCKETS_SECONDS.len() + 1],
    count: AtomicU64,
    sum_nanos: AtomicU64,
    max_nanos: AtomicU64,
}

impl Cells {
    fn new() -> Self {
        Self {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
            max_nanos: AtomicU64::new(0),
        }
    }

    fn record(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = LATENCY_BUCKETS_SECONDS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BUCKETS_SECONDS.len());
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        // Relaxed: each cell is an independent statistic; a reader may see a
        // count without its sum for an instant, which snapshots tolerate.
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.max_nanos.fetch_max(nanos, Ordering::Relaxed);
    }

    fn snapshot(&self) -> LatencyHistogram {
        #[allow(clippy::cast_precision_loss)]
        let secs = |n: u64| n as f64 / 1e9;
        LatencyHistogram {
            buckets: self
                .buckets
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
            count: self.count.load(Ordering::Relaxed),
            sum_seconds: secs(self.sum_nanos.load(Ordering::Relaxed)),
            max_seconds: secs(self.max_nanos.load(Ordering::Relaxed)),
        }
    }
}

/// What a [`MetricsHook`] has counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Hook calls per point name.
    pub calls_by_point: BTreeMap<String, u64>,
    /// Hook calls per component (`type:name`).
    pub calls_by_component: BTreeMap<String, u64>,
    /// Failed operations (seen at After*/Error points) per component.
    pub errors_by_component: BTreeMap<String, u64>,
    /// Operation latency (Before* to After*/Error) per operation family
    /// (`ToolExecution`, `AgentExecution`, ...).
    pub latency_by_operation: BTreeMap<String, LatencyHistogram>,
    /// Operation latency per component.
    pub latency_by_component: BTreeMap<String, LatencyHistogram>,
}

/// Configuration of a [`MetricsHook`].
#[derive(Debug, Clone)]
#[must_use]
pub struct MetricsConfig {
    emit: bool,
    clock: Arc<dyn Clock>,
    max_in_flight: u64,
}

impl Default for MetricsConfig {
    /// Emitting through the `metrics` facade, the system clock, 100 000
    /// operations tracked in flight.
    fn default() -> Self {
        Self {
            emit: true,
            clock: Arc::new(SystemClock::new()),
            max_in_flight: 100_000,
        }
    }
}

impl MetricsConfig {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether counters and histograms also go to the `metrics` facade.
    pub fn emit_to_facade(mut self, yes: bool) -> Self {
        self.emit = yes;
        self
    }

    /// The clock operation latency is measured with.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How many operations may be in flight (started, not finished) before
    /// the oldest are forgotten.
    pub fn max_in_flight(mut self, n: u64) -> Self {
        self.max_in_flight = n;
        self
    }

    /// The hook.
    pub fn build(self) -> MetricsHook {
        MetricsHook {
            timer: OperationTimer::new(self.clock.clone(), self.max_in_flight),
            emit: self.emit,
            by_point: DashMap::new(),
            by_component: DashMap::new(),
            errors: DashMap::new(),
            latency_op: DashMap::new(),
            latency_component: DashMap::new(),
        }
    }
}

/// Counts hook calls per point and per component, and measures operation
/// latency from a Before* point to the matching After*/Error point (same
/// operation id, or correlation id when there is no operation, and same
/// component instance) — attach it at both.
///
/// Everything is readable through [`MetricsHook::snapshot`] and, unless
/// turned off, also emitted through the `metrics` facade so any installed
/// exporter serves it: counter `llmspell_hook_calls_total{point,component}`,
/// counter `llmspell_operation_errors_total{point,component}` and histogram
/// `llmspell_operation_duration_seconds{operation,component}`. Always
/// returns `Continue`.
#[derive(Debug)]
pub struct MetricsHook {
    timer: OperationTimer,
    emit: bool,
    by_point: DashMap<String, AtomicU64>,
    by_component: DashMap<String, AtomicU64>,
    errors: DashMap<String, AtomicU64>,
    latency_op: DashMap<&'static str, Arc<Cells>>,
    latency_component: DashMap<String, Arc<Cells>>,
}

impl Default for MetricsHook {
    fn default() -> Self {
        MetricsConfig::default().build()
    }
}

fn bump(map: &DashMap<String, AtomicU64>, key: &str) {
    if let Some(c) = map.get(key) {
        c.fetch_add(1, Ordering::Relaxed);
        return;
    }
    map.entry(key.to_owned())
        .or_insert_with(|| AtomicU64::new(0))
        .fetch_add(1, Ordering::Relaxed);
}

fn cells<K>(map: &DashMap<K, Arc<Cells>>, key: K) -> Arc<Cells>
where
    K: std::hash::Hash + Eq,
{
    if let Some(c) = map.get(&key) {
        return c.clone();
    }
    map.entry(key)
        .or_insert_with(|| Arc::new(Cells::new()))
        .clone()
}

fn counts(map: &DashMap<String, AtomicU64>) -> BTreeMap<String, u64> {
    map.iter()
        .map(|e| (e.key().clone(), e.value().load(Ordering::Relaxed)))
        .collect()
}

impl MetricsHook {
    /// A metrics hook with the default configuration.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything counted so far.
    #[must_use]
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            calls_by_point: counts(&self.by_point),
            calls_by_component: counts(&self.by_component),
            errors_by_component: counts(&self.errors),
            latency_by_operation: self
                .latency_op
                .iter()
                .map(|e| ((*e.key()).to_owned(), e.value().snapshot()))
                .collect(),
            latency_by_component: self
                .latency_component
                .iter()
                .map(|e| (e.key().clone(), e.value().snapshot()))
                .collect(),
        }
    }

    /// Forgets everything counted (the facade's values are the
    /// exporter's business).
    pub fn reset(&self) {
        self.by_point.clear();
        self.by_component.clear();
        self.errors.clear();
        self.latency_op.clear();
        self.latency_component.clear();
    }
}

impl MetricsHook {
    /// The hook's work: it never waits, so it runs without a future
    /// ([`Hook::execute_now`]).
    fn run_now(&self, ctx: &mut HookContext) -> Result<HookResult> {
        let point = point_label(&ctx.point);
        let component = component_label(ctx);
        bump(&self.by_point, &point);
        bump(&self.by_component, &component);
        let failed = error_message(ctx).is_some();
        if failed {
            bump(&self.errors, &component);
        }
        let elapsed = self.timer.observe(ctx);
        if let Some(d) = elapsed {
            cells(&self.latency_op, family(&ctx.point)).record(d);
            cells(&self.latency_component, component.clone()).record(d);
        }
        if self.emit {
            let labels = [("point", point), ("component", component)];
            metrics::counter!(CALLS, &labels).increment(1);
            if failed {
                metrics::counter!(ERRORS, &labels).increment(1);
            }
            if let Some(d) = elapsed {
                let [_, (_, component)] = labels;
                metrics::histogram!(
                    DURATION,
                    "operation" => family(&ctx.point),
                    "component" => component
                )
                .record(d.as_secs_f64());
            }
        }
        Ok(HookResult::Continue)
    }
}

#[async_trait]
impl Hook for MetricsHook {
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
        self.run_now(ctx)
    }

    fn execute_now(&self, ctx: &mut HookContext) -> Option<Result<HookResult>> {
        Some(self.run_now(ctx))
    }

    fn metadata(&self) -> HookMetadata {
        HookMetadata::new("builtin.metrics")
            .with_priority(Priority::HIGHEST)
            .with_tag("builtin")
            .with_tag("observability")
            .with_description("counts calls and measures operation latency")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_and_quantiles() {
        let c = Cells::new();
        for ms in [1, 2, 3, 40, 2000] {
            c.record(Duration::from_millis(ms));
        }
        let h = c.snapshot();
        assert_eq!(h.count, 5);
        assert_eq!(h.buckets.iter().sum::<u64>(), 5);
        assert_eq!(h.quantile_upper_bound(0.2), Some(0.001));
        assert_eq!(h.quantile_upper_bound(0.6), Some(0.005));
        assert_eq!(h.quantile_upper_bound(1.0), Some(2.5));
        assert!((h.sum_seconds - 2.046).abs() < 1e-9);
    }
}
