//! Black-box tests of llmspell-events, one module per area.

mod bus;
mod bytes;
mod durable;
mod event;
mod flow;
mod handlers;
mod metrics;
mod overflow;
mod pattern;
mod publish;
mod store;
mod streams;

use llmspell_events::UniversalEvent;

/// An event of type `t` carrying the number `n`.
fn ev(t: &str, n: u64) -> UniversalEvent {
    UniversalEvent::new(t, serde_json::json!(n))
}
