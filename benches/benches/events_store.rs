//! Persisted publishing to sled, two budgets.
//!
//! 1. `events/persisted_publish_vs_raw_sled`: a bus with an [`EventStore`]
//!    on sled (`Durability::Written`) publishing 10,000 events, against
//!    inserting the same serialized event bytes into a bare sled tree under
//!    the same sequence keys (no indexes, no bus). The store writes five
//!    keys per event (the record and its time, type, correlation and id
//!    index entries) and reads one (the id index, for de-duplication), so
//!    it does more than the baseline by design.
//! 2. `events/durable_publish_vs_raw_sled_flushed`: what `llmspell run`
//!    does: `Durability::Flushed` (every acknowledged event is on disk;
//!    concurrent publishes share one flush), with 8 concurrent publishers,
//!    against the same 8 publishers inserting the bytes into bare sled and
//!    flushing after each insert (durable, without group commit; the
//!    blocking `flush` on tokio's blocking pool, since sled 0.34's
//!    concurrent `flush_async` deadlocks).
//!
//! Each pair is timed interleaved inside one `iter_custom`; the info lines
//! print events/s, and for the durable case the flushes per event.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use llmspell_events::{Durability, EventBus, EventStore, UniversalEvent};
use llmspell_storage::{SledBackend, StorageBackend};
use tokio::runtime::Runtime;

const BUDGET: f64 = 4.0;
const DURABLE_BUDGET: f64 = 1.0;
/// Concurrent publishers in the durable pair.
const PUBLISHERS: usize = 8;

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

fn raw_key(seq: u64) -> Vec<u8> {
    let mut key = b"ev/s/".to_vec();
    key.extend_from_slice(&seq.to_be_bytes());
    key
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
        let bytes = serde_json::to_vec(&e).expect("json");
        db.insert(raw_key(e.sequence), bytes).expect("insert");
    }
    start.elapsed()
}

/// Splits `events` among the publishers, round robin.
fn deal(events: Vec<UniversalEvent>) -> Vec<Vec<UniversalEvent>> {
    let mut hands: Vec<Vec<UniversalEvent>> = (0..PUBLISHERS).map(|_| Vec::new()).collect();
    for (i, e) in events.into_iter().enumerate() {
        hands[i % PUBLISHERS].push(e);
    }
    hands
}

/// The bus with a flushed store, 8 publishers; returns the time and the
/// flushes made.
fn durable_bus_run(rt: &Runtime, events: Vec<UniversalEvent>) -> (Duration, u64) {
    rt.block_on(async move {
        let dir = tempfile::tempdir().expect("tempdir");
        let backend: Arc<dyn StorageBackend> =
            Arc::new(SledBackend::open(dir.path()).expect("sled"));
        let store = EventStore::open_with(backend, Durability::Flushed)
            .await
            .expect("store");
        let bus = EventBus::builder().store(store.clone()).build();
        let _sub = bus.subscribe("tool.*").expect("valid pattern");
        let start = Instant::now();
        let tasks: Vec<_> = deal(events)
            .into_iter()
            .map(|hand| {
                let bus = bus.clone();
                tokio::spawn(async move {
                    for e in hand {
                        bus.publish(e).await.expect("publish");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("publisher");
        }
        (start.elapsed(), store.group_flushes())
    })
}

/// Bare sled, 8 publishers, each insert followed by its own flush (on the
/// blocking pool).
fn durable_raw_run(rt: &Runtime, events: Vec<UniversalEvent>) -> Duration {
    rt.block_on(async move {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sled::open(dir.path()).expect("sled");
        let next = Arc::new(std::sync::atomic::AtomicU64::new(1));
        let start = Instant::now();
        let tasks: Vec<_> = deal(events)
            .into_iter()
            .map(|hand| {
                let (db, next) = (db.clone(), Arc::clone(&next));
                tokio::spawn(async move {
                    for mut e in hand {
                        e.sequence = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let bytes = serde_json::to_vec(&e).expect("json");
                        db.insert(raw_key(e.sequence), bytes).expect("insert");
                        let db = db.clone();
                        tokio::task::spawn_blocking(move || db.flush())
                            .await
                            .expect("flush task")
                            .expect("flush");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("publisher");
        }
        start.elapsed()
    })
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The CLI's runtime for the durable pair.
    let mt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if !std::env::args().any(|a| a == "--bench") {
        bus_run(&rt, events(100));
        raw_run(events(100));
        durable_bus_run(&mt, events(100));
        durable_raw_run(&mt, events(100));
        return;
    }
    const N: usize = 10_000;
    const DURABLE_N: usize = 2_000;
    let written = llmspell_benches::Tally::new();
    let durable = llmspell_benches::Tally::new();
    let flushes = std::cell::Cell::new(0u64);
    let mut c = Criterion::default().sample_size(10).configure_from_args();
    c.bench_function("events/persisted_publish_sled_10k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let s = bus_run(&rt, events(N));
                let t = raw_run(events(N));
                written.add_count(1);
                written.add_subject(s);
                written.add_baseline(t);
                total += s;
            }
            total
        });
    });
    c.bench_function("events/durable_publish_sled_2k_8_publishers", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (s, f) = durable_bus_run(&mt, events(DURABLE_N));
                let t = durable_raw_run(&mt, events(DURABLE_N));
                durable.add_count(1);
                durable.add_subject(s);
                durable.add_baseline(t);
                flushes.set(flushes.get() + f);
                total += s;
            }
            total
        });
    });
    c.final_summary();
    if written.count() > 0 {
        let moved = (written.count() * N as u64) as f64;
        println!(
            "info events/persisted_publish: bus+sled store {:.0} events/s, raw sled inserts {:.0} events/s",
            moved / written.subject().as_secs_f64(),
            moved / written.baseline().as_secs_f64(),
        );
    }
    written.report("events/persisted_publish_vs_raw_sled", BUDGET);
    if durable.count() > 0 {
        let moved = (durable.count() * DURABLE_N as u64) as f64;
        println!(
            "info events/durable_publish: bus+flushed store {:.0} events/s ({:.3} flushes per event), raw sled insert+flush {:.0} events/s ({PUBLISHERS} publishers)",
            moved / durable.subject().as_secs_f64(),
            flushes.get() as f64 / moved,
            moved / durable.baseline().as_secs_f64(),
        );
    }
    durable.report("events/durable_publish_vs_raw_sled_flushed", DURABLE_BUDGET);
}
