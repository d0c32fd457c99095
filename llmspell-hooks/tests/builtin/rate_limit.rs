//! RateLimitHook: the N+1th call inside the window is cancelled, admitted
//! after it; keys; wait mode.

use std::sync::Arc;
use std::time::Duration;

use llmspell_hooks::builtin::{LimitAction, RateLimitConfig, RateLimitKey};
use llmspell_hooks::{Hook, HookPoint, ManualClock};
use serde_json::json;

use crate::{Call, Harness};

#[tokio::test]
async fn cancels_the_call_over_the_limit_and_admits_after_the_window() {
    let clock = ManualClock::new();
    let h = Harness::new("search");
    let limiter = Arc::new(
        RateLimitConfig::per_second(3)
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap(),
    );
    h.attach(limiter.clone());

    let mut remaining = Vec::new();
    for _ in 0..3 {
        let mut ctx = h.before_ctx(&json!({}), None);
        assert_eq!(
            h.call_ctx(&mut ctx, |_| Ok(json!(1))).await,
            Call::Ran(json!(1))
        );
        remaining.push(ctx.get_metadata("ratelimit.remaining").unwrap().to_owned());
        assert_eq!(ctx.get_metadata("ratelimit.limit"), Some("3"));
    }
    assert_eq!(remaining, ["2", "1", "0"]);

    let mut ctx = h.before_ctx(&json!({}), None);
    let Call::Cancelled(reason) = h.call_ctx(&mut ctx, |_| Ok(json!(1))).await else {
        panic!("the 4th call must be cancelled");
    };
    assert!(reason.contains("rate limit exceeded"), "{reason}");
    let retry_after: u64 = ctx
        .get_metadata("ratelimit.retry_after_ms")
        .unwrap()
        .parse()
        .unwrap();
    assert!((300..=334).contains(&retry_after), "{retry_after}");
    assert_eq!(h.runs(), 3);

    // One cell comes back every 1/3 s; the whole window restores the burst.
    clock.advance(Duration::from_millis(334));
    assert!(matches!(
        h.call(json!({}), None, |_| Ok(json!(1))).await,
        Call::Ran(_)
    ));
    assert!(matches!(
        h.call(json!({}), None, |_| Ok(json!(1))).await,
        Call::Cancelled(_)
    ));
    clock.advance(Duration::from_secs(1));
    for _ in 0..3 {
        assert!(matches!(
            h.call(json!({}), None, |_| Ok(json!(1))).await,
            Call::Ran(_)
        ));
    }
    assert_eq!(h.runs(), 7);
}

#[tokio::test]
async fn per_user_keys_are_independent_and_burst_is_configurable() {
    let clock = ManualClock::new();
    let h = Harness::new("search");
    h.attach(Arc::new(
        RateLimitConfig::per_minute(60)
            .burst(2)
            .key(RateLimitKey::User)
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap(),
    ));
    for user in ["ann", "bob"] {
        for _ in 0..2 {
            assert!(matches!(
                h.call(json!({}), Some(user), |_| Ok(json!(1))).await,
                Call::Ran(_)
            ));
        }
        assert!(matches!(
            h.call(json!({}), Some(user), |_| Ok(json!(1))).await,
            Call::Cancelled(_)
        ));
    }
}

#[tokio::test]
async fn custom_keys_and_after_points_do_not_consume_cells() {
    let limiter = RateLimitConfig::per_second(1)
        .key(RateLimitKey::custom(|ctx| {
            ctx.get_metadata("tenant").unwrap_or("-").to_owned()
        }))
        .build()
        .unwrap();
    let h = Harness::new("t");
    let mut after = h
        .before_ctx(&json!({}), None)
        .child(HookPoint::AfterToolExecution);
    for _ in 0..5 {
        assert!(limiter.execute(&mut after).await.unwrap().is_continue());
    }
    let mut a = h.before_ctx(&json!({}), None);
    a.insert_metadata("tenant", "a");
    let mut b = a.clone();
    b.insert_metadata("tenant", "b");
    assert!(limiter.execute(&mut a.clone()).await.unwrap().is_continue());
    assert!(limiter.execute(&mut a).await.unwrap().is_cancel());
    assert!(limiter.execute(&mut b).await.unwrap().is_continue());
    assert_eq!(limiter.tracked_keys(), 2);
}

#[tokio::test]
async fn wait_mode_delays_instead_of_cancelling() {
    // Real clock: 20 per second, burst 1, so the second call waits ~50 ms.
    let h = Harness::new("slow");
    h.attach(Arc::new(
        RateLimitConfig::per_second(20)
            .burst(1)
            .action(LimitAction::Wait {
                max_wait: Duration::from_secs(2),
            })
            .build()
            .unwrap(),
    ));
    let start = std::time::Instant::now();
    for _ in 0..3 {
        assert!(matches!(
            h.call(json!({}), None, |_| Ok(json!(1))).await,
            Call::Ran(_)
        ));
    }
    assert!(
        start.elapsed() >= Duration::from_millis(90),
        "{:?}",
        start.elapsed()
    );

    let strict = Harness::new("slow");
    strict.attach(Arc::new(
        RateLimitConfig::per_minute(1)
            .action(LimitAction::Wait {
                max_wait: Duration::from_millis(10),
            })
            .build()
            .unwrap(),
    ));
    assert!(matches!(
        strict.call(json!({}), None, |_| Ok(json!(1))).await,
        Call::Ran(_)
    ));
    assert!(matches!(
        strict.call(json!({}), None, |_| Ok(json!(1))).await,
        Call::Cancelled(_)
    ));
}

#[test]
fn invalid_limits_are_refused() {
    assert!(RateLimitConfig::per_second(0).build().is_err());
    assert!(RateLimitConfig::per_second(1).burst(0).build().is_err());
}

#[tokio::test]
async fn the_default_admits_a_burst_of_100_per_component() {
    let limiter = llmspell_hooks::RateLimitHook::new();
    let h = Harness::new("default");
    let mut admitted = 0;
    for _ in 0..110 {
        let mut ctx = h.before_ctx(&json!({}), None);
        if limiter.execute(&mut ctx).await.unwrap().is_continue() {
            admitted += 1;
        }
    }
    // 100 at once, plus at most a few refilled (one per 10 ms) meanwhile.
    assert!((100..110).contains(&admitted), "{admitted}");
}
