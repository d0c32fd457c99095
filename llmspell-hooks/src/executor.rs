//! [`HookExecutor`]: runs a point's hooks and returns one [`HookOutcome`].

use std::collections::HashMap;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures::FutureExt;

use crate::registry::{Entry, Slot};
use crate::{
    CallOutcome, HookContext, HookError, HookOutcome, HookPoint, HookRegistry, HookResult,
};

/// The default per-hook timeout.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs hooks. Cheap to share (`Arc<HookExecutor>`), `Send + Sync`, usable
/// from many tasks at once.
///
/// For each hook in the point's snapshot, in order: skip it if disabled,
/// if its component matcher does not match `ctx.component.name`, or if its
/// `should_execute` says no; skip it (counted as skipped) if its breaker is
/// open; otherwise run it with panic isolation and its timeout, feed the
/// breaker and the monitor, and apply its result: `Modified` replaces
/// `ctx.data`, `Continue`/`Skipped` go on, anything else stops the chain and
/// becomes the [`HookOutcome`]. A hook that errors, panics or times out is
/// logged and ignored (fail-open) unless registered fail-closed, in which
/// case the outcome is `Cancelled` with the error as reason.
///
/// Timeouts use `tokio::time` and need a runtime with the time driver for
/// hooks that do not complete on their first poll (hooks that complete at
/// once never touch the timer).
pub struct HookExecutor {
    registry: Arc<HookRegistry>,
    named_timeouts: Box<[Option<Duration>]>,
    custom_timeouts: HashMap<String, Option<Duration>>,
    default_timeout: Option<Duration>,
}

impl fmt::Debug for HookExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookExecutor")
            .field("registry", &self.registry)
            .field("default_timeout", &self.default_timeout)
            .finish_non_exhaustive()
    }
}

/// Builds a [`HookExecutor`] with per-point timeouts.
#[derive(Debug)]
#[must_use]
pub struct HookExecutorBuilder {
    registry: Arc<HookRegistry>,
    default_timeout: Option<Duration>,
    per_point: HashMap<HookPoint, Option<Duration>>,
}

impl HookExecutorBuilder {
    /// The timeout of hooks at points without their own; `None` for no
    /// timeout. Default [`DEFAULT_HOOK_TIMEOUT`].
    pub fn default_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.default_timeout = timeout;
        self
    }

    /// The timeout of hooks at `point` (`None`: no timeout).
    pub fn point_timeout(mut self, point: HookPoint, timeout: Option<Duration>) -> Self {
        self.per_point.insert(point, timeout);
        self
    }

    /// The executor.
    pub fn build(self) -> HookExecutor {
        let mut named = vec![self.default_timeout; HookPoint::NAMED_COUNT].into_boxed_slice();
        let mut custom = HashMap::new();
        for (point, t) in self.per_point {
            match (point.index(), point) {
                (Some(i), _) => named[i] = t,
                (None, HookPoint::Custom(name)) => {
                    custom.insert(name, t);
                }
                (None, _) => {}
            }
        }
        HookExecutor {
            registry: self.registry,
            named_timeouts: named,
            custom_timeouts: custom,
            default_timeout: self.default_timeout,
        }
    }
}

impl HookExecutor {
    /// An executor over `registry` with the default timeout everywhere.
    #[must_use]
    pub fn new(registry: Arc<HookRegistry>) -> Self {
        Self::builder(registry).build()
    }

    /// A builder over `registry`.
    pub fn builder(registry: Arc<HookRegistry>) -> HookExecutorBuilder {
        HookExecutorBuilder {
            registry,
            default_timeout: Some(DEFAULT_HOOK_TIMEOUT),
            per_point: HashMap::new(),
        }
    }

    /// The registry.
    #[must_use]
    pub fn registry(&self) -> &Arc<HookRegistry> {
        &self.registry
    }

    /// Whether `point` has any hook: a component can skip building a context
    /// when this is `false`. One or two atomic loads.
    #[inline]
    #[must_use]
    pub fn has_hooks(&self, point: &HookPoint) -> bool {
        self.registry.has_hooks(point)
    }

    /// The timeout of hooks at `point` (before per-hook overrides).
    #[must_use]
    pub fn timeout_for(&self, point: &HookPoint) -> Option<Duration> {
        match point {
            HookPoint::Custom(name) => *self
                .custom_timeouts
                .get(name)
                .unwrap_or(&self.default_timeout),
            named => named
                .index()
                .and_then(|i| self.named_timeouts.get(i).copied())
                .unwrap_or(self.default_timeout),
        }
    }

    /// Runs the hooks of `ctx.point`; see [`HookExecutor::execute`].
    pub async fn execute_context(&self, ctx: &mut HookContext) -> HookOutcome {
        let point = ctx.point.clone();
        self.execute(&point, ctx).await
    }

    /// Runs the hooks registered at `point` on `ctx` and returns what the
    /// caller must do. `ctx.point` is set to `point`.
    pub async fn execute(&self, point: &HookPoint, ctx: &mut HookContext) -> HookOutcome {
        if !self.registry.is_globally_enabled() {
            return HookOutcome::Continue;
        }
        let Some(slot) = self.registry.slot(point) else {
            return HookOutcome::Continue;
        };
        if slot.len() == 0 {
            return HookOutcome::Continue;
        }
        self.run_chain(&slot, point, ctx).await
    }

    async fn run_chain(
        &self,
        slot: &Slot,
        point: &HookPoint,
        ctx: &mut HookContext,
    ) -> HookOutcome {
        if ctx.point != *point {
            ctx.point = point.clone();
        }
        let guard = slot.snapshot();
        let Some(snapshot) = guard.as_ref() else {
            return HookOutcome::Continue;
        };
        let point_timeout = self.timeout_for(point);
        let chain_start = Instant::now();
        // One clock read per hook boundary: the end of one hook is the start
        // of the next.
        let mut mark = chain_start;
        let mut outcome = HookOutcome::Continue;
        for entry in snapshot.iter() {
            if !entry.is_enabled() {
                continue;
            }
            if let Some(m) = &entry.matcher {
                if !m.matches(&ctx.component.name) {
                    continue;
                }
            }
            if !should_execute(entry, ctx) {
                mark = Instant::now();
                continue;
            }
            let Some(permit) = entry.breaker.try_acquire() else {
                entry.monitor.record_skipped();
                continue;
            };
            let timeout = entry.timeout.or(point_timeout);
            let result = call(entry, ctx, timeout, mark).await;
            let now = Instant::now();
            let elapsed = now.saturating_duration_since(mark);
            mark = now;
            let call_outcome = match &result {
                Ok(_) => CallOutcome::Success,
                Err(HookError::Timeout { .. }) => CallOutcome::Timeout,
                Err(HookError::Panicked { .. }) => CallOutcome::Panic,
                Err(_) => CallOutcome::Error,
            };
            entry.breaker.record(permit, call_outcome, elapsed);
            entry.monitor.record(elapsed, call_outcome);
            match result {
                Ok(HookResult::Continue | HookResult::Skipped(_)) => {}
                Ok(HookResult::Modified(data)) => ctx.data = data,
                Ok(stop) => {
                    if let Some(o) = HookOutcome::from_stopping(stop, &entry.metadata.name) {
                        outcome = o;
                    }
                    break;
                }
                Err(error) => {
                    if let Some(o) = failed(entry, point, error) {
                        outcome = o;
                        break;
                    }
                }
            }
        }
        slot.monitor
            .record(chain_start.elapsed(), CallOutcome::Success);
        outcome
    }
}

#[inline]
fn should_execute(entry: &Entry, ctx: &HookContext) -> bool {
    // A panicking predicate is isolated like a panicking hook: not run.
    std::panic::catch_unwind(AssertUnwindSafe(|| entry.hook.should_execute(ctx))).unwrap_or(false)
}

/// Runs one hook with panic isolation and (if it does not finish on its
/// first poll) a timeout measured from `started`.
async fn call(
    entry: &Entry,
    ctx: &mut HookContext,
    timeout: Option<Duration>,
    started: Instant,
) -> Result<HookResult, HookError> {
    let mut fut = AssertUnwindSafe(entry.hook.execute(ctx)).catch_unwind();
    let caught = match futures::poll!(&mut fut) {
        Poll::Ready(r) => r,
        Poll::Pending => match timeout {
            None => fut.await,
            Some(limit) => {
                let left = limit.saturating_sub(started.elapsed());
                match tokio::time::timeout(left, fut).await {
                    Ok(r) => r,
                    Err(_) => {
                        return Err(HookError::Timeout {
                            hook: entry.metadata.name.clone(),
                            timeout: limit,
                        })
                    }
                }
            }
        },
    };
    match caught {
        Ok(result) => result,
        Err(payload) => Err(HookError::Panicked {
            hook: entry.metadata.name.clone(),
            message: panic_message(payload.as_ref()),
        }),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

#[cold]
fn failed(entry: &Entry, point: &HookPoint, error: HookError) -> Option<HookOutcome> {
    if entry.fail_closed {
        tracing::warn!(hook = %entry.metadata.name, %point, %error, "fail-closed hook failed; cancelling");
        Some(HookOutcome::Cancelled {
            reason: error.to_string(),
            hook: entry.metadata.name.clone(),
        })
    } else {
        tracing::warn!(hook = %entry.metadata.name, %point, %error, "hook failed; continuing (fail-open)");
        None
    }
}
