//! [`HookPoint`]: where in the life of a component a hook runs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::HookError;

macro_rules! hook_points {
    ($( $category:literal => { $( $(#[$doc:meta])* $variant:ident ),+ $(,)? } )+) => {
        /// A named place where hooks run, or a custom one.
        ///
        /// The string form is the variant name (`"BeforeToolExecution"`) and
        /// `"custom:<name>"` for [`HookPoint::Custom`]; [`FromStr`] is its
        /// exact inverse, and serde uses the same string.
        ///
        /// ```
        /// use llmspell_hooks::HookPoint;
        ///
        /// let p: HookPoint = "BeforeToolExecution".parse().unwrap();
        /// assert_eq!(p, HookPoint::BeforeToolExecution);
        /// assert_eq!(p.to_string(), "BeforeToolExecution");
        /// let c: HookPoint = "custom:my_point".parse().unwrap();
        /// assert_eq!(c, HookPoint::Custom("my_point".into()));
        /// assert!("BeforeNothing".parse::<HookPoint>().is_err());
        /// ```
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum HookPoint {
            $( $( $(#[$doc])* $variant, )+ )+
            /// A point defined by an application or script; the string is its
            /// name without the `custom:` prefix.
            Custom(String),
        }

        /// Field-less mirror of the named variants, so that `index` is a
        /// plain discriminant cast.
        #[derive(Clone, Copy)]
        enum Idx { $( $( $variant, )+ )+ }

        impl HookPoint {
            /// Every named point (all but `Custom`), in declaration order;
            /// `ALL[p.index().unwrap()] == p`.
            pub const ALL: [HookPoint; HookPoint::NAMED_COUNT] = [
                $( $( HookPoint::$variant, )+ )+
            ];

            /// The variant name, or `None` for a custom point.
            #[must_use]
            pub const fn name(&self) -> Option<&'static str> {
                match self {
                    $( $( HookPoint::$variant => Some(stringify!($variant)), )+ )+
                    HookPoint::Custom(_) => None,
                }
            }

            /// The group the point belongs to: `agent`, `tool`, `workflow`,
            /// `state`, `system`, `session`, `event`, `performance` or
            /// `custom`.
            #[must_use]
            pub const fn category(&self) -> &'static str {
                match self {
                    $( $( HookPoint::$variant => $category, )+ )+
                    HookPoint::Custom(_) => "custom",
                }
            }

            /// The position of a named point in [`HookPoint::ALL`]; `None`
            /// for custom points. O(1): the registry uses it to find a
            /// point's slot without hashing.
            #[inline]
            #[must_use]
            pub const fn index(&self) -> Option<usize> {
                match self {
                    $( $( HookPoint::$variant => Some(Idx::$variant as usize), )+ )+
                    HookPoint::Custom(_) => None,
                }
            }

            fn from_name(s: &str) -> Option<HookPoint> {
                match s {
                    $( $( stringify!($variant) => Some(HookPoint::$variant), )+ )+
                    _ => None,
                }
            }
        }
    };
}

hook_points! {
    "agent" => {
        /// Before an agent is initialised.
        BeforeAgentInit,
        /// After an agent was initialised.
        AfterAgentInit,
        /// Before an agent executes (runs on an input).
        BeforeAgentExecution,
        /// After an agent executed.
        AfterAgentExecution,
        /// An agent failed.
        AgentError,
        /// Before an agent shuts down.
        BeforeAgentShutdown,
        /// After an agent shut down.
        AfterAgentShutdown,
    }
    "tool" => {
        /// Before tools are discovered / listed.
        BeforeToolDiscovery,
        /// After tools were discovered / listed.
        AfterToolDiscovery,
        /// Before a tool executes.
        BeforeToolExecution,
        /// After a tool executed.
        AfterToolExecution,
        /// When a tool's parameters are validated.
        ToolValidation,
        /// A tool failed.
        ToolError,
    }
    "workflow" => {
        /// Before a workflow starts.
        BeforeWorkflowStart,
        /// A workflow moves from one stage to the next.
        WorkflowStageTransition,
        /// Before a workflow stage (step) runs.
        BeforeWorkflowStage,
        /// After a workflow stage (step) ran.
        AfterWorkflowStage,
        /// A workflow checkpoints its state.
        WorkflowCheckpoint,
        /// A workflow rolls back.
        WorkflowRollback,
        /// After a workflow completed.
        AfterWorkflowComplete,
        /// A workflow failed.
        WorkflowError,
    }
    "state" => {
        /// Before state is read.
        BeforeStateRead,
        /// After state was read.
        AfterStateRead,
        /// Before state is written.
        BeforeStateWrite,
        /// After state was written.
        AfterStateWrite,
        /// Two writers conflict.
        StateConflict,
        /// State is migrated between versions.
        StateMigration,
    }
    "system" => {
        /// The system starts.
        SystemStartup,
        /// The system shuts down.
        SystemShutdown,
        /// The configuration changed.
        ConfigurationChange,
        /// A resource limit was exceeded.
        ResourceLimitExceeded,
        /// A security rule was violated.
        SecurityViolation,
    }
    "session" => {
        /// A session starts.
        SessionStart,
        /// A session ends.
        SessionEnd,
        /// A session is checkpointed.
        SessionCheckpoint,
        /// A session is restored.
        SessionRestore,
    }
    "event" => {
        /// Before an event is emitted.
        BeforeEventEmit,
        /// After an event was emitted.
        AfterEventEmit,
        /// An event handler failed.
        EventHandlerError,
    }
    "performance" => {
        /// A performance threshold was exceeded.
        PerformanceThresholdExceeded,
        /// Memory usage is high.
        MemoryUsageHigh,
        /// CPU usage is high.
        CpuUsageHigh,
    }
}

/// The prefix of a custom point's string form.
const CUSTOM_PREFIX: &str = "custom:";

impl HookPoint {
    /// How many named points there are.
    pub const NAMED_COUNT: usize = 42;

    /// A custom point named `name`.
    #[must_use]
    pub fn custom(name: impl Into<String>) -> Self {
        HookPoint::Custom(name.into())
    }

    /// Whether this is a [`HookPoint::Custom`] point.
    #[must_use]
    pub const fn is_custom(&self) -> bool {
        matches!(self, HookPoint::Custom(_))
    }

    /// What fires this point in an llmspell process (the "who fires what"
    /// table of `docs/technical/ARCHITECTURE.md`), for listings and for the
    /// warning given when a hook is registered at a point nothing in the
    /// process fires. Applications that fire a named point themselves
    /// declare it with [`HookRegistry::declare_fired`](crate::HookRegistry::declare_fired).
    #[must_use]
    pub fn firer(&self) -> &'static str {
        match self {
            HookPoint::Custom(_) => "scripts (Hook.fire) and applications (Hooks::notify)",
            HookPoint::SystemStartup | HookPoint::SystemShutdown => {
                "the script context's start and shutdown (every llmspell run)"
            }
            HookPoint::ConfigurationChange => {
                "the script context, when a hook, limit or tool policy changes at runtime"
            }
            HookPoint::ResourceLimitExceeded => {
                "script engines (memory and time limits) and the event bus (queue overflow)"
            }
            HookPoint::SecurityViolation => {
                "the tool runtime, when a tool's policy or sandbox refuses something"
            }
            HookPoint::PerformanceThresholdExceeded => {
                "circuit breakers of hooks and tools (when one opens) and slow hooks"
            }
            HookPoint::MemoryUsageHigh | HookPoint::CpuUsageHigh => {
                "the resource monitor, when it is enabled"
            }
            _ => match self.category() {
                "agent" => "agents (llmspell-agents)",
                "tool" => "the tool runtime (llmspell-tools)",
                "workflow" => "workflows (llmspell-workflows)",
                "state" => "the state store (llmspell-state)",
                "session" => "sessions (every llmspell run)",
                "event" => "the event bridge (scripts' Event.publish and event callbacks)",
                _ => "nothing yet",
            },
        }
    }
}

impl fmt::Display for HookPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HookPoint::Custom(name) => write!(f, "{CUSTOM_PREFIX}{name}"),
            named => f.write_str(named.name().unwrap_or_default()),
        }
    }
}

impl FromStr for HookPoint {
    type Err = HookError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(name) = s.strip_prefix(CUSTOM_PREFIX) {
            if name.is_empty() {
                return Err(HookError::UnknownHookPoint {
                    name: s.to_owned(),
                    valid: valid_names(),
                });
            }
            return Ok(HookPoint::Custom(name.to_owned()));
        }
        HookPoint::from_name(s).ok_or_else(|| HookError::UnknownHookPoint {
            name: s.to_owned(),
            valid: valid_names(),
        })
    }
}

fn valid_names() -> String {
    let mut out = String::new();
    for p in &HookPoint::ALL {
        out.push_str(p.name().unwrap_or_default());
        out.push_str(", ");
    }
    out.push_str("custom:<name>");
    out
}

impl Serialize for HookPoint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HookPoint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_category_match_the_design() {
        let count = |c: &str| HookPoint::ALL.iter().filter(|p| p.category() == c).count();
        assert_eq!(count("agent"), 7);
        assert_eq!(count("tool"), 6);
        assert_eq!(count("workflow"), 8);
        assert_eq!(count("state"), 6);
        assert_eq!(count("system"), 5);
        assert_eq!(count("session"), 4);
        assert_eq!(count("event"), 3);
        assert_eq!(count("performance"), 3);
    }

    #[test]
    fn index_is_position_in_all() {
        for (i, p) in HookPoint::ALL.iter().enumerate() {
            assert_eq!(p.index(), Some(i));
        }
        assert_eq!(HookPoint::custom("x").index(), None);
    }
}
