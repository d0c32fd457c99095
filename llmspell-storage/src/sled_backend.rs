//! The sled backend.

use std::collections::HashMap;
use std::fs::File;
use std::ops::Bound;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, LazyLock, Weak};
use std::time::{Duration, Instant};

use std::fmt;

use async_trait::async_trait;
use futures::channel::oneshot;
use parking_lot::{Mutex, RwLock};

use crate::backend::Entry;
use crate::error::LockHolder;
use crate::{Batch, BatchOp, CasOutcome, KeyRange, Result, StorageBackend, StorageError};

/// How long dropping the last handle waits for sled's background threads to
/// let go of the database's file lock, and how long `open` keeps retrying a
/// database this process is still closing.
const RELEASE_WAIT: Duration = Duration::from_secs(5);

/// The databases this process has opened, by canonical directory: a live
/// entry is shared by a second `open`; a dead one means this process closed
/// it (so a lock found on it is this process's own, still being released).
static OPENED: LazyLock<Mutex<HashMap<PathBuf, Weak<Handle>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// A [sled](https://docs.rs/sled/0.34) database used as a [`StorageBackend`].
///
/// Writes are durable once [`flush`](StorageBackend::flush) returns.
/// Cloning is cheap and shares the database.
///
/// # One database, one owner
///
/// sled lets one process hold a database directory. Within a process,
/// opening a directory that is already open returns a handle to the same
/// database (so two components can share a store without coordinating).
/// Another process gets [`StorageError::Locked`]. Dropping the last handle
/// returns only once sled has released the directory, so the same process
/// (or another one) can reopen it at once.
///
/// # Damaged databases
///
/// sled 0.34 can panic while recovering or reading a damaged database (for
/// example a truncated file). Every call into sled is guarded: such a panic
/// becomes [`StorageError::Corrupt`] naming the directory, and the handle
/// refuses every later operation with the same error. sled recovers some
/// truncations silently to an earlier state, which can be empty; that is
/// not detectable here.
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
    handle: Arc<Handle>,
}

#[derive(Debug)]
struct Handle {
    /// `None` only while dropping.
    db: Option<sled::Db>,
    /// The directory as given to `open`.
    path: PathBuf,
    /// The canonical directory (the key in [`OPENED`]); `None` for a
    /// temporary database.
    canonical: Option<PathBuf>,
    batch_gate: RwLock<()>,
    /// Set once sled panicked: the database is damaged.
    broken: AtomicBool,
    /// The thread that runs flushes, started by the first one.
    flusher: Mutex<Option<Flusher>>,
}

impl Handle {
    fn new(db: sled::Db, path: PathBuf, canonical: Option<PathBuf>) -> Self {
        Self {
            db: Some(db),
            path,
            canonical,
            batch_gate: RwLock::new(()),
            broken: AtomicBool::new(false),
            flusher: Mutex::new(None),
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // The flusher thread holds a clone of the database: stop it first.
        if let Some(flusher) = self.flusher.get_mut().take() {
            flusher.stop();
        }
        // Dropping the `Db` flushes it; sled's background threads may still
        // hold the file (and its lock) for a moment after that.
        let db = self.db.take();
        let dropped = catch_unwind(AssertUnwindSafe(move || drop(db)));
        if dropped.is_err() {
            warn_on_close(&self.path, "sled panicked while closing the database");
        }
        if let Some(dir) = &self.canonical {
            if !wait_until_released(&dir.join("db"), RELEASE_WAIT) {
                warn_on_close(
                    &self.path,
                    "sled still held the database lock after closing",
                );
            }
        }
    }
}

/// Why a flush failed, as sent back by the flusher thread.
#[derive(Clone)]
enum FlushFailure {
    Sled(Arc<sled::Error>),
    Panic(String),
}

type FlushReply = std::result::Result<(), FlushFailure>;

/// A thread that runs `Db::flush` for every waiting caller at once.
///
/// sled 0.34's `flush_async` deadlocks when called concurrently (sled
/// issue #1308, fixed after the last release; seen here with 8 tasks
/// flushing one database), so flushes run on this thread with the blocking
/// `flush`, one at a time: callers that ask while a flush runs are all
/// answered by the next one.
struct Flusher {
    requests: mpsc::Sender<oneshot::Sender<FlushReply>>,
    thread: std::thread::JoinHandle<()>,
}

impl fmt::Debug for Flusher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flusher").finish_non_exhaustive()
    }
}

impl Flusher {
    fn start(db: sled::Db) -> std::io::Result<Self> {
        let (requests, inbox) = mpsc::channel::<oneshot::Sender<FlushReply>>();
        let thread = std::thread::Builder::new()
            .name("llmspell-sled-flush".into())
            .spawn(move || {
                while let Ok(first) = inbox.recv() {
                    let mut waiting = vec![first];
                    waiting.extend(inbox.try_iter());
                    let reply = match catch_unwind(AssertUnwindSafe(|| db.flush())) {
                        Ok(Ok(_)) => Ok(()),
                        Ok(Err(e)) => Err(FlushFailure::Sled(Arc::new(e))),
                        Err(panic) => Err(FlushFailure::Panic(panic_text(&*panic))),
                    };
                    for w in waiting {
                        // A caller that stopped waiting is fine.
                        let _ = w.send(reply.clone());
                    }
                }
            })?;
        Ok(Self { requests, thread })
    }

    /// Closes the inbox and waits for the thread to finish its last flush.
    fn stop(self) {
        drop(self.requests);
        let _ = self.thread.join();
    }
}

/// The one diagnostic that cannot be returned as an error (it happens in
/// `Drop`).
fn warn_on_close(path: &Path, what: &str) {
    tracing::warn!(path = %path.display(), "{what}; reopening it may report it locked");
}

/// Waits (at most `limit`) until this process holds no lock on sled's
/// `db` file. Returns whether it is free of this process's locks (or the
/// file is gone). When the lock is known to belong to another process
/// (which opened the database right after us), there is nothing to wait
/// for.
fn wait_until_released(db_file: &Path, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_micros(50);
    loop {
        let Ok(file) = File::open(db_file) else {
            return true;
        };
        match file.try_lock() {
            // Dropping the file releases our probe lock at once.
            Ok(()) => return true,
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(_)) => return true,
        }
        drop(file);
        if lock_holder(db_file) == Some(LockHolder::OtherProcess) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// Who holds the `flock` on `file`, read from `/proc/locks` (Linux); `None`
/// when that cannot be told.
#[cfg(target_os = "linux")]
fn lock_holder(file: &Path) -> Option<LockHolder> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(file).ok()?;
    let (dev, ino) = (meta.dev(), meta.ino());
    // The kernel prints the device as `major:minor` in hex (glibc's
    // major()/minor() split of st_dev).
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let wanted = format!("{major:02x}:{minor:02x}:{ino}");
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let mut holders = locks.lines().filter_map(|line| {
        // `1: FLOCK  ADVISORY  WRITE 15350 fe:00:10010799 0 EOF`; waiters
        // have `->` in the second column and are skipped.
        let f: Vec<&str> = line.split_whitespace().collect();
        (f.get(1) == Some(&"FLOCK") && f.get(5) == Some(&wanted.as_str()))
            .then(|| f.get(4)?.parse::<u32>().ok())
            .flatten()
    });
    let pid = holders.next()?;
    Some(if pid == std::process::id() {
        LockHolder::ThisProcess
    } else {
        LockHolder::OtherProcess
    })
}

#[cfg(not(target_os = "linux"))]
fn lock_holder(_file: &Path) -> Option<LockHolder> {
    None
}

/// The text of a caught panic.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

fn is_lock_error(err: &sled::Error) -> bool {
    // sled 0.34 reports a held file lock as an `Io` error whose message
    // says so; there is no dedicated variant to match on.
    matches!(err, sled::Error::Io(io) if io.to_string().contains("could not acquire"))
}

impl SledBackend {
    /// Opens (creating if needed) the database in directory `path`. A
    /// directory this process already has open is shared.
    ///
    /// # Errors
    /// [`StorageError::Locked`] when another process holds the database (or
    /// this process closed it and sled did not release it in time);
    /// [`StorageError::Open`] when the path cannot be used (e.g. it is a
    /// file, or a parent is not a directory) or the data is unreadable;
    /// [`StorageError::Corrupt`] when the data is damaged.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let open_error = |e: std::io::Error| StorageError::Open {
            path: path.clone(),
            source: Arc::new(sled::Error::Io(e)),
        };
        std::fs::create_dir_all(&path).map_err(open_error)?;
        let canonical = path.canonicalize().map_err(open_error)?;
        // Held while opening, so two threads opening one directory end up
        // sharing one database.
        let mut opened = OPENED.lock();
        let closed_here = match opened.get(&canonical) {
            Some(weak) => match weak.upgrade() {
                Some(handle) => return Ok(Self { handle }),
                None => true,
            },
            None => false,
        };
        let deadline = Instant::now() + RELEASE_WAIT;
        let db = loop {
            match open_guarded(&path) {
                Err(OpenFailure::Sled(e)) if is_lock_error(&e) => {
                    // A directory this process closed may still be held by
                    // sled threads finishing its last writes: wait for them
                    // (not for another process that opened it since).
                    if closed_here
                        && Instant::now() < deadline
                        && lock_holder(&canonical.join("db")) != Some(LockHolder::OtherProcess)
                    {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    let holder = match lock_holder(&canonical.join("db")) {
                        Some(holder) => holder,
                        None if closed_here => LockHolder::ThisProcess,
                        None => LockHolder::OtherProcess,
                    };
                    return Err(StorageError::Locked { path, holder });
                }
                Err(OpenFailure::Sled(sled::Error::Corruption { at, .. })) => {
                    return Err(StorageError::Corrupt {
                        path,
                        operation: "open",
                        detail: format!("sled found corrupted data at {at:?}"),
                    })
                }
                Err(OpenFailure::Sled(e)) => {
                    return Err(StorageError::Open {
                        path,
                        source: Arc::new(e),
                    })
                }
                Err(OpenFailure::Panic(detail)) => {
                    return Err(StorageError::Corrupt {
                        path,
                        operation: "open",
                        detail,
                    })
                }
                Ok(db) => break db,
            }
        };
        let handle = Arc::new(Handle::new(db, path, Some(canonical.clone())));
        opened.insert(canonical, Arc::downgrade(&handle));
        Ok(Self { handle })
    }

    /// A temporary database, deleted when the last clone is dropped.
    ///
    /// # Errors
    /// [`StorageError::Open`] when no temporary directory is usable.
    pub fn temporary() -> Result<Self> {
        let path = PathBuf::from("<temporary>");
        let db = match catch_unwind(|| sled::Config::new().temporary(true).open()) {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => {
                return Err(StorageError::Open {
                    path,
                    source: Arc::new(e),
                })
            }
            Err(panic) => {
                return Err(StorageError::Corrupt {
                    path,
                    operation: "open",
                    detail: panic_text(&*panic),
                })
            }
        };
        Ok(Self {
            handle: Arc::new(Handle::new(db, path, None)),
        })
    }

    /// The directory the database lives in (as given to
    /// [`open`](Self::open)).
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.handle.path
    }

    /// Whether a sled panic showed the database to be damaged; every
    /// operation then fails with [`StorageError::Corrupt`].
    #[must_use]
    pub fn is_broken(&self) -> bool {
        self.handle.broken.load(Ordering::Acquire)
    }

    /// Runs `f` on the database, turning a sled panic into
    /// [`StorageError::Corrupt`] (and marking the handle broken) and sled's
    /// own errors into [`StorageError::Backend`] (or `Corrupt`).
    fn guarded<T>(
        &self,
        operation: &'static str,
        f: impl FnOnce(&sled::Db) -> sled::Result<T>,
    ) -> Result<T> {
        let h = &*self.handle;
        let db = match (&h.db, h.broken.load(Ordering::Acquire)) {
            (Some(db), false) => db,
            _ => return Err(self.broken_error(operation)),
        };
        match catch_unwind(AssertUnwindSafe(|| f(db))) {
            Ok(result) => result.map_err(|e| self.sled_error(operation, e)),
            Err(panic) => Err(self.mark_broken(operation, &panic_text(&*panic))),
        }
    }

    fn sled_error(&self, operation: &'static str, err: sled::Error) -> StorageError {
        self.sled_error_arc(operation, Arc::new(err))
    }

    fn sled_error_arc(&self, operation: &'static str, err: Arc<sled::Error>) -> StorageError {
        match &*err {
            sled::Error::Corruption { at, .. } => StorageError::Corrupt {
                path: self.handle.path.clone(),
                operation,
                detail: format!("sled found corrupted data at {at:?}"),
            },
            _ => StorageError::Backend {
                operation,
                source: err,
            },
        }
    }

    fn mark_broken(&self, operation: &'static str, panic: &str) -> StorageError {
        self.handle.broken.store(true, Ordering::Release);
        StorageError::Corrupt {
            path: self.handle.path.clone(),
            operation,
            detail: format!("sled failed inside: {panic}"),
        }
    }

    fn broken_error(&self, operation: &'static str) -> StorageError {
        StorageError::Corrupt {
            path: self.handle.path.clone(),
            operation,
            detail: "an earlier operation found the database damaged".to_owned(),
        }
    }
}

enum OpenFailure {
    Sled(sled::Error),
    Panic(String),
}

fn open_guarded(path: &Path) -> std::result::Result<sled::Db, OpenFailure> {
    match catch_unwind(|| sled::Config::new().path(path).open()) {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(OpenFailure::Sled(e)),
        Err(panic) => Err(OpenFailure::Panic(format!(
            "sled failed inside while recovering: {}",
            panic_text(&*panic)
        ))),
    }
}

fn to_entry(item: sled::Result<(sled::IVec, sled::IVec)>) -> sled::Result<Entry> {
    let (k, v) = item?;
    Ok((k.to_vec(), v.to_vec()))
}

#[async_trait]
impl StorageBackend for SledBackend {
    fn kind(&self) -> &'static str {
        "sled"
    }

    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.guarded("get", |db| db.get(key).map(|v| v.map(|v| v.to_vec())))
    }

    async fn set(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.guarded("set", |db| db.insert(key, value).map(drop))
    }

    async fn delete(&self, key: &[u8]) -> Result<bool> {
        self.guarded("delete", |db| db.remove(key).map(|old| old.is_some()))
    }

    async fn exists(&self, key: &[u8]) -> Result<bool> {
        self.guarded("exists", |db| db.contains_key(key))
    }

    async fn keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        let _gate = self.handle.batch_gate.read();
        self.guarded("keys", |db| {
            db.scan_prefix(prefix)
                .keys()
                .map(|k| k.map(|k| k.to_vec()))
                .collect()
        })
    }

    async fn scan_range(&self, range: KeyRange, limit: Option<usize>) -> Result<Vec<Entry>> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let limit = limit.unwrap_or(usize::MAX);
        let _gate = self.handle.batch_gate.read();
        self.guarded("scan", |db| match (range.start, range.end) {
            (Bound::Unbounded, Bound::Unbounded) => db.iter().take(limit).map(to_entry).collect(),
            bounds => db
                .range::<Vec<u8>, _>(bounds)
                .take(limit)
                .map(to_entry)
                .collect(),
        })
    }

    async fn compare_and_swap(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<CasOutcome> {
        // sled's own compare-and-swap: atomic against every single-key write
        // and against batches (which sled applies atomically per key).
        let swapped = self.guarded("compare_and_swap", |db| {
            db.compare_and_swap(key, expected, new)
        })?;
        Ok(match swapped {
            Ok(()) => CasOutcome::Swapped,
            Err(conflict) => CasOutcome::Conflict {
                current: conflict.current.map(|v| v.to_vec()),
            },
        })
    }

    async fn apply_batch(&self, batch: Batch) -> Result<()> {
        let mut sled_batch = sled::Batch::default();
        for op in batch.into_ops() {
            match op {
                BatchOp::Set { key, value } => sled_batch.insert(key, value),
                BatchOp::Delete { key } => sled_batch.remove(key),
            }
        }
        let _gate = self.handle.batch_gate.write();
        self.guarded("apply_batch", |db| db.apply_batch(sled_batch))
    }

    async fn clear(&self) -> Result<()> {
        let _gate = self.handle.batch_gate.write();
        self.guarded("clear", |db| db.clear())
    }

    async fn flush(&self) -> Result<()> {
        let h = &*self.handle;
        let db = match (&h.db, h.broken.load(Ordering::Acquire)) {
            (Some(db), false) => db,
            _ => return Err(self.broken_error("flush")),
        };
        let (tx, rx) = oneshot::channel();
        {
            let mut flusher = h.flusher.lock();
            let flusher = match &mut *flusher {
                Some(f) => f,
                slot => slot.insert(
                    Flusher::start(db.clone())
                        .map_err(|e| StorageError::backend("flush", sled::Error::Io(e)))?,
                ),
            };
            if flusher.requests.send(tx).is_err() {
                return Err(self.broken_error("flush"));
            }
        }
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(FlushFailure::Sled(e))) => Err(self.sled_error_arc("flush", e)),
            Ok(Err(FlushFailure::Panic(text))) => Err(self.mark_broken("flush", &text)),
            Err(oneshot::Canceled) => Err(self.broken_error("flush")),
        }
    }

    async fn len(&self) -> Result<usize> {
        self.guarded("len", |db| Ok(db.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn the_lock_holder_is_read_from_proc_locks() {
        let dir = tempfile::tempdir().unwrap();
        let db = SledBackend::open(dir.path()).unwrap();
        let file = dir.path().join("db");
        assert_eq!(lock_holder(&file), Some(LockHolder::ThisProcess));
        drop(db);
        // The drop waited for the release.
        assert_eq!(lock_holder(&file), None);
    }
}
