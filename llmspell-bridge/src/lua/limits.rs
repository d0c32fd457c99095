//! Per-call time limits that stop runaway Lua code, even inside `pcall`.
//!
//! Every Lua call made by the bridge runs on its own coroutine (a Lua
//! thread) driven as a future, and registers that thread and its deadline
//! here. An instruction hook fires every `slice` instructions:
//!
//! - on a bridge-owned thread whose deadline has passed it returns
//!   [`VmState::Yield`]; the coroutine suspends (a yield cannot be caught by
//!   `pcall`), the call's `tokio::time::timeout` fires and drops the
//!   coroutine, and the state stays usable;
//! - on a bridge-owned thread it also yields every `fair_every` slices, so a
//!   long computation lets timers run and other threads take the Lua lock;
//! - on a coroutine the script created itself, yielding would be seen by the
//!   script's own `coroutine.resume`, so the hook raises a time-limit error
//!   there instead once the innermost call's deadline has passed; the error
//!   unwinds to bridge-owned code, where the yield above stops it;
//! - if a bridge-owned thread cannot yield (inside a C boundary such as a
//!   `table.sort` comparator) the hook raises the same error after a grace
//!   period.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mlua::{HookTriggers, Lua, VmState};

/// How long a bridge-owned thread may keep running past its deadline
/// (because it cannot yield) before the hook raises an error instead.
const GRACE: Duration = Duration::from_millis(50);

#[derive(Debug)]
struct Entry {
    id: u64,
    thread: usize,
    deadline: Option<Instant>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: Mutex<Vec<Entry>>,
    next_id: AtomicU64,
    ticks: AtomicU64,
}

/// The set of running bridge calls and their deadlines for one Lua state.
#[derive(Debug, Clone, Default)]
pub(crate) struct Watchdog {
    inner: Arc<Inner>,
}

/// Removes its call from the [`Watchdog`] when dropped (also when the call's
/// future is dropped by a timeout).
#[derive(Debug)]
pub(crate) struct CallGuard {
    inner: Arc<Inner>,
    id: u64,
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        let mut entries = self
            .inner
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        entries.retain(|e| e.id != self.id);
    }
}

impl Watchdog {
    /// Installs the instruction hook on `lua`.
    pub(crate) fn install(&self, lua: &Lua, slice: u32, fair_every: u64) -> mlua::Result<()> {
        let inner = Arc::clone(&self.inner);
        let fair_every = fair_every.max(1);
        lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(slice.max(1)),
            move |lua, _debug| {
                let tick = inner.ticks.fetch_add(1, Ordering::Relaxed);
                let current = lua.current_thread().to_pointer() as usize;
                let now = Instant::now();
                let entries = inner.entries.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(own) = entries.iter().rev().find(|e| e.thread == current) {
                    return match own.deadline {
                        Some(d) if now >= d + GRACE => Err(time_limit_error()),
                        Some(d) if now >= d => Ok(VmState::Yield),
                        _ if tick.is_multiple_of(fair_every) => Ok(VmState::Yield),
                        _ => Ok(VmState::Continue),
                    };
                }
                // A script-created coroutine (or a plain synchronous call):
                // the innermost running call's deadline applies.
                match entries.last().and_then(|e| e.deadline) {
                    Some(d) if now >= d => Err(time_limit_error()),
                    _ => Ok(VmState::Continue),
                }
            },
        )
    }

    /// Registers a call running on the Lua thread `thread`.
    pub(crate) fn enter(&self, thread: usize, limit: Option<Duration>) -> CallGuard {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let deadline = limit.and_then(|l| Instant::now().checked_add(l));
        self.inner
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Entry {
                id,
                thread,
                deadline,
            });
        CallGuard {
            inner: Arc::clone(&self.inner),
            id,
        }
    }
}

fn time_limit_error() -> mlua::Error {
    mlua::Error::external(super::engine::TimeLimitHit)
}
