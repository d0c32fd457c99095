//! [`HookContext`]: what a hook sees and may change.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{ComponentId, HookPoint, Language};

/// The JSON object a hook reads and may change (`HookContext::data`).
pub type HookData = Map<String, Value>;

/// The operation a hook point wraps: its type, id, parameters, and (for
/// After*/Error points) its result or error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OperationContext {
    /// What kind of operation, e.g. `tool_execution`, `agent_execution`.
    pub operation_type: String,
    /// A unique id for this operation.
    pub operation_id: Uuid,
    /// The operation's input parameters.
    pub parameters: Value,
    /// The operation's result, once there is one.
    pub result: Option<Value>,
    /// The operation's error message, if it failed.
    pub error: Option<String>,
}

impl OperationContext {
    /// An operation of `operation_type` with a fresh id and the given
    /// parameters.
    #[must_use]
    pub fn new(operation_type: impl Into<String>, parameters: Value) -> Self {
        Self {
            operation_type: operation_type.into(),
            operation_id: Uuid::new_v4(),
            parameters,
            result: None,
            error: None,
        }
    }

    /// Sets the result.
    #[must_use]
    pub fn with_result(mut self, result: Value) -> Self {
        self.result = Some(result);
        self
    }

    /// Sets the error message.
    #[must_use]
    pub fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }
}

/// Everything a hook gets: the point, the component, a correlation id shared
/// by related contexts, the language of the caller, the mutable `data`
/// object, string metadata, a timestamp, the wrapped operation and the
/// parent context.
///
/// `data` keys are fixed per component (tools: `tool_name`, `parameters`,
/// `result`, `error`; agents: `agent_name`, `input`, `output`, `from_state`,
/// `to_state`; workflows: `workflow_name`, `pattern`, `step_name`,
/// `step_index`, `iteration`, `branch`).
///
/// ```
/// use llmspell_hooks::{ComponentId, ComponentType, HookContext, HookPoint};
/// use serde_json::json;
///
/// let ctx = HookContext::builder(
///     HookPoint::BeforeToolExecution,
///     ComponentId::new(ComponentType::Tool, "calculator"),
/// )
/// .data("parameters", json!({"expr": "1+1"}))
/// .metadata("user", "alice")
/// .build();
/// assert_eq!(ctx.data["parameters"]["expr"], "1+1");
///
/// let child = ctx.child(HookPoint::AfterToolExecution);
/// assert_eq!(child.correlation_id, ctx.correlation_id);
/// assert_eq!(child.parent.as_ref().unwrap().point, HookPoint::BeforeToolExecution);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HookContext {
    /// Where the hooks run.
    pub point: HookPoint,
    /// The component the operation belongs to.
    pub component: ComponentId,
    /// Shared by every context of one logical operation (kept by `child`).
    pub correlation_id: Uuid,
    /// The language the operation was started from.
    pub language: Language,
    /// The data hooks read and change (a `Modified` result replaces it).
    pub data: HookData,
    /// Free-form string metadata.
    pub metadata: HashMap<String, String>,
    /// When the context was created.
    pub timestamp: DateTime<Utc>,
    /// The wrapped operation, if any.
    pub operation: Option<OperationContext>,
    /// The context this one was derived from with [`HookContext::child`].
    pub parent: Option<Box<HookContext>>,
}

impl HookContext {
    /// A context for `point` and `component` with a fresh correlation id,
    /// Rust language, empty data and the current time.
    #[must_use]
    pub fn new(point: HookPoint, component: ComponentId) -> Self {
        Self {
            point,
            component,
            correlation_id: Uuid::new_v4(),
            language: Language::Rust,
            data: Map::new(),
            metadata: HashMap::new(),
            timestamp: Utc::now(),
            operation: None,
            parent: None,
        }
    }

    /// A builder with [`HookContext::new`]'s defaults: a fresh correlation
    /// id (drawn by [`build`](HookContextBuilder::build) unless one is
    /// set), Rust, empty data, and the time the context is built.
    pub fn builder(point: HookPoint, component: ComponentId) -> HookContextBuilder {
        HookContextBuilder {
            ctx: Self {
                point,
                component,
                correlation_id: Uuid::nil(),
                language: Language::Rust,
                data: Map::new(),
                metadata: HashMap::new(),
                timestamp: DateTime::<Utc>::UNIX_EPOCH,
                operation: None,
                parent: None,
            },
            correlation_id: None,
            timestamp: None,
        }
    }

    /// A context for another point of the same operation: same component,
    /// correlation id, language, data, metadata and operation; a new
    /// timestamp; `self` (without its own parent chain) as parent.
    #[must_use]
    pub fn child(&self, point: HookPoint) -> Self {
        let mut parent = self.clone();
        // Keep one level: a chain of children must not grow without bound.
        parent.parent = None;
        Self {
            point,
            component: self.component.clone(),
            correlation_id: self.correlation_id,
            language: self.language,
            data: self.data.clone(),
            metadata: self.metadata.clone(),
            timestamp: Utc::now(),
            operation: self.operation.clone(),
            parent: Some(Box::new(parent)),
        }
    }

    /// The current time as the contexts this crate builds are stamped:
    /// the system clock, read at most once a second per thread and advanced
    /// on the CPU's time-stamp counter in between (cheaper than
    /// `Utc::now()`, within microseconds of it). For a component that
    /// refills a context it keeps.
    #[must_use]
    pub fn now() -> DateTime<Utc> {
        wall_now()
    }

    /// A value of `data`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.data.get(key)
    }

    /// Sets a value of `data`, returning the previous one.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) -> Option<Value> {
        self.data.insert(key.into(), value)
    }

    /// A metadata value.
    #[must_use]
    pub fn get_metadata(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// Sets a metadata value.
    pub fn insert_metadata(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.metadata.insert(key.into(), value.into());
    }
}

/// Builds a [`HookContext`]; see [`HookContext::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct HookContextBuilder {
    ctx: HookContext,
    /// Set by [`correlation_id`](Self::correlation_id); a fresh one is
    /// drawn at build otherwise (not before: a random id costs a CSPRNG
    /// call, wasted when the caller sets its own).
    correlation_id: Option<Uuid>,
    /// Set by [`timestamp`](Self::timestamp); the build time otherwise.
    timestamp: Option<DateTime<Utc>>,
}

impl HookContextBuilder {
    /// Sets the correlation id.
    pub fn correlation_id(mut self, id: Uuid) -> Self {
        self.correlation_id = Some(id);
        self
    }

    /// Sets the language.
    pub fn language(mut self, language: Language) -> Self {
        self.ctx.language = language;
        self
    }

    /// Sets one data value.
    pub fn data(mut self, key: impl Into<String>, value: Value) -> Self {
        self.ctx.data.insert(key.into(), value);
        self
    }

    /// Replaces the whole data object.
    pub fn data_map(mut self, data: HookData) -> Self {
        self.ctx.data = data;
        self
    }

    /// Sets one metadata value.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.ctx.metadata.insert(key.into(), value.into());
        self
    }

    /// Sets the operation.
    pub fn operation(mut self, operation: OperationContext) -> Self {
        self.ctx.operation = Some(operation);
        self
    }

    /// Sets the timestamp.
    pub fn timestamp(mut self, timestamp: DateTime<Utc>) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Sets the parent context.
    pub fn parent(mut self, parent: HookContext) -> Self {
        self.ctx.parent = Some(Box::new(parent));
        self
    }

    /// The context: the correlation id set, or a fresh one; the timestamp
    /// set, or now.
    #[must_use]
    pub fn build(self) -> HookContext {
        let mut ctx = self.ctx;
        ctx.correlation_id = self.correlation_id.unwrap_or_else(Uuid::new_v4);
        ctx.timestamp = self.timestamp.unwrap_or_else(wall_now);
        ctx
    }
}

/// How long a thread derives wall-clock time from its last system clock
/// read (see [`wall_now`]).
const WALL_ANCHOR_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// The current wall-clock time, for the timestamp of a context a hooked
/// operation builds (once per run), a builder builds, or a nested
/// operation gets as its parent. The system clock is read at most once
/// a second per thread; in between, the time since that read is measured on
/// the TSC through `quanta`. On the virtual machines CI runs on a system
/// clock read costs about 90 ns and a TSC read about 40 ns; the
/// difference is most of a hooked tool call's share of the clock. The
/// result can differ from `Utc::now()` by the drift between the TSC and
/// the system clock over at most a second (microseconds), and does not
/// follow a step of the system clock until the next read.
pub(crate) fn wall_now() -> DateTime<Utc> {
    thread_local! {
        static ANCHOR: std::cell::Cell<Option<(DateTime<Utc>, quanta::Instant)>> =
            const { std::cell::Cell::new(None) };
    }
    let now = quanta::Instant::now();
    ANCHOR
        .try_with(|anchor| {
            if let Some((wall, at)) = anchor.get() {
                let since = now.saturating_duration_since(at);
                if since < WALL_ANCHOR_FOR {
                    if let Some(t) = chrono::TimeDelta::from_std(since)
                        .ok()
                        .and_then(|d| wall.checked_add_signed(d))
                    {
                        return t;
                    }
                }
            }
            let wall = Utc::now();
            anchor.set(Some((wall, now)));
            wall
        })
        .unwrap_or_else(|_| Utc::now())
}

#[cfg(test)]
mod wall_clock_tests {
    #[test]
    fn wall_now_follows_the_system_clock() {
        for _ in 0..1000 {
            let before = chrono::Utc::now();
            let t = super::wall_now();
            let after = chrono::Utc::now();
            // Within the TSC's drift from the system clock over a second.
            assert!(
                t >= before - chrono::TimeDelta::milliseconds(5),
                "{t} < {before}"
            );
            assert!(
                t <= after + chrono::TimeDelta::milliseconds(5),
                "{t} > {after}"
            );
        }
    }
}

#[cfg(test)]
mod builder_tests {
    use super::*;
    use crate::ComponentType;

    fn builder() -> HookContextBuilder {
        HookContext::builder(
            HookPoint::BeforeToolExecution,
            ComponentId::new(ComponentType::Tool, "t"),
        )
    }

    #[test]
    fn an_unset_correlation_id_is_drawn_fresh_at_build() {
        let a = builder().build();
        let b = builder().build();
        assert!(!a.correlation_id.is_nil());
        assert_ne!(a.correlation_id, b.correlation_id);
        let id = Uuid::new_v4();
        assert_eq!(builder().correlation_id(id).build().correlation_id, id);
    }

    #[test]
    fn the_timestamp_is_the_build_time_unless_set() {
        let before = Utc::now() - chrono::TimeDelta::milliseconds(5);
        let built = builder().build().timestamp;
        let after = Utc::now() + chrono::TimeDelta::milliseconds(5);
        assert!(
            before <= built && built <= after,
            "{before} {built} {after}"
        );
        let t = DateTime::<Utc>::UNIX_EPOCH + chrono::TimeDelta::days(1);
        assert_eq!(builder().timestamp(t).build().timestamp, t);
    }

    #[test]
    fn the_builder_keeps_what_it_is_given() {
        let ctx = builder()
            .language(Language::Lua)
            .data("k", Value::from(1))
            .metadata("m", "v")
            .build();
        assert_eq!(ctx.language, Language::Lua);
        assert_eq!(ctx.data["k"], 1);
        assert_eq!(ctx.get_metadata("m"), Some("v"));
        assert!(ctx.parent.is_none() && ctx.operation.is_none());
    }
}
