//! Calculator calls through the hooked tool path (`ToolRuntime::invoke`)
//! against calling the tool directly (`Tool::execute`).
//!
//! Each measured iteration is 10,000 calls of
//! `{"expression": "2 + 2"}` per side, interleaved in blocks of 1,000
//! (subject, then baseline) inside one `iter_custom`, so both see the same
//! machine noise. Same parameters (a cloned `Value`) on both sides.
//!
//! - `tools/hooked_no_hooks`: no hook registered anywhere, no event bus.
//!   The path does one tool-table lookup, six "any hooks here?" checks,
//!   schema validation, breaker admission and recording, sampled timing,
//!   panic isolation and the lazy timeout. Budget (from the issue):
//!   `hooked / direct <= 1.02`. Not met: measured 1.21-1.28. Validation
//!   alone costs 5-9 % of the ~0.6 us calculator call in this loop (the
//!   validated raw call printed beside it shows how much), more than the
//!   2 % the budget allows; `docs/technical/tools.md` has the breakdown.
//! - `tools/hooked_noop_hooks`: one no-op `hook_fn` on each of the six tool
//!   points (five fire on a successful call; each builds a hook context with
//!   the fixed data keys and goes through the executor's breaker, timing
//!   and panic isolation). Budget: `hooked / direct <= 5.0` (measured 3.3-4.3).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use llmspell_hooks::{hook_fn, HookExecutor, HookPoint, HookRegistry, HookResult};
use llmspell_tools::{RegisteredTool, Tool, ToolContext, ToolRegistry, ToolRuntime, ToolsConfig};
use serde_json::json;

const BUDGET_NO_HOOKS: f64 = 1.02;
const BUDGET_NOOP_HOOKS: f64 = 5.0;
const BLOCK: u64 = 1_000;

fn runtime(with_hooks: bool) -> (ToolRuntime, Arc<dyn Tool>, RegisteredTool) {
    let tools = Arc::new(
        ToolRegistry::with_standard_tools(&ToolsConfig::default()).expect("standard tools"),
    );
    let hooks = Arc::new(HookRegistry::new());
    if with_hooks {
        for point in [
            HookPoint::BeforeToolDiscovery,
            HookPoint::AfterToolDiscovery,
            HookPoint::ToolValidation,
            HookPoint::BeforeToolExecution,
            HookPoint::AfterToolExecution,
            HookPoint::ToolError,
        ] {
            hooks
                .register(point, hook_fn("noop", |_| Ok(HookResult::Continue)))
                .expect("register");
        }
    }
    let registered = tools.get("calculator").expect("calculator");
    let direct = registered.tool().clone();
    let executor = Arc::new(HookExecutor::new(hooks));
    (ToolRuntime::new(tools, executor), direct, registered)
}

fn bench(
    c: &mut Criterion,
    name: &str,
    with_hooks: bool,
    calls_per_iter: u64,
    budget: f64,
    report: bool,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (runtime, direct, registered) = runtime(with_hooks);
    // Informational third side: the validated raw call (schema check +
    // execute), which separates the cost of validation from the rest.
    let validated = std::cell::Cell::new(Duration::ZERO);
    let params = json!({"expression": "2 + 2"});
    let ctx = ToolContext::new();
    let tally = llmspell_benches::Tally::new();
    let mut group = c.benchmark_group("tools");
    group.sample_size(10);
    group.bench_function(name.trim_start_matches("tools/"), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let (mut s, mut base) = (Duration::ZERO, Duration::ZERO);
                for _ in 0..iters {
                    let mut done = 0;
                    while done < calls_per_iter {
                        let n = BLOCK.min(calls_per_iter - done);
                        let t = Instant::now();
                        for _ in 0..n {
                            let out = runtime.invoke("calculator", params.clone()).await;
                            black_box(out.expect("hooked call"));
                        }
                        s += t.elapsed();
                        let t = Instant::now();
                        for _ in 0..n {
                            let out = direct.execute(params.clone(), &ctx).await;
                            black_box(out.expect("direct call"));
                        }
                        base += t.elapsed();
                        let t = Instant::now();
                        for _ in 0..n {
                            let out = registered.call(params.clone(), &ctx).await;
                            black_box(out.expect("validated call"));
                        }
                        validated.set(validated.get() + t.elapsed());
                        done += n;
                    }
                }
                tally.add_subject(s);
                tally.add_baseline(base);
                tally.add_count(iters * calls_per_iter);
                s
            })
        });
    });
    group.finish();
    if report && tally.count() > 0 {
        #[allow(clippy::cast_precision_loss)]
        let n = tally.count().max(1) as f64;
        println!(
            "{name}: hooked {:.1} ns, direct {:.1} ns, validated raw call {:.1} ns per call",
            tally.subject().as_nanos() as f64 / n,
            tally.baseline().as_nanos() as f64 / n,
            validated.get().as_nanos() as f64 / n
        );
        tally.report(name, budget);
    }
}

fn main() {
    // `cargo test --benches` runs this without `--bench`: a tiny smoke run.
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let calls_per_iter = if bench_mode { 10_000 } else { 10 };
    let mut c = Criterion::default().configure_from_args();
    bench(
        &mut c,
        "tools/hooked_no_hooks",
        false,
        calls_per_iter,
        BUDGET_NO_HOOKS,
        bench_mode,
    );
    bench(
        &mut c,
        "tools/hooked_noop_hooks",
        true,
        calls_per_iter,
        BUDGET_NOOP_HOOKS,
        bench_mode,
    );
    c.final_summary();
}
