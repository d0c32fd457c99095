use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use llmspell_events::{EventBus, EventError, EventHandler};

use crate::ev;

async fn eventually(mut f: impl FnMut() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("condition not reached in time");
}

#[tokio::test]
async fn sync_and_async_handlers_run_and_failures_are_isolated() {
    let bus = EventBus::new();
    let seen_sync = Arc::new(AtomicU64::new(0));
    let seen_async = Arc::new(AtomicU64::new(0));
    let s = Arc::clone(&seen_sync);
    let _sync = bus
        .subscribe_handler(
            "job.*",
            EventHandler::from_fn(move |e| {
                s.fetch_add(1, Ordering::SeqCst);
                match e.data.as_u64() {
                    Some(1) => Err("one is bad".into()),
                    Some(2) => panic!("two panics"),
                    _ => Ok(()),
                }
            }),
        )
        .unwrap();
    let a = Arc::clone(&seen_async);
    let _async = bus
        .subscribe_handler(
            "job.*",
            EventHandler::from_async_fn(move |e| {
                let a = Arc::clone(&a);
                async move {
                    tokio::task::yield_now().await;
                    a.fetch_add(1, Ordering::SeqCst);
                    if e.data.as_u64() == Some(3) {
                        panic!("three panics asynchronously");
                    }
                    Ok(())
                }
            }),
        )
        .unwrap();
    for i in 0..6 {
        bus.publish(ev("job.run", i)).await.unwrap();
    }
    eventually(|| seen_sync.load(Ordering::SeqCst) == 6 && seen_async.load(Ordering::SeqCst) == 6)
        .await;
    // Both handlers carried on after their failures.
    eventually(|| bus.stats().delivered == 12).await;
    let stats = bus.stats();
    assert_eq!(stats.handler_errors, 1);
    assert_eq!(stats.handler_panics, 2);
    assert_eq!(stats.delivered, 12);
    assert!(stats.subscriptions.iter().all(|s| s.handler));
}

#[tokio::test]
async fn unsubscribe_stops_a_handler() {
    let bus = EventBus::new();
    let seen = Arc::new(AtomicU64::new(0));
    let s = Arc::clone(&seen);
    let id = bus
        .subscribe_handler(
            "x",
            EventHandler::from_fn(move |_| {
                s.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }),
        )
        .unwrap()
        .detach();
    bus.publish(ev("x", 1)).await.unwrap();
    eventually(|| seen.load(Ordering::SeqCst) == 1).await;
    assert!(bus.unsubscribe(id));
    bus.publish(ev("x", 2)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    eventually(|| bus.stats().live_queues == 0 || bus.stats().active_subscriptions == 0).await;
}

#[test]
fn handlers_need_a_runtime() {
    let bus = EventBus::new();
    let err = bus
        .subscribe_handler("x", EventHandler::from_fn(|_| Ok(())))
        .unwrap_err();
    assert!(matches!(err, EventError::NoRuntime));
}

#[tokio::test]
async fn dropping_the_bus_stops_handler_tasks() {
    let bus = EventBus::new();
    let marker = Arc::new(());
    let m = Arc::clone(&marker);
    let _guard = bus
        .subscribe_handler(
            "x",
            EventHandler::from_fn(move |_| {
                let _keep = &m;
                Ok(())
            }),
        )
        .unwrap();
    assert_eq!(Arc::strong_count(&marker), 2);
    drop(bus);
    // The task is aborted; its handler (and the clone it holds) is freed.
    eventually(|| Arc::strong_count(&marker) == 1).await;
}

#[tokio::test]
async fn dropping_the_guard_unsubscribes_and_stops_the_handler() {
    let bus = EventBus::new();
    let seen = Arc::new(AtomicU64::new(0));
    let marker = Arc::new(());
    let (s, m) = (Arc::clone(&seen), Arc::clone(&marker));
    let guard = bus
        .subscribe_handler(
            "x",
            EventHandler::from_fn(move |_| {
                let _keep = &m;
                s.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }),
        )
        .unwrap();
    let id = guard.id();
    assert_eq!(bus.subscription_ids(), vec![id]);
    bus.publish(ev("x", 1)).await.unwrap();
    eventually(|| seen.load(Ordering::SeqCst) == 1).await;
    drop(guard);
    assert!(bus.subscription_ids().is_empty());
    assert!(!bus.unsubscribe(id), "already gone");
    bus.publish(ev("x", 2)).await.unwrap();
    // The task was aborted: its handler (and the clone it holds) is freed.
    eventually(|| Arc::strong_count(&marker) == 1).await;
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn guard_unsubscribe_reports_and_detach_keeps_the_handler() {
    let bus = EventBus::new();
    let guard = bus
        .subscribe_handler("x", EventHandler::from_fn(|_| Ok(())))
        .unwrap();
    assert!(guard.unsubscribe());
    assert_eq!(bus.subscription_count(), 0);

    let guard = bus
        .subscribe_handler("x", EventHandler::from_fn(|_| Ok(())))
        .unwrap();
    // Unsubscribed by id while the guard lives: the guard's drop is a no-op.
    assert!(bus.unsubscribe(guard.id()));
    drop(guard);

    let id = bus
        .subscribe_handler("x", EventHandler::from_fn(|_| Ok(())))
        .unwrap()
        .detach();
    assert_eq!(bus.subscription_ids(), vec![id]);
    assert!(bus.unsubscribe(id));

    // A guard outliving its bus drops quietly.
    let guard = bus
        .subscribe_handler("x", EventHandler::from_fn(|_| Ok(())))
        .unwrap();
    drop(bus);
    drop(guard);
}
