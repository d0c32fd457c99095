//! SIGINT / SIGTERM handling of `llmspell run`.
//!
//! The first signal stops the script and sends the run down its normal
//! shutdown path. If that does not finish within [`GRACE`] (the script is
//! stuck where it cannot be interrupted), or a second signal arrives, the
//! listener flushes the event store itself and exits the process with the
//! signal's exit status.

use std::fmt;
use std::time::Duration;

use llmspell_events::EventStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::Result;

/// How long the normal shutdown path gets after the first signal.
pub(crate) const GRACE: Duration = Duration::from_secs(5);

/// How long the forced path waits for the store to flush.
const FLUSH_LIMIT: Duration = Duration::from_secs(2);

/// A signal that stops a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Signal {
    /// The conventional exit status: 128 + the signal number.
    #[must_use]
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        })
    }
}

/// The installed listener. Dropping it stops listening (and with it the
/// forced exit).
#[derive(Debug)]
pub(crate) struct Signals {
    received: watch::Receiver<Option<Signal>>,
    task: JoinHandle<()>,
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Signals {
    /// Starts listening; `store` is flushed on the forced path.
    pub(crate) fn install(store: Option<EventStore>) -> Result<Self> {
        let mut source = Source::new()?;
        let (tx, received) = watch::channel(None);
        let task = tokio::spawn(async move {
            let first = source.next().await;
            let _ = tx.send(Some(first));
            tokio::select! {
                () = tokio::time::sleep(GRACE) => {}
                _ = source.next() => {}
            }
            if let Some(store) = store {
                if tokio::time::timeout(FLUSH_LIMIT, store.flush())
                    .await
                    .is_err()
                {
                    eprintln!("llmspell: the event store did not flush within {FLUSH_LIMIT:?}");
                }
            }
            eprintln!(
                "llmspell: the script did not stop within {GRACE:?} of {first}; event store flushed, exiting"
            );
            std::process::exit(i32::from(first.exit_code()));
        });
        Ok(Self { received, task })
    }

    /// Resolves with the first signal (never, if none arrives).
    pub(crate) async fn received(&self) -> Signal {
        let mut rx = self.received.clone();
        loop {
            if let Some(signal) = *rx.borrow_and_update() {
                return signal;
            }
            if rx.changed().await.is_err() {
                // The listener is gone: no signal will come.
                std::future::pending::<()>().await;
            }
        }
    }
}

/// The signal streams.
struct Source {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Source {
    #[cfg(unix)]
    fn new() -> Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn new() -> Result<Self> {
        Ok(Self {})
    }

    #[cfg(unix)]
    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.interrupt.recv() => Signal::Interrupt,
            _ = self.terminate.recv() => Signal::Terminate,
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> Signal {
        loop {
            if tokio::signal::ctrl_c().await.is_ok() {
                return Signal::Interrupt;
            }
            std::future::pending::<()>().await;
        }
    }
}
