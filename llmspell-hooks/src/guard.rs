//! [`Guarded`]: running a fallible future under a [`CircuitBreaker`], with
//! panic isolation, a deadline and sampled timing — the one implementation
//! of the "poll once, time only what needs timing" path that the hook
//! executor and every guarded component call share.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::Duration;

use futures::FutureExt;
// TSC time (see the executor): a read costs a third of `Instant::now`.
use quanta::Instant;

use crate::{CallOutcome, CircuitBreaker, LatencySampler};

/// Why a [`Guarded`] call did not return the operation's own value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GuardError<E> {
    /// The breaker is open: the operation did not run.
    Open,
    /// The operation did not finish within `limit` of its start; it was
    /// dropped.
    Timeout {
        /// The deadline that passed.
        limit: Duration,
    },
    /// The operation panicked; the panic was caught.
    Panicked {
        /// The panic message (or a note that it was not a string).
        message: String,
    },
    /// The operation returned this error.
    Failed(E),
}

impl<E: fmt::Display> fmt::Display for GuardError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuardError::Open => f.write_str("the circuit breaker is open"),
            GuardError::Timeout { limit } => write!(f, "timed out after {limit:?}"),
            GuardError::Panicked { message } => write!(f, "panicked: {message}"),
            GuardError::Failed(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for GuardError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GuardError::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// A call about to run under a breaker; see [`CircuitBreaker::guard`].
#[derive(Debug)]
#[must_use]
pub struct Guarded<'a> {
    breaker: &'a CircuitBreaker,
    timeout: Option<Duration>,
    sampling: Option<(&'a LatencySampler, u32)>,
}

impl CircuitBreaker {
    /// Prepares a call under this breaker.
    ///
    /// [`Guarded::run`] asks the breaker for admission, polls the operation
    /// once in place (most operations that do not wait finish there, with
    /// no timer), and only if it suspends puts it under the deadline. A
    /// panic fails the call. The outcome feeds the breaker: a panic, a
    /// timeout or an error for which `is_failure` says so counts as a
    /// failure; calls that suspend are timed (for the slow-call rate), and
    /// calls that finish at once are timed when sampled.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use llmspell_hooks::{BreakerConfig, BreakerState, CircuitBreaker, GuardError};
    ///
    /// let breaker = CircuitBreaker::new(BreakerConfig::default().minimum_calls(2)).unwrap();
    /// for _ in 0..2 {
    ///     let r = breaker
    ///         .guard()
    ///         .run(async { Err::<(), _>("provider down") }, |_| true)
    ///         .await;
    ///     assert_eq!(r, Err(GuardError::Failed("provider down")));
    /// }
    /// assert_eq!(breaker.state(), BreakerState::Open);
    /// let r = breaker.guard().run(async { Ok::<_, &str>(1) }, |_| true).await;
    /// assert_eq!(r, Err(GuardError::Open));
    ///
    /// let slow = CircuitBreaker::new(BreakerConfig::default()).unwrap();
    /// let r = slow
    ///     .guard()
    ///     .timeout(Duration::from_millis(10))
    ///     .run(async { tokio::time::sleep(Duration::from_secs(5)).await; Ok::<_, &str>(1) }, |_| true)
    ///     .await;
    /// assert_eq!(r, Err(GuardError::Timeout { limit: Duration::from_millis(10) }));
    /// # });
    /// ```
    pub fn guard(&self) -> Guarded<'_> {
        Guarded {
            breaker: self,
            timeout: None,
            sampling: None,
        }
    }
}

impl<'a> Guarded<'a> {
    /// The call fails with [`GuardError::Timeout`] if it has not finished
    /// `limit` after it started.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// Times one in `every` calls that finish without suspending (by
    /// `sampler`'s count); without this every call is timed.
    pub fn sample(mut self, sampler: &'a LatencySampler, every: u32) -> Self {
        self.sampling = Some((sampler, every));
        self
    }

    /// Runs `fut`; see [`CircuitBreaker::guard`].
    ///
    /// # Errors
    /// [`GuardError::Open`], [`GuardError::Timeout`],
    /// [`GuardError::Panicked`], or the operation's own error as
    /// [`GuardError::Failed`].
    pub async fn run<T, E, F>(
        self,
        fut: F,
        is_failure: impl FnOnce(&E) -> bool,
    ) -> Result<T, GuardError<E>>
    where
        F: Future<Output = Result<T, E>> + Send,
        T: Send,
        E: Send,
    {
        let breaker = self.breaker;
        let Some(permit) = breaker.try_acquire() else {
            return Err(GuardError::Open);
        };
        // Always read: it is the deadline's base.
        let start = Instant::now();
        let mut fut = pin!(fut);
        let (result, elapsed) = match poll_once_caught(fut.as_mut()).await {
            Ok(Poll::Ready(r)) => {
                let timed = self.sampling.is_none_or(|(s, every)| s.sample(every));
                (Ok(r), timed.then(|| start.elapsed()))
            }
            Ok(Poll::Pending) => {
                let r = finish_within(fut, start, self.timeout).await;
                (r, Some(start.elapsed()))
            }
            Err(payload) => (Err(Stop::Panicked(panic_message(payload.as_ref()))), None),
        };
        let (result, outcome) = match result {
            Ok(Ok(v)) => (Ok(v), CallOutcome::Success),
            Ok(Err(e)) => {
                let outcome = if is_failure(&e) {
                    CallOutcome::Error
                } else {
                    CallOutcome::Success
                };
                (Err(GuardError::Failed(e)), outcome)
            }
            Err(Stop::Panicked(message)) => {
                (Err(GuardError::Panicked { message }), CallOutcome::Panic)
            }
            Err(Stop::TimedOut(limit)) => {
                (Err(GuardError::Timeout { limit }), CallOutcome::Timeout)
            }
        };
        match elapsed {
            Some(e) => breaker.record(permit, outcome, e),
            None => breaker.record_untimed(permit, outcome),
        }
        result
    }
}

/// How a guarded call stopped without a value of its own.
enum Stop {
    Panicked(String),
    TimedOut(Duration),
}

/// Awaits an operation that did not finish on its first poll until
/// `start + timeout`, with panics caught. Boxed and out of line so that
/// the future of a call that finishes at once stays small.
#[cold]
fn finish_within<'f, R: Send + 'f>(
    fut: Pin<&'f mut (dyn Future<Output = R> + Send + 'f)>,
    start: Instant,
    timeout: Option<Duration>,
) -> Pin<Box<dyn Future<Output = Result<R, Stop>> + Send + 'f>> {
    Box::pin(async move {
        let caught = AssertUnwindSafe(fut).catch_unwind();
        let caught = match timeout {
            None => caught.await,
            Some(limit) => {
                let now = tokio::time::Instant::now();
                let left = limit.saturating_sub(start.elapsed());
                // A deadline too far to represent is as good as none.
                let deadline = now
                    .checked_add(left)
                    .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365));
                match tokio::time::timeout_at(deadline, caught).await {
                    Ok(r) => r,
                    Err(_) => return Err(Stop::TimedOut(limit)),
                }
            }
        };
        caught.map_err(|payload| Stop::Panicked(panic_message(payload.as_ref())))
    })
}

/// Polls `fut` once, in place, with a panic during that poll caught: the
/// fast path of every call that usually finishes without waiting.
#[inline]
pub(crate) fn poll_once_caught<F: Future + ?Sized>(
    mut fut: Pin<&mut F>,
) -> impl Future<Output = std::thread::Result<Poll<F::Output>>> + '_ {
    std::future::poll_fn(move |cx| {
        Poll::Ready(std::panic::catch_unwind(AssertUnwindSafe(|| {
            fut.as_mut().poll(cx)
        })))
    })
}

/// The message of a caught panic: its `&str` or `String` payload.
#[cold]
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}
