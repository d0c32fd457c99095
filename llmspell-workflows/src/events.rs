//! The lifecycle events a run publishes.

use llmspell_events::{EventBus, Language, UniversalEvent};
use serde_json::Value;
use uuid::Uuid;

/// A workflow (the run's, or a nested one) started: `workflow_name`,
/// `pattern`, `run_id`, `resumed`, `parent` (the enclosing workflow of a
/// nested one).
pub const EVENT_STARTED: &str = "workflow.started";
/// A step started: `workflow_name`, `run_id`, `step_name`, `step_index`,
/// `kind`, and `iteration` / `branch` where they apply.
pub const EVENT_STEP_STARTED: &str = "workflow.step.started";
/// A step completed: as [`EVENT_STEP_STARTED`] plus `duration_ms`.
pub const EVENT_STEP_COMPLETED: &str = "workflow.step.completed";
/// A step failed: as [`EVENT_STEP_STARTED`] plus `error`, `duration_ms`.
pub const EVENT_STEP_FAILED: &str = "workflow.step.failed";
/// A workflow succeeded: `workflow_name`, `pattern`, `run_id`,
/// `duration_ms`.
pub const EVENT_COMPLETED: &str = "workflow.completed";
/// A workflow failed or was cancelled: as [`EVENT_COMPLETED`] plus `error`.
pub const EVENT_FAILED: &str = "workflow.failed";

/// Publishes on an optional bus with the run's correlation id.
#[derive(Debug, Clone)]
pub(crate) struct Publisher {
    pub(crate) bus: Option<EventBus>,
    pub(crate) correlation_id: Uuid,
    pub(crate) language: Language,
}

impl Publisher {
    /// Whether anything is published (build event data only if so).
    #[inline]
    pub(crate) fn enabled(&self) -> bool {
        self.bus.is_some()
    }

    pub(crate) async fn publish(&self, event_type: &'static str, data: Value) {
        let Some(bus) = &self.bus else { return };
        let event = UniversalEvent::builder(event_type)
            .data(data)
            .language(self.language)
            .correlation_id(self.correlation_id)
            .source("llmspell-workflows")
            .build();
        if let Err(e) = bus.publish(event).await {
            tracing::warn!(event_type, error = %e, "could not publish a workflow lifecycle event");
        }
    }
}
