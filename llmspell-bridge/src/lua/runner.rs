//! Where Lua runs when it might not stop: the engine's gate and runner
//! thread.
//!
//! The instruction hook of `limits.rs` stops almost everything, but Lua
//! runs `__gc` finalisers with hooks off, and a C library call executes no
//! instruction. Two mechanisms keep a caller from being stuck behind such
//! code:
//!
//! - [`Gate`]: every poll of a future that runs Lua holds the engine's
//!   gate (re-entrantly on the thread that holds it). A thread that wants
//!   Lua while another thread is in it waits *asynchronously* — so its own
//!   time limit still fires — instead of blocking on mlua's lock, which a
//!   runaway would never release. The gate is FIFO-fair (a tokio
//!   semaphore), so a computing script that yields for fairness lets a
//!   waiting hook in.
//! - [`Runner`]: the engine's top-level calls (`run_script`, `eval`,
//!   `call_function`, `run_pending_callbacks`) are polled on a thread the
//!   engine owns, through the caller's tokio runtime. The caller awaits the
//!   result and watches the running call; when it is past its deadline by
//!   more than the grace period, the engine is discarded and the caller
//!   gets an error back while the runaway keeps the runner thread (until
//!   it stops or the process exits).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::ThreadId;

use parking_lot::Mutex;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

/// A per-thread number (0 is "nobody").
fn thread_number() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static NUMBER: Cell<u64> = const { Cell::new(0) };
    }
    NUMBER.with(|n| {
        if n.get() == 0 {
            // Relaxed: only uniqueness matters.
            n.set(NEXT.fetch_add(1, Ordering::Relaxed));
        }
        n.get()
    })
}

/// The engine's gate: who may run Lua now.
#[derive(Debug)]
pub(crate) struct Gate {
    /// The thread number holding the gate during a poll, 0 when free.
    owner: AtomicU64,
    permits: Arc<Semaphore>,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            owner: AtomicU64::new(0),
            permits: Arc::new(Semaphore::new(1)),
        }
    }
}

type Acquiring = Pin<
    Box<
        dyn Future<Output = Result<OwnedSemaphorePermit, tokio::sync::AcquireError>>
            + Send
            + 'static,
    >,
>;

impl Gate {
    /// Awaits `fut`, polling it only while holding the gate. A poll on the
    /// thread that already holds it (a nested call) goes straight in.
    pub(crate) async fn hold<F: Future>(self: &Arc<Self>, fut: F) -> F::Output {
        let mut fut = std::pin::pin!(fut);
        let mut acquiring: Option<Acquiring> = None;
        std::future::poll_fn(|cx| self.poll_holding(&mut acquiring, cx, fut.as_mut())).await
    }

    fn poll_holding<F: Future>(
        self: &Arc<Self>,
        acquiring: &mut Option<Acquiring>,
        cx: &mut Context<'_>,
        fut: Pin<&mut F>,
    ) -> Poll<F::Output> {
        let me = thread_number();
        // Only this thread ever stores its own number, so it sees it here
        // exactly when an enclosing poll on this thread holds the gate.
        if self.owner.load(Ordering::Acquire) == me {
            return fut.poll(cx);
        }
        let permit = loop {
            if let Some(waiting) = acquiring.as_mut() {
                match waiting.as_mut().poll(cx) {
                    Poll::Ready(Ok(permit)) => {
                        *acquiring = None;
                        break permit;
                    }
                    // The semaphore is never closed.
                    Poll::Ready(Err(_)) => {
                        *acquiring = None;
                        return fut.poll(cx);
                    }
                    Poll::Pending => return Poll::Pending,
                }
            }
            match Arc::clone(&self.permits).try_acquire_owned() {
                Ok(permit) => break permit,
                Err(_) => {
                    *acquiring = Some(Box::pin(Arc::clone(&self.permits).acquire_owned()));
                }
            }
        };
        self.owner.store(me, Ordering::Release);
        let _release = Release {
            gate: self,
            _permit: permit,
        };
        fut.poll(cx)
    }
}

/// Clears the owner and returns the permit when dropped (also when the
/// poll unwinds).
struct Release<'g> {
    gate: &'g Gate,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Release<'_> {
    fn drop(&mut self) {
        // Before the permit (a later field) is returned.
        self.gate.owner.store(0, Ordering::Release);
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The engine's runner thread, started by the first top-level call.
#[derive(Debug, Default)]
pub(crate) struct Runner {
    jobs: Mutex<Option<(mpsc::Sender<Job>, ThreadId)>>,
}

impl Runner {
    /// Whether the calling thread is this runner's.
    pub(crate) fn is_current(&self) -> bool {
        self.jobs
            .lock()
            .as_ref()
            .is_some_and(|(_, id)| *id == std::thread::current().id())
    }

    /// Runs `fut` to completion on the runner thread through `handle`'s
    /// runtime; the receiver gets its output (or is dropped if the thread
    /// could not be started).
    pub(crate) fn spawn<T: Send + 'static>(
        &self,
        handle: tokio::runtime::Handle,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> oneshot::Receiver<T> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let out = handle.block_on(fut);
            let _ = tx.send(out);
        });
        self.send(job);
        rx
    }

    /// Runs `job` on the runner thread (starting it if needed), or on a
    /// new thread when the runner cannot take it.
    pub(crate) fn send(&self, job: Job) {
        let mut jobs = self.jobs.lock();
        if jobs.is_none() {
            let (tx, rx) = mpsc::channel::<Job>();
            let started = std::thread::Builder::new()
                .name("llmspell-lua".into())
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        job();
                    }
                });
            match started {
                Ok(handle) => *jobs = Some((tx, handle.thread().id())),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot start the Lua runner thread; running the job here");
                    drop(jobs);
                    job();
                    return;
                }
            }
        }
        if let Some((tx, _)) = jobs.as_ref() {
            if let Err(mpsc::SendError(job)) = tx.send(job) {
                drop(jobs);
                job();
            }
        }
    }

    /// Stops taking jobs: the thread ends after the queued ones.
    pub(crate) fn close(&self) {
        self.jobs.lock().take();
    }
}
