//! [`PerformanceMonitor`]: lock-free call counts, failures and a latency
//! histogram, one per registered hook and one per point.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Sub-buckets per power of two (relative error of a percentile <= 1/4).
const SUB: usize = 4;
/// Values below 2^MIN_EXP ns share the first bucket.
const MIN_EXP: u32 = 6;
/// Values at or above 2^MAX_EXP ns (~68 s) share the last bucket.
const MAX_EXP: u32 = 36;
const BUCKETS: usize = (MAX_EXP - MIN_EXP) as usize * SUB + 2;

/// How one execution of a hook (or of a point's chain) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallOutcome {
    /// The hook returned a result.
    Success,
    /// The hook returned an error.
    Error,
    /// The hook exceeded its timeout.
    Timeout,
    /// The hook panicked.
    Panic,
}

impl CallOutcome {
    /// Whether the outcome counts as a failure (error, timeout, panic).
    #[must_use]
    pub(crate) const fn is_failure(self) -> bool {
        !matches!(self, CallOutcome::Success)
    }
}

/// Call counts, failure counts and a latency histogram, updated with
/// relaxed atomics: no lock, no allocation. Latency may be sampled (the
/// executor measures every call that suspends and a 1-in-N sample of the
/// calls that complete at once): `samples` says how many calls the
/// percentiles are computed from.
///
/// Counters are independent, so a snapshot taken while others record may be
/// off by the calls in flight (each counter is exact on its own).
#[derive(Debug)]
pub(crate) struct PerformanceMonitor {
    buckets: Box<[AtomicU64]>,
    total_nanos: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    panics: AtomicU64,
    skipped: AtomicU64,
}

/// A point-in-time copy of a hook's (or a point's) call counts, failure
/// counts and latency percentiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PerformanceSnapshot {
    /// Executions (successes and failures).
    pub calls: u64,
    /// Executions whose latency was measured (the percentiles' base).
    pub samples: u64,
    /// Executions that failed (errors + timeouts + panics).
    pub failures: u64,
    /// Of which: errors returned.
    pub errors: u64,
    /// Of which: timeouts.
    pub timeouts: u64,
    /// Of which: panics.
    pub panics: u64,
    /// Executions skipped (open breaker).
    pub skipped: u64,
    /// Mean latency of the samples.
    pub mean: Duration,
    /// Median latency (upper bound of its bucket).
    pub p50: Duration,
    /// 95th percentile latency.
    pub p95: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
}

/// One bucket of a hook's latency histogram (see
/// [`RegisteredHook::latency_buckets`](crate::RegisteredHook::latency_buckets)):
/// the samples whose latency was in `[lower, upper)`.
///
/// The buckets are log-linear: four per power of two of nanoseconds, so a
/// power of two (1.024 µs, 4.096 µs, 16.384 µs, ...) is always a bucket
/// edge and a cumulative count at one is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LatencyBucket {
    /// Inclusive lower edge.
    pub lower: Duration,
    /// Exclusive upper edge; `None` for the last, open bucket (~68 s and up).
    pub upper: Option<Duration>,
    /// Samples in the bucket.
    pub count: u64,
}

impl Default for PerformanceMonitor {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn bucket_of(nanos: u64) -> usize {
    if nanos < (1 << MIN_EXP) {
        return 0;
    }
    let exp = 63 - nanos.leading_zeros();
    if exp >= MAX_EXP {
        return BUCKETS - 1;
    }
    // The SUB bits below the leading one pick the sub-bucket.
    let sub = ((nanos >> (exp - 2)) & (SUB as u64 - 1)) as usize;
    1 + (exp - MIN_EXP) as usize * SUB + sub
}

/// The upper bound (exclusive) of a bucket, in ns.
fn bucket_upper(i: usize) -> u64 {
    if i == 0 {
        return 1 << MIN_EXP;
    }
    if i >= BUCKETS - 1 {
        return u64::MAX;
    }
    let exp = MIN_EXP + ((i - 1) / SUB) as u32;
    let sub = ((i - 1) % SUB) as u64;
    (1u64 << exp) + ((sub + 1) << (exp - 2))
}

impl PerformanceMonitor {
    /// An empty monitor.
    #[must_use]
    pub(crate) fn new() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            total_nanos: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        }
    }

    /// Adds a latency sample without counting a call (the caller counts
    /// calls elsewhere).
    #[inline]
    pub(crate) fn record_sample(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(nanos)].fetch_add(1, Ordering::Relaxed);
        self.total_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Counts a failure outcome without counting a call.
    #[inline]
    pub(crate) fn record_failure(&self, outcome: CallOutcome) {
        match outcome {
            CallOutcome::Success => {}
            CallOutcome::Error => {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
            CallOutcome::Timeout => {
                self.timeouts.fetch_add(1, Ordering::Relaxed);
            }
            CallOutcome::Panic => {
                self.panics.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Records that a hook was skipped (its breaker was open).
    pub(crate) fn record_skipped(&self) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
    }

    /// The non-empty buckets of the latency histogram, in order, and the sum
    /// of all samples.
    pub(crate) fn buckets(&self) -> (Vec<LatencyBucket>, Duration) {
        let buckets = self
            .buckets
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let count = b.load(Ordering::Relaxed);
                (count > 0).then(|| LatencyBucket {
                    lower: Duration::from_nanos(if i == 0 { 0 } else { bucket_upper(i - 1) }),
                    upper: (i < BUCKETS - 1).then(|| Duration::from_nanos(bucket_upper(i))),
                    count,
                })
            })
            .collect();
        let sum = Duration::from_nanos(self.total_nanos.load(Ordering::Relaxed));
        (buckets, sum)
    }

    /// A snapshot whose call count comes from elsewhere (a hook's breaker
    /// counts its calls).
    pub(crate) fn snapshot_with_calls(&self, calls: u64) -> PerformanceSnapshot {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let samples: u64 = counts.iter().sum();
        let pct = |q: f64| -> Duration {
            if samples == 0 {
                return Duration::ZERO;
            }
            // Rank of the q-quantile, 1-based, at least 1.
            let rank = ((samples as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return Duration::from_nanos(bucket_upper(i));
                }
            }
            Duration::from_nanos(u64::MAX)
        };
        let errors = self.errors.load(Ordering::Relaxed);
        let timeouts = self.timeouts.load(Ordering::Relaxed);
        let panics = self.panics.load(Ordering::Relaxed);
        let total = self.total_nanos.load(Ordering::Relaxed);
        PerformanceSnapshot {
            calls,
            samples,
            failures: errors + timeouts + panics,
            errors,
            timeouts,
            panics,
            skipped: self.skipped.load(Ordering::Relaxed),
            mean: Duration::from_nanos(total.checked_div(samples).unwrap_or(0)),
            p50: pct(0.50),
            p95: pct(0.95),
            p99: pct(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn buckets_cover_every_sample_and_powers_of_two_are_edges() {
        let m = PerformanceMonitor::new();
        let samples = [10u64, 64, 1023, 1024, 1500, 4096, 1 << 20, 1 << 40];
        for n in samples {
            m.record_sample(Duration::from_nanos(n));
        }
        let (buckets, sum) = m.buckets();
        assert_eq!(buckets.iter().map(|b| b.count).sum::<u64>(), 8);
        assert_eq!(sum, Duration::from_nanos(samples.iter().sum()));
        for n in samples {
            let d = Duration::from_nanos(n);
            let b = buckets
                .iter()
                .find(|b| b.lower <= d && b.upper.is_none_or(|u| d < u))
                .unwrap_or_else(|| panic!("{n} ns in no bucket: {buckets:?}"));
            assert!(b.count >= 1);
        }
        // Edges increase, and every power of two from 2^6 ns is one.
        for i in 1..BUCKETS {
            assert!(super::bucket_upper(i - 1) < super::bucket_upper(i));
        }
        for exp in MIN_EXP..MAX_EXP {
            let edge = 1u64 << exp;
            assert!(
                (0..BUCKETS).any(|i| super::bucket_upper(i) == edge),
                "2^{exp} ns is not an edge"
            );
        }
        assert_eq!(buckets.last().unwrap().upper, None);
    }

    #[test]
    fn percentiles_of_recorded_calls() {
        let m = PerformanceMonitor::new();
        for ms in 1..=100 {
            m.record_sample(Duration::from_millis(ms));
        }
        m.record_failure(CallOutcome::Timeout);
        let s = m.snapshot_with_calls(100);
        assert_eq!(s.timeouts, 1);
        assert_eq!(s.calls, 100);
        assert!(s.p50 >= Duration::from_millis(40) && s.p50 <= Duration::from_millis(64));
    }

    use super::*;

    #[test]
    fn buckets_are_monotonic_and_bound_their_values() {
        let mut last = 0;
        for n in [
            0u64,
            1,
            63,
            64,
            65,
            100,
            1000,
            12_345,
            1 << 20,
            1 << 35,
            1 << 40,
            u64::MAX,
        ] {
            let b = bucket_of(n);
            assert!(b >= last, "bucket of {n}");
            assert!(b < BUCKETS);
            assert!(n < bucket_upper(b) || b == BUCKETS - 1, "{n} in {b}");
            if b > 0 && b < BUCKETS - 1 {
                assert!(n >= bucket_upper(b - 1), "{n} above lower bound of {b}");
            }
            last = b;
        }
    }
}
