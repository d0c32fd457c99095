//! Stream utilities over subscriptions (or any stream of events): batching,
//! filtering, throttling.

use std::sync::Arc;
use std::time::Duration;

use futures::Stream;

use crate::{EventPattern, UniversalEvent};

/// Adapters for streams of events, such as a [`Subscription`](crate::Subscription).
///
/// Timing uses tokio's clock, so tests can drive it with
/// `tokio::time::pause`.
///
/// ```
/// use std::time::Duration;
/// use futures::StreamExt;
/// use llmspell_events::{EventBus, EventStreamExt, UniversalEvent};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> llmspell_events::Result<()> {
/// let bus = EventBus::new();
/// let sub = bus.subscribe("metric.*")?;
/// for i in 0..5 {
///     bus.publish(UniversalEvent::new("metric.cpu", i.into())).await?;
/// }
/// let mut batches = Box::pin(sub.batched(2, Duration::from_millis(50)));
/// assert_eq!(batches.next().await.unwrap().len(), 2);
/// assert_eq!(batches.next().await.unwrap().len(), 2);
/// // The fifth event comes alone once 50 ms have passed.
/// assert_eq!(batches.next().await.unwrap().len(), 1);
/// # Ok(())
/// # }
/// ```
pub trait EventStreamExt: Stream<Item = Arc<UniversalEvent>> + Sized {
    /// Groups events into batches of `max_size`, or fewer when `max_wait`
    /// passes after a batch's first event.
    fn batched(
        self,
        max_size: usize,
        max_wait: Duration,
    ) -> impl Stream<Item = Vec<Arc<UniversalEvent>>> {
        tokio_stream::StreamExt::chunks_timeout(self, max_size.max(1), max_wait)
    }

    /// Keeps the events whose type matches `pattern`.
    fn filter_pattern(self, pattern: EventPattern) -> impl Stream<Item = Arc<UniversalEvent>> {
        tokio_stream::StreamExt::filter(self, move |e| pattern.matches(&e.event_type))
    }

    /// Keeps the events for which `predicate` holds.
    fn filter_events<F>(self, predicate: F) -> impl Stream<Item = Arc<UniversalEvent>>
    where
        F: FnMut(&Arc<UniversalEvent>) -> bool,
    {
        tokio_stream::StreamExt::filter(self, predicate)
    }

    /// Passes at most one event per `interval`, delaying (never dropping)
    /// the others; the subscription's queue absorbs the difference.
    fn throttled(self, interval: Duration) -> impl Stream<Item = Arc<UniversalEvent>> {
        tokio_stream::StreamExt::throttle(self, interval)
    }
}

impl<S: Stream<Item = Arc<UniversalEvent>> + Sized> EventStreamExt for S {}
