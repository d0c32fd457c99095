//! [`HookBridge`]: the language-neutral hook API behind the `Hook` global.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use llmspell_hooks::{
    Hook, HookContext, HookExecutor, HookFilter, HookHandle, HookOutcome, HookPoint, HookRegistry,
    RegisterOptions, RegisteredHook,
};
use parking_lot::Mutex;

use crate::error::Result;

/// The hook side of one script engine: registers the engine's hooks in the
/// shared [`HookRegistry`] and remembers them, so that unregistering (or
/// dropping the bridge) removes them from the registry for real.
pub struct HookBridge {
    registry: Arc<HookRegistry>,
    executor: Arc<HookExecutor>,
    own: Mutex<HashMap<u64, HookHandle>>,
}

impl fmt::Debug for HookBridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookBridge")
            .field("own_hooks", &self.own.lock().len())
            .finish_non_exhaustive()
    }
}

impl HookBridge {
    /// A bridge over the shared registry and executor.
    #[must_use]
    pub fn new(registry: Arc<HookRegistry>, executor: Arc<HookExecutor>) -> Self {
        HookBridge {
            registry,
            executor,
            own: Mutex::new(HashMap::new()),
        }
    }

    /// The shared registry.
    #[must_use]
    pub fn registry(&self) -> &Arc<HookRegistry> {
        &self.registry
    }

    /// Registers `hook` at `point` in the shared registry.
    ///
    /// # Errors
    /// The registry's ([`BridgeError::Hook`](crate::BridgeError::Hook)): a bad
    /// matcher glob or breaker configuration.
    pub fn register(
        &self,
        point: HookPoint,
        hook: Arc<dyn Hook>,
        options: RegisterOptions,
    ) -> Result<HookHandle> {
        let handle = self.registry.register_with(point, hook, options)?;
        self.own.lock().insert(handle.id(), handle.clone());
        Ok(handle)
    }

    /// Removes this bridge's hook `id` from the registry; `true` the first
    /// time, `false` after (or for an id that is not this bridge's).
    pub fn unregister(&self, id: u64) -> bool {
        let Some(handle) = self.own.lock().remove(&id) else {
            return false;
        };
        self.registry.unregister(&handle)
    }

    /// Removes every hook of this bridge from the registry (what dropping
    /// it does, for an owner that outlives its hooks); returns how many.
    pub fn unregister_all(&self) -> usize {
        let own: Vec<HookHandle> = self.own.lock().drain().map(|(_, h)| h).collect();
        own.iter().filter(|h| self.registry.unregister(h)).count()
    }

    /// Whether `id` is a live hook of this bridge.
    #[must_use]
    pub fn is_own(&self, id: u64) -> bool {
        self.own.lock().contains_key(&id)
    }

    /// Every hook of the shared registry that `filter` accepts (from any
    /// language), by point, then run order.
    #[must_use]
    pub fn list(&self, filter: &HookFilter) -> Vec<RegisteredHook> {
        self.registry.list(filter)
    }

    /// Runs the hooks of `ctx.point` through the shared executor (used to
    /// fire custom points from scripts).
    pub async fn fire(&self, ctx: &mut HookContext) -> HookOutcome {
        self.executor.execute_context(ctx).await
    }
}

impl Drop for HookBridge {
    fn drop(&mut self) {
        for handle in self.own.get_mut().values() {
            self.registry.unregister(handle);
        }
    }
}
