//! The runtime's table of tools it has called: each tool bound to its
//! circuit breaker, found with one lock-free lookup per call.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use llmspell_hooks::{BreakerConfig, BreakerTransition, CircuitBreaker, Clock, LatencySampler};
use parking_lot::Mutex;
use tokio::sync::broadcast;

use crate::{RegisteredTool, Result, ToolRegistry};

/// A map keyed by tool name with a fast (non-cryptographic) hasher: the
/// keys are tool names chosen by whoever registers tools, not by callers.
type FastMap<V> = HashMap<Box<str>, V, foldhash::fast::RandomState>;

/// A registered tool together with this runtime's breaker for it.
#[derive(Debug)]
pub(crate) struct Bound {
    pub(crate) tool: RegisteredTool,
    pub(crate) breaker: Arc<CircuitBreaker>,
    /// Picks the calls to time (see `ToolRuntime::execute_once`).
    pub(crate) sampler: LatencySampler,
}

/// The bound tools of one registry generation.
#[derive(Debug, Default)]
struct Snapshot {
    generation: u64,
    tools: FastMap<Arc<Bound>>,
}

/// Per-tool breakers (created on a tool's first call, kept across
/// re-registration under the same name) and the bound-tool cache.
///
/// A call reads one snapshot (lock-free) and checks it against the
/// registry's generation; on a miss — a tool's first call, or any change
/// of the registry since the snapshot — the cold path binds the tool under
/// a writer-only mutex and publishes a new snapshot.
#[derive(Debug)]
pub(crate) struct ToolTable {
    snapshot: ArcSwap<Snapshot>,
    breakers: Mutex<FastMap<Arc<CircuitBreaker>>>,
    config: BreakerConfig,
    clock: Arc<dyn Clock>,
    transitions: broadcast::Sender<BreakerTransition>,
}

impl ToolTable {
    /// A table whose breakers use `config` (already validated) on `clock`.
    pub(crate) fn new(config: BreakerConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            snapshot: ArcSwap::default(),
            breakers: Mutex::new(FastMap::default()),
            config,
            clock,
            transitions: broadcast::channel(256).0,
        }
    }

    /// The tool `name` of `registry` with its breaker.
    ///
    /// # Errors
    /// [`ToolError::NotFound`](crate::ToolError::NotFound).
    #[inline]
    pub(crate) fn bind(&self, registry: &ToolRegistry, name: &str) -> Result<Arc<Bound>> {
        let generation = registry.generation();
        {
            let snapshot = self.snapshot.load();
            if snapshot.generation == generation {
                if let Some(bound) = snapshot.tools.get(name) {
                    return Ok(Arc::clone(bound));
                }
            }
        }
        self.bind_slow(registry, name)
    }

    #[cold]
    fn bind_slow(&self, registry: &ToolRegistry, name: &str) -> Result<Arc<Bound>> {
        // Held until the store, so snapshots are published one at a time,
        // with non-decreasing generations, and none loses another's entry.
        let mut breakers = self.breakers.lock();
        let generation = registry.generation();
        // Looked up after reading `generation`: the tool is at least as new
        // as the generation it is filed under, so any later change of the
        // registry shows as a mismatch.
        let tool = registry.require(name)?;
        // Keyed by the tool's own name: an alias shares its breaker.
        let breaker = self.breaker_in(&mut breakers, tool.name());
        let bound = Arc::new(Bound {
            tool,
            breaker,
            sampler: LatencySampler::new(),
        });
        let current = self.snapshot.load_full();
        let mut tools = if current.generation == generation {
            current.tools.clone()
        } else {
            FastMap::default()
        };
        tools.insert(name.into(), Arc::clone(&bound));
        self.snapshot
            .store(Arc::new(Snapshot { generation, tools }));
        Ok(bound)
    }

    /// The breaker of `tool`, created if needed.
    pub(crate) fn breaker(&self, tool: &str) -> Arc<CircuitBreaker> {
        self.breaker_in(&mut self.breakers.lock(), tool)
    }

    fn breaker_in(
        &self,
        breakers: &mut FastMap<Arc<CircuitBreaker>>,
        tool: &str,
    ) -> Arc<CircuitBreaker> {
        if let Some(b) = breakers.get(tool) {
            return Arc::clone(b);
        }
        // The config was validated when the runtime was built; the default
        // config always validates.
        #[allow(clippy::expect_used)]
        let breaker = CircuitBreaker::with_clock(self.config, Arc::clone(&self.clock))
            .or_else(|_| {
                CircuitBreaker::with_clock(BreakerConfig::default(), Arc::clone(&self.clock))
            })
            .map(|b| Arc::new(b.with_listener(self.transitions.clone(), tool, None)))
            .expect("the default breaker config validates");
        breakers.insert(tool.into(), Arc::clone(&breaker));
        breaker
    }

    /// A stream of the state changes of every tool breaker (`hook` is the
    /// tool's name).
    pub(crate) fn transitions(&self) -> broadcast::Receiver<BreakerTransition> {
        self.transitions.subscribe()
    }

    /// The breaker of `tool` if it has one yet.
    pub(crate) fn existing(&self, tool: &str) -> Option<Arc<CircuitBreaker>> {
        self.breakers.lock().get(tool).cloned()
    }
}
