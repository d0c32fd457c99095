//! What a publish reports when a subscriber refuses the event, and
//! de-duplication of republished events by id.

use std::sync::Arc;
use std::time::Duration;

use llmspell_events::{
    EventBus, EventError, EventQuery, EventStore, OverflowStrategy, SubscriptionConfig,
};
use llmspell_storage::MemoryBackend;

use crate::ev;

async fn stored_bus() -> (EventBus, EventStore) {
    let store = EventStore::open(Arc::new(MemoryBackend::new()))
        .await
        .unwrap();
    (EventBus::builder().store(store.clone()).build(), store)
}

fn rejecting(capacity: usize) -> SubscriptionConfig {
    SubscriptionConfig::new()
        .capacity(capacity)
        .overflow(OverflowStrategy::Reject)
}

#[tokio::test]
async fn a_rejected_publish_carries_its_report_and_a_retry_is_deduplicated() {
    let (bus, store) = stored_bus().await;
    let _full = bus.subscribe_with("job.*", rejecting(1)).unwrap();
    let mut a = bus.subscribe("job.*").unwrap();
    let mut b = bus.subscribe("job.*").unwrap();
    bus.publish(ev("job.run", 1)).await.unwrap();

    let event = ev("job.run", 2);
    let err = bus.publish(event.clone()).await.unwrap_err();
    assert!(matches!(err, EventError::Rejected { .. }), "{err}");
    let report = *err.publish_report().expect("the error carries the report");
    assert_eq!(report.event_id, event.id);
    assert_eq!(report.sequence, 2);
    assert!(report.stored && !report.duplicate);
    assert_eq!((report.matched, report.queued, report.dropped), (3, 2, 1));
    let msg = err.to_string();
    assert!(msg.contains("stored under sequence 2"), "{msg}");
    assert!(msg.contains(&event.id.to_string()), "{msg}");
    assert!(msg.contains("queued for 2 of 3"), "{msg}");
    assert!(msg.contains("de-duplicated"), "{msg}");

    // The caller retries: nothing is stored or delivered twice.
    let again = bus.publish(event.clone()).await.unwrap();
    assert!(again.duplicate && again.stored);
    assert_eq!(again.sequence, 2);
    assert_eq!((again.matched, again.queued), (0, 0));
    assert_eq!(store.query(&EventQuery::all()).await.unwrap().len(), 2);
    for sub in [&mut a, &mut b] {
        assert_eq!(sub.try_recv().unwrap().data, 1);
        assert_eq!(sub.try_recv().unwrap().id, event.id);
        assert!(sub.try_recv().is_none());
    }
    // The sequence carries on without a gap (the full subscriber still
    // rejects it).
    let next = bus.publish(ev("job.run", 3)).await.unwrap_err();
    assert_eq!(next.publish_report().unwrap().sequence, 3);
    // try_publish de-duplicates too.
    assert!(bus.try_publish(event).unwrap().duplicate);
}

#[tokio::test(start_paused = true)]
async fn a_block_timeout_and_a_would_block_carry_the_report() {
    let (bus, _store) = stored_bus().await;
    let _stuck = bus
        .subscribe_with(
            "x",
            SubscriptionConfig::new()
                .capacity(1)
                .overflow(OverflowStrategy::Block {
                    timeout: Duration::from_millis(50),
                }),
        )
        .unwrap();
    let _other = bus.subscribe("x").unwrap();
    bus.publish(ev("x", 1)).await.unwrap();
    let err = bus.publish(ev("x", 2)).await.unwrap_err();
    assert!(matches!(err, EventError::BlockTimeout { .. }), "{err}");
    let r = err.publish_report().unwrap();
    assert_eq!((r.sequence, r.stored, r.queued, r.dropped), (2, true, 1, 1));
    assert!(err.to_string().contains("stored under sequence 2"), "{err}");

    let err = bus.try_publish(ev("x", 3)).unwrap_err();
    assert!(matches!(err, EventError::WouldBlock { .. }), "{err}");
    let r = err.publish_report().unwrap();
    assert_eq!((r.sequence, r.queued), (3, 1));
    // A WouldBlock before anything happened has no report.
    let bus = EventBus::builder()
        .rate_limit(llmspell_events::RateLimit::per_second(1).unwrap())
        .build();
    bus.try_publish(ev("x", 1)).unwrap();
    assert!(bus
        .try_publish(ev("x", 2))
        .unwrap_err()
        .publish_report()
        .is_none());
}

#[tokio::test]
async fn without_a_store_the_error_says_a_retry_would_deliver_twice() {
    let bus = EventBus::new();
    let _full = bus.subscribe_with("x", rejecting(1)).unwrap();
    let _other = bus.subscribe("x").unwrap();
    bus.publish(ev("x", 1)).await.unwrap();
    let event = ev("x", 2);
    let err = bus.publish(event.clone()).await.unwrap_err();
    let r = err.publish_report().unwrap();
    assert!(!r.stored);
    assert!(err.to_string().contains("no store"), "{err}");
    // No store, no de-duplication.
    let again = bus.publish(event).await.unwrap_err();
    assert!(!again.publish_report().unwrap().duplicate);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_publishes_of_one_event_store_it_once() {
    let (bus, store) = stored_bus().await;
    let mut sub = bus.subscribe("*").unwrap();
    let event = ev("race", 7);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (bus, event) = (bus.clone(), event.clone());
            tokio::spawn(async move { bus.publish(event).await.unwrap() })
        })
        .collect();
    let mut firsts = 0;
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.sequence, 1);
        firsts += usize::from(!r.duplicate);
    }
    assert_eq!(firsts, 1);
    assert_eq!(store.query(&EventQuery::all()).await.unwrap().len(), 1);
    assert!(sub.try_recv().is_some());
    assert!(sub.try_recv().is_none());
}

#[tokio::test]
async fn the_store_deduplicates_direct_appends_too() {
    let store = EventStore::open(Arc::new(MemoryBackend::new()))
        .await
        .unwrap();
    let e = ev("k", 1);
    let first = store.append(&e).await.unwrap();
    assert!(!first.duplicate);
    let second = store.append(&e).await.unwrap();
    assert!(second.duplicate);
    assert_eq!(second.sequence, first.sequence);
    assert_eq!(store.stored_sequence_of(e.id).await.unwrap(), Some(1));
    assert_eq!(store.next_sequence(), 2);
}
