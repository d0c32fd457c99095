//! The [`StorageBackend`] trait.

use std::fmt;
use std::ops::Bound;

use async_trait::async_trait;

use crate::{Batch, Result};

/// A key-value pair as returned by scans.
pub type Entry = (Vec<u8>, Vec<u8>);

/// What [`StorageBackend::compare_and_swap`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a conflict means nothing was written"]
pub enum CasOutcome {
    /// The key held the expected value (or was absent, as expected) and now
    /// holds the new one.
    Swapped,
    /// The key held something else; nothing was written.
    Conflict {
        /// What the key holds now (`None`: absent).
        current: Option<Vec<u8>>,
    },
}

/// What an [`StorageBackend::update`] closure decides for the current value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// Leave the key as it is.
    Keep,
    /// Store this value.
    Set(Vec<u8>),
    /// Remove the key.
    Delete,
}

/// A range of keys for [`StorageBackend::scan_range`].
///
/// Bounds follow [`std::ops::Bound`]: `KeyRange::new(Included(a), Excluded(b))`
/// is the half-open range `a..b` in lexicographic byte order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    /// Lower bound.
    pub start: Bound<Vec<u8>>,
    /// Upper bound.
    pub end: Bound<Vec<u8>>,
}

impl KeyRange {
    /// A range from explicit bounds.
    #[must_use]
    pub fn new(start: Bound<Vec<u8>>, end: Bound<Vec<u8>>) -> Self {
        Self { start, end }
    }

    /// The half-open range `start..end`.
    #[must_use]
    pub fn half_open(start: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) -> Self {
        Self::new(Bound::Included(start.into()), Bound::Excluded(end.into()))
    }

    /// Every key that starts with `prefix`.
    #[must_use]
    pub fn prefix(prefix: &[u8]) -> Self {
        let end = match prefix_successor(prefix) {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        Self::new(Bound::Included(prefix.to_vec()), end)
    }

    /// Whether `key` lies inside the range.
    #[must_use]
    pub fn contains(&self, key: &[u8]) -> bool {
        let above = match &self.start {
            Bound::Included(s) => key >= s.as_slice(),
            Bound::Excluded(s) => key > s.as_slice(),
            Bound::Unbounded => true,
        };
        let below = match &self.end {
            Bound::Included(e) => key <= e.as_slice(),
            Bound::Excluded(e) => key < e.as_slice(),
            Bound::Unbounded => true,
        };
        above && below
    }

    /// True when no key can lie in the range (start after end), which the
    /// backends answer without touching storage: `BTreeMap::range` panics
    /// on such a range.
    pub(crate) fn is_empty(&self) -> bool {
        match (&self.start, &self.end) {
            (Bound::Unbounded, _) | (_, Bound::Unbounded) => false,
            (Bound::Included(s), Bound::Included(e)) => s > e,
            (Bound::Included(s), Bound::Excluded(e))
            | (Bound::Excluded(s), Bound::Included(e))
            | (Bound::Excluded(s), Bound::Excluded(e)) => s >= e,
        }
    }
}

/// The smallest key greater than every key starting with `prefix`, or `None`
/// when no such key exists (empty prefix, or all bytes `0xff`).
pub(crate) fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// An async, ordered key-value store.
///
/// Keys and values are arbitrary bytes (not necessarily UTF-8). Keys are
/// ordered lexicographically by byte, and every scan returns entries in that
/// order. All methods are safe to call concurrently from many tasks.
///
/// Implementations must make [`apply_batch`](Self::apply_batch) atomic: a
/// reader sees either none or all of a batch. Data is durable once
/// [`flush`](Self::flush) returns (for persistent backends).
#[async_trait]
pub trait StorageBackend: Send + Sync + fmt::Debug {
    /// A short name for the backend kind (`"memory"`, `"sled"`).
    fn kind(&self) -> &'static str;

    /// The value stored under `key`, if any.
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Stores `value` under `key`, replacing any previous value.
    async fn set(&self, key: &[u8], value: &[u8]) -> Result<()>;

    /// Removes `key`. Returns whether it was present; deleting a missing key
    /// is not an error.
    async fn delete(&self, key: &[u8]) -> Result<bool>;

    /// Whether `key` is present.
    async fn exists(&self, key: &[u8]) -> Result<bool>;

    /// Every key starting with `prefix`, in key order. The empty prefix
    /// lists every key.
    async fn keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>>;

    /// Every entry whose key starts with `prefix`, in key order, at most
    /// `limit` of them when a limit is given.
    async fn scan_prefix(&self, prefix: &[u8], limit: Option<usize>) -> Result<Vec<Entry>> {
        self.scan_range(KeyRange::prefix(prefix), limit).await
    }

    /// Every entry whose key lies in `range`, in key order, at most `limit`
    /// of them when a limit is given.
    async fn scan_range(&self, range: KeyRange, limit: Option<usize>) -> Result<Vec<Entry>>;

    /// Writes `new` under `key` only if the key currently holds `expected`,
    /// atomically with respect to every other write. `None` as `expected`
    /// means "the key is absent"; `None` as `new` removes the key.
    ///
    /// Of several writers racing with the same `expected`, exactly one gets
    /// [`CasOutcome::Swapped`]; the others get [`CasOutcome::Conflict`]
    /// with what the key holds now.
    async fn compare_and_swap(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<CasOutcome>;

    /// Atomically replaces the value under `key` with what `f` decides from
    /// the current one (`None`: absent).
    ///
    /// `f` may be called more than once: when another writer changed the
    /// key between the read and the write, it is called again with the new
    /// value, and only its last decision is applied. Keep it cheap and free
    /// of side effects other than recording what it saw.
    ///
    /// The provided method is a [`get`](Self::get) /
    /// [`compare_and_swap`](Self::compare_and_swap) loop; backends that can
    /// do better (one lock) override it.
    async fn update(
        &self,
        key: &[u8],
        f: &mut (dyn for<'v> FnMut(Option<&'v [u8]>) -> Update + Send),
    ) -> Result<()> {
        let mut current = self.get(key).await?;
        loop {
            let new = match f(current.as_deref()) {
                Update::Keep => return Ok(()),
                Update::Set(value) => Some(value),
                Update::Delete if current.is_none() => return Ok(()),
                Update::Delete => None,
            };
            match self
                .compare_and_swap(key, current.as_deref(), new.as_deref())
                .await?
            {
                CasOutcome::Swapped => return Ok(()),
                CasOutcome::Conflict { current: now } => current = now,
            }
        }
    }

    /// Applies every operation of `batch` atomically and in order.
    async fn apply_batch(&self, batch: Batch) -> Result<()>;

    /// Removes every key.
    async fn clear(&self) -> Result<()>;

    /// Makes every completed write durable. A no-op for memory.
    async fn flush(&self) -> Result<()>;

    /// The number of keys stored.
    async fn len(&self) -> Result<usize>;

    /// Whether no key is stored.
    async fn is_empty(&self) -> Result<bool> {
        Ok(self.len().await? == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successor_cases() {
        assert_eq!(prefix_successor(b""), None);
        assert_eq!(prefix_successor(b"a"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"\xff\xff"), None);
    }

    #[test]
    fn prefix_range_contains_exactly_the_prefixed_keys() {
        let r = KeyRange::prefix(b"ab");
        assert!(r.contains(b"ab"));
        assert!(r.contains(b"ab\xff\xff"));
        assert!(!r.contains(b"aa\xff"));
        assert!(!r.contains(b"ac"));
        assert!(KeyRange::prefix(b"").contains(b""));
    }

    #[test]
    fn inverted_range_is_empty() {
        assert!(KeyRange::half_open(b"b".to_vec(), b"a".to_vec()).is_empty());
        assert!(KeyRange::half_open(b"a".to_vec(), b"a".to_vec()).is_empty());
        assert!(!KeyRange::half_open(b"a".to_vec(), b"b".to_vec()).is_empty());
    }
}
