//! A call guarded by a closed circuit breaker, against the same call made
//! directly.
//!
//! Subject: `breaker.guard().sample(&sampler, 64).run(ready(Ok(x)), ..)`
//! on a closed breaker: admission (one atomic load), the start timestamp
//! (one TSC read, the deadline's base), the poll-once fast path, a sampled
//! end timestamp and the success recorded. Baseline: the same ready future
//! awaited directly. Both polled with `now_or_never`, timed interleaved in
//! one `iter_custom`, 1,000 calls per timing.
//!
//! (Admission alone — `try_acquire` — is internal since components call
//! through `CircuitBreaker::guard`; this measures what they actually pay.)
//!
//! The unit: the guard's overhead is a few nanoseconds, so it is compared
//! with something of the same order measured in the same run on the same
//! (possibly loaded) machine — one `Instant::now()` read, timed in a third
//! interleaved loop — rather than with an absolute time.
//!
//! Budget: `ratio hooks/breaker_guard_overhead_vs_clock_read = (guarded -
//! direct) per call / one Instant::now() <= 2.0` (the guard reads a clock at
//! most twice, one of them sampled 1 in 64).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use futures::FutureExt;
use llmspell_hooks::{BreakerConfig, CircuitBreaker, LatencySampler, DEFAULT_LATENCY_SAMPLING};

const BUDGET: f64 = 2.0;
const INNER: u64 = 1_000;

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let breaker = CircuitBreaker::new(BreakerConfig::default()).expect("config");
    let sampler = LatencySampler::new();
    let tally = llmspell_benches::Tally::new();
    let clock = std::cell::Cell::new(Duration::ZERO);
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("hooks/breaker_guarded_call", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for i in 0..iters * INNER {
                let r = black_box(&breaker)
                    .guard()
                    .sample(&sampler, DEFAULT_LATENCY_SAMPLING)
                    .run(std::future::ready(Ok::<_, ()>(black_box(i))), |_| true)
                    .now_or_never();
                black_box(r);
            }
            let s = t.elapsed();
            let t = Instant::now();
            for i in 0..iters * INNER {
                let r = std::future::ready(Ok::<_, ()>(black_box(i))).now_or_never();
                black_box(r);
            }
            let base = t.elapsed();
            let t = Instant::now();
            for _ in 0..iters * INNER {
                black_box(Instant::now());
            }
            clock.set(clock.get() + t.elapsed());
            tally.add_subject(s);
            tally.add_baseline(base);
            tally.add_count(iters * INNER);
            s / INNER as u32
        });
    });
    c.final_summary();
    if bench_mode && tally.count() > 0 {
        // Compare totals: one call is near the nanosecond resolution of
        // `Duration`, so a per-call `Duration` would round.
        let overhead = tally.subject().saturating_sub(tally.baseline());
        println!(
            "hooks/breaker_guarded_call: {:.2} ns guarded, {:.2} ns direct, {:.2} ns per clock read",
            tally.ns_per(tally.subject()),
            tally.ns_per(tally.baseline()),
            tally.ns_per(clock.get())
        );
        llmspell_benches::report_ratio(
            "hooks/breaker_guard_overhead_vs_clock_read",
            overhead,
            clock.get(),
            BUDGET,
        );
    }
}
