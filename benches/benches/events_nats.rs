//! Events between two buses through NATS, core and JetStream, against a
//! bare `async-nats` publish/subscribe loop moving the same CloudEvents in
//! the same run; the local bus alone for reference.
//!
//! Each run moves `N` events from a publisher to a subscriber and is timed
//! from the first publish to the last receipt; per-event latency is the
//! receipt time minus the publish time of the same event (under load, so
//! it includes queueing). Subject and baseline are timed interleaved
//! inside one `iter_custom`.
//!
//! - core: bus A (`export bench.*`) → NATS → bus B (`import bench.*`) →
//!   subscriber, vs a client publishing the CloudEvents and a second
//!   client's subscription receiving them.
//! - JetStream: A's acknowledged, pipelined export → stream → B's durable
//!   pull consumer (acknowledging each event) → subscriber, vs
//!   `send_publish` with the same message ids and up to 256 acks in flight
//!   → a pull consumer acknowledging each message.
//!
//! Both bare loops do the serialization the wire format makes unavoidable
//! for anyone exchanging these events, and nothing more: the publisher
//! encodes each event as a CloudEvents JSON message as it sends it
//! (`cloudevent::encode_with_origin`, the bytes the bridge sends), and the
//! receiver decodes each message back into the event
//! (`cloudevent::decode`) before counting it received. (Until issue 18's
//! performance pass the bare loops sent bytes encoded before the clock
//! started and never decoded them, so the ratio charged the bridge for
//! the wire format itself.) What the ratio measures is then what the
//! bridge adds: the two buses, its tasks, subjects and loop-back checks.
//!
//! Both sides start timing only once their subscriptions are registered
//! at the server (a round trip on the subscribing connection: the
//! bridge's `attach` makes it, the bare loop calls `round_trip`);
//! `Client::flush` alone only writes the socket, and the first events of
//! a run then sometimes reached the server before the subscription and
//! were lost (NATS core delivers to whoever is subscribed). A run that
//! still loses events stops with a message naming the side and its
//! counters.
//!
//! Budgets: `ratio events_nats/core = bridge / bare <= 1.5` and
//! `ratio events_nats/jetstream = bridge / bare <= 1.5`.
//!
//! Starts its own `nats-server -js` on a random loopback port; prints a
//! message and measures nothing when it is not installed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use futures::StreamExt;
use llmspell_events::nats::{JetStreamConfig, NatsConfig, NatsServer, NatsTransport};
use llmspell_events::{cloudevent, EventBus, OverflowStrategy, SubscriptionConfig, UniversalEvent};
use tokio::runtime::Runtime;

const BUDGET: f64 = 1.5;

fn events(n: usize) -> Vec<UniversalEvent> {
    (0..n)
        .map(|i| {
            UniversalEvent::builder("bench.tool.progress")
                .data(serde_json::json!({"tool": "calculator", "step": i}))
                .build()
        })
        .collect()
}

/// Elapsed time and the sorted per-event latencies of one run.
struct Run {
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// `side` names the loop in the loss message, with what it knows about
/// where the events went (`detail`).
fn finish(
    side: &str,
    start: Instant,
    sent: &[Instant],
    received: &[Instant],
    detail: impl FnOnce() -> String,
) -> Run {
    assert!(
        received.len() == sent.len(),
        "events were lost on the {side} side: {} of {} received ({} lost); {}",
        received.len(),
        sent.len(),
        sent.len().saturating_sub(received.len()),
        detail(),
    );
    let mut latencies: Vec<Duration> = sent
        .iter()
        .zip(received)
        .map(|(s, r)| r.saturating_duration_since(*s))
        .collect();
    latencies.sort_unstable();
    Run {
        elapsed: received.last().map_or(Duration::ZERO, |r| *r - start),
        latencies,
    }
}

fn sub_config(n: usize) -> SubscriptionConfig {
    SubscriptionConfig::new()
        .capacity(n.max(1))
        .overflow(OverflowStrategy::Block {
            timeout: Duration::from_secs(60),
        })
}

async fn receive_bus(mut sub: llmspell_events::Subscription, n: usize) -> Vec<Instant> {
    let mut at = Vec::with_capacity(n);
    while at.len() < n {
        match tokio::time::timeout(Duration::from_secs(30), sub.recv()).await {
            Ok(Some(_)) => at.push(Instant::now()),
            _ => break,
        }
    }
    at
}

async fn publish_bus(bus: &EventBus, events: Vec<UniversalEvent>) -> Vec<Instant> {
    let mut at = Vec::with_capacity(events.len());
    for e in events {
        at.push(Instant::now());
        bus.publish(e).await.expect("publish");
    }
    at
}

fn local_run(rt: &Runtime, events: Vec<UniversalEvent>) -> Run {
    let n = events.len();
    rt.block_on(async move {
        let bus = EventBus::new();
        let sub = bus
            .subscribe_with("bench.*", sub_config(n))
            .expect("subscribe");
        let start = Instant::now();
        let rx = tokio::spawn(receive_bus(sub, n));
        let sent = publish_bus(&bus, events).await;
        let got = rx.await.expect("receiver");
        finish("local bus", start, &sent, &got, || {
            format!("bus drops {:?}", bus.stats().dropped)
        })
    })
}

/// Two bridged buses; `durable`: JetStream with a consumer named `consumer`.
fn bridge_run(rt: &Runtime, url: &str, events: Vec<UniversalEvent>, durable: Option<&str>) -> Run {
    let n = events.len();
    rt.block_on(async move {
        let (a, b) = (EventBus::new(), EventBus::new());
        let mut out = NatsConfig::new(url).node_id("a").export("bench.*");
        let mut inp = NatsConfig::new(url).node_id("b").import("bench.*");
        if let Some(name) = durable {
            out = out.jetstream(JetStreamConfig::new().memory(true));
            inp = inp.jetstream(JetStreamConfig::new().memory(true).consumer(name));
        }
        let ta = NatsTransport::connect(out).await.expect("connect a");
        ta.attach(&a).await.expect("attach a");
        let tb = NatsTransport::connect(inp).await.expect("connect b");
        let sub = b
            .subscribe_with("bench.*", sub_config(n))
            .expect("subscribe");
        tb.attach(&b).await.expect("attach b");
        tb.flush().await.expect("flush");
        let start = Instant::now();
        let rx = tokio::spawn(receive_bus(sub, n));
        let sent = publish_bus(&a, events).await;
        let got = rx.await.expect("receiver");
        let side = if durable.is_some() { "bridged JetStream" } else { "bridged core" };
        let run = finish(side, start, &sent, &got, || {
            format!(
                "exporting transport {:?}, importing transport {:?}, drops in bus A {:?}, in bus B {:?}",
                ta.stats(),
                tb.stats(),
                a.stats().dropped,
                b.stats().dropped,
            )
        });
        drop((ta, tb));
        run
    })
}

/// Returns once the server has registered the subscriptions `client`
/// sent: a message to a fresh inbox, sent after them on the same
/// connection, comes back. `Client::flush` only writes the socket; without
/// this the first events could reach the server before the subscription
/// and go to no one (the bridge's `attach` makes the same round trip).
async fn round_trip(client: &async_nats::Client) {
    let inbox = client.new_inbox();
    let mut probe = client.subscribe(inbox.clone()).await.expect("subscribe");
    client.publish(inbox, "".into()).await.expect("publish");
    tokio::time::timeout(Duration::from_secs(10), probe.next())
        .await
        .expect("the server answers")
        .expect("a connection");
}

fn bare_core_run(rt: &Runtime, url: &str, events: &[UniversalEvent]) -> Run {
    let n = events.len();
    rt.block_on(async move {
        let publisher = async_nats::connect(url).await.expect("connect");
        // Counts the client's own drops (a full subscription channel) and
        // its disconnections (the server closes a connection it cannot
        // write to in time: a slow consumer), for the loss message.
        let slow = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        let subscriber = async_nats::ConnectOptions::new()
            .event_callback({
                let slow = Arc::clone(&slow);
                move |event| {
                    let slow = Arc::clone(&slow);
                    async move {
                        match event {
                            async_nats::Event::SlowConsumer(_) => {
                                slow[0].fetch_add(1, Ordering::Relaxed);
                            }
                            async_nats::Event::Disconnected => {
                                slow[1].fetch_add(1, Ordering::Relaxed);
                            }
                            _ => {}
                        }
                    }
                }
            })
            .connect(url)
            .await
            .expect("connect");
        let mut sub = subscriber.subscribe("bare.>").await.expect("subscribe");
        round_trip(&subscriber).await;
        let start = Instant::now();
        let rx = tokio::spawn(async move {
            let mut at = Vec::with_capacity(n);
            while at.len() < n {
                match tokio::time::timeout(Duration::from_secs(30), sub.next()).await {
                    Ok(Some(m)) => {
                        // What any consumer of the CloudEvent does first.
                        let event = cloudevent::decode(&m.payload).expect("a CloudEvent");
                        at.push(Instant::now());
                        drop(std::hint::black_box(event));
                    }
                    _ => break,
                }
            }
            at
        });
        let mut sent = Vec::with_capacity(n);
        for e in events {
            sent.push(Instant::now());
            // The producer encodes each event as it goes (as the bridge must).
            let payload = cloudevent::encode_with_origin(e, "a");
            publisher
                .publish("bare.bench.tool.progress", payload.into())
                .await
                .expect("publish");
        }
        publisher.flush().await.expect("flush");
        let got = rx.await.expect("receiver");
        finish("bare core", start, &sent, &got, || {
            format!(
                "the subscribing client reported {} slow-consumer drops and {} disconnections; NATS core delivers at most once",
                slow[0].load(Ordering::Relaxed),
                slow[1].load(Ordering::Relaxed),
            )
        })
    })
}

fn bare_jetstream_run(rt: &Runtime, url: &str, events: &[UniversalEvent], stream: &str) -> Run {
    let n = events.len();
    let stream = stream.to_owned();
    rt.block_on(async move {
        use async_nats::jetstream::{self, consumer, stream::Config};
        let client = async_nats::connect(url).await.expect("connect");
        let js = jetstream::new(client);
        let subject = format!("{stream}.bench");
        let s = js
            .get_or_create_stream(Config {
                name: stream.clone(),
                subjects: vec![format!("{stream}.>")],
                storage: jetstream::stream::StorageType::Memory,
                ..Default::default()
            })
            .await
            .expect("stream");
        let c: consumer::PullConsumer = s
            .create_consumer(consumer::pull::Config {
                durable_name: Some(format!("{stream}-c")),
                ack_policy: consumer::AckPolicy::Explicit,
                max_ack_pending: 4096,
                ..Default::default()
            })
            .await
            .expect("consumer");
        let start = Instant::now();
        let rx = tokio::spawn(async move {
            let mut messages = c.messages().await.expect("messages");
            let mut at = Vec::with_capacity(n);
            while at.len() < n {
                match tokio::time::timeout(Duration::from_secs(30), messages.next()).await {
                    Ok(Some(Ok(m))) => {
                        let event = cloudevent::decode(&m.payload).expect("a CloudEvent");
                        at.push(Instant::now());
                        drop(std::hint::black_box(event));
                        m.ack().await.expect("ack");
                    }
                    _ => break,
                }
            }
            at
        });
        let mut sent = Vec::with_capacity(n);
        let mut acks = VecDeque::new();
        for e in events {
            sent.push(Instant::now());
            let payload = cloudevent::encode_with_origin(e, "a");
            let ack = js
                .send_publish(
                    subject.clone(),
                    jetstream::message::PublishMessage::build()
                        .payload(payload.into())
                        .message_id(e.id.to_string()),
                )
                .await
                .expect("publish");
            acks.push_back(ack);
            if acks.len() >= 256 {
                if let Some(a) = acks.pop_front() {
                    a.await.expect("ack");
                }
            }
        }
        for a in acks {
            a.await.expect("ack");
        }
        let got = rx.await.expect("receiver");
        finish("bare JetStream", start, &sent, &got, String::new)
    })
}

/// Throughput and latency percentiles over every run of one side.
#[derive(Default)]
struct Stats {
    elapsed: Duration,
    events: u64,
    latencies: Vec<Duration>,
}

impl Stats {
    fn add(&mut self, r: Run) -> Duration {
        self.elapsed += r.elapsed;
        self.events += r.latencies.len() as u64;
        self.latencies.extend(r.latencies);
        r.elapsed
    }

    #[allow(clippy::cast_precision_loss)]
    fn print(&mut self, name: &str) {
        if self.events == 0 {
            return;
        }
        self.latencies.sort_unstable();
        let pct = |p: f64| self.latencies[((self.latencies.len() - 1) as f64 * p) as usize];
        println!(
            "{name}: {:.0} events/s, latency p50 {:?} p99 {:?}",
            self.events as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99),
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = match NatsServer::start() {
        Ok(Some(s)) => s,
        Ok(None) => {
            println!("events_nats: nats-server is not installed; nothing measured");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let url = server.url();
    let quick = !std::env::args().any(|a| a == "--bench");
    let n: usize = if quick { 200 } else { 20_000 };
    let mut run_id = 0u32;
    let mut next = || {
        run_id += 1;
        run_id
    };
    if quick {
        // `cargo test --benches`: each side once, small.
        local_run(&rt, events(n));
        bridge_run(&rt, &url, events(n), None);
        bare_core_run(&rt, &url, &events(n));
        bridge_run(&rt, &url, events(n), Some(&format!("q{}", next())));
        bare_jetstream_run(&rt, &url, &events(n), &format!("BARE{}", next()));
        return;
    }
    let core = llmspell_benches::Tally::new();
    let js = llmspell_benches::Tally::new();
    let (mut local_s, mut core_s, mut bare_s, mut js_s, mut bare_js_s) = Default::default();
    let local_stats: &mut Stats = &mut local_s;
    let mut c = Criterion::default().sample_size(10).configure_from_args();
    c.bench_function("events_nats/core_20k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                local_stats.add(local_run(&rt, events(n)));
                let s = Stats::add(&mut core_s, bridge_run(&rt, &url, events(n), None));
                let t = Stats::add(&mut bare_s, bare_core_run(&rt, &url, &events(n)));
                core.add_count(1);
                core.add_subject(s);
                core.add_baseline(t);
                total += s;
            }
            total
        });
    });
    c.bench_function("events_nats/jetstream_20k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // Each run on a fresh consumer (and a fresh bare stream), so
                // no run starts with another's backlog.
                let name = format!("bench{}", next());
                let s = Stats::add(&mut js_s, bridge_run(&rt, &url, events(n), Some(&name)));
                let bare = format!("BARE{}", next());
                let t = Stats::add(
                    &mut bare_js_s,
                    bare_jetstream_run(&rt, &url, &events(n), &bare),
                );
                js.add_count(1);
                js.add_subject(s);
                js.add_baseline(t);
                total += s;
            }
            total
        });
    });
    c.final_summary();
    local_s.print("local bus");
    core_s.print("bridge, NATS core");
    bare_s.print("bare async-nats, core");
    js_s.print("bridge, JetStream");
    bare_js_s.print("bare async-nats, JetStream");
    core.report("events_nats/core", BUDGET);
    js.report("events_nats/jetstream", BUDGET);
}
