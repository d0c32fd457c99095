//! One circuit breaker per tool.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use llmspell_hooks::{BreakerConfig, CircuitBreaker, Clock};
use parking_lot::Mutex;

/// Per-tool breakers, created on a tool's first call. Lookups read a
/// lock-free snapshot; creation copies the map under a writer-only mutex.
#[derive(Debug)]
pub(crate) struct ToolBreakers {
    map: ArcSwap<HashMap<String, Arc<CircuitBreaker>>>,
    writer: Mutex<()>,
    config: BreakerConfig,
    clock: Arc<dyn Clock>,
}

impl ToolBreakers {
    /// Breakers with `config` (already validated) on `clock`.
    pub(crate) fn new(config: BreakerConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            map: ArcSwap::default(),
            writer: Mutex::new(()),
            config,
            clock,
        }
    }

    /// The breaker of `tool`, created if needed.
    #[inline]
    pub(crate) fn get(&self, tool: &str) -> Arc<CircuitBreaker> {
        if let Some(b) = self.map.load().get(tool) {
            return Arc::clone(b);
        }
        self.create(tool)
    }

    /// The breaker of `tool` if it has one yet.
    pub(crate) fn existing(&self, tool: &str) -> Option<Arc<CircuitBreaker>> {
        self.map.load().get(tool).cloned()
    }

    #[cold]
    fn create(&self, tool: &str) -> Arc<CircuitBreaker> {
        let _guard = self.writer.lock();
        let current = self.map.load_full();
        if let Some(b) = current.get(tool) {
            return Arc::clone(b);
        }
        // The config was validated when the runtime was built; the default
        // config always validates.
        #[allow(clippy::expect_used)]
        let breaker = CircuitBreaker::with_clock(self.config, Arc::clone(&self.clock))
            .or_else(|_| {
                CircuitBreaker::with_clock(BreakerConfig::default(), Arc::clone(&self.clock))
            })
            .map(Arc::new)
            .expect("the default breaker config validates");
        let mut next = (*current).clone();
        next.insert(tool.to_owned(), Arc::clone(&breaker));
        self.map.store(Arc::new(next));
        breaker
    }
}
