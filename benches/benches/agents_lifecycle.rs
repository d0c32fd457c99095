//! Agent lifecycles — create, 3 executions, terminate — with no-op hooks
//! on every agent point against the same lifecycles with no hooks.
//!
//! Each measured iteration is 1,000 lifecycles per side, interleaved in
//! blocks of 50 inside one `iter_custom`, so both see the same machine
//! noise; the side that goes first alternates from block to block, and one
//! lifecycle per side runs before anything is timed (one-time set-up:
//! the shared HTTP client, its connection). A lifecycle builds an
//! `LlmAgent` (init points), runs `invoke` three times (a task per
//! execution, the hooked operation, state transitions) and terminates it
//! (shutdown points).
//!
//! - `agents/lifecycle_noop_hooks`: an in-process provider that answers at
//!   once, so the agent machinery is all there is to measure; one no-op
//!   `hook_fn` on each of the 7 agent points (10 dispatches per lifecycle:
//!   2 at creation, 2 per execution, 2 at shutdown). Budget (from the issue):
//!   `hooked / unhooked <= 2.0`.
//! - `agents/http_noop_hooks`: the same against an OpenAI-compatible
//!   server on 127.0.0.1 (the testing module's axum server, on a runtime
//!   of its own; the lifecycles run on a current-thread runtime): the
//!   seed's "< 1 % overhead where a real provider call is involved".
//!   Budget: `hooked / unhooked <= 1.01`.
//!
//! Last runs (session 10, `cargo bench -p llmspell-benches --bench
//! agents_lifecycle -- --quick --noplot`): in-process 1.20-1.26 (met);
//! HTTP 1.03-1.10 with other builds keeping the 2 cores busy (about 94
//! us hooked vs 88 us unhooked per lifecycle) and 1.00-1.09 on an
//! otherwise idle machine (about 350 vs 340 us); not met. The ten no-op
//! dispatches cost the same instructions on both lines (35k on loopback,
//! 38k in-process, callgrind; nearly all of it the hooks crate's
//! per-point work) and make no extra system call or await; on loopback
//! that code, like the agent's own, runs 1.4-2.9 times slower per
//! instruction because it runs right after the thread waited for the
//! server. With no hooks on either side (A/A) the ratio of sums read
//! 0.95-1.02, the median of the per-block-pair ratios 0.99-1.01; the
//! hooked line's median pair ratio was 1.04-1.07. Session 12, idle
//! machine: in-process 1.25, HTTP 1.03 (367 against 356 us). See
//! `docs/technical/agents.md`, "Performance".

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use criterion::Criterion;
use llmspell_agents::testing::{openai_text, LlmServer, Reply};
use llmspell_agents::{
    Agent, AgentConfig, AgentInput, ChatRequest, Completion, CompletionStream, LlmAgent,
    LlmProvider, ProviderFactory, StreamEvent, Usage,
};
use llmspell_hooks::{hook_fn, HookResult, Hooks};

const BUDGET_IN_PROCESS: f64 = 2.0;
const BUDGET_HTTP: f64 = 1.01;
const BLOCK: u64 = 50;

/// Answers every request at once.
#[derive(Debug)]
struct Instantaneous;

#[async_trait]
impl LlmProvider for Instantaneous {
    fn name(&self) -> &str {
        "bench"
    }

    fn model(&self) -> &str {
        "instant"
    }

    async fn complete(&self, _request: &ChatRequest) -> llmspell_agents::Result<Completion> {
        Ok(Completion {
            text: "ok".into(),
            usage: Usage::new(3, 1),
            model: "instant".into(),
            finish_reason: "stop".into(),
            ..Completion::default()
        })
    }

    async fn stream(&self, request: &ChatRequest) -> llmspell_agents::Result<CompletionStream> {
        let c = self.complete(request).await?;
        Ok(Box::pin(futures::stream::iter([Ok(
            StreamEvent::Completed(c),
        )])))
    }
}

fn noop_hooks() -> Hooks {
    let hooks = Hooks::new();
    for point in llmspell_agents::AGENT_POINTS {
        hooks
            .register(point, hook_fn("noop", |_| Ok(HookResult::Continue)))
            .expect("register");
    }
    hooks
}

/// What a lifecycle needs: how to make the agent's provider.
#[derive(Clone)]
enum Source {
    InProcess(Arc<dyn LlmProvider>),
    Http(ProviderFactory, String),
}

async fn lifecycle(source: &Source, hooks: &Hooks) {
    let builder = match source {
        Source::InProcess(p) => {
            LlmAgent::builder(AgentConfig::new("bench", "bench/instant")).provider(Arc::clone(p))
        }
        Source::Http(factory, base) => {
            LlmAgent::builder(AgentConfig::new("bench", "openai/gpt-test").base_url(base.clone()))
                .factory(factory.clone())
        }
    };
    let agent = builder.hooks(hooks).build().await.expect("agent");
    for _ in 0..3 {
        black_box(agent.invoke(AgentInput::text("hi")).await.expect("invoke"));
    }
    agent.terminate().await.expect("terminate");
}

/// `n` lifecycles under `hooks`, timed.
async fn run_block(source: &Source, hooks: &Hooks, n: u64) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        lifecycle(source, hooks).await;
    }
    t.elapsed()
}

#[allow(clippy::too_many_arguments)]
fn bench(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    source: &Source,
    lifecycles_per_iter: u64,
    budget: f64,
    report: bool,
) {
    let hooked = noop_hooks();
    let bare = Hooks::new();
    let tally = llmspell_benches::Tally::new();
    // One lifecycle per side before anything is timed: what the first one
    // sets up once (the shared HTTP client and its connection, lazily
    // built tables) is paid by neither side's figures.
    rt.block_on(async {
        lifecycle(source, &hooked).await;
        lifecycle(source, &bare).await;
    });
    let mut group = c.benchmark_group("agents");
    group.sample_size(10);
    group.bench_function(name.trim_start_matches("agents/"), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let (mut s, mut base) = (Duration::ZERO, Duration::ZERO);
                let mut block = 0u64;
                for _ in 0..iters {
                    let mut done = 0;
                    while done < lifecycles_per_iter {
                        let n = BLOCK.min(lifecycles_per_iter - done);
                        // The side that goes first alternates: the one
                        // after pays for whatever the other left behind
                        // (connections to reuse, caches, the server's
                        // backlog), and neither always does.
                        if block.is_multiple_of(2) {
                            s += run_block(source, &hooked, n).await;
                            base += run_block(source, &bare, n).await;
                        } else {
                            base += run_block(source, &bare, n).await;
                            s += run_block(source, &hooked, n).await;
                        }
                        done += n;
                        block += 1;
                    }
                }
                tally.add_subject(s);
                tally.add_baseline(base);
                tally.add_count(iters * lifecycles_per_iter);
                s
            })
        });
    });
    group.finish();
    if report && tally.count() > 0 {
        println!(
            "{name}: hooked {:.1} us, unhooked {:.1} us per lifecycle",
            tally.ns_per(tally.subject()) / 1000.0,
            tally.ns_per(tally.baseline()) / 1000.0,
        );
        tally.report(name, budget);
    }
}

fn main() {
    // `cargo test --benches` runs this without `--bench`: a tiny smoke run.
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let lifecycles = if bench_mode { 1_000 } else { 2 };
    let mut c = Criterion::default().configure_from_args();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let in_process = Source::InProcess(Arc::new(Instantaneous));
    bench(
        &mut c,
        &rt,
        "agents/lifecycle_noop_hooks",
        &in_process,
        lifecycles,
        BUDGET_IN_PROCESS,
        bench_mode,
    );

    // The server runs on a runtime of its own (one worker thread), the
    // lifecycles on this thread's runtime as above: every request is the
    // same two hand-offs between the two threads on both sides. With
    // client, executions and server on one two-worker runtime, where each
    // task ran (and whether a worker had gone to sleep) changed from
    // block to block, and the HTTP line moved by several times the hooks'
    // cost (hooked minus unhooked 35-100 us a lifecycle where the
    // in-process line measured 4-30 us).
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let server = server_rt
        .block_on(LlmServer::start())
        .expect("loopback server");
    server.always(Reply::ok(openai_text("ok", 3, 1)));
    let http = Source::Http(server.factory(), format!("{}/v1", server.base()));
    bench(
        &mut c,
        &rt,
        "agents/http_noop_hooks",
        &http,
        lifecycles,
        BUDGET_HTTP,
        bench_mode,
    );
    drop(server);
    drop(server_rt);
    c.final_summary();
}
