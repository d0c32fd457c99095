//! Hooks for llmspell: named points in the life of agents, tools and
//! workflows where Rust, Lua or JavaScript code can observe and change what
//! happens.
//!
//! Work in progress: this version holds the core vocabulary (points,
//! contexts, results, the `Hook` trait); the registry, executor, circuit
//! breaker and composites follow.

mod adapter;
mod breaker;
pub mod builtin;
mod clock;
mod component;
mod composite;
mod context;
mod distributed;
mod error;
mod executor;
mod hook;
mod metadata;
mod monitor;
mod outcome;
mod point;
mod priority;
mod recorder;
mod registry;
mod replay;
mod result;
mod selective;

pub use adapter::{HookAdapter, JsonHookAdapter};
pub use breaker::{
    BreakerConfig, BreakerState, BreakerTransition, CircuitBreaker, Permit, SlidingWindow,
};
pub use builtin::{
    CachingHook, CostTrackingHook, DebuggingHook, LoggingHook, MetricsHook, RateLimitHook,
    RetryHook, SecurityHook,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use component::{ComponentId, ComponentType, ParseComponentTypeError};
pub use composite::{Aggregation, FirstMatchHook, ParallelHook, SequentialHook, VotingHook};
pub use context::{HookContext, HookContextBuilder, HookData, OperationContext};
pub use distributed::{
    ContextSigner, ContextVerifyError, DistributedHookContext, PropagationFlags,
    DISTRIBUTED_CONTEXT_VERSION,
};
pub use error::{HookError, Result};
pub use executor::{HookExecutor, HookExecutorBuilder, DEFAULT_HOOK_TIMEOUT};
pub use hook::{async_hook_fn, hook_fn, AsyncFnHook, FnHook, Hook};
pub use llmspell_events::Language;
pub use metadata::HookMetadata;
pub use monitor::{CallOutcome, PerformanceMonitor, PerformanceSnapshot};
pub use outcome::HookOutcome;
pub use point::HookPoint;
pub use priority::Priority;
pub use recorder::{
    HookRecorder, HookReplayer, RecordedExecution, RecordedOutcome, RecordingHook,
    ReplayDifference, ReplayReport,
};
pub use registry::{
    HookFilter, HookHandle, HookRegistry, RegisterOptions, RegisteredHook, RegistryStats,
};
pub use replay::ReplayableHook;
pub use result::{ForkOperation, HookResult};
pub use selective::{HookFactory, SelectiveHookRegistry, SelectiveStats};
