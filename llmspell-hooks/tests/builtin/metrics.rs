//! MetricsHook: counters and latency per point and component, through the
//! API and through the `metrics` facade.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use llmspell_hooks::builtin::{MetricsConfig, MetricsHook};
use llmspell_hooks::ManualClock;
use metrics::{
    Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use parking_lot::Mutex;
use serde_json::json;

use crate::{Call, Harness};

#[tokio::test]
async fn counts_per_point_and_component_and_measures_latency_on_the_clock() {
    let clock = ManualClock::new();
    let metrics = Arc::new(
        MetricsConfig::new()
            .clock(Arc::new(clock.clone()))
            .emit_to_facade(false)
            .build(),
    );
    let a = Harness::new("alpha");
    let b = Harness::new("beta");
    a.attach(metrics.clone());
    b.attach(metrics.clone());
    let c = clock.clone();
    a.call(json!({}), None, move |_| {
        c.advance(Duration::from_millis(3));
        Ok(json!(1))
    })
    .await;
    let c = clock.clone();
    a.call(json!({}), None, move |_| {
        c.advance(Duration::from_millis(300));
        Err("boom".into())
    })
    .await;
    b.call(json!({}), None, |_| Ok(json!(1))).await;

    let s = metrics.snapshot();
    assert_eq!(s.calls_by_point["BeforeToolExecution"], 3);
    assert_eq!(s.calls_by_point["AfterToolExecution"], 2);
    assert_eq!(s.calls_by_point["ToolError"], 1);
    assert_eq!(s.calls_by_component["tool:alpha"], 4);
    assert_eq!(s.calls_by_component["tool:beta"], 2);
    assert_eq!(s.errors_by_component["tool:alpha"], 1);
    let alpha = &s.latency_by_component["tool:alpha"];
    assert_eq!(alpha.count, 2);
    assert!((alpha.sum_seconds - 0.303).abs() < 1e-9, "{alpha:?}");
    assert!((alpha.max_seconds - 0.3).abs() < 1e-9);
    assert_eq!(alpha.quantile_upper_bound(0.5), Some(0.005));
    assert_eq!(alpha.quantile_upper_bound(1.0), Some(0.5));
    assert_eq!(s.latency_by_operation["ToolExecution"].count, 3);
    metrics.reset();
    assert!(metrics.snapshot().calls_by_point.is_empty());
}

/// A minimal `metrics` recorder keeping counter values and histogram samples
/// by rendered key (`name{label=value,...}`).
type Samples = Arc<Mutex<Vec<f64>>>;

#[derive(Default, Clone)]
struct TestRecorder {
    counters: Arc<Mutex<BTreeMap<String, Arc<AtomicU64>>>>,
    histograms: Arc<Mutex<BTreeMap<String, Samples>>>,
}

fn render(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

struct C(Arc<AtomicU64>);
impl CounterFn for C {
    fn increment(&self, v: u64) {
        self.0.fetch_add(v, Ordering::SeqCst);
    }
    fn absolute(&self, v: u64) {
        self.0.store(v, Ordering::SeqCst);
    }
}
struct H(Arc<Mutex<Vec<f64>>>);
impl HistogramFn for H {
    fn record(&self, v: f64) {
        self.0.lock().push(v);
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let cell = self.counters.lock().entry(render(key)).or_default().clone();
        Counter::from_arc(Arc::new(C(cell)))
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let cell = self
            .histograms
            .lock()
            .entry(render(key))
            .or_default()
            .clone();
        Histogram::from_arc(Arc::new(H(cell)))
    }
}

#[test]
fn emits_through_the_metrics_facade() {
    let rec = TestRecorder::default();
    let clock = ManualClock::new();
    let hook = Arc::new(MetricsConfig::new().clock(Arc::new(clock.clone())).build());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&rec, || {
        rt.block_on(async {
            let h = Harness::new("calc");
            h.attach(hook.clone());
            let c = clock.clone();
            let r = h
                .call(json!({}), None, move |_| {
                    c.advance(Duration::from_millis(20));
                    Ok(json!(1))
                })
                .await;
            assert!(matches!(r, Call::Ran(_)));
            h.call(json!({}), None, |_| Err("x".into())).await;
        });
    });
    let counters = rec.counters.lock();
    let get = |k: &str| counters.get(k).map(|c| c.load(Ordering::SeqCst));
    assert_eq!(
        get("llmspell_hook_calls_total{point=BeforeToolExecution,component=tool:calc}"),
        Some(2),
        "{counters:?}"
    );
    assert_eq!(
        get("llmspell_hook_calls_total{point=ToolError,component=tool:calc}"),
        Some(1)
    );
    assert_eq!(
        get("llmspell_operation_errors_total{point=ToolError,component=tool:calc}"),
        Some(1)
    );
    let hist = rec.histograms.lock();
    let samples = hist
        ["llmspell_operation_duration_seconds{operation=ToolExecution,component=tool:calc}"]
        .lock()
        .clone();
    assert_eq!(samples, [0.02, 0.0]);
    let _ = MetricsHook::new();
}

impl std::fmt::Debug for TestRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestRecorder")
    }
}
