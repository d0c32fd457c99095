//! The lock-free sliding windows of a circuit breaker.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::time::Duration;

use super::SlidingWindow;

const OK: u8 = 1;
const FAILED: u8 = 2;
const SLOW: u8 = 4;

/// Buckets of a time window.
const TIME_BUCKETS: u64 = 10;

#[derive(Debug)]
pub(super) enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

/// The last `n` calls in a ring; failure and slow counters track what the
/// ring holds. Concurrent recorders wrapping onto the same slot can skew
/// the counters by the number of racing calls, which the next pass over
/// that slot corrects.
#[derive(Debug)]
pub(super) struct CountWindow {
    ring: Box<[AtomicU8]>,
    next: AtomicU64,
    failures: AtomicU64,
    slows: AtomicU64,
}

#[derive(Debug)]
pub(super) struct TimeWindow {
    bucket_nanos: u64,
    buckets: Box<[Bucket]>,
}

#[derive(Debug, Default)]
struct Bucket {
    epoch: AtomicU64,
    calls: AtomicU64,
    failures: AtomicU64,
    slows: AtomicU64,
}

// All orderings here are Relaxed: the counters are statistics, and the
// breaker state that depends on them is published through its own
// Acquire/Release state variable.
impl Window {
    pub(super) fn new(kind: SlidingWindow) -> Self {
        match kind {
            SlidingWindow::Count(n) => Window::Count(CountWindow {
                ring: (0..n.max(1)).map(|_| AtomicU8::new(0)).collect(),
                next: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                slows: AtomicU64::new(0),
            }),
            SlidingWindow::Time(d) => {
                let total = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
                Window::Time(TimeWindow {
                    bucket_nanos: (total / TIME_BUCKETS).max(1),
                    buckets: (0..TIME_BUCKETS).map(|_| Bucket::default()).collect(),
                })
            }
        }
    }

    #[inline]
    pub(super) fn record(&self, failed: bool, slow: bool, now: Duration) {
        match self {
            Window::Count(w) => {
                let new = OK | if failed { FAILED } else { 0 } | if slow { SLOW } else { 0 };
                let i = w.next.fetch_add(1, Ordering::Relaxed);
                let slot = &w.ring[(i % w.ring.len() as u64) as usize];
                // Steady state (same outcome as n calls ago): nothing to swap.
                if slot.load(Ordering::Relaxed) == new {
                    return;
                }
                let old = slot.swap(new, Ordering::Relaxed);
                adjust(&w.failures, old & FAILED != 0, new & FAILED != 0);
                adjust(&w.slows, old & SLOW != 0, new & SLOW != 0);
            }
            Window::Time(w) => {
                let epoch = (now.as_nanos() / u128::from(w.bucket_nanos)) as u64 + 1;
                let b = &w.buckets[(epoch % TIME_BUCKETS) as usize];
                let seen = b.epoch.load(Ordering::Relaxed);
                if seen != epoch
                    && b.epoch
                        .compare_exchange(seen, epoch, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    b.calls.store(0, Ordering::Relaxed);
                    b.failures.store(0, Ordering::Relaxed);
                    b.slows.store(0, Ordering::Relaxed);
                }
                b.calls.fetch_add(1, Ordering::Relaxed);
                if failed {
                    b.failures.fetch_add(1, Ordering::Relaxed);
                }
                if slow {
                    b.slows.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// (calls, failures, slow calls) in the window at `now`.
    pub(super) fn totals(&self, now: Duration) -> (u64, u64, u64) {
        match self {
            Window::Count(w) => (
                w.next.load(Ordering::Relaxed).min(w.ring.len() as u64),
                w.failures.load(Ordering::Relaxed),
                w.slows.load(Ordering::Relaxed),
            ),
            Window::Time(w) => {
                let current = (now.as_nanos() / u128::from(w.bucket_nanos)) as u64 + 1;
                let oldest = current.saturating_sub(TIME_BUCKETS - 1);
                let mut t = (0, 0, 0);
                for b in w.buckets.iter() {
                    let e = b.epoch.load(Ordering::Relaxed);
                    if e >= oldest && e <= current {
                        t.0 += b.calls.load(Ordering::Relaxed);
                        t.1 += b.failures.load(Ordering::Relaxed);
                        t.2 += b.slows.load(Ordering::Relaxed);
                    }
                }
                t
            }
        }
    }

    pub(super) fn reset(&self) {
        match self {
            Window::Count(w) => {
                for s in w.ring.iter() {
                    s.store(0, Ordering::Relaxed);
                }
                w.next.store(0, Ordering::Relaxed);
                w.failures.store(0, Ordering::Relaxed);
                w.slows.store(0, Ordering::Relaxed);
            }
            Window::Time(w) => {
                for b in w.buckets.iter() {
                    b.epoch.store(0, Ordering::Relaxed);
                    b.calls.store(0, Ordering::Relaxed);
                    b.failures.store(0, Ordering::Relaxed);
                    b.slows.store(0, Ordering::Relaxed);
                }
            }
        }
    }
}

fn adjust(counter: &AtomicU64, was: bool, is: bool) {
    match (was, is) {
        (false, true) => {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        (true, false) => {
            // Never below zero, even if a racing reset cleared it.
            let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                Some(c.saturating_sub(1))
            });
        }
        _ => {}
    }
}
