//! Per-call context handed to a tool.

use std::sync::OnceLock;

use uuid::Uuid;

/// Per-call information a tool may use (for tracing, auditing, or to pass on
/// to nested calls). Security settings are *not* here: they are fixed when a
/// tool is built, so a caller cannot widen them.
///
/// Clones and comparisons see the correlation id: a clone shares it even
/// when it had not been made yet.
#[derive(Debug)]
pub struct ToolContext {
    /// Made on first use when the caller did not set one.
    correlation_id: OnceLock<Uuid>,
    caller: Option<String>,
}

impl Clone for ToolContext {
    fn clone(&self) -> Self {
        Self {
            correlation_id: OnceLock::from(self.correlation_id()),
            caller: self.caller.clone(),
        }
    }
}

impl PartialEq for ToolContext {
    fn eq(&self, other: &Self) -> bool {
        self.correlation_id() == other.correlation_id() && self.caller == other.caller
    }
}

impl Eq for ToolContext {}

impl Default for ToolContext {
    fn default() -> Self {
        Self::new()
    }
}

impl ToolContext {
    /// A context with a fresh correlation id and no caller.
    #[must_use]
    pub fn new() -> Self {
        Self::lazy().with_correlation_id(Uuid::new_v4())
    }

    /// A context whose correlation id is made the first time it is asked
    /// for (a call nobody observes never pays for it).
    pub(crate) fn lazy() -> Self {
        Self {
            correlation_id: OnceLock::new(),
            caller: None,
        }
    }

    /// A context for one call of the hooked path.
    pub(crate) fn for_call(correlation_id: Uuid, caller: Option<String>) -> Self {
        Self {
            correlation_id: OnceLock::from(correlation_id),
            caller,
        }
    }

    /// Uses this correlation id (e.g. the hook context's).
    #[must_use]
    pub fn with_correlation_id(mut self, id: Uuid) -> Self {
        self.correlation_id = OnceLock::from(id);
        self
    }

    /// Names the component making the call (an agent, a workflow step, a
    /// script).
    #[must_use]
    pub fn with_caller(mut self, caller: impl Into<String>) -> Self {
        self.caller = Some(caller.into());
        self
    }

    /// The correlation id shared by everything this call causes.
    #[must_use]
    pub fn correlation_id(&self) -> Uuid {
        *self.correlation_id.get_or_init(Uuid::new_v4)
    }

    /// The calling component, if known.
    #[must_use]
    pub fn caller(&self) -> Option<&str> {
        self.caller.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lazy_id_is_made_once_and_shared_by_clones() {
        let ctx = ToolContext::lazy();
        let copy = ctx.clone();
        assert_eq!(ctx.correlation_id(), copy.correlation_id());
        assert_eq!(ctx, copy);
        assert_ne!(ToolContext::lazy(), ToolContext::lazy());
        let id = Uuid::new_v4();
        assert_eq!(
            ToolContext::new().with_correlation_id(id).correlation_id(),
            id
        );
    }
}
