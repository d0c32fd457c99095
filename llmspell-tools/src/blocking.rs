//! Running a tool's CPU-bound or blocking work off the async threads.
//!
//! [`run`] hands a closure to a small pool of worker threads owned by this
//! crate and returns a future that suspends until the closure's result is
//! back. Because the future suspends, the tool runtime's per-call timeout
//! holds for such work: at the deadline the runtime drops the future and the
//! caller gets `ToolError::Timeout` at once, whatever the worker is doing.
//!
//! A worker thread cannot be interrupted, so an abandoned job is contained
//! three ways:
//! - a job whose caller has gone before a worker picked it up is skipped;
//! - the closure gets a [`Cancel`] flag, set when the caller has gone, that
//!   long loops check ([`Cancel::check`]) to stop early;
//! - every tool bounds the work it hands over (input sizes, query cost,
//!   template fuel), so a job nobody waits for still ends.
//!
//! Why not `tokio::task::spawn_blocking`:
//! - the workers are detached threads: an abandoned job never holds up the
//!   shutdown of the caller's runtime (dropping a tokio runtime waits for
//!   every blocking task) or the exit of the process;
//! - they have an 8 MiB stack (tokio's default is 2 MiB), the margin the
//!   parsers' nesting bounds are checked against;
//! - no runtime is needed: `Tool::execute` can be polled by any executor.
//!
//! Workers are started on demand, up to [`MAX_WORKERS`], and end after
//! [`IDLE_TIMEOUT`] without work. When every worker is busy, jobs wait in a
//! FIFO queue.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::{Result, ToolError};

/// Most worker threads alive at once.
const MAX_WORKERS: usize = 64;
/// How long an idle worker waits for work before it ends.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Stack size of a worker thread.
const WORKER_STACK_BYTES: usize = 8 << 20;

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    state: Mutex<State>,
    work: Condvar,
    max_workers: usize,
}

impl Pool {
    const fn new(max_workers: usize) -> Self {
        Self {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                workers: 0,
                idle: 0,
            }),
            work: Condvar::new(),
            max_workers,
        }
    }
}

struct State {
    queue: VecDeque<Job>,
    /// Worker threads alive (started and not yet ended).
    workers: usize,
    /// Workers waiting on `work`.
    idle: usize,
}

static POOL: Pool = Pool::new(MAX_WORKERS);

/// Set when the caller of [`run`] has stopped waiting (the call timed out or
/// was dropped). Work that loops checks it to stop early.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// Whether the caller has gone.
    pub(crate) fn is_cancelled(&self) -> bool {
        // Relaxed: the flag publishes no other data; a late read only means
        // one more round of work.
        self.0.load(Ordering::Relaxed)
    }

    /// An error once the caller has gone (nobody will see it; it only ends
    /// the work).
    pub(crate) fn check(&self, tool: &str) -> Result<()> {
        if self.is_cancelled() {
            Err(ToolError::execution(
                tool,
                "abandoned: the caller stopped waiting (timed out or dropped the call)",
            ))
        } else {
            Ok(())
        }
    }
}

/// Sets the flag when dropped: when [`run`]'s future is dropped before the
/// result came back, and harmlessly after it did.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        (self.0).0.store(true, Ordering::Relaxed);
    }
}

/// Runs `work` on a worker thread and resolves to its result.
///
/// A panic in `work` resumes in the caller's task (the runtime reports it
/// as a failed call, as for a tool that panics inline). If no worker thread
/// can be started, the call fails with [`ToolError::Execution`].
pub(crate) async fn run<T, F>(tool: &str, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Cancel) -> Result<T> + Send + 'static,
{
    run_on(&POOL, tool, work).await
}

async fn run_on<T, F>(pool: &'static Pool, tool: &str, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Cancel) -> Result<T> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let cancel = Cancel::default();
    let _on_drop = CancelOnDrop(cancel.clone());
    submit(
        pool,
        Box::new(move || {
            if tx.is_closed() {
                // The caller has gone before the work started.
                return;
            }
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| work(&cancel)));
            // The caller may have gone meanwhile; then nobody wants the result.
            let _ = tx.send(outcome);
        }),
    );
    match rx.await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => Err(ToolError::execution(
            tool,
            "no worker thread could be started to run the call (thread limit of the process?)",
        )),
    }
}

/// [`run`] unless `inline`, in which case `work` runs right here (for work
/// too small to be worth the hand-over; it must be bounded).
pub(crate) async fn run_unless<T, F>(inline: bool, tool: &str, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Cancel) -> Result<T> + Send + 'static,
{
    if inline {
        work(&Cancel::default())
    } else {
        run(tool, work).await
    }
}

/// Queues `job` and makes sure a worker will take it.
fn submit(pool: &'static Pool, job: Job) {
    let mut state = pool.state.lock();
    state.queue.push_back(job);
    if state.queue.len() <= state.idle {
        pool.work.notify_one();
        return;
    }
    if state.workers >= pool.max_workers {
        // A busy worker takes it when it is done.
        return;
    }
    state.workers += 1;
    drop(state);
    let spawned = std::thread::Builder::new()
        .name("llmspell-tool-worker".to_owned())
        .stack_size(WORKER_STACK_BYTES)
        .spawn(move || worker(pool));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start a tool worker thread");
        let mut state = pool.state.lock();
        state.workers -= 1;
        if state.workers == 0 {
            // Nobody would ever run them: drop them, so their callers get an
            // error instead of waiting forever. Dropped outside the lock.
            let orphans: Vec<Job> = state.queue.drain(..).collect();
            drop(state);
            drop(orphans);
        }
    }
}

/// A worker: runs queued jobs until it has been idle for [`IDLE_TIMEOUT`].
fn worker(pool: &'static Pool) {
    let mut state = pool.state.lock();
    loop {
        if let Some(job) = state.queue.pop_front() {
            drop(state);
            // Panics are caught inside the job.
            job();
            state = pool.state.lock();
            continue;
        }
        state.idle += 1;
        let timed_out = pool.work.wait_for(&mut state, IDLE_TIMEOUT).timed_out();
        state.idle -= 1;
        // A job queued right as the wait timed out is still taken.
        if timed_out && state.queue.is_empty() {
            state.workers -= 1;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::sync::mpsc;
    use std::time::Instant;

    #[tokio::test]
    async fn runs_the_work_on_a_worker_and_returns_its_result() {
        let here = std::thread::current().id();
        let (there, value) = run("t", |_| Ok((std::thread::current().id(), 42)))
            .await
            .unwrap();
        assert_ne!(here, there);
        assert_eq!(value, 42);
        let err = run::<(), _>("t", |_| Err(ToolError::execution("t", "no")))
            .await
            .unwrap_err();
        assert!(matches!(err, ToolError::Execution { .. }));
    }

    #[tokio::test]
    async fn a_panic_resumes_in_the_caller() {
        let fut = run::<(), _>("t", |_| panic!("boom"));
        let caught = futures::FutureExt::catch_unwind(AssertUnwindSafe(fut)).await;
        let payload = caught.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    }

    #[tokio::test]
    async fn inline_work_runs_on_the_calling_thread() {
        let here = std::thread::current().id();
        let there = run_unless(true, "t", |_| Ok(std::thread::current().id()))
            .await
            .unwrap();
        assert_eq!(here, there);
    }

    #[test]
    fn needs_no_runtime() {
        // A bare executor: park the thread until the worker's wake-up.
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Arc::new(Unpark(std::thread::current())).into();
        let mut cx = std::task::Context::from_waker(&waker);
        let mut fut = std::pin::pin!(run("t", |_| Ok(7)));
        let v = loop {
            if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                break v;
            }
            std::thread::park();
        };
        assert_eq!(v.unwrap(), 7);
    }

    #[tokio::test]
    async fn dropping_the_future_releases_the_caller_and_cancels_the_work() {
        let (started_tx, started_rx) = mpsc::channel();
        let (stopped_tx, stopped_rx) = mpsc::channel();
        let fut = run("t", move |cancel| {
            started_tx.send(()).unwrap();
            let begun = Instant::now();
            while !cancel.is_cancelled() {
                assert!(begun.elapsed() < Duration::from_secs(10), "never cancelled");
                std::thread::sleep(Duration::from_millis(1));
            }
            stopped_tx.send(cancel.check("t").is_err()).unwrap();
            Ok(())
        });
        let timed = tokio::time::timeout(Duration::from_millis(20), fut).await;
        assert!(timed.is_err(), "the work never finishes by itself");
        started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(stopped_rx.recv_timeout(Duration::from_secs(10)).unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_whose_caller_has_gone_is_skipped() {
        static ONE: Pool = Pool::new(1);
        // Occupy the one worker, so the next job has to wait in the queue.
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (busy_tx, busy_rx) = mpsc::channel();
        let blocker = tokio::spawn(run_on(&ONE, "t", move |_| {
            busy_tx.send(()).unwrap();
            let _ = release_rx.recv();
            Ok(())
        }));
        busy_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ran);
        let queued = run_on(&ONE, "t", move |_| {
            flag.store(true, Ordering::SeqCst);
            Ok(())
        });
        // Polled (so queued), then dropped: its caller has gone.
        assert!(tokio::time::timeout(Duration::from_millis(5), queued)
            .await
            .is_err());
        drop(release_tx);
        blocker.await.unwrap().unwrap();
        // One worker, first in first out: the abandoned job was taken (and
        // skipped) before this one ran.
        run_on(&ONE, "t", |_| Ok(())).await.unwrap();
        assert!(!ran.load(Ordering::SeqCst));
        assert_eq!(ONE.state.lock().workers, 1);
    }
}
