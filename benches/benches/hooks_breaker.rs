//! Circuit breaker admission check while closed.
//!
//! Subject: `CircuitBreaker::try_acquire()` on a closed breaker. Baseline:
//! an `AtomicU8` acquire load (the least any shared-state check costs).
//! Timed interleaved in one `iter_custom`, 1,000 checks per timing.
//!
//! Budgets: `ratio hooks/breaker_admission_vs_atomic_load <= 3.0`, and
//! `ratio hooks/breaker_admission_vs_10ns = ns per check / 10 ns <= 1.0`
//! (under 10 ns).

use std::hint::black_box;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use criterion::Criterion;
use llmspell_hooks::{BreakerConfig, CircuitBreaker};

const BUDGET_VS_LOAD: f64 = 3.0;
const BUDGET_VS_10NS: f64 = 1.0;
const INNER: u64 = 1_000;

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let breaker = CircuitBreaker::new(BreakerConfig::default()).expect("config");
    let flag = AtomicU8::new(0);
    let tally = llmspell_benches::Tally::new();
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("hooks/breaker_admission_closed", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters * INNER {
                black_box(black_box(&breaker).try_acquire());
            }
            let s = t.elapsed();
            let t = Instant::now();
            for _ in 0..iters * INNER {
                black_box(black_box(&flag).load(Ordering::Acquire) == 0);
            }
            let base = t.elapsed();
            tally.add_subject(s);
            tally.add_baseline(base);
            tally.add_count(iters * INNER);
            s / INNER as u32
        });
    });
    c.final_summary();
    if bench_mode {
        let n = tally.count().max(1);
        // Compare totals: one check is below the nanosecond resolution of
        // `Duration`, so a per-check `Duration` would round to zero.
        #[allow(clippy::cast_precision_loss)]
        let ten_ns_each = Duration::from_secs_f64(n as f64 * 10e-9);
        println!(
            "hooks/breaker_admission_closed: {:.2} ns per check",
            tally.subject().as_nanos() as f64 / n as f64
        );
        tally.report("hooks/breaker_admission_vs_atomic_load", BUDGET_VS_LOAD);
        llmspell_benches::report_ratio(
            "hooks/breaker_admission_vs_10ns",
            tally.subject(),
            ten_ns_each,
            BUDGET_VS_10NS,
        );
    }
}
