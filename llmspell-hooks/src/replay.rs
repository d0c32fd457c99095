//! [`ReplayableHook`]: hooks whose executions can be recorded and replayed.

use crate::{Hook, HookContext, Result};

/// A hook whose executions (context in, result out) can be recorded and
/// replayed later against the same or a changed hook.
///
/// The defaults serialise the context as JSON; override them when a hook
/// needs to strip or restore something (e.g. secrets).
pub trait ReplayableHook: Hook {
    /// A stable id naming this hook across processes and versions, used as
    /// the key prefix of its recorded executions.
    fn replay_id(&self) -> String;

    /// The bytes recorded for a context.
    ///
    /// # Errors
    /// [`crate::HookError::Serialization`] when the context cannot be
    /// serialised.
    fn serialize_context(&self, ctx: &HookContext) -> Result<Vec<u8>> {
        Ok(serde_json::to_vec(ctx)?)
    }

    /// The context for recorded bytes.
    ///
    /// # Errors
    /// [`crate::HookError::Serialization`] when the bytes are not a
    /// serialised context.
    fn deserialize_context(&self, bytes: &[u8]) -> Result<HookContext> {
        Ok(serde_json::from_slice(bytes)?)
    }
}
