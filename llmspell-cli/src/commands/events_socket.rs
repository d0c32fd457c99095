//! Reading the event store of a running `llmspell run`.
//!
//! sled lets one process hold a database, so while a run writes
//! `sled:<dir>`, `llmspell events` cannot open `<dir>`. The run therefore
//! serves its store on a unix socket next to it, `<dir>.sock` (for the
//! default store, `.llmspell/events.sock`), for as long as it holds the
//! store. A reader that finds the store locked connects there instead.
//!
//! The protocol is one request line and a stream of response lines, all
//! JSON: the request is a [`Request`] (filters, limit, tail length, follow);
//! the response is one event per line (the `--json` form of `llmspell
//! events`), or `{"error": "..."}`. Without `follow` the server closes the
//! connection after the stored events; with it, it goes on sending each new
//! matching event until the run ends (its bus closes) or the reader hangs
//! up.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use llmspell_events::{EventBus, EventPattern, EventQuery, EventStore, UniversalEvent};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use uuid::Uuid;

use crate::error::{CliError, Result};

/// The socket a run serves the store at `store_dir` on: `<store_dir>.sock`.
pub(crate) fn socket_path(store_dir: &Path) -> PathBuf {
    let mut name = store_dir.as_os_str().to_owned();
    name.push(".sock");
    PathBuf::from(name)
}

/// What a reader asks for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Request {
    /// Event type glob.
    pub(crate) pattern: Option<String>,
    /// At or after this time.
    pub(crate) since: Option<DateTime<Utc>>,
    /// Before this time.
    pub(crate) until: Option<DateTime<Utc>>,
    /// This correlation id only.
    pub(crate) correlation_id: Option<Uuid>,
    /// Sequence at or above.
    pub(crate) from_seq: Option<u64>,
    /// Sequence at or below.
    pub(crate) to_seq: Option<u64>,
    /// The first this many stored events.
    pub(crate) limit: Option<usize>,
    /// The last this many stored events (after `limit`).
    pub(crate) tail: Option<usize>,
    /// Then every new matching event until the run ends.
    pub(crate) follow: bool,
}

impl Request {
    /// The store query of this request (without `tail`).
    pub(crate) fn query(&self) -> Result<EventQuery> {
        let mut query = EventQuery::all();
        if let Some(p) = &self.pattern {
            query = query.pattern(EventPattern::new(p)?);
        }
        if let Some(t) = self.since {
            query = query.since(t);
        }
        if let Some(t) = self.until {
            query = query.before(t);
        }
        if let Some(c) = self.correlation_id {
            query = query.correlation_id(c);
        }
        match (self.from_seq, self.to_seq) {
            (Some(a), Some(b)) if a > b => {
                return Err(CliError::Usage(format!(
                    "--from-seq {a} is above --to-seq {b}"
                )))
            }
            (Some(a), Some(b)) => query = query.sequences(a..=b),
            (Some(a), None) => query = query.sequences(a..),
            (None, Some(b)) => query = query.sequences(..=b),
            (None, None) => {}
        }
        if let Some(l) = self.limit {
            query = query.limit(l);
        }
        Ok(query)
    }
}

/// The server of a run's store; stopped (and its socket file removed) when
/// dropped. It owns its accept task, which owns the connection tasks.
#[derive(Debug)]
pub(crate) struct EventServer {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl EventServer {
    /// Serves `store` (and new events of `bus`) on [`socket_path`] of
    /// `store_dir`. A socket file left by a run that was killed is
    /// replaced: this process holds the store's lock, so no other run
    /// serves it.
    pub(crate) fn start(store_dir: &Path, store: EventStore, bus: EventBus) -> Result<Self> {
        let path = socket_path(store_dir);
        if path.exists() {
            let _ = std::fs::remove_file(&path);
        }
        let listener = UnixListener::bind(&path).map_err(|e| {
            CliError::Usage(format!(
                "cannot serve the event store on `{}`: {e}",
                path.display()
            ))
        })?;
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            let (store, bus) = (store.clone(), bus.clone());
                            connections.spawn(async move {
                                if let Err(e) = serve(stream, store, bus).await {
                                    tracing::debug!(error = %e, "event socket connection ended");
                                }
                            });
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "the event socket stopped accepting");
                            break;
                        }
                    },
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(Self { path, task })
    }
}

impl Drop for EventServer {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn write_line(
    stream: &mut (impl AsyncWriteExt + Unpin),
    value: &impl Serialize,
) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line).await
}

async fn serve(stream: UnixStream, store: EventStore, bus: EventBus) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let request: Request = match serde_json::from_str(&line) {
        Ok(r) => r,
        Err(e) => {
            return write_line(
                &mut write,
                &serde_json::json!({"error": format!("bad request: {e}")}),
            )
            .await
        }
    };
    let answer = async {
        let query = request.query()?;
        // Subscribed before the stored events are read, so that nothing
        // published in between is missed (duplicates are skipped by
        // sequence).
        let subscription = if request.follow {
            Some(bus.subscribe("*")?)
        } else {
            None
        };
        let mut events = store.query(&query).await?;
        if let Some(n) = request.tail {
            let skip = events.len().saturating_sub(n);
            events.drain(..skip);
        }
        Ok::<_, CliError>((query, subscription, events))
    };
    let (query, subscription, events) = match answer.await {
        Ok(a) => a,
        Err(e) => {
            return write_line(&mut write, &serde_json::json!({"error": e.to_string()})).await
        }
    };
    let mut last = request.from_seq.unwrap_or(0).saturating_sub(1);
    for event in &events {
        write_line(&mut write, event).await?;
        last = last.max(event.sequence);
    }
    write.flush().await?;
    if let Some(mut subscription) = subscription {
        while let Some(event) = subscription.recv().await {
            if event.sequence > last && query.matches(&event) {
                write_line(&mut write, &*event).await?;
                write.flush().await?;
                last = event.sequence;
            }
        }
    }
    Ok(())
}

/// Whether a connection error means "nobody serves this store".
fn no_server(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
    )
}

/// Connects to the run serving `socket`; `Ok(None)` when no run serves it.
pub(crate) async fn connect(socket: &Path) -> Result<Option<UnixStream>> {
    match UnixStream::connect(socket).await {
        Ok(s) => Ok(Some(s)),
        Err(e) if no_server(&e) => Ok(None),
        Err(e) => Err(CliError::Usage(format!(
            "cannot connect to the event socket `{}`: {e}",
            socket.display()
        ))),
    }
}

/// Sends `request` on `stream` and calls `each` for every event of the
/// answer, until the server closes the connection.
pub(crate) async fn request(
    stream: UnixStream,
    request: &Request,
    mut each: impl FnMut(UniversalEvent) -> Result<()>,
) -> Result<()> {
    let (read, mut write) = stream.into_split();
    write_line(&mut write, request).await?;
    write.flush().await?;
    let mut lines = BufReader::new(read).lines();
    while let Some(line) = lines.next_line().await? {
        let value: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| CliError::Usage(format!("bad answer from the event socket: {e}")))?;
        if let Some(error) = value.get("error").and_then(serde_json::Value::as_str) {
            if value.get("event_type").is_none() {
                return Err(CliError::Usage(format!(
                    "the running llmspell refused: {error}"
                )));
            }
        }
        let event: UniversalEvent = serde_json::from_value(value)
            .map_err(|e| CliError::Usage(format!("bad event from the event socket: {e}")))?;
        each(event)?;
    }
    Ok(())
}
