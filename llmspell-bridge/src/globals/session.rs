//! The `Session` global: the session of the current run.

use serde_json::{json, Value};

use super::{GlobalBinding, GlobalMetadata, GlobalObject};
use crate::error::{BridgeError, Result};
use crate::host::ScriptHost;

/// `Session.id() → id | nil`, `Session.checkpoint(name?) → {seq, name,
/// keys, created_at}`, `Session.info() → record | nil`.
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
            functions: &["id", "checkpoint", "info"],
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

    /// `Session.info()`: the session's record, `null` without a session.
    pub(crate) async fn info(&self, host: &ScriptHost) -> Result<Value> {
        let Some(session) = host.context().session() else {
            return Ok(Value::Null);
        };
        let record = session.sessions().get(session.id()).await?;
        Ok(serde_json::to_value(record).unwrap_or(Value::Null))
    }
}
