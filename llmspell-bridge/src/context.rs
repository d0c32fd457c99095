//! [`GlobalContext`]: what every script engine created from it shares.

use std::fmt;
use std::sync::Arc;

use crate::globals::{GlobalObject, JsonGlobal, LoggerGlobal};

/// The shared state behind every script global.
///
/// Cheap to clone (an [`Arc`]). Every engine created from the same context
/// sees the same components, so what one script registers is visible to Rust
/// code and to other engines.
#[derive(Clone)]
pub struct GlobalContext {
    inner: Arc<Inner>,
}

struct Inner {
    globals: Vec<Arc<dyn GlobalObject>>,
}

impl fmt::Debug for GlobalContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlobalContext")
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
    /// A context with the standard globals.
    #[must_use]
    pub fn new() -> Self {
        GlobalContext {
            inner: Arc::new(Inner {
                globals: vec![Arc::new(JsonGlobal), Arc::new(LoggerGlobal)],
            }),
        }
    }

    /// The globals an engine created from this context defines.
    #[must_use]
    pub fn globals(&self) -> &[Arc<dyn GlobalObject>] {
        &self.inner.globals
    }
}
