//! Hooks for llmspell: named points in the life of agents, tools and
//! workflows where Rust, Lua or JavaScript code observes and changes what
//! happens.
//!
//! # Concepts
//!
//! - [`HookPoint`]: the 42 named points (`BeforeToolExecution`, ...) plus
//!   `Custom(name)`; string form `"BeforeToolExecution"` / `"custom:name"`.
//! - [`HookContext`]: what a hook sees: point, [`ComponentId`], correlation
//!   id, [`Language`], the mutable JSON `data`, metadata, operation, parent.
//! - [`Hook`]: `async fn execute(&self, &mut HookContext) -> Result<HookResult>`;
//!   closures become hooks with [`hook_fn`] / [`async_hook_fn`].
//! - [`HookResult`]: a hook's decision (Continue, Modified, Cancel, Redirect,
//!   Replace, Retry, Fork, Cache, Skipped).
//! - [`HookRegistry`]: hooks per point, ordered by [`Priority`] then
//!   registration; lock-free snapshot reads, O(log n) writes, handles,
//!   enable/disable, filters, component-name globs.
//! - [`HookExecutor`]: runs a point's hooks and returns one [`HookOutcome`]
//!   the component acts on; isolates errors, panics and timeouts; feeds a
//!   [`CircuitBreaker`] and performance counters per hook.
//! - Composites: [`SequentialHook`], [`ParallelHook`], [`FirstMatchHook`],
//!   [`VotingHook`] — each a [`Hook`], so they nest.
//! - [`HookAdapter`] / [`JsonHookAdapter`] for script bridges,
//!   [`ReplayableHook`] for recorded executions.
//!
//! The design, invariants and the outcome table are in
//! `docs/technical/hooks.md`.
//!
//! # Example: a component running its hooks
//!
//! ```
//! use std::sync::Arc;
//! use llmspell_hooks::{
//!     hook_fn, ComponentId, ComponentType, HookContext, HookExecutor, HookOutcome,
//!     HookPoint, HookRegistry, HookResult, RegisterOptions,
//! };
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let registry = Arc::new(HookRegistry::new());
//! let executor = HookExecutor::new(registry.clone());
//!
//! // Only for tools named file_*: refuse paths outside /tmp.
//! registry.register_with(
//!     HookPoint::BeforeToolExecution,
//!     Arc::new(hook_fn("sandbox", |ctx| {
//!         let path = ctx.data["parameters"]["path"].as_str().unwrap_or_default();
//!         Ok(if path.starts_with("/tmp/") {
//!             HookResult::Continue
//!         } else {
//!             HookResult::cancel(format!("{path} is outside /tmp"))
//!         })
//!     })),
//!     RegisterOptions::new().matcher("file_*"),
//! )?;
//!
//! // The component side.
//! let point = HookPoint::BeforeToolExecution;
//! let mut ctx = HookContext::builder(point.clone(), ComponentId::new(ComponentType::Tool, "file_reader"))
//!     .data("tool_name", json!("file_reader"))
//!     .data("parameters", json!({"path": "/etc/passwd"}))
//!     .build();
//! if executor.has_hooks(&point) {
//!     match executor.execute(&point, &mut ctx).await {
//!         HookOutcome::Continue => { /* run the tool with ctx.data["parameters"] */ }
//!         HookOutcome::Cancelled { reason, hook } => {
//!             assert_eq!(hook, "sandbox");
//!             assert_eq!(reason, "/etc/passwd is outside /tmp");
//!         }
//!         other => unreachable!("{other:?}"),
//!     }
//! }
//! # Ok::<(), llmspell_hooks::HookError>(())
//! # }).unwrap();
//! ```
//!
//! # Performance
//!
//! Dispatch to a point without hooks is an atomic load or two
//! ([`HookExecutor::has_hooks`] is cheaper still). Per hook, the executor
//! does a few relaxed loads, one `fetch_add` (the breaker's call count) and
//! no allocation beyond the hook's own future; latency is measured on every
//! call that suspends and on a sample of dispatches
//! ([`HookExecutorBuilder::latency_sampling`]). See `benches/benches/hooks_*.rs`.
//!
//! # Built-in hooks, recording, distribution, selective loading
//!
//! Behind cargo features, all on by default: `builtins` (moka, governor,
//! metrics, rand), `recorder` (llmspell-storage) and `distributed` (hmac,
//! sha2). A crate that only implements [`Hook`] can turn them off.
//!
//! [`builtin`] holds eight production hooks, each configured by a builder
//! and tested for its real effect: [`LoggingHook`], [`MetricsHook`],
//! [`DebuggingHook`], [`SecurityHook`], [`CachingHook`], [`RateLimitHook`],
//! [`RetryHook`] and [`CostTrackingHook`]. [`HookRecorder`] stores hook
//! executions in a `llmspell_storage::StorageBackend` and [`HookReplayer`]
//! re-runs them against a hook and reports differences;
//! [`DistributedHookContext`] carries a context to a remote agent, signed
//! by a [`ContextSigner`] (HMAC-SHA256); [`SelectiveHookRegistry`] builds
//! hooks from factories on first use and switches them by feature. Guide:
//! `docs/technical/builtin-hooks.md`.
//!
//! With the feature `nats` (off by default), the `remote` module serves
//! hook points to other processes over NATS request/reply (`HookServer`)
//! and calls them (`RemoteHook`) with signed contexts and signed replies.

mod adapter;
mod breaker;
#[cfg(feature = "builtins")]
pub mod builtin;
mod cache;
mod clock;
mod component;
mod composite;
mod context;
#[cfg(feature = "distributed")]
mod distributed;
mod error;
mod executor;
mod guard;
mod hook;
mod hooks;
mod json;
mod metadata;
mod monitor;
mod operation;
mod outcome;
mod point;
mod priority;
#[cfg(feature = "recorder")]
mod recorder;
mod redact;
mod registry;
#[cfg(feature = "nats")]
pub mod remote;
mod replay;
mod result;
mod scope;
mod selective;
mod telemetry;

pub use adapter::{HookAdapter, JsonHookAdapter};
pub(crate) use breaker::Permit;
pub use breaker::{BreakerConfig, BreakerState, BreakerTransition, CircuitBreaker, SlidingWindow};
#[cfg(feature = "builtins")]
pub use builtin::{
    CachingHook, CostTrackingHook, DebuggingHook, LoggingHook, MetricsHook, RateLimitHook,
    RetryHook, SecurityHook,
};
pub use cache::{HookCache, DEFAULT_CACHE_CAPACITY};
pub use clock::{Clock, ManualClock, SystemClock};
pub use component::{ComponentId, ComponentType, ParseComponentTypeError};
pub use composite::{Aggregation, FirstMatchHook, ParallelHook, SequentialHook, VotingHook};
pub use context::{HookContext, HookContextBuilder, HookData, OperationContext};
#[cfg(feature = "distributed")]
pub use distributed::{
    ContextSigner, ContextVerifyError, DistributedHookContext, PropagationFlags,
    DISTRIBUTED_CONTEXT_VERSION,
};
pub use error::{HookError, Result};
pub use executor::{
    HookExecutor, HookExecutorBuilder, LatencySampler, DEFAULT_HOOK_TIMEOUT,
    DEFAULT_LATENCY_SAMPLING,
};
pub use guard::{GuardError, Guarded};
pub use hook::{async_hook_fn, hook_fn, AsyncFnHook, FnHook, Hook};
pub use hooks::{Hooks, HooksBuilder, IntoHookPoint};
pub use llmspell_events::Language;
pub use metadata::HookMetadata;
pub(crate) use monitor::CallOutcome;
pub(crate) use monitor::PerformanceMonitor;
pub use monitor::{LatencyBucket, PerformanceSnapshot};
pub use operation::{
    AfterStep, Call, Completed, ForkError, ForkResult, ForkRunner, HookedOperation, LentCall,
    LentOperation, OperationError, OperationRun, Recovery, ResultSource, Step,
};
pub use outcome::HookOutcome;
pub use point::HookPoint;
pub use priority::Priority;
#[cfg(feature = "recorder")]
pub use recorder::{
    HookRecorder, HookReplayer, RecordedExecution, RecordedOutcome, RecordingHook,
    ReplayDifference, ReplayReport,
};
pub use redact::{Redactor, REDACTED};
pub use registry::{
    HookFilter, HookHandle, HookRegistry, RegisterOptions, RegisteredHook, RegistryChange,
    RegistryStats, SlowHookCall,
};
#[cfg(feature = "nats")]
pub use remote::{HookServer, HookServerConfig, RemoteHook, RemoteHookReply};
pub use replay::ReplayableHook;
pub use result::{ForkOperation, HookResult};
pub use scope::{current_correlation_id, current_parent, set_current_parent, with_parent};
pub use selective::{HookFactory, SelectiveHookRegistry, SelectiveStats};
