//! The hooked-operation API around an empty async operation, against
//! calling the operation directly.
//!
//! Subject: `hooks.operation(component).points(before, after, error)
//! .input(..).run(op).await` with no hook, with one no-op hook at each of
//! the three points, and with five. Baseline: `op(call).await` — the same
//! empty async function called directly. Both are timed in one
//! `iter_custom`, alternating in chunks of 64. The baseline is a few ns, so
//! the ratios are large; the absolute cost per operation is printed too.
//!
//! The baseline includes building the operation's input (`Call::new`, a
//! small allocation), as the caller of a real operation pays it too.
//!
//! Budgets (from measurements on the shared 2-core machine, loaded and
//! idle, where the ratios ranged 9-18, 29-64 and 19-24; see
//! `docs/technical/hooks.md`):
//! - `ratio hooks/operation_no_hooks <= 25` (the builder, the correlation
//!   id, three "any hook here?" checks);
//! - `ratio hooks/operation_1_noop <= 80` (one context for the three
//!   points, three dispatches);
//! - `ratio hooks/operation_5_noop <= 100`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use llmspell_hooks::{hook_fn, Call, ComponentId, ComponentType, HookPoint, HookResult, Hooks};
use serde_json::{json, Value};

/// Iterations per alternation of subject and baseline.
const CHUNK: u64 = 64;

const POINTS: [HookPoint; 3] = [
    HookPoint::BeforeAgentExecution,
    HookPoint::AfterAgentExecution,
    HookPoint::AgentError,
];

async fn op(call: Call) -> Result<Value, std::convert::Infallible> {
    Ok(black_box(call.input))
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut c = Criterion::default().configure_from_args();
    let mut lines = Vec::new();
    for (hooks_per_point, name, budget) in [
        (0, "hooks/operation_no_hooks", 25.0),
        (1, "hooks/operation_1_noop", 80.0),
        (5, "hooks/operation_5_noop", 100.0),
    ] {
        let hooks = Hooks::new();
        for point in POINTS {
            for i in 0..hooks_per_point {
                hooks
                    .register(
                        point.clone(),
                        hook_fn(format!("noop{i}"), |_| Ok(HookResult::Continue)),
                    )
                    .expect("register");
            }
        }
        let tally = llmspell_benches::Tally::new();
        c.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let (mut s, mut base) = (Duration::ZERO, Duration::ZERO);
                    let mut left = iters;
                    while left > 0 {
                        let n = left.min(CHUNK);
                        left -= n;
                        let t = Instant::now();
                        for _ in 0..n {
                            let done = hooks
                                .operation(ComponentId::new(ComponentType::Agent, "writer"))
                                .points(POINTS[0].clone(), POINTS[1].clone(), POINTS[2].clone())
                                .input("input", json!(1))
                                .run(op)
                                .await;
                            let _ = black_box(done);
                        }
                        s += t.elapsed();
                        let t = Instant::now();
                        for _ in 0..n {
                            let call = Call::new("writer", json!(1));
                            let _ = black_box(op(black_box(call)).await);
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
        lines.push((name, budget, tally));
    }
    c.final_summary();
    if bench_mode {
        for (name, budget, tally) in &lines {
            if tally.count() == 0 {
                continue;
            }
            println!(
                "{name}: {:.1} ns per operation, {:.1} ns direct",
                tally.ns_per(tally.subject()),
                tally.ns_per(tally.baseline())
            );
            tally.report(name, *budget);
        }
    }
}
