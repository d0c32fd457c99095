//! Subscribing and dropping must not leak queues or memory.
//!
//! A test binary of its own (not a module of `it`): it reads the process's
//! resident set size, which other tests running in parallel would disturb.

use llmspell_events::{EventBus, UniversalEvent};

fn ev(t: &str, n: u64) -> UniversalEvent {
    UniversalEvent::new(t, serde_json::json!(n))
}

/// Resident set size in pages, from /proc/self/statm.
fn rss_pages() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    statm.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn a_million_subscribe_drop_cycles_keep_memory_flat() {
    let bus = EventBus::new();
    let steady = bus.subscribe("steady.*").unwrap();
    let patterns = ["a.b", "a.*", "*.b", "a.?"];
    let mut baseline = None;
    for i in 0..1_000_000u64 {
        let mut sub = bus.subscribe(patterns[(i % 4) as usize]).unwrap();
        if i % 10_000 == 0 {
            bus.publish(ev("a.b", i)).await.unwrap();
            assert!(sub.try_recv().is_some());
        }
        drop(sub);
        if i == 100_000 {
            baseline = rss_pages();
        }
    }
    // One more publish swaps in a routing table without the dropped queues.
    bus.publish(ev("a.b", 0)).await.unwrap();
    let stats = bus.stats();
    assert_eq!(stats.active_subscriptions, 1);
    assert_eq!(stats.live_queues, 1, "every dropped queue was freed");
    drop(steady);
    bus.publish(ev("a.b", 0)).await.unwrap();
    let stats = bus.stats();
    assert_eq!(stats.active_subscriptions, 0);
    assert_eq!(stats.live_queues, 0);
    assert!(bus.subscription_ids().is_empty());
    if let (Some(before), Some(after)) = (baseline, rss_pages()) {
        // 4 KiB pages: allow 8 MiB of allocator noise.
        assert!(
            after <= before + 2_048,
            "RSS grew from {before} to {after} pages"
        );
    }
}
