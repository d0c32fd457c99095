use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use llmspell_events::{
    BackpressureNotice, DropReason, EventBus, EventError, ManualClock, OverflowStrategy, RateLimit,
    SubscriptionConfig,
};

use crate::ev;

#[tokio::test]
async fn the_default_bus_has_no_rate_limit() {
    let bus = EventBus::new();
    let _sub = bus.subscribe("*").unwrap();
    for i in 0..20_000 {
        bus.try_publish(ev("a", i)).unwrap();
    }
    assert_eq!(bus.stats().dropped.total(), 0);
}

#[tokio::test]
async fn token_bucket_limits_try_publish_and_refills_with_the_clock() {
    let clock = ManualClock::new();
    let bus = EventBus::builder()
        .clock(Arc::new(clock.clone()))
        .rate_limit(RateLimit::per_second(10).unwrap().burst(5))
        .build();
    let mut notices = bus.backpressure();
    for i in 0..5 {
        bus.try_publish(ev("a", i)).unwrap();
    }
    let err = bus.try_publish(ev("a", 5)).unwrap_err();
    let EventError::RateLimited { retry_after } = err else {
        panic!("{err}")
    };
    assert!(retry_after <= Duration::from_millis(100), "{retry_after:?}");
    assert!(matches!(
        notices.next().await,
        Some(BackpressureNotice::RateLimited { .. })
    ));
    clock.advance(Duration::from_millis(100));
    bus.try_publish(ev("a", 6)).unwrap();
    assert!(bus.try_publish(ev("a", 7)).is_err());
    clock.advance(Duration::from_secs(10));
    for i in 0..5 {
        bus.try_publish(ev("a", i)).unwrap();
    }
    assert!(RateLimit::per_second(0).is_err());
}

#[tokio::test]
async fn publish_waits_for_a_token_instead_of_failing() {
    let bus = EventBus::builder()
        .rate_limit(RateLimit::per_second(100).unwrap().burst(1))
        .build();
    let started = std::time::Instant::now();
    for i in 0..6 {
        bus.publish(ev("a", i)).await.unwrap();
    }
    // One burst token, then five at 10 ms each.
    assert!(
        started.elapsed() >= Duration::from_millis(40),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(bus.stats().published, 6);
}

#[tokio::test]
async fn watermarks_raise_started_dropped_and_relieved() {
    let bus = EventBus::new();
    let mut notices = bus.backpressure();
    let mut sub = bus
        .subscribe_with(
            "w",
            SubscriptionConfig::new()
                .capacity(10)
                .overflow(OverflowStrategy::DropNewest)
                .watermarks(0.8, 0.2),
        )
        .unwrap();
    for i in 0..12 {
        bus.publish(ev("w", i)).await.unwrap();
    }
    let started = notices.next().await.unwrap();
    assert_eq!(
        started,
        BackpressureNotice::Started {
            subscriber: sub.id(),
            depth: 8,
            capacity: 10
        }
    );
    let dropped = notices.next().await.unwrap();
    assert_eq!(
        dropped,
        BackpressureNotice::Dropped {
            subscriber: sub.id(),
            reason: DropReason::Newest,
            dropped_total: 1
        }
    );
    for _ in 0..8 {
        sub.recv().await.unwrap();
    }
    let relieved = notices.next().await.unwrap();
    assert_eq!(
        relieved,
        BackpressureNotice::Relieved {
            subscriber: sub.id(),
            depth: 2
        }
    );
}
