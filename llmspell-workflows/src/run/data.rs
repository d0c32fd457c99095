//! Hook data maps kept for reuse.
//!
//! Every stage, transition and workflow point of a hooked run carries the
//! same handful of fixed keys (`workflow_name`, `pattern`, `run_id`,
//! `step_name`, ...). Built afresh for each point, they cost a `String`
//! per key and per name value and the map's nodes, which was most of what
//! a hooked point cost beyond the hook itself. So a map a point is done
//! with (a transition's context data, or the map a stage or workflow
//! operation hands back in `Completed::spare_data`) goes back to the
//! runtime's [`DataPool`]; the next point takes it, keeps only the keys it
//! sets and overwrites their values in place. Hooks see exactly the keys
//! and values of a fresh map: a key a hook added at an earlier point, or
//! a key of another kind of point, is removed before the map is reused.

use parking_lot::Mutex;
use serde_json::Value;

use llmspell_hooks::HookData;

/// Most maps kept (enough for the points in flight of a few concurrent
/// runs; more are dropped).
const MAX_SPARE: usize = 32;

/// Values longer than this (strings) or any array or object (inputs and
/// outputs) are not kept alive in the pool.
const MAX_KEPT_STRING: usize = 256;

/// The keys of a stage (`BeforeWorkflowStage`, `AfterWorkflowStage`,
/// `WorkflowError`): the fixed keys, then the operation's input, output and
/// error keys (set or removed by the operation at every point).
pub(crate) const STAGE_KEYS: &[&str] = &[
    "workflow_name",
    "pattern",
    "run_id",
    "step_name",
    "step_index",
    "iteration",
    "branch",
    "input",
    "output",
    "error",
];

/// The keys of `WorkflowStageTransition` (all set by the run).
pub(crate) const TRANSITION_KEYS: &[&str] = &[
    "workflow_name",
    "pattern",
    "run_id",
    "step_name",
    "step_index",
    "iteration",
    "branch",
    "from_step",
    "to_step",
    "output",
];

/// The keys of a workflow operation (`BeforeWorkflowStart`,
/// `AfterWorkflowComplete`): the fixed keys, then the name, input, output
/// and error keys the operation sets or removes at every point.
pub(crate) const WORKFLOW_KEYS: &[&str] = &[
    "pattern",
    "run_id",
    "resumed",
    "parent",
    "workflow_name",
    "input",
    "output",
    "error",
];

/// Spare hook data maps (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct DataPool {
    spare: Mutex<Vec<HookData>>,
}

impl DataPool {
    /// A map for a point whose keys are `keys`: empty, or a spare one with
    /// every other key removed. The caller (or the operation, for its
    /// input, output and error keys) sets every key of `keys` before a hook
    /// sees the map.
    pub(crate) fn take(&self, keys: &[&str]) -> HookData {
        let spare = self.spare.lock().pop();
        match spare {
            Some(mut map) => {
                map.retain(|k, _| keys.contains(&k.as_str()));
                map
            }
            None => HookData::new(),
        }
    }

    /// Gives back a map a point is done with. Large values are dropped
    /// now rather than kept alive until the map is reused.
    pub(crate) fn give(&self, mut map: HookData) {
        for v in map.values_mut() {
            let large = match v {
                Value::String(s) => s.capacity() > MAX_KEPT_STRING,
                Value::Array(_) | Value::Object(_) => true,
                _ => false,
            };
            if large {
                *v = Value::Null;
            }
        }
        let mut spare = self.spare.lock();
        if spare.len() < MAX_SPARE {
            spare.push(map);
        }
    }
}

/// Sets `key` to `value`, reusing the key when it is there.
pub(crate) fn set(map: &mut HookData, key: &str, value: Value) {
    match map.get_mut(key) {
        Some(slot) => *slot = value,
        None => {
            map.insert(key.to_owned(), value);
        }
    }
}

/// Sets `key` to the string `value`, reusing the key and the string that
/// are there.
pub(crate) fn set_str(map: &mut HookData, key: &str, value: &str) {
    match map.get_mut(key) {
        Some(Value::String(s)) => {
            if s != value {
                value.clone_into(s);
            }
        }
        Some(slot) => *slot = Value::String(value.to_owned()),
        None => {
            map.insert(key.to_owned(), Value::String(value.to_owned()));
        }
    }
}

/// Sets `key` to the string `value`, or to null.
pub(crate) fn set_opt_str(map: &mut HookData, key: &str, value: Option<&str>) {
    match value {
        Some(v) => set_str(map, key, v),
        None => set(map, key, Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_reused_map_holds_only_the_keys_set_again() {
        let pool = DataPool::default();
        let mut m = pool.take(TRANSITION_KEYS);
        set_str(&mut m, "workflow_name", "wf");
        set_str(&mut m, "from_step", "a");
        set(&mut m, "output", json!({"big": [1, 2, 3]}));
        m.insert("added_by_a_hook".into(), json!(1));
        pool.give(m);

        let mut m = pool.take(STAGE_KEYS);
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!(m["output"], Value::Null, "objects are not kept");
        set_str(&mut m, "workflow_name", "other");
        set_opt_str(&mut m, "branch", None);
        assert_eq!(m["workflow_name"], "other");
        assert_eq!(m["branch"], Value::Null);
        assert!(!m.contains_key("from_step"));
        assert!(!m.contains_key("added_by_a_hook"));
    }

    #[test]
    fn the_pool_is_bounded() {
        let pool = DataPool::default();
        for _ in 0..MAX_SPARE + 5 {
            pool.give(HookData::new());
        }
        assert_eq!(pool.spare.lock().len(), MAX_SPARE);
    }
}
