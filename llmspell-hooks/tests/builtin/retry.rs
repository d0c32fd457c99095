//! RetryHook: delays follow the backoff within jitter bounds, limits,
//! breaker, retryable-error matching.

use std::sync::Arc;
use std::time::Duration;

use llmspell_hooks::builtin::{Backoff, ErrorMatcher, Jitter, RetryConfig, RetryHook};
use llmspell_hooks::{BreakerConfig, CircuitBreaker, HookContext, HookOutcome, ManualClock};
use serde_json::json;

use crate::{Call, Harness};

const UNAVAILABLE: &str = "HTTP 503: service unavailable";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Fails the same operation (same context) `n` times; returns the delays of
/// the `Retry` outcomes and the last outcome.
async fn fail_times(
    h: &Harness,
    ctx: &HookContext,
    n: usize,
    err: &str,
) -> (Vec<Duration>, HookOutcome) {
    let mut delays = Vec::new();
    let mut last = HookOutcome::Continue;
    for _ in 0..n {
        let e = err.to_owned();
        let Call::Failed(_, outcome) = h.call_ctx(&mut ctx.clone(), move |_| Err(e)).await else {
            panic!("the operation fails");
        };
        if let HookOutcome::Retry {
            delay,
            max_attempts,
            ..
        } = &outcome
        {
            assert!(*max_attempts >= 1);
            delays.push(*delay);
        }
        last = outcome;
    }
    (delays, last)
}

fn harness(hook: RetryHook) -> (Harness, HookContext, Arc<RetryHook>) {
    let h = Harness::new("http_get");
    let hook = Arc::new(hook);
    h.attach(hook.clone());
    let ctx = h.before_ctx(&json!({"url": "https://example.test"}), None);
    (h, ctx, hook)
}

#[tokio::test]
async fn exponential_without_jitter_is_exact_and_stops_after_max_attempts() {
    let (h, ctx, _) = harness(
        RetryConfig::new()
            .backoff(Backoff::Exponential {
                initial: ms(100),
                multiplier: 2.0,
            })
            .jitter(Jitter::None)
            .max_attempts(4)
            .build(),
    );
    let (delays, last) = fail_times(&h, &ctx, 5, UNAVAILABLE).await;
    assert_eq!(delays, [ms(100), ms(200), ms(400), ms(800)]);
    assert_eq!(
        last,
        HookOutcome::Continue,
        "the 5th failure is not retried"
    );
}

#[tokio::test]
async fn jittered_delays_stay_within_their_bounds_and_are_reproducible_with_a_seed() {
    let cases = [
        (
            Backoff::Exponential {
                initial: ms(50),
                multiplier: 2.0,
            },
            Jitter::Full,
        ),
        (
            Backoff::Linear {
                initial: ms(50),
                step: ms(25),
            },
            Jitter::Equal,
        ),
        (Backoff::Fibonacci { initial: ms(20) }, Jitter::Full),
        (Backoff::Fixed(ms(30)), Jitter::Equal),
        (
            Backoff::Exponential {
                initial: ms(10),
                multiplier: 3.0,
            },
            Jitter::Decorrelated,
        ),
    ];
    for (backoff, jitter) in cases {
        let config = RetryConfig::new()
            .backoff(backoff)
            .jitter(jitter)
            .max_delay(Duration::from_secs(5))
            .max_attempts(8)
            .seed(7);
        let (h, ctx, hook) = harness(config.clone().build());
        let (delays, _) = fail_times(&h, &ctx, 8, UNAVAILABLE).await;
        assert_eq!(delays.len(), 8);
        let policy = *hook.policy();
        let mut prev = None;
        for (i, d) in delays.iter().enumerate() {
            let n = u32::try_from(i + 1).unwrap();
            let (lo, hi) = policy.bounds(n, prev);
            assert!(
                lo <= *d && *d <= hi,
                "{backoff:?}/{jitter:?} attempt {n}: {d:?} not in [{lo:?}, {hi:?}]"
            );
            prev = Some(*d);
        }
        // Not all equal: the jitter really randomises.
        assert!(
            delays.windows(2).any(|w| w[0] != w[1]),
            "{backoff:?}/{jitter:?}: {delays:?}"
        );
        let (h2, ctx2, _) = harness(config.build());
        let (again, _) = fail_times(&h2, &ctx2, 8, UNAVAILABLE).await;
        assert_eq!(delays, again, "same seed, same delays");
    }
}

#[tokio::test]
async fn max_total_time_is_measured_on_the_injected_clock() {
    let clock = ManualClock::new();
    let (h, ctx, _) = harness(
        RetryConfig::new()
            .backoff(Backoff::Fixed(ms(400)))
            .jitter(Jitter::None)
            .max_attempts(10)
            .max_total(Duration::from_secs(1))
            .clock(Arc::new(clock.clone()))
            .build(),
    );
    let (d1, _) = fail_times(&h, &ctx, 1, "request timed out").await;
    clock.advance(ms(400));
    let (d2, _) = fail_times(&h, &ctx, 1, "request timed out").await;
    clock.advance(ms(400));
    let (d3, last) = fail_times(&h, &ctx, 1, "request timed out").await;
    assert_eq!((d1.len(), d2.len(), d3.len()), (1, 1, 0));
    assert_eq!(last, HookOutcome::Continue);
}

#[tokio::test]
async fn only_retryable_errors_are_retried() {
    let (h, ctx, _) = harness(RetryHook::new());
    let (d, last) = fail_times(&h, &ctx, 1, "invalid argument: url").await;
    assert!(d.is_empty());
    assert_eq!(last, HookOutcome::Continue);

    let (h, ctx, _) = harness(
        RetryConfig::new()
            .retry_on(vec![ErrorMatcher::pattern(r"^E\d{3} transient").unwrap()])
            .build(),
    );
    assert_eq!(
        fail_times(&h, &ctx, 1, "E042 transient glitch")
            .await
            .0
            .len(),
        1
    );
    assert!(fail_times(&h, &ctx, 1, UNAVAILABLE).await.0.is_empty());
}

#[tokio::test]
async fn a_success_resets_the_attempt_count() {
    let (h, ctx, _) = harness(
        RetryConfig::new()
            .backoff(Backoff::Linear {
                initial: ms(10),
                step: ms(10),
            })
            .jitter(Jitter::None)
            .build(),
    );
    assert_eq!(
        fail_times(&h, &ctx, 2, UNAVAILABLE).await.0,
        [ms(10), ms(20)]
    );
    assert!(matches!(
        h.call_ctx(&mut ctx.clone(), |_| Ok(json!(1))).await,
        Call::Ran(_)
    ));
    assert_eq!(fail_times(&h, &ctx, 1, UNAVAILABLE).await.0, [ms(10)]);
}

#[tokio::test]
async fn an_open_circuit_breaker_stops_retries() {
    let breaker = Arc::new(CircuitBreaker::new(BreakerConfig::default()).unwrap());
    let (h, ctx, _) = harness(RetryConfig::new().breaker(breaker.clone()).build());
    assert_eq!(fail_times(&h, &ctx, 1, UNAVAILABLE).await.0.len(), 1);
    breaker.force_open();
    let (d, last) = fail_times(&h, &ctx, 1, UNAVAILABLE).await;
    assert!(d.is_empty());
    assert_eq!(last, HookOutcome::Continue);
    breaker.force_closed();
    assert_eq!(fail_times(&h, &ctx, 1, UNAVAILABLE).await.0.len(), 1);

    // Any probe works, e.g. a closure over the application's own state.
    let probe = |ctx: &HookContext| ctx.component.name == "http_get";
    let (h, ctx, _) = harness(RetryConfig::new().breaker(Arc::new(probe)).build());
    assert!(fail_times(&h, &ctx, 1, UNAVAILABLE).await.0.is_empty());
}
