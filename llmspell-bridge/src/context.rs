//! [`GlobalContext`]: what every script engine created from it shares.

use std::fmt;
use std::sync::Arc;

use llmspell_events::EventBus;

use crate::globals::{EventGlobal, GlobalObject, JsonGlobal, LoggerGlobal};

/// The shared state behind every script global: the event bus (and, as the
/// components land, the hook registry and executor and the tool registry).
///
/// Cheap to clone (an [`Arc`]). Every engine created from the same context
/// sees the same components, so what one script registers or publishes is
/// visible to Rust code and to other engines.
#[derive(Clone)]
pub struct GlobalContext {
    inner: Arc<Inner>,
}

struct Inner {
    event_bus: EventBus,
    globals: Vec<Arc<dyn GlobalObject>>,
}

impl fmt::Debug for GlobalContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlobalContext")
            .field("event_bus", &self.inner.event_bus)
            .field(
                "globals",
                &self
                    .inner
                    .globals
                    .iter()
                    .map(|g| g.metadata().name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for GlobalContext {
    fn default() -> Self {
        Self::new()
    }
}

impl GlobalContext {
    /// A context with fresh components and the standard globals.
    #[must_use]
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder to share existing components.
    pub fn builder() -> GlobalContextBuilder {
        GlobalContextBuilder::default()
    }

    /// The shared event bus.
    #[must_use]
    pub fn event_bus(&self) -> &EventBus {
        &self.inner.event_bus
    }

    /// The globals an engine created from this context defines.
    #[must_use]
    pub fn globals(&self) -> &[Arc<dyn GlobalObject>] {
        &self.inner.globals
    }
}

/// Builds a [`GlobalContext`]; components not given are created fresh.
#[derive(Debug, Default)]
#[must_use]
pub struct GlobalContextBuilder {
    event_bus: Option<EventBus>,
}

impl GlobalContextBuilder {
    /// Shares `bus` (e.g. one with an event store).
    pub fn event_bus(mut self, bus: EventBus) -> Self {
        self.event_bus = Some(bus);
        self
    }

    /// The context.
    pub fn build(self) -> GlobalContext {
        GlobalContext {
            inner: Arc::new(Inner {
                event_bus: self.event_bus.unwrap_or_default(),
                globals: vec![
                    Arc::new(JsonGlobal),
                    Arc::new(LoggerGlobal),
                    Arc::new(EventGlobal),
                ],
            }),
        }
    }
}
