//! `llmspell events tail|query|replay`.

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};
use llmspell_events::{EventBus, EventPattern, EventQuery, EventStore, UniversalEvent};

use crate::cli::EventFilterArgs;
use crate::error::{CliError, Result};

async fn open(filter: &EventFilterArgs) -> Result<(EventStore, EventQuery)> {
    let backend = filter.store.open()?;
    let store = EventStore::open(backend).await?;
    let mut query = EventQuery::all();
    if let Some(p) = &filter.pattern {
        query = query.pattern(EventPattern::new(p)?);
    }
    if let Some(t) = filter.since {
        query = query.since(t);
    }
    if let Some(t) = filter.until {
        query = query.before(t);
    }
    if let Some(c) = filter.correlation_id {
        query = query.correlation_id(c);
    }
    match (filter.from_seq, filter.to_seq) {
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
    Ok((store, query))
}

fn write_event(out: &mut (dyn Write + Send), event: &UniversalEvent) -> Result<()> {
    let line = serde_json::to_string(event).map_err(|e| CliError::Usage(e.to_string()))?;
    writeln!(out, "{line}")?;
    Ok(())
}

pub(crate) async fn tail(
    filter: &EventFilterArgs,
    lines: usize,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let (store, query) = open(filter).await?;
    let mut last = VecDeque::with_capacity(lines.min(4096));
    let mut stream = store.replay(query);
    while let Some(event) = stream.next().await {
        let event = event?;
        if last.len() == lines {
            last.pop_front();
        }
        if lines > 0 {
            last.push_back(event);
        }
    }
    for event in &last {
        write_event(out, event)?;
    }
    Ok(())
}

pub(crate) async fn query(
    filter: &EventFilterArgs,
    limit: Option<usize>,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let (store, mut query) = open(filter).await?;
    if let Some(l) = limit {
        query = query.limit(l);
    }
    let mut stream = store.replay(query);
    while let Some(event) = stream.next().await {
        write_event(out, &event?)?;
    }
    Ok(())
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
    let (store, mut query) = open(filter).await?;
    if let Some(l) = limit {
        query = query.limit(l);
    }
    let events = store.query(&query).await?;
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
                write_event(out, event)?;
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
