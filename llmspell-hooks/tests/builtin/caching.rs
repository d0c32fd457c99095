//! CachingHook: a hit skips the operation; TTL, size bound, errors.

use std::sync::Arc;
use std::time::Duration;

use llmspell_hooks::builtin::{CachingConfig, CachingHook};
use llmspell_hooks::ManualClock;
use serde_json::json;

use crate::{Call, Harness};

#[tokio::test]
async fn a_hit_skips_the_operation_and_returns_the_cached_result() {
    let h = Harness::new("calc");
    let cache = Arc::new(CachingHook::new());
    h.attach(cache.clone());

    let first = h
        .call(json!({"a": 1, "b": 2}), None, |_| Ok(json!(3)))
        .await;
    assert_eq!(first, Call::Ran(json!(3)));
    // Same parameters in another key order: canonical form, same key.
    let second = h
        .call(json!({"b": 2, "a": 1}), None, |_| Ok(json!("must not run")))
        .await;
    assert_eq!(second, Call::Replaced(json!(3)));
    assert_eq!(h.runs(), 1);

    let other = h
        .call(json!({"a": 2, "b": 2}), None, |_| Ok(json!(4)))
        .await;
    assert_eq!(other, Call::Ran(json!(4)));
    let s = cache.stats();
    assert_eq!((s.hits, s.misses, s.inserts), (1, 2, 2));
    assert!((s.hit_rate() - 1.0 / 3.0).abs() < 1e-9);
}

#[tokio::test]
async fn entries_expire_after_the_ttl_on_the_injected_clock() {
    let clock = ManualClock::new();
    let h = Harness::new("calc");
    let cache = Arc::new(
        CachingConfig::new()
            .ttl(Duration::from_secs(10))
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap(),
    );
    h.attach(cache.clone());
    h.call(json!({"x": 1}), None, |_| Ok(json!(1))).await;
    clock.advance(Duration::from_secs(9));
    assert_eq!(
        h.call(json!({"x": 1}), None, |_| Ok(json!(2))).await,
        Call::Replaced(json!(1))
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        h.call(json!({"x": 1}), None, |_| Ok(json!(2))).await,
        Call::Ran(json!(2))
    );
    assert_eq!(h.runs(), 2);
    assert_eq!(cache.stats().expirations, 1);
}

#[tokio::test]
async fn failed_operations_are_not_cached_by_default() {
    let h = Harness::new("flaky");
    let cache = Arc::new(CachingHook::new());
    h.attach(cache.clone());
    let r = h
        .call(json!({"q": 1}), None, |_| Err("boom".to_owned()))
        .await;
    assert!(matches!(r, Call::Failed(..)));
    assert_eq!(
        h.call(json!({"q": 1}), None, |_| Ok(json!("ok"))).await,
        Call::Ran(json!("ok"))
    );
    assert_eq!(cache.stats().inserts, 1);

    let h = Harness::new("flaky");
    let cache = Arc::new(CachingConfig::new().cache_errors(true).build().unwrap());
    h.attach(cache.clone());
    h.call(json!({"q": 1}), None, |_| Err("boom".to_owned()))
        .await;
    assert_eq!(
        h.call(json!({"q": 1}), None, |_| Ok(json!("ok"))).await,
        Call::Replaced(json!({"error": "boom"}))
    );
}

#[tokio::test]
async fn the_size_bound_evicts_and_counts() {
    let h = Harness::new("calc");
    let cache = Arc::new(CachingConfig::new().max_entries(8).build().unwrap());
    h.attach(cache.clone());
    for i in 0..200 {
        h.call(json!({"i": i}), None, |_| Ok(json!(i))).await;
        cache.run_pending_tasks();
    }
    cache.run_pending_tasks();
    let s = cache.stats();
    assert_eq!(s.inserts, 200);
    assert!(s.entries <= 8, "{s:?}");
    assert!(s.evictions >= 150, "{s:?}");
}

#[test]
fn zero_ttl_or_capacity_is_refused() {
    assert!(CachingConfig::new().ttl(Duration::ZERO).build().is_err());
    assert!(CachingConfig::new().max_entries(0).build().is_err());
}
