//! [`State`]: the scoped, versioned key-value handle, each operation run
//! between its hook points.

mod raw;

use std::fmt;
use std::sync::Arc;

use llmspell_events::{EventBus, Language};
use llmspell_hooks::{
    current_correlation_id, AfterStep, ComponentId, ComponentType, HookData, HookPoint, Hooks,
    OperationError, OperationRun, ResultSource, Step,
};
use llmspell_storage::StorageBackend;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::key::validate_key;
use crate::migration::{Migration, Schemas};
use crate::{Result, Scope, StateError};
use raw::RawCas;

const BEFORE_READ: HookPoint = HookPoint::BeforeStateRead;
const AFTER_READ: HookPoint = HookPoint::AfterStateRead;
const BEFORE_WRITE: HookPoint = HookPoint::BeforeStateWrite;
const AFTER_WRITE: HookPoint = HookPoint::AfterStateWrite;

/// The event type published after every change.
pub const STATE_CHANGED_EVENT: &str = "state.changed";

/// A value with its version.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned {
    /// The value.
    pub value: Value,
    /// Its version: 1 for the first write of a key, one more for each
    /// later write (a delete counts as a write). 0 for a value a hook
    /// supplied without the store.
    pub version: u64,
}

/// What [`State::compare_and_set`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a conflict means nothing was written"]
pub enum CompareAndSet {
    /// The key was at the expected version; the value is written at
    /// `version`.
    Set {
        /// The new version.
        version: u64,
    },
    /// The key was at another version; nothing was written.
    Conflict {
        /// The version the key is at (0: absent).
        current_version: u64,
    },
}

/// A stored value as a checkpoint keeps it: the JSON and its schema stamp.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredValue {
    /// The key inside its scope.
    pub key: String,
    /// The value.
    pub value: Value,
    /// Its version when it was read.
    pub version: u64,
    /// The schema version it was written with (0: none).
    #[serde(default)]
    pub schema: u32,
}

/// Persistent key-value state in [`Scope`]s, on any
/// [`StorageBackend`]. Cloning is cheap and shares everything.
///
/// Every value has a version (1 on first write, +1 per write), which
/// [`compare_and_set`](Self::compare_and_set) checks atomically in the
/// backend, so writers in several tasks, or several `State` handles on one
/// backend, never lose an update.
///
/// Reads and writes run through their hook points (`BeforeStateRead`,
/// `AfterStateRead`, `BeforeStateWrite`, `AfterStateWrite`; data keys
/// `scope`, `key`, `value`, `version`, `operation`) with
/// [`Hooks::operation`], so every hook result has its usual effect; a lost
/// compare-and-set fires `StateConflict` and a migration `StateMigration`.
/// See the crate docs for the whole model.
#[derive(Clone)]
pub struct State {
    inner: Arc<Inner>,
    language: Option<Language>,
}

pub(crate) struct Inner {
    pub(crate) storage: Arc<dyn StorageBackend>,
    pub(crate) max_value_bytes: usize,
    pub(crate) max_key_len: usize,
    pub(crate) events: Option<EventBus>,
    pub(crate) event_values: bool,
    pub(crate) schemas: Schemas,
    pub(crate) hooks: Hooks,
    /// The component uuid of this state in hook contexts.
    pub(crate) id: Uuid,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("storage", &self.inner.storage.kind())
            .field("max_value_bytes", &self.inner.max_value_bytes)
            .field("max_key_len", &self.inner.max_key_len)
            .field("events", &self.inner.events.is_some())
            .field("event_values", &self.inner.event_values)
            .field("language", &self.language)
            .finish_non_exhaustive()
    }
}

/// The state's own error inside a hooked compare-and-set: a lost race is
/// not a failure for the caller, but it must not reach `AfterStateWrite`.
#[derive(Debug)]
enum CasError {
    State(StateError),
    Conflict(u64),
}

impl fmt::Display for CasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CasError::State(e) => e.fmt(f),
            CasError::Conflict(v) => write!(f, "the key is at version {v}"),
        }
    }
}

impl State {
    pub(crate) fn from_inner(inner: Inner) -> Self {
        inner.hooks.registry().declare_fired(
            [
                HookPoint::BeforeStateRead,
                HookPoint::AfterStateRead,
                HookPoint::BeforeStateWrite,
                HookPoint::AfterStateWrite,
                HookPoint::StateConflict,
                HookPoint::StateMigration,
            ],
            "the state store (llmspell-state)",
        );
        Self {
            inner: Arc::new(inner),
            language: None,
        }
    }

    /// This state as used from `language`: hook contexts and events of its
    /// operations carry it (the script bridges use this). Shares
    /// everything with `self`.
    #[must_use]
    pub fn with_language(&self, language: Language) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            language: Some(language),
        }
    }

    /// The storage backend.
    #[must_use]
    pub fn storage(&self) -> &Arc<dyn StorageBackend> {
        &self.inner.storage
    }

    /// The hooks the operations run under.
    #[must_use]
    pub fn hooks(&self) -> &Hooks {
        &self.inner.hooks
    }

    /// The largest value accepted, in bytes of JSON.
    #[must_use]
    pub fn max_value_bytes(&self) -> usize {
        self.inner.max_value_bytes
    }

    /// The longest key accepted, in bytes.
    #[must_use]
    pub fn max_key_len(&self) -> usize {
        self.inner.max_key_len
    }

    /// The event bus changes are published on, if any.
    #[must_use]
    pub fn events(&self) -> Option<&EventBus> {
        self.inner.events.as_ref()
    }

    /// The value of `key` in `scope`, migrated to its prefix's current
    /// schema if it was stored with an older one.
    ///
    /// # Errors
    /// [`StateError::InvalidKey`]; [`StateError::Cancelled`] by a hook;
    /// migration errors ([`StateError::MissingMigration`],
    /// [`StateError::MigrationFailed`]); [`StateError::Corrupt`] for an
    /// unreadable record; storage errors.
    pub async fn get(&self, scope: &Scope, key: &str) -> Result<Option<Value>> {
        Ok(self.get_versioned(scope, key).await?.map(|v| v.value))
    }

    /// The value of `key` in `scope` with its version; see [`get`](Self::get).
    ///
    /// Hooks: `BeforeStateRead` (`scope`, `key`; `replace` answers without
    /// the store, `cancel` refuses), `AfterStateRead` (`scope`, `key`,
    /// `value`, `version`; `modified` changes the value returned).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn get_versioned(&self, scope: &Scope, key: &str) -> Result<Option<Versioned>> {
        validate_key(key, self.inner.max_key_len, false)?;
        if !self.observed(&BEFORE_READ, &AFTER_READ) {
            return self.raw_get(scope, key).await;
        }
        let nested = self.inner.schemas.any();
        let mut run = self
            .operation::<StateError>(scope, key, "get")
            .before(HookPoint::BeforeStateRead)
            .after(HookPoint::AfterStateRead)
            .input("version", Value::Null)
            .output_key("value")
            .operation_type("state_read")
            .nested(nested)
            .start();
        let mut found = None;
        let outcome = self.drive_read(&mut run, scope, key, &mut found).await;
        let done = run
            .complete(outcome)
            .await
            .map_err(|e| hook_failure("read", scope, key, e))?;
        let absent = found.is_none();
        let version = found.map_or(0, |v| v.version);
        if done.value.is_null() && (absent || done.source != ResultSource::Executed) {
            return Ok(None);
        }
        Ok(Some(Versioned {
            value: done.value,
            version,
        }))
    }

    /// Before, the read (again for a retry), after: the standard loop,
    /// driven here because the version read with the value joins the data
    /// of `AfterStateRead`.
    async fn drive_read(
        &self,
        run: &mut OperationRun<'_, StateError>,
        scope: &Scope,
        key: &str,
        found: &mut Option<Versioned>,
    ) -> std::result::Result<(Value, ResultSource), OperationError<StateError>> {
        'before: loop {
            match run.before(&HookPoint::BeforeStateRead).await? {
                Step::Go => {}
                Step::Finish(value, source) => return Ok((value, source)),
                Step::Redirect(target) => {
                    run.redirect(target)?;
                    continue 'before;
                }
            }
            loop {
                let read = run
                    .execute(async {
                        let read = self.raw_get(scope, key).await?;
                        let value = read.as_ref().map_or(Value::Null, |v| v.value.clone());
                        *found = read;
                        Ok(value)
                    })
                    .await
                    .map_err(OperationError::Failed)?;
                run.set_input(json!(found.as_ref().map_or(0, |v| v.version)));
                match run.after(&HookPoint::AfterStateRead, read).await? {
                    AfterStep::Done(value, source) => return Ok((value, source)),
                    AfterStep::Rerun => continue,
                    AfterStep::Redirect(target) => {
                        run.redirect(target)?;
                        continue 'before;
                    }
                }
            }
        }
    }

    /// The version of `key` in `scope` (0: absent or deleted). Not hooked:
    /// it reads no value.
    ///
    /// # Errors
    /// [`StateError::InvalidKey`], [`StateError::Corrupt`], storage errors.
    pub async fn version(&self, scope: &Scope, key: &str) -> Result<u64> {
        validate_key(key, self.inner.max_key_len, false)?;
        self.raw_version(scope, key).await
    }

    /// Stores `value` under `key` in `scope`; returns its new version.
    ///
    /// Hooks: `BeforeStateWrite` (`scope`, `key`, `value`, `operation`
    /// `"set"`; `modified` changes the value written, `cancel` refuses,
    /// `replace` skips the write and returns the replacement as the
    /// version, 0 unless it is a number), `AfterStateWrite` (plus the new
    /// `version`).
    ///
    /// # Errors
    /// [`StateError::InvalidKey`], [`StateError::ValueTooLarge`],
    /// [`StateError::Cancelled`], storage errors.
    pub async fn set(&self, scope: &Scope, key: &str, value: Value) -> Result<u64> {
        validate_key(key, self.inner.max_key_len, false)?;
        if !self.observed(&BEFORE_WRITE, &AFTER_WRITE) {
            return self
                .raw_set(scope, key, &value, None, current_correlation_id())
                .await;
        }
        let done = self
            .operation::<StateError>(scope, key, "set")
            .before(HookPoint::BeforeStateWrite)
            .after(HookPoint::AfterStateWrite)
            .input("value", value)
            .output_key("version")
            .operation_type("state_write")
            .nested(false)
            .run(|call| async move {
                self.raw_set(scope, key, &call.input, None, Some(call.correlation_id))
                    .await
                    .map(Value::from)
            })
            .await
            .map_err(|e| hook_failure("write", scope, key, e))?;
        Ok(done.value.as_u64().unwrap_or(0))
    }

    /// Writes `value` only if `key` is at `expected_version` (0: absent),
    /// atomically: of several writers expecting the same version exactly one
    /// succeeds. A lost race fires `StateConflict` (`scope`, `key`,
    /// `value`, `expected_version`, `current_version`).
    ///
    /// Hooks: as [`set`](Self::set), with `operation` `"compare_and_set"`
    /// and `expected_version`; `AfterStateWrite` only when the write
    /// happened.
    ///
    /// # Errors
    /// As [`set`](Self::set). A lost race is not an error but
    /// [`CompareAndSet::Conflict`].
    pub async fn compare_and_set(
        &self,
        scope: &Scope,
        key: &str,
        expected_version: u64,
        value: Value,
    ) -> Result<CompareAndSet> {
        validate_key(key, self.inner.max_key_len, false)?;
        if !self.observed(&BEFORE_WRITE, &AFTER_WRITE) {
            let raw = self
                .raw_compare_and_set(
                    scope,
                    key,
                    expected_version,
                    &value,
                    current_correlation_id(),
                )
                .await?;
            return Ok(match raw {
                RawCas::Set(version) => CompareAndSet::Set { version },
                RawCas::Conflict(current) => {
                    self.conflict_hook(scope, key, expected_version, current)
                        .await;
                    CompareAndSet::Conflict {
                        current_version: current,
                    }
                }
            });
        }
        let outcome = self
            .operation::<CasError>(scope, key, "compare_and_set")
            .before(HookPoint::BeforeStateWrite)
            .after(HookPoint::AfterStateWrite)
            .data("expected_version", json!(expected_version))
            .input("value", value)
            .output_key("version")
            .operation_type("state_write")
            .nested(false)
            .run(|call| async move {
                match self
                    .raw_compare_and_set(
                        scope,
                        key,
                        expected_version,
                        &call.input,
                        Some(call.correlation_id),
                    )
                    .await
                {
                    Ok(RawCas::Set(version)) => Ok(Value::from(version)),
                    Ok(RawCas::Conflict(current)) => Err(CasError::Conflict(current)),
                    Err(e) => Err(CasError::State(e)),
                }
            })
            .await;
        match outcome {
            Ok(done) => Ok(CompareAndSet::Set {
                version: done.value.as_u64().unwrap_or(0),
            }),
            Err(OperationError::Failed(CasError::Conflict(current))) => {
                self.conflict_hook(scope, key, expected_version, current)
                    .await;
                Ok(CompareAndSet::Conflict {
                    current_version: current,
                })
            }
            Err(OperationError::Failed(CasError::State(e))) => Err(e),
            Err(e) => Err(hook_failure(
                "write",
                scope,
                key,
                e.map_err(|e| match e {
                    CasError::State(e) => e,
                    CasError::Conflict(v) => StateError::InvalidValue {
                        key: key.to_owned(),
                        reason: format!("unexpected conflict at version {v}"),
                    },
                }),
            )),
        }
    }

    async fn conflict_hook(&self, scope: &Scope, key: &str, expected: u64, current: u64) {
        let point = HookPoint::StateConflict;
        if !self.inner.hooks.has_hooks(&point) {
            return;
        }
        let mut data = self.base_data(scope, key);
        data.insert("expected_version".to_owned(), json!(expected));
        data.insert("current_version".to_owned(), json!(current));
        // Observation only: the write already lost.
        let _ = self
            .inner
            .hooks
            .notify(point, self.component(scope), data)
            .await;
    }

    /// Removes `key` from `scope`; returns whether it held a value.
    ///
    /// The key keeps a small tombstone with its version, so a later write
    /// continues its version count (a compare-and-set that saw the deleted
    /// value can never succeed against a re-created key).
    ///
    /// Hooks: `BeforeStateWrite` / `AfterStateWrite` with `operation`
    /// `"delete"`, `value` null and, after, `deleted`; `cancel` refuses.
    ///
    /// # Errors
    /// [`StateError::InvalidKey`], [`StateError::Cancelled`], storage
    /// errors.
    pub async fn delete(&self, scope: &Scope, key: &str) -> Result<bool> {
        validate_key(key, self.inner.max_key_len, false)?;
        if !self.observed(&BEFORE_WRITE, &AFTER_WRITE) {
            return self.raw_delete(scope, key, current_correlation_id()).await;
        }
        let done = self
            .operation::<StateError>(scope, key, "delete")
            .before(HookPoint::BeforeStateWrite)
            .after(HookPoint::AfterStateWrite)
            .input("value", Value::Null)
            .output_key("deleted")
            .operation_type("state_write")
            .nested(false)
            .run(|call| async move {
                self.raw_delete(scope, key, Some(call.correlation_id))
                    .await
                    .map(Value::Bool)
            })
            .await
            .map_err(|e| hook_failure("write", scope, key, e))?;
        Ok(done.value.as_bool().unwrap_or(false))
    }

    /// The keys in `scope` starting with `prefix` (all for `""`), in byte
    /// order. Not hooked (it reads no value).
    ///
    /// # Errors
    /// [`StateError::InvalidKey`] for a prefix breaking the key rule;
    /// storage errors.
    pub async fn list(&self, scope: &Scope, prefix: &str) -> Result<Vec<String>> {
        Ok(self
            .scan(scope, prefix)
            .await?
            .into_iter()
            .map(|v| v.key)
            .collect())
    }

    /// Every value in `scope` under `prefix`, as stored (not migrated, not
    /// hooked), in key order.
    ///
    /// # Errors
    /// As [`list`](Self::list), plus [`StateError::Corrupt`].
    pub async fn scan(&self, scope: &Scope, prefix: &str) -> Result<Vec<StoredValue>> {
        validate_key(prefix, self.inner.max_key_len, true)?;
        self.raw_scan(scope, prefix).await
    }

    /// Makes `scope` hold exactly `values` (keys, values and schema stamps):
    /// keys not among them are deleted, the others written (each one more
    /// version, so compare-and-set stays sound). Used to restore a session
    /// checkpoint, which is hooked as a whole (`SessionRestore`); the
    /// single writes are not. Not atomic as a whole: a concurrent reader
    /// may see part.
    ///
    /// # Errors
    /// [`StateError::InvalidKey`], [`StateError::ValueTooLarge`],
    /// [`StateError::Corrupt`], storage errors.
    pub async fn replace_scope(&self, scope: &Scope, values: &[StoredValue]) -> Result<()> {
        for stored in values {
            validate_key(&stored.key, self.inner.max_key_len, false)?;
        }
        let keep: std::collections::HashSet<&str> = values.iter().map(|v| v.key.as_str()).collect();
        for stored in self.raw_scan(scope, "").await? {
            if !keep.contains(stored.key.as_str()) {
                self.raw_delete(scope, &stored.key, None).await?;
            }
        }
        for stored in values {
            self.raw_set(scope, &stored.key, &stored.value, Some(stored.schema), None)
                .await?;
        }
        Ok(())
    }

    /// Removes every key of `scope`, tombstones included (nothing of the
    /// scope is left); returns how many values it held. Not hooked.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn drop_scope(&self, scope: &Scope) -> Result<usize> {
        self.raw_drop_scope(scope).await
    }

    /// Registers a migration step `from -> to` for keys starting with
    /// `prefix` (in every scope); the prefix's schema becomes at least `to`.
    /// A step from the same `from` replaces the earlier one.
    ///
    /// # Errors
    /// [`StateError::InvalidMigration`] unless `from < to`;
    /// [`StateError::InvalidKey`] for a prefix breaking the key rule.
    pub fn register_migration(
        &self,
        prefix: &str,
        from: u32,
        to: u32,
        migration: impl Migration + 'static,
    ) -> Result<()> {
        self.register_migration_arc(prefix, from, to, Arc::new(migration))
    }

    /// [`register_migration`](Self::register_migration) for a shared
    /// migration (what the script bridges hold).
    ///
    /// # Errors
    /// As [`register_migration`](Self::register_migration).
    pub fn register_migration_arc(
        &self,
        prefix: &str,
        from: u32,
        to: u32,
        migration: Arc<dyn Migration>,
    ) -> Result<()> {
        validate_key(prefix, self.inner.max_key_len, true)?;
        self.inner.schemas.register(prefix, from, to, migration)
    }

    /// Declares keys starting with `prefix` to be at schema `version`
    /// (without a migration; never lowers an earlier declaration).
    ///
    /// # Errors
    /// [`StateError::InvalidKey`] for a prefix breaking the key rule.
    pub fn declare_schema(&self, prefix: &str, version: u32) -> Result<()> {
        validate_key(prefix, self.inner.max_key_len, true)?;
        self.inner.schemas.declare(prefix, version);
        Ok(())
    }

    /// The schema version stamped on new writes of `key` (0: none).
    #[must_use]
    pub fn schema_version(&self, key: &str) -> u32 {
        self.inner.schemas.current(key)
    }

    /// Whether a hook is registered at either point of an operation. When
    /// none is, the operation has nothing to apply and runs directly: two
    /// atomic loads instead of building an operation and its context (the
    /// fast path the `state_hooked` bench measures). Events still carry the
    /// enclosing operation's correlation id.
    #[inline]
    fn observed(&self, before: &HookPoint, after: &HookPoint) -> bool {
        let hooks = &self.inner.hooks;
        hooks.has_hooks(before) || hooks.has_hooks(after)
    }

    /// The component of hook contexts: `custom:state`, named after the
    /// scope (so `RegisterOptions::matcher("script:*")` picks scopes).
    fn component(&self, scope: &Scope) -> ComponentId {
        ComponentId::with_id(
            ComponentType::Custom("state".to_owned()),
            scope.to_string(),
            self.inner.id,
        )
    }

    fn base_data(&self, scope: &Scope, key: &str) -> HookData {
        let mut data = HookData::new();
        data.insert("scope".to_owned(), Value::String(scope.to_string()));
        data.insert("key".to_owned(), Value::String(key.to_owned()));
        data
    }

    /// A hooked operation on `key` with the fixed data keys.
    fn operation<E>(
        &self,
        scope: &Scope,
        key: &str,
        operation: &'static str,
    ) -> llmspell_hooks::HookedOperation<'_, E> {
        let mut data = self.base_data(scope, key);
        data.insert("operation".to_owned(), Value::String(operation.to_owned()));
        let op = self
            .inner
            .hooks
            .operation(self.component(scope))
            .data_map(data);
        match self.language {
            Some(language) => op.language(language),
            None => op,
        }
    }
}

/// A failed hooked operation as a state error.
fn hook_failure(
    operation: &'static str,
    scope: &Scope,
    key: &str,
    err: OperationError<StateError>,
) -> StateError {
    match err {
        OperationError::Failed(e) => e,
        OperationError::Cancelled {
            point,
            hook,
            reason,
        } => StateError::Cancelled {
            operation,
            target: target(scope, key),
            point: point.to_string(),
            hook,
            reason,
        },
        other => StateError::Hook {
            operation,
            target: target(scope, key),
            message: other.to_string(),
        },
    }
}

/// `key` in `scope`, as errors name it.
pub(crate) fn target(scope: &Scope, key: &str) -> String {
    format!("`{key}` in scope `{scope}`")
}
