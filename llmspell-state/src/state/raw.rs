//! The storage side of [`State`]: each operation as it runs once the hooks
//! let it, on the records described in `record.rs`.

use llmspell_events::UniversalEvent;
use llmspell_hooks::{HookOutcome, HookPoint};
use llmspell_storage::{Batch, CasOutcome, Update};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{State, StoredValue, Versioned, STATE_CHANGED_EVENT};
use crate::record::{encode_tombstone, encode_value, Record, HEADER};
use crate::{Result, Scope, StateError};

/// The storage key prefix of all state values.
const ROOT: &str = "state/";

/// The storage key of `key` in `scope`: `state/<scope>/<key>`. A scope
/// name never holds `/`, so the first `/` after the root ends it.
pub(super) fn storage_key(scope: &Scope, key: &str) -> Vec<u8> {
    let mut out = String::with_capacity(ROOT.len() + 48 + key.len());
    out.push_str(ROOT);
    scope.write_to(&mut out);
    out.push('/');
    out.push_str(key);
    out.into_bytes()
}

/// What a compare-and-set found.
pub(super) enum RawCas {
    Set(u64),
    Conflict(u64),
}

impl State {
    /// Reads and, when its schema is old, migrates `key`.
    pub(super) async fn raw_get(&self, scope: &Scope, key: &str) -> Result<Option<Versioned>> {
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
            let version = record.version;
            let Some(schema) = self.inner.schemas.lookup(key) else {
                return Ok(Some(Versioned { value, version }));
            };
            let Some(plan) = schema.plan(key, record.schema)? else {
                return Ok(Some(Versioned { value, version }));
            };
            let from = plan.first().map_or(record.schema, |s| s.from);
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
            let value = self
                .migration_hook(scope, key, from, schema.current, value)
                .await?;
            let json = self.encode_checked(&value, scope, key)?;
            // Written back at the same version, and only over the exact
            // record that was migrated: a concurrent write wins, and the
            // read starts again from it.
            let migrated = encode_value(version, schema.current, &json);
            match self
                .inner
                .storage
                .compare_and_swap(&skey, Some(&bytes), Some(&migrated))
                .await?
            {
                CasOutcome::Swapped => return Ok(Some(Versioned { value, version })),
                CasOutcome::Conflict { .. } => continue,
            }
        }
    }

    /// Fires `StateMigration` for a migrated value: `modified` data changes
    /// the value, `cancel` fails the read.
    async fn migration_hook(
        &self,
        scope: &Scope,
        key: &str,
        from: u32,
        to: u32,
        value: Value,
    ) -> Result<Value> {
        let point = HookPoint::StateMigration;
        if !self.inner.hooks.has_hooks(&point) {
            return Ok(value);
        }
        let mut data = self.base_data(scope, key);
        data.insert("from".to_owned(), json!(from));
        data.insert("to".to_owned(), json!(to));
        data.insert("value".to_owned(), value);
        let (outcome, mut data) = self
            .inner
            .hooks
            .notify(point.clone(), self.component(scope), data)
            .await;
        if let HookOutcome::Cancelled { reason, hook } = outcome {
            return Err(StateError::Cancelled {
                operation: "migration",
                target: super::target(scope, key),
                point: point.to_string(),
                hook,
                reason,
            });
        }
        Ok(data.remove("value").unwrap_or(Value::Null))
    }

    /// The visible version of `key` (0: absent or deleted).
    pub(super) async fn raw_version(&self, scope: &Scope, key: &str) -> Result<u64> {
        match self.inner.storage.get(&storage_key(scope, key)).await? {
            None => Ok(0),
            Some(bytes) => Ok(decode(&bytes, scope, key)?.visible_version()),
        }
    }

    /// Writes `value` at the next version; returns it.
    pub(super) async fn raw_set(
        &self,
        scope: &Scope,
        key: &str,
        value: &Value,
        schema: Option<u32>,
        correlation: Option<Uuid>,
    ) -> Result<u64> {
        let json = self.encode_checked(value, scope, key)?;
        let schema = schema.unwrap_or_else(|| self.inner.schemas.current(key));
        let skey = storage_key(scope, key);
        let mut version = 0;
        self.inner
            .storage
            .update(&skey, &mut |current| {
                version = previous_version(current, scope, key) + 1;
                Update::Set(encode_value(version, schema, &json))
            })
            .await?;
        self.changed(scope, key, version, "set", Some(value), correlation)
            .await;
        Ok(version)
    }

    /// Writes `value` only at `expected` (0: absent).
    pub(super) async fn raw_compare_and_set(
        &self,
        scope: &Scope,
        key: &str,
        expected: u64,
        value: &Value,
        correlation: Option<Uuid>,
    ) -> Result<RawCas> {
        let json = self.encode_checked(value, scope, key)?;
        let schema = self.inner.schemas.current(key);
        let skey = storage_key(scope, key);
        let mut outcome = RawCas::Conflict(0);
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
                if visible == expected {
                    outcome = RawCas::Set(raw + 1);
                    Update::Set(encode_value(raw + 1, schema, &json))
                } else {
                    outcome = RawCas::Conflict(visible);
                    Update::Keep
                }
            })
            .await?;
        if let Some(reason) = corrupt {
            return Err(corrupt_error(scope, key, reason));
        }
        if let RawCas::Set(version) = outcome {
            self.changed(scope, key, version, "set", Some(value), correlation)
                .await;
        }
        Ok(outcome)
    }

    /// Leaves a tombstone one version on; returns whether a value was there.
    pub(super) async fn raw_delete(
        &self,
        scope: &Scope,
        key: &str,
        correlation: Option<Uuid>,
    ) -> Result<bool> {
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
                self.changed(scope, key, version, "delete", None, correlation)
                    .await;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Every live value of `scope` under `prefix`, as stored.
    pub(super) async fn raw_scan(&self, scope: &Scope, prefix: &str) -> Result<Vec<StoredValue>> {
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

    /// Removes every key of `scope`, tombstones included.
    pub(super) async fn raw_drop_scope(&self, scope: &Scope) -> Result<usize> {
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

    /// `value` as JSON bytes, within the size limit.
    pub(super) fn encode_checked(
        &self,
        value: &Value,
        scope: &Scope,
        key: &str,
    ) -> Result<Vec<u8>> {
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
        correlation: Option<Uuid>,
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
        let mut event = UniversalEvent::builder(STATE_CHANGED_EVENT)
            .data(data)
            .source("state");
        if let Some(language) = self.language {
            event = event.language(language);
        }
        if let Some(id) = correlation {
            event = event.correlation_id(id);
        }
        if let Err(e) = bus.publish(event.build()).await {
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
