use chrono::{TimeZone, Utc};
use futures::StreamExt;
use llmspell_events::{Durability, EventBus, EventPattern, EventQuery, EventStore, UniversalEvent};
use llmspell_storage::{MemoryBackend, SledBackend, StorageBackend};
use serde_json::json;
use std::sync::Arc;

fn at(secs: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

fn seqs(events: &[UniversalEvent]) -> Vec<u64> {
    events.iter().map(|e| e.sequence).collect()
}

/// Publishes 30 events: types cycle through three, timestamps one second
/// apart, every third event correlated with `corr`.
async fn fill(bus: &EventBus, corr: uuid::Uuid) {
    let types = ["tool.started", "tool.finished", "agent.failed"];
    for i in 0..30i64 {
        let mut b = UniversalEvent::builder(types[(i % 3) as usize])
            .data(json!({"i": i, "f": 0.1 + i as f64}))
            .timestamp(at(i));
        if i % 3 == 0 {
            b = b.correlation_id(corr);
        }
        bus.publish(b.build()).await.unwrap();
    }
}

#[tokio::test]
async fn persists_reopens_queries_each_way_and_replays_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let corr = uuid::Uuid::new_v4();
    let written: Vec<UniversalEvent> = {
        let backend: Arc<dyn StorageBackend> = Arc::new(SledBackend::open(dir.path()).unwrap());
        let store = EventStore::open(backend).await.unwrap();
        assert_eq!(store.next_sequence(), 1);
        let bus = EventBus::builder().store(store.clone()).build();
        let mut sub = bus.subscribe("*").unwrap();
        fill(&bus, corr).await;
        store.flush().await.unwrap();
        let mut got = Vec::new();
        while let Some(e) = sub.try_recv() {
            got.push((*e).clone());
        }
        got
    };
    assert_eq!(seqs(&written), (1..=30).collect::<Vec<_>>());

    // Reopen: the sequence continues, and everything reads back exactly.
    let backend: Arc<dyn StorageBackend> = Arc::new(SledBackend::open(dir.path()).unwrap());
    let store = EventStore::open(backend).await.unwrap();
    assert_eq!(store.next_sequence(), 31);
    let all = store.query(&EventQuery::all()).await.unwrap();
    assert_eq!(all, written);

    let q = |q: EventQuery| {
        let store = store.clone();
        async move { seqs(&store.query(&q).await.unwrap()) }
    };
    let p = |s: &str| EventPattern::new(s).unwrap();
    // By pattern: exact, prefix, glob, glob without a literal prefix.
    assert_eq!(
        q(EventQuery::all().pattern(p("agent.failed"))).await,
        (3..=30).step_by(3).collect::<Vec<_>>()
    );
    assert_eq!(q(EventQuery::all().pattern(p("tool.*"))).await.len(), 20);
    assert_eq!(
        q(EventQuery::all().pattern(p("tool.*ed")).limit(3)).await,
        vec![1, 2, 4]
    );
    assert_eq!(
        q(EventQuery::all().pattern(p("*.failed")).limit(2)).await,
        vec![3, 6]
    );
    // By time range (half open).
    assert_eq!(
        q(EventQuery::all().time_range(at(10), at(13))).await,
        vec![11, 12, 13]
    );
    assert_eq!(q(EventQuery::all().since(at(28))).await, vec![29, 30]);
    assert_eq!(q(EventQuery::all().before(at(1))).await, vec![1]);
    // By correlation id.
    assert_eq!(
        q(EventQuery::all().correlation_id(corr)).await,
        (1..=30).step_by(3).collect::<Vec<_>>()
    );
    assert!(q(EventQuery::all().correlation_id(uuid::Uuid::new_v4()))
        .await
        .is_empty());
    // By sequence range, with a limit.
    assert_eq!(q(EventQuery::all().sequences(5..9)).await, vec![5, 6, 7, 8]);
    assert_eq!(
        q(EventQuery::all().sequences(25..).limit(2)).await,
        vec![25, 26]
    );
    assert_eq!(q(EventQuery::all().sequences(..=2)).await, vec![1, 2]);
    // Combined filters.
    assert_eq!(
        q(EventQuery::all()
            .correlation_id(corr)
            .pattern(p("tool.*"))
            .sequences(2..))
        .await,
        vec![4, 7, 10, 13, 16, 19, 22, 25, 28]
    );
    assert_eq!(store.get(7).await.unwrap().unwrap(), written[6]);
    assert!(store.get(99).await.unwrap().is_none());

    // Replay as a stream, in order.
    let replayed: Vec<_> = store
        .replay(EventQuery::all().sequences(10..))
        .map(|e| e.unwrap().sequence)
        .collect()
        .await;
    assert_eq!(replayed, (10..=30).collect::<Vec<_>>());

    // Replay into a bus: original sequences, in order, not stored again.
    let bus = EventBus::builder().store(store.clone()).build();
    assert_eq!(bus.next_sequence(), 31);
    let mut sub = bus.subscribe("tool.*").unwrap();
    let n = bus
        .replay(&store, EventQuery::all().pattern(p("tool.*")))
        .await
        .unwrap();
    assert_eq!(n, 20);
    let mut got = Vec::new();
    while let Some(e) = sub.try_recv() {
        got.push(e.sequence);
    }
    assert_eq!(got, q(EventQuery::all().pattern(p("tool.*"))).await);
    assert_eq!(store.next_sequence(), 31);
    // New events continue the sequence.
    let r = bus
        .publish(UniversalEvent::new("tool.started", json!(null)))
        .await
        .unwrap();
    assert_eq!(r.sequence, 31);
}

#[tokio::test]
async fn a_bus_with_a_store_persists_before_publish_returns() {
    let backend: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    let store = EventStore::open_with(Arc::clone(&backend), Durability::Flushed)
        .await
        .unwrap();
    let bus = EventBus::builder().store(store.clone()).build();
    for i in 0..5 {
        let r = bus.publish(crate::ev("x", i)).await.unwrap();
        assert!(store.get(r.sequence).await.unwrap().is_some());
    }
    // A flushed store always waits for the disk: try_publish refuses it.
    assert!(matches!(
        bus.try_publish(crate::ev("x", 5)),
        Err(llmspell_events::EventError::WouldBlock { .. })
    ));
    let written = EventBus::builder()
        .store(EventStore::open(Arc::clone(&backend)).await.unwrap())
        .build();
    let r = written.try_publish(crate::ev("x", 5)).unwrap();
    assert_eq!(store.get(r.sequence).await.unwrap().unwrap().data, json!(5));
    // Large pages: more than one page of scanning.
    drop(bus);
    for i in 0..1_200 {
        written.publish(crate::ev("y", i)).await.unwrap();
    }
    let all = store.query(&EventQuery::all()).await.unwrap();
    assert_eq!(seqs(&all), (1..=1_206).collect::<Vec<_>>());
    let ys = store
        .query(&EventQuery::all().pattern("y".parse().unwrap()).limit(1_000))
        .await
        .unwrap();
    assert_eq!(ys.len(), 1_000);
    assert_eq!(ys[0].sequence, 7);
}

#[tokio::test]
async fn sequences_continue_after_a_reopen_with_a_large_gap() {
    let backend: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    let store = EventStore::open(Arc::clone(&backend)).await.unwrap();
    let mut e = crate::ev("z", 0);
    e.sequence = 1 << 40;
    store.append(&e).await.unwrap();
    let reopened = EventStore::open(backend).await.unwrap();
    assert_eq!(reopened.next_sequence(), (1 << 40) + 1);
}

#[tokio::test]
async fn index_entries_without_a_record_are_skipped() {
    let backend: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    let store = EventStore::open(Arc::clone(&backend)).await.unwrap();
    store.append(&crate::ev("k.a", 1)).await.unwrap();
    // What an append interrupted before its record would leave behind.
    let mut orphan = b"ev/y/k.b\0".to_vec();
    orphan.extend_from_slice(&2u64.to_be_bytes());
    backend.set(&orphan, &[]).await.unwrap();
    let found = store
        .query(&EventQuery::all().pattern("k.*".parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(seqs(&found), vec![1]);
    assert_eq!(EventStore::open(backend).await.unwrap().next_sequence(), 2);
}
