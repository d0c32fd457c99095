//! The lock-free sliding windows of a circuit breaker.
//!
//! A count window costs nothing for a successful untimed call (the
//! breaker's call counter numbers calls); failures and timed calls are
//! written to small rings of call indices, which the cold evaluation path
//! scans. Entries expire by index, so a reset is O(1).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::SlidingWindow;

/// Buckets of a time window.
const TIME_BUCKETS: u64 = 10;

/// What the window holds: calls, failed calls, calls whose duration was
/// measured, and measured calls that were slow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Totals {
    pub(super) calls: u64,
    pub(super) failures: u64,
    pub(super) timed: u64,
    pub(super) slow: u64,
}

#[derive(Debug)]
pub(super) enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

/// The last `size` calls, numbered by the breaker's call counter; the rings hold the
/// (1-based) index of recent failed calls and of recent timed calls (with
/// the slow flag in bit 0). A window never holds more than `size`
/// failures or timed calls, so rings of `size` entries lose nothing
/// (except when racing writers wrap onto the same entry at once).
#[derive(Debug)]
pub(super) struct CountWindow {
    size: u64,
    /// The breaker's call count at the last reset: earlier calls are
    /// outside the window.
    base: AtomicU64,
    failures: Ring,
    timed: Ring,
}

#[derive(Debug)]
struct Ring {
    next: AtomicU64,
    slots: Box<[AtomicU64]>,
}

impl Ring {
    fn new(size: u64) -> Self {
        Self {
            next: AtomicU64::new(0),
            slots: (0..size).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn push(&self, value: u64) {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.slots[(i % self.slots.len() as u64) as usize].store(value, Ordering::Relaxed);
    }
}

#[derive(Debug)]
pub(super) struct TimeWindow {
    bucket_nanos: u64,
    buckets: Box<[Bucket]>,
    /// Clock nanos at the last reset: earlier buckets are ignored.
    base_epoch: AtomicU64,
}

#[derive(Debug, Default)]
struct Bucket {
    epoch: AtomicU64,
    calls: AtomicU64,
    failures: AtomicU64,
    timed: AtomicU64,
    slow: AtomicU64,
}

// All orderings here are Relaxed: the counters are statistics, and the
// breaker state that depends on them is published through its own
// Acquire/Release state variable.
impl Window {
    pub(super) fn new(kind: SlidingWindow) -> Self {
        match kind {
            SlidingWindow::Count(n) => {
                let size = u64::from(n.max(1));
                Window::Count(CountWindow {
                    size,
                    base: AtomicU64::new(0),
                    failures: Ring::new(size),
                    timed: Ring::new(size),
                })
            }
            SlidingWindow::Time(d) => {
                let total = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
                Window::Time(TimeWindow {
                    bucket_nanos: (total / TIME_BUCKETS).max(1),
                    buckets: (0..TIME_BUCKETS).map(|_| Bucket::default()).collect(),
                    base_epoch: AtomicU64::new(0),
                })
            }
        }
    }

    /// Whether recording needs the current time (time windows).
    pub(super) fn needs_time(&self) -> bool {
        matches!(self, Window::Time(_))
    }

    /// Records call number `index` (1-based); `slow` is `None` when its
    /// duration was not measured.
    #[inline]
    pub(super) fn record(&self, index: u64, failed: bool, slow: Option<bool>, now: Duration) {
        match self {
            Window::Count(w) => {
                if failed {
                    w.failures.push(index);
                }
                if let Some(slow) = slow {
                    w.timed.push((index << 1) | u64::from(slow));
                }
            }
            Window::Time(w) => {
                let epoch = w.epoch(now);
                let b = &w.buckets[(epoch % TIME_BUCKETS) as usize];
                let seen = b.epoch.load(Ordering::Relaxed);
                if seen != epoch
                    && b.epoch
                        .compare_exchange(seen, epoch, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    b.calls.store(0, Ordering::Relaxed);
                    b.failures.store(0, Ordering::Relaxed);
                    b.timed.store(0, Ordering::Relaxed);
                    b.slow.store(0, Ordering::Relaxed);
                }
                b.calls.fetch_add(1, Ordering::Relaxed);
                if failed {
                    b.failures.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(slow) = slow {
                    b.timed.fetch_add(1, Ordering::Relaxed);
                    if slow {
                        b.slow.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    /// What the window holds at `now`, `total` calls having been made.
    pub(super) fn totals(&self, total: u64, now: Duration) -> Totals {
        match self {
            Window::Count(w) => {
                let start = w
                    .base
                    .load(Ordering::Relaxed)
                    .max(total.saturating_sub(w.size));
                // Indices in the window: start+1 ..= total.
                let inside = |i: u64| i > start && i <= total;
                let mut t = Totals {
                    calls: total - start.min(total),
                    ..Totals::default()
                };
                for s in w.failures.slots.iter() {
                    if inside(s.load(Ordering::Relaxed)) {
                        t.failures += 1;
                    }
                }
                for s in w.timed.slots.iter() {
                    let v = s.load(Ordering::Relaxed);
                    if inside(v >> 1) {
                        t.timed += 1;
                        t.slow += v & 1;
                    }
                }
                t
            }
            Window::Time(w) => {
                let current = w.epoch(now);
                let oldest = current
                    .saturating_sub(TIME_BUCKETS - 1)
                    .max(w.base_epoch.load(Ordering::Relaxed));
                let mut t = Totals::default();
                for b in w.buckets.iter() {
                    let e = b.epoch.load(Ordering::Relaxed);
                    if e >= oldest && e <= current {
                        t.calls += b.calls.load(Ordering::Relaxed);
                        t.failures += b.failures.load(Ordering::Relaxed);
                        t.timed += b.timed.load(Ordering::Relaxed);
                        t.slow += b.slow.load(Ordering::Relaxed);
                    }
                }
                t
            }
        }
    }

    /// Empties the window (O(1) for count windows).
    pub(super) fn reset(&self, total: u64, now: Duration) {
        match self {
            Window::Count(w) => {
                w.base.store(total, Ordering::Relaxed);
            }
            Window::Time(w) => {
                // Buckets of the current epoch and earlier are ignored.
                w.base_epoch.store(w.epoch(now) + 1, Ordering::Relaxed);
            }
        }
    }
}

impl TimeWindow {
    fn epoch(&self, now: Duration) -> u64 {
        (now.as_nanos() / u128::from(self.bucket_nanos)) as u64 + 1
    }
}
