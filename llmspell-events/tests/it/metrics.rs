use std::sync::Arc;
use std::time::Duration;

use llmspell_events::{EventBus, ManualClock};

use crate::ev;

#[tokio::test]
async fn rates_and_latency_percentiles_follow_the_injected_clock() {
    let clock = ManualClock::new();
    let bus = EventBus::builder()
        .clock(Arc::new(clock.clone()))
        .metrics_window(Duration::from_secs(10), 10)
        .build();
    let mut sub = bus.subscribe("m").unwrap();
    for i in 0..100 {
        bus.publish(ev("m", i)).await.unwrap();
    }
    // Every event waits 2 ms in the queue.
    clock.advance(Duration::from_millis(2));
    for _ in 0..100 {
        sub.recv().await.unwrap();
    }
    clock.advance(Duration::from_millis(998));
    let m = bus.metrics();
    assert_eq!(m.published, 100);
    assert_eq!(m.delivered, 100);
    assert!((m.events_per_second - 100.0).abs() < 1.0, "{m:?}");
    let p50 = m.p50_latency.unwrap();
    assert!(
        p50 >= Duration::from_micros(1_500) && p50 <= Duration::from_micros(2_500),
        "{m:?}"
    );
    assert!(m.p99_latency.unwrap() >= p50);
    // After the window has slid past, the figures are empty again.
    clock.advance(Duration::from_secs(20));
    let m = bus.metrics();
    assert_eq!((m.published, m.delivered), (0, 0));
    assert_eq!(m.p99_latency, None);
}
