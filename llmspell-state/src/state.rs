//! [`State`]: the scoped, versioned key-value handle.

use std::fmt;
use std::sync::Arc;

use llmspell_events::{EventBus, UniversalEvent};
use llmspell_storage::{Batch, CasOutcome, StorageBackend, Update};
use serde_json::{json, Value};

use crate::key::validate_key;
use crate::migration::{Migration, Schemas};
use crate::record::{encode_tombstone, encode_value, Record, HEADER};
use crate::{Result, Scope, StateError};

/// The event type published after every change.
pub const STATE_CHANGED_EVENT: &str = "state.changed";

/// The storage key prefix of all state values.
const ROOT: &str = "state/";

/// A value with its version.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned {
    /// The value.
    pub value: Value,
    /// Its version: 1 for the first write of a key, one more for each
    /// later write (a delete counts as a write).
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
/// backend, never lose an update. See the crate docs for the whole model.
#[derive(Clone)]
pub struct State {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) storage: Arc<dyn StorageBackend>,
    pub(crate) max_value_bytes: usize,
    pub(crate) max_key_len: usize,
    pub(crate) events: Option<EventBus>,
    pub(crate) event_values: bool,
    pub(crate) schemas: Schemas,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("storage", &self.inner.storage.kind())
            .field("max_value_bytes", &self.inner.max_value_bytes)
            .field("max_key_len", &self.inner.max_key_len)
            .field("events", &self.inner.events.is_some())
            .field("event_values", &self.inner.event_values)
            .finish_non_exhaustive()
    }
}

/// The storage key of `key` in `scope`: `state/<scope>/<key>`. A scope
/// name never holds `/`, so the first `/` after the root ends it.
fn storage_key(scope: &Scope, key: &str) -> Vec<u8> {
    let mut out = String::with_capacity(ROOT.len() + 48 + key.len());
    out.push_str(ROOT);
    scope.write_to(&mut out);
    out.push('/');
    out.push_str(key);
    out.into_bytes()
}

impl State {
    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The storage backend.
    #[must_use]
    pub fn storage(&self) -> &Arc<dyn StorageBackend> {
        &self.inner.storage
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
    /// [`StateError::InvalidKey`]; migration errors
    /// ([`StateError::MissingMigration`], [`StateError::MigrationFailed`]);
    /// [`StateError::Corrupt`] for an unreadable record; storage errors.
    pub async fn get(&self, scope: &Scope, key: &str) -> Result<Option<Value>> {
        Ok(self.get_versioned(scope, key).await?.map(|v| v.value))
    }

    /// The value of `key` in `scope` with its version; see [`get`](Self::get).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn get_versioned(&self, scope: &Scope, key: &str) -> Result<Option<Versioned>> {
        validate_key(key, self.inner.max_key_len, false)?;
        let skey = storage_key(scope, key);
        loop {
            let Some(bytes) = self.inner.storage.get(&skey).await? else {
                return Ok(None);
            };
            let record = decode(&bytes, scope, key)?;
            let Some(json) = record.json else {
                return Ok(None);
            };
            let value = parse(json, scope, key)?;
            let Some(schema) = self.inner.schemas.lookup(key) else {
                return Ok(Some(Versioned {
                    value,
                    version: record.version,
                }));
            };
            let Some(plan) = schema.plan(key, record.schema)? else {
                return Ok(Some(Versioned {
                    value,
                    version: record.version,
                }));
            };
            let mut value = value;
            for step in plan {
                value = step.migration.migrate(value).await.map_err(|reason| {
                    StateError::MigrationFailed {
                        key: key.to_owned(),
                        prefix: schema.prefix.clone(),
                        from: step.from,
                        to: step.to,
                        reason,
                    }
                })?;
            }
            let json = self.encode_checked(&value, scope, key)?;
            // Written back at the same version, and only over the exact
            // record that was migrated: a concurrent write wins, and the
            // read starts again from it.
            let migrated = encode_value(record.version, schema.current, &json);
            match self
                .inner
                .storage
                .compare_and_swap(&skey, Some(&bytes), Some(&migrated))
                .await?
            {
                CasOutcome::Swapped => {
                    return Ok(Some(Versioned {
                        value,
                        version: record.version,
                    }))
                }
                CasOutcome::Conflict { .. } => continue,
            }
        }
    }

    /// The version of `key` in `scope` (0: absent or deleted).
    ///
    /// # Errors
    /// [`StateError::InvalidKey`], [`StateError::Corrupt`], storage errors.
    pub async fn version(&self, scope: &Scope, key: &str) -> Result<u64> {
        validate_key(key, self.inner.max_key_len, false)?;
        match self.inner.storage.get(&storage_key(scope, key)).await? {
            None => Ok(0),
            Some(bytes) => Ok(decode(&bytes, scope, key)?.visible_version()),
        }
    }

    /// Stores `value` under `key` in `scope`; returns its new version.
    ///
    /// # Errors
    /// [`StateError::InvalidKey`], [`StateError::ValueTooLarge`], storage
    /// errors.
    pub async fn set(&self, scope: &Scope, key: &str, value: Value) -> Result<u64> {
        validate_key(key, self.inner.max_key_len, false)?;
        let json = self.encode_checked(&value, scope, key)?;
        let schema = self.inner.schemas.current(key);
        let skey = storage_key(scope, key);
        let mut version = 0;
        self.inner
            .storage
            .update(&skey, &mut |current| {
                version = previous_version(current, scope, key) + 1;
                Update::Set(encode_value(version, schema, &json))
            })
            .await?;
        self.changed(scope, key, version, "set", Some(&value)).await;
        Ok(version)
    }

    /// Writes `value` only if `key` is at `expected_version` (0: absent),
    /// atomically: of several writers expecting the same version exactly one
    /// succeeds.
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
        let json = self.encode_checked(&value, scope, key)?;
        let schema = self.inner.schemas.current(key);
        let skey = storage_key(scope, key);
        let mut outcome = CompareAndSet::Conflict { current_version: 0 };
        let mut corrupt = None;
        self.inner
            .storage
            .update(&skey, &mut |current| {
                corrupt = None;
                let (visible, raw) = match current.map(Record::decode) {
                    None => (0, 0),
                    Some(Ok(r)) => (r.visible_version(), r.version),
                    Some(Err(e)) => {
                        corrupt = Some(e);
                        return Update::Keep;
                    }
                };
                if visible == expected_version {
                    outcome = CompareAndSet::Set { version: raw + 1 };
                    Update::Set(encode_value(raw + 1, schema, &json))
                } else {
                    outcome = CompareAndSet::Conflict {
                        current_version: visible,
                    };
                    Update::Keep
                }
            })
            .await?;
        if let Some(reason) = corrupt {
            return Err(corrupt_error(scope, key, reason));
        }
        if let CompareAndSet::Set { version } = outcome {
            self.changed(scope, key, version, "set", Some(&value)).await;
        }
        Ok(outcome)
    }

    /// Removes `key` from `scope`; returns whether it held a value.
    ///
    /// The key keeps a small tombstone with its version, so a later write
    /// continues its version count (a compare-and-set that saw the deleted
    /// value can never succeed against a re-created key).
    ///
    /// # Errors
    /// [`StateError::InvalidKey`], storage errors.
    pub async fn delete(&self, scope: &Scope, key: &str) -> Result<bool> {
        validate_key(key, self.inner.max_key_len, false)?;
        let skey = storage_key(scope, key);
        let mut deleted = None;
        self.inner
            .storage
            .update(&skey, &mut |current| {
                deleted = None;
                match current.map(Record::decode) {
                    Some(Ok(r)) if r.json.is_some() => {
                        deleted = Some(r.version + 1);
                        Update::Set(encode_tombstone(r.version + 1))
                    }
                    // A corrupt record goes: nothing can read it anyway.
                    Some(Err(_)) => {
                        deleted = Some(0);
                        Update::Delete
                    }
                    _ => Update::Keep,
                }
            })
            .await?;
        match deleted {
            Some(version) => {
                self.changed(scope, key, version, "delete", None).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The keys in `scope` starting with `prefix` (all for `""`), in byte
    /// order.
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

    /// Every value in `scope` under `prefix`, as stored (not migrated), in
    /// key order.
    ///
    /// # Errors
    /// As [`list`](Self::list), plus [`StateError::Corrupt`].
    pub async fn scan(&self, scope: &Scope, prefix: &str) -> Result<Vec<StoredValue>> {
        validate_key(prefix, self.inner.max_key_len, true)?;
        let skey = storage_key(scope, prefix);
        let base = skey.len() - prefix.len();
        let entries = self.inner.storage.scan_prefix(&skey, None).await?;
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let key = String::from_utf8_lossy(&k[base..]).into_owned();
            let record = decode(&v, scope, &key)?;
            if let Some(json) = record.json {
                out.push(StoredValue {
                    value: parse(json, scope, &key)?,
                    key,
                    version: record.version,
                    schema: record.schema,
                });
            }
        }
        Ok(out)
    }

    /// Makes `scope` hold exactly `values` (keys, values and schema stamps):
    /// keys not among them are deleted, the others written (each one more
    /// version, so compare-and-set stays sound). Used to restore a session
    /// checkpoint. Not atomic as a whole: a concurrent writer may see part.
    ///
    /// # Errors
    /// [`StateError::InvalidKey`], [`StateError::ValueTooLarge`],
    /// [`StateError::Corrupt`], storage errors.
    pub async fn replace_scope(&self, scope: &Scope, values: &[StoredValue]) -> Result<()> {
        let keep: std::collections::HashSet<&str> = values.iter().map(|v| v.key.as_str()).collect();
        for key in self.list(scope, "").await? {
            if !keep.contains(key.as_str()) {
                self.delete(scope, &key).await?;
            }
        }
        for stored in values {
            validate_key(&stored.key, self.inner.max_key_len, false)?;
            let json = self.encode_checked(&stored.value, scope, &stored.key)?;
            let skey = storage_key(scope, &stored.key);
            let mut version = 0;
            self.inner
                .storage
                .update(&skey, &mut |current| {
                    version = previous_version(current, scope, &stored.key) + 1;
                    Update::Set(encode_value(version, stored.schema, &json))
                })
                .await?;
            self.changed(scope, &stored.key, version, "set", Some(&stored.value))
                .await;
        }
        Ok(())
    }

    /// Removes every key of `scope`, tombstones included (nothing of the
    /// scope is left); returns how many values it held.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn drop_scope(&self, scope: &Scope) -> Result<usize> {
        let skey = storage_key(scope, "");
        let entries = self.inner.storage.scan_prefix(&skey, None).await?;
        let live = entries
            .iter()
            .filter(|(_, v)| Record::decode(v).is_ok_and(|r| r.json.is_some()))
            .count();
        let mut batch = Batch::new();
        for (k, _) in entries {
            batch.delete(k);
        }
        self.inner.storage.apply_batch(batch).await?;
        Ok(live)
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

    /// `value` as JSON bytes, within the size limit.
    fn encode_checked(&self, value: &Value, scope: &Scope, key: &str) -> Result<Vec<u8>> {
        let json = serde_json::to_vec(value).map_err(|e| StateError::InvalidValue {
            key: key.to_owned(),
            reason: e.to_string(),
        })?;
        if json.len() > self.inner.max_value_bytes {
            return Err(StateError::ValueTooLarge {
                scope: scope.to_string(),
                key: key.to_owned(),
                size: json.len(),
                limit: self.inner.max_value_bytes,
            });
        }
        Ok(json)
    }

    /// Publishes `state.changed` when a bus is configured. A publishing
    /// failure is logged, never turned into a failed write: the write
    /// happened.
    async fn changed(
        &self,
        scope: &Scope,
        key: &str,
        version: u64,
        operation: &str,
        value: Option<&Value>,
    ) {
        let Some(bus) = &self.inner.events else {
            return;
        };
        let mut data = json!({
            "scope": scope.to_string(),
            "key": key,
            "version": version,
            "operation": operation,
        });
        if self.inner.event_values {
            data["value"] = value.cloned().unwrap_or(Value::Null);
        }
        let event = UniversalEvent::builder(STATE_CHANGED_EVENT)
            .data(data)
            .source("state")
            .build();
        if let Err(e) = bus.publish(event).await {
            tracing::warn!(%scope, key, error = %e, "state.changed event not delivered");
        }
    }
}

/// The stored version under `current` (0: absent). A corrupt record is
/// overwritten by the write (nothing could read it), starting over at 1;
/// logged.
fn previous_version(current: Option<&[u8]>, scope: &Scope, key: &str) -> u64 {
    match current.map(Record::decode) {
        None => 0,
        Some(Ok(r)) => r.version,
        Some(Err(reason)) => {
            tracing::warn!(%scope, key, reason, "overwriting an unreadable state record");
            0
        }
    }
}

fn decode<'a>(bytes: &'a [u8], scope: &Scope, key: &str) -> Result<Record<'a>> {
    Record::decode(bytes).map_err(|reason| corrupt_error(scope, key, reason))
}

fn parse(json: &[u8], scope: &Scope, key: &str) -> Result<Value> {
    serde_json::from_slice(json).map_err(|e| {
        corrupt_error(
            scope,
            key,
            format!("its value (after the {HEADER}-byte header) is not JSON: {e}"),
        )
    })
}

#[cold]
fn corrupt_error(scope: &Scope, key: &str, reason: String) -> StateError {
    StateError::Corrupt {
        scope: scope.to_string(),
        key: key.to_owned(),
        reason,
    }
}
