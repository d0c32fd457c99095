//! Events across processes and machines on NATS (cargo feature `nats`).
//!
//! A [`NatsTransport`] bridges a local [`EventBus`](crate::EventBus) to a
//! NATS server:
//!
//! - **Subjects.** An event of type `T` travels on `<prefix>.<T>` (prefix
//!   `llmspell` by default); tokens that are not valid NATS tokens are
//!   encoded reversibly ([`subject_for`], [`event_type_of`]). Import and
//!   export patterns are the bus's globs; they become NATS subject filters
//!   where that is exact (a literal type, or literal tokens ending in
//!   `.*` → `.>`), otherwise the transport subscribes to the widest exact
//!   literal prefix and filters locally ([`subject_filter`]).
//! - **Wire format.** CloudEvents 1.0 structured-mode JSON ([`cloudevent`]),
//!   lossless both ways for llmspell events, readable by any CloudEvents
//!   consumer.
//! - **No loop-back.** Exported events carry this node's id
//!   (`llmspellorigin`); imported events keep the sender's id in
//!   `metadata.origin`, are never exported again, and a node never
//!   delivers its own messages back to itself.
//! - **Modes.** [`DeliveryMode::Core`]: at most once, live only.
//!   [`DeliveryMode::JetStream`]: a stream per prefix; every publish is
//!   acknowledged by the server (retried with the event id as
//!   `Nats-Msg-Id`, so the stream stores it once) within
//!   [`NatsConfig::publish_timeout`] or fails with a clear error; imports
//!   go through a durable pull consumer that resumes after the last
//!   acknowledged event when the process restarts, and reconnects after a
//!   lost connection. Each event is acknowledged as soon as it is in the
//!   local bus; an acknowledgement lost with the connection makes the
//!   server deliver the event again, which the transport skips while it
//!   runs (it remembers the last stream sequence it delivered) — a process
//!   that dies in that moment gets it again after its restart (a bus with
//!   an event store drops it as a duplicate id); [`NatsTransport::read`] and
//!   [`NatsTransport::replay`] read the stream from a sequence or a time.
//!
//! See `docs/user-guide/distribution.md` for a guide.

pub mod cloudevent;
pub mod server;
mod subject;
mod transport;

pub use server::NatsServer;
pub use subject::{
    check_prefix, disjoint_filters, event_type_of, subject_filter, subject_for, DEFAULT_PREFIX,
};
pub use transport::{
    DeliveryMode, JetStreamConfig, NatsConfig, NatsTransport, Published, RemoteEvents, ReplayStart,
    StoredEvent, TransportStats,
};
