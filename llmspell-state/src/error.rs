//! The state error type.

use llmspell_storage::StorageError;

/// A state result.
pub type Result<T, E = StateError> = std::result::Result<T, E>;

/// Everything that can go wrong in `llmspell-state`.
///
/// `Clone + Send + Sync`, so it crosses task and script-engine boundaries.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A key (or a list prefix) broke the key rule.
    #[error("invalid state key `{key}`: {reason}; {rule}")]
    InvalidKey {
        /// The key as given (shortened when very long).
        key: String,
        /// What is wrong with it.
        reason: String,
        /// The rule keys follow.
        rule: String,
    },

    /// A scope name was not one of the accepted forms.
    #[error("invalid state scope `{scope}`: {reason}; valid scopes are `global`, `session` (the current session), `session:<id>`, `script:<name>` and custom names; {rule}", rule = crate::scope::SCOPE_RULE)]
    InvalidScope {
        /// The scope as given.
        scope: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The `session` scope was used where no session is active.
    #[error("the `session` scope needs an active session, and there is none; use another scope or run inside a session (every `llmspell run` is one)")]
    NoSession,

    /// A value's JSON is over the configured size limit.
    #[error("value for `{key}` in scope `{scope}` is {size} bytes of JSON, over the limit of {limit} bytes; store less, or raise `max_value_bytes`")]
    ValueTooLarge {
        /// The scope.
        scope: String,
        /// The key.
        key: String,
        /// The value's size as JSON, in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },

    /// A value could not be represented as JSON (raised by the script
    /// bridges: functions, cyclic tables, NaN).
    #[error("value for `{key}` is not JSON data: {reason}; state values must be null, booleans, finite numbers, strings, arrays or objects with string keys")]
    InvalidValue {
        /// The key.
        key: String,
        /// What is wrong with the value.
        reason: String,
    },

    /// A stored record could not be decoded.
    #[error("stored state for `{key}` in scope `{scope}` is unreadable: {reason}")]
    Corrupt {
        /// The scope.
        scope: String,
        /// The key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A migration was registered with impossible versions.
    #[error("invalid migration for prefix `{prefix}`: {reason}")]
    InvalidMigration {
        /// The key prefix.
        prefix: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A stored value needs a migration step nobody registered.
    #[error("`{key}` is stored with schema {found} but prefix `{prefix}` is at schema {current}, and no migration starts at {found}; registered steps: {registered}")]
    MissingMigration {
        /// The key.
        key: String,
        /// The key prefix whose schema applies.
        prefix: String,
        /// The stored value's schema version.
        found: u32,
        /// The prefix's current schema version.
        current: u32,
        /// The registered steps (`from->to`, comma-separated, or `none`).
        registered: String,
    },

    /// A migration step failed.
    #[error("migrating `{key}` (prefix `{prefix}`) from schema {from} to {to} failed: {reason}")]
    MigrationFailed {
        /// The key.
        key: String,
        /// The key prefix.
        prefix: String,
        /// The step's source version.
        from: u32,
        /// The step's target version.
        to: u32,
        /// The migration's error.
        reason: String,
    },

    /// A session id was neither a UUID nor `latest`.
    #[error("invalid session id `{input}`: {reason}; use a session id as `llmspell sessions list` prints it, or `latest`")]
    InvalidSessionId {
        /// The text given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// No session with this id is recorded.
    #[error("no session `{id}` is recorded; `llmspell sessions list` shows the recorded ones")]
    SessionNotFound {
        /// The id (or `latest`).
        id: String,
    },

    /// A session has no checkpoint to restore.
    #[error("session `{id}` has no checkpoint to restore; a script takes one with `Session.checkpoint(name?)`")]
    NoCheckpoint {
        /// The session id.
        id: String,
    },

    /// A checkpoint name broke the naming rule.
    #[error("invalid checkpoint name `{name}`: {reason}; a name is 1 to 128 characters and has no control characters")]
    InvalidCheckpointName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A hook cancelled a state or session operation.
    #[error("{operation} of {target} was cancelled by hook `{hook}` at {point}: {reason}")]
    Cancelled {
        /// `read`, `write`, `migration`, `checkpoint` or `restore`.
        operation: &'static str,
        /// What it was on: ``"`key` in scope `global`"`` or ``"session `<id>`"``.
        target: String,
        /// The hook point.
        point: String,
        /// The hook.
        hook: String,
        /// The hook's reason.
        reason: String,
    },

    /// A hook asked for something a state operation cannot do (a redirect,
    /// or retries that never ended).
    #[error("{operation} of {target} failed in its hooks: {message}")]
    Hook {
        /// `read` or `write`.
        operation: &'static str,
        /// What it was on, as in [`StateError::Cancelled`].
        target: String,
        /// What went wrong.
        message: String,
    },

    /// A builder was given an impossible setting.
    #[error("invalid state configuration `{field}`: {reason}")]
    InvalidConfig {
        /// The setting.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// The storage backend failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}
