//! Integration tests of llmspell-state, one module per area.

mod cas;
mod hooks;
mod migration;
mod session;
mod state;

use std::sync::Arc;

use llmspell_state::State;
use llmspell_storage::{MemoryBackend, SledBackend, StorageBackend};

/// A state on a fresh backend, plus what must outlive it.
pub(crate) type Fixture = (State, Option<tempfile::TempDir>);

pub(crate) fn memory() -> Fixture {
    (State::new(Arc::new(MemoryBackend::new())), None)
}

pub(crate) fn sled() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let backend: Arc<dyn StorageBackend> =
        Arc::new(SledBackend::open(dir.path().join("db")).unwrap());
    (State::new(backend), Some(dir))
}

/// Instantiates `async fn name(state: State)` tests for both backends.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (state, _dir) = crate::memory();
                    super::$name(state).await;
                }
            )*
        }
        mod sled {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (state, _dir) = crate::sled();
                    super::$name(state).await;
                }
            )*
        }
    };
}
pub(crate) use both_backends;
