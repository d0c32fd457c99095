//! Five no-op native hooks through `HookExecutor` against the same five
//! hooks called directly.
//!
//! Subject: `executor.execute(&BeforeToolExecution, &mut ctx).await` with
//! five `hook_fn` no-ops registered (snapshot, matcher/enabled checks,
//! breaker admission and recording, per-hook latency, monitor, panic
//! isolation). Baseline: the same five `Arc<dyn Hook>` awaited in a loop.
//! Both are timed in one `iter_custom`, alternating in chunks of 64.
//!
//! Budget: `ratio hooks/executor_5_noop = executor / direct <= 1.5`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use llmspell_hooks::{
    hook_fn, ComponentId, ComponentType, Hook, HookContext, HookExecutor, HookPoint, HookRegistry,
    HookResult, RegisterOptions,
};

/// Iterations per alternation of subject and baseline.
const CHUNK: u64 = 64;

const BUDGET: f64 = 1.5;

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let registry = Arc::new(HookRegistry::new());
    let point = HookPoint::BeforeToolExecution;
    let hooks: Vec<Arc<dyn Hook>> = (0..5)
        .map(|i| {
            Arc::new(hook_fn(format!("noop{i}"), |_| Ok(HookResult::Continue))) as Arc<dyn Hook>
        })
        .collect();
    for h in &hooks {
        registry
            .register_with(point.clone(), h.clone(), RegisterOptions::new())
            .expect("register");
    }
    let executor = HookExecutor::new(registry);
    let mut ctx = HookContext::new(
        point.clone(),
        ComponentId::new(ComponentType::Tool, "calculator"),
    );
    let tally = llmspell_benches::Tally::new();
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("hooks/executor_5_noop", |b| {
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
                        for h in black_box(&hooks) {
                            black_box((**h).execute(&mut ctx).await.ok());
                        }
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
        let n = tally.count().max(1) as f64;
        println!(
            "hooks/executor_5_noop: executor {:.1} ns, direct {:.1} ns per 5 hooks",
            tally.subject().as_nanos() as f64 / n,
            tally.baseline().as_nanos() as f64 / n
        );
        tally.report("hooks/executor_5_noop", BUDGET);
    }
}
