//! Dispatch to a point with no hooks registered.
//!
//! Subject: `HookExecutor::execute(&BeforeToolExecution, &mut ctx).await`
//! on a registry whose hooks are all at other points. Baseline: awaiting an
//! empty `#[inline(never)]` async fn taking the same arguments. Both loops
//! run in one `iter_custom`, alternating in chunks of 64, on a
//! current-thread runtime.
//!
//! Budget: `ratio hooks/dispatch_empty_point = executor / empty async fn
//! <= 3.0` (a few ns; the absolute time per dispatch is printed too).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use llmspell_hooks::{
    hook_fn, ComponentId, ComponentType, HookContext, HookExecutor, HookOutcome, HookPoint,
    HookRegistry, HookResult,
};

/// Iterations per alternation of subject and baseline.
const CHUNK: u64 = 64;

const BUDGET: f64 = 3.0;

#[inline(never)]
async fn empty(_point: &HookPoint, _ctx: &mut HookContext) -> HookOutcome {
    HookOutcome::Continue
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let registry = Arc::new(HookRegistry::new());
    // Hooks elsewhere, so the registry is not trivially empty.
    for point in [HookPoint::AfterToolExecution, HookPoint::BeforeAgentInit] {
        registry
            .register(point, hook_fn("noop", |_| Ok(HookResult::Continue)))
            .expect("register");
    }
    let executor = HookExecutor::new(registry);
    let point = HookPoint::BeforeToolExecution;
    let mut ctx = HookContext::new(
        point.clone(),
        ComponentId::new(ComponentType::Tool, "calculator"),
    );
    let tally = llmspell_benches::Tally::new();
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("hooks/dispatch_empty_point", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                // Alternate short chunks of subject and baseline so that
                // load from other processes hits both alike.
                let (mut s, mut base) = (Duration::ZERO, Duration::ZERO);
                let mut left = iters;
                while left > 0 {
                    let n = left.min(CHUNK);
                    left -= n;
                    let t = Instant::now();
                    for _ in 0..n {
                        let _ = black_box(executor.execute(black_box(&point), &mut ctx).await);
                    }
                    s += t.elapsed();
                    let t = Instant::now();
                    for _ in 0..n {
                        let _ = black_box(empty(black_box(&point), &mut ctx).await);
                    }
                    base += t.elapsed();
                }
                tally.add_subject(s);
                tally.add_baseline(base);
                tally.add_count(iters);
                s
            })
        });
    });
    c.final_summary();
    if bench_mode {
        let per_call = tally.subject().as_nanos() as f64 / tally.count().max(1) as f64;
        println!("hooks/dispatch_empty_point: {per_call:.2} ns per dispatch");
        tally.report("hooks/dispatch_empty_point", BUDGET);
    }
}
