//! Publish cost as non-matching subscriptions grow: 10,000 non-matching
//! exact and prefix subscriptions against 10, each bus also having one
//! matching subscriber.
//!
//! The non-matching patterns share the published type's first segment
//! (`tool.x123.done`, `tool.y123.*`), so routing walks past them rather
//! than skipping them at the root. Subject and baseline publish the same
//! 10,000 events with `try_publish`, timed interleaved in one `iter_custom`.
//!
//! Budget: `ratio events/publish_10k_vs_10_subs = time_10k / time_10 <= 2.0`.

use std::time::{Duration, Instant};

use criterion::Criterion;
use llmspell_events::{
    EventBus, OverflowStrategy, Subscription, SubscriptionConfig, UniversalEvent,
};

const BUDGET: f64 = 2.0;

struct Setup {
    bus: EventBus,
    _subs: Vec<Subscription>,
}

fn setup(non_matching: usize) -> Setup {
    let bus = EventBus::new();
    let mut subs = Vec::with_capacity(non_matching + 1);
    for i in 0..non_matching {
        let pattern = if i % 2 == 0 {
            format!("tool.x{i}.done")
        } else {
            format!("tool.y{i}.*")
        };
        subs.push(bus.subscribe(&pattern).expect("valid pattern"));
    }
    subs.push(
        bus.subscribe_with(
            "tool.execution.*",
            SubscriptionConfig::new()
                .capacity(1_024)
                .overflow(OverflowStrategy::DropOldest),
        )
        .expect("valid pattern"),
    );
    Setup { bus, _subs: subs }
}

fn events(n: usize) -> Vec<UniversalEvent> {
    (0..n)
        .map(|i| UniversalEvent::new("tool.execution.progress", serde_json::json!(i)))
        .collect()
}

fn publish_all(setup: &Setup, events: Vec<UniversalEvent>) -> Duration {
    let start = Instant::now();
    for e in events {
        let report = setup.bus.try_publish(e).expect("publish");
        debug_assert_eq!(report.matched, 1);
    }
    start.elapsed()
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        let big = setup(100);
        let small = setup(10);
        publish_all(&big, events(100));
        publish_all(&small, events(100));
        return;
    }
    const N: usize = 10_000;
    let big = setup(10_000);
    let small = setup(10);
    let tally = llmspell_benches::Tally::new();
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("events/publish_10k_nonmatching_subs", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let s = publish_all(&big, events(N));
                let t = publish_all(&small, events(N));
                tally.add_subject(s);
                tally.add_baseline(t);
                total += s;
            }
            total
        });
    });
    c.final_summary();
    tally.report("events/publish_10k_vs_10_subs", BUDGET);
}
