//! The NATS transport against a real `nats-server -js` on a random
//! loopback port (skipped with a notice when it is not installed, unless
//! `LLMSPELL_REQUIRE_NATS=1`).

mod cloudevents;
mod core;
mod jetstream;

use std::time::Duration;

use llmspell_events::nats::{NatsConfig, NatsServer, NatsTransport};
use llmspell_events::{EventBus, Subscription, UniversalEvent};

/// A server, or `None` (skip) when nats-server is not installed.
pub(crate) fn server() -> Option<NatsServer> {
    NatsServer::start().expect("nats-server must start")
}

pub(crate) async fn attach(config: NatsConfig, bus: &EventBus) -> NatsTransport {
    let t = NatsTransport::connect(config).await.expect("connect");
    t.attach(bus).await.expect("attach");
    t
}

/// Every event the subscription receives until `n` arrived or `limit`
/// passed without one.
pub(crate) async fn collect(
    sub: &mut Subscription,
    n: usize,
    idle: Duration,
) -> Vec<UniversalEvent> {
    let mut out = Vec::new();
    while out.len() < n {
        match sub.recv_timeout(idle).await {
            Some(e) => out.push((*e).clone()),
            None => break,
        }
    }
    out
}
