//! Registering one more hook at a point that already has 10,000 hooks,
//! against a point with 10.
//!
//! Each iteration times one `register_with` on each registry (interleaved
//! in one `iter_custom`) and then unregisters the new hook untimed, so the
//! sizes stay 10,000 and 10. All hooks are at the same point: the worst
//! case for per-point ordering.
//!
//! Budget: `ratio hooks/register_10k_vs_10 = time(10,000) / time(10) <=
//! 3.0` (not linear: 1,000x more hooks), a few µs each (printed).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use llmspell_hooks::{
    hook_fn, Hook, HookMetadata, HookPoint, HookRegistry, HookResult, Priority, RegisterOptions,
};

const BUDGET: f64 = 3.0;

fn hook(i: usize) -> Arc<dyn Hook> {
    let priority = Priority((i % 97) as i32 - 48);
    Arc::new(hook_fn(
        HookMetadata::new(format!("hook{i}")).with_priority(priority),
        |_| Ok(HookResult::Continue),
    ))
}

fn filled(n: usize) -> HookRegistry {
    let r = HookRegistry::new();
    for i in 0..n {
        r.register_with(
            HookPoint::BeforeToolExecution,
            hook(i),
            RegisterOptions::new(),
        )
        .expect("register");
    }
    r
}

fn time_one(r: &HookRegistry, i: usize) -> Duration {
    let h = hook(i);
    let t = Instant::now();
    let handle = r
        .register_with(
            black_box(HookPoint::BeforeToolExecution),
            h,
            RegisterOptions::new(),
        )
        .expect("register");
    let d = t.elapsed();
    r.unregister(&handle);
    d
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let big_n = if bench_mode { 10_000 } else { 100 };
    let big = filled(big_n);
    let small = filled(10);
    let tally = llmspell_benches::Tally::new();
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("hooks/register_10k_vs_10", |b| {
        b.iter_custom(|iters| {
            let (mut s, mut base) = (Duration::ZERO, Duration::ZERO);
            for i in 0..iters as usize {
                s += time_one(&big, i);
                base += time_one(&small, i);
            }
            tally.add_subject(s);
            tally.add_baseline(base);
            tally.add_count(iters);
            s
        });
    });
    c.final_summary();
    if bench_mode {
        let n = tally.count().max(1) as f64;
        println!(
            "hooks/register_10k_vs_10: {:.0} ns with 10,000, {:.0} ns with 10",
            tally.subject().as_nanos() as f64 / n,
            tally.baseline().as_nanos() as f64 / n
        );
        tally.report("hooks/register_10k_vs_10", BUDGET);
    }
}
