//! Sliding-window metrics: event rates and delivery-latency percentiles.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::Clock;

/// Latency buckets: values below 4 ns have their own bucket, above that four
/// buckets per power of two (relative error under 25%).
const LATENCY_BUCKETS: usize = 4 + 62 * 4;

/// A point-in-time reading of the bus metrics over the sliding window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// The time span the figures cover (shorter than the configured window
    /// while the bus is younger than it).
    pub window: Duration,
    /// Events published within the window.
    pub published: u64,
    /// Events handed to subscribers within the window.
    pub delivered: u64,
    /// Published events per second over the window.
    pub events_per_second: f64,
    /// Delivered events per second over the window.
    pub deliveries_per_second: f64,
    /// Median time from enqueue to receipt, if anything was delivered.
    pub p50_latency: Option<Duration>,
    /// 99th-percentile time from enqueue to receipt.
    pub p99_latency: Option<Duration>,
}

/// A ring of time slots, each holding `B` counters. Lock-free: a slot is
/// reclaimed by the first writer that sees it belongs to an older epoch.
#[derive(Debug)]
struct Window<const B: usize> {
    slots: Box<[Slot<B>]>,
}

#[derive(Debug)]
struct Slot<const B: usize> {
    /// Which slot-length interval (counted from 1) the counters belong to.
    epoch: AtomicU64,
    counts: [AtomicU64; B],
}

impl<const B: usize> Window<B> {
    fn new(slots: usize) -> Self {
        Self {
            slots: (0..slots)
                .map(|_| Slot {
                    epoch: AtomicU64::new(0),
                    counts: std::array::from_fn(|_| AtomicU64::new(0)),
                })
                .collect(),
        }
    }

    #[inline]
    fn record(&self, epoch: u64, bucket: usize) {
        let Some(slot) = self.slots.get((epoch % self.slots.len() as u64) as usize) else {
            return;
        };
        // Acquire pairs with the AcqRel CAS below, so a writer that sees the
        // new epoch also sees the reset counters.
        let current = slot.epoch.load(Ordering::Acquire);
        if current != epoch {
            if current > epoch {
                return; // a late write for a slot already reused
            }
            if slot
                .epoch
                .compare_exchange(current, epoch, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                for c in &slot.counts {
                    c.store(0, Ordering::Relaxed);
                }
            }
            // Either way, the slot now belongs to `epoch` (or later). A count
            // racing with the reset may be lost: metrics are approximate at
            // slot boundaries, exact inside them.
        }
        if let Some(c) = slot.counts.get(bucket) {
            // Relaxed: independent counters, read only for reporting.
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sums each bucket over the slots whose epoch lies in `(now - n, now]`.
    fn sum(&self, now_epoch: u64) -> [u64; B] {
        let oldest = now_epoch.saturating_sub(self.slots.len() as u64 - 1);
        let mut out = [0u64; B];
        for slot in &*self.slots {
            let e = slot.epoch.load(Ordering::Acquire);
            if e >= oldest && e <= now_epoch && e != 0 {
                for (o, c) in out.iter_mut().zip(&slot.counts) {
                    *o += c.load(Ordering::Relaxed);
                }
            }
        }
        out
    }
}

/// Bus-wide sliding-window metrics. Publishers and receivers write separate
/// windows, so they do not share cache lines.
#[derive(Debug)]
pub(crate) struct Metrics {
    clock: Arc<dyn Clock>,
    origin: Instant,
    slot: Duration,
    slot_count: usize,
    published: Window<1>,
    latency: Box<Window<LATENCY_BUCKETS>>,
}

impl Metrics {
    pub(crate) fn new(clock: Arc<dyn Clock>, window: Duration, slots: usize) -> Self {
        let slots = slots.max(1);
        let slot = (window / slots as u32).max(Duration::from_millis(1));
        Self {
            origin: clock.now(),
            clock,
            slot,
            slot_count: slots,
            published: Window::new(slots),
            latency: Box::new(Window::new(slots)),
        }
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    #[inline]
    fn epoch(&self, at: Instant) -> u64 {
        let since = at.saturating_duration_since(self.origin);
        (since.as_nanos() / self.slot.as_nanos().max(1)) as u64 + 1
    }

    #[inline]
    pub(crate) fn record_published(&self, at: Instant) {
        self.published.record(self.epoch(at), 0);
    }

    #[inline]
    pub(crate) fn record_delivered(&self, enqueued: Instant, now: Instant) {
        let nanos = now.saturating_duration_since(enqueued).as_nanos();
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
        self.latency.record(self.epoch(now), bucket_of(nanos));
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        let now = self.clock.now();
        let epoch = self.epoch(now);
        let since_origin = now.saturating_duration_since(self.origin);
        let into_slot =
            Duration::from_nanos((since_origin.as_nanos() % self.slot.as_nanos().max(1)) as u64);
        let full = self.slot * (self.slot_count as u32 - 1);
        let window = (full + into_slot)
            .min(since_origin)
            .max(Duration::from_micros(1));
        let published = self.published.sum(epoch)[0];
        let buckets = self.latency.sum(epoch);
        let delivered: u64 = buckets.iter().sum();
        let secs = window.as_secs_f64();
        MetricsSnapshot {
            window,
            published,
            delivered,
            events_per_second: published as f64 / secs,
            deliveries_per_second: delivered as f64 / secs,
            p50_latency: percentile(&buckets, delivered, 0.50),
            p99_latency: percentile(&buckets, delivered, 0.99),
        }
    }
}

/// The bucket of a latency in nanoseconds.
fn bucket_of(v: u64) -> usize {
    if v < 4 {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros() as usize; // >= 2
    let mantissa = ((v >> (exp - 2)) & 3) as usize;
    (4 + (exp - 2) * 4 + mantissa).min(LATENCY_BUCKETS - 1)
}

/// The midpoint of a bucket, in nanoseconds.
fn bucket_value(b: usize) -> u64 {
    if b < 4 {
        return b as u64;
    }
    let exp = (b - 4) / 4 + 2;
    let mantissa = ((b - 4) % 4) as u64;
    let lo = (4 + mantissa) << (exp - 2);
    let width = 1u64 << (exp - 2);
    lo.saturating_add(width / 2)
}

fn percentile(buckets: &[u64], total: u64, q: f64) -> Option<Duration> {
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (b, &n) in buckets.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Some(Duration::from_nanos(bucket_value(b)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    #[test]
    fn buckets_are_monotonic_and_close() {
        let mut last = 0;
        for v in [
            0u64,
            1,
            3,
            4,
            5,
            7,
            8,
            100,
            1_000,
            123_456,
            10_000_000_000,
            u64::MAX,
        ] {
            let b = bucket_of(v);
            assert!(b >= last, "{v}");
            last = b;
            let mid = bucket_value(b);
            if (4..u64::MAX / 2).contains(&v) {
                let err = (mid as f64 - v as f64).abs() / v as f64;
                assert!(err <= 0.25, "{v} -> {mid}");
            }
        }
    }

    #[test]
    fn window_slides_and_percentiles_follow() {
        let clock = ManualClock::new();
        let m = Metrics::new(Arc::new(clock.clone()), Duration::from_secs(10), 10);
        let t0 = clock.now();
        for i in 0..100u64 {
            m.record_published(clock.now());
            let lat = if i < 98 { 1_000 } else { 1_000_000 };
            m.record_delivered(t0, t0 + Duration::from_nanos(lat));
        }
        clock.advance(Duration::from_secs(1));
        let s = m.snapshot();
        assert_eq!(s.published, 100);
        assert_eq!(s.delivered, 100);
        assert!((s.events_per_second - 100.0).abs() < 1.0, "{s:?}");
        let p50 = s.p50_latency.unwrap().as_nanos();
        assert!((800..=1250).contains(&p50), "{s:?}");
        let p99 = s.p99_latency.unwrap().as_nanos();
        assert!(p99 > 800_000, "{s:?}");
        // Eleven seconds later everything has slid out.
        clock.advance(Duration::from_secs(11));
        let s = m.snapshot();
        assert_eq!((s.published, s.delivered), (0, 0));
        assert_eq!(s.p50_latency, None);
    }
}
