use std::time::Duration;

use futures::StreamExt;
use llmspell_events::{EventBus, EventStreamExt};

use crate::ev;

#[tokio::test(start_paused = true)]
async fn batching_by_size_and_by_time() {
    let bus = EventBus::new();
    let sub = bus.subscribe("b.*").unwrap();
    for i in 0..7 {
        bus.publish(ev("b.x", i)).await.unwrap();
    }
    let mut batches = Box::pin(sub.batched(3, Duration::from_secs(1)));
    assert_eq!(batches.next().await.unwrap().len(), 3);
    assert_eq!(batches.next().await.unwrap().len(), 3);
    let start = tokio::time::Instant::now();
    let last = batches.next().await.unwrap();
    assert_eq!(last.len(), 1);
    assert!(start.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn filtering_by_pattern_and_predicate() {
    let bus = EventBus::new();
    let sub = bus.subscribe("*").unwrap();
    for (i, t) in ["a.x", "b.x", "a.y", "a.x"].iter().enumerate() {
        bus.publish(ev(t, i as u64)).await.unwrap();
    }
    let mut s = Box::pin(
        sub.filter_pattern("a.*".parse().unwrap())
            .filter_events(|e| e.event_type.ends_with('x')),
    );
    assert_eq!(s.next().await.unwrap().data, 0);
    assert_eq!(s.next().await.unwrap().data, 3);
}

#[tokio::test(start_paused = true)]
async fn throttling_spaces_events_out_without_losing_any() {
    let bus = EventBus::new();
    let sub = bus.subscribe("t").unwrap();
    for i in 0..5 {
        bus.publish(ev("t", i)).await.unwrap();
    }
    let start = tokio::time::Instant::now();
    let got: Vec<_> = Box::pin(sub.throttled(Duration::from_millis(100)))
        .take(5)
        .map(|e| e.data.as_u64().unwrap())
        .collect()
        .await;
    assert_eq!(got, vec![0, 1, 2, 3, 4]);
    assert!(start.elapsed() >= Duration::from_millis(400));
}
