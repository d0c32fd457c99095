//! Schema versions per key prefix, and the migrations between them.
//!
//! A prefix (`user:` say) can be given a schema version. Every value written
//! under it is stamped with the prefix's current version; a value read back
//! with an older stamp is passed through the registered steps
//! (`from -> to`, each a [`Migration`]) until it reaches the current
//! version, written back (same value version: a migration changes the
//! representation, not the logical value) and returned. Registering a step
//! `from -> to` raises the prefix's current version to at least `to`.
//!
//! A value written before its prefix had a schema carries version 0. The
//! chain for it starts at the step with the lowest `from` (so steps `1 -> 2`
//! migrate unversioned values as if they were version 1, and a step
//! `0 -> 1` is used when registered). When several registered prefixes
//! match a key, the longest wins. Values stamped with a version newer than
//! the current one (written by newer code) are returned as they are.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use serde_json::Value;

use crate::{Result, StateError};

/// One migration step: turns a value of one schema version into the next.
///
/// Language-neutral: Rust closures implement it through [`migration_fn`],
/// and the script bridges implement it for a script function
/// (`State.migrate(prefix, from, to, fn)` in Lua). The error is a message
/// for the user; it becomes [`StateError::MigrationFailed`].
#[async_trait]
pub trait Migration: Send + Sync + fmt::Debug {
    /// The value in the step's target version.
    async fn migrate(&self, value: Value) -> std::result::Result<Value, String>;
}

/// A [`Migration`] from a closure.
///
/// ```
/// use llmspell_state::{migration_fn, Migration};
/// use serde_json::json;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let split_name = migration_fn(|mut v| {
///     let full = v["name"].as_str().ok_or("no name")?.to_owned();
///     let (first, last) = full.split_once(' ').unwrap_or((&full, ""));
///     v["first"] = json!(first);
///     v["last"] = json!(last);
///     Ok(v)
/// });
/// let v = split_name.migrate(json!({"name": "Ada Lovelace"})).await.unwrap();
/// assert_eq!(v["last"], "Lovelace");
/// # });
/// ```
pub fn migration_fn<F>(f: F) -> MigrationFn<F>
where
    F: Fn(Value) -> std::result::Result<Value, String> + Send + Sync + 'static,
{
    MigrationFn(f)
}

/// The [`Migration`] made by [`migration_fn`].
pub struct MigrationFn<F>(F);

impl<F> fmt::Debug for MigrationFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MigrationFn")
    }
}

#[async_trait]
impl<F> Migration for MigrationFn<F>
where
    F: Fn(Value) -> std::result::Result<Value, String> + Send + Sync + 'static,
{
    async fn migrate(&self, value: Value) -> std::result::Result<Value, String> {
        (self.0)(value)
    }
}

/// The schema of one key prefix.
#[derive(Debug, Clone)]
pub(crate) struct PrefixSchema {
    pub(crate) prefix: String,
    pub(crate) current: u32,
    /// Steps by their source version: `from -> (to, migration)`.
    pub(crate) steps: BTreeMap<u32, (u32, Arc<dyn Migration>)>,
}

/// One step of a planned migration.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) from: u32,
    pub(crate) to: u32,
    pub(crate) migration: Arc<dyn Migration>,
}

impl PrefixSchema {
    /// The steps that take a value stamped `found` to the current version,
    /// or `None` when it needs none.
    pub(crate) fn plan(&self, key: &str, found: u32) -> Result<Option<Vec<Step>>> {
        if found >= self.current {
            return Ok(None);
        }
        let mut at = found;
        if at == 0 && !self.steps.contains_key(&0) {
            // Unversioned: taken to be at the first version the steps know.
            match self.steps.keys().next() {
                Some(&first) => at = first,
                None => return Err(self.missing(key, found)),
            }
        }
        let mut plan = Vec::new();
        while at < self.current {
            let Some((to, migration)) = self.steps.get(&at) else {
                return Err(self.missing(key, at));
            };
            plan.push(Step {
                from: at,
                to: *to,
                migration: Arc::clone(migration),
            });
            at = *to;
        }
        Ok(Some(plan))
    }

    fn missing(&self, key: &str, found: u32) -> StateError {
        let registered = if self.steps.is_empty() {
            "none".to_owned()
        } else {
            self.steps
                .iter()
                .map(|(from, (to, _))| format!("{from}->{to}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        StateError::MissingMigration {
            key: key.to_owned(),
            prefix: self.prefix.clone(),
            found,
            current: self.current,
            registered,
        }
    }
}

/// Every prefix's schema, swapped whole on registration so reads take no
/// lock. Kept sorted by descending prefix length: the first match is the
/// longest.
#[derive(Debug, Default)]
pub(crate) struct Schemas {
    table: ArcSwap<Vec<PrefixSchema>>,
}

impl Schemas {
    /// Whether any prefix has a schema (one atomic load).
    #[inline]
    pub(crate) fn any(&self) -> bool {
        !self.table.load().is_empty()
    }

    /// The schema governing `key`, if any. An empty table (the common case)
    /// costs one atomic load.
    #[inline]
    pub(crate) fn lookup(&self, key: &str) -> Option<PrefixSchema> {
        let table = self.table.load();
        if table.is_empty() {
            return None;
        }
        table.iter().find(|s| key.starts_with(&s.prefix)).cloned()
    }

    /// The current schema version stamped on writes of `key` (0: none).
    #[inline]
    pub(crate) fn current(&self, key: &str) -> u32 {
        let table = self.table.load();
        if table.is_empty() {
            return 0;
        }
        table
            .iter()
            .find(|s| key.starts_with(&s.prefix))
            .map_or(0, |s| s.current)
    }

    /// Declares `prefix` to be at schema `version` (never lowers it).
    pub(crate) fn declare(&self, prefix: &str, version: u32) {
        self.edit(prefix, |s| s.current = s.current.max(version));
    }

    /// Registers the step `from -> to` for `prefix` (replacing an earlier
    /// step from `from`).
    pub(crate) fn register(
        &self,
        prefix: &str,
        from: u32,
        to: u32,
        migration: Arc<dyn Migration>,
    ) -> Result<()> {
        if to <= from {
            return Err(StateError::InvalidMigration {
                prefix: prefix.to_owned(),
                reason: format!("a step must go to a higher version, and {from} -> {to} does not"),
            });
        }
        self.edit(prefix, |s| {
            s.steps.insert(from, (to, Arc::clone(&migration)));
            s.current = s.current.max(to);
        });
        Ok(())
    }

    fn edit(&self, prefix: &str, f: impl Fn(&mut PrefixSchema)) {
        self.table.rcu(|table| {
            let mut table = Vec::clone(table);
            match table.iter_mut().find(|s| s.prefix == prefix) {
                Some(schema) => f(schema),
                None => {
                    let mut schema = PrefixSchema {
                        prefix: prefix.to_owned(),
                        current: 0,
                        steps: BTreeMap::new(),
                    };
                    f(&mut schema);
                    table.push(schema);
                }
            }
            table.sort_by_key(|s| std::cmp::Reverse(s.prefix.len()));
            table
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop() -> Arc<dyn Migration> {
        Arc::new(migration_fn(Ok))
    }

    fn steps(plan: Option<Vec<Step>>) -> Vec<(u32, u32)> {
        plan.unwrap_or_default()
            .iter()
            .map(|s| (s.from, s.to))
            .collect()
    }

    #[test]
    fn plans_chains_and_unversioned_values() {
        let schemas = Schemas::default();
        schemas.register("user:", 1, 2, noop()).unwrap();
        schemas.register("user:", 2, 4, noop()).unwrap();
        let s = schemas.lookup("user:1").unwrap();
        assert_eq!(s.current, 4);
        assert_eq!(steps(s.plan("user:1", 1).unwrap()), [(1, 2), (2, 4)]);
        assert_eq!(steps(s.plan("user:1", 0).unwrap()), [(1, 2), (2, 4)]);
        assert_eq!(steps(s.plan("user:1", 2).unwrap()), [(2, 4)]);
        assert!(s.plan("user:1", 4).unwrap().is_none());
        assert!(s.plan("user:1", 9).unwrap().is_none());
        let err = s.plan("user:1", 3).unwrap_err().to_string();
        assert!(err.contains("no migration starts at 3"), "{err}");
        assert!(err.contains("1->2, 2->4"), "{err}");
    }

    #[test]
    fn longest_prefix_wins_and_bad_steps_are_refused() {
        let schemas = Schemas::default();
        schemas.declare("a", 1);
        schemas.declare("ab", 5);
        assert_eq!(schemas.current("abc"), 5);
        assert_eq!(schemas.current("ax"), 1);
        assert_eq!(schemas.current("b"), 0);
        assert!(schemas.register("a", 3, 3, noop()).is_err());
        assert!(schemas.register("a", 3, 2, noop()).is_err());
    }
}
