//! The hook points the script context fires itself: system start and
//! shutdown, configuration changes, breakers opening and slow hooks
//! (`PerformanceThresholdExceeded`), event-queue overflow
//! (`ResourceLimitExceeded`), and the optional resource monitor
//! (`MemoryUsageHigh`, `CpuUsageHigh`).
//!
//! One watcher task per started context turns the registry's and the tool
//! runtime's notification streams into hook firings and `*.breaker.*`
//! events; the context owns the task and stops it at shutdown (or when the
//! last handle is dropped).

use std::fmt;
use std::time::Duration;

use futures::StreamExt;
use llmspell_events::{BackpressureNotice, BackpressureStream, EventBus, UniversalEvent};
use llmspell_hooks::{
    BreakerState, BreakerTransition, ComponentId, ComponentType, HookData, HookPoint, Hooks,
    RegistryChange, SlowHookCall,
};
use llmspell_tools::ToolRuntime;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;

use crate::error::{BridgeError, Result};

/// Where the system points' contexts come from.
fn system() -> ComponentId {
    ComponentId::new(ComponentType::System, "llmspell")
}

fn data(v: Value) -> HookData {
    match v {
        Value::Object(m) => m,
        _ => HookData::new(),
    }
}

/// The thresholds of the resource monitor, which samples this process's
/// resident memory and CPU use and fires `MemoryUsageHigh` /
/// `CpuUsageHigh` when a sample crosses a threshold (once per crossing: it
/// fires again only after a sample below the threshold). Off unless given
/// to [`GlobalContextBuilder::resource_monitor`](crate::GlobalContextBuilder::resource_monitor).
///
/// ```
/// use std::time::Duration;
/// use llmspell_bridge::ResourceMonitorConfig;
///
/// let config = ResourceMonitorConfig::new()
///     .interval(Duration::from_secs(2))
///     .memory_high_bytes(512 * 1024 * 1024)
///     .cpu_high_percent(90.0);
/// assert!(config.validate().is_ok());
/// assert!(ResourceMonitorConfig::new().interval(Duration::ZERO).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct ResourceMonitorConfig {
    interval: Duration,
    memory_high_bytes: Option<u64>,
    cpu_high_percent: Option<f32>,
}

impl Default for ResourceMonitorConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl ResourceMonitorConfig {
    /// Samples every 5 s; no thresholds (set at least one).
    pub fn new() -> Self {
        Self {
            interval: Duration::from_secs(5),
            memory_high_bytes: None,
            cpu_high_percent: None,
        }
    }

    /// How often to sample (at least 10 ms).
    pub fn interval(mut self, every: Duration) -> Self {
        self.interval = every;
        self
    }

    /// Fire `MemoryUsageHigh` when the process's resident memory reaches
    /// this many bytes.
    pub fn memory_high_bytes(mut self, bytes: u64) -> Self {
        self.memory_high_bytes = Some(bytes);
        self
    }

    /// Fire `CpuUsageHigh` when the process's CPU use since the previous
    /// sample reaches this percentage (100 = one core busy).
    pub fn cpu_high_percent(mut self, percent: f32) -> Self {
        self.cpu_high_percent = Some(percent);
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// [`BridgeError::InvalidArgument`] naming the setting and its valid
    /// range.
    pub fn validate(&self) -> Result<()> {
        const F: &str = "ResourceMonitorConfig";
        if self.interval < Duration::from_millis(10) {
            return Err(BridgeError::invalid(
                F,
                format!("interval must be at least 10 ms, got {:?}", self.interval),
            ));
        }
        if let Some(p) = self.cpu_high_percent {
            if !(p.is_finite() && p > 0.0) {
                return Err(BridgeError::invalid(
                    F,
                    format!("cpu_high_percent must be a positive percentage, got {p}"),
                ));
            }
        }
        if self.memory_high_bytes.is_none() && self.cpu_high_percent.is_none() {
            return Err(BridgeError::invalid(
                F,
                "set memory_high_bytes, cpu_high_percent or both; with neither the monitor would never fire",
            ));
        }
        Ok(())
    }

    /// The points the monitor fires with this configuration.
    pub(crate) fn points(&self) -> Vec<HookPoint> {
        let mut out = Vec::new();
        if self.memory_high_bytes.is_some() {
            out.push(HookPoint::MemoryUsageHigh);
        }
        if self.cpu_high_percent.is_some() {
            out.push(HookPoint::CpuUsageHigh);
        }
        out
    }
}

/// The streams the watcher follows.
pub(crate) struct Watched {
    pub(crate) hooks: Hooks,
    pub(crate) bus: EventBus,
    pub(crate) hook_breakers: Receiver<BreakerTransition>,
    pub(crate) tool_breakers: Receiver<BreakerTransition>,
    pub(crate) changes: Receiver<RegistryChange>,
    pub(crate) slow_calls: Receiver<SlowHookCall>,
    pub(crate) backpressure: BackpressureStream,
}

impl fmt::Debug for Watched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watched").finish_non_exhaustive()
    }
}

impl Watched {
    /// Subscribes to everything now, so nothing that happens between this
    /// call and the task's first poll is missed.
    pub(crate) fn new(hooks: &Hooks, bus: &EventBus, tools: &ToolRuntime) -> Self {
        Self {
            hooks: hooks.clone(),
            bus: bus.clone(),
            hook_breakers: hooks.registry().breaker_transitions(),
            tool_breakers: tools.breaker_transitions(),
            changes: hooks.registry().changes(),
            slow_calls: hooks.registry().slow_calls(),
            backpressure: bus.backpressure(),
        }
    }
}

/// What a broadcast receive gave.
fn got<T>(r: std::result::Result<T, RecvError>) -> Option<Option<T>> {
    match r {
        Ok(v) => Some(Some(v)),
        // Lost notices are gone; go on with the next.
        Err(RecvError::Lagged(_)) => Some(None),
        Err(RecvError::Closed) => None,
    }
}

/// The watcher: runs until every stream closes or its task is aborted.
pub(crate) async fn watch(mut w: Watched) {
    loop {
        tokio::select! {
            r = w.hook_breakers.recv() => match got(r) {
                Some(Some(t)) => breaker_changed(&w, "hook", t).await,
                Some(None) => {}
                None => return,
            },
            r = w.tool_breakers.recv() => match got(r) {
                Some(Some(t)) => breaker_changed(&w, "tool", t).await,
                Some(None) => {}
                None => return,
            },
            r = w.slow_calls.recv() => match got(r) {
                Some(Some(s)) => {
                    let d = json!({
                        "kind": "slow_hook",
                        "component": "hook",
                        "hook": s.hook,
                        "point": s.point.to_string(),
                        "elapsed_ms": s.elapsed.as_secs_f64() * 1000.0,
                        "threshold_ms": s.threshold.as_secs_f64() * 1000.0,
                    });
                    let _ = w.hooks.notify(HookPoint::PerformanceThresholdExceeded, system(), data(d)).await;
                }
                Some(None) => {}
                None => return,
            },
            r = w.changes.recv() => match got(r) {
                Some(Some(c)) => {
                    let d = change_json(&c);
                    let _ = w.hooks.notify(HookPoint::ConfigurationChange, system(), data(d)).await;
                }
                Some(None) => {}
                None => return,
            },
            n = w.backpressure.next() => match n {
                Some(BackpressureNotice::Dropped { subscriber, reason, dropped_total }) => {
                    let d = json!({
                        "resource": "event_queue",
                        "subscriber": subscriber.to_string(),
                        "reason": format!("{reason:?}"),
                        "dropped_total": dropped_total,
                    });
                    let _ = w.hooks.notify(HookPoint::ResourceLimitExceeded, system(), data(d)).await;
                }
                Some(_) => {}
                None => return,
            },
        }
    }
}

/// The event-type suffix of a breaker state.
fn state_word(s: BreakerState) -> String {
    match s {
        BreakerState::Open => "opened".to_owned(),
        BreakerState::Closed => "closed".to_owned(),
        other => other.to_string(),
    }
}

async fn breaker_changed(w: &Watched, kind: &str, t: BreakerTransition) {
    let mut d = json!({
        kind: t.hook,
        "from": t.from.to_string(),
        "to": t.to.to_string(),
        "open_for_ms": t.open_for.map(|d| d.as_secs_f64() * 1000.0),
    });
    if let Some(p) = &t.point {
        d["point"] = json!(p.to_string());
    }
    let event = UniversalEvent::builder(format!("{kind}.breaker.{}", state_word(t.to)))
        .data(d.clone())
        .source("llmspell-bridge")
        .build();
    if let Err(e) = w.bus.publish(event).await {
        tracing::warn!(error = %e, "could not publish a breaker event");
    }
    if t.to == BreakerState::Open {
        d["kind"] = json!("breaker_opened");
        d["component"] = json!(kind);
        let _ = w
            .hooks
            .notify(HookPoint::PerformanceThresholdExceeded, system(), data(d))
            .await;
    }
}

fn change_json(c: &RegistryChange) -> Value {
    match c {
        RegistryChange::Registered { handle, name } => json!({
            "kind": "hook_registered", "hook": name, "id": handle.id(),
            "point": handle.point().to_string(),
        }),
        RegistryChange::Unregistered { handle } => json!({
            "kind": "hook_unregistered", "id": handle.id(),
            "point": handle.point().to_string(),
        }),
        RegistryChange::UnregisteredByName { point, name, count } => json!({
            "kind": "hook_unregistered", "hook": name, "point": point.to_string(), "count": count,
        }),
        RegistryChange::Enabled { handle, enabled } => json!({
            "kind": if *enabled { "hook_enabled" } else { "hook_disabled" },
            "id": handle.id(), "point": handle.point().to_string(),
        }),
        RegistryChange::GloballyEnabled { enabled } => json!({
            "kind": if *enabled { "hooks_enabled" } else { "hooks_disabled" },
        }),
        other => json!({"kind": "hooks_changed", "change": format!("{other:?}")}),
    }
}

/// Fires `point` once per crossing of `threshold` by `value`.
struct Edge {
    above: bool,
}

impl Edge {
    /// Whether this sample crosses upward.
    fn crossed(&mut self, above: bool) -> bool {
        let crossed = above && !self.above;
        self.above = above;
        crossed
    }
}

/// The resource monitor: samples until its task is aborted.
pub(crate) async fn monitor(hooks: Hooks, config: ResourceMonitorConfig) {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};
    let Ok(pid) = sysinfo::get_current_pid() else {
        tracing::warn!("resource monitor: this platform does not give the process id; monitor off");
        return;
    };
    let Ok(mut sys) = System::new() else {
        tracing::warn!("resource monitor: cannot read system information here; monitor off");
        return;
    };
    let kind = ProcessRefreshKind::nothing().with_memory().with_cpu();
    let (mut mem, mut cpu) = (Edge { above: false }, Edge { above: false });
    let mut ticker = tokio::time::interval(config.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        sys.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), false, kind);
        let Some(p) = sys.process(pid) else { continue };
        let (rss, usage) = (p.memory(), p.cpu_usage());
        if let Some(limit) = config.memory_high_bytes {
            if mem.crossed(rss >= limit) {
                let d = json!({"resource": "memory", "rss_bytes": rss, "threshold_bytes": limit});
                let _ = hooks
                    .notify(HookPoint::MemoryUsageHigh, system(), data(d))
                    .await;
            }
        }
        if let Some(limit) = config.cpu_high_percent {
            if cpu.crossed(usage >= limit) {
                let d =
                    json!({"resource": "cpu", "cpu_percent": usage, "threshold_percent": limit});
                let _ = hooks
                    .notify(HookPoint::CpuUsageHigh, system(), data(d))
                    .await;
            }
        }
    }
}
