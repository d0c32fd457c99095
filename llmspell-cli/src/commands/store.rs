//! The event bus and store of `llmspell run`.

use llmspell_events::{Durability, EventBus, EventStore};
use llmspell_storage::StorageConfig;

use super::events_socket::EventServer;
use crate::error::Result;

/// The bus a run publishes on, with its store when `--store` persists.
///
/// - `--store sled:<path>`: a store with [`Durability::Flushed`]: an event
///   `Event.publish` confirmed is on disk, and survives the process being
///   killed. Publishes running at the same time share one flush (group
///   commit); the bus's sequence numbers continue after the store's.
/// - `--store memory`: no store at all; nothing is kept (the bus still
///   delivers to subscribers), so a long run's memory does not grow with
///   the events it publishes.
#[derive(Debug)]
pub(crate) struct RunEvents {
    bus: EventBus,
    store: Option<EventStore>,
    /// `--nats`: the bridge, flushed before the bus closes.
    nats: Option<super::nats::RunBridge>,
    /// Serves the store to `llmspell events` while this run holds it.
    server: Option<EventServer>,
}

impl RunEvents {
    /// Opens the store (for `sled:`) and builds the bus; every queue holds
    /// at most `max_queue_bytes` of events when given.
    pub(crate) async fn open(
        config: &StorageConfig,
        max_queue_bytes: Option<usize>,
    ) -> Result<Self> {
        let store = match config {
            StorageConfig::Memory => None,
            other => Some(EventStore::open_with(other.open()?, Durability::Flushed).await?),
        };
        let mut builder = EventBus::builder();
        if let Some(store) = &store {
            builder = builder.store(store.clone());
        }
        if let Some(bytes) = max_queue_bytes {
            builder = builder.max_queue_bytes(bytes);
        }
        let bus = builder.build();
        // `llmspell events` cannot open a store this process holds; it
        // reads it through this socket (`<dir>.sock`). A socket that cannot
        // be created (a path too long for a unix socket) only costs that.
        let server = match (config, &store) {
            (StorageConfig::Sled(dir), Some(store)) => {
                match EventServer::start(dir, store.clone(), bus.clone()) {
                    Ok(server) => Some(server),
                    Err(e) => {
                        tracing::warn!(error = %e, "`llmspell events` cannot read this store while the run holds it");
                        None
                    }
                }
            }
            _ => None,
        };
        Ok(Self {
            bus,
            store,
            nats: None,
            server,
        })
    }

    pub(crate) fn bus(&self) -> &EventBus {
        &self.bus
    }

    pub(crate) fn store(&self) -> Option<&EventStore> {
        self.store.as_ref()
    }

    /// Keeps the run's NATS bridge until the run closes.
    pub(crate) fn set_nats(&mut self, bridge: super::nats::RunBridge) {
        self.nats = Some(bridge);
    }

    /// Sends what the NATS bridge still holds, closes the bus (followers of
    /// the socket see the end), flushes the store, then stops serving it.
    pub(crate) async fn close(self) -> Result<()> {
        if let Some(bridge) = self.nats {
            bridge.finish().await;
        }
        self.bus.close();
        if let Some(store) = &self.store {
            store.flush().await?;
        }
        drop(self.server);
        Ok(())
    }
}
