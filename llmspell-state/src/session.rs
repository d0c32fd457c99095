//! Sessions: one per script run, recorded in the store, with checkpoints of
//! the session's state scope.
//!
//! Storage layout (beside the state values, on the same backend):
//!
//! | key | value |
//! |---|---|
//! | `session/record/<id>` | the [`SessionRecord`] as JSON |
//! | `session/checkpoint/<id>/<seq: 8 hex digits>` | a [`Checkpoint`] as JSON |
//! | `state/session:<id>/<key>` | the session scope's values (see [`State`]) |
//!
//! Ids are UUID v7, so `session/record/` lists sessions in start order.
//! One process owns a running session: checkpoints of one session are not
//! taken concurrently from several processes (the sled store cannot be
//! opened by two processes anyway).

mod checkpoint;
mod id;
mod record;

use std::fmt;
use std::str::FromStr;

use chrono::Utc;
use llmspell_events::UniversalEvent;
use llmspell_hooks::{ComponentId, ComponentType, HookData, HookOutcome, HookPoint};
use llmspell_storage::{Batch, Update};
use serde_json::{json, Value};

pub use checkpoint::{Checkpoint, CheckpointInfo};
pub use id::SessionId;
pub use record::{SessionOutcome, SessionRecord, SessionStatus};

use crate::{Result, Scope, State, StateError};

const RECORDS: &str = "session/record/";
const CHECKPOINTS: &str = "session/checkpoint/";

/// Which session a command means: an id, or the latest one started.
///
/// ```
/// use llmspell_state::SessionRef;
/// assert_eq!("latest".parse::<SessionRef>().unwrap(), SessionRef::Latest);
/// assert!("0190f5c4-0000-7000-8000-000000000000".parse::<SessionRef>().is_ok());
/// let err = "last".parse::<SessionRef>().unwrap_err().to_string();
/// assert!(err.contains("or `latest`"), "{err}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRef {
    /// This session.
    Id(SessionId),
    /// The session whose latest run started last.
    Latest,
}

impl FromStr for SessionRef {
    type Err = StateError;

    fn from_str(s: &str) -> Result<Self> {
        if s == "latest" {
            Ok(SessionRef::Latest)
        } else {
            s.parse().map(SessionRef::Id)
        }
    }
}

impl fmt::Display for SessionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionRef::Id(id) => id.fmt(f),
            SessionRef::Latest => f.write_str("latest"),
        }
    }
}

/// The session store: starts, resumes, lists and deletes sessions. Cloning
/// is cheap.
#[derive(Debug, Clone)]
pub struct Sessions {
    state: State,
}

/// A session being run: its id, checkpoints and end. Dropping it without
/// [`end`](Self::end) leaves it `running` in the store, which is what a
/// crash looks like; `--resume` continues it.
#[derive(Debug, Clone)]
pub struct Session {
    id: SessionId,
    sessions: Sessions,
}

fn record_key(id: SessionId) -> Vec<u8> {
    format!("{RECORDS}{id}").into_bytes()
}

fn checkpoint_prefix(id: SessionId) -> Vec<u8> {
    format!("{CHECKPOINTS}{id}/").into_bytes()
}

impl Sessions {
    /// Sessions kept on `state`'s backend (their scopes are `state`'s
    /// `session:<id>` scopes), hooked with `state`'s hooks.
    #[must_use]
    pub fn new(state: State) -> Self {
        state.hooks().registry().declare_fired(
            [
                HookPoint::SessionStart,
                HookPoint::SessionEnd,
                HookPoint::SessionCheckpoint,
                HookPoint::SessionRestore,
            ],
            "sessions (llmspell-state)",
        );
        Self { state }
    }

    /// The state the sessions' scopes live in.
    #[must_use]
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Starts a new session running `script`, recorded (and flushed) before
    /// this returns, so even a killed run leaves its record.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn start(&self, script: Option<&str>) -> Result<Session> {
        let id = SessionId::new();
        let now = Utc::now();
        let record = SessionRecord {
            id,
            script: script.map(str::to_owned),
            started_at: now,
            last_started_at: now,
            ended_at: None,
            status: SessionStatus::Running,
            exit_code: None,
            error: None,
            runs: 1,
            pid: Some(std::process::id()),
            checkpoints: 0,
            last_checkpoint: None,
        };
        self.put_record(&record).await?;
        self.state.storage().flush().await?;
        self.publish("session.started", id, json!({"script": script}))
            .await;
        // SessionStart and SessionEnd are observations: the run goes on.
        let _ = self
            .notify(
                HookPoint::SessionStart,
                id,
                json!({"script": script, "resumed": false, "runs": 1}),
            )
            .await;
        Ok(Session {
            id,
            sessions: self.clone(),
        })
    }

    /// Continues the session `which` in a new run: its scope is restored
    /// from its last checkpoint (firing `SessionRestore`, whose `cancel`
    /// refuses), its record is marked running again (one more run, this
    /// process), and `SessionStart` fires with `resumed` true. Returns the
    /// session and that checkpoint.
    ///
    /// # Errors
    /// [`StateError::SessionNotFound`]; [`StateError::NoCheckpoint`] when the
    /// session never checkpointed, [`StateError::Cancelled`] when a
    /// hook refused the restore (either way the record is left as it was);
    /// storage errors.
    pub async fn resume(&self, which: SessionRef) -> Result<(Session, CheckpointInfo)> {
        let record = self.find(which).await?;
        let session = Session {
            id: record.id,
            sessions: self.clone(),
        };
        let checkpoint = session.restore().await?;
        let updated = self
            .update_record(record.id, |r| {
                r.status = SessionStatus::Running;
                r.last_started_at = Utc::now();
                r.ended_at = None;
                r.exit_code = None;
                r.error = None;
                r.runs += 1;
                r.pid = Some(std::process::id());
            })
            .await?;
        self.state.storage().flush().await?;
        let _ = self
            .notify(
                HookPoint::SessionStart,
                record.id,
                json!({"script": updated.script, "resumed": true, "runs": updated.runs}),
            )
            .await;
        Ok((session, checkpoint))
    }

    /// The record of `id`, if recorded.
    ///
    /// # Errors
    /// [`StateError::Corrupt`] for an unreadable record; storage errors.
    pub async fn get(&self, id: SessionId) -> Result<Option<SessionRecord>> {
        match self.state.storage().get(&record_key(id)).await? {
            None => Ok(None),
            Some(bytes) => decode_record(id, &bytes).map(Some),
        }
    }

    /// The record `which` names.
    ///
    /// # Errors
    /// [`StateError::SessionNotFound`] when there is none; storage errors.
    pub async fn find(&self, which: SessionRef) -> Result<SessionRecord> {
        let found = match which {
            SessionRef::Id(id) => self.get(id).await?,
            SessionRef::Latest => self
                .list()
                .await?
                .into_iter()
                .max_by_key(|r| (r.last_started_at, r.id)),
        };
        found.ok_or_else(|| StateError::SessionNotFound {
            id: which.to_string(),
        })
    }

    /// Every recorded session, in the order they were first started.
    ///
    /// # Errors
    /// [`StateError::Corrupt`] for an unreadable record; storage errors.
    pub async fn list(&self) -> Result<Vec<SessionRecord>> {
        let entries = self
            .state
            .storage()
            .scan_prefix(RECORDS.as_bytes(), None)
            .await?;
        entries
            .iter()
            .map(|(k, v)| {
                let id = String::from_utf8_lossy(&k[RECORDS.len()..])
                    .parse::<SessionId>()
                    .map_err(|e| StateError::Corrupt {
                        scope: "session".to_owned(),
                        key: String::from_utf8_lossy(k).into_owned(),
                        reason: e.to_string(),
                    })?;
                decode_record(id, v)
            })
            .collect()
    }

    /// The checkpoints of `id`, oldest first, without their values.
    ///
    /// # Errors
    /// [`StateError::Corrupt`] for an unreadable checkpoint; storage errors.
    pub async fn checkpoints(&self, id: SessionId) -> Result<Vec<CheckpointInfo>> {
        Ok(self
            .load_checkpoints(id)
            .await?
            .iter()
            .map(Checkpoint::info)
            .collect())
    }

    /// The last checkpoint of `id`, values included.
    ///
    /// # Errors
    /// As [`checkpoints`](Self::checkpoints).
    pub async fn last_checkpoint(&self, id: SessionId) -> Result<Option<Checkpoint>> {
        let prefix = checkpoint_prefix(id);
        let keys = self.state.storage().keys(&prefix).await?;
        let Some(last) = keys.last() else {
            return Ok(None);
        };
        match self.state.storage().get(last).await? {
            Some(bytes) => decode_checkpoint(id, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Removes the session: its record, checkpoints and scope. Returns
    /// whether it was recorded.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn delete(&self, id: SessionId) -> Result<bool> {
        let storage = self.state.storage();
        let existed = storage.exists(&record_key(id)).await?;
        let mut batch = Batch::new();
        batch.delete(record_key(id));
        for key in storage.keys(&checkpoint_prefix(id)).await? {
            batch.delete(key);
        }
        storage.apply_batch(batch).await?;
        let dropped = self.state.drop_scope(&Scope::Session(id)).await?;
        storage.flush().await?;
        Ok(existed || dropped > 0)
    }

    async fn load_checkpoints(&self, id: SessionId) -> Result<Vec<Checkpoint>> {
        let entries = self
            .state
            .storage()
            .scan_prefix(&checkpoint_prefix(id), None)
            .await?;
        entries
            .iter()
            .map(|(_, v)| decode_checkpoint(id, v))
            .collect()
    }

    async fn put_record(&self, record: &SessionRecord) -> Result<()> {
        let bytes = encode_json(record)?;
        self.state
            .storage()
            .set(&record_key(record.id), &bytes)
            .await?;
        Ok(())
    }

    /// Read-modify-write of a record, atomic in the backend.
    async fn update_record(
        &self,
        id: SessionId,
        change: impl Fn(&mut SessionRecord) + Send + Sync,
    ) -> Result<SessionRecord> {
        let mut result: Option<Result<SessionRecord>> = None;
        self.state
            .storage()
            .update(&record_key(id), &mut |current| {
                let Some(bytes) = current else {
                    result = Some(Err(StateError::SessionNotFound { id: id.to_string() }));
                    return Update::Keep;
                };
                let mut record = match decode_record(id, bytes) {
                    Ok(r) => r,
                    Err(e) => {
                        result = Some(Err(e));
                        return Update::Keep;
                    }
                };
                change(&mut record);
                match encode_json(&record) {
                    Ok(bytes) => {
                        result = Some(Ok(record));
                        Update::Set(bytes)
                    }
                    Err(e) => {
                        result = Some(Err(e));
                        Update::Keep
                    }
                }
            })
            .await?;
        result.unwrap_or_else(|| Err(StateError::SessionNotFound { id: id.to_string() }))
    }

    /// Fires a session point for `id` with `data` (an object) plus
    /// `session_id`.
    async fn notify(&self, point: HookPoint, id: SessionId, data: Value) -> HookOutcome {
        let hooks = self.state.hooks();
        if !hooks.has_hooks(&point) {
            return HookOutcome::Continue;
        }
        let mut map = match data {
            Value::Object(map) => map,
            _ => HookData::new(),
        };
        map.insert("session_id".to_owned(), json!(id.to_string()));
        let component = ComponentId::with_id(
            ComponentType::Custom("session".to_owned()),
            id.to_string(),
            *id.as_uuid(),
        );
        hooks.notify(point, component, map).await.0
    }

    async fn publish(&self, event_type: &str, id: SessionId, mut data: Value) {
        let Some(bus) = self.state.events() else {
            return;
        };
        data["session_id"] = json!(id.to_string());
        let event = UniversalEvent::builder(event_type)
            .data(data)
            .source("session")
            .build();
        if let Err(e) = bus.publish(event).await {
            tracing::warn!(session = %id, event_type, error = %e, "session event not delivered");
        }
    }
}

impl Session {
    /// The session id.
    #[must_use]
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// The session's state scope (`session:<id>`).
    #[must_use]
    pub fn scope(&self) -> Scope {
        Scope::Session(self.id)
    }

    /// The session store this session belongs to.
    #[must_use]
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Snapshots the session scope as a checkpoint named `name` (default
    /// `checkpoint-<seq>`), durable (flushed) when this returns. Fires
    /// `SessionCheckpoint` (`session_id`, `name`, `seq`) first; `cancel`
    /// refuses.
    ///
    /// Values written concurrently with the snapshot may or may not be in
    /// it; each value in it is whole.
    ///
    /// # Errors
    /// [`StateError::InvalidCheckpointName`]; [`StateError::SessionNotFound`]
    /// when the session's record was deleted;
    /// [`StateError::Cancelled`]; storage errors.
    pub async fn checkpoint(&self, name: Option<&str>) -> Result<CheckpointInfo> {
        if let Some(name) = name {
            checkpoint::validate_name(name)?;
        }
        let sessions = &self.sessions;
        let storage = sessions.state.storage();
        if sessions.get(self.id).await?.is_none() {
            return Err(StateError::SessionNotFound {
                id: self.id.to_string(),
            });
        }
        let prefix = checkpoint_prefix(self.id);
        let seq = match storage.keys(&prefix).await?.last() {
            None => 1,
            Some(last) => parse_seq(&last[prefix.len()..]).map_or(1, |n| n + 1),
        };
        let name = name.map_or_else(|| format!("checkpoint-{seq}"), str::to_owned);
        refused(
            "checkpoint",
            self.id,
            HookPoint::SessionCheckpoint,
            sessions
                .notify(
                    HookPoint::SessionCheckpoint,
                    self.id,
                    json!({"name": name, "seq": seq}),
                )
                .await,
        )?;
        let values = sessions.state.scan(&self.scope(), "").await?;
        let checkpoint = Checkpoint {
            session: self.id,
            seq,
            name,
            created_at: Utc::now(),
            values,
        };
        let mut key = prefix;
        key.extend_from_slice(format!("{seq:08x}").as_bytes());
        storage.set(&key, &encode_json(&checkpoint)?).await?;
        let name = checkpoint.name.clone();
        sessions
            .update_record(self.id, move |r| {
                r.checkpoints = r.checkpoints.max(seq);
                r.last_checkpoint = Some(name.clone());
            })
            .await?;
        storage.flush().await?;
        let info = checkpoint.info();
        sessions
            .publish(
                "session.checkpoint",
                self.id,
                json!({"name": info.name, "seq": seq, "keys": info.keys}),
            )
            .await;
        Ok(info)
    }

    /// Makes the session scope hold exactly the values of the last
    /// checkpoint (keys written after it are deleted), durable when this
    /// returns. Fires `SessionRestore` (`session_id`, `checkpoint`, `seq`)
    /// first; `cancel` refuses.
    ///
    /// # Errors
    /// [`StateError::NoCheckpoint`] when there is none;
    /// [`StateError::Cancelled`]; storage errors.
    pub async fn restore(&self) -> Result<CheckpointInfo> {
        let sessions = &self.sessions;
        let checkpoint =
            sessions
                .last_checkpoint(self.id)
                .await?
                .ok_or_else(|| StateError::NoCheckpoint {
                    id: self.id.to_string(),
                })?;
        refused(
            "restore",
            self.id,
            HookPoint::SessionRestore,
            sessions
                .notify(
                    HookPoint::SessionRestore,
                    self.id,
                    json!({"checkpoint": checkpoint.name, "seq": checkpoint.seq}),
                )
                .await,
        )?;
        sessions
            .state
            .replace_scope(&self.scope(), &checkpoint.values)
            .await?;
        sessions.state.storage().flush().await?;
        let info = checkpoint.info();
        sessions
            .publish(
                "session.restored",
                self.id,
                json!({"name": info.name, "seq": info.seq, "keys": info.keys}),
            )
            .await;
        Ok(info)
    }

    /// Records how the run ended (and flushes the store), then fires
    /// `SessionEnd` (`session_id`, `script`, `status`, `exit_code`,
    /// `error`).
    ///
    /// # Errors
    /// [`StateError::SessionNotFound`] when the record was deleted meanwhile;
    /// storage errors.
    pub async fn end(&self, outcome: SessionOutcome) -> Result<SessionRecord> {
        let sessions = &self.sessions;
        let SessionOutcome {
            status,
            exit_code,
            error,
        } = outcome;
        let record = sessions
            .update_record(self.id, move |r| {
                r.status = status;
                r.exit_code = exit_code;
                r.error.clone_from(&error);
                r.ended_at = Some(Utc::now());
            })
            .await?;
        sessions.state.storage().flush().await?;
        sessions
            .publish(
                "session.ended",
                self.id,
                json!({"status": record.status, "exit_code": record.exit_code, "error": record.error}),
            )
            .await;
        let _ = sessions
            .notify(
                HookPoint::SessionEnd,
                self.id,
                json!({
                    "script": record.script,
                    "status": record.status,
                    "exit_code": record.exit_code,
                    "error": record.error,
                }),
            )
            .await;
        Ok(record)
    }
}

/// A `Cancelled` outcome as the error of a refused session operation.
fn refused(
    operation: &'static str,
    id: SessionId,
    point: HookPoint,
    outcome: HookOutcome,
) -> Result<()> {
    match outcome {
        HookOutcome::Cancelled { reason, hook } => Err(StateError::Cancelled {
            operation,
            target: format!("session `{id}`"),
            point: point.to_string(),
            hook,
            reason,
        }),
        _ => Ok(()),
    }
}

fn parse_seq(hex: &[u8]) -> Option<u32> {
    u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
}

fn encode_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| StateError::InvalidValue {
        key: "session".to_owned(),
        reason: e.to_string(),
    })
}

fn decode_record(id: SessionId, bytes: &[u8]) -> Result<SessionRecord> {
    serde_json::from_slice(bytes).map_err(|e| StateError::Corrupt {
        scope: "session".to_owned(),
        key: format!("{RECORDS}{id}"),
        reason: e.to_string(),
    })
}

fn decode_checkpoint(id: SessionId, bytes: &[u8]) -> Result<Checkpoint> {
    serde_json::from_slice(bytes).map_err(|e| StateError::Corrupt {
        scope: "session".to_owned(),
        key: format!("{CHECKPOINTS}{id}"),
        reason: e.to_string(),
    })
}
