//! Bounded spinning around the two thread hand-offs of a call into the
//! engine thread.
//!
//! A hook call from another thread is a request in the engine's inbox and
//! a reply over a oneshot channel. When either side is parked, each
//! hand-off costs a wake-up of a sleeping thread (an `eventfd` write, an
//! `epoll_wait` return and a context switch): tens of microseconds, ten
//! times what the JavaScript call itself costs. So both sides look for the
//! other's message for a short, bounded window before they park:
//!
//! - the engine thread, when it runs out of work, polls its inbox and its
//!   pending operations for [`ENGINE_SPIN`] before it sleeps in the tokio
//!   runtime (once per idle spell, see `serve_loop`);
//! - a caller on another thread, after sending a hook request, looks for
//!   the reply for [`CALLER_SPIN`] before it awaits it (never on an engine
//!   thread, where the reply cannot come until the caller returns, and not
//!   again after a call that outlasted the window, until a call is fast).
//!
//! While spinning, nothing registers a waker, so the sender of the message
//! makes no wake-up system call either. A window that passes costs at most
//! its length in CPU time and then falls back to the ordinary wait.

use std::time::{Duration, Instant};

/// How long the engine thread looks for new work before it parks.
pub(super) const ENGINE_SPIN: Duration = Duration::from_micros(50);

/// How long a caller looks for a hook's reply before it parks.
pub(super) const CALLER_SPIN: Duration = Duration::from_micros(50);

/// A spin window: a few busy-wait rounds of growing length, then
/// `yield_now` (so that on a busy machine the thread being waited for can
/// run on this core), until the window passes.
pub(super) struct Spin {
    until: Instant,
    step: u32,
}

impl Spin {
    /// A window of `length` from now.
    pub(super) fn new(length: Duration) -> Self {
        Spin {
            until: Instant::now() + length,
            step: 0,
        }
    }

    /// Waits a little; `false` once the window has passed.
    pub(super) fn snooze(&mut self) -> bool {
        if self.step < 6 {
            for _ in 0..(1u32 << self.step) {
                std::hint::spin_loop();
            }
            self.step += 1;
        } else {
            std::thread::yield_now();
        }
        Instant::now() < self.until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_ends() {
        let started = Instant::now();
        let mut spin = Spin::new(Duration::from_micros(200));
        while spin.snooze() {}
        assert!(started.elapsed() >= Duration::from_micros(200));
    }
}
