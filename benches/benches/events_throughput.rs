//! One publisher, one matching subscriber, 100,000 events: the bus against
//! a bare `tokio::sync::broadcast` channel moving the same events.
//!
//! Both sides run on the same two-worker runtime, with the receiver on its
//! own task, the events built beforehand (outside the timing) and wrapped
//! in an `Arc` on the way in; both are lossless (queues hold all events).
//! Subject and baseline are timed interleaved inside one `iter_custom`.
//!
//! Budget: `ratio events/throughput_1to1 = bus_time / broadcast_time <= 2.0`
//! (the bus moves at least half as many events per second).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use llmspell_events::{EventBus, OverflowStrategy, SubscriptionConfig, UniversalEvent};
use tokio::runtime::Runtime;

const BUDGET: f64 = 2.0;

fn events(n: usize) -> Vec<UniversalEvent> {
    (0..n)
        .map(|i| {
            UniversalEvent::builder("tool.execution.progress")
                .data(serde_json::json!({"tool": "calculator", "step": i}))
                .build()
        })
        .collect()
}

fn bus_run(rt: &Runtime, events: Vec<UniversalEvent>) -> Duration {
    let n = events.len();
    rt.block_on(async move {
        let bus = EventBus::new();
        let mut sub = bus
            .subscribe_with(
                "tool.execution.*",
                SubscriptionConfig::new()
                    .capacity(n.max(1))
                    .overflow(OverflowStrategy::DropNewest),
            )
            .expect("valid pattern");
        let start = Instant::now();
        let receiver = tokio::spawn(async move {
            let mut got = 0;
            while got < n {
                if sub.recv().await.is_none() {
                    break;
                }
                got += 1;
            }
            got
        });
        for e in events {
            bus.publish(e).await.expect("publish");
        }
        let got = receiver.await.expect("receiver");
        let elapsed = start.elapsed();
        assert_eq!(got, n, "the bus lost events");
        elapsed
    })
}

fn broadcast_run(rt: &Runtime, events: Vec<UniversalEvent>) -> Duration {
    let n = events.len();
    rt.block_on(async move {
        let (tx, mut rx) = tokio::sync::broadcast::channel::<Arc<UniversalEvent>>(n.max(1));
        let start = Instant::now();
        let receiver = tokio::spawn(async move {
            let mut got = 0;
            while got < n {
                if rx.recv().await.is_err() {
                    break;
                }
                got += 1;
            }
            got
        });
        for e in events {
            tx.send(Arc::new(e)).expect("a receiver exists");
        }
        let got = receiver.await.expect("receiver");
        let elapsed = start.elapsed();
        assert_eq!(got, n, "broadcast lost events");
        elapsed
    })
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // `cargo test --benches` runs this without `--bench`: a quick check only.
    if !std::env::args().any(|a| a == "--bench") {
        bus_run(&rt, events(1_000));
        broadcast_run(&rt, events(1_000));
        return;
    }
    const N: usize = 100_000;
    let tally = llmspell_benches::Tally::new();
    let mut c = Criterion::default().sample_size(10).configure_from_args();
    c.bench_function("events/throughput_1to1_100k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let s = bus_run(&rt, events(N));
                let t = broadcast_run(&rt, events(N));
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
        "info events/throughput_1to1: bus {:.0} events/s, broadcast {:.0} events/s",
        moved / tally.subject().as_secs_f64(),
        moved / tally.baseline().as_secs_f64(),
    );
    tally.report("events/throughput_1to1", BUDGET);
}
