//! Pairs the Before* and After*/Error points of one operation to measure
//! how long the operation took.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::sync::Cache;
use uuid::Uuid;

use super::{operation_key, phase, Phase};
use crate::{Clock, HookContext};

type Key = (Uuid, &'static str, Uuid);

/// Start times of operations in flight, keyed by operation (or correlation)
/// id, point family and component instance. Bounded: operations whose end
/// is never reported are dropped after `max_in_flight` newer ones or ten
/// minutes, so the map cannot grow without bound.
#[derive(Debug)]
pub(crate) struct OperationTimer {
    starts: Cache<Key, Instant>,
    clock: Arc<dyn Clock>,
}

impl OperationTimer {
    pub(crate) fn new(clock: Arc<dyn Clock>, max_in_flight: u64) -> Self {
        Self {
            starts: Cache::builder()
                .max_capacity(max_in_flight)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            clock,
        }
    }

    /// Notes the start at a Before* point; at an After*/Error point returns
    /// the time since the matching start (and forgets it).
    pub(crate) fn observe(&self, ctx: &HookContext) -> Option<Duration> {
        match phase(&ctx.point) {
            Phase::Before => {
                self.starts.insert(operation_key(ctx), self.clock.now());
                None
            }
            Phase::After | Phase::Error => {
                let start = self.starts.remove(&operation_key(ctx))?;
                Some(self.clock.now().saturating_duration_since(start))
            }
            Phase::Other => None,
        }
    }
}
