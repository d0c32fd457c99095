//! The `Session` global: the session of the current run.

use serde_json::{json, Value};

use super::{GlobalBinding, GlobalMetadata, GlobalObject};
use crate::error::{BridgeError, Result};
use crate::host::ScriptHost;

/// `Session.id() → id | nil` (also `Session.getCurrent()`, as
/// rs-llmspell names it), `Session.checkpoint(name?) → {seq, name, keys,
/// created_at, session_id}`, `Session.info() → record | nil` (this
/// session's), `Session.get(id) → record | nil`, `Session.list() →
/// records` (oldest first).
///
/// Every `llmspell run` is a session; an engine embedded without one has
/// none (`Session.id()` is nil and `Session.checkpoint` an error).
/// `Session.checkpoint` snapshots the `"session"` state scope (durable when
/// it returns); `llmspell run --resume` restores the last one.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionGlobal;

impl GlobalObject for SessionGlobal {
    fn metadata(&self) -> GlobalMetadata {
        GlobalMetadata {
            name: "Session",
            description: "The session of this run: its id, checkpoints of its state scope",
            functions: &["id", "getCurrent", "checkpoint", "info", "get", "list"],
        }
    }

    fn inject(&self, binding: &mut dyn GlobalBinding) -> Result<()> {
        binding.session(self)
    }
}

impl SessionGlobal {
    /// `Session.id()`.
    pub(crate) fn id(&self, host: &ScriptHost) -> Option<String> {
        host.context().session().map(|s| s.id().to_string())
    }

    /// `Session.checkpoint(name)`: the checkpoint's summary.
    pub(crate) async fn checkpoint(&self, host: &ScriptHost, name: Option<&str>) -> Result<Value> {
        let Some(session) = host.context().session() else {
            return Err(BridgeError::invalid(
                "Session.checkpoint",
                "no session is active (every `llmspell run` has one; an embedding application sets one with GlobalContext::set_session)",
            ));
        };
        let info = session.checkpoint(name).await?;
        Ok(json!({
            "seq": info.seq,
            "name": info.name,
            "keys": info.keys,
            "created_at": info.created_at.to_rfc3339(),
            "session_id": info.session.to_string(),
        }))
    }

    /// `Session.get(id)`: a recorded session, `null` when there is none.
    pub(crate) async fn get(&self, host: &ScriptHost, id: &str) -> Result<Value> {
        let id: llmspell_state::SessionId =
            id.parse().map_err(|e: llmspell_state::StateError| {
                BridgeError::invalid("Session.get", e.to_string())
            })?;
        let record = host.context().sessions().get(id).await?;
        Ok(serde_json::to_value(record).unwrap_or(Value::Null))
    }

    /// `Session.list()`: every recorded session, oldest first.
    pub(crate) async fn list(&self, host: &ScriptHost) -> Result<Value> {
        let records = host.context().sessions().list().await?;
        Ok(serde_json::to_value(records).unwrap_or(Value::Null))
    }

    /// `Session.info()`: the session's record, `null` without a session.
    pub(crate) async fn info(&self, host: &ScriptHost) -> Result<Value> {
        let Some(session) = host.context().session() else {
            return Ok(Value::Null);
        };
        let record = session.sessions().get(session.id()).await?;
        Ok(serde_json::to_value(record).unwrap_or(Value::Null))
    }
}
