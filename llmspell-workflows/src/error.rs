//! The crate's error type.

use llmspell_storage::StorageError;

/// A result of this crate.
pub type Result<T, E = WorkflowError> = std::result::Result<T, E>;

/// What can go wrong creating, running, resuming or listing workflows.
///
/// A step that fails, or a hook that cancels, is *not* an error of
/// [`WorkflowRuntime::execute`](crate::WorkflowRuntime::execute): the run
/// comes back as a [`WorkflowResult`](crate::WorkflowResult) with
/// `success = false`. These errors are for malformed definitions and for
/// the run store.
///
/// `Clone + Send + Sync`, so it crosses task and script-engine boundaries.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum WorkflowError {
    /// A workflow definition is malformed; `field` is the path of the field
    /// at fault (`steps[2].tool`, `branches[1].condition.expression`;
    /// indices count from 1, as script tables do).
    #[error("invalid workflow definition: `{field}`: {reason}")]
    InvalidDefinition {
        /// The field at fault.
        field: String,
        /// What was wrong and what is valid.
        reason: String,
    },

    /// No run with this id is in the run store.
    #[error("no workflow run `{run_id}` in the run store; `runs()` lists the known runs")]
    RunNotFound {
        /// The id that was looked up.
        run_id: String,
    },

    /// The run exists but cannot be resumed.
    #[error("workflow run `{run_id}` cannot be resumed: {reason}")]
    NotResumable {
        /// The run.
        run_id: String,
        /// Why (finished, running in this process, compensated, ...).
        reason: String,
    },

    /// No workflow of the run's name is defined in this runtime (resume
    /// needs the definition: create the workflow first).
    #[error("workflow `{name}` is not defined in this runtime; create it before resuming its runs (defined: [{defined}])")]
    UnknownWorkflow {
        /// The workflow name.
        name: String,
        /// Comma-separated names of the defined workflows.
        defined: String,
    },

    /// The workflow's definition changed since the run started, so the
    /// checkpoint does not describe it.
    #[error("workflow `{workflow}` changed since run `{run_id}` started (definition fingerprint {stored} now {current}); resume it with the definition it started with")]
    DefinitionChanged {
        /// The run.
        run_id: String,
        /// The workflow.
        workflow: String,
        /// The fingerprint stored with the run.
        stored: String,
        /// The fingerprint of the definition now.
        current: String,
    },

    /// A record in the run store could not be read.
    #[error("corrupt workflow run record `{key}`: {reason}")]
    Corrupt {
        /// The storage key.
        key: String,
        /// What was wrong.
        reason: String,
    },

    /// The run store failed.
    #[error("workflow run store: {0}")]
    Storage(#[from] StorageError),

    /// A runtime component could not be built.
    #[error("workflow runtime configuration: {0}")]
    Config(String),
}

impl WorkflowError {
    /// An [`InvalidDefinition`](Self::InvalidDefinition) error.
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        WorkflowError::InvalidDefinition {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The error a step, a condition or a script function reports; it ends up,
/// as text, in the `error` of a step record and of the run's result.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
