//! [`StateBuilder`]: how a [`State`] is configured.

use std::sync::Arc;

use llmspell_events::EventBus;
use llmspell_hooks::Hooks;
use llmspell_storage::{MemoryBackend, StorageBackend};

use crate::key::DEFAULT_MAX_KEY_LEN;
use crate::state::Inner;
use crate::{Result, State, StateError};

/// The default largest value: 1 MiB of JSON.
pub const DEFAULT_MAX_VALUE_BYTES: usize = 1024 * 1024;

/// The longest key a builder accepts as `max_key_len` (a storage key also
/// holds the scope; sled and the event payloads stay comfortable below
/// this).
const KEY_LEN_CEILING: usize = 4096;

/// Configures a [`State`]; made by [`State::builder`].
///
/// ```
/// use std::sync::Arc;
/// use llmspell_state::State;
/// use llmspell_storage::MemoryBackend;
///
/// let state = State::builder(Arc::new(MemoryBackend::new()))
///     .max_value_bytes(64 * 1024)
///     .max_key_len(128)
///     .build()
///     .unwrap();
/// assert_eq!(state.max_value_bytes(), 64 * 1024);
/// ```
#[derive(Debug)]
#[must_use]
pub struct StateBuilder {
    storage: Arc<dyn StorageBackend>,
    max_value_bytes: usize,
    max_key_len: usize,
    events: Option<EventBus>,
    event_values: bool,
    hooks: Option<Hooks>,
}

impl StateBuilder {
    pub(crate) fn new(storage: Arc<dyn StorageBackend>) -> Self {
        Self {
            storage,
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            max_key_len: DEFAULT_MAX_KEY_LEN,
            events: None,
            event_values: false,
            hooks: None,
        }
    }

    /// The largest value accepted, in bytes of JSON (default 1 MiB).
    pub fn max_value_bytes(mut self, bytes: usize) -> Self {
        self.max_value_bytes = bytes;
        self
    }

    /// The longest key accepted, in bytes (default 256, at most 4096).
    pub fn max_key_len(mut self, len: usize) -> Self {
        self.max_key_len = len;
        self
    }

    /// Publish a `state.changed` event on `bus` after every change.
    pub fn events(mut self, bus: EventBus) -> Self {
        self.events = Some(bus);
        self
    }

    /// Run the operations under `hooks` (the application's or the script
    /// context's). Without, the state has hooks of its own, empty until
    /// something registers on [`State::hooks`].
    pub fn hooks(mut self, hooks: Hooks) -> Self {
        self.hooks = Some(hooks);
        self
    }

    /// Include the new value in `state.changed` events (off by default:
    /// events may travel further than the state itself, e.g. to a NATS
    /// server or an event store).
    pub fn event_values(mut self, include: bool) -> Self {
        self.event_values = include;
        self
    }

    /// The state handle.
    ///
    /// # Errors
    /// [`StateError::InvalidConfig`] for a zero value limit, or a key
    /// length of 0 or over 4096.
    pub fn build(self) -> Result<State> {
        if self.max_value_bytes == 0 {
            return Err(StateError::InvalidConfig {
                field: "max_value_bytes",
                reason: "it must be at least 1 byte (`null` is 4)".to_owned(),
            });
        }
        if self.max_key_len == 0 || self.max_key_len > KEY_LEN_CEILING {
            return Err(StateError::InvalidConfig {
                field: "max_key_len",
                reason: format!(
                    "it is {}, and must be between 1 and {KEY_LEN_CEILING}",
                    self.max_key_len
                ),
            });
        }
        Ok(State::from_inner(Inner {
            storage: self.storage,
            max_value_bytes: self.max_value_bytes,
            max_key_len: self.max_key_len,
            events: self.events,
            event_values: self.event_values,
            schemas: crate::migration::Schemas::default(),
            hooks: self.hooks.unwrap_or_default(),
            id: uuid::Uuid::new_v4(),
        }))
    }
}

impl State {
    /// A builder over `storage`.
    pub fn builder(storage: Arc<dyn StorageBackend>) -> StateBuilder {
        StateBuilder::new(storage)
    }

    /// A state with the default settings over `storage`.
    #[must_use]
    pub fn new(storage: Arc<dyn StorageBackend>) -> Self {
        match StateBuilder::new(storage).build() {
            Ok(state) => state,
            // The defaults are valid; build() only refuses explicit settings.
            Err(e) => unreachable!("default state settings are valid: {e}"),
        }
    }

    /// A state in memory with the default settings (tests, ephemeral use).
    #[must_use]
    pub fn in_memory() -> Self {
        Self::new(Arc::new(MemoryBackend::new()))
    }
}
