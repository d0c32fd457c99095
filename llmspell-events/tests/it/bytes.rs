//! Queues bounded in bytes as well as in events.

use std::time::Duration;

use llmspell_events::{
    EventBus, EventError, OverflowStrategy, SubscriptionConfig, SubscriptionInfo, UniversalEvent,
};
use serde_json::json;

const KB: usize = 1024;

/// An event whose JSON form is a little over `kb` KiB.
fn sized(n: u64, kb: usize) -> UniversalEvent {
    UniversalEvent::new("blob", json!({"n": n, "pad": "x".repeat(kb * KB)}))
}

fn json_len(e: &UniversalEvent) -> usize {
    serde_json::to_vec(e).unwrap().len()
}

fn info(bus: &EventBus) -> SubscriptionInfo {
    bus.list_subscriptions().remove(0)
}

#[tokio::test]
async fn an_unread_subscription_stays_within_its_byte_budget() {
    // The reported case, scaled down: an unread subscription and many
    // 100 KB events. Without a byte budget it holds all of them.
    let bus = EventBus::new();
    let sub = bus
        .subscribe_with("blob", SubscriptionConfig::new().max_bytes(1024 * KB))
        .unwrap();
    for n in 0..200 {
        bus.publish(sized(n, 100)).await.unwrap();
    }
    let i = info(&bus);
    assert!(i.bytes <= 1024 * KB, "{} bytes queued", i.bytes);
    assert_eq!(i.max_bytes, Some(1024 * KB));
    assert!(i.depth >= 9 && i.depth <= 10, "depth {}", i.depth);
    assert_eq!(i.dropped.oldest, 200 - i.depth as u64);
    assert!(i.bytes > i.depth * 100 * KB);
    // The newest events are the ones kept; receiving frees their bytes.
    let mut sub = sub;
    let first = sub.try_recv().unwrap();
    assert_eq!(first.data["n"], 200 - i.depth as u64);
    assert_eq!(info(&bus).bytes, i.bytes - json_len(&first));
}

#[tokio::test]
async fn a_bus_wide_budget_applies_where_the_subscription_sets_none() {
    let bus = EventBus::builder().max_queue_bytes(64 * KB).build();
    let _default = bus.subscribe("blob").unwrap();
    let _own = bus
        .subscribe_with("blob", SubscriptionConfig::new().max_bytes(512 * KB))
        .unwrap();
    for n in 0..20 {
        bus.publish(sized(n, 10)).await.unwrap();
    }
    let subs = bus.list_subscriptions();
    assert_eq!(subs[0].max_bytes, Some(64 * KB));
    assert!(subs[0].bytes <= 64 * KB && subs[0].depth < 20);
    assert_eq!(subs[1].max_bytes, Some(512 * KB));
    assert_eq!(subs[1].depth, 20);
}

#[tokio::test]
async fn an_event_larger_than_the_budget_is_dropped_for_that_subscriber_only() {
    let bus = EventBus::new();
    let mut small = Vec::new();
    for overflow in [
        OverflowStrategy::DropOldest,
        OverflowStrategy::DropNewest,
        OverflowStrategy::Reject,
        OverflowStrategy::Block {
            timeout: Duration::from_secs(60),
        },
    ] {
        small.push(
            bus.subscribe_with(
                "blob",
                SubscriptionConfig::new()
                    .max_bytes(8 * KB)
                    .overflow(overflow),
            )
            .unwrap(),
        );
    }
    let mut roomy = bus.subscribe("blob").unwrap();
    let r = bus.publish(sized(1, 16)).await.unwrap();
    assert_eq!((r.matched, r.queued, r.dropped), (5, 1, 4));
    assert_eq!(roomy.try_recv().unwrap().data["n"], 1);
    let stats = bus.stats();
    assert_eq!(stats.dropped.too_large, 4);
    for s in stats.subscriptions.iter().take(4) {
        assert_eq!((s.depth, s.bytes, s.dropped.too_large), (0, 0, 1));
        assert_eq!(
            s.enqueued + s.dropped.total(),
            1,
            "every offer accounted for"
        );
    }
}

#[tokio::test]
async fn reject_and_drop_newest_apply_when_the_bytes_run_out() {
    let bus = EventBus::new();
    let _reject = bus
        .subscribe_with(
            "blob",
            SubscriptionConfig::new()
                .max_bytes(25 * KB)
                .overflow(OverflowStrategy::Reject),
        )
        .unwrap();
    bus.publish(sized(1, 10)).await.unwrap();
    bus.publish(sized(2, 10)).await.unwrap();
    let err = bus.publish(sized(3, 10)).await.unwrap_err();
    assert!(matches!(err, EventError::Rejected { .. }), "{err}");
    assert_eq!(info(&bus).depth, 2);

    let bus = EventBus::new();
    let mut newest = bus
        .subscribe_with(
            "blob",
            SubscriptionConfig::new()
                .max_bytes(25 * KB)
                .overflow(OverflowStrategy::DropNewest),
        )
        .unwrap();
    for n in 1..=3 {
        bus.publish(sized(n, 10)).await.unwrap();
    }
    assert_eq!(info(&bus).dropped.newest, 1);
    assert_eq!(newest.try_recv().unwrap().data["n"], 1);
    assert_eq!(newest.try_recv().unwrap().data["n"], 2);
    assert!(newest.try_recv().is_none());
    assert_eq!(info(&bus).bytes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_publisher_waits_for_bytes_to_be_freed() {
    let bus = EventBus::new();
    let mut sub = bus
        .subscribe_with(
            "blob",
            SubscriptionConfig::new()
                .max_bytes(25 * KB)
                .overflow(OverflowStrategy::Block {
                    timeout: Duration::from_secs(30),
                }),
        )
        .unwrap();
    bus.publish(sized(1, 10)).await.unwrap();
    bus.publish(sized(2, 10)).await.unwrap();
    let publisher = {
        let bus = bus.clone();
        tokio::spawn(async move { bus.publish(sized(3, 10)).await })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert!(!publisher.is_finished(), "no room in bytes: it waits");
    assert_eq!(sub.recv().await.unwrap().data["n"], 1);
    publisher.await.unwrap().unwrap();
    assert_eq!(sub.recv().await.unwrap().data["n"], 2);
    assert_eq!(sub.recv().await.unwrap().data["n"], 3);
}
