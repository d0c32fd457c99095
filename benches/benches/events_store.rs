//! Persisted publishing to sled: a bus with an [`EventStore`] on sled
//! (`Durability::Written`) publishing 10,000 events, against inserting the
//! same serialized event bytes into a bare sled tree under the same
//! sequence keys (no indexes, no bus).
//!
//! The store writes four keys per event in one atomic batch (the event and
//! its time, type and correlation index entries), so it does more than the
//! baseline by design. Timed interleaved inside one `iter_custom`; prints
//! the bus's persisted events/s.
//!
//! Budget: `ratio events/persisted_publish_vs_raw_sled = bus_time / raw_time <= 4.0`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use llmspell_events::{EventBus, EventStore, UniversalEvent};
use llmspell_storage::{SledBackend, StorageBackend};
use tokio::runtime::Runtime;

const BUDGET: f64 = 4.0;

fn events(n: usize) -> Vec<UniversalEvent> {
    let correlation = uuid::Uuid::new_v4();
    (0..n)
        .map(|i| {
            UniversalEvent::builder("tool.execution.progress")
                .data(serde_json::json!({"tool": "calculator", "step": i}))
                .correlation_id(correlation)
                .build()
        })
        .collect()
}

fn bus_run(rt: &Runtime, events: Vec<UniversalEvent>) -> Duration {
    rt.block_on(async move {
        let dir = tempfile::tempdir().expect("tempdir");
        let backend: Arc<dyn StorageBackend> =
            Arc::new(SledBackend::open(dir.path()).expect("sled"));
        let store = EventStore::open(backend).await.expect("store");
        let bus = EventBus::builder().store(store).build();
        let _sub = bus.subscribe("tool.*").expect("valid pattern");
        let start = Instant::now();
        for e in events {
            bus.publish(e).await.expect("publish");
        }
        start.elapsed()
    })
}

fn raw_run(events: Vec<UniversalEvent>) -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sled::open(dir.path()).expect("sled");
    let start = Instant::now();
    for (i, mut e) in events.into_iter().enumerate() {
        e.sequence = i as u64 + 1;
        let mut key = b"ev/s/".to_vec();
        key.extend_from_slice(&e.sequence.to_be_bytes());
        let bytes = serde_json::to_vec(&e).expect("json");
        db.insert(key, bytes).expect("insert");
    }
    start.elapsed()
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if !std::env::args().any(|a| a == "--bench") {
        bus_run(&rt, events(100));
        raw_run(events(100));
        return;
    }
    const N: usize = 10_000;
    let tally = llmspell_benches::Tally::new();
    let mut c = Criterion::default().sample_size(10).configure_from_args();
    c.bench_function("events/persisted_publish_sled_10k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let s = bus_run(&rt, events(N));
                let t = raw_run(events(N));
                tally.add_count(1);
                tally.add_subject(s);
                tally.add_baseline(t);
                total += s;
            }
            total
        });
    });
    c.final_summary();
    let moved = (tally.count() * N as u64) as f64;
    println!(
        "info events/persisted_publish: bus+sled store {:.0} events/s, raw sled inserts {:.0} events/s",
        moved / tally.subject().as_secs_f64(),
        moved / tally.baseline().as_secs_f64(),
    );
    tally.report("events/persisted_publish_vs_raw_sled", BUDGET);
}
