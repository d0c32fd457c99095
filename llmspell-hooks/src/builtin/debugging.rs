//! [`DebuggingHook`]: a bounded ring of execution traces.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::timer::OperationTimer;
use super::{component_label, error_message, point_label, result_value};
use crate::redact::Redactor;
use crate::{Clock, Hook, HookContext, HookMetadata, HookResult, Priority, Result, SystemClock};

/// One captured hook call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExecutionTrace {
    /// When it was captured.
    pub timestamp: DateTime<Utc>,
    /// The hook point.
    pub point: String,
    /// The component (`type:name`).
    pub component: String,
    /// The correlation id.
    pub correlation_id: Uuid,
    /// The context data as it came in (redacted).
    pub data: Value,
    /// The operation's result, at After* points (redacted).
    pub result: Option<Value>,
    /// The operation's error, if it failed (redacted).
    pub error: Option<String>,
    /// How long the operation took (Before* to this After*/Error point).
    #[serde(with = "opt_duration_us")]
    pub duration: Option<Duration>,
}

/// Configuration of a [`DebuggingHook`].
#[derive(Debug, Clone)]
#[must_use]
pub struct DebuggingConfig {
    capacity: usize,
    min_duration: Duration,
    clock: Arc<dyn Clock>,
    redactor: Redactor,
}

impl Default for DebuggingConfig {
    /// 1000 traces, no minimum duration, the system clock, default
    /// redaction.
    fn default() -> Self {
        Self {
            capacity: 1000,
            min_duration: Duration::ZERO,
            clock: Arc::new(SystemClock::new()),
            redactor: Redactor::new(),
        }
    }
}

impl DebuggingConfig {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many traces are kept (oldest dropped first).
    pub fn capacity(mut self, n: usize) -> Self {
        self.capacity = n;
        self
    }

    /// Only operations at least this long are kept; with a non-zero minimum,
    /// calls without a measured duration (Before* points) are not kept.
    pub fn min_duration(mut self, d: Duration) -> Self {
        self.min_duration = d;
        self
    }

    /// The clock durations are measured with.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The redaction rules.
    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    /// The hook.
    pub fn build(self) -> DebuggingHook {
        DebuggingHook {
            timer: OperationTimer::new(self.clock.clone(), 100_000),
            ring: Mutex::new(VecDeque::with_capacity(self.capacity.min(1024))),
            config: self,
        }
    }
}

/// Captures a trace of every call (context data in, operation result and
/// error out, operation duration) into a bounded ring, secrets redacted.
/// Always returns `Continue`.
#[derive(Debug)]
pub struct DebuggingHook {
    config: DebuggingConfig,
    timer: OperationTimer,
    ring: Mutex<VecDeque<ExecutionTrace>>,
}

impl Default for DebuggingHook {
    fn default() -> Self {
        DebuggingConfig::default().build()
    }
}

impl DebuggingHook {
    /// A debugging hook with the default configuration.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The kept traces, oldest first.
    #[must_use]
    pub fn traces(&self) -> Vec<ExecutionTrace> {
        self.ring.lock().iter().cloned().collect()
    }

    /// The kept traces at least `min` long, oldest first.
    #[must_use]
    pub fn traces_slower_than(&self, min: Duration) -> Vec<ExecutionTrace> {
        self.ring
            .lock()
            .iter()
            .filter(|t| t.duration.is_some_and(|d| d >= min))
            .cloned()
            .collect()
    }

    /// Empties the ring.
    pub fn clear(&self) {
        self.ring.lock().clear();
    }
}

impl DebuggingHook {
    /// The hook's work: it never waits, so it runs without a future
    /// ([`Hook::execute_now`]).
    fn run_now(&self, ctx: &mut HookContext) -> Result<HookResult> {
        let duration = self.timer.observe(ctx);
        let keep = if self.config.min_duration.is_zero() {
            true
        } else {
            duration.is_some_and(|d| d >= self.config.min_duration)
        };
        if !keep || self.config.capacity == 0 {
            return Ok(HookResult::Continue);
        }
        let r = &self.config.redactor;
        let trace = ExecutionTrace {
            timestamp: Utc::now(),
            point: point_label(&ctx.point),
            component: component_label(ctx),
            correlation_id: ctx.correlation_id,
            data: r.redact_owned(Value::Object(ctx.data.clone())),
            result: result_value(ctx).map(|v| r.redacted(v)),
            error: error_message(ctx).map(|e| r.redact_str(&e).into_owned()),
            duration,
        };
        let mut ring = self.ring.lock();
        while ring.len() >= self.config.capacity {
            ring.pop_front();
        }
        ring.push_back(trace);
        Ok(HookResult::Continue)
    }
}

#[async_trait]
impl Hook for DebuggingHook {
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
        self.run_now(ctx)
    }

    fn execute_now(&self, ctx: &mut HookContext) -> Option<Result<HookResult>> {
        Some(self.run_now(ctx))
    }

    fn metadata(&self) -> HookMetadata {
        HookMetadata::new("builtin.debugging")
            .with_priority(Priority::LOW)
            .with_tag("builtin")
            .with_tag("observability")
            .with_description("captures execution traces in a bounded ring")
    }
}

mod opt_duration_us {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_micros))
    }
}
