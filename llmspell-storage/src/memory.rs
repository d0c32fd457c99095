//! The in-memory backend.

use std::collections::BTreeMap;
use std::ops::Bound;

use async_trait::async_trait;
use parking_lot::RwLock;

use crate::backend::Entry;
use crate::{Batch, BatchOp, CasOutcome, KeyRange, Result, StorageBackend, Update};

/// An ordered in-memory map behind a reader-writer lock.
///
/// Contents live as long as the value; use it in tests and for data that
/// need not survive a restart. The lock is never held across an `.await`.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryBackend {
    /// An empty backend.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

fn as_slice_bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn range_bounds(range: &KeyRange) -> (Bound<&[u8]>, Bound<&[u8]>) {
    (as_slice_bound(&range.start), as_slice_bound(&range.end))
}

#[async_trait]
impl StorageBackend for MemoryBackend {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.map.read().get(key).cloned())
    }

    async fn set(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.map.write().insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    async fn delete(&self, key: &[u8]) -> Result<bool> {
        Ok(self.map.write().remove(key).is_some())
    }

    async fn exists(&self, key: &[u8]) -> Result<bool> {
        Ok(self.map.read().contains_key(key))
    }

    async fn keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        let range = KeyRange::prefix(prefix);
        let map = self.map.read();
        Ok(map
            .range::<[u8], _>(range_bounds(&range))
            .map(|(k, _)| k.clone())
            .collect())
    }

    async fn scan_range(&self, range: KeyRange, limit: Option<usize>) -> Result<Vec<Entry>> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let map = self.map.read();
        Ok(map
            .range::<[u8], _>(range_bounds(&range))
            .take(limit.unwrap_or(usize::MAX))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    async fn compare_and_swap(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<CasOutcome> {
        let mut map = self.map.write();
        let current = map.get(key).map(Vec::as_slice);
        if current != expected {
            return Ok(CasOutcome::Conflict {
                current: current.map(<[u8]>::to_vec),
            });
        }
        match new {
            Some(value) => match map.get_mut(key) {
                Some(slot) => {
                    slot.clear();
                    slot.extend_from_slice(value);
                }
                None => {
                    map.insert(key.to_vec(), value.to_vec());
                }
            },
            None => {
                map.remove(key);
            }
        }
        Ok(CasOutcome::Swapped)
    }

    /// One write lock for the read and the write: `f` is called exactly once.
    async fn update(
        &self,
        key: &[u8],
        f: &mut (dyn for<'v> FnMut(Option<&'v [u8]>) -> Update + Send),
    ) -> Result<()> {
        let mut map = self.map.write();
        match f(map.get(key).map(Vec::as_slice)) {
            Update::Keep => {}
            Update::Set(value) => match map.get_mut(key) {
                Some(slot) => *slot = value,
                None => {
                    map.insert(key.to_vec(), value);
                }
            },
            Update::Delete => {
                map.remove(key);
            }
        }
        Ok(())
    }

    async fn apply_batch(&self, batch: Batch) -> Result<()> {
        // One write guard for the whole batch: readers see all of it or none.
        let mut map = self.map.write();
        for op in batch.into_ops() {
            match op {
                BatchOp::Set { key, value } => {
                    map.insert(key, value);
                }
                BatchOp::Delete { key } => {
                    map.remove(&key);
                }
            }
        }
        Ok(())
    }

    async fn clear(&self) -> Result<()> {
        self.map.write().clear();
        Ok(())
    }

    async fn flush(&self) -> Result<()> {
        Ok(())
    }

    async fn len(&self) -> Result<usize> {
        Ok(self.map.read().len())
    }
}
