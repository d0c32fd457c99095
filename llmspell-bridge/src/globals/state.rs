//! The `State` global: persistent scoped state through the context's
//! [`State`](llmspell_state::State), every read and write hooked.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use llmspell_state::{CompareAndSet, Migration, Scope, State};
use serde_json::Value;

use super::{GlobalBinding, GlobalMetadata, GlobalObject};
use crate::error::{BridgeError, Result};
use crate::host::ScriptHost;

/// `State.get(key, scope?)`, `State.set(key, value, scope?) → version`,
/// `State.delete(key, scope?) → existed`, `State.list(prefix?, scope?) →
/// keys`, `State.compare_and_set(key, expected_version, value, scope?) →
/// true | false, current_version`, `State.version(key, scope?)`,
/// `State.migrate(prefix, from, to, fn)`; and, as scripts written for
/// rs-llmspell call them, `State.save(scope, key, value)`,
/// `State.load(scope, key)` and `State.list_keys(scope)`.
///
/// The scope argument: `nil` or `"global"` (the default), `"session"` (the
/// current session's), `"script"` (this script's, `script:<file stem>`), or
/// any scope name (`"script:etl"`, `"agent:writer"`, `"session:<id>"`).
/// Values are JSON; a value with no JSON form (a function, a cyclic table)
/// is refused with an error naming the key and what is wrong.
#[derive(Debug, Clone, Copy, Default)]
pub struct StateGlobal;

/// A script function registered with `State.migrate`, called with the old
/// value, returning the new one (implemented by each language binding).
#[async_trait]
pub(crate) trait MigrationCallback: fmt::Debug + Send + Sync {
    /// Calls the function with `value` under `limit`.
    ///
    /// # Errors
    /// [`BridgeError::Timeout`] past `limit`, or the function's error.
    async fn call(&self, value: &Value, limit: Duration) -> Result<Value>;
}

/// A [`MigrationCallback`] as a [`Migration`] step of the state.
#[derive(Debug)]
struct ScriptMigration {
    callback: Arc<dyn MigrationCallback>,
    limit: Duration,
}

#[async_trait]
impl Migration for ScriptMigration {
    async fn migrate(&self, value: Value) -> std::result::Result<Value, String> {
        match self.callback.call(&value, self.limit).await {
            Ok(Value::Null) => Err(
                "the migration function returned nil; it must return the migrated value".to_owned(),
            ),
            Ok(v) => Ok(v),
            Err(e) => Err(e.to_string()),
        }
    }
}

impl GlobalObject for StateGlobal {
    fn metadata(&self) -> GlobalMetadata {
        GlobalMetadata {
            name: "State",
            description:
                "Persistent scoped state: versioned JSON values, compare-and-set, migrations",
            functions: &[
                "get",
                "set",
                "delete",
                "list",
                "compare_and_set",
                "version",
                "migrate",
                "save",
                "load",
                "list_keys",
            ],
        }
    }

    fn inject(&self, binding: &mut dyn GlobalBinding) -> Result<()> {
        binding.state(self)
    }
}

/// The state as this engine's language uses it.
fn state(host: &ScriptHost) -> State {
    host.context().state().with_language(host.language())
}

/// The scope a script names (see [`StateGlobal`]).
pub(crate) fn scope(host: &ScriptHost, function: &str, scope: Option<&str>) -> Result<Scope> {
    match scope {
        None | Some("global") => Ok(Scope::Global),
        Some("script") => {
            let name = script_scope_name(&host.script_name());
            Scope::script(name).map_err(BridgeError::from)
        }
        Some(s) => {
            let session = host.context().session().map(|s| s.id());
            Scope::parse_in(s, session).map_err(|e| BridgeError::invalid(function, e.to_string()))
        }
    }
}

/// A script's scope name: its file name without directories and the
/// extension, other characters than the scope rule allows replaced by `_`.
fn script_scope_name(script: &str) -> String {
    let file = script.rsplit(['/', '\\']).next().unwrap_or(script);
    let stem = file
        .strip_suffix(".lua")
        .or_else(|| file.strip_suffix(".js"))
        .unwrap_or(file);
    let name: String = stem
        .chars()
        .take(128)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "unnamed".to_owned()
    } else {
        name
    }
}

/// A version argument: a non-negative integer.
fn version_arg(function: &str, v: f64) -> Result<u64> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 9.007_199_254_740_992e15 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(v as u64)
    } else {
        Err(BridgeError::invalid(
            function,
            format!(
                "a version must be a whole number of 0 or more (0: the key is absent), got {v}"
            ),
        ))
    }
}

/// A schema version argument of `State.migrate`.
fn schema_arg(function: &str, what: &str, v: f64) -> Result<u32> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX) {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(v as u32)
    } else {
        Err(BridgeError::invalid(
            function,
            format!(
                "`{what}` must be a whole number from 0 to {}, got {v}",
                u32::MAX
            ),
        ))
    }
}

impl StateGlobal {
    /// `State.get(key, scope)`: the value, `null` when absent.
    pub(crate) async fn get(
        &self,
        host: &ScriptHost,
        key: &str,
        scope: Option<&str>,
    ) -> Result<Value> {
        let scope = self::scope(host, "State.get", scope)?;
        Ok(state(host).get(&scope, key).await?.unwrap_or(Value::Null))
    }

    /// `State.set(key, value, scope)`: the new version.
    pub(crate) async fn set(
        &self,
        host: &ScriptHost,
        key: &str,
        value: Value,
        scope: Option<&str>,
    ) -> Result<u64> {
        let scope = self::scope(host, "State.set", scope)?;
        Ok(state(host).set(&scope, key, value).await?)
    }

    /// `State.delete(key, scope)`: whether the key held a value.
    pub(crate) async fn delete(
        &self,
        host: &ScriptHost,
        key: &str,
        scope: Option<&str>,
    ) -> Result<bool> {
        let scope = self::scope(host, "State.delete", scope)?;
        Ok(state(host).delete(&scope, key).await?)
    }

    /// `State.list(prefix, scope)`: the keys, sorted.
    pub(crate) async fn list(
        &self,
        host: &ScriptHost,
        prefix: Option<&str>,
        scope: Option<&str>,
    ) -> Result<Vec<String>> {
        let scope = self::scope(host, "State.list", scope)?;
        Ok(state(host).list(&scope, prefix.unwrap_or("")).await?)
    }

    /// `State.compare_and_set(key, expected_version, value, scope)`:
    /// `(true, new_version)` or `(false, current_version)`.
    pub(crate) async fn compare_and_set(
        &self,
        host: &ScriptHost,
        key: &str,
        expected_version: f64,
        value: Value,
        scope: Option<&str>,
    ) -> Result<(bool, u64)> {
        let expected = version_arg("State.compare_and_set", expected_version)?;
        let scope = self::scope(host, "State.compare_and_set", scope)?;
        Ok(
            match state(host)
                .compare_and_set(&scope, key, expected, value)
                .await?
            {
                CompareAndSet::Set { version } => (true, version),
                CompareAndSet::Conflict { current_version } => (false, current_version),
            },
        )
    }

    /// `State.version(key, scope)`: 0 when absent.
    pub(crate) async fn version(
        &self,
        host: &ScriptHost,
        key: &str,
        scope: Option<&str>,
    ) -> Result<u64> {
        let scope = self::scope(host, "State.version", scope)?;
        Ok(state(host).version(&scope, key).await?)
    }

    /// `State.migrate(prefix, from, to, fn)`: registers the step; the
    /// function runs (under the per-call time limit of script callbacks)
    /// when an older value under `prefix` is read.
    pub(crate) fn migrate(
        &self,
        host: &ScriptHost,
        prefix: &str,
        from: f64,
        to: f64,
        callback: Arc<dyn MigrationCallback>,
    ) -> Result<()> {
        let from = schema_arg("State.migrate", "from", from)?;
        let to = schema_arg("State.migrate", "to", to)?;
        let migration = ScriptMigration {
            callback,
            limit: host.call_timeout(),
        };
        host.context()
            .state()
            .register_migration(prefix, from, to, migration)?;
        Ok(())
    }

    /// The error of a value with no JSON form, naming the function and key.
    pub(crate) fn not_json(function: &str, key: &str, err: &BridgeError) -> BridgeError {
        BridgeError::invalid(
            function,
            format!(
                "the value for `{key}` is not JSON data ({err}); state values must be nil, booleans, numbers, strings, or tables of those without cycles"
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_scope_names_follow_the_scope_rule() {
        assert_eq!(script_scope_name("examples/lua/etl.lua"), "etl");
        assert_eq!(script_scope_name("C:\\x\\my job.lua"), "my_job");
        assert_eq!(script_scope_name("eval"), "eval");
        assert_eq!(script_scope_name("/a/b/"), "unnamed");
        assert!(Scope::script(script_scope_name("weird/ä€.lua")).is_ok());
    }

    #[test]
    fn version_arguments_are_whole_and_not_negative() {
        assert_eq!(version_arg("f", 3.0).unwrap(), 3);
        for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY] {
            let err = version_arg("f", bad).unwrap_err().to_string();
            assert!(err.contains("whole number of 0 or more"), "{err}");
        }
        assert!(schema_arg("f", "to", 5e9).is_err());
    }
}
