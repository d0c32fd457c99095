//! `llmspell events tail|query|replay`.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};
use llmspell_events::{EventBus, EventStore, UniversalEvent};
use llmspell_storage::{StorageConfig, StorageError};

use super::events_socket::{self, Request};
use crate::cli::EventFilterArgs;
use crate::error::{CliError, Result};
use crate::output::{truncate, Output};

/// How events are printed: a table (sequence, local time, type, source,
/// data) or JSON lines.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Format {
    json: bool,
    style: Output,
    header_done: bool,
}

impl Format {
    /// JSON lines with `json`, else a table in `style`.
    pub(crate) fn new(json: bool, style: Output) -> Self {
        Self {
            json,
            style,
            header_done: false,
        }
    }

    /// Writes one event (the table's header before the first), and flushes
    /// (a followed tail shows each event as it comes).
    pub(crate) fn write(
        &mut self,
        out: &mut (dyn Write + Send),
        event: &UniversalEvent,
    ) -> Result<()> {
        if self.json {
            let line = serde_json::to_string(event).map_err(|e| CliError::Usage(e.to_string()))?;
            writeln!(out, "{line}")?;
        } else {
            if !self.header_done {
                let header = format!(
                    "{:>6}  {:<23}  {:<24}  {:<16}  DATA",
                    "SEQ", "TIME", "TYPE", "SOURCE"
                );
                writeln!(out, "{}", self.style.bold(&header))?;
                self.header_done = true;
            }
            let time = event
                .timestamp
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S%.3f");
            let data = serde_json::to_string(&event.data).unwrap_or_default();
            writeln!(
                out,
                "{:>6}  {:<23}  {:<24}  {:<16}  {}",
                event.sequence,
                time.to_string(),
                event.event_type,
                event.metadata.source.as_deref().unwrap_or("-"),
                truncate(&data, 100)
            )?;
        }
        out.flush()?;
        Ok(())
    }
}

/// The request the filter arguments make.
fn request_of(filter: &EventFilterArgs) -> Request {
    Request {
        pattern: filter.pattern.clone(),
        since: filter.since,
        until: filter.until,
        correlation_id: filter.correlation_id,
        from_seq: filter.from_seq,
        to_seq: filter.to_seq,
        ..Request::default()
    }
}

/// Where the events are read from.
enum Source {
    /// The store itself (no process holds it).
    Local(EventStore),
    /// The socket of the running `llmspell run` that holds the store.
    Remote(std::path::PathBuf),
}

/// Opens the store for reading, never creating it: a `sled:` directory
/// that does not exist is [`CliError::MissingStore`]; one a running
/// `llmspell run` holds is read through its socket.
async fn open(config: &StorageConfig) -> Result<Source> {
    let dir = match config {
        StorageConfig::Sled(dir) => dir,
        other => return Ok(Source::Local(EventStore::open(other.open()?).await?)),
    };
    if !dir.exists() {
        return Err(CliError::MissingStore { path: dir.clone() });
    }
    match config.open() {
        Ok(backend) => Ok(Source::Local(EventStore::open(backend).await?)),
        Err(StorageError::Locked { .. }) => {
            let socket = events_socket::socket_path(dir);
            if socket.exists() {
                Ok(Source::Remote(socket))
            } else {
                Err(CliError::StoreBusy {
                    path: dir.clone(),
                    socket,
                })
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// The stored events a request selects (its `limit`, then its `tail`).
async fn fetch(config: &StorageConfig, request: &Request) -> Result<Vec<UniversalEvent>> {
    match open(config).await? {
        Source::Local(store) => {
            let mut events = std::collections::VecDeque::new();
            let mut stream = store.replay(request.query()?);
            while let Some(event) = stream.next().await {
                events.push_back(event?);
                if request.tail.is_some_and(|n| events.len() > n) {
                    events.pop_front();
                }
            }
            Ok(events.into())
        }
        Source::Remote(socket) => {
            let Some(stream) = events_socket::connect(&socket).await? else {
                return Err(CliError::StoreBusy {
                    path: store_dir(config),
                    socket,
                });
            };
            let mut events = Vec::new();
            events_socket::request(stream, request, |e| {
                events.push(e);
                Ok(())
            })
            .await?;
            Ok(events)
        }
    }
}

fn store_dir(config: &StorageConfig) -> std::path::PathBuf {
    match config {
        StorageConfig::Sled(dir) => dir.clone(),
        _ => "memory".into(),
    }
}

pub(crate) async fn tail(
    filter: &EventFilterArgs,
    lines: usize,
    follow: bool,
    format: &Format,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let mut format = *format;
    let request = Request {
        tail: Some(lines),
        ..request_of(filter)
    };
    let events = fetch(&filter.store, &request).await?;
    let mut last = None;
    for event in &events {
        format.write(out, event)?;
        last = Some(event.sequence);
    }
    if !follow {
        return Ok(());
    }
    let StorageConfig::Sled(dir) = &filter.store else {
        return Err(CliError::Usage(
            "--follow needs a sled store (`--store sled:<path>`): a memory store has no writer to follow".into(),
        ));
    };
    let socket = events_socket::socket_path(dir);
    let following = async {
        // Every run that writes the store serves it on its socket; between
        // runs nothing is written, so waiting for the next run's socket
        // misses nothing.
        loop {
            if let Some(stream) = events_socket::connect(&socket).await? {
                let mut request = Request {
                    follow: true,
                    ..request_of(filter)
                };
                if let Some(seq) = last {
                    request.from_seq = Some(request.from_seq.map_or(seq + 1, |f| f.max(seq + 1)));
                }
                events_socket::request(stream, &request, |event| {
                    last = Some(event.sequence);
                    format.write(out, &event)
                })
                .await?;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        #[allow(unreachable_code)]
        Ok::<(), CliError>(())
    };
    tokio::select! {
        r = following => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

pub(crate) async fn query(
    filter: &EventFilterArgs,
    limit: Option<usize>,
    format: &Format,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let mut format = *format;
    let request = Request {
        limit,
        ..request_of(filter)
    };
    match open(&filter.store).await? {
        Source::Local(store) => {
            let mut stream = store.replay(request.query()?);
            while let Some(event) = stream.next().await {
                format.write(out, &event?)?;
            }
            Ok(())
        }
        Source::Remote(_) => {
            for event in fetch(&filter.store, &request).await? {
                format.write(out, &event)?;
            }
            Ok(())
        }
    }
}

/// How many replayed events may wait for the script's callbacks in the
/// bus before the replay waits for them.
const REPLAY_AHEAD: usize = 512;

pub(crate) async fn replay(
    filter: &EventFilterArgs,
    limit: Option<usize>,
    script: Option<&Path>,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let request = Request {
        limit,
        ..request_of(filter)
    };
    let events = fetch(&filter.store, &request).await?;
    replay_events(events, script, out).await
}

/// Publishes `events` on a fresh bus: to the subscriptions of `script`,
/// or as JSON lines on `out`.
pub(crate) async fn replay_events(
    events: Vec<UniversalEvent>,
    script: Option<&Path>,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    // A fresh bus without the store: replaying does not write the events
    // again.
    let bus = EventBus::new();
    let engine = match script {
        Some(path) => {
            let source = std::fs::read_to_string(path).map_err(|source| CliError::ReadScript {
                path: path.to_owned(),
                source,
            })?;
            let ctx = GlobalContext::builder().event_bus(bus.clone()).build()?;
            let engine = LuaEngine::new(ctx, LuaConfig::default())?;
            engine
                .run_script(&source, &path.display().to_string(), &[])
                .await?;
            Some(engine)
        }
        None => None,
    };
    let progress = ProgressBar::new(events.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("replaying {bar:40} {pos}/{len} events ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let count = events.len();
    match engine {
        None => {
            for event in &events {
                let line =
                    serde_json::to_string(event).map_err(|e| CliError::Usage(e.to_string()))?;
                writeln!(out, "{line}")?;
                bus.publish(event.clone()).await?;
                progress.inc(1);
            }
            progress.finish_and_clear();
        }
        Some(engine) => {
            // One engine call for the whole replay: the script's callbacks
            // run as the events arrive, and the replay waits for them only
            // when they fall behind (so no event is dropped from their
            // queues and none waits for an idle timer).
            let backlog = engine.clone();
            let bar = progress.clone();
            let published = engine
                .run_while(async move {
                    for event in events {
                        while backlog.events().callback_backlog() > REPLAY_AHEAD {
                            tokio::task::yield_now().await;
                        }
                        bus.publish(event).await?;
                        bar.inc(1);
                    }
                    Ok::<(), llmspell_events::EventError>(())
                })
                .await?;
            published?;
            progress.finish_and_clear();
            writeln!(
                out,
                "{}",
                serde_json::json!({"replayed": count, "callback_errors": engine.callback_errors()})
            )?;
        }
    }
    Ok(())
}
