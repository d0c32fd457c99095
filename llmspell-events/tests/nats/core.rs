//! Core NATS: two buses in two processes, patterns, no loop-back.

use std::process::Stdio;
use std::time::Duration;

use llmspell_events::nats::{NatsConfig, NatsTransport};
use llmspell_events::{EventBus, UniversalEvent};
use serde_json::json;

use crate::{attach, collect, server};

const PEER_URL: &str = "LLMSPELL_NATS_PEER_URL";

/// The other process of `two_buses_in_two_processes_exchange_events`: it
/// answers every `main.ping` with a `peer.pong` carrying the same `n`,
/// and exits on `main.done`. A no-op when run as an ordinary test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_process() {
    let Ok(url) = std::env::var(PEER_URL) else {
        return;
    };
    let bus = EventBus::new();
    let mut inbox = bus.subscribe("main.*").unwrap();
    let transport = attach(
        NatsConfig::new(url)
            .node_id("peer")
            .export("peer.*")
            .import("main.*"),
        &bus,
    )
    .await;
    println!("READY");
    while let Some(e) = inbox.recv_timeout(Duration::from_secs(20)).await {
        assert_eq!(e.metadata.origin.as_deref(), Some("main"));
        if e.event_type == "main.done" {
            break;
        }
        bus.publish(UniversalEvent::new("peer.pong", json!({"n": e.data["n"]})))
            .await
            .unwrap();
    }
    transport.flush().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_buses_in_two_processes_exchange_events_both_ways() {
    let Some(server) = server() else { return };
    let bus = EventBus::new();
    let mut pongs = bus.subscribe("peer.*").unwrap();
    let mut own = bus.subscribe("main.*").unwrap();
    let transport = attach(
        NatsConfig::new(server.url())
            .node_id("main")
            .export("main.*")
            .import("peer.*"),
        &bus,
    )
    .await;
    let mut peer = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "core::peer_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PEER_URL, server.url())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Wait until the peer is subscribed.
    {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(peer.stdout.take().unwrap()).lines();
        loop {
            let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
                .await
                .expect("peer ready in time")
                .unwrap()
                .expect("peer printed READY");
            if line.contains("READY") {
                break;
            }
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    }
    for n in 0..20 {
        bus.publish(UniversalEvent::new("main.ping", json!({"n": n})))
            .await
            .unwrap();
    }
    // Not exported: no pattern matches it.
    bus.publish(UniversalEvent::new("private.note", json!({})))
        .await
        .unwrap();
    let got = collect(&mut pongs, 20, Duration::from_secs(10)).await;
    let ns: Vec<_> = got.iter().map(|e| e.data["n"].as_i64().unwrap()).collect();
    assert_eq!(
        ns,
        (0..20).collect::<Vec<_>>(),
        "every ping answered, in order"
    );
    assert!(got
        .iter()
        .all(|e| e.metadata.origin.as_deref() == Some("peer")));
    bus.publish(UniversalEvent::new("main.done", json!({})))
        .await
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), peer.wait())
        .await
        .expect("peer exits")
        .unwrap();
    assert!(status.success(), "the peer process failed: {status}");
    // Our own events reached our subscriber once each: none came back.
    let own_events = collect(&mut own, 100, Duration::from_millis(300)).await;
    assert_eq!(own_events.len(), 21);
    assert!(own_events.iter().all(|e| e.metadata.origin.is_none()));
    let stats = transport.stats();
    assert_eq!(stats.exported, 21);
    assert_eq!(stats.imported, 20);
    assert_eq!(
        collect(&mut pongs, 1, Duration::from_millis(200))
            .await
            .len(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_never_loops_back_or_bounces() {
    let Some(server) = server() else { return };
    let (a, b) = (EventBus::new(), EventBus::new());
    let mut at_a = a.subscribe("x.*").unwrap();
    let mut at_b = b.subscribe("x.*").unwrap();
    // Both export and import the same patterns.
    let config = |id: &str| {
        NatsConfig::new(server.url())
            .node_id(id)
            .export("x.*")
            .import("x.*")
    };
    let ta = attach(config("a"), &a).await;
    let tb = attach(config("b"), &b).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    a.publish(UniversalEvent::new("x.hello", json!(1)))
        .await
        .unwrap();
    let got_b = collect(&mut at_b, 10, Duration::from_millis(500)).await;
    let got_a = collect(&mut at_a, 10, Duration::from_millis(200)).await;
    assert_eq!(got_b.len(), 1, "b receives it once");
    assert_eq!(got_b[0].metadata.origin.as_deref(), Some("a"));
    assert_eq!(
        got_a.len(),
        1,
        "a sees only its own local publish: {got_a:?}"
    );
    assert_eq!(ta.stats().own_skipped, 1, "a dropped its own message");
    assert_eq!(
        tb.stats().exported,
        0,
        "b did not send the imported event back out"
    );
    assert_eq!(ta.stats().imported, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patterns_wider_than_nats_wildcards_are_filtered_locally() {
    let Some(server) = server() else { return };
    let (a, b) = (EventBus::new(), EventBus::new());
    let mut at_b = b.subscribe("*").unwrap();
    let _ta = attach(NatsConfig::new(server.url()).node_id("a").export("*"), &a).await;
    let tb = attach(
        NatsConfig::new(server.url())
            .node_id("b")
            .import("agent.*.failed")
            .import("user input.*"),
        &b,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    for t in [
        "agent.planner.failed",
        "agent.planner.done",
        "agent.a.b.failed",
        "user input.typed",
        "user input",
        "tool.x",
    ] {
        a.publish(UniversalEvent::new(t, json!(t))).await.unwrap();
    }
    let mut got: Vec<_> = collect(&mut at_b, 10, Duration::from_millis(500))
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    // Two NATS subscriptions (`agent.>`, `user~...>`): order is kept
    // within each, not across them.
    got.sort();
    assert_eq!(
        got,
        [
            "agent.a.b.failed",
            "agent.planner.failed",
            "user input.typed"
        ]
    );
    assert_eq!(
        tb.stats().ignored,
        1,
        "agent.planner.done came in (wider filter) and was dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudevents_from_another_producer_reach_the_bus() {
    let Some(server) = server() else { return };
    let bus = EventBus::new();
    let mut sub = bus.subscribe("orders.*").unwrap();
    let t = attach(NatsConfig::new(server.url()).import("orders.*"), &bus).await;
    let raw = async_nats::connect(server.url()).await.unwrap();
    let ce = json!({
        "specversion": "1.0", "id": "o-1", "source": "shop", "type": "orders.created",
        "datacontenttype": "application/json", "data": {"order": 7}
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    raw.publish("llmspell.orders.created", ce.to_string().into())
        .await
        .unwrap();
    raw.publish("llmspell.orders.garbage", "not json".into())
        .await
        .unwrap();
    raw.flush().await.unwrap();
    let got = collect(&mut sub, 2, Duration::from_millis(500)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data, json!({"order": 7}));
    assert_eq!(got[0].metadata.source.as_deref(), Some("shop"));
    assert_eq!(t.stats().ignored, 1);
    // And our events can be read by a plain NATS client as CloudEvents.
    let mut plain = raw.subscribe("llmspell.>").await.unwrap();
    raw.flush().await.unwrap();
    let out = NatsTransport::connect(NatsConfig::new(server.url()))
        .await
        .unwrap();
    out.publish(&UniversalEvent::new("orders.shipped", json!({"order": 7})))
        .await
        .unwrap();
    out.flush().await.unwrap();
    use futures::StreamExt;
    let msg = tokio::time::timeout(Duration::from_secs(5), plain.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(msg.subject.as_str(), "llmspell.orders.shipped");
    let v: serde_json::Value = serde_json::from_slice(&msg.payload).unwrap();
    assert_eq!(v["specversion"], "1.0");
    assert_eq!(v["type"], "orders.shipped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_and_unreachable_servers_are_named() {
    let err = NatsTransport::connect(NatsConfig::new("nats://127.0.0.1:1"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("nats://127.0.0.1:1") && err.contains("nats-server"),
        "{err}"
    );
    let err = NatsTransport::connect(NatsConfig::new("nats://127.0.0.1:1").prefix("a b"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("prefix"), "{err}");
}

/// `close` drains: events the bridge took from the bus before it are all
/// sent and received by the server (here: delivered to a second bus)
/// before it returns; afterwards the transport refuses work, and closing
/// again is a no-op.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_sends_every_pending_event_before_returning() {
    let Some(server) = server() else { return };
    const N: usize = 2_000;
    let (a, b) = (EventBus::new(), EventBus::new());
    let mut inbox = b.subscribe("drain.*").unwrap();
    let tb = attach(
        NatsConfig::new(server.url()).node_id("b").import("drain.*"),
        &b,
    )
    .await;
    let ta = attach(
        NatsConfig::new(server.url()).node_id("a").export("drain.*"),
        &a,
    )
    .await;
    for i in 0..N {
        a.publish(UniversalEvent::new("drain.step", json!({"i": i})))
            .await
            .unwrap();
    }
    // No flush: close alone must send what the bridge holds.
    ta.close().await.unwrap();
    assert_eq!(ta.stats().exported, N as u64);
    let got = collect(&mut inbox, N, Duration::from_secs(5)).await;
    assert_eq!(got.len(), N, "events lost by close");
    for (i, e) in got.iter().enumerate() {
        assert_eq!(e.data["i"], i, "in order");
    }
    ta.close().await.unwrap();
    assert!(ta.attach(&EventBus::new()).await.is_err());
    assert!(ta
        .publish(&UniversalEvent::new("drain.late", json!({})))
        .await
        .is_err());
    tb.close().await.unwrap();
}
