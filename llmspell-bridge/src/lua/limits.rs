//! Per-call time limits that stop runaway Lua code, even inside `pcall`,
//! script coroutines and error handlers.
//!
//! Every Lua call made by the bridge runs on its own coroutine (a Lua
//! thread) driven as a future ([`Watchdog::while_running`] wraps each poll). While that future is
//! being polled, its call is on the watchdog's *running stack* with its
//! effective deadline: its own limit, or the enclosing running call's if
//! that is earlier (a hook called re-entrantly by a script ends when the
//! script's time is up). Whatever Lua code runs — on the call's coroutine,
//! on a coroutine the script created, in a metamethod — belongs to the top
//! of that stack. An instruction hook fires every `slice` instructions:
//!
//! - on the call's own coroutine past its deadline it returns
//!   [`VmState::Yield`]; the coroutine suspends (a yield cannot be caught by
//!   `pcall`), the call's `tokio::time::timeout` fires and drops the
//!   coroutine, and the state stays usable;
//! - on the call's own coroutine it also yields every `fair_every` slices,
//!   so a long computation lets timers run and other threads take the Lua
//!   lock;
//! - anywhere else (a coroutine the script created, a place that cannot
//!   yield such as a `table.sort` comparator) it raises a time-limit error
//!   once the deadline has passed (on the call's own coroutine, 50 ms after
//!   the yield was asked for and did not happen);
//! - while the engine is closing or discarded, it raises the error
//!   everywhere.
//!
//! An error can be caught, so the sandbox's `pcall` and `xpcall` re-raise
//! the time-limit error when they catch anything after the deadline
//! ([`Watchdog::check`]), and `xpcall`'s message handler is skipped then: a
//! handler runs where Lua disables the instruction hook once an error came
//! from a hook, so a looping handler could never be stopped. What the hook
//! cannot reach at all — Lua runs `__gc` finalisers with hooks off, and a
//! single C library call never executes an instruction — is bounded by the
//! engine's supervisor instead (see `engine.rs`).

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use mlua::{HookTriggers, Lua, VmState};

/// How long a bridge-owned thread may keep running past its deadline
/// (because it cannot yield) before the hook raises an error instead.
const GRACE: Duration = Duration::from_millis(50);

/// What the watchdog enforces besides the calls' deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Mode {
    /// Deadlines only.
    Normal = 0,
    /// The state is being closed: every running Lua function is stopped.
    Closing = 1,
    /// The engine was given up: every running Lua function is stopped.
    Discarded = 2,
}

/// What kind of call, for limit reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// The main script, `call_function`, an `eval`.
    Script,
    /// A hook registered with `Hook.register`.
    Hook,
    /// An event callback.
    Callback,
}

impl CallKind {
    /// The `resource` of a `ResourceLimitExceeded` report for its time.
    pub(crate) fn time_resource(self) -> &'static str {
        match self {
            CallKind::Script => "script_time",
            CallKind::Hook => "hook_time",
            CallKind::Callback => "callback_time",
        }
    }
}

/// One call being polled.
#[derive(Debug, Clone)]
pub(crate) struct Running {
    /// The Lua thread (coroutine) of the call.
    thread: usize,
    /// The effective deadline (own limit or an enclosing call's).
    deadline: Option<Instant>,
    /// The call's own limit, for reports.
    pub(crate) limit: Option<Duration>,
    /// What runs, for reports.
    pub(crate) what: Arc<str>,
    /// Which kind of call.
    pub(crate) kind: CallKind,
}

#[derive(Debug, Default)]
struct Inner {
    running: Mutex<Vec<Running>>,
    mode: AtomicU8,
    ticks: AtomicU64,
}

/// The running calls and their deadlines for one Lua state.
#[derive(Debug, Clone, Default)]
pub(crate) struct Watchdog {
    inner: Arc<Inner>,
}

/// A call's identity, given to [`Watchdog::while_running`] at each poll.
#[derive(Debug, Clone)]
pub(crate) struct CallInfo {
    /// The call's Lua thread.
    pub(crate) thread: usize,
    /// Its own deadline (fixed when the call starts).
    pub(crate) deadline: Option<Instant>,
    /// Its own limit.
    pub(crate) limit: Option<Duration>,
    /// What runs.
    pub(crate) what: Arc<str>,
    /// Which kind of call.
    pub(crate) kind: CallKind,
}

impl Watchdog {
    fn running(&self) -> MutexGuard<'_, Vec<Running>> {
        self.inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The current mode.
    pub(crate) fn mode(&self) -> Mode {
        match self.inner.mode.load(Ordering::Acquire) {
            0 => Mode::Normal,
            1 => Mode::Closing,
            _ => Mode::Discarded,
        }
    }

    /// Switches to `mode` (a discarded engine stays discarded).
    pub(crate) fn set_mode(&self, mode: Mode) {
        // Release: a thread that sees the mode also sees what the setter
        // did before (e.g. unregistering the engine's hooks).
        let _ = self.inner.mode.fetch_max(mode as u8, Ordering::AcqRel);
    }

    /// Installs the instruction hook on `lua`.
    pub(crate) fn install(&self, lua: &Lua, slice: u32, fair_every: u64) -> mlua::Result<()> {
        let this = self.clone();
        let fair_every = fair_every.max(1);
        lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(slice.max(1)),
            move |lua, debug| {
                if this.mode() != Mode::Normal {
                    return Err(time_limit_error());
                }
                // Relaxed: only a rough count for fairness.
                let tick = this.inner.ticks.fetch_add(1, Ordering::Relaxed);
                let running = this.running();
                let Some(top) = running.last() else {
                    return Ok(VmState::Continue);
                };
                let now = Instant::now();
                let current = lua.current_thread().to_pointer() as usize;
                if top.thread == current {
                    return match top.deadline {
                        Some(d) if now >= d + GRACE => Err(time_limit_error()),
                        Some(d) if now >= d => Ok(VmState::Yield),
                        _ if tick.is_multiple_of(fair_every) && !in_async_wrapper(debug) => {
                            Ok(VmState::Yield)
                        }
                        _ => Ok(VmState::Continue),
                    };
                }
                // A script-created coroutine, or a function called from a
                // C boundary: a yield would be the script's to see.
                match top.deadline {
                    Some(d) if now >= d => Err(time_limit_error()),
                    _ => Ok(VmState::Continue),
                }
            },
        )
    }

    /// Whether the innermost running call is past its deadline (or the
    /// engine is closing or discarded).
    pub(crate) fn limit_hit(&self) -> bool {
        if self.mode() != Mode::Normal {
            return true;
        }
        self.running()
            .last()
            .and_then(|r| r.deadline)
            .is_some_and(|d| Instant::now() >= d)
    }

    /// Raises the time-limit error when [`limit_hit`](Self::limit_hit).
    pub(crate) fn check(&self) -> mlua::Result<()> {
        if self.limit_hit() {
            Err(time_limit_error())
        } else {
            Ok(())
        }
    }

    /// The innermost running call if it is more than `grace` past its
    /// deadline: the hook did not stop it, so it runs where the hook
    /// cannot reach.
    pub(crate) fn overdue(&self, grace: Duration) -> Option<Running> {
        let running = self.running();
        let top = running.last()?;
        let deadline = top.deadline?;
        (Instant::now() >= deadline + grace).then(|| top.clone())
    }

    /// Marks `call` as running while `poll` runs; returns what `poll`
    /// returned.
    pub(crate) fn while_running<T>(&self, call: &CallInfo, poll: impl FnOnce() -> T) -> T {
        {
            let mut running = self.running();
            let own = call.deadline;
            let outer = running.last().and_then(|r| r.deadline);
            let deadline = match (own, outer) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            running.push(Running {
                thread: call.thread,
                deadline,
                limit: call.limit,
                what: Arc::clone(&call.what),
                kind: call.kind,
            });
        }
        // Popped also when `poll` unwinds.
        let _pop = Pop(self);
        poll()
    }
}

/// Whether the hook fired inside mlua's poll loop of an async Rust
/// function (`__mlua_async_poll`). A fairness yield there can lose the
/// wake-up of the future it polls (issue 12 item 5: 2,000 subscriptions
/// drained with `Event.receive` hung at 0 % CPU), so it waits for the next
/// slice in the script's own code.
fn in_async_wrapper(debug: &mlua::debug::Debug<'_>) -> bool {
    debug
        .source()
        .source
        .is_some_and(|s| s == "=__mlua_async_poll")
}

/// Pops the running stack when dropped.
struct Pop<'a>(&'a Watchdog);

impl Drop for Pop<'_> {
    fn drop(&mut self) {
        self.0.running().pop();
    }
}

/// The error the watchdog raises at a time limit (mapped to
/// [`BridgeError::Timeout`](crate::BridgeError::Timeout) by the engine).
pub(crate) fn time_limit_error() -> mlua::Error {
    mlua::Error::external(super::engine::TimeLimitHit)
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;

    /// Pending once with a wake-up of its own (as tokio does when a task's
    /// budget is used up, or `yield_now`), then ready.
    #[derive(Default)]
    struct SelfWakeOnce(bool);

    impl Future for SelfWakeOnce {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    /// Issue 12 item 5: a fairness yield that lands in mlua's poll loop
    /// between a `Pending` poll and the loop's own yield loses the wake-up
    /// the future gave itself: the call then waits forever at 0 % CPU. With
    /// a slice of one instruction every such window gets a yield.
    #[tokio::test]
    async fn a_fairness_yield_never_loses_a_self_wake_of_an_async_function() {
        let lua = Lua::new();
        let dog = Watchdog::default();
        dog.install(&lua, 1, 1).unwrap();
        let f = lua
            .create_async_function(|_, ()| async {
                SelfWakeOnce::default().await;
                Ok(())
            })
            .unwrap();
        lua.globals().set("self_wake", f).unwrap();
        let func = lua
            .load("local n = 0 for i = 1, 200 do self_wake() n = n + 1 end return n")
            .into_function()
            .unwrap();
        let thread = lua.create_thread(func).unwrap();
        let info = CallInfo {
            thread: thread.to_pointer() as usize,
            deadline: None,
            limit: None,
            what: Arc::from("test"),
            kind: CallKind::Script,
        };
        let fut = thread.into_async::<i64>(()).unwrap();
        let mut fut = std::pin::pin!(fut);
        let tracked = std::future::poll_fn(|cx| dog.while_running(&info, || fut.as_mut().poll(cx)));
        let n = tokio::time::timeout(Duration::from_secs(20), tracked)
            .await
            .expect("the call never finished: a wake-up was lost")
            .unwrap();
        assert_eq!(n, 200);
    }
}
