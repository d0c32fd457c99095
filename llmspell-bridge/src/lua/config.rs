//! [`LuaConfig`]: sandbox and limits of a Lua engine.

use std::time::Duration;

/// How a [`LuaEngine`](super::LuaEngine) is set up.
///
/// The defaults: sandbox on, 256 MiB memory limit, no time limit for the
/// main script, 5 s per hook or callback call, an instruction-hook slice of
/// 1000 instructions, up to 5 s to drain event callbacks at script end, and
/// a budget of one billion steps per pattern-matching call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct LuaConfig {
    pub(crate) sandbox: bool,
    pub(crate) memory_limit: Option<usize>,
    pub(crate) script_timeout: Option<Duration>,
    pub(crate) call_timeout: Duration,
    pub(crate) instruction_slice: u32,
    pub(crate) drain_limit: Duration,
    pub(crate) pattern_steps: u64,
    pub(crate) runaway_grace: Duration,
}

impl Default for LuaConfig {
    fn default() -> Self {
        LuaConfig {
            sandbox: true,
            memory_limit: Some(256 * 1024 * 1024),
            script_timeout: None,
            call_timeout: Duration::from_secs(5),
            instruction_slice: 1000,
            drain_limit: Duration::from_secs(5),
            pattern_steps: 1_000_000_000,
            runaway_grace: Duration::from_secs(1),
        }
    }
}

impl LuaConfig {
    /// The default configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Turns the sandbox off (the safe standard libraries, including `io`
    /// and the full `os`, are opened). For trusted scripts only.
    pub fn with_sandbox(mut self, sandbox: bool) -> Self {
        self.sandbox = sandbox;
        self
    }

    /// The memory limit of the whole Lua state in bytes (`None`: unlimited).
    pub fn with_memory_limit(mut self, bytes: Option<usize>) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// The wall-clock limit of the main script (`None`: unlimited).
    pub fn with_script_timeout(mut self, limit: Option<Duration>) -> Self {
        self.script_timeout = limit;
        self
    }

    /// The wall-clock limit of one hook or event callback call.
    pub fn with_call_timeout(mut self, limit: Duration) -> Self {
        self.call_timeout = limit;
        self
    }

    /// How many VM instructions run between two limit checks (at least 1).
    pub fn with_instruction_slice(mut self, instructions: u32) -> Self {
        self.instruction_slice = instructions.max(1);
        self
    }

    /// How long the end of a script may spend running queued event callbacks.
    pub fn with_drain_limit(mut self, limit: Duration) -> Self {
        self.drain_limit = limit;
        self
    }

    /// The most matching steps one call of `string.find`, `string.match`,
    /// `string.gsub` or one step of a `string.gmatch` iterator may take
    /// (at least 1; default one billion, seconds of work): a backtracking
    /// pattern is stopped by the running call's time limit, or by this
    /// budget when there is none.
    pub fn with_pattern_step_limit(mut self, steps: u64) -> Self {
        self.pattern_steps = steps.max(1);
        self
    }

    /// How long a call may run past its time limit where the engine cannot
    /// interrupt it (a `__gc` finaliser, a long C library call) before the
    /// engine is discarded and the caller gets
    /// [`BridgeError::Runaway`](crate::BridgeError::Runaway) (default 1 s).
    pub fn with_runaway_grace(mut self, grace: Duration) -> Self {
        self.runaway_grace = grace;
        self
    }

    /// The per-call limit for hooks and callbacks.
    #[must_use]
    pub fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    /// The memory limit in bytes, if any.
    #[must_use]
    pub fn memory_limit(&self) -> Option<usize> {
        self.memory_limit
    }
}
