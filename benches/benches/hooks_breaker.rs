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
//! Budget: `ratio hooks/breaker_guard_overhead_vs_25ns = (guarded - direct)
//! per call / 25 ns <= 1.0`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use futures::FutureExt;
use llmspell_hooks::{BreakerConfig, CircuitBreaker, LatencySampler, DEFAULT_LATENCY_SAMPLING};

const BUDGET: f64 = 1.0;
const INNER: u64 = 1_000;

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let breaker = CircuitBreaker::new(BreakerConfig::default()).expect("config");
    let sampler = LatencySampler::new();
    let tally = llmspell_benches::Tally::new();
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
            tally.add_subject(s);
            tally.add_baseline(base);
            tally.add_count(iters * INNER);
            s / INNER as u32
        });
    });
    c.final_summary();
    if bench_mode && tally.count() > 0 {
        let n = tally.count();
        // Compare totals: one call is near the nanosecond resolution of
        // `Duration`, so a per-call `Duration` would round.
        #[allow(clippy::cast_precision_loss)]
        let budget_total = Duration::from_secs_f64(n as f64 * 25e-9);
        let overhead = tally.subject().saturating_sub(tally.baseline());
        println!(
            "hooks/breaker_guarded_call: {:.2} ns guarded, {:.2} ns direct",
            tally.ns_per(tally.subject()),
            tally.ns_per(tally.baseline())
        );
        llmspell_benches::report_ratio(
            "hooks/breaker_guard_overhead_vs_25ns",
            overhead,
            budget_total,
            BUDGET,
        );
    }
}
