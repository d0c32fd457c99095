//! `llmspell sessions list|show|delete`: the sessions recorded by
//! `llmspell run` in the state store.

use std::io::Write;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use llmspell_state::{Scope, SessionId, SessionRecord, SessionRef, Sessions, State};
use llmspell_storage::StorageConfig;
use serde_json::json;

use crate::error::{CliError, Result};

fn open(store: &StorageConfig) -> Result<Sessions> {
    let backend = store.open()?;
    Ok(Sessions::new(State::new(Arc::clone(&backend))))
}

/// A time for people: local time, to the second (`--json` has UTC).
fn time(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn duration(r: &SessionRecord) -> String {
    let Some(end) = r.ended_at else {
        return "-".to_owned();
    };
    let ms = (end - r.last_started_at).num_milliseconds().max(0);
    if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        let s = ms / 1000;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

fn write_json(out: &mut (dyn Write + Send), value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Usage(e.to_string()))?;
    writeln!(out, "{text}")?;
    Ok(())
}

/// `sessions list`: one line per session, oldest first.
pub(crate) async fn list(
    store: &StorageConfig,
    as_json: bool,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let records = open(store)?.list().await?;
    if as_json {
        let value = serde_json::to_value(&records).map_err(|e| CliError::Usage(e.to_string()))?;
        return write_json(out, &value);
    }
    if records.is_empty() {
        writeln!(
            out,
            "no sessions recorded (every `llmspell run` records one)"
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<36}  {:<14}  {:<20}  {:>8}  {:>4}  {:>4}  SCRIPT",
        "ID", "STATUS", "STARTED", "DURATION", "RUNS", "CKPT"
    )?;
    for r in &records {
        writeln!(
            out,
            "{:<36}  {:<14}  {:<20}  {:>8}  {:>4}  {:>4}  {}",
            r.id.to_string(),
            r.status.as_str(),
            time(r.last_started_at),
            duration(r),
            r.runs,
            r.checkpoints,
            r.script.as_deref().unwrap_or("-"),
        )?;
    }
    Ok(())
}

/// `sessions show <id|latest>`: the record, its checkpoints and the keys of
/// its scope.
pub(crate) async fn show(
    store: &StorageConfig,
    which: &str,
    as_json: bool,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let which: SessionRef = which.parse()?;
    let sessions = open(store)?;
    let record = sessions.find(which).await?;
    let checkpoints = sessions.checkpoints(record.id).await?;
    let keys = sessions
        .state()
        .list(&Scope::Session(record.id), "")
        .await?;
    if as_json {
        return write_json(
            out,
            &json!({"session": record, "checkpoints": checkpoints, "keys": keys}),
        );
    }
    writeln!(out, "session     {}", record.id)?;
    writeln!(
        out,
        "script      {}",
        record.script.as_deref().unwrap_or("-")
    )?;
    writeln!(out, "status      {}", record.status)?;
    if let Some(code) = record.exit_code {
        writeln!(out, "exit code   {code}")?;
    }
    if let Some(error) = &record.error {
        writeln!(
            out,
            "error       {}",
            error.lines().next().unwrap_or_default()
        )?;
    }
    writeln!(out, "started     {}", time(record.started_at))?;
    if record.runs > 1 {
        writeln!(out, "last run    {}", time(record.last_started_at))?;
    }
    writeln!(
        out,
        "ended       {}",
        record.ended_at.map_or_else(|| "-".to_owned(), time)
    )?;
    writeln!(out, "runs        {}", record.runs)?;
    if let Some(pid) = record.pid {
        writeln!(out, "pid         {pid}")?;
    }
    writeln!(out, "checkpoints {}", checkpoints.len())?;
    for c in &checkpoints {
        writeln!(
            out,
            "  {:>3}  {}  {} keys  {}",
            c.seq,
            time(c.created_at),
            c.keys,
            c.name
        )?;
    }
    writeln!(out, "keys        {}", keys.len())?;
    for key in &keys {
        writeln!(out, "  {key}")?;
    }
    Ok(())
}

/// `sessions delete <id>`: the record, checkpoints and session scope.
pub(crate) async fn delete(
    store: &StorageConfig,
    id: &str,
    as_json: bool,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let id: SessionId = id.parse()?;
    let deleted = open(store)?.delete(id).await?;
    if !deleted {
        return Err(llmspell_state::StateError::SessionNotFound { id: id.to_string() }.into());
    }
    if as_json {
        return write_json(out, &json!({"deleted": id.to_string()}));
    }
    writeln!(out, "deleted session {id}")?;
    Ok(())
}
