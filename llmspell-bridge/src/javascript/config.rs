//! [`JsConfig`]: limits of a JavaScript engine.

use std::time::Duration;

/// How a [`JsEngine`](super::JsEngine) is set up.
///
/// The defaults: no time limit for the main script, 5 s per hook or event
/// callback call, at most 10,000,000 loop iterations per function call in
/// the main script and 1,000,000 in a hook or callback, 256 nested calls,
/// `ArrayBuffer`s of at most 256 MiB, and up to 5 s to drain event
/// callbacks at script end.
///
/// boa_engine can interrupt running JavaScript only through its loop and
/// recursion limits (errors JavaScript cannot catch); a wall-clock limit is
/// enforced where the engine waits (a promise, a bridge call) and by the
/// caller of a hook. See `docs/technical/javascript.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct JsConfig {
    pub(crate) script_timeout: Option<Duration>,
    pub(crate) call_timeout: Duration,
    pub(crate) script_loop_limit: u64,
    pub(crate) call_loop_limit: u64,
    pub(crate) recursion_limit: usize,
    pub(crate) buffer_limit: u64,
    pub(crate) drain_limit: Duration,
}

impl Default for JsConfig {
    fn default() -> Self {
        JsConfig {
            script_timeout: None,
            call_timeout: Duration::from_secs(5),
            script_loop_limit: 10_000_000,
            call_loop_limit: 1_000_000,
            recursion_limit: 256,
            buffer_limit: 256 * 1024 * 1024,
            drain_limit: Duration::from_secs(5),
        }
    }
}

impl JsConfig {
    /// The default configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// The wall-clock limit of the main script (`None`: unlimited). It is
    /// checked whenever the script waits; a synchronous loop is stopped by
    /// the loop-iteration limit.
    pub fn with_script_timeout(mut self, limit: Option<Duration>) -> Self {
        self.script_timeout = limit;
        self
    }

    /// The wall-clock limit of one hook or event callback call.
    pub fn with_call_timeout(mut self, limit: Duration) -> Self {
        self.call_timeout = limit;
        self
    }

    /// How many loop iterations one function call of the main script may
    /// run (at least 1).
    pub fn with_script_loop_limit(mut self, iterations: u64) -> Self {
        self.script_loop_limit = iterations.max(1);
        self
    }

    /// How many loop iterations one function call inside a hook or event
    /// callback may run (at least 1).
    pub fn with_call_loop_limit(mut self, iterations: u64) -> Self {
        self.call_loop_limit = iterations.max(1);
        self
    }

    /// How deeply JavaScript calls may nest (at least 16).
    pub fn with_recursion_limit(mut self, depth: usize) -> Self {
        self.recursion_limit = depth.max(16);
        self
    }

    /// The largest `ArrayBuffer` (and typed array) in bytes; the part of a
    /// memory bound boa can enforce.
    pub fn with_buffer_limit(mut self, bytes: u64) -> Self {
        self.buffer_limit = bytes;
        self
    }

    /// How long the end of a script may spend running queued event callbacks.
    pub fn with_drain_limit(mut self, limit: Duration) -> Self {
        self.drain_limit = limit;
        self
    }

    /// The per-call limit of hooks and callbacks.
    #[must_use]
    pub fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    /// The wall-clock limit of the main script, if any.
    #[must_use]
    pub fn script_timeout(&self) -> Option<Duration> {
        self.script_timeout
    }
}
