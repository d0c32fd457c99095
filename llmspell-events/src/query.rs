//! [`EventQuery`]: what to read back from an [`EventStore`](crate::EventStore).

use std::ops::{Bound, RangeBounds};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{EventPattern, UniversalEvent};

/// A query over stored events: every filter set must hold. Results come in
/// sequence order, at most `limit` of them.
///
/// ```
/// use llmspell_events::{EventPattern, EventQuery};
///
/// let query = EventQuery::all()
///     .pattern(EventPattern::new("tool.*").unwrap())
///     .sequences(10..20)
///     .limit(5);
/// # drop(query);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct EventQuery {
    pub(crate) pattern: Option<EventPattern>,
    pub(crate) from: Option<DateTime<Utc>>,
    pub(crate) until: Option<DateTime<Utc>>,
    pub(crate) correlation_id: Option<Uuid>,
    /// Inclusive first sequence.
    pub(crate) first: u64,
    /// Exclusive end sequence, if bounded.
    pub(crate) end: Option<u64>,
    pub(crate) limit: Option<usize>,
}

impl EventQuery {
    /// Every stored event.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only events whose type matches `pattern`.
    pub fn pattern(mut self, pattern: EventPattern) -> Self {
        self.pattern = Some(pattern);
        self
    }

    /// Only events with `from <= timestamp < until`.
    pub fn time_range(mut self, from: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        self.from = Some(from);
        self.until = Some(until);
        self
    }

    /// Only events at or after `from`.
    pub fn since(mut self, from: DateTime<Utc>) -> Self {
        self.from = Some(from);
        self
    }

    /// Only events before `until`.
    pub fn before(mut self, until: DateTime<Utc>) -> Self {
        self.until = Some(until);
        self
    }

    /// Only events with this correlation id.
    pub fn correlation_id(mut self, id: Uuid) -> Self {
        self.correlation_id = Some(id);
        self
    }

    /// Only events whose sequence lies in `range` (e.g. `10..20`, `5..`).
    pub fn sequences(mut self, range: impl RangeBounds<u64>) -> Self {
        self.first = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        };
        self.end = match range.end_bound() {
            Bound::Included(&e) => e.checked_add(1),
            Bound::Excluded(&e) => Some(e),
            Bound::Unbounded => None,
        };
        self
    }

    /// At most `limit` events (the first ones in sequence order).
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    pub(crate) fn sequence_in_range(&self, seq: u64) -> bool {
        seq >= self.first && self.end.is_none_or(|e| seq < e)
    }

    /// Whether `event` satisfies every filter (the limit aside).
    #[must_use]
    pub fn matches(&self, event: &UniversalEvent) -> bool {
        self.sequence_in_range(event.sequence)
            && self
                .pattern
                .as_ref()
                .is_none_or(|p| p.matches(&event.event_type))
            && self.from.is_none_or(|f| event.timestamp >= f)
            && self.until.is_none_or(|u| event.timestamp < u)
            && self
                .correlation_id
                .is_none_or(|c| event.metadata.correlation_id == Some(c))
    }
}
