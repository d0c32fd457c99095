//! Each overflow strategy under 100,000 events with a slow subscriber.

use std::time::Duration;

use llmspell_events::{
    BusStats, EventBus, EventError, OverflowStrategy, SubscriptionConfig, SubscriptionId,
};

use crate::ev;

const EVENTS: u64 = 100_000;
const CAPACITY: usize = 64;

struct Run {
    received: Vec<u64>,
    errors: Vec<EventError>,
    stats: BusStats,
    id: SubscriptionId,
}

/// Publishes `EVENTS` events as fast as possible to one subscriber that
/// pauses 1 ms every 500 events, then lets it drain.
async fn run(overflow: OverflowStrategy) -> Run {
    let bus = EventBus::new();
    let config = SubscriptionConfig::new()
        .capacity(CAPACITY)
        .overflow(overflow);
    let mut sub = bus.subscribe_with("load.*", config).unwrap();
    let id = sub.id();
    let consumer = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(e) = sub.recv().await {
            got.push(e.sequence);
            if got.len() % 500 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        got
    });
    let mut errors = Vec::new();
    for i in 0..EVENTS {
        if let Err(e) = bus.publish(ev("load.tick", i)).await {
            errors.push(e);
        }
    }
    // Let the subscriber drain, then end it.
    while bus.list_subscriptions()[0].depth > 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    bus.unsubscribe(id);
    let received = consumer.await.unwrap();
    Run {
        received,
        errors,
        stats: bus.stats(),
        id,
    }
}

fn assert_accounting(r: &Run) {
    assert_eq!(r.stats.published, EVENTS);
    assert_eq!(r.stats.delivered, r.received.len() as u64);
    assert_eq!(r.stats.dropped.unsubscribed, 0);
    assert_eq!(
        r.stats.delivered + r.stats.dropped.total(),
        EVENTS,
        "delivered + dropped = published: {:?}",
        r.stats
    );
    assert!(
        r.received.windows(2).all(|w| w[0] < w[1]),
        "events arrive in sequence order"
    );
}

async fn with_deadline<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("no deadlock: the run finished in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_oldest_keeps_the_newest() {
    let r = with_deadline(run(OverflowStrategy::DropOldest)).await;
    assert_accounting(&r);
    assert!(r.errors.is_empty());
    assert!(
        r.stats.dropped.oldest > 0,
        "the slow subscriber lost events"
    );
    assert_eq!(r.stats.dropped.total(), r.stats.dropped.oldest);
    // The newest event always survives.
    assert_eq!(r.received.last(), Some(&EVENTS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_newest_keeps_the_oldest() {
    let r = with_deadline(run(OverflowStrategy::DropNewest)).await;
    assert_accounting(&r);
    assert!(r.errors.is_empty());
    assert!(r.stats.dropped.newest > 0);
    assert_eq!(r.stats.dropped.total(), r.stats.dropped.newest);
    // The first `CAPACITY` events always fit.
    let first: Vec<u64> = (1..=CAPACITY as u64).collect();
    assert_eq!(&r.received[..CAPACITY], &first[..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_delivers_everything_without_deadlock() {
    let r = with_deadline(run(OverflowStrategy::Block {
        timeout: Duration::from_secs(10),
    }))
    .await;
    assert_accounting(&r);
    assert!(r.errors.is_empty(), "{:?}", r.errors.first());
    assert_eq!(r.stats.dropped.total(), 0);
    assert_eq!(r.received, (1..=EVENTS).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_surfaces_an_error_naming_the_subscriber() {
    let r = with_deadline(run(OverflowStrategy::Reject)).await;
    assert_accounting(&r);
    assert!(!r.errors.is_empty());
    assert_eq!(r.errors.len() as u64, r.stats.dropped.rejected);
    assert_eq!(r.stats.dropped.total(), r.stats.dropped.rejected);
    for e in &r.errors {
        match e {
            EventError::Rejected { subscriber, .. } => assert_eq!(*subscriber, r.id),
            other => panic!("unexpected error {other}"),
        }
    }
    assert!(r.errors[0].to_string().contains(&r.id.to_string()));
}

#[tokio::test]
async fn block_times_out_with_an_error_and_other_subscribers_still_get_the_event() {
    let bus = EventBus::new();
    let stuck = bus
        .subscribe_with(
            "x",
            SubscriptionConfig::new()
                .capacity(1)
                .overflow(OverflowStrategy::Block {
                    timeout: Duration::from_millis(20),
                }),
        )
        .unwrap();
    let mut other = bus.subscribe("x").unwrap();
    bus.publish(ev("x", 1)).await.unwrap();
    let started = std::time::Instant::now();
    let err = bus.publish(ev("x", 2)).await.unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(20));
    assert!(matches!(err, EventError::BlockTimeout { subscriber, .. } if subscriber == stuck.id()));
    assert_eq!(other.recv().await.unwrap().data, 1);
    assert_eq!(other.recv().await.unwrap().data, 2);
    assert_eq!(bus.stats().dropped.block_timeout, 1);
    // try_publish never waits on a full Block queue.
    let err = bus.try_publish(ev("x", 3)).unwrap_err();
    assert!(matches!(err, EventError::WouldBlock { .. }), "{err}");
}

#[tokio::test]
async fn a_blocked_publisher_is_released_when_the_subscriber_goes_away() {
    let bus = EventBus::new();
    let sub = bus
        .subscribe_with(
            "x",
            SubscriptionConfig::new()
                .capacity(1)
                .overflow(OverflowStrategy::Block {
                    timeout: Duration::from_secs(60),
                }),
        )
        .unwrap();
    bus.publish(ev("x", 1)).await.unwrap();
    let b = bus.clone();
    let publisher = tokio::spawn(async move { b.publish(ev("x", 2)).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    drop(sub);
    let r = tokio::time::timeout(Duration::from_secs(5), publisher)
        .await
        .expect("released")
        .unwrap()
        .unwrap();
    assert_eq!((r.matched, r.queued), (0, 0), "{r:?}");
}

#[tokio::test]
async fn a_cancelled_blocked_publish_is_counted_and_leaves_no_waiter() {
    let bus = EventBus::new();
    let mut sub = bus
        .subscribe_with(
            "x",
            SubscriptionConfig::new()
                .capacity(1)
                .overflow(OverflowStrategy::Block {
                    timeout: Duration::from_secs(60),
                }),
        )
        .unwrap();
    bus.publish(ev("x", 1)).await.unwrap();
    let cancelled = tokio::time::timeout(Duration::from_millis(20), bus.publish(ev("x", 2))).await;
    assert!(cancelled.is_err(), "the publish was still waiting");
    let stats = bus.stats();
    assert_eq!(stats.dropped.cancelled, 1);
    assert_eq!(stats.published, 2);
    assert_eq!(sub.recv().await.unwrap().data, 1);
    bus.publish(ev("x", 3)).await.unwrap();
    assert_eq!(sub.recv().await.unwrap().data, 3);
    let info = sub.info();
    assert_eq!(info.delivered + info.dropped.total(), 3);
}
