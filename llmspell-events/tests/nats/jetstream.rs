//! JetStream: acknowledged publishing, durable consumers, restarts, replay.

use std::collections::HashSet;
use std::time::Duration;

use llmspell_events::nats::{JetStreamConfig, NatsConfig, NatsTransport, ReplayStart};
use llmspell_events::{EventBus, EventError, OverflowStrategy, SubscriptionConfig, UniversalEvent};
use serde_json::json;

use crate::{attach, collect, server};

fn durable(url: &str) -> NatsConfig {
    NatsConfig::new(url).jetstream(JetStreamConfig::new())
}

async fn consumer_settled(url: &str, stream: &str, consumer: &str, upto: u64) {
    let js = async_nats::jetstream::new(async_nats::connect(url).await.unwrap());
    let stream = js.get_stream(stream).await.unwrap();
    let mut c: async_nats::jetstream::consumer::PullConsumer =
        stream.get_consumer(consumer).await.unwrap();
    for _ in 0..200 {
        let info = c.info().await.unwrap();
        if info.num_ack_pending == 0 && info.ack_floor.stream_sequence >= upto {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("consumer {consumer} did not acknowledge up to {upto}");
}

/// Waits until no pull request of a stopped process is left on the
/// consumer. A pull request outlives its process until it expires (5 s):
/// the server can deliver a new message to it, and that message comes back
/// only after the ack wait (30 s). A restart that happens later resumes at
/// once; that is what the restart test checks.
async fn no_pull_waiting(url: &str, stream: &str, consumer: &str) {
    let js = async_nats::jetstream::new(async_nats::connect(url).await.unwrap());
    let stream = js.get_stream(stream).await.unwrap();
    let mut c: async_nats::jetstream::consumer::PullConsumer =
        stream.get_consumer(consumer).await.unwrap();
    for _ in 0..400 {
        if c.info().await.unwrap().num_waiting == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("consumer {consumer} still has waiting pull requests after 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_durable_consumer_gets_every_acknowledged_event_exactly_once() {
    let Some(server) = server() else { return };
    let url = server.url();
    let publisher = NatsTransport::connect(durable(&url).node_id("pub"))
        .await
        .unwrap();
    let consumer_config = || {
        NatsConfig::new(&url)
            .node_id("sub")
            .import("job.*")
            .jetstream(JetStreamConfig::new().consumer("worker"))
    };
    let mut ids = Vec::new();
    let mut publish = async |n: usize| {
        for i in 0..n {
            let e = UniversalEvent::new("job.step", json!({"i": i}));
            let p = publisher.publish(&e).await.unwrap();
            assert!(p.stream_sequence.is_some() && !p.duplicate);
            ids.push(e.id);
        }
    };
    publish(50).await;

    let bus = EventBus::new();
    let mut sub = bus.subscribe("job.*").unwrap();
    let first = attach(consumer_config(), &bus).await;
    let mut seen = collect(&mut sub, 50, Duration::from_secs(10)).await;
    assert_eq!(seen.len(), 50);
    consumer_settled(&url, "LLMSPELL", "worker", 50).await;
    drop(first);
    drop(sub);
    no_pull_waiting(&url, "LLMSPELL", "worker").await;

    // Published while no consumer runs.
    publish(30).await;
    let bus = EventBus::new();
    let mut sub = bus.subscribe("job.*").unwrap();
    let second = attach(consumer_config(), &bus).await;
    let rest = collect(&mut sub, 100, Duration::from_secs(2)).await;
    assert_eq!(rest.len(), 30, "resumes after the last acknowledged event");
    seen.extend(rest);
    let got: Vec<_> = seen.iter().map(|e| e.id).collect();
    assert_eq!(got, ids, "every event once, in order");
    assert!(seen
        .iter()
        .all(|e| e.metadata.origin.as_deref() == Some("pub")));
    assert_eq!(settled_count(|| second.stats().imported, 30).await, 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_killed_and_restarted_mid_stream_loses_no_acknowledged_event() {
    let Some(mut server) = server() else { return };
    let url = server.url();
    let publisher = NatsTransport::connect(
        durable(&url)
            .node_id("pub")
            .publish_timeout(Duration::from_secs(20)),
    )
    .await
    .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut acked = Vec::new();
        for i in 0..300 {
            let e = UniversalEvent::new("job.step", json!({"i": i}));
            match publisher.publish(&e).await {
                Ok(_) => acked.push(e.id),
                Err(err) => panic!("durable publish {i} failed: {err}"),
            }
            let _ = tx.send(i);
        }
        (publisher, acked)
    });
    // Kill it once a third is through.
    while let Some(i) = rx.recv().await {
        if i == 100 {
            break;
        }
    }
    server.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.restart().unwrap();
    let (publisher, acked) = tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("publishing finishes after the restart")
        .unwrap();
    assert_eq!(acked.len(), 300);
    let stored = publisher.read(ReplayStart::All, None, None).await.unwrap();
    let stored_ids: Vec<_> = stored.iter().map(|s| s.event.id).collect();
    let unique: HashSet<_> = stored_ids.iter().collect();
    assert_eq!(
        unique.len(),
        stored_ids.len(),
        "no duplicates in the stream"
    );
    assert_eq!(
        stored_ids, acked,
        "every acknowledged event, once, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_publish_without_a_server_fails_clearly_in_bounded_time() {
    let Some(mut server) = server() else { return };
    let t = NatsTransport::connect(durable(&server.url()).publish_timeout(Duration::from_secs(1)))
        .await
        .unwrap();
    server.kill();
    let started = std::time::Instant::now();
    let err = t
        .publish(&UniversalEvent::new("job.step", json!(1)))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(err, EventError::Transport { .. }));
    let text = err.to_string();
    assert!(
        text.contains("did not acknowledge") && text.contains("may not be stored"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_local_consumer_gets_everything_in_order() {
    let Some(server) = server() else { return };
    let url = server.url();
    let source = EventBus::new();
    let exporter = attach(durable(&url).node_id("fast").export("load.*"), &source).await;
    let sink = EventBus::new();
    // A small queue that makes the importer wait for the slow reader.
    let mut slow = sink
        .subscribe_with(
            "load.*",
            SubscriptionConfig::new()
                .capacity(4)
                .overflow(OverflowStrategy::Block {
                    timeout: Duration::from_secs(30),
                }),
        )
        .unwrap();
    let importer = attach(
        NatsConfig::new(&url)
            .node_id("slow")
            .import("load.*")
            .jetstream(JetStreamConfig::new().consumer("slow")),
        &sink,
    )
    .await;
    for i in 0..300 {
        source
            .publish(UniversalEvent::new("load.tick", json!(i)))
            .await
            .unwrap();
    }
    exporter.flush().await.unwrap();
    assert_eq!(exporter.stats().exported, 300);
    let mut got = Vec::new();
    while got.len() < 300 {
        let Some(e) = slow.recv_timeout(Duration::from_secs(10)).await else {
            break;
        };
        got.push(e.data.as_i64().unwrap());
        if got.len() % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(got, (0..300).collect::<Vec<_>>());
    assert_eq!(sink.stats().dropped.total(), 0);
    assert_eq!(settled_count(|| importer.stats().imported, 300).await, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_from_a_sequence_and_from_a_time() {
    let Some(server) = server() else { return };
    let t = NatsTransport::connect(durable(&server.url()))
        .await
        .unwrap();
    let mut seqs = Vec::new();
    for i in 0..10 {
        let kind = if i % 2 == 0 { "a.even" } else { "b.odd" };
        let p = t
            .publish(&UniversalEvent::new(kind, json!(i)))
            .await
            .unwrap();
        seqs.push(p.stream_sequence.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let since = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(50)).await;
    for i in 10..15 {
        t.publish(&UniversalEvent::new("a.even", json!(i)))
            .await
            .unwrap();
    }
    let values = |v: Vec<llmspell_events::nats::StoredEvent>| -> Vec<i64> {
        v.into_iter()
            .map(|s| s.event.data.as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        values(
            t.read(ReplayStart::Sequence(seqs[7]), None, None)
                .await
                .unwrap()
        ),
        (7..15).collect::<Vec<_>>()
    );
    assert_eq!(
        values(t.read(ReplayStart::Time(since), None, None).await.unwrap()),
        (10..15).collect::<Vec<_>>()
    );
    assert_eq!(
        values(t.read(ReplayStart::All, Some("b.*"), None).await.unwrap()),
        vec![1, 3, 5, 7, 9]
    );
    assert_eq!(
        values(t.read(ReplayStart::All, None, Some(3)).await.unwrap()),
        vec![0, 1, 2]
    );
    assert!(t
        .read(ReplayStart::Sequence(1000), None, None)
        .await
        .unwrap()
        .is_empty());
    // Into a bus.
    let bus = EventBus::new();
    let mut sub = bus.subscribe("*").unwrap();
    assert_eq!(
        t.replay(&bus, ReplayStart::Time(since), None)
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        collect(&mut sub, 10, Duration::from_millis(200))
            .await
            .len(),
        5
    );
    // Core mode stores nothing and says so.
    let core = NatsTransport::connect(NatsConfig::new(server.url()))
        .await
        .unwrap();
    let err = core
        .read(ReplayStart::All, None, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("core mode"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_durable_consumer_reconnects_after_a_server_restart_and_resumes() {
    let Some(mut server) = server() else { return };
    let url = server.url();
    let publisher = NatsTransport::connect(
        durable(&url)
            .node_id("pub")
            .publish_timeout(Duration::from_secs(20)),
    )
    .await
    .unwrap();
    let bus = EventBus::new();
    let mut sub = bus.subscribe("job.*").unwrap();
    let importer = attach(
        NatsConfig::new(&url)
            .node_id("sub")
            .import("job.*")
            .jetstream(JetStreamConfig::new().consumer("resilient")),
        &bus,
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let e = UniversalEvent::new("job.step", json!(i));
        publisher.publish(&e).await.unwrap();
        ids.push(e.id);
    }
    let mut got = collect(&mut sub, 20, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 20);
    consumer_settled(&url, "LLMSPELL", "resilient", 20).await;
    server.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.restart().unwrap();
    for i in 20..40 {
        let e = UniversalEvent::new("job.step", json!(i));
        publisher.publish(&e).await.unwrap();
        ids.push(e.id);
    }
    got.extend(collect(&mut sub, 20, Duration::from_secs(20)).await);
    let got_ids: Vec<_> = got.iter().map(|e| e.id).collect();
    assert_eq!(got_ids, ids, "nothing lost or repeated across the restart");
    assert_eq!(settled_count(|| importer.stats().imported, 40).await, 40);
}

/// The import counter is bumped after the event is in the bus, so a
/// subscriber can see the event first: waits (up to 5 s) for `read` to
/// reach `want`, then returns what it reads.
async fn settled_count(read: impl Fn() -> u64, want: u64) -> u64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while read() < want && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    read()
}
