//! The sled backend.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::RwLock;

use crate::backend::Entry;
use crate::{Batch, BatchOp, CasOutcome, KeyRange, Result, StorageBackend, StorageError};

/// A [sled](https://docs.rs/sled/0.34) database used as a [`StorageBackend`].
///
/// Writes are durable once [`flush`](StorageBackend::flush) returns. Only one
/// process may hold a database directory open; a second one gets
/// [`StorageError::Locked`]. Cloning is cheap and shares the database.
///
/// # Atomic batches and scans
///
/// sled applies a batch atomically for single-key reads, but its iterators
/// are not snapshots: a scan running next to a batch could see part of it.
/// The backend therefore keeps a reader-writer lock that scans take shared
/// and batches (and `clear`) take exclusive, so every scan sees a batch
/// whole or not at all. Single-key operations never touch that lock, and it
/// is never held across an `.await`.
#[derive(Debug, Clone)]
pub struct SledBackend {
    db: sled::Db,
    path: Arc<PathBuf>,
    batch_gate: Arc<RwLock<()>>,
}

impl SledBackend {
    /// Opens (creating if needed) the database in directory `path`.
    ///
    /// # Errors
    /// [`StorageError::Locked`] when another process holds the database;
    /// [`StorageError::Open`] when the path cannot be used (e.g. it is a
    /// file, or a parent is not a directory) or the data is unreadable.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let db = sled::Config::new()
            .path(&path)
            .open()
            .map_err(|e| open_error(&path, e))?;
        Ok(Self {
            db,
            path: Arc::new(path),
            batch_gate: Arc::default(),
        })
    }

    /// A temporary database, deleted when the last clone is dropped.
    ///
    /// # Errors
    /// [`StorageError::Open`] when no temporary directory is usable.
    pub fn temporary() -> Result<Self> {
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .map_err(|e| open_error(Path::new("<temporary>"), e))?;
        Ok(Self {
            db,
            path: Arc::new(PathBuf::from("<temporary>")),
            batch_gate: Arc::default(),
        })
    }

    /// The directory the database lives in.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open_error(path: &Path, err: sled::Error) -> StorageError {
    // sled 0.34 reports a held file lock as an `Io` error whose message
    // says so; there is no dedicated variant to match on.
    if let sled::Error::Io(io) = &err {
        if io.to_string().contains("could not acquire") {
            return StorageError::Locked {
                path: path.to_path_buf(),
            };
        }
    }
    StorageError::Open {
        path: path.to_path_buf(),
        source: Arc::new(err),
    }
}

fn to_entry(item: sled::Result<(sled::IVec, sled::IVec)>) -> Result<Entry> {
    let (k, v) = item.map_err(|e| StorageError::backend("scan", e))?;
    Ok((k.to_vec(), v.to_vec()))
}

#[async_trait]
impl StorageBackend for SledBackend {
    fn kind(&self) -> &'static str {
        "sled"
    }

    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.db
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| StorageError::backend("get", e))
    }

    async fn set(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.db
            .insert(key, value)
            .map(drop)
            .map_err(|e| StorageError::backend("set", e))
    }

    async fn delete(&self, key: &[u8]) -> Result<bool> {
        self.db
            .remove(key)
            .map(|old| old.is_some())
            .map_err(|e| StorageError::backend("delete", e))
    }

    async fn exists(&self, key: &[u8]) -> Result<bool> {
        self.db
            .contains_key(key)
            .map_err(|e| StorageError::backend("exists", e))
    }

    async fn keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        let _gate = self.batch_gate.read();
        self.db
            .scan_prefix(prefix)
            .keys()
            .map(|k| {
                k.map(|k| k.to_vec())
                    .map_err(|e| StorageError::backend("keys", e))
            })
            .collect()
    }

    async fn scan_range(&self, range: KeyRange, limit: Option<usize>) -> Result<Vec<Entry>> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let limit = limit.unwrap_or(usize::MAX);
        let _gate = self.batch_gate.read();
        match (range.start, range.end) {
            (Bound::Unbounded, Bound::Unbounded) => {
                self.db.iter().take(limit).map(to_entry).collect()
            }
            bounds => self
                .db
                .range::<Vec<u8>, _>(bounds)
                .take(limit)
                .map(to_entry)
                .collect(),
        }
    }

    async fn compare_and_swap(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<CasOutcome> {
        // sled's own compare-and-swap: atomic against every single-key write
        // and against batches (which sled applies atomically per key).
        match self
            .db
            .compare_and_swap(key, expected, new)
            .map_err(|e| StorageError::backend("compare_and_swap", e))?
        {
            Ok(()) => Ok(CasOutcome::Swapped),
            Err(conflict) => Ok(CasOutcome::Conflict {
                current: conflict.current.map(|v| v.to_vec()),
            }),
        }
    }

    async fn apply_batch(&self, batch: Batch) -> Result<()> {
        let mut sled_batch = sled::Batch::default();
        for op in batch.into_ops() {
            match op {
                BatchOp::Set { key, value } => sled_batch.insert(key, value),
                BatchOp::Delete { key } => sled_batch.remove(key),
            }
        }
        let _gate = self.batch_gate.write();
        self.db
            .apply_batch(sled_batch)
            .map_err(|e| StorageError::backend("apply_batch", e))
    }

    async fn clear(&self) -> Result<()> {
        let _gate = self.batch_gate.write();
        self.db
            .clear()
            .map_err(|e| StorageError::backend("clear", e))
    }

    async fn flush(&self) -> Result<()> {
        self.db
            .flush_async()
            .await
            .map(drop)
            .map_err(|e| StorageError::backend("flush", e))
    }

    async fn len(&self) -> Result<usize> {
        Ok(self.db.len())
    }
}
